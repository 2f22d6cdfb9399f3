"""Scene registry (`config/scenes.yaml`): scene ids -> procedural scenes or Gaussian PLY + mesh files.

Entry keys: `procedural` (a procedural scene name) with optional `seed`, `density`; or `ply` and `mesh`
(files). Either kind may add `objects` ({id: {procedural: NAME | ply: .., mesh: .., seed, pose:
[x, y, z, qx, qy, qz, qw]}}; for a procedural scene it replaces the default objects), `affordances`
({name: {center, size, normal, u_axis}}, merged over the generator's) and `human_start` ({xy, yaw}).
The procedural scenes are available under their own names even without a registry file. File paths
are resolved below the data roots (relative paths against each root in turn); nothing may escape them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from zerohsi_core.config import PathsConfig, package_config_dir
from zerohsi_core.errors import ConfigError, InputError
from zerohsi_core.scene.mesh import read_mesh
from zerohsi_core.scene.object import SceneObject, pose_from_xyz_quat
from zerohsi_core.scene.ply import read_gaussian_ply
from zerohsi_core.scene.procedural import build_object, build_scene, procedural_scene_names
from zerohsi_core.scene.scene import HumanStart, Scene, Surface

REGISTRY_FILE = "scenes.yaml"
_SCENE_KEYS = {"procedural", "seed", "density", "ply", "mesh", "objects", "affordances", "human_start"}
_OBJECT_KEYS = {"procedural", "seed", "ply", "mesh", "pose"}
_SURFACE_KEYS = {"center", "size", "normal", "u_axis"}
_IDENTITY_POSE = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)


def resolve_data_path(path: str | Path, data_roots: Sequence[str | Path]) -> Path:
    """Absolute, symlink-free path of a file that must lie below one of the data roots (InputError if not).

    Relative paths are tried against each root in order; the first existing one wins, else the first.
    """
    if not data_roots:
        raise InputError(f"cannot use {str(path)!r}: no data roots are configured (paths.data_roots)")
    try:
        roots = [Path(root).expanduser().resolve() for root in data_roots]
        given = Path(path).expanduser()
        candidates = [given] if given.is_absolute() else [root / given for root in roots]
        resolved = [candidate.resolve() for candidate in candidates]
    except (OSError, ValueError, RuntimeError) as exc:
        raise InputError(f"cannot resolve path {str(path)!r}: {exc}") from exc
    for candidate in resolved:
        if not any(candidate.is_relative_to(root) for root in roots):
            raise InputError(
                f"path {str(path)!r} resolves to {candidate}, outside the data roots "
                f"{[str(r) for r in roots]}; move the file below a data root or add one (paths.data_roots)"
            )
    return next((candidate for candidate in resolved if candidate.exists()), resolved[0])


def default_registry_path() -> Path | None:
    """`config/scenes.yaml` of the package, or None where the package has no config directory."""
    try:
        path = package_config_dir() / REGISTRY_FILE
    except ConfigError:
        return None
    return path if path.is_file() else None


def _read_registry(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read the scene registry {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"scene registry {path} is not valid YAML: {exc}") from exc
    unknown = set(data) - {"scenes", "data_roots"} if isinstance(data, dict) else None
    if unknown is None or unknown or not isinstance(data.get("scenes", {}), dict):
        raise ConfigError(
            f"scene registry {path} must be a mapping with 'scenes' (and optional 'data_roots')"
        )
    return data


def _mapping(entry: object, where: str) -> Mapping[str, Any]:
    if entry is None:
        return {}
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where} must be a mapping, got {entry!r}")
    return entry


def _keys(entry: object, allowed: set[str], where: str) -> Mapping[str, Any]:
    entry = _mapping(entry, where)
    unknown = set(entry) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")
    return entry


def _number(value: object, kind: type[int] | type[float], where: str) -> int | float:
    try:
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{where} must be {'an integer' if kind is int else 'a number'}, got {value!r}"
        ) from exc


def _surface(name: str, spec: object, where: str) -> Surface:
    spec = _keys(spec, _SURFACE_KEYS, f"{where} affordance {name!r}")
    if "center" not in spec or "size" not in spec:
        raise ConfigError(f"{where} affordance {name!r} needs 'center' [x, y, z] and 'size' [u, v]")
    try:
        return Surface(name, **spec)
    except (InputError, TypeError) as exc:
        raise ConfigError(f"{where} affordance {name!r}: {exc}") from exc


def _human_start(spec: object, where: str) -> HumanStart:
    spec = _keys(spec, {"xy", "yaw"}, f"{where} human_start")
    try:
        return HumanStart(spec.get("xy", (0.0, 0.0)), spec.get("yaw", 0.0))
    except InputError as exc:
        raise ConfigError(f"{where} human_start: {exc}") from exc


def load_object(
    object_id: str, spec: Mapping[str, Any], data_roots: Sequence[str | Path], density: float = 1.0
) -> SceneObject:
    """A movable object from {procedural: NAME, seed} or {ply, mesh}, placed at spec['pose'] (xyz + xyzw)."""
    where = f"object {object_id!r}"
    spec = _keys(spec, _OBJECT_KEYS, where)
    try:
        pose = pose_from_xyz_quat(spec.get("pose", _IDENTITY_POSE), f"{where} pose")
    except InputError as exc:
        raise ConfigError(str(exc)) from exc
    if ("procedural" in spec) == ("ply" in spec):
        raise ConfigError(f"{where} needs exactly one of 'procedural' (a name) or 'ply' (+ 'mesh')")
    if "procedural" in spec:
        try:
            obj = build_object(
                spec["procedural"], _number(spec.get("seed", 0), int, f"{where} seed"), density, pose
            )
        except InputError as exc:
            raise ConfigError(f"{where}: {exc}") from exc
        return SceneObject(object_id, obj.gaussians, obj.mesh, pose)
    if "mesh" not in spec:
        raise ConfigError(f"{where}: 'ply' needs a 'mesh' too (closed triangle mesh for contact/penetration)")
    gaussians = read_gaussian_ply(resolve_data_path(spec["ply"], data_roots))
    mesh = read_mesh(resolve_data_path(spec["mesh"], data_roots))
    return SceneObject(object_id, gaussians, mesh, pose)


def _data_roots(registry: Mapping[str, Any], path: Path | None) -> list[Path]:
    roots = registry.get("data_roots")
    if roots is None:
        return [Path(root).expanduser() for root in PathsConfig().data_roots]
    if not isinstance(roots, list):
        raise ConfigError(f"scene registry {path}: 'data_roots' must be a list of folders")
    base = path.parent if path is not None else Path.cwd()
    return [base / Path(root).expanduser() for root in roots]


def list_scenes(registry_path: str | Path | None = None) -> list[str]:
    """Scene ids: the procedural scenes plus those of the registry, sorted."""
    path = Path(registry_path) if registry_path is not None else default_registry_path()
    return sorted(set(procedural_scene_names()) | set(_read_registry(path).get("scenes", {})))


def load_scene(
    scene_id: str,
    registry_path: str | Path | None = None,
    data_roots: Sequence[str | Path] | None = None,
    density: float | None = None,
) -> Scene:
    """Load a scene by id; `density` (if given) overrides the density of procedural scenes and objects."""
    path = Path(registry_path) if registry_path is not None else default_registry_path()
    registry = _read_registry(path)
    roots = list(data_roots) if data_roots is not None else _data_roots(registry, path)
    entries = registry.get("scenes", {})
    if scene_id in entries:
        entry = _keys(entries[scene_id], _SCENE_KEYS, f"scene {scene_id!r} of {path}")
    elif scene_id in procedural_scene_names():
        entry = {"procedural": scene_id}
    else:
        raise InputError(f"unknown scene {scene_id!r}; available: {list_scenes(path)}")
    where = f"scene {scene_id!r}"
    scene_density = _number(
        density if density is not None else entry.get("density", 1.0), float, f"{where} density"
    )
    if not np.isfinite(scene_density) or scene_density <= 0:
        raise ConfigError(f"{where}: density must be a positive number, got {scene_density}")
    if ("procedural" in entry) == ("ply" in entry):
        raise ConfigError(f"{where} needs exactly one of 'procedural' (a name) or 'ply' (+ 'mesh')")
    if "procedural" in entry:
        try:
            seed = _number(entry.get("seed", 0), int, f"{where} seed")
            base = build_scene(entry["procedural"], seed, scene_density)
        except InputError as exc:
            raise ConfigError(f"{where}: {exc}") from exc
        gaussians, mesh = base.gaussians, base.mesh
        objects, affordances, start = dict(base.objects), dict(base.affordances), base.human_start
    else:
        if "mesh" not in entry:
            raise ConfigError(f"{where}: 'ply' needs a 'mesh' too (water-tight mesh for penetration metrics)")
        gaussians = read_gaussian_ply(resolve_data_path(entry["ply"], roots))
        mesh = read_mesh(resolve_data_path(entry["mesh"], roots))
        objects, affordances, start = {}, {}, HumanStart((0.0, 0.0), 0.0)
    if "objects" in entry:
        specs = _mapping(entry["objects"], f"{where} objects")
        objects = {oid: load_object(oid, spec, roots, scene_density) for oid, spec in specs.items()}
    for name, spec in _mapping(entry.get("affordances"), f"{where} affordances").items():
        affordances[name] = _surface(name, spec, where)
    if "human_start" in entry:
        start = _human_start(entry["human_start"], where)
    return Scene(scene_id, gaussians, mesh, objects, affordances, start)
