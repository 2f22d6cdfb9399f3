"""MeshSDF: signs and values on a unit cube, unions of overlapping parts, torch gradients."""

import numpy as np
import pytest
import torch

from zerohsi_core.errors import InputError
from zerohsi_core.scene.mesh import TriMesh
from zerohsi_core.scene.primitives import box_mesh, cylinder_mesh
from zerohsi_core.scene.sdf import MeshSDF, SdfOptions, mesh_components

SHIFT = np.array([[1, 0, 0, 0.5], [0, 1, 0, 0.5], [0, 0, 1, 0.5], [0, 0, 0, 1.0]])


@pytest.fixture(scope="module")
def cube_sdf() -> MeshSDF:
    return MeshSDF(box_mesh((1.0, 1.0, 1.0)).transformed(SHIFT))  # the cube [0, 1]^3


def test_unit_cube_values(cube_sdf: MeshSDF) -> None:
    points = np.array(
        [
            [0.5, 0.5, 0.5],  # centre: 0.5 below every face
            [0.5, 0.5, 0.9],  # 0.1 below the top face
            [0.5, 0.5, 1.0],  # on the top face
            [0.5, 0.5, 1.25],  # 0.25 above it
            [-0.3, 0.5, 0.5],  # 0.3 out of the -x face
            [2.0, 2.0, 2.0],  # nearest to the corner (1, 1, 1)
            [0.02, 0.5, 0.5],  # near a face, inside
        ]
    )
    expected = np.array([-0.5, -0.1, 0.0, 0.25, 0.3, np.sqrt(3.0), -0.02])
    assert np.allclose(cube_sdf(points), expected, atol=1e-6)


def test_random_points_against_box_formula(cube_sdf: MeshSDF) -> None:
    p = np.random.default_rng(0).uniform(-1.0, 2.0, size=(2000, 3))
    q = np.abs(p - 0.5) - 0.5
    exact = np.linalg.norm(np.maximum(q, 0.0), axis=1) + np.minimum(q.max(axis=1), 0.0)
    assert np.allclose(cube_sdf(p), exact, atol=1e-5)


def test_union_of_overlapping_parts() -> None:
    # Two boxes overlapping in x in [0.5, 1]; a single ray-parity test would call the overlap "outside".
    a = box_mesh((1.0, 1.0, 1.0)).transformed(SHIFT)
    b = box_mesh((1.0, 1.0, 1.0)).transformed(
        SHIFT + np.array([[0, 0, 0, 0.5], [0, 0, 0, 0], [0, 0, 0, 0], [0] * 4])
    )
    union = TriMesh.merge([a, b])
    assert len(mesh_components(union)) == 2
    sdf = MeshSDF(union)
    values = sdf(
        np.array([[0.75, 0.5, 0.5], [0.1, 0.5, 0.5], [1.4, 0.5, 0.5], [1.6, 0.5, 0.5], [0.75, 0.5, 1.2]])
    )
    # In the overlap: the depth in the part penetrated deepest (0.25), a lower bound of the union's 0.5.
    assert np.allclose(values, [-0.25, -0.1, -0.1, 0.1, 0.2], atol=1e-6)
    single = MeshSDF(union, SdfOptions(split_components=False))
    assert single(np.array([[0.75, 0.5, 0.5]]))[0] > 0  # documents why parts are split


def test_cylinder_sign() -> None:
    sdf = MeshSDF(cylinder_mesh((0.5, 0.5, 2.0), 32))
    values = sdf(np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 1.2], [0.6, 0.0, 0.0]]))
    assert values[0] == pytest.approx(-0.25, abs=0.01) and values[1] == pytest.approx(0.2, abs=1e-6)
    assert values[2] == pytest.approx(0.35, abs=0.01)


def test_torch_input_keeps_type_and_gives_normals(cube_sdf: MeshSDF) -> None:
    p = torch.tensor([[0.5, 0.5, 0.9], [1.3, 0.5, 0.5], [0.5, -0.2, 0.5]], dtype=torch.float64)
    plain = cube_sdf(p)
    assert isinstance(plain, torch.Tensor) and plain.dtype == torch.float64
    p.requires_grad_(True)
    d = cube_sdf(p)
    torch.testing.assert_close(
        d.detach(), torch.tensor([-0.1, 0.3, 0.2], dtype=torch.float64), atol=1e-6, rtol=0
    )
    d.sum().backward()
    normals = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]], dtype=torch.float64)
    torch.testing.assert_close(p.grad, normals, atol=1e-5, rtol=0)


def test_bad_input(cube_sdf: MeshSDF) -> None:
    with pytest.raises(InputError, match=r"points \[N, 3\]"):
        cube_sdf(np.zeros((4, 2)))
    with pytest.raises(InputError, match="odd"):
        MeshSDF(box_mesh((1.0, 1.0, 1.0)), SdfOptions(num_sign_rays=2))
