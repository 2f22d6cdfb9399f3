"""Closed primitive meshes (boxes, cylinders) and stratified samples of their surfaces, in numpy.

Primitives are centred at the origin of their own frame: a box spans ±size/2, a cylinder has its axis
along z, radius size[0]/2 and height size[2]. Surface samples carry an orthonormal frame per point
(columns: tangent u, tangent v, outward normal) and the tangent extent of the cell each sample covers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zerohsi_core.errors import InputError
from zerohsi_core.scene.mesh import TriMesh

BOX_FACES = ("+x", "-x", "+y", "-y", "+z", "-z")
CYLINDER_FACES = ("side", "top", "bottom")
# Box corners: index bit 0 = +x, bit 1 = +y, bit 2 = +z. Quads are counter-clockwise seen from outside.
_BOX_QUADS = ((1, 3, 7, 5), (0, 4, 6, 2), (2, 6, 7, 3), (0, 1, 5, 4), (4, 5, 7, 6), (0, 2, 3, 1))
_AXES = np.eye(3)
# Face name -> (normal axis, sign, tangent u axis, tangent v axis) with u x v = normal.
_BOX_FACE_AXES = {
    "+x": (0, 1.0, 1, 2),
    "-x": (0, -1.0, 2, 1),
    "+y": (1, 1.0, 2, 0),
    "-y": (1, -1.0, 0, 2),
    "+z": (2, 1.0, 0, 1),
    "-z": (2, -1.0, 1, 0),
}


@dataclass(frozen=True)
class SurfaceSamples:
    """Points on a surface with their local frames."""

    points: np.ndarray  # [N, 3]
    frames: np.ndarray  # [N, 3, 3], columns (u, v, normal)
    extents: np.ndarray  # [N, 2] cell size along u and v, metres

    @staticmethod
    def concat(parts: list[SurfaceSamples]) -> SurfaceSamples:
        """All samples of several surfaces."""
        return SurfaceSamples(
            np.concatenate([p.points for p in parts]),
            np.concatenate([p.frames for p in parts]),
            np.concatenate([p.extents for p in parts]),
        )

    def subset(self, mask: np.ndarray) -> SurfaceSamples:
        """The samples selected by a boolean mask [N]."""
        return SurfaceSamples(self.points[mask], self.frames[mask], self.extents[mask])

    def transformed(self, T: np.ndarray) -> SurfaceSamples:
        """Samples moved by a rigid transform T [4,4]."""
        return SurfaceSamples(self.points @ T[:3, :3].T + T[:3, 3], T[:3, :3] @ self.frames, self.extents)


def _quads_to_triangles(quads: np.ndarray) -> np.ndarray:
    """[Q, 4] counter-clockwise quads -> [2Q, 3] triangles."""
    return np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]]).astype(np.int64)


def box_mesh(size: tuple[float, float, float]) -> TriMesh:
    """Closed box mesh (8 shared vertices, 12 outward triangles)."""
    bits = np.array([[(i >> k) & 1 for k in range(3)] for i in range(8)], dtype=np.float64)
    vertices = (bits - 0.5) * np.asarray(size, dtype=np.float64)
    return TriMesh(vertices, _quads_to_triangles(np.asarray(_BOX_QUADS)))


def cylinder_mesh(size: tuple[float, float, float], segments: int) -> TriMesh:
    """Closed cylinder mesh along z (a prism whose polygon has the circle's area)."""
    theta = 2.0 * np.pi * np.arange(segments) / segments
    # Radius of the regular polygon with the same area as the circle.
    radius = 0.5 * size[0] * np.sqrt(2.0 * np.pi / (segments * np.sin(2.0 * np.pi / segments)))
    ring = np.stack([radius * np.cos(theta), radius * np.sin(theta)], axis=-1)
    half = 0.5 * size[2]
    vertices = np.concatenate(
        [
            np.c_[ring, np.full(segments, -half)],
            np.c_[ring, np.full(segments, half)],
            [[0, 0, -half], [0, 0, half]],
        ]
    )
    i = np.arange(segments)
    j = (i + 1) % segments
    bottom_c, top_c = 2 * segments, 2 * segments + 1
    side = _quads_to_triangles(np.stack([i, j, j + segments, i + segments], axis=-1))
    top = np.stack([np.full(segments, top_c), i + segments, j + segments], axis=-1)
    bottom = np.stack([np.full(segments, bottom_c), j, i], axis=-1)
    return TriMesh(vertices, np.concatenate([side, top, bottom]).astype(np.int64))


def box_contains(size: tuple[float, float, float], points: np.ndarray) -> np.ndarray:
    """Which points [N, 3] (box frame) lie strictly inside the box. -> [N] bool"""
    return np.all(np.abs(points) < 0.5 * np.asarray(size), axis=1)


def cylinder_contains(size: tuple[float, float, float], points: np.ndarray) -> np.ndarray:
    """Which points [N, 3] (cylinder frame) lie strictly inside the cylinder. -> [N] bool"""
    radial = np.hypot(points[:, 0], points[:, 1])
    return (radial < 0.5 * size[0]) & (np.abs(points[:, 2]) < 0.5 * size[2])


def _grid(rng: np.random.Generator, a: float, b: float, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """Jittered grid on [-a/2, a/2] x [-b/2, b/2]: one sample per cell. -> [N, 2] points, [2] cell size."""
    nu, nv = max(1, round(a / spacing)), max(1, round(b / spacing))
    iu, iv = np.meshgrid(np.arange(nu), np.arange(nv), indexing="ij")
    cells = np.stack([iu.ravel(), iv.ravel()], axis=-1) + rng.random((nu * nv, 2))
    cell = np.array([a / nu, b / nv])
    return cells * cell - 0.5 * np.array([a, b]), cell


def _planar(uv: np.ndarray, cell: np.ndarray, origin: np.ndarray, frame: np.ndarray) -> SurfaceSamples:
    """Samples of a planar patch: uv [N, 2] in the (u, v) axes of frame [3, 3] around origin [3]."""
    points = origin + uv @ frame[:, :2].T
    return SurfaceSamples(points, np.broadcast_to(frame, (len(uv), 3, 3)).copy(), np.tile(cell, (len(uv), 1)))


def sample_box(
    rng: np.random.Generator,
    size: tuple[float, float, float],
    spacing: float,
    faces: tuple[str, ...] = BOX_FACES,
) -> SurfaceSamples:
    """Stratified samples of the chosen faces of a box, about one per spacing^2 of area."""
    out = []
    for name in faces:
        if name not in _BOX_FACE_AXES:
            raise InputError(f"unknown box face {name!r}; expected one of {BOX_FACES}")
        n_axis, sign, u_axis, v_axis = _BOX_FACE_AXES[name]
        frame = np.stack([_AXES[u_axis], _AXES[v_axis], sign * _AXES[n_axis]], axis=-1)
        uv, cell = _grid(rng, size[u_axis], size[v_axis], spacing)
        out.append(_planar(uv, cell, sign * 0.5 * size[n_axis] * _AXES[n_axis], frame))
    return SurfaceSamples.concat(out)


def sample_cylinder(
    rng: np.random.Generator,
    size: tuple[float, float, float],
    spacing: float,
    faces: tuple[str, ...] = CYLINDER_FACES,
) -> SurfaceSamples:
    """Stratified samples of the side and/or caps of a z-axis cylinder."""
    radius, half = 0.5 * size[0], 0.5 * size[2]
    out = []
    for name in faces:
        if name == "side":
            tz, cell = _grid(rng, 2.0 * np.pi * radius, size[2], spacing)
            theta = tz[:, 0] / radius
            c, s = np.cos(theta), np.sin(theta)
            zero, one = np.zeros_like(c), np.ones_like(c)
            frames = np.stack(
                [np.stack([-s, c, zero], -1), np.stack([zero, zero, one], -1), np.stack([c, s, zero], -1)], -1
            )
            points = np.stack([radius * c, radius * s, tz[:, 1]], axis=-1)
            out.append(SurfaceSamples(points, frames, np.tile(cell, (len(c), 1))))
        elif name in ("top", "bottom"):
            sign = 1.0 if name == "top" else -1.0
            uv, cell = _grid(rng, size[0], size[0], spacing)
            uv = uv[np.linalg.norm(uv, axis=1) <= radius]
            frame = np.stack([_AXES[0], sign * _AXES[1], sign * _AXES[2]], axis=-1)
            out.append(_planar(uv, cell, np.array([0.0, 0.0, sign * half]), frame))
        else:
            raise InputError(f"unknown cylinder face {name!r}; expected one of {CYLINDER_FACES}")
    return SurfaceSamples.concat(out)
