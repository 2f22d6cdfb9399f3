"""Procedural scenes and objects: determinism, sizes, flat oriented splats, annotations, cache."""

from pathlib import Path

import numpy as np
import pytest
import torch

from zerohsi_core.errors import InputError
from zerohsi_core.geometry import quat_wxyz_to_matrix
from zerohsi_core.scene.procedural import build_object, build_scene, procedural_object_names
from zerohsi_core.scene.scene import Scene
from zerohsi_core.scene.sdf import MeshSDF

SMALL = 0.1  # density giving ~10-15k Gaussians per scene
FIELDS = ("means", "quats", "log_scales", "opacity_logits", "sh")


@pytest.fixture(scope="module", params=["living_room", "garden"])
def scene(request: pytest.FixtureRequest) -> Scene:
    return build_scene(request.param, seed=0, density=SMALL, use_cache=False)


@pytest.fixture(scope="module")
def scene_sdf(scene: Scene) -> MeshSDF:
    return MeshSDF(scene.mesh)


def test_same_seed_same_arrays_other_seed_differs(scene: Scene) -> None:
    again = build_scene(scene.id, seed=0, density=SMALL, use_cache=False)
    for field in FIELDS:
        assert torch.equal(getattr(again.gaussians, field), getattr(scene.gaussians, field)), field
    assert np.array_equal(again.mesh.vertices, scene.mesh.vertices)
    other = build_scene(scene.id, seed=1, density=SMALL, use_cache=False)
    n = min(other.gaussians.num, scene.gaussians.num)
    assert not torch.equal(other.gaussians.means[:n], scene.gaussians.means[:n])
    assert not torch.equal(other.gaussians.sh[:n], scene.gaussians.sh[:n])
    assert np.array_equal(other.mesh.faces, scene.mesh.faces)  # same layout, other sampling and colours


def test_gaussian_counts_scale_with_density(scene: Scene) -> None:
    assert 5_000 <= scene.gaussians.num <= 20_000
    full = build_scene(scene.id, seed=0, density=1.0, use_cache=False)
    assert 100_000 <= full.gaussians.num <= 200_000
    assert full.gaussians.num / scene.gaussians.num == pytest.approx(10.0, rel=0.15)


def test_splats_are_flat_and_lie_on_the_mesh(scene: Scene, scene_sdf: MeshSDF) -> None:
    g = scene.gaussians
    assert g.sh_degree == 0 and torch.isfinite(g.sh).all()
    colours = g.sh[:, 0] * 0.28209479177387814 + 0.5
    assert colours.min() > -1e-6 and colours.max() < 1.0 + 1e-6
    assert (g.scales[:, 2] < 0.2 * g.scales[:, :2].min(dim=1).values).all()
    normals = quat_wxyz_to_matrix(g.quats)[:, :, 2].numpy()  # the thin axis
    means = g.means.double().numpy()
    assert np.abs(scene_sdf(means)).max() < 3e-3
    # The thin axis points out of the solid; splats covered by another part were dropped.
    assert (scene_sdf(means + 0.005 * normals) > 0.002).mean() > 0.98
    assert (scene_sdf(means + 0.002 * normals) > 0.0).all()


def test_affordances_lie_on_free_surfaces(scene: Scene, scene_sdf: MeshSDF) -> None:
    expected = {
        "living_room": {"sofa_seat", "sofa_back", "table_top"},
        "garden": {"bench_seat", "planter_soil"},
    }
    assert expected[scene.id] <= set(scene.affordances)
    for surface in scene.affordances.values():
        corners = surface.corners()
        points = np.concatenate([[surface.center], corners * 0.9 + 0.1 * np.asarray(surface.center)])
        assert np.abs(scene_sdf(points)).max() < 1e-4, surface.name
        above = scene_sdf(points + 0.05 * np.asarray(surface.normal))
        assert above[0] == pytest.approx(0.05, abs=1e-4) and above.min() > 0.01, surface.name


def test_sofa_seat_is_on_the_sofa_top() -> None:
    room = build_scene("living_room", density=SMALL, use_cache=False)
    seat = room.affordances["sofa_seat"]
    assert seat.height == pytest.approx(0.45) and seat.normal == (0.0, 0.0, 1.0)
    v = room.mesh.vertices
    sofa_seat_box = np.isclose(v[:, 2], 0.45) & np.isclose(v[:, 0], 1.6)
    assert sofa_seat_box.sum() == 2  # the seat box's front top edge exists in the mesh
    assert MeshSDF(room.mesh)(np.array([seat.center]))[0] == pytest.approx(0.0, abs=1e-6)


def test_human_start_is_free_and_objects_are_near(scene: Scene, scene_sdf: MeshSDF) -> None:
    x, y = scene.human_start.xy
    column = np.array([[x, y, z] for z in np.linspace(0.3, 1.8, 16)])
    assert scene_sdf(column).min() > 0.3
    assert scene.objects
    for obj in scene.objects.values():
        pose_xy = obj.pose[:2, 3].numpy()
        assert 0.3 < np.linalg.norm(pose_xy - np.array([x, y])) < 1.5, obj.id
        assert MeshSDF(obj.world_mesh())(column).min() > 0.3, obj.id
        world = obj.world_gaussians().means.double().numpy()
        assert world[:, 2].min() > -1e-3, obj.id  # rests on the floor, not below it
        assert scene_sdf(world + np.array([0.0, 0.0, 2e-3])).min() > -1e-3, obj.id


@pytest.mark.parametrize("name", procedural_object_names())
def test_objects_rest_on_z0(name: str) -> None:
    obj = build_object(name, density=SMALL, use_cache=False)
    lo, hi = obj.mesh.bounds()
    assert lo[2] == pytest.approx(0.0, abs=1e-12) and 0.1 < hi[2] < 1.0
    assert 200 <= obj.gaussians.num <= 5_000
    assert torch.equal(obj.pose, torch.eye(4, dtype=torch.float64))
    if name == "guitar":
        assert hi[0] - lo[0] == pytest.approx(1.06, abs=0.02)  # body + neck + headstock along +x


def test_cache_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZEROHSI_CACHE", str(tmp_path))
    first = build_scene("garden", seed=3, density=0.05)
    folders = sorted(p.name for p in (tmp_path / "scenes").iterdir() if p.name.startswith("garden-"))
    assert len(folders) == 1 and len(folders[0]) == len("garden-") + 12
    fresh = build_scene("garden", seed=3, density=0.05, use_cache=False)
    cached = build_scene("garden", seed=3, density=0.05)
    for field in FIELDS:
        assert torch.equal(getattr(cached.gaussians, field), getattr(fresh.gaussians, field)), field
        assert torch.equal(getattr(first.gaussians, field), getattr(fresh.gaussians, field)), field
    assert np.array_equal(cached.mesh.vertices, fresh.mesh.vertices)
    assert np.array_equal(cached.mesh.colors, fresh.mesh.colors)
    build_scene("garden", seed=4, density=0.05)
    assert len([p for p in (tmp_path / "scenes").iterdir() if p.name.startswith("garden-")]) == 2
    assert (tmp_path / "scenes" / "objects").is_dir()
    # A damaged cache file is regenerated.
    ply = tmp_path / "scenes" / folders[0] / "gaussians.ply"
    ply.write_bytes(ply.read_bytes()[:1000])
    repaired = build_scene("garden", seed=3, density=0.05)
    assert torch.equal(repaired.gaussians.means, fresh.gaussians.means)


def test_bad_requests() -> None:
    with pytest.raises(InputError, match="unknown procedural scene 'kitchen'"):
        build_scene("kitchen")
    with pytest.raises(InputError, match="unknown procedural object"):
        build_object("piano")
    with pytest.raises(InputError, match="density must be a positive"):
        build_scene("garden", density=0.0)
