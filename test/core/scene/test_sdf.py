"""MeshSDF, both backends: signs and values on a unit cube, unions of overlapping parts, torch gradients; the
exact numpy search against open3d on a whole scene."""

import numpy as np
import pytest
import torch

from zerohsi_core.errors import InputError
from zerohsi_core.scene import build_scene
from zerohsi_core.scene.mesh import TriMesh
from zerohsi_core.scene.primitives import box_mesh, cylinder_mesh
from zerohsi_core.scene.sdf import MeshSDF, SdfOptions, cast_rays, mesh_components

SHIFT = np.array([[1, 0, 0, 0.5], [0, 1, 0, 0.5], [0, 0, 1, 0.5], [0, 0, 0, 1.0]])


@pytest.fixture(scope="module", params=["open3d", "exact"])
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def cube_sdf(backend: str) -> MeshSDF:
    return MeshSDF(box_mesh((1.0, 1.0, 1.0)).transformed(SHIFT), SdfOptions(backend=backend))  # [0, 1]^3


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


def test_union_of_overlapping_parts(backend: str) -> None:
    # Two boxes overlapping in x in [0.5, 1]; a single ray-parity test would call the overlap "outside".
    a = box_mesh((1.0, 1.0, 1.0)).transformed(SHIFT)
    b = box_mesh((1.0, 1.0, 1.0)).transformed(
        SHIFT + np.array([[0, 0, 0, 0.5], [0, 0, 0, 0], [0, 0, 0, 0], [0] * 4])
    )
    union = TriMesh.merge([a, b])
    assert len(mesh_components(union)) == 2
    sdf = MeshSDF(union, SdfOptions(backend=backend))
    values = sdf(
        np.array([[0.75, 0.5, 0.5], [0.1, 0.5, 0.5], [1.4, 0.5, 0.5], [1.6, 0.5, 0.5], [0.75, 0.5, 1.2]])
    )
    # In the overlap: the depth in the part penetrated deepest (0.25), a lower bound of the union's 0.5.
    assert np.allclose(values, [-0.25, -0.1, -0.1, 0.1, 0.2], atol=1e-6)
    single = MeshSDF(union, SdfOptions(split_components=False, backend=backend))
    assert single(np.array([[0.75, 0.5, 0.5]]))[0] > 0  # documents why parts are split


def test_cylinder_sign(backend: str) -> None:
    sdf = MeshSDF(cylinder_mesh((0.5, 0.5, 2.0), 32), SdfOptions(backend=backend))
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
    with pytest.raises(InputError, match="unknown SDF backend"):
        MeshSDF(box_mesh((1.0, 1.0, 1.0)), SdfOptions(backend="cgal"))


def test_exact_backend_agrees_with_open3d_on_a_scene() -> None:
    """The living room (46 parts, 1,016 triangles): values at points around and inside the furniture agree
    with open3d's to float32 rounding; the exact closest points lie at exactly |sdf| and within open3d's
    float32 error (up to ~2e-4 m at half a metre) of open3d's."""
    mesh = build_scene("living_room").mesh
    low, high = mesh.vertices.min(0), mesh.vertices.max(0)
    points = np.random.default_rng(1).uniform(low - 0.2, high + 0.2, size=(3000, 3))
    sdfs = {name: MeshSDF(mesh, SdfOptions(backend=name)) for name in ("open3d", "exact")}
    (o3d_values, owner), (exact_values, exact_owner) = (sdfs[n]._signed(points) for n in ("open3d", "exact"))
    assert (exact_values < 0).sum() > 100 and (exact_values > 0).sum() > 100  # both sides sampled
    assert np.allclose(exact_values, o3d_values, atol=2e-6)
    assert (owner == exact_owner).all()
    closest = {n: sdfs[n].closest_points(points, owner) for n in sdfs}
    assert np.allclose(np.linalg.norm(points - closest["exact"], axis=1), np.abs(exact_values), atol=1e-6)
    assert np.allclose(closest["exact"], closest["open3d"], atol=5e-4)


def test_cast_rays_backends_agree(backend: str) -> None:
    """First hits on the unit cube: from outside along −x, from inside up, and a miss."""
    cube = box_mesh((1.0, 1.0, 1.0)).transformed(SHIFT)
    origins = np.array([[2.0, 0.5, 0.5], [0.5, 0.5, 0.25], [2.0, 2.0, 2.0]])
    directions = np.array([[-1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    distance, normals = cast_rays(cube, origins, directions, backend)
    assert np.allclose(distance[:2], [1.0, 0.75], atol=1e-6) and np.isinf(distance[2])
    assert np.allclose(normals[:2], [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], atol=1e-6)  # outward, by winding
    mesh = build_scene("living_room").mesh
    rng = np.random.default_rng(2)
    origins = rng.uniform(mesh.vertices.min(0), mesh.vertices.max(0), size=(500, 3))
    directions = rng.normal(size=(500, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    hits = {name: cast_rays(mesh, origins, directions, name) for name in ("open3d", "exact")}
    (t_o3d, n_o3d), (t_exact, n_exact) = hits["open3d"], hits["exact"]
    assert np.array_equal(np.isinf(t_o3d), np.isinf(t_exact)) and np.isfinite(t_exact).mean() > 0.5
    hit = np.isfinite(t_exact)
    assert np.allclose(t_exact[hit], t_o3d[hit], atol=1e-5)
    same = np.abs(n_exact[hit] - n_o3d[hit]).max(1) < 1e-5
    # Where two parts' faces coincide back to back, either one is a first hit: the normal flips, nothing else.
    flipped = np.abs(n_exact[hit] + n_o3d[hit]).max(1) < 1e-5
    assert same.mean() > 0.95 and (same | flipped).all()
