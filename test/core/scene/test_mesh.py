"""TriMesh: PLY/OBJ round trips, polygon triangulation, merge, transform and errors."""

from pathlib import Path

import numpy as np
import pytest
import torch
from plyfile import PlyData, PlyElement

from zerohsi_core.errors import AssetError, InputError
from zerohsi_core.scene.mesh import TriMesh, read_mesh, write_mesh
from zerohsi_core.scene.primitives import box_mesh


def tetra(colors: bool = False) -> TriMesh:
    v = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]) * 0.1234567890123
    f = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])
    c = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [7, 8, 9]], dtype=np.uint8) if colors else None
    return TriMesh(v, f, c)


@pytest.mark.parametrize("suffix", [".ply", ".obj"])
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    mesh = tetra(colors=suffix == ".ply")
    write_mesh(tmp_path / f"m{suffix}", mesh)
    back = read_mesh(tmp_path / f"m{suffix}")
    assert np.array_equal(back.vertices, mesh.vertices)  # float64 (PLY) and repr floats (OBJ) are exact
    assert np.array_equal(back.faces, mesh.faces) and back.faces.dtype == np.int64
    if suffix == ".ply":
        assert np.array_equal(back.colors, mesh.colors)


def test_obj_polygons_are_fanned_and_negative_indices_work(tmp_path: Path) -> None:
    lines = ["# a unit square and a triangle", "v 0 0 0", "v 1 0 0", "v 1 1 0", "v 0 1 0", "vt 0 0"]
    (tmp_path / "quad.obj").write_text("\n".join([*lines, "f 1/1 2/1 3/1 4/1", "f -4 -3 -1"]) + "\n")
    mesh = read_mesh(tmp_path / "quad.obj")
    assert mesh.faces.tolist() == [[0, 1, 2], [0, 2, 3], [0, 1, 3]]


def test_ply_quads_and_ascii(tmp_path: Path) -> None:
    vertex = np.array(
        [(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 0, 1)], dtype=[(c, "f4") for c in "xyz"]
    )
    face = np.empty(2, dtype=[("vertex_index", "O")])
    face["vertex_index"] = [np.array([0, 1, 2, 3], dtype=np.int32), np.array([0, 1, 4], dtype=np.int32)]
    elements = [PlyElement.describe(vertex, "vertex"), PlyElement.describe(face, "face")]
    for text in (False, True):
        PlyData(elements, text=text).write(str(tmp_path / "q.ply"))
        mesh = read_mesh(tmp_path / "q.ply")
        assert mesh.faces.tolist() == [[0, 1, 2], [0, 2, 3], [0, 1, 4]]
        assert mesh.colors is None


def test_merge_offsets_faces() -> None:
    a, b = tetra(colors=True), box_mesh((1.0, 2.0, 3.0))
    merged = TriMesh.merge([a, b])
    assert merged.num_vertices == 12 and merged.num_faces == 16
    assert np.array_equal(merged.faces[4:], b.faces + 4)
    assert merged.colors is None  # b has none
    both = TriMesh.merge([a, a])
    assert np.array_equal(both.colors[4:], a.colors)
    with pytest.raises(InputError):
        TriMesh.merge([])


def test_transformed() -> None:
    T = np.array([[0.0, -1.0, 0.0, 1.0], [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, -2.0], [0.0, 0.0, 0.0, 1.0]])
    moved = box_mesh((2.0, 1.0, 1.0)).transformed(torch.from_numpy(T))
    assert np.allclose(moved.bounds(), [[0.5, -1.0, -2.5], [1.5, 1.0, -1.5]])


def test_invalid_meshes() -> None:
    with pytest.raises(InputError, match="face indices span 0..4"):
        TriMesh(np.zeros((4, 3)), np.array([[0, 1, 4]]))
    with pytest.raises(InputError, match="vertices"):
        TriMesh(np.zeros((4, 2)), np.array([[0, 1, 2]]))


def test_read_errors(tmp_path: Path) -> None:
    with pytest.raises(AssetError, match="does not exist"):
        read_mesh(tmp_path / "missing.obj")
    with pytest.raises(AssetError, match="unsupported extension '.stl'"):
        read_mesh(tmp_path / "x.stl")
    (tmp_path / "bad.obj").write_text("v 0 0 zero\n")
    with pytest.raises(AssetError, match="bad.obj is malformed"):
        read_mesh(tmp_path / "bad.obj")
    (tmp_path / "range.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 9\n")
    with pytest.raises(AssetError, match="range.obj is inconsistent"):
        read_mesh(tmp_path / "range.obj")
    (tmp_path / "points.obj").write_text("v 0 0 0\n")
    with pytest.raises(AssetError, match="1 vertices and 0 faces"):
        read_mesh(tmp_path / "points.obj")
