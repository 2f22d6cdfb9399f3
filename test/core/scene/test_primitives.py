"""Primitive meshes are closed and outward; surface samples lie on the surface with right-handed frames."""

import numpy as np
import pytest

from zerohsi_core.errors import InputError
from zerohsi_core.scene.mesh import TriMesh
from zerohsi_core.scene.primitives import box_mesh, cylinder_mesh, sample_box, sample_cylinder


def signed_volume(mesh: TriMesh) -> float:
    """Divergence theorem: positive and equal to the volume for a closed, outward-oriented mesh."""
    a, b, c = (mesh.vertices[mesh.faces[:, i]] for i in range(3))
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def edges_shared_twice(mesh: TriMesh) -> bool:
    directed = np.concatenate([mesh.faces[:, [0, 1]], mesh.faces[:, [1, 2]], mesh.faces[:, [2, 0]]])
    forward = {tuple(e) for e in directed.tolist()}
    return len(forward) == len(directed) and all((b, a) in forward for a, b in forward)


def test_box_mesh_is_closed_and_outward() -> None:
    mesh = box_mesh((0.4, 0.3, 2.0))
    assert mesh.num_vertices == 8 and mesh.num_faces == 12
    assert signed_volume(mesh) == pytest.approx(0.24)
    assert edges_shared_twice(mesh)


def test_cylinder_mesh_keeps_the_circle_area() -> None:
    mesh = cylinder_mesh((0.5, 0.5, 2.0), 24)
    assert signed_volume(mesh) == pytest.approx(np.pi * 0.25**2 * 2.0)
    assert edges_shared_twice(mesh)


def check_frames(frames: np.ndarray) -> None:
    eye = np.broadcast_to(np.eye(3), frames.shape)
    assert np.allclose(frames.transpose(0, 2, 1) @ frames, eye, atol=1e-12)
    assert np.allclose(np.linalg.det(frames), 1.0)


def test_box_samples_on_faces_with_outward_normals() -> None:
    size = np.array([0.4, 0.3, 0.2])
    s = sample_box(np.random.default_rng(0), tuple(size), 0.01)
    check_frames(s.frames)
    normals = s.frames[:, :, 2]
    axis = np.abs(normals).argmax(axis=1)
    rows = np.arange(len(axis))
    # Each sample sits on the face its normal points out of.
    assert np.allclose(s.points[rows, axis] * np.sign(normals[rows, axis]), 0.5 * size[axis])
    assert np.all(np.abs(s.points) <= 0.5 * size + 1e-12)
    area = 2 * (0.4 * 0.3 + 0.4 * 0.2 + 0.3 * 0.2)
    assert len(s.points) == pytest.approx(area / 0.01**2, rel=0.02)
    assert np.allclose(s.extents.prod(axis=1).sum(), area)


def test_box_face_subset_and_unknown_face() -> None:
    s = sample_box(np.random.default_rng(0), (1.0, 1.0, 1.0), 0.1, ("+z",))
    assert len(s.points) == 100 and np.allclose(s.points[:, 2], 0.5)
    assert np.allclose(s.frames[:, :, 2], [0.0, 0.0, 1.0])
    with pytest.raises(InputError, match="unknown box face"):
        sample_box(np.random.default_rng(0), (1.0, 1.0, 1.0), 0.1, ("top",))


def test_cylinder_samples() -> None:
    s = sample_cylinder(np.random.default_rng(1), (0.5, 0.5, 1.0), 0.02)
    check_frames(s.frames)
    r = np.linalg.norm(s.points[:, :2], axis=1)
    normals = s.frames[:, :, 2]
    side = np.abs(normals[:, 2]) < 0.5
    assert np.allclose(r[side], 0.25)
    assert np.allclose(normals[side, :2], s.points[side, :2] / 0.25)
    caps = ~side
    assert np.all(r[caps] <= 0.25) and np.allclose(np.abs(s.points[caps, 2]), 0.5)
    assert np.allclose(np.sign(s.points[caps, 2]), normals[caps, 2])
    area = 2 * np.pi * 0.25 * 1.0 + 2 * np.pi * 0.25**2
    assert len(s.points) == pytest.approx(area / 0.02**2, rel=0.03)
