"""render(): splat named Gaussian entities into cameras: colour, expected depth, alpha, masks (Eq. 2)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from zerohsi_core.errors import BackendError, InputError
from zerohsi_core.geometry.camera import Camera
from zerohsi_core.geometry.rotations import matrix_to_quat_wxyz, quat_multiply_wxyz
from zerohsi_core.registry import Registry
from zerohsi_core.render.colors import override_colors, sh_colors
from zerohsi_core.render.gsplat_raster import gsplat_module, rasterize_gsplat
from zerohsi_core.render.options import RenderOptions
from zerohsi_core.render.outputs import RasterOutput, RenderOutput
from zerohsi_core.render.torch_raster import rasterize_torch
from zerohsi_core.scene.gaussians import GaussianCloud, check_shapes

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
    entities: Sequence[tuple[str, GaussianCloud | GaussianBatch]],
    cameras: Sequence[Camera],
    colors_override: Mapping[str, Tensor],
    check_finite: bool = True,
) -> None:
    """InputError for no entities, duplicate names, mixed devices/dtypes, non-finite values, bad cameras
    (entities: clouds, or prepared batches of render_batch)."""
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
        fields = ("means", "quats", "log_scales", "opacity_logits", "sh")
        if isinstance(cloud, GaussianBatch):
            fields = ("means", "quats", "scales", "opacities") + (() if cloud.colors is None else ("colors",))
        for field in fields if check_finite else ():
            if not bool(torch.isfinite(getattr(cloud, field)).all()):
                raise InputError(f"entity {name!r} has NaN or infinite values in {field}")
    for name, colors in colors_override.items():
        if colors.device != device or (check_finite and not bool(torch.isfinite(colors).all())):
            raise InputError(f"colors_override[{name!r}] must be finite and on {device}, got {colors.device}")
    sizes = {(cam.width, cam.height) for cam in cameras}
    if len(sizes) != 1:
        raise InputError(f"render cameras must share one image size, got {sorted(sizes)}")


def _camera_tensors(
    cams: Sequence[Camera], device: torch.device, dtype: torch.dtype
) -> tuple[Tensor, Tensor, Tensor]:
    """World-to-camera matrices [C, 4, 4], intrinsics [C, 3, 3] and camera centres [C, 3]."""
    viewmats = torch.stack([cam.world_to_cam for cam in cams]).to(device=device, dtype=dtype)
    Ks = torch.stack([cam.K for cam in cams]).to(device=device, dtype=dtype)
    centers = -(viewmats[:, :3, :3].transpose(1, 2) @ viewmats[:, :3, 3:]).squeeze(-1)
    return viewmats, Ks, centers


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
    viewmats, Ks, centers = _camera_tensors(cams, device, dtype)
    colors = [
        override_colors(name, overrides[name], len(cams), cloud.num)
        if name in overrides
        else sh_colors(cloud, centers, options.sh_degree)
        for name, cloud in entities
    ]
    features = _with_labels(torch.cat(colors, dim=1), [cloud.num for cloud in clouds])  # [C, N, 3 (+ E)]
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
    return _composite(raster, [name for name, _ in entities], options)


def _with_labels(colors: Tensor, counts: Sequence[int]) -> Tensor:
    """Colours [..., N, 3] of the concatenated entities, plus a one-hot entity label per Gaussian when
    there are several entities ([..., N, 3 + E]): composited, the labels are the entities' masks."""
    if len(counts) == 1:
        return colors
    labels = torch.cat(
        [torch.full((n,), e, dtype=torch.long, device=colors.device) for e, n in enumerate(counts)]
    )  # built from known sizes: no device sync
    one_hot = (labels[:, None] == torch.arange(len(counts), device=colors.device)).to(colors.dtype)
    return torch.cat([colors, one_hot.expand(*colors.shape[:-1], -1)], dim=-1)


def _composite(raster: RasterOutput, names: Sequence[str], options: RenderOptions) -> RenderOutput:
    """Background, expected depth and per-entity masks of a rasterised batch of views [C, H, W, …]."""
    alpha = raster.alpha  # [C, H, W]
    background = torch.as_tensor(options.background, dtype=alpha.dtype, device=alpha.device)
    rgb = raster.features[..., :3] + (1.0 - alpha)[..., None] * background
    covered = alpha >= options.depth_alpha_min
    depth = torch.where(covered, raster.depth_sum / torch.where(covered, alpha, 1.0), 0.0)
    if len(names) > 1:
        masks = {name: raster.features[..., 3 + e] for e, name in enumerate(names)}
    else:
        masks = {names[0]: alpha}
    return RenderOutput(rgb=rgb, depth=depth, alpha=alpha, masks=masks)


@dataclass(frozen=True, eq=False)
class GaussianBatch:
    """One entity of B scenes, ready to splat: activated Gaussians [B, N, …] (a view of one shared cloud, or
    different clouds of one size) and their colours as seen from each scene's camera. Built once for a
    batch that is rendered many times (an optimisation's static scene), its activations and colours are
    not recomputed at each render."""

    means: Tensor  # [B, N, 3]
    quats: Tensor  # [B, N, 4] wxyz
    scales: Tensor  # [B, N, 3] metres
    opacities: Tensor  # [B, N]
    colors: Tensor | None  # [B, N, 3] RGB; None: the render's colors_override gives them

    def __post_init__(self) -> None:
        B, n = self.means.shape[:2] if self.means.dim() == 3 else (-1, -1)  # means are [B, N, 3]
        expected = {"means": (B, n, 3), "quats": (B, n, 4), "scales": (B, n, 3), "opacities": (B, n)}
        check_shapes(self, expected | ({} if self.colors is None else {"colors": (B, n, 3)}))

    @property
    def num(self) -> int:
        """Gaussians per scene."""
        return self.means.shape[1]

    def __len__(self) -> int:
        return self.means.shape[0]

    def select(self, index: Sequence[int]) -> GaussianBatch:
        """The batch of some of its scenes."""
        pick = torch.as_tensor(list(index), dtype=torch.long, device=self.means.device)
        colors = None if self.colors is None else self.colors[pick]
        return GaussianBatch(
            self.means[pick], self.quats[pick], self.scales[pick], self.opacities[pick], colors
        )

    @classmethod
    def of(
        cls, entity: BatchEntity, centers: Tensor, sh_degree: int | None = None, colors: bool = True
    ) -> GaussianBatch:
        """An entity of a batch (one shared cloud, or one cloud per scene) seen from the scenes' camera
        centres [B, 3] (colours: its SH colours, or None for a colors_override)."""
        if isinstance(entity, GaussianBatch):
            return entity
        B = len(centers)
        if isinstance(entity, GaussianCloud):
            n = entity.num
            return cls(
                entity.means.expand(B, n, 3),
                entity.quats.expand(B, n, 4),
                entity.scales.expand(B, n, 3),
                entity.opacities.expand(B, n),
                sh_colors(entity, centers, sh_degree) if colors else None,
            )
        clouds = list(entity)
        return cls(
            torch.stack([c.means for c in clouds]),
            torch.stack([c.quats for c in clouds]),
            torch.stack([c.scales for c in clouds]),
            torch.stack([c.opacities for c in clouds]),
            torch.cat([sh_colors(c, centers[b : b + 1], sh_degree) for b, c in enumerate(clouds)])
            if colors
            else None,
        )

    @classmethod
    def posed(
        cls, cloud: GaussianCloud, poses: Tensor, centers: Tensor, sh_degree: int | None = None
    ) -> GaussianBatch:
        """A rigid cloud at B poses [B, 4, 4] (differentiable in the poses), each seen from its camera centre
        [B, 3] — `GaussianCloud.transformed` of every pose at once. Colours are the cloud's own seen from
        the centre moved back into its frame, R^T (c − t): the SH rotation of `transformed`, without it."""
        poses = poses.to(cloud.means)
        R, t = poses[:, :3, :3], poses[:, :3, 3]
        n, B = cloud.num, len(poses)
        local = ((centers.to(t) - t)[:, None] @ R).squeeze(1)  # R^T (c − t), as rows
        return cls(
            cloud.means @ R.transpose(1, 2) + t[:, None],
            quat_multiply_wxyz(matrix_to_quat_wxyz(R)[:, None], cloud.quats),
            cloud.scales.expand(B, n, 3),
            cloud.opacities.expand(B, n),
            sh_colors(cloud, local, sh_degree),
        )


# An entity of a batch of scenes: one cloud that every scene shares, one cloud per scene, or prepared.
BatchEntity = GaussianCloud | Sequence[GaussianCloud] | GaussianBatch


def render_batch(
    entities: Sequence[tuple[str, BatchEntity]],
    cameras: Sequence[Camera],
    options: RenderOptions | None = None,
    colors_override: Mapping[str, Tensor] | None = None,
) -> RenderOutput:
    """Render B different scenes, each from its own camera, in one rasteriser call (gsplat's batch
    dimension; the torch backend loops). Scene b is the union of the entities for b: a shared cloud (the
    static scene), the b-th of a per-scene list (a posed body, an object at a pose) — per-scene lists of one
    entity hold equally many Gaussians — or a GaussianBatch prepared for these cameras.
    colors_override[name] is RGB [B, N, 3]. Outputs are [B, H, W, …], as `render` gives for B cameras of
    one scene.
    """
    options = options or RenderOptions()
    cams, overrides, B = list(cameras), dict(colors_override or {}), len(cameras)
    for name, value in entities:
        if isinstance(value, GaussianBatch):
            if len(value) != B:
                raise InputError(f"entity {name!r}: a GaussianBatch of {len(value)} scenes for {B} cameras")
        elif not isinstance(value, GaussianCloud) and (
            len(value) not in (1, B) or len({c.num for c in value}) != 1
        ):
            raise InputError(f"entity {name!r}: one cloud or {B} clouds of one size, got {len(value)}")
    firsts = [(name, v if isinstance(v, GaussianCloud | GaussianBatch) else v[0]) for name, v in entities]
    _validate(firsts, cams, overrides, options.check_finite)
    device, dtype = firsts[0][1].means.device, firsts[0][1].means.dtype
    viewmats, Ks, centers = _camera_tensors(cams, device, dtype)  # [B, 4, 4], [B, 3, 3], [B, 3]
    batches = []
    for name, value in entities:
        if not isinstance(value, GaussianCloud | GaussianBatch) and len(value) == 1:
            value = value[0]  # one cloud that every scene shares
        batch = GaussianBatch.of(value, centers, options.sh_degree, colors=name not in overrides)
        if name in overrides:
            batch = dataclasses.replace(batch, colors=override_colors(name, overrides[name], B, batch.num))
        elif batch.colors is None:
            raise InputError(f"entity {name!r} is a GaussianBatch without colours and has no colors_override")
        batches.append(batch)
    features = _with_labels(torch.cat([b.colors for b in batches], dim=1), [b.num for b in batches])
    args = [
        torch.cat([getattr(b, f) for b in batches], dim=1) for f in ("means", "quats", "scales", "opacities")
    ]
    backend = select_backend(options.backend, device, dtype)
    rasterize = RASTERIZERS.create(backend)
    size = (cams[0].width, cams[0].height)
    if backend == "gsplat":  # one call: [B, N, …] Gaussians into [B, 1] cameras
        raster = rasterize(*args, features[:, None], viewmats[:, None], Ks[:, None], *size, options)
        raster = RasterOutput(raster.features[:, 0], raster.depth_sum[:, 0], raster.alpha[:, 0])
    else:
        views = [
            rasterize(
                *(a[b] for a in args),
                features[b : b + 1],
                viewmats[b : b + 1],
                Ks[b : b + 1],
                *size,
                options,
            )
            for b in range(B)
        ]
        raster = RasterOutput(
            *(torch.cat([getattr(v, f) for v in views]) for f in ("features", "depth_sum", "alpha"))
        )
    return _composite(raster, [name for name, _ in entities], options)
