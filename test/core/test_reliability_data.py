"""Bad scene files for the reliability matrix (shared by test/core and test/ros): one registry entry per
kind of broken or escaping file, below a data root. Holds no tests itself."""

from __future__ import annotations

import math
from pathlib import Path

import torch
import yaml

from zerohsi_core.scene.gaussians import GaussianCloud
from zerohsi_core.scene.mesh import write_mesh
from zerohsi_core.scene.ply import write_gaussian_ply
from zerohsi_core.scene.primitives import box_mesh

BOX_POSE = (0.85, -1.4, 0.0, 0.0, 0.0, 0.0, 1.0)  # x y z qx qy qz qw, as in config/scenes.yaml
# scene id → (expected core exception name, words the message must contain)
BAD_SCENES: dict[str, tuple[str, str]] = {
    "ply_missing": ("AssetError", "does not exist"),
    "ply_not_a_file": ("AssetError", "not a regular file"),
    "ply_garbage": ("AssetError", "not a valid PLY"),
    "ply_truncated": ("AssetError", "truncated"),
    "ply_nan": ("AssetError", "NaN"),
    "ply_zero_scale": ("AssetError", "NaN/inf"),
    "ply_huge_scale": ("AssetError", "log-scales outside"),
    "ply_tiny_scale": ("AssetError", "log-scales outside"),
    "mesh_missing": ("AssetError", "does not exist"),
    "mesh_garbage": ("AssetError", "not a valid PLY"),
    "mesh_truncated": ("AssetError", "truncated"),
    "path_escape": ("InputError", "outside the data roots"),
    "symlink_escape": ("InputError", "outside the data roots"),
}


def cloud(n: int = 64, log_scale: float = -3.0) -> GaussianCloud:
    """A small valid Gaussian cloud (seeded)."""
    g = torch.Generator().manual_seed(n)
    return GaussianCloud(
        torch.rand(n, 3, generator=g) * 2.0,
        torch.randn(n, 4, generator=g),
        torch.full((n, 3), log_scale),
        torch.zeros(n),
        torch.rand(n, 1, 3, generator=g),
    )


def make_bad_data(base: Path) -> tuple[Path, Path]:
    """Write the files and a registry with one scene per BAD_SCENES entry; returns (data root, registry)."""
    root, outside = base / "data", base / "outside"
    root.mkdir(parents=True)
    outside.mkdir()
    write_gaussian_ply(root / "good.ply", cloud())
    write_mesh(root / "good_mesh.ply", box_mesh((4.0, 4.0, 0.2)))
    (root / "dir.ply").mkdir()
    (root / "garbage.ply").write_bytes(bytes(range(256)) * 8)
    good = (root / "good.ply").read_bytes()
    (root / "truncated.ply").write_bytes(good[: len(good) // 2])
    nan = cloud()
    nan.means[3, 1] = math.nan
    write_gaussian_ply(root / "nan.ply", nan)
    write_gaussian_ply(root / "zero_scale.ply", cloud(log_scale=-math.inf))  # scale 0 stored as log 0
    write_gaussian_ply(root / "huge_scale.ply", cloud(log_scale=50.0))
    write_gaussian_ply(root / "tiny_scale.ply", cloud(log_scale=-60.0))
    mesh = (root / "good_mesh.ply").read_bytes()
    (root / "truncated_mesh.ply").write_bytes(mesh[: len(mesh) // 2])
    write_gaussian_ply(outside / "secret.ply", cloud())
    (root / "link.ply").symlink_to(outside / "secret.ply")
    files = {
        "ply_missing": ("missing.ply", "good_mesh.ply"),
        "ply_not_a_file": ("dir.ply", "good_mesh.ply"),
        "ply_garbage": ("garbage.ply", "good_mesh.ply"),
        "ply_truncated": ("truncated.ply", "good_mesh.ply"),
        "ply_nan": ("nan.ply", "good_mesh.ply"),
        "ply_zero_scale": ("zero_scale.ply", "good_mesh.ply"),
        "ply_huge_scale": ("huge_scale.ply", "good_mesh.ply"),
        "ply_tiny_scale": ("tiny_scale.ply", "good_mesh.ply"),
        "mesh_missing": ("good.ply", "missing_mesh.ply"),
        "mesh_garbage": ("good.ply", "garbage.ply"),
        "mesh_truncated": ("good.ply", "truncated_mesh.ply"),
        "path_escape": ("../../etc/passwd", "good_mesh.ply"),
        "symlink_escape": ("link.ply", "good_mesh.ply"),
    }
    scenes = {sid: {"ply": ply, "mesh": mesh_file} for sid, (ply, mesh_file) in files.items()}
    box = {"procedural": "box", "pose": list(BOX_POSE)}
    scenes["living_room_lift"] = {"procedural": "living_room", "seed": 0, "objects": {"box": box}}
    registry = base / "scenes.yaml"
    registry.write_text(yaml.safe_dump({"scenes": scenes}))
    return root, registry
