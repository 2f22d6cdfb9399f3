"""render(): splat named Gaussian entities into cameras: colour, expected depth, alpha, masks (Eq. 2)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

import torch
from torch import Tensor

from zerohsi_core.errors import BackendError, InputError
from zerohsi_core.geometry.camera import Camera
from zerohsi_core.registry import Registry
from zerohsi_core.render.colors import override_colors, sh_colors
from zerohsi_core.render.gsplat_raster import gsplat_module, rasterize_gsplat
from zerohsi_core.render.options import RenderOptions
from zerohsi_core.render.outputs import RasterOutput, RenderOutput
from zerohsi_core.render.torch_raster import rasterize_torch
from zerohsi_core.scene.gaussians import GaussianCloud

log = logging.getLogger(__name__)

Rasterizer = Callable[..., RasterOutput]
RASTERIZERS: Registry[Rasterizer] = Registry("render")


@RASTERIZERS.register("torch")
def _torch_rasterizer() -> Rasterizer:
    return rasterize_torch


@RASTERIZERS.register("gsplat")
def _gsplat_rasterizer() -> Rasterizer:
    return rasterize_gsplat


def select_backend(name: str, device: torch.device, dtype: torch.dtype) -> str:
    """Resolve "auto" to "gsplat" for float32 CUDA tensors when gsplat imports, else "torch"."""
    if name != "auto":
        return name
    if device.type != "cuda" or dtype != torch.float32:
        return "torch"
    try:
        gsplat_module()
    except BackendError as exc:
        log.warning("render backend 'auto' falls back to 'torch' on %s: %s", device, exc)
        return "torch"
    return "gsplat"


def _validate(
    entities: Sequence[tuple[str, GaussianCloud]],
    cameras: Sequence[Camera],
    colors_override: Mapping[str, Tensor],
    check_finite: bool = True,
) -> None:
    """InputError for no entities, duplicate names, mixed devices/dtypes, non-finite values, bad cameras."""
    if not entities:
        raise InputError("render needs at least one (name, GaussianCloud) entity")
    if not cameras:
        raise InputError("render needs at least one camera")
    names = [name for name, _ in entities]
    if len(set(names)) != len(names):
        raise InputError(f"render entity names must be unique, got {names}")
    unknown = sorted(set(colors_override) - set(names))
    if unknown:
        raise InputError(f"colors_override names {unknown} are not among the entities {names}")
    device, dtype = entities[0][1].means.device, entities[0][1].means.dtype
    for name, cloud in entities:
        if cloud.means.device != device or cloud.means.dtype != dtype:
            raise InputError(
                f"entity {name!r} is on {cloud.means.device} ({cloud.means.dtype}) but {names[0]!r} is on "
                f"{device} ({dtype}); move all clouds with .to()"
            )
        for field in ("means", "quats", "log_scales", "opacity_logits", "sh") if check_finite else ():
            if not bool(torch.isfinite(getattr(cloud, field)).all()):
                raise InputError(f"entity {name!r} has NaN or infinite values in {field}")
    for name, colors in colors_override.items():
        if colors.device != device or (check_finite and not bool(torch.isfinite(colors).all())):
            raise InputError(f"colors_override[{name!r}] must be finite and on {device}, got {colors.device}")
    sizes = {(cam.width, cam.height) for cam in cameras}
    if len(sizes) != 1:
        raise InputError(f"render cameras must share one image size, got {sorted(sizes)}")


def render(
    entities: Sequence[tuple[str, GaussianCloud]],
    cameras: Camera | Sequence[Camera],
    options: RenderOptions | None = None,
    colors_override: Mapping[str, Tensor] | None = None,
) -> RenderOutput:
    """Render the union of the entities from each camera; differentiable w.r.t. every Gaussian parameter.

    rgb = sum_i w_i c_i + (1 - alpha) * background (Eq. 2); depth = sum_i w_i z_i / alpha (0 where alpha <
    options.depth_alpha_min); masks[name] = sum of the weights w_i of that entity's Gaussians (sum = alpha).
    colors_override[name] ([N,3] or [C,N,3] RGB) replaces that entity's SH colours.
    """
    options = options or RenderOptions()
    cams = [cameras] if isinstance(cameras, Camera) else list(cameras)
    overrides = dict(colors_override or {})
    _validate(entities, cams, overrides, options.check_finite)
    clouds = [cloud for _, cloud in entities]
    device, dtype = clouds[0].means.device, clouds[0].means.dtype
    viewmats = torch.stack([cam.world_to_cam for cam in cams]).to(device=device, dtype=dtype)  # [C, 4, 4]
    Ks = torch.stack([cam.K for cam in cams]).to(device=device, dtype=dtype)  # [C, 3, 3]
    centers = -(viewmats[:, :3, :3].transpose(1, 2) @ viewmats[:, :3, 3:]).squeeze(-1)  # [C, 3]
    C, counts = len(cams), [cloud.num for cloud in clouds]

    colors = [
        override_colors(name, overrides[name], C, cloud.num)
        if name in overrides
        else sh_colors(cloud, centers, options.sh_degree)
        for name, cloud in entities
    ]
    features = torch.cat(colors, dim=1)  # [C, N, 3]
    if len(entities) > 1:
        labels = torch.cat(
            [torch.full((n,), e, dtype=torch.long, device=device) for e, n in enumerate(counts)]
        )  # built from known sizes: no device sync
        one_hot = (labels[:, None] == torch.arange(len(entities), device=device)).to(dtype)  # [N, E]
        features = torch.cat([features, one_hot.expand(C, -1, -1)], dim=-1)  # [C, N, 3 + E]

    backend = select_backend(options.backend, device, dtype)
    raster = RASTERIZERS.create(backend)(
        torch.cat([cloud.means for cloud in clouds]),
        torch.cat([cloud.quats for cloud in clouds]),
        torch.cat([cloud.scales for cloud in clouds]),
        torch.cat([cloud.opacities for cloud in clouds]),
        features,
        viewmats,
        Ks,
        cams[0].width,
        cams[0].height,
        options,
    )
    alpha = raster.alpha  # [C, H, W]
    background = torch.as_tensor(options.background, dtype=dtype, device=device)
    rgb = raster.features[..., :3] + (1.0 - alpha)[..., None] * background
    covered = alpha >= options.depth_alpha_min
    depth = torch.where(covered, raster.depth_sum / torch.where(covered, alpha, 1.0), 0.0)
    if len(entities) > 1:
        masks = {name: raster.features[..., 3 + e] for e, (name, _) in enumerate(entities)}
    else:
        masks = {entities[0][0]: alpha}
    return RenderOutput(rgb=rgb, depth=depth, alpha=alpha, masks=masks)
