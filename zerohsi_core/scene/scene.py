"""A loaded scene: static Gaussians and mesh, movable objects, annotated affordances, human start."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from zerohsi_core.errors import InputError
from zerohsi_core.scene.gaussians import GaussianCloud
from zerohsi_core.scene.mesh import TriMesh
from zerohsi_core.scene.object import SceneObject


def _vector(values: object, length: int, name: str) -> tuple[float, ...]:
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if v.shape != (length,) or not np.isfinite(v).all():
        raise InputError(f"{name} must be {length} finite numbers, got {values!r}")
    return tuple(float(x) for x in v)


@dataclass(frozen=True)
class Surface:
    """A named flat rectangle to sit, stand or put things on (world frame, metres)."""

    name: str
    center: tuple[float, float, float]  # centre of the rectangle on the surface
    size: tuple[float, float]  # extent along u_axis and along normal x u_axis
    normal: tuple[float, float, float] = (0.0, 0.0, 1.0)  # unit, pointing away from the solid
    u_axis: tuple[float, float, float] = (1.0, 0.0, 0.0)  # unit, in the surface plane

    def __post_init__(self) -> None:
        for name, length in (("center", 3), ("size", 2), ("normal", 3), ("u_axis", 3)):
            object.__setattr__(
                self, name, _vector(getattr(self, name), length, f"surface {self.name!r} {name}")
            )
        n, u = np.asarray(self.normal), np.asarray(self.u_axis)
        if abs(np.linalg.norm(n) - 1.0) > 1e-6 or abs(np.linalg.norm(u) - 1.0) > 1e-6 or abs(n @ u) > 1e-6:
            raise InputError(f"surface {self.name!r}: normal and u_axis must be orthogonal unit vectors")

    @property
    def height(self) -> float:
        """Height of the centre above the floor (z = 0), metres."""
        return self.center[2]

    def corners(self) -> np.ndarray:
        """The four corners, counter-clockwise about the normal. [4, 3]"""
        c, n, u = np.asarray(self.center), np.asarray(self.normal), np.asarray(self.u_axis)
        v = np.cross(n, u)
        a, b = 0.5 * self.size[0], 0.5 * self.size[1]
        return np.stack([c - a * u - b * v, c + a * u - b * v, c + a * u + b * v, c - a * u + b * v])


@dataclass(frozen=True)
class HumanStart:
    """Where the human stands at the start: pelvis xy on the floor (z = 0) and heading yaw about +z."""

    xy: tuple[float, float]
    yaw: float  # radians; 0 faces +x

    def __post_init__(self) -> None:
        object.__setattr__(self, "xy", _vector(self.xy, 2, "human start xy"))
        object.__setattr__(self, "yaw", _vector([self.yaw], 1, "human start yaw")[0])


@dataclass(frozen=True, eq=False)
class Scene:
    """Static Gaussians and collision mesh, movable objects at their default poses, and annotations."""

    id: str
    gaussians: GaussianCloud  # world frame
    mesh: TriMesh  # world frame, union of closed parts
    objects: Mapping[str, SceneObject]
    affordances: Mapping[str, Surface]
    human_start: HumanStart

    def __post_init__(self) -> None:
        object.__setattr__(self, "objects", MappingProxyType(dict(self.objects)))
        object.__setattr__(self, "affordances", MappingProxyType(dict(self.affordances)))
