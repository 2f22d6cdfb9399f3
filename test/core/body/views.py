"""Cameras around a body for the avatar tests (look-at views on a sphere around a centre)."""

import math
from collections.abc import Sequence

import torch

from zerohsi_core.geometry.camera import Camera, intrinsics_from_fov, look_at


def sphere_cameras(
    center: Sequence[float],
    azimuths: Sequence[float],
    elevations: Sequence[float],
    distance: float = 2.8,
    size: int = 96,
    fov_deg: float = 40.0,
) -> list[Camera]:
    """One camera per (azimuth, elevation) pair (radians; azimuth 0 on world +x) looking at `center`."""
    c = torch.tensor(center, dtype=torch.float32)
    K = intrinsics_from_fov(fov_deg, size, size)
    cams = []
    for az, el in zip(azimuths, elevations, strict=True):
        offset = torch.tensor([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
        cams.append(Camera(K, look_at(c + distance * offset, c), size, size))
    return cams
