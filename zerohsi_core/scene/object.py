"""Rigid movable objects: Gaussians and a mesh in the object frame, placed by a 6D pose (Sec. 3.1, P_t)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from zerohsi_core.errors import InputError
from zerohsi_core.geometry.rotations import quat_wxyz_to_matrix, quat_xyzw_to_wxyz
from zerohsi_core.geometry.se3 import make_se3
from zerohsi_core.scene.gaussians import GaussianCloud
from zerohsi_core.scene.mesh import TriMesh

# Largest deviation of R^T R from I (and of det R from 1) accepted for a rigid pose.
RIGID_TOLERANCE = 1e-4


def as_rigid_pose(
    T: np.ndarray | torch.Tensor | Sequence[Sequence[float]], name: str = "pose"
) -> torch.Tensor:
    """A float64 CPU [4,4] tensor, after checking that T is a finite rigid transform (InputError if not)."""
    T = torch.as_tensor(np.asarray(T.detach().cpu() if isinstance(T, torch.Tensor) else T, dtype=np.float64))
    if T.shape != (4, 4):
        raise InputError(f"{name} must be a 4x4 matrix, got shape {tuple(T.shape)}")
    if not torch.isfinite(T).all():
        raise InputError(f"{name} contains NaN/inf: {T.tolist()}")
    R = T[:3, :3]
    ortho = (R.T @ R - torch.eye(3, dtype=T.dtype)).abs().max().item()
    det = torch.linalg.det(R).item()
    bottom_ok = torch.equal(T[3], torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=T.dtype))
    if ortho > RIGID_TOLERANCE or abs(det - 1.0) > RIGID_TOLERANCE or not bottom_ok:
        raise InputError(
            f"{name} is not a rigid transform (|R^T R - I| = {ortho:.2e}, det R = {det:.4f}, "
            f"last row {T[3].tolist()}); scaling and shearing are not allowed"
        )
    return T


def pose_from_xyz_quat(values: Sequence[float], name: str = "pose") -> torch.Tensor:
    """[x, y, z, qx, qy, qz, qw] (ROS order, quaternion normalised here) -> float64 [4,4] object-to-world."""
    v = torch.as_tensor(np.asarray(values, dtype=np.float64))
    if v.shape != (7,) or not torch.isfinite(v).all():
        raise InputError(f"{name} must be 7 finite numbers [x, y, z, qx, qy, qz, qw], got {list(values)}")
    norm = torch.linalg.norm(v[3:]).item()
    if norm < RIGID_TOLERANCE:
        raise InputError(f"{name} has a zero quaternion {v[3:].tolist()}")
    return make_se3(quat_wxyz_to_matrix(quat_xyzw_to_wxyz(v[3:])), v[:3])


@dataclass(frozen=True, eq=False)
class SceneObject:
    """A rigid object: Gaussians and mesh in its own frame, and its object-to-world pose."""

    id: str
    gaussians: GaussianCloud  # object frame
    mesh: TriMesh  # object frame, closed parts (for contact and penetration)
    pose: torch.Tensor  # [4, 4] float64, object-to-world

    def __post_init__(self) -> None:
        object.__setattr__(self, "pose", as_rigid_pose(self.pose, f"pose of object {self.id!r}"))

    def with_pose(self, T: np.ndarray | torch.Tensor) -> SceneObject:
        """The same object placed at another object-to-world pose T [4,4]."""
        return SceneObject(self.id, self.gaussians, self.mesh, T)

    def world_gaussians(self) -> GaussianCloud:
        """The Gaussians in the world frame at the current pose."""
        return self.gaussians.transformed(self.pose)

    def world_mesh(self) -> TriMesh:
        """The mesh in the world frame at the current pose."""
        return self.mesh.transformed(self.pose)
