"""CUDA rasterisation through gsplat.rasterization (imported lazily; CUDA tensors only)."""

from __future__ import annotations

import functools
import importlib
from types import ModuleType

import torch
from torch import Tensor

from zerohsi_core.errors import BackendError
from zerohsi_core.render.options import RenderOptions
from zerohsi_core.render.outputs import RasterOutput

# Thresholds compiled into gsplat's CUDA kernels; other values can only be honoured by the torch backend.
GSPLAT_FIXED = {
    "alpha_min": 1.0 / 255.0,
    "transmittance_min": 1e-4,
    "max_alpha": 0.999,
    "extent_sigmas": 3.33,
}


@functools.cache
def _import_gsplat() -> tuple[ModuleType | None, str]:
    try:
        return importlib.import_module("gsplat"), ""
    except Exception as exc:  # a broken CUDA build raises more than ImportError
        return None, f"{type(exc).__name__}: {exc}"


def gsplat_module() -> ModuleType:
    """The gsplat package; BackendError saying why when it cannot be imported."""
    module, reason = _import_gsplat()
    if module is None:
        raise BackendError(f"render backend 'gsplat' needs the gsplat package ({reason}); or use 'torch'")
    return module


def rasterize_gsplat(
    means: Tensor,  # [N, 3]
    quats: Tensor,  # [N, 4] wxyz
    scales: Tensor,  # [N, 3]
    opacities: Tensor,  # [N]
    colors: Tensor,  # [C, N, D] per-camera features
    viewmats: Tensor,  # [C, 4, 4]
    Ks: Tensor,  # [C, 3, 3]
    width: int,
    height: int,
    options: RenderOptions,
) -> RasterOutput:
    """Splat N Gaussians into C views with gsplat's CUDA kernels ("RGB+D": features and sum of w z)."""
    gsplat = gsplat_module()
    if means.device.type != "cuda":
        raise BackendError(f"render backend 'gsplat' needs CUDA tensors, got {means.device}; use 'torch'")
    if means.dtype != torch.float32:
        raise BackendError(f"render backend 'gsplat' needs float32 tensors, got {means.dtype}; use 'torch'")
    changed = {k: getattr(options, k) for k, v in GSPLAT_FIXED.items() if getattr(options, k) != v}
    if changed:
        raise BackendError(f"gsplat's kernels fix {GSPLAT_FIXED}; RenderOptions sets {changed}: use 'torch'")
    try:
        renders, alphas, _ = gsplat.rasterization(
            means,
            quats,
            scales,
            opacities,
            colors,
            viewmats,
            Ks,
            width,
            height,
            near_plane=options.near,
            far_plane=options.far,
            radius_clip=options.radius_clip,
            eps2d=options.eps2d,
            sh_degree=None,
            packed=options.packed,
            tile_size=options.tile_size,
            render_mode="RGB+D",
            rasterize_mode="classic",
        )  # [C, H, W, D + 1], [C, H, W, 1]
    except RuntimeError as exc:
        raise BackendError(f"gsplat rasterization failed: {exc}") from exc
    return RasterOutput(features=renders[..., :-1], depth_sum=renders[..., -1], alpha=alphas[..., 0])
