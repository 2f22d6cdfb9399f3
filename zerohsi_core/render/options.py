"""Rasteriser settings shared by the gsplat (CUDA) and pure-torch backends (gsplat's conventions)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from zerohsi_core.errors import ConfigError

Backend = Literal["auto", "gsplat", "torch"]
BACKENDS: tuple[str, ...] = ("auto", "gsplat", "torch")


@dataclass(frozen=True)
class RenderOptions:
    """How Gaussians are splatted (Eq. 1-2); thresholds are gsplat's so both backends agree."""

    backend: Backend = "auto"  # auto: gsplat when the tensors are on CUDA and gsplat imports, else torch
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)  # RGB behind the Gaussians
    near: float = 0.01  # metres; Gaussians with camera z <= near are culled
    far: float = 100.0  # metres; Gaussians with camera z >= far are culled
    sh_degree: int | None = None  # highest SH degree evaluated; None: each cloud's own degree
    eps2d: float = 0.3  # pixels^2 added to the projected covariance (gsplat's low-pass filter)
    radius_clip: float = 0.0  # pixels; Gaussians whose 2D radius is at most this are culled
    tile_size: int = 16  # pixels per tile side of gsplat's CUDA kernels
    torch_tile_size: int = 8  # pixels per tile side of the torch backend (images do not depend on it)
    alpha_min: float = 1.0 / 255.0  # a Gaussian with alpha below this is skipped at a pixel
    transmittance_min: float = 1e-4  # a pixel stops once its transmittance would fall to this
    max_alpha: float = 0.999  # alpha = min(max_alpha, opacity * exp(-sigma))
    extent_sigmas: float = 3.33  # largest 2D radius in standard deviations (opacity-aware below it)
    depth_alpha_min: float = 1e-6  # depth is 0 where the accumulated alpha is below this
    packed: bool = True  # gsplat's packed (sparse) projection layout; CUDA backend only
    check_finite: bool = True  # reject NaN/inf inputs (one device sync per tensor; inner loops turn it off)
    chunk_gaussians: int = 32  # torch backend: depth-sorted Gaussians composited per step and tile
    chunk_elements: int = 1 << 22  # torch backend: most (pixel, Gaussian) pairs held per step

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(f"RenderOptions.backend={self.backend!r}; use one of {BACKENDS}")
        if len(self.background) != 3:
            raise ConfigError(f"RenderOptions.background={self.background!r}; give three RGB values")
        if not 0.0 < self.near < self.far:
            raise ConfigError(f"RenderOptions needs 0 < near < far, got near={self.near}, far={self.far}")
        if self.sh_degree is not None and self.sh_degree < 0:
            raise ConfigError(f"RenderOptions.sh_degree={self.sh_degree}; use None or a degree >= 0")
        if min(self.tile_size, self.torch_tile_size, self.chunk_gaussians, self.chunk_elements) < 1:
            raise ConfigError(
                "RenderOptions.tile_size, torch_tile_size, chunk_gaussians and chunk_elements must be >= 1"
            )
        if not 0.0 < self.alpha_min < self.max_alpha < 1.0 or not 0.0 < self.transmittance_min < 1.0:
            raise ConfigError(
                "RenderOptions needs 0 < alpha_min < max_alpha < 1 and 0 < transmittance_min < 1"
            )

    @property
    def log_transmittance_min(self) -> float:
        """log(transmittance_min), the stopping threshold in log space."""
        return math.log(self.transmittance_min)
