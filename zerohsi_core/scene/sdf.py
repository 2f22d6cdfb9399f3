"""Signed distance to a mesh made of closed parts (open3d ray casting); negative inside.

Penetration metrics (Sec. 4.1, Pene_*) use it. A scene mesh is a union of closed primitives that may
overlap; open3d's sign test assumes non-intersecting closed meshes, so each connected component gets
its own ray-casting scene and the union's signed distance is the minimum over components: exact
outside the union, and inside it the depth below the surface of the component penetrated deepest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from zerohsi_core.errors import InputError
from zerohsi_core.scene.mesh import TriMesh


@dataclass(frozen=True)
class SdfOptions:
    """How signs are decided and whether overlapping parts are handled separately."""

    num_sign_rays: int = 3  # odd; majority vote guards against rays grazing an edge of a box
    split_components: bool = True  # False: treat the mesh as one closed, self-disjoint surface


def mesh_components(mesh: TriMesh) -> list[TriMesh]:
    """Connected components of a mesh (faces sharing vertices), each with its own compact vertex array."""
    n = mesh.num_vertices
    f = mesh.faces
    rows = np.concatenate([f[:, 0], f[:, 1], f[:, 2]])
    cols = np.concatenate([f[:, 1], f[:, 2], f[:, 0]])
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
    count, labels = connected_components(graph, directed=False)
    face_labels = labels[f[:, 0]]
    parts = []
    for label in range(count):
        faces = f[face_labels == label]
        if len(faces) == 0:
            continue
        used, inverse = np.unique(faces, return_inverse=True)
        parts.append(TriMesh(mesh.vertices[used], inverse.reshape(-1, 3).astype(np.int64)))
    return parts


def _o3d_tensor(array: np.ndarray, dtype: type = np.float32):  # -> open3d.core.Tensor
    import open3d as o3d  # heavy (~2 s): only when an SDF is queried

    return o3d.core.Tensor(np.ascontiguousarray(array, dtype=dtype))


def _raycasting_scene(mesh: TriMesh):  # -> open3d.t.geometry.RaycastingScene
    import open3d as o3d

    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(_o3d_tensor(mesh.vertices), _o3d_tensor(mesh.faces, np.uint32))
    return scene


class MeshSDF:
    """Signed distance field of a mesh of closed parts: sdf(points [N,3]) -> [N], metres, negative inside."""

    def __init__(self, mesh: TriMesh, options: SdfOptions | None = None) -> None:
        self.options = options or SdfOptions()
        if self.options.num_sign_rays < 1 or self.options.num_sign_rays % 2 == 0:
            raise InputError(
                f"SdfOptions.num_sign_rays must be odd and >= 1, got {self.options.num_sign_rays}"
            )
        parts = mesh_components(mesh) if self.options.split_components else [mesh]
        self._scenes = [_raycasting_scene(part) for part in parts]
        self._boxes = np.stack([part.bounds() for part in parts])  # [P, 2, 3]

    @property
    def num_parts(self) -> int:
        """Number of closed parts queried separately."""
        return len(self._scenes)

    def _signed(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Union signed distance and the index of the part that gives it. [N, 3] -> [N], [N]"""
        best = np.full(len(points), np.inf, dtype=np.float32)
        owner = np.zeros(len(points), dtype=np.int64)
        for i, scene in enumerate(self._scenes):
            # Outside a part's bounding box, the box distance bounds the part's distance from below:
            # skip points already closer to another part. Points inside the box may be inside the part.
            gap = np.maximum(np.maximum(self._boxes[i, 0] - points, points - self._boxes[i, 1]), 0.0)
            gap = np.linalg.norm(gap, axis=1)
            todo = np.flatnonzero((gap == 0.0) | (gap < best))
            if len(todo) == 0:
                continue
            query = _o3d_tensor(points[todo])
            d = scene.compute_signed_distance(query, nsamples=self.options.num_sign_rays).numpy()
            closer = d < best[todo]
            best[todo[closer]] = d[closer]
            owner[todo[closer]] = i
        return best, owner

    def closest_points(self, points: np.ndarray, owner: np.ndarray) -> np.ndarray:
        """Closest surface points on the given parts. points [N,3], owner [N] part index -> [N,3]"""
        out = np.empty((len(points), 3), dtype=np.float32)
        for i in np.unique(owner):
            idx = np.flatnonzero(owner == i)
            query = _o3d_tensor(points[idx])
            out[idx] = self._scenes[i].compute_closest_points(query)["points"].numpy()
        return out

    def __call__(self, points: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        """Signed distances of points [N,3] (numpy or torch; same type back, [N]).

        For torch inputs that require grad the result is sign * |p - closest(p)| with the closest point
        held fixed, so its gradient is the SDF gradient (the outward normal).
        """
        if points.ndim != 2 or points.shape[1] != 3:
            raise InputError(f"MeshSDF expects points [N, 3], got {tuple(points.shape)}")
        if not isinstance(points, torch.Tensor):
            return self._signed(np.asarray(points, dtype=np.float64))[0].astype(np.float64)
        host = points.detach().cpu().numpy().astype(np.float64)
        signed, owner = self._signed(host)
        if not points.requires_grad:
            return torch.from_numpy(signed).to(device=points.device, dtype=points.dtype)
        closest = torch.from_numpy(self.closest_points(host, owner)).to(points.device, points.dtype)
        sign = torch.from_numpy(np.sign(signed)).to(points.device, points.dtype)
        return sign * torch.linalg.norm(points - closest, dim=-1)
