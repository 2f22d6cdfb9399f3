"""Where a scripted human goes and touches: the open edge of a surface, an object's grip and push points."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zerohsi_core.errors import InputError
from zerohsi_core.scene.mesh import TriMesh
from zerohsi_core.scene.scene import Surface
from zerohsi_core.scene.sdf import MeshSDF, cast_rays

HORIZONTAL_COS = 0.9  # a surface whose normal is within ~25° of vertical counts as horizontal


@dataclass(frozen=True)
class SiteOptions:
    """Probing distances of surface edges and the search for places to hold an object."""

    edge_probe_out: float = 0.12  # probe points this far outside an edge...
    edge_probe_heights: tuple[float, ...] = (0.15, 0.3)  # ...and this high above the surface
    edge_blocked: float = 0.05  # an edge is blocked where geometry is closer than this to a probe
    edge_probe_spread: float = 0.35  # probes span ± this share of the edge's length...
    edge_probe_count: int = 5  # ...in this many places
    grip_top: float = 0.85  # grip heights tried from this share of the object's height...
    grip_bottom: float = 0.3  # ...down to this share
    grip_samples: int = 12
    grip_depths: tuple[float, ...] = (-0.25, 0.0, 0.25)  # offsets along the facing, share of the depth
    grip_span: tuple[float, float] = (0.12, 0.7)  # accepted distance between the two grip points
    push_top_margin: float = 0.05  # push hands this far below the object's top...
    push_height: float = 0.95  # ...and no higher than this above the floor
    push_half_spans: tuple[float, ...] = (0.14, 0.1, 0.18)  # hands either side of the centre line, tried
    push_samples: int = 16  # heights tried, from the top down
    push_lowest: float = 0.3  # lowest push height tried, share of the object's height
    push_face_tolerance: float = 0.05  # both palms on one face: hit distances differ at most by this
    ray_start: float = 1.5  # rays start this far outside the object


@dataclass(frozen=True)
class Edge:
    """One edge of a surface rectangle: midpoint, horizontal outward normal, direction and length."""

    mid: np.ndarray  # [3]
    outward: np.ndarray  # [2] unit, horizontal, away from the surface
    along: np.ndarray  # [2] unit, along the edge
    length: float
    depth: float  # extent of the surface perpendicular to this edge


def surface_edges(surface: Surface) -> list[Edge]:
    """The four edges of a horizontal surface rectangle."""
    n = np.asarray(surface.normal)
    if abs(n[2]) < HORIZONTAL_COS:
        raise InputError(
            f"surface {surface.name!r} is not horizontal (normal {surface.normal}); cannot stand at it"
        )
    c, u = np.asarray(surface.center), np.asarray(surface.u_axis)
    v = np.cross(n, u)
    a, b = surface.size
    edges = []
    for axis, half, other, length, depth in ((u, a / 2, v, b, a), (v, b / 2, u, a, b)):
        for sign in (1.0, -1.0):
            out = sign * axis[:2] / np.linalg.norm(axis[:2])
            along = other[:2] / np.linalg.norm(other[:2])
            edges.append(Edge(c + sign * half * axis, out, along, float(length), float(depth)))
    return edges


def over_surface(surface: Surface, points: np.ndarray, margin: float) -> np.ndarray:
    """Mask [N] of points [N, 3] whose projection lies inside the surface rectangle shrunk by `margin`."""
    c, n, u = np.asarray(surface.center), np.asarray(surface.normal), np.asarray(surface.u_axis)
    v = np.cross(n, u)
    offset = points - c
    a, b = 0.5 * surface.size[0] - margin, 0.5 * surface.size[1] - margin
    return (np.abs(offset @ u) <= a) & (np.abs(offset @ v) <= b)


def open_edges(surface: Surface, sdf: MeshSDF, options: SiteOptions) -> list[Edge]:
    """Edges with nothing (backrest, armrest, wall) just outside and above them."""
    free = []
    for edge in surface_edges(surface):
        spread = options.edge_probe_spread
        offsets = np.linspace(-spread, spread, options.edge_probe_count)[:, None] * edge.length
        probes = [
            np.concatenate(
                [edge.mid[:2] + edge.outward * options.edge_probe_out + o * edge.along, [edge.mid[2] + h]]
            )
            for o in offsets
            for h in options.edge_probe_heights
        ]
        if float(np.min(sdf(np.stack(probes)))) > options.edge_blocked:
            free.append(edge)
    return free


def front_edge(
    surface: Surface, sdf: MeshSDF, human_xy: np.ndarray, prefer_long: bool, options: SiteOptions
) -> Edge:
    """The open edge to approach from: the longest (seats, beds) or the nearest to the human (tables)."""
    edges = open_edges(surface, sdf, options) or surface_edges(surface)

    def distance(edge: Edge) -> float:
        return float(np.linalg.norm(edge.mid[:2] - human_xy))

    if prefer_long:
        return max(edges, key=lambda e: (round(e.length, 2), -distance(e)))
    return min(edges, key=distance)


@dataclass(frozen=True)
class Contacts:
    """Where the left and right palm touch an object (world frame) and the surface normals there."""

    points: np.ndarray  # [2, 3] left, right
    normals: np.ndarray  # [2, 3] outward unit normals of the object surface


def _horizontal_frame(facing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f = np.array([facing[0], facing[1], 0.0]) / np.linalg.norm(facing)
    return f, np.array([-f[1], f[0], 0.0])  # forward, left


def square_facings(pose: np.ndarray, direction: np.ndarray) -> list[np.ndarray]:
    """The horizontal axes (±x, ±y) of an object's pose [4, 4], the one closest to the approach `direction`
    [2] first: people square up to the object they handle."""
    axes = [pose[:2, 0], pose[:2, 1]]
    candidates = [a / np.linalg.norm(a) for a in axes if np.linalg.norm(a) > HORIZONTAL_COS]
    candidates += [-a for a in candidates]
    unit = direction / np.linalg.norm(direction)
    return sorted(candidates, key=lambda a: -float(a @ unit)) or [unit]


def grip_contacts(mesh: TriMesh, facing: np.ndarray, options: SiteOptions) -> Contacts:
    """Both palms on the object's left and right sides as seen by a human facing `facing` [2]: rays from
    either side towards the centre line, trying grip heights from high to low."""
    f, left = _horizontal_frame(facing)
    low, high = mesh.bounds()
    centre = 0.5 * (low + high)
    height = high[2] - low[2]
    near, far = extent_along(mesh, centre, f[:2])
    for share in np.linspace(options.grip_top, options.grip_bottom, options.grip_samples):
        for depth in options.grip_depths:
            mid = np.array([centre[0], centre[1], low[2] + share * height]) + depth * (far - near) * f
            origins = np.stack([mid + options.ray_start * left, mid - options.ray_start * left])
            dist, normals = cast_rays(mesh, origins, np.stack([-left, left]))
            if not np.isfinite(dist).all():
                continue
            points = origins + dist[:, None] * np.stack([-left, left])
            span = float(np.linalg.norm(points[0] - points[1]))
            if options.grip_span[0] <= span <= options.grip_span[1]:
                return Contacts(points, _outward(normals, np.stack([left, -left])))
    raise InputError("found no place to hold the object with both hands from this side")


def push_contacts(mesh: TriMesh, facing: np.ndarray, options: SiteOptions) -> Contacts:
    """Both palms on the object's near face (the side facing the human): the highest pair of rays, at
    pushing height or lower, that hit the same face at a comfortable hand span."""
    f, left = _horizontal_frame(facing)
    low, high = mesh.bounds()
    centre = 0.5 * (low + high)
    top = min(high[2] - options.push_top_margin, options.push_height)
    heights = np.linspace(top, low[2] + options.push_lowest * (high[2] - low[2]), options.push_samples)
    for z in heights:
        for half in options.push_half_spans:
            base = np.array([centre[0], centre[1], z]) - options.ray_start * f
            origins = np.stack([base + half * left, base - half * left])
            dist, normals = cast_rays(mesh, origins, np.stack([f, f]))
            if np.isfinite(dist).all() and abs(dist[0] - dist[1]) < options.push_face_tolerance:
                return Contacts(origins + dist[:, None] * f, _outward(normals, np.stack([-f, -f])))
    raise InputError("found no face of the object to push from this side")


def _outward(normals: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Mesh normals flipped to point to the expected side (ray casting reports face winding)."""
    sign = np.sign(np.sum(normals * expected, axis=1, keepdims=True))
    return normals * np.where(sign == 0, 1.0, sign)


def extent_along(mesh: TriMesh, centre: np.ndarray, direction: np.ndarray) -> tuple[float, float]:
    """(min, max) of the mesh vertices' offsets from centre [3] along a horizontal direction [2]."""
    d = np.array([direction[0], direction[1], 0.0]) / np.linalg.norm(direction)
    offsets = (mesh.vertices - centre) @ d
    return float(offsets.min()), float(offsets.max())
