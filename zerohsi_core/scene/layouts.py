"""Designs of the procedural demo scenes and movable objects (z-up, x forward, metres).

Scenes: `living_room` (tiled floor, three walls open towards -x, sofa, coffee table, chair, shelf, rug)
and `garden` (grass, brick wall, fence, bench, planter, tree). Objects rest on z = 0 in their own frame
with +x as their front: `box`, `chair`, `watering_can`, `guitar` (lying on its back, neck along +x).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from zerohsi_core.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from zerohsi_core.scene.parts import Layout, Part
from zerohsi_core.scene.scene import HumanStart, Surface
from zerohsi_core.scene.textures import Band, Brick, Fabric, Grass, Plain, Spot, Tiles, Wood

OAK = (0.62, 0.44, 0.27)
WALNUT = (0.36, 0.24, 0.15)
SPRUCE = (0.85, 0.68, 0.45)
EBONY = (0.12, 0.09, 0.07)
WALL = (0.86, 0.83, 0.76)
SOFA = (0.30, 0.40, 0.55)
SOFA_FRAME = (0.22, 0.30, 0.44)
RUG = (0.60, 0.22, 0.20)
BOOKS = ((0.7, 0.2, 0.2), (0.2, 0.45, 0.3), (0.2, 0.3, 0.6), (0.85, 0.7, 0.3), (0.4, 0.3, 0.5))
GRASS = (0.25, 0.50, 0.18)
DRY_GRASS = (0.55, 0.55, 0.25)
BRICK = (0.62, 0.28, 0.20)
MORTAR = (0.75, 0.73, 0.68)
TERRACOTTA = (0.72, 0.40, 0.25)
SOIL = (0.30, 0.21, 0.14)
LEAVES = (0.18, 0.42, 0.16)
CARDBOARD = (0.72, 0.56, 0.38)
TAPE = (0.83, 0.75, 0.55)
CAN_GREEN = (0.20, 0.52, 0.35)
STEEL = (0.55, 0.56, 0.58)

Vec3 = tuple[float, float, float]


def _rotation(axis_angle: Vec3) -> np.ndarray:
    return axis_angle_to_matrix(torch.tensor(axis_angle, dtype=torch.float64)).numpy()


def place(parts: list[Part], x: float, y: float, yaw: float) -> list[Part]:
    """Parts of a piece of furniture moved from its own frame to (x, y) on the floor, turned by yaw."""
    Rz = _rotation((0.0, 0.0, yaw))
    placed = []
    for part in parts:
        center = Rz @ np.asarray(part.center) + np.array([x, y, 0.0])
        rotation = matrix_to_axis_angle(torch.from_numpy(Rz @ _rotation(part.rotation))).tolist()
        placed.append(Part(part.kind, part.size, part.texture, tuple(center), tuple(rotation), part.faces))
    return placed


def _legs(
    x0: float, x1: float, y0: float, y1: float, height: float, width: float, texture: Wood
) -> list[Part]:
    """Four square legs inside the rectangle [x0, x1] x [y0, y1], from the floor to `height`."""
    h = 0.5 * width
    return [
        Part.box((x - h, y - h, 0.0), (x + h, y + h, height), texture, faces=("+x", "-x", "+y", "-y"))
        for x in (x0 + h, x1 - h)
        for y in (y0 + h, y1 - h)
    ]


def chair_parts() -> list[Part]:
    """A wooden chair facing +x: seat 0.44 m square at 0.46 m, four legs, backrest at -x."""
    wood = Wood(OAK, axis=0)
    return [
        Part.box((-0.22, -0.22, 0.42), (0.22, 0.22, 0.46), wood),
        *_legs(-0.22, 0.22, -0.22, 0.22, 0.42, 0.04, wood),
        Part.box((-0.22, -0.22, 0.46), (-0.19, 0.22, 0.90), Wood(OAK, axis=1)),
    ]


def living_room() -> Layout:
    """A 5 m x 5 m room, walls at +x, +y and -y, open towards -x where the default camera looks in."""
    wall, wood = Plain(WALL, noise=0.01), Wood(OAK, axis=0)
    sofa, sofa_frame = Fabric(SOFA), Fabric(SOFA_FRAME)
    parts = [
        Part.box(
            (-2.5, -2.5, -0.1),
            (2.5, 2.5, 0.0),
            Tiles((0.80, 0.76, 0.68), (0.55, 0.48, 0.40), (0.3,) * 3),
            ("+z",),
        ),
        Part.box((2.5, -2.5, 0.0), (2.6, 2.5, 2.6), wall, ("-x", "+z")),
        Part.box((-2.5, 2.5, 0.0), (2.6, 2.6, 2.6), wall, ("-y", "+z", "-x")),
        Part.box((-2.5, -2.6, 0.0), (2.6, -2.5, 2.6), wall, ("+y", "+z", "-x")),
        Part.box(
            (0.2, -0.9, 0.0), (1.5, 0.9, 0.006), Fabric(RUG, weave_per_m=60.0), ("+z", "+x", "-x", "+y", "-y")
        ),
        # Sofa against the back wall, facing -x: seat base, back, two arms.
        Part.box((1.6, -0.8, 0.0), (2.45, 0.8, 0.45), sofa, ("+x", "-x", "+y", "-y", "+z")),
        Part.box((2.2, -1.0, 0.0), (2.45, 1.0, 0.95), sofa_frame, ("+x", "-x", "+y", "-y", "+z")),
        Part.box((1.6, 0.8, 0.0), (2.45, 1.0, 0.62), sofa_frame, ("+x", "-x", "+y", "-y", "+z")),
        Part.box((1.6, -1.0, 0.0), (2.45, -0.8, 0.62), sofa_frame, ("+x", "-x", "+y", "-y", "+z")),
        # Coffee table.
        Part.box((0.6, -0.55, 0.38), (1.1, 0.55, 0.42), Wood(WALNUT, axis=1)),
        *[
            Part("cylinder", (0.04, 0.04, 0.38), Wood(WALNUT, axis=2), (x, y, 0.19), faces=("side",))
            for x in (0.65, 1.05)
            for y in (-0.5, 0.5)
        ],
        *place(chair_parts(), -0.3, 1.6, -0.5 * math.pi),
        *_shelf(wood),
    ]
    affordances = (
        Surface("sofa_seat", (1.9, 0.0, 0.45), (0.6, 1.6)),
        Surface("sofa_back", (2.325, 0.0, 0.95), (0.25, 2.0)),
        Surface("table_top", (0.85, 0.0, 0.42), (0.5, 1.1)),
        Surface("chair_seat", (-0.3, 1.585, 0.46), (0.44, 0.41)),  # in front of the backrest
        Surface("shelf_top", (0.9, -2.325, 1.8), (1.0, 0.35)),
    )
    objects = (
        ("box", (0.85, -1.4, 0.0, 0.0, 0.0, 0.0, 1.0)),
        ("guitar", (-0.6, -1.9, 0.0, 0.0, 0.0, 0.0, 1.0)),
    )
    return Layout(tuple(parts), affordances, HumanStart((0.3, -1.4), 0.0), objects)


def _shelf(wood: Wood) -> list[Part]:
    """A 1 m wide, 1.8 m tall bookshelf against the -y wall, with a few books."""
    x0, x1, y0, y1 = 0.4, 1.4, -2.5, -2.15
    parts = [
        Part.box((x0, y0, 0.0), (x0 + 0.03, y1, 1.8), wood),
        Part.box((x1 - 0.03, y0, 0.0), (x1, y1, 1.8), wood),
        Part.box((x0, y0, 0.0), (x1, y0 + 0.02, 1.8), wood, ("+y",)),
    ]
    for z in (0.0, 0.45, 0.9, 1.35, 1.77):
        parts.append(Part.box((x0 + 0.03, y0, z), (x1 - 0.03, y1, z + 0.03), wood))
    for shelf, z in enumerate((0.03, 0.48, 0.93)):
        for i in range(6):
            x = x0 + 0.06 + 0.12 * i + 0.03 * shelf
            color = BOOKS[(i + 2 * shelf) % len(BOOKS)]
            height = 0.22 + 0.03 * ((i + shelf) % 3)
            parts.append(Part.box((x, y0 + 0.04, z), (x + 0.05, y0 + 0.26, z + height), Plain(color, 0.03)))
    return parts


def garden() -> Layout:
    """A 6 m x 6 m lawn with a low brick wall at +x, a fence at -y, a bench, a planter and a tree."""
    fence = Wood(WALNUT, axis=2)
    parts = [
        Part.box((-3.0, -3.0, -0.1), (3.0, 3.0, 0.0), Grass(GRASS, DRY_GRASS), ("+z",)),
        Part.box(
            (2.6, -3.0, 0.0), (2.85, 3.0, 0.8), Brick(BRICK, MORTAR, axis=1), ("-x", "+x", "+z", "+y", "-y")
        ),
        *[Part.box((x - 0.04, -2.99, 0.0), (x + 0.04, -2.91, 1.0), fence) for x in np.arange(-2.9, 2.6, 1.0)],
        *[
            Part.box((-3.0, -2.97, z), (2.6, -2.93, z + 0.08), Wood(WALNUT, axis=0), ("+y", "-y", "+z", "-z"))
            for z in (0.35, 0.75)
        ],
        # Bench against the wall, facing -x.
        Part.box((1.85, -0.8, 0.42), (2.35, 0.8, 0.46), Wood(OAK, axis=1)),
        Part.box((2.33, -0.8, 0.5), (2.37, 0.8, 0.85), Wood(OAK, axis=1)),
        *_legs(1.85, 2.37, -0.8, 0.8, 0.42, 0.05, Wood(STEEL, contrast=0.02)),
        *[
            Part.box((2.32, y - 0.025, 0.42), (2.37, y + 0.025, 0.85), Wood(STEEL, contrast=0.02))
            for y in (-0.7, 0.7)
        ],
        # Planter: four terracotta walls around soil, two shrubs.
        Part.box((1.2, 1.6, 0.0), (1.24, 2.4, 0.5), Plain(TERRACOTTA, 0.03), ("-x", "+x", "+z")),
        Part.box((1.86, 1.6, 0.0), (1.9, 2.4, 0.5), Plain(TERRACOTTA, 0.03), ("-x", "+x", "+z")),
        Part.box((1.24, 1.6, 0.0), (1.86, 1.64, 0.5), Plain(TERRACOTTA, 0.03), ("-y", "+y", "+z")),
        Part.box((1.24, 2.36, 0.0), (1.86, 2.4, 0.5), Plain(TERRACOTTA, 0.03), ("-y", "+y", "+z")),
        Part.box((1.24, 1.64, 0.0), (1.86, 2.36, 0.45), Plain(SOIL, 0.04), ("+z",)),
        Part("cylinder", (0.25, 0.25, 0.35), Grass(LEAVES, GRASS, patch_m=0.3), (1.42, 1.85, 0.6)),
        Part("cylinder", (0.22, 0.22, 0.3), Grass(LEAVES, GRASS, patch_m=0.3), (1.68, 2.15, 0.58)),
        # Tree.
        Part("cylinder", (0.2, 0.2, 1.6), Wood(WALNUT, axis=2), (-2.0, 2.0, 0.8), faces=("side",)),
        Part("cylinder", (1.2, 1.2, 1.0), Grass(LEAVES, GRASS, patch_m=0.5), (-2.0, 2.0, 2.1)),
    ]
    affordances = (
        Surface("bench_seat", (2.085, 0.0, 0.46), (0.47, 1.6)),
        Surface("planter_soil", (1.55, 2.0, 0.45), (0.62, 0.72)),
        Surface("wall_top", (2.725, 0.0, 0.8), (0.25, 6.0)),
    )
    objects = (
        ("watering_can", (0.8, -1.1, 0.0, 0.0, 0.0, 0.0, 1.0)),
        ("chair", (-0.4, 0.3, 0.0, 0.0, 0.0, 0.0, 1.0)),
    )
    return Layout(tuple(parts), affordances, HumanStart((0.3, -0.8), 0.0), objects)


def box() -> Layout:
    """A taped cardboard box, 0.4 x 0.3 x 0.3 m."""
    texture = Band(Plain(CARDBOARD, 0.02), TAPE, axis=1, center=0.0, width=0.05)
    return Layout((Part.box((-0.2, -0.15, 0.0), (0.2, 0.15, 0.3), texture),))


def chair() -> Layout:
    """The wooden chair as a movable object (back at -x)."""
    return Layout(tuple(chair_parts()))


def watering_can() -> Layout:
    """A green watering can: body, tilted spout with a rose, and a top handle; spout towards +x."""
    can, steel = Plain(CAN_GREEN, 0.02), Plain(STEEL, 0.02)
    tilt = math.radians(55.0)
    direction = np.array([math.sin(tilt), 0.0, math.cos(tilt)])
    base = np.array([0.08, 0.0, 0.06])
    return Layout(
        (
            Part("cylinder", (0.22, 0.22, 0.26), can, (0.0, 0.0, 0.13)),
            Part("cylinder", (0.03, 0.03, 0.35), can, tuple(base + 0.175 * direction), (0.0, tilt, 0.0)),
            Part("cylinder", (0.06, 0.06, 0.03), steel, tuple(base + 0.36 * direction), (0.0, tilt, 0.0)),
            Part.box((-0.09, -0.015, 0.34), (0.05, 0.015, 0.37), can),
            Part.box((-0.09, -0.015, 0.25), (-0.06, 0.015, 0.34), can),
            Part.box((0.02, -0.015, 0.25), (0.05, 0.015, 0.34), can),
        )
    )


def guitar() -> Layout:
    """An acoustic guitar lying on its back: two-bout body with a sound hole, neck and headstock along +x."""
    top = Spot(Wood(SPRUCE, axis=0, contrast=0.08), EBONY, center=(0.2, 0.0, 0.1), radius=0.045)
    sides = Wood(WALNUT, axis=2)
    return Layout(
        (
            Part("cylinder", (0.36, 0.36, 0.1), sides, (0.0, 0.0, 0.05), faces=("side", "bottom")),
            Part("cylinder", (0.28, 0.28, 0.1), sides, (0.22, 0.0, 0.05), faces=("side", "bottom")),
            Part("cylinder", (0.36, 0.36, 0.002), top, (0.0, 0.0, 0.099), faces=("top",)),
            Part("cylinder", (0.28, 0.28, 0.002), top, (0.22, 0.0, 0.099), faces=("top",)),
            Part.box((-0.09, -0.08, 0.1), (-0.06, 0.08, 0.11), Plain(EBONY)),
            Part.box((0.35, -0.026, 0.06), (0.72, 0.026, 0.1), Wood(EBONY, axis=0, contrast=0.05)),
            Part.box((0.72, -0.045, 0.06), (0.88, 0.045, 0.085), Wood(WALNUT, axis=0)),
        )
    )


SCENES: dict[str, Callable[[], Layout]] = {"living_room": living_room, "garden": garden}
OBJECTS: dict[str, Callable[[], Layout]] = {
    "box": box,
    "chair": chair,
    "watering_can": watering_can,
    "guitar": guitar,
}
