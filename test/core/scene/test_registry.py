"""Scene registry: procedural and file scenes, objects, annotations, config errors, data-root confinement."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from zerohsi_core.errors import AssetError, ConfigError, InputError
from zerohsi_core.scene.gaussians import GaussianCloud
from zerohsi_core.scene.mesh import write_mesh
from zerohsi_core.scene.ply import write_gaussian_ply
from zerohsi_core.scene.primitives import box_mesh
from zerohsi_core.scene.registry import default_registry_path, list_scenes, load_scene, resolve_data_path

SMALL = 0.05


def tiny_cloud(n: int = 5) -> GaussianCloud:
    g = torch.Generator().manual_seed(n)
    return GaussianCloud(
        torch.randn(n, 3, generator=g), torch.randn(n, 4, generator=g), torch.randn(n, 3, generator=g),
        torch.randn(n, generator=g), torch.randn(n, 1, 3, generator=g),
    )  # fmt: skip


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    (root / "room").mkdir(parents=True)
    write_gaussian_ply(root / "room" / "splat.ply", tiny_cloud(5))
    write_mesh(root / "room" / "mesh.ply", box_mesh((4.0, 4.0, 0.2)))
    write_gaussian_ply(root / "vase.ply", tiny_cloud(3))
    write_mesh(root / "vase.obj", box_mesh((0.2, 0.2, 0.4)))
    return root


def write_registry(path: Path, scenes: dict, **extra: object) -> Path:
    path.write_text(yaml.safe_dump({"scenes": scenes, **extra}))
    return path


def test_repo_registry_lists_and_loads() -> None:
    path = default_registry_path()
    assert path is not None and path.name == "scenes.yaml"
    ids = list_scenes()
    assert {"living_room", "garden", "living_room_lift", "garden_watering"} <= set(ids)
    scene = load_scene("garden_watering", density=SMALL)
    assert list(scene.objects) == ["watering_can"] and "bench_seat" in scene.affordances
    assert scene.objects["watering_can"].pose[:3, 3].tolist() == [0.8, -1.1, 0.0]


def test_procedural_scenes_need_no_registry(tmp_path: Path) -> None:
    empty = write_registry(tmp_path / "empty.yaml", {})
    assert list_scenes(empty) == ["garden", "living_room"]
    scene = load_scene("living_room", empty, density=SMALL)
    assert scene.id == "living_room" and set(scene.objects) == {"box", "guitar"}
    assert scene.human_start.xy == (0.3, -1.4)


def test_file_scene_with_objects_and_annotations(tmp_path: Path, data_root: Path) -> None:
    registry = write_registry(
        tmp_path / "scenes.yaml",
        {
            "scan": {
                "ply": "room/splat.ply",
                "mesh": "room/mesh.ply",
                "human_start": {"xy": [1.0, 2.0], "yaw": 0.5},
                "affordances": {"desk": {"center": [0.0, 1.0, 0.75], "size": [1.2, 0.6]}},
                "objects": {
                    "vase": {"ply": "vase.ply", "mesh": "vase.obj", "pose": [1, 0, 0, 0, 0, 1, 0]},
                    "crate": {"procedural": "box", "seed": 2},
                },
            }
        },
    )
    scene = load_scene("scan", registry, data_roots=[data_root], density=SMALL)
    assert torch.equal(scene.gaussians.means, tiny_cloud(5).means)
    assert scene.mesh.num_faces == 12
    assert scene.human_start.xy == (1.0, 2.0) and scene.human_start.yaw == 0.5
    assert scene.affordances["desk"].center == (0.0, 1.0, 0.75) and scene.affordances["desk"].height == 0.75
    vase = scene.objects["vase"]
    assert vase.id == "vase" and vase.gaussians.num == 3
    # Half a turn about z: x -> -x, then +1 in x.
    assert np.allclose(vase.world_mesh().bounds(), [[0.9, -0.1, -0.2], [1.1, 0.1, 0.2]])
    assert scene.objects["crate"].id == "crate" and scene.objects["crate"].gaussians.num > 100


def test_registry_data_roots_are_relative_to_the_file(tmp_path: Path, data_root: Path) -> None:
    registry = write_registry(
        tmp_path / "scenes.yaml",
        {"scan": {"ply": "room/splat.ply", "mesh": "room/mesh.ply"}},
        data_roots=["data"],
    )
    assert load_scene("scan", registry).gaussians.num == 5


def test_procedural_entry_overrides(tmp_path: Path) -> None:
    registry = write_registry(
        tmp_path / "scenes.yaml",
        {
            "bare": {"procedural": "garden", "density": SMALL, "objects": {}},
            "marked": {
                "procedural": "garden",
                "density": SMALL,
                "affordances": {"bench_seat": {"center": [2.0, 0.0, 0.46], "size": [0.4, 1.0]}},
            },
        },
    )
    assert dict(load_scene("bare", registry).objects) == {}
    marked = load_scene("marked", registry)
    assert marked.affordances["bench_seat"].size == (0.4, 1.0)
    assert "planter_soil" in marked.affordances and set(marked.objects) == {"watering_can", "chair"}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"procedural": "garden", "colour": "red"}, r"unknown keys \['colour'\]"),
        ({"procedural": "garden", "ply": "x.ply"}, "exactly one of"),
        ({"ply": "room/splat.ply"}, "needs a 'mesh' too"),
        ({"procedural": "kitchen"}, "unknown procedural scene 'kitchen'"),
        ({"procedural": "garden", "density": -1}, "density must be a positive"),
        ({"procedural": "garden", "seed": "lucky"}, "seed must be an integer, got 'lucky'"),
        (
            {"procedural": "garden", "objects": {"b": {"procedural": "box", "pose": [0, 0, 0]}}},
            "7 finite numbers",
        ),
        ({"procedural": "garden", "objects": {"b": {"procedural": "piano"}}}, "unknown procedural object"),
        ({"procedural": "garden", "affordances": {"a": {"center": [0, 0, 0]}}}, "needs 'center'"),
        (
            {"procedural": "garden", "affordances": {"a": {"center": [0, 0], "size": [1, 1]}}},
            "center must be 3",
        ),
        ({"procedural": "garden", "human_start": {"xy": [0, 0], "pitch": 1}}, r"unknown keys \['pitch'\]"),
    ],
)
def test_config_errors(tmp_path: Path, data_root: Path, entry: dict, message: str) -> None:
    registry = write_registry(tmp_path / "scenes.yaml", {"bad": {"density": SMALL, **entry}})
    with pytest.raises(ConfigError, match=message):
        load_scene("bad", registry, data_roots=[data_root])


def test_unknown_scene_and_bad_files(tmp_path: Path, data_root: Path) -> None:
    registry = write_registry(
        tmp_path / "scenes.yaml", {"gone": {"ply": "nothing.ply", "mesh": "room/mesh.ply"}}
    )
    with pytest.raises(InputError, match="unknown scene 'attic'.*available: .*'gone'"):
        load_scene("attic", registry, data_roots=[data_root])
    with pytest.raises(AssetError, match="nothing.ply does not exist"):
        load_scene("gone", registry, data_roots=[data_root])
    (tmp_path / "broken.yaml").write_text("scenes: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_scene("x", tmp_path / "broken.yaml")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must be a mapping with 'scenes'"):
        list_scenes(tmp_path / "list.yaml")


def test_resolve_inside_roots(tmp_path: Path, data_root: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "only_here.ply").write_text("x")
    roots = [data_root, other]
    assert resolve_data_path("room/splat.ply", roots) == (data_root / "room" / "splat.ply").resolve()
    assert resolve_data_path("only_here.ply", roots) == (other / "only_here.ply").resolve()
    assert resolve_data_path(str(data_root / "vase.ply"), roots) == (data_root / "vase.ply").resolve()
    assert resolve_data_path("room/../vase.ply", roots) == (data_root / "vase.ply").resolve()
    assert resolve_data_path("missing.ply", roots) == (data_root / "missing.ply").resolve()  # first root


def test_paths_escaping_the_roots_are_refused(tmp_path: Path, data_root: Path) -> None:
    with pytest.raises(
        InputError,
        match=r"'../../etc/passwd' resolves to /\S+/etc/passwd, outside the data roots \[.*data'\]",
    ):
        resolve_data_path("../../etc/passwd", [data_root])
    with pytest.raises(InputError, match="outside the data roots"):
        resolve_data_path("/etc/passwd", [data_root])
    secret = tmp_path / "secret.ply"
    secret.write_text("not yours")
    os.symlink(secret, data_root / "link.ply")
    with pytest.raises(InputError, match=r"'link.ply' resolves to .*secret.ply, outside the data roots"):
        resolve_data_path("link.ply", [data_root])
    os.symlink(tmp_path, data_root / "up")
    with pytest.raises(InputError, match="outside the data roots"):
        resolve_data_path("up/secret.ply", [data_root])
    with pytest.raises(InputError, match="no data roots are configured"):
        resolve_data_path("room/splat.ply", [])
    registry = write_registry(
        tmp_path / "scenes.yaml", {"evil": {"ply": "link.ply", "mesh": "room/mesh.ply"}}
    )
    with pytest.raises(InputError, match="outside the data roots"):
        load_scene("evil", registry, data_roots=[data_root])
