"""Triangle meshes (collision / SDF geometry of scenes and objects): PLY and OBJ files, merge, transform."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from plyfile import PlyData, PlyElement

from zerohsi_core.errors import AssetError, InputError
from zerohsi_core.scene.ply import read_ply_data, write_ply_data

_FACE_LIST_NAMES = ("vertex_indices", "vertex_index")
_COLOR_NAMES = ("red", "green", "blue")


@dataclass(frozen=True, eq=False)
class TriMesh:
    """Triangle mesh in metres; for SDF queries each connected component should be closed (water-tight)."""

    vertices: np.ndarray  # [V, 3] float64
    faces: np.ndarray  # [F, 3] int64, counter-clockwise seen from outside
    colors: np.ndarray | None = None  # [V, 3] uint8

    def __post_init__(self) -> None:
        v, f = self.vertices, self.faces
        if v.ndim != 2 or v.shape[1] != 3 or f.ndim != 2 or f.shape[1] != 3:
            raise InputError(f"TriMesh needs vertices [V,3] and faces [F,3], got {v.shape} and {f.shape}")
        if f.size and (f.min() < 0 or f.max() >= len(v)):
            raise InputError(
                f"TriMesh face indices span {f.min()}..{f.max()} but there are {len(v)} vertices"
            )
        if self.colors is not None and self.colors.shape != v.shape:
            raise InputError(f"TriMesh colors have shape {self.colors.shape}, expected {v.shape}")

    @property
    def num_vertices(self) -> int:
        """Number of vertices V."""
        return len(self.vertices)

    @property
    def num_faces(self) -> int:
        """Number of triangles F."""
        return len(self.faces)

    def bounds(self) -> np.ndarray:
        """Axis-aligned bounding box [[xmin, ymin, zmin], [xmax, ymax, zmax]]. [2, 3]"""
        return np.stack([self.vertices.min(axis=0), self.vertices.max(axis=0)])

    def transformed(self, T: np.ndarray | torch.Tensor) -> TriMesh:
        """The mesh moved by a rigid transform T [4,4] (points x -> R x + t)."""
        T = T.detach().cpu().numpy() if isinstance(T, torch.Tensor) else np.asarray(T)
        T = T.astype(np.float64)
        return TriMesh(self.vertices @ T[:3, :3].T + T[:3, 3], self.faces, self.colors)

    @classmethod
    def merge(cls, meshes: Sequence[TriMesh]) -> TriMesh:
        """One mesh holding all triangles (face indices offset); colours kept only if every mesh has them."""
        if not meshes:
            raise InputError("TriMesh.merge needs at least one mesh")
        offsets = np.cumsum([0] + [m.num_vertices for m in meshes[:-1]])
        colors = None
        if all(m.colors is not None for m in meshes):
            colors = np.concatenate([m.colors for m in meshes])
        return cls(
            vertices=np.concatenate([m.vertices for m in meshes]),
            faces=np.concatenate([m.faces + off for m, off in zip(meshes, offsets, strict=True)]),
            colors=colors,
        )


def _triangulate(polygons: Sequence[Sequence[int]] | np.ndarray) -> np.ndarray:
    """Fan triangulation of convex polygons. -> [F, 3]"""
    if isinstance(polygons, np.ndarray) and polygons.ndim == 2 and polygons.shape[1] == 3:
        return polygons.astype(np.int64)
    if all(len(poly) == 3 for poly in polygons):
        return np.asarray([list(poly) for poly in polygons], dtype=np.int64).reshape(-1, 3)
    triangles = [(poly[0], poly[i], poly[i + 1]) for poly in polygons for i in range(1, len(poly) - 1)]
    return np.asarray(triangles, dtype=np.int64).reshape(-1, 3)


def _read_ply_mesh(path: Path) -> TriMesh:
    try:  # fast path: binary triangle lists can be memory-mapped
        data = read_ply_data(path, {"face": {name: 3 for name in _FACE_LIST_NAMES}})
    except AssetError as exc:
        if "unexpected list length" not in str(exc):
            raise
        data = read_ply_data(path)
    if "vertex" not in data or "face" not in data:
        raise AssetError(f"mesh PLY {path} needs 'vertex' and 'face' elements")
    vertex = data["vertex"].data
    names = vertex.dtype.names or ()
    if not {"x", "y", "z"} <= set(names):
        raise AssetError(f"mesh PLY {path} lacks vertex properties x y z")
    face = data["face"].data
    list_name = next((n for n in _FACE_LIST_NAMES if n in (face.dtype.names or ())), None)
    if list_name is None:
        raise AssetError(f"mesh PLY {path} has no face list property ({' or '.join(_FACE_LIST_NAMES)})")
    vertices = np.stack([np.asarray(vertex[n], dtype=np.float64) for n in ("x", "y", "z")], axis=-1)
    colors = None
    if set(_COLOR_NAMES) <= set(names):
        colors = np.stack([np.asarray(vertex[n], dtype=np.uint8) for n in _COLOR_NAMES], axis=-1)
    return _checked(path, vertices, _triangulate(face[list_name]), colors)


def _read_obj_mesh(path: Path) -> TriMesh:
    if not path.is_file():
        raise AssetError(f"OBJ file {path} does not exist (or is not a regular file)")
    vertices: list[list[float]] = []
    polygons: list[list[int]] = []
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "v":
                vertices.append([float(x) for x in parts[1:4]])
            elif parts[0] == "f":
                idx = [int(p.split("/")[0]) for p in parts[1:]]
                polygons.append([i - 1 if i > 0 else len(vertices) + i for i in idx])
    except (ValueError, UnicodeDecodeError) as exc:
        raise AssetError(f"OBJ file {path} is malformed: {exc}") from exc
    return _checked(path, np.asarray(vertices, dtype=np.float64).reshape(-1, 3), _triangulate(polygons), None)


def _checked(path: Path, vertices: np.ndarray, faces: np.ndarray, colors: np.ndarray | None) -> TriMesh:
    if len(vertices) == 0 or len(faces) == 0:
        raise AssetError(f"mesh {path} has {len(vertices)} vertices and {len(faces)} faces; it needs both")
    if not np.isfinite(vertices).all():
        raise AssetError(f"mesh {path}: {int((~np.isfinite(vertices).all(1)).sum())} vertices are NaN/inf")
    try:
        return TriMesh(vertices, faces, colors)
    except InputError as exc:
        raise AssetError(f"mesh {path} is inconsistent: {exc}") from exc


def read_mesh(path: str | Path) -> TriMesh:
    """Load a triangle mesh from .ply (binary or ascii, optional red/green/blue) or .obj (polygons fanned)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".ply":
        return _read_ply_mesh(path)
    if suffix == ".obj":
        return _read_obj_mesh(path)
    raise AssetError(f"mesh {path}: unsupported extension '{suffix}' (use .ply or .obj)")


def write_mesh(path: str | Path, mesh: TriMesh) -> None:
    """Save a mesh as binary .ply (float64 vertices, vertex colours if any) or .obj."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".obj":
        lines = [f"v {x!r} {y!r} {z!r}" for x, y, z in mesh.vertices.tolist()]
        lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in mesh.faces.tolist()]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return
    if suffix != ".ply":
        raise AssetError(f"mesh {path}: unsupported extension '{suffix}' (use .ply or .obj)")
    fields = [("x", "<f8"), ("y", "<f8"), ("z", "<f8")]
    if mesh.colors is not None:
        fields += [(name, "u1") for name in _COLOR_NAMES]
    vertex = np.empty(mesh.num_vertices, dtype=fields)
    for i, name in enumerate("xyz"):
        vertex[name] = mesh.vertices[:, i]
    if mesh.colors is not None:
        for i, name in enumerate(_COLOR_NAMES):
            vertex[name] = mesh.colors[:, i]
    face = np.empty(mesh.num_faces, dtype=[("vertex_indices", "i4", (3,))])
    face["vertex_indices"] = mesh.faces
    elements = [PlyElement.describe(vertex, "vertex"), PlyElement.describe(face, "face")]
    write_ply_data(path, PlyData(elements, text=False, byte_order="<"))
