"""Procedural demo scenes and objects: Gaussians sampled on textured primitives, plus their closed meshes.

Deterministic from (name, seed, density); cached as PLY under `cache_dir()/scenes/<id>-<hash>/` (objects
under `cache_dir()/scenes/objects/<id>-<hash>/`), the hash covering the generator version, the layout's
design, seed, density and options.
Scene meshes are unions of closed, possibly overlapping primitives: MeshSDF measures penetration
against that union (see sdf.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from zerohsi_core.errors import AssetError, InputError
from zerohsi_core.paths import cache_dir
from zerohsi_core.scene.gaussians import GaussianCloud
from zerohsi_core.scene.layouts import OBJECTS, SCENES
from zerohsi_core.scene.mesh import TriMesh, read_mesh, write_mesh
from zerohsi_core.scene.object import SceneObject, pose_from_xyz_quat
from zerohsi_core.scene.parts import Layout, SplatOptions, generate
from zerohsi_core.scene.ply import read_gaussian_ply, write_gaussian_ply
from zerohsi_core.scene.scene import Scene

log = logging.getLogger(__name__)

# Bump when sampling or texturing code changes (layout edits change the cache key by themselves).
GENERATOR_VERSION = 1


def _cache_key(kind: str, name: str, layout: Layout, seed: int, density: float, options: SplatOptions) -> str:
    """`<name>-<hash>` over the generator version, the layout's full design, seed, density and options."""
    params = {"version": GENERATOR_VERSION, "kind": kind, "layout": repr(layout), "seed": int(seed)}
    params |= {"density": float(density), "options": dataclasses.asdict(options)}
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
    return f"{name}-{digest}"


def _cached(
    folder: Path, build: Callable[[], tuple[GaussianCloud, TriMesh]]
) -> tuple[GaussianCloud, TriMesh]:
    """Read gaussians.ply + mesh.ply from folder, or build and write them there atomically."""
    if folder.is_dir():
        try:
            return read_gaussian_ply(folder / "gaussians.ply"), read_mesh(folder / "mesh.ply")
        except AssetError as exc:
            log.warning("regenerating the damaged cache %s: %s", folder, exc)
            shutil.rmtree(folder, ignore_errors=True)
    cloud, mesh = build()
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        write_gaussian_ply(tmp / "gaussians.ply", cloud)
        write_mesh(tmp / "mesh.ply", mesh)
        os.replace(tmp, folder)
    except OSError:
        if not folder.is_dir():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return cloud, mesh


def _check_density(density: float) -> None:
    if not np.isfinite(density) or density <= 0.0:
        raise InputError(f"density must be a positive number (1.0 ~ 150k Gaussians per scene), got {density}")


def procedural_scene_names() -> tuple[str, ...]:
    """Ids of the procedural scenes."""
    return tuple(SCENES)


def procedural_object_names() -> tuple[str, ...]:
    """Ids of the procedural movable objects."""
    return tuple(OBJECTS)


def _layout(kind: str, name: str) -> Layout:
    table = SCENES if kind == "scene" else OBJECTS
    if name not in table:
        raise InputError(f"unknown procedural {kind} {name!r}; available: {sorted(table)}")
    return table[name]()


def build_object(
    name: str,
    seed: int = 0,
    density: float = 1.0,
    pose: np.ndarray | torch.Tensor | None = None,
    use_cache: bool = True,
    options: SplatOptions | None = None,
) -> SceneObject:
    """A procedural movable object (box, chair, watering_can, guitar) in its frame, resting on z = 0."""
    options = options or SplatOptions()
    _check_density(density)
    layout = _layout("object", name)
    per_m2 = options.gaussians_per_m2 * options.object_density_factor * density

    def build() -> tuple[GaussianCloud, TriMesh]:
        return generate(layout, seed, per_m2, options)

    key = _cache_key("object", name, layout, seed, density, options)
    cloud, mesh = _cached(cache_dir() / "scenes" / "objects" / key, build) if use_cache else build()
    return SceneObject(name, cloud, mesh, np.eye(4) if pose is None else pose)


def build_scene(
    name: str,
    seed: int = 0,
    density: float = 1.0,
    use_cache: bool = True,
    options: SplatOptions | None = None,
) -> Scene:
    """A procedural scene (living_room, garden) with its affordances and default objects near the human."""
    options = options or SplatOptions()
    _check_density(density)
    layout = _layout("scene", name)

    def build() -> tuple[GaussianCloud, TriMesh]:
        return generate(layout, seed, options.gaussians_per_m2 * density, options)

    key = _cache_key("scene", name, layout, seed, density, options)
    cloud, mesh = _cached(cache_dir() / "scenes" / key, build) if use_cache else build()
    objects = {
        obj_id: build_object(obj_id, seed, density, pose_from_xyz_quat(pose), use_cache, options)
        for obj_id, pose in layout.objects
    }
    affordances = {surface.name: surface for surface in layout.affordances}
    return Scene(name, cloud, mesh, objects, affordances, layout.human_start)
