"""Penetration of the body into the scene and into the object, from signed distances (Sec. 4.1).

Scene (Pene_%scene, Pene_mean, Pene_max, following DIMOS [100] as the paper does): a body vertex
penetrates when the scene's signed distance at it is negative. The paper's numbers imply its units
(EVALUATION.md): Pene_%scene is a fraction of vertices, the depths are centimetres and Pene_mean
averages the penetrating vertices only. Object (Pene_obj, CHOIS-style): per frame, the mean depth of
the vertices inside the object, averaged over the frames with any.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from zerohsi_core.errors import InputError
from zerohsi_core.geometry.se3 import se3_inverse, transform_points
from zerohsi_core.scene.sdf import MeshSDF

CM_PER_M = 100.0


@dataclass(frozen=True)
class ScenePenetration:
    """Pene_%scene (fraction of body vertices inside), Pene_mean and Pene_max (depth, cm)."""

    fraction: float
    mean_cm: float
    max_cm: float


def _signed(signed: np.ndarray) -> np.ndarray:
    signed = np.asarray(signed, dtype=np.float64)
    if signed.ndim != 2 or signed.size == 0:
        raise InputError(f"signed distances must be [T, V] with T, V > 0, got shape {signed.shape}")
    return signed


def scene_penetration(signed: np.ndarray, tolerance: float = 0.0) -> ScenePenetration:
    """Pene_%scene, Pene_mean, Pene_max of signed distances [T, V] (metres, negative inside); a vertex
    counts when deeper than `tolerance` (m)."""
    depth = -_signed(signed)  # [T, V] positive inside
    inside = depth > tolerance
    if not inside.any():
        return ScenePenetration(0.0, 0.0, 0.0)
    return ScenePenetration(
        fraction=float(inside.mean()),
        mean_cm=CM_PER_M * float(depth[inside].mean()),
        max_cm=CM_PER_M * float(depth.max()),
    )


def object_penetration_cm(signed: np.ndarray, tolerance: float = 0.0) -> float:
    """Pene_obj (cm): per frame the mean depth of vertices deeper than `tolerance` inside the object,
    averaged over the frames that have any (0 when none does). signed [T, V] metres"""
    depth = -_signed(signed)
    inside = depth > tolerance  # [T, V]
    frames = inside.any(axis=1)
    if not frames.any():
        return 0.0
    per_frame = np.where(inside, depth, 0.0).sum(1)[frames] / inside.sum(1)[frames]
    return CM_PER_M * float(per_frame.mean())


def scene_signed_distances(sdf: MeshSDF, vertices: torch.Tensor) -> np.ndarray:
    """Scene signed distances of body vertices [T, V, 3] (world) -> [T, V] metres."""
    flat = vertices.detach().reshape(-1, 3).cpu().double().numpy()
    return np.asarray(sdf(flat)).reshape(vertices.shape[:2])


def ground_union(signed: np.ndarray, vertices: torch.Tensor, floor_height: float) -> np.ndarray:
    """Signed distances [T, V] to the union of the scene and the solid ground below floor_height (the
    minimum of both distances; below the floor the depth is floor_height − z). vertices [T, V, 3]"""
    above = vertices[..., 2].detach().cpu().double().numpy() - floor_height  # [T, V]
    return np.minimum(signed, above)


def object_signed_distances(sdf: MeshSDF, vertices: torch.Tensor, poses: torch.Tensor) -> np.ndarray:
    """Signed distances of points [T, V, 3] (world) to an object mesh (object frame) placed at
    poses [T, 4, 4] object-to-world -> [T, V] metres."""
    if poses.shape[0] != vertices.shape[0]:
        raise InputError(f"{vertices.shape[0]} frames of vertices but {poses.shape[0]} object poses")
    local = transform_points(se3_inverse(poses.double()), vertices.detach().double().cpu())  # [T, V, 3]
    return scene_signed_distances(sdf, local)
