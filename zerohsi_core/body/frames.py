"""Body-model frame (SMPL-X native: y up, the body faces +z, its left is +x) versus the z-up world.

Real SMPL-X files and the stand-in are both y-up. The pipeline keeps `smplx` in that native frame
and maps its output to the world (REP-103: x forward, y left, z up) with the fixed rotation
`Y_UP_TO_Z_UP`, chosen so that a body at rest faces world +x with its left side towards world +y.
"""

import torch
from torch import Tensor

Y_UP_TO_Z_UP: tuple[tuple[float, float, float], ...] = (
    (0.0, 0.0, 1.0),
    (1.0, 0.0, 0.0),
    (0.0, 1.0, 0.0),
)
"""Rotation matrix R with world = R @ model: model +z (front) -> world +x, +x (left) -> +y, +y (up) -> +z."""


def y_up_to_z_up(dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> Tensor:
    """`Y_UP_TO_Z_UP` as a [3, 3] tensor."""
    return torch.tensor(Y_UP_TO_Z_UP, dtype=dtype, device=device)


def model_to_world(points: Tensor) -> Tensor:
    """Rotate body-model points [..., 3] (y-up) into the z-up world frame."""
    return points @ y_up_to_z_up(points.dtype, points.device).T


def world_to_model(points: Tensor) -> Tensor:
    """Inverse of `model_to_world`: world points [..., 3] into the body-model frame."""
    return points @ y_up_to_z_up(points.dtype, points.device)
