"""Procedural colour textures for demo scenes: rgb in [0, 1] as a function of 3D surface points.

Each texture is a frozen dataclass called as `texture(points [N,3], rng) -> rgb [N,3]`; the random
generator supplies per-point noise and per-part phases, so a scene's seed changes its look.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Rgb = tuple[float, float, float]


def _finish(rgb: np.ndarray, rng: np.random.Generator, noise: float) -> np.ndarray:
    """Add per-point colour noise and clip to [0, 1]."""
    return np.clip(rgb + noise * rng.standard_normal(rgb.shape), 0.0, 1.0)


@dataclass(frozen=True)
class Plain:
    """One colour with a little per-point noise (painted walls, metal, plastic)."""

    color: Rgb
    noise: float = 0.015

    def __call__(self, points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return _finish(np.broadcast_to(np.asarray(self.color), points.shape).copy(), rng, self.noise)


@dataclass(frozen=True)
class Wood:
    """Wavy grain stripes running along `axis` (0 x, 1 y, 2 z)."""

    color: Rgb
    axis: int = 0
    stripes_per_m: float = 25.0
    contrast: float = 0.18
    waviness: float = 1.5
    noise: float = 0.02

    def __call__(self, points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        direction = rng.standard_normal(2)
        across = np.delete(points, self.axis, axis=1) @ (direction / np.linalg.norm(direction))  # [N]
        along = points[:, self.axis]
        phase = rng.uniform(0.0, 2.0 * np.pi, size=2)
        warp = self.waviness * np.sin(2.0 * np.pi * along / 0.7 + phase[0])
        grain = np.sin(2.0 * np.pi * self.stripes_per_m * across + warp + phase[1])  # [N]
        shade = 1.0 + self.contrast * grain
        return _finish(np.asarray(self.color) * shade[:, None], rng, self.noise)


@dataclass(frozen=True)
class Tiles:
    """Checkered tiles on the xy plane with darker grout lines (floors, terraces)."""

    color_a: Rgb
    color_b: Rgb
    grout: Rgb
    tile_m: float = 0.5
    grout_m: float = 0.012
    noise: float = 0.02

    def __call__(self, points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        cell = np.floor(points[:, :2] / self.tile_m)
        parity = (cell.sum(axis=1) % 2 == 0)[:, None]
        rgb = np.where(parity, np.asarray(self.color_a), np.asarray(self.color_b))
        offset = points[:, :2] - cell * self.tile_m  # [N, 2] position inside the tile
        near_edge = (np.minimum(offset, self.tile_m - offset) < 0.5 * self.grout_m).any(axis=1)
        rgb = np.where(near_edge[:, None], np.asarray(self.grout), rgb)
        return _finish(rgb, rng, self.noise)


@dataclass(frozen=True)
class Fabric:
    """Woven upholstery: a fine two-way weave modulating the colour, plus fibre noise."""

    color: Rgb
    weave_per_m: float = 120.0
    contrast: float = 0.06
    noise: float = 0.03

    def __call__(self, points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        w = 2.0 * np.pi * self.weave_per_m
        weave = np.sin(w * (points[:, 0] + points[:, 2])) * np.sin(w * (points[:, 1] + points[:, 2]))
        return _finish(np.asarray(self.color) * (1.0 + self.contrast * weave)[:, None], rng, self.noise)


@dataclass(frozen=True)
class Grass:
    """Green ground with patchy low-frequency variation and strong blade-level noise."""

    color: Rgb
    dry: Rgb
    patch_m: float = 1.3
    noise: float = 0.06

    def __call__(self, points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        k = 2.0 * np.pi / self.patch_m
        dirs = rng.standard_normal((3, 2))
        phases = rng.uniform(0.0, 2.0 * np.pi, size=3)
        field = np.sin(k * points[:, :2] @ dirs.T + phases).mean(axis=1)  # [N] in [-1, 1]
        t = np.clip(0.5 + 0.5 * field, 0.0, 1.0)[:, None] ** 2
        rgb = (1.0 - t) * np.asarray(self.color) + t * np.asarray(self.dry)
        return _finish(rgb, rng, self.noise)


@dataclass(frozen=True)
class Brick:
    """Running-bond bricks with mortar joints; courses along z, bricks along `axis` (0 x, 1 y)."""

    color: Rgb
    mortar: Rgb
    axis: int = 1
    brick_m: tuple[float, float] = (0.24, 0.075)
    joint_m: float = 0.012
    noise: float = 0.04

    def __call__(self, points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        length, height = self.brick_m
        course = np.floor(points[:, 2] / height)
        along = points[:, self.axis] + 0.5 * length * (course % 2)
        du = along - np.floor(along / length) * length
        dz = points[:, 2] - course * height
        joint = (np.minimum(du, length - du) < 0.5 * self.joint_m) | (
            np.minimum(dz, height - dz) < 0.5 * self.joint_m
        )
        brick_id = np.floor(along / length) * 7919.0 + course
        tint = 1.0 + 0.08 * np.sin(brick_id * 12.9898 + rng.uniform(0.0, 2.0 * np.pi))
        rgb = np.where(joint[:, None], np.asarray(self.mortar), np.asarray(self.color) * tint[:, None])
        return _finish(rgb, rng, self.noise)


@dataclass(frozen=True)
class Band:
    """A base texture crossed by a band of another colour where |p[axis] - center| < width / 2 (tape)."""

    base: Plain
    color: Rgb
    axis: int = 1
    center: float = 0.0
    width: float = 0.05

    def __call__(self, points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        rgb = self.base(points, rng)
        inside = np.abs(points[:, self.axis] - self.center) < 0.5 * self.width
        return np.where(inside[:, None], np.asarray(self.color), rgb)


@dataclass(frozen=True)
class Spot:
    """A base texture with a disc of another colour around `center` (a guitar's sound hole)."""

    base: Wood | Plain
    color: Rgb
    center: tuple[float, float, float]
    radius: float

    def __call__(self, points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        rgb = self.base(points, rng)
        inside = np.linalg.norm(points - np.asarray(self.center), axis=1) < self.radius
        return np.where(inside[:, None], np.asarray(self.color), rgb)


Texture = Plain | Wood | Tiles | Fabric | Grass | Brick | Band | Spot
