"""Avatar fitting: optimise the avatar's Gaussians and networks (not the pose) so that its renders match
posed images with known SMPL-X parameters and cameras, by L1 + D-SSIM (the L_rgb of Eq. 10)."""

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from zerohsi_core.body.avatar import GaussianAvatar
from zerohsi_core.body.params import SmplxParams
from zerohsi_core.errors import InputError
from zerohsi_core.geometry.camera import Camera
from zerohsi_core.progress import CancelToken, ProgressCallback, ProgressEvent, check, report
from zerohsi_core.render.losses import photometric_loss
from zerohsi_core.render.options import Backend, RenderOptions
from zerohsi_core.render.render import render

HUMAN = "human"  # entity name of the avatar in render() calls


@dataclass(frozen=True)
class FitOptions:
    """Schedule of `fit_avatar`: Adam with one learning rate per kind of parameter."""

    iterations: int = 1500
    views_per_step: int = 4  # images rendered and compared per Adam step
    ssim_weight: float = 0.2  # λ in (1 − λ) L1 + λ D-SSIM (3DGS's value for appearance fitting)
    ssim_window: int = 11  # Gaussian window of SSIM, pixels (odd, at most the image size)
    mask_weight: float = 0.1  # weight of L1 between rendered alpha and the given masks
    lr_color: float = 2e-2  # base colour logits
    lr_feature: float = 1e-3  # per-Gaussian colour-network features
    lr_network: float = 1e-3  # F_position, F_other, F_color weights and the low-rank bases
    lr_offset: float = 2e-4  # metres, offsets in the triangle frames
    lr_scale: float = 5e-3  # log-scales
    lr_rotation: float = 1e-3  # local quaternions
    lr_opacity: float = 2e-2  # opacity logits
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)  # behind the avatar (and outside masks)
    backend: Backend = "auto"
    seed: int = 0  # order in which views are visited


@dataclass(frozen=True)
class FitReport:
    """What fitting did: the loss per step and the final PSNR over the given images."""

    iterations: int
    losses: tuple[float, ...]  # photometric (+ mask) loss per step
    psnr_db: float  # mean PSNR over all images after fitting
    seconds: float


def psnr(pred: Tensor, target: Tensor) -> Tensor:
    """Peak signal-to-noise ratio in dB [C] of images [C, H, W, 3] in [0, 1]."""
    mse = ((pred - target) ** 2).flatten(1).mean(dim=1).clamp_min(1e-12)
    return -10.0 * torch.log10(mse)


def render_avatar(
    avatar: GaussianAvatar, params: SmplxParams, camera: Camera, options: RenderOptions
) -> tuple[Tensor, Tensor]:
    """RGB [H, W, 3] and alpha [H, W] of the avatar alone (one body, one camera)."""
    cloud, rgb = avatar.render_entity(params, camera)
    out = render([(HUMAN, cloud)], camera, options, colors_override={HUMAN: rgb})
    return out.rgb[0], out.alpha[0]


def _validate(images: Tensor, params: SmplxParams, cameras: Sequence[Camera], masks: Tensor | None) -> None:
    v = images.shape[0]
    if images.dim() != 4 or images.shape[-1] != 3 or v == 0:
        raise InputError(f"images must be [V, H, W, 3] with V >= 1, got {tuple(images.shape)}")
    if params.batch_size != v or len(cameras) != v:
        raise InputError(
            f"fit needs one SMPL-X parameter set and one camera per image: {v} images, "
            f"{params.batch_size} parameter sets, {len(cameras)} cameras"
        )
    h, w = images.shape[1:3]
    for i, cam in enumerate(cameras):
        if (cam.height, cam.width) != (h, w):
            raise InputError(f"camera {i} is {cam.width}x{cam.height} pixels but the images are {w}x{h}")
    if masks is not None and tuple(masks.shape) != tuple(images.shape[:3]):
        raise InputError(f"masks must be [V, H, W] = {tuple(images.shape[:3])}, got {tuple(masks.shape)}")
    if not bool(torch.isfinite(images).all()):
        raise InputError("images contain NaN or infinite values")


def _optimizer(avatar: GaussianAvatar, options: FitOptions) -> torch.optim.Adam:
    """Adam with a learning rate per parameter kind; every avatar parameter is trained."""
    per_kind = {
        "color_logits": options.lr_color,
        "features": options.lr_feature,
        "local_offsets": options.lr_offset,
        "log_scales": options.lr_scale,
        "local_quats": options.lr_rotation,
        "opacity_logits": options.lr_opacity,
    }
    groups = [{"params": [getattr(avatar, name)], "lr": lr} for name, lr in per_kind.items()]
    networks = [p for name, p in avatar.named_parameters() if name not in per_kind]
    return torch.optim.Adam([*groups, {"params": networks, "lr": options.lr_network}])


def fit_avatar(
    avatar: GaussianAvatar,
    images: Tensor,
    params: SmplxParams,
    cameras: Sequence[Camera],
    masks: Tensor | None = None,
    options: FitOptions | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> FitReport:
    """Fit the avatar in place to images [V, H, W, 3] of bodies `params` (batch V, world frame) seen by
    `cameras` (one each); optional human masks [V, H, W] replace the background by `options.background`."""
    options = options or FitOptions()
    _validate(images, params, cameras, masks)
    start = time.perf_counter()
    device, dtype = avatar.bary.device, avatar.bary.dtype
    images = images.to(device, dtype)
    background = torch.tensor(options.background, device=device, dtype=dtype)
    if masks is not None:
        masks = masks.to(device, dtype)
        images = images * masks[..., None] + (1 - masks[..., None]) * background
    render_options = RenderOptions(backend=options.backend, background=options.background)
    params = params.to(device, dtype).detach()
    cams = [cam.to(device, dtype) for cam in cameras]
    optimizer = _optimizer(avatar, options)
    generator = torch.Generator().manual_seed(options.seed)
    v = len(cams)
    order = torch.randperm(v, generator=generator).tolist()
    losses: list[float] = []
    for step in range(options.iterations):
        check(cancel)
        optimizer.zero_grad(set_to_none=True)
        total = 0.0
        for _ in range(min(options.views_per_step, v)):
            if not order:
                order = torch.randperm(v, generator=generator).tolist()
            i = order.pop()
            rgb, alpha = render_avatar(avatar, params.index(i), cams[i], render_options)
            loss = photometric_loss(rgb[None], images[i : i + 1], options.ssim_weight, options.ssim_window)
            if masks is not None and options.mask_weight > 0:
                loss = loss + options.mask_weight * (alpha - masks[i]).abs().mean()
            loss.backward()
            total += float(loss.detach())
        optimizer.step()
        losses.append(total / min(options.views_per_step, v))
        report(
            progress,
            ProgressEvent("avatar_fit", (step + 1) / options.iterations, iteration=step, loss=losses[-1]),
        )
    with torch.no_grad():
        scores = [float(psnr(render_avatar(avatar, params.index(i), cams[i], render_options)[0][None],
                             images[i : i + 1])[0]) for i in range(v)]  # fmt: skip
    mean_psnr = sum(scores) / len(scores) if scores else math.nan
    return FitReport(options.iterations, tuple(losses), mean_psnr, time.perf_counter() - start)
