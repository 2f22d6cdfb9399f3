"""Small deterministic Gaussian scenes and cameras for the render tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch

from zerohsi_core.geometry.camera import Camera


@dataclass(frozen=True)
class RawGaussians:
    """Activated Gaussian parameters as the rasterisers take them."""

    means: torch.Tensor  # [N, 3] camera-facing, z in front of the identity camera
    quats: torch.Tensor  # [N, 4]
    scales: torch.Tensor  # [N, 3]
    opacities: torch.Tensor  # [N]
    colors: torch.Tensor  # [N, 3]


def _make_gaussians(
    n: int, seed: int, dtype: torch.dtype = torch.float64, scale: float = 0.08
) -> RawGaussians:
    """n random Gaussians 2-4 m in front of a camera at the origin looking along +z."""
    g = torch.Generator().manual_seed(seed)
    z = 2.0 + 2.0 * torch.rand(n, generator=g, dtype=dtype)
    xy = (torch.rand(n, 2, generator=g, dtype=dtype) - 0.5) * 0.8 * z[:, None]
    return RawGaussians(
        means=torch.cat([xy, z[:, None]], -1),
        quats=torch.randn(n, 4, generator=g, dtype=dtype),
        scales=scale * torch.exp(0.5 * torch.randn(n, 3, generator=g, dtype=dtype)),
        opacities=0.2 + 0.75 * torch.rand(n, generator=g, dtype=dtype),
        colors=torch.rand(n, 3, generator=g, dtype=dtype),
    )


def _make_camera(width: int, height: int, focal: float, dtype: torch.dtype = torch.float64) -> Camera:
    """Camera at the world origin looking along +z (OpenCV frame = world frame)."""
    K = torch.tensor([[focal, 0.0, width / 2], [0.0, focal, height / 2], [0.0, 0.0, 1.0]], dtype=dtype)
    return Camera(K, torch.eye(4, dtype=dtype), width, height)


@pytest.fixture
def make_gaussians() -> Callable[..., RawGaussians]:
    """Factory: make_gaussians(n, seed, dtype=float64, scale=0.08) -> RawGaussians."""
    return _make_gaussians


@pytest.fixture
def make_camera() -> Callable[..., Camera]:
    """Factory: make_camera(width, height, focal, dtype=float64) -> Camera at the origin looking along +z."""
    return _make_camera
