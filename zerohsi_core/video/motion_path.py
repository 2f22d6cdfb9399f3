"""Walking paths around furniture: a floor grid of clearances from the scene mesh and shortest paths on it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import distance_transform_edt
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from zerohsi_core.scene.mesh import TriMesh
from zerohsi_core.scene.sdf import MeshSDF

NEIGHBOURS = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1))


@dataclass(frozen=True)
class PathOptions:
    """Grid resolution, what counts as an obstacle, and how much room the walker wants."""

    cell: float = 0.1  # metres per grid cell
    slice_heights: tuple[float, ...] = (0.2, 0.4, 0.7, 1.0, 1.4)  # obstacles: geometry at these heights
    body_radius: float = 0.2  # cells closer than this to an obstacle cost `blocked_cost` per metre
    comfort: float = 0.45  # cells closer than this cost extra, growing towards body_radius
    near_cost: float = 4.0  # extra cost per metre just outside body_radius, easing to 0 at comfort
    blocked_cost: float = 50.0
    shortcut_samples_per_m: float = 20.0
    smoothing_passes: int = 2  # corner cutting (Chaikin) of the shortened path


@dataclass(frozen=True)
class WalkMap:
    """Floor clearance (distance to the nearest obstacle above the floor) on a regular grid."""

    origin: np.ndarray  # [2] world xy of cell (0, 0)'s centre
    cell: float
    clearance: np.ndarray  # [nx, ny] metres

    def index(self, xy: np.ndarray) -> np.ndarray:
        """Grid indices [..., 2] of world points [..., 2], clamped to the grid."""
        ij = np.rint((np.asarray(xy) - self.origin) / self.cell).astype(np.int64)
        return np.clip(ij, 0, np.array(self.clearance.shape) - 1)

    def clearance_at(self, xy: np.ndarray) -> np.ndarray:
        """Clearance [...] at world points [..., 2] (nearest cell)."""
        ij = self.index(xy)
        return self.clearance[ij[..., 0], ij[..., 1]]

    def centre(self, ij: np.ndarray) -> np.ndarray:
        """World xy [..., 2] of cell indices [..., 2]."""
        return self.origin + np.asarray(ij) * self.cell


def walk_map(mesh: TriMesh, options: PathOptions | None = None, sdf: MeshSDF | None = None) -> WalkMap:
    """Clearance grid over the mesh's footprint: a cell is blocked where geometry comes within half a cell
    diagonal of any slice height above it; the floor itself (below the lowest slice) is not an obstacle."""
    options = options or PathOptions()
    sdf = sdf or MeshSDF(mesh)
    low, high = mesh.bounds()[:, :2]
    nx, ny = (np.ceil((high - low) / options.cell).astype(int) + 1).tolist()
    xs, ys = low[0] + options.cell * np.arange(nx), low[1] + options.cell * np.arange(ny)
    grid = np.stack(np.meshgrid(xs, ys, indexing="ij"), axis=-1)  # [nx, ny, 2]
    heights = np.asarray(options.slice_heights)
    points = np.concatenate(
        [
            np.repeat(grid[..., None, :], len(heights), axis=2),
            np.broadcast_to(heights, (nx, ny, len(heights)))[..., None],
        ],
        axis=-1,
    ).reshape(-1, 3)
    distance = np.asarray(sdf(points)).reshape(nx, ny, len(heights))
    blocked = (distance < options.cell * np.sqrt(0.5)).any(axis=2)
    blocked[[0, -1], :] = blocked[:, [0, -1]] = True  # the grid's rim: nothing is known beyond it
    clearance = distance_transform_edt(~blocked) * options.cell
    return WalkMap(low.astype(np.float64), options.cell, clearance)


def _cell_cost(clearance: np.ndarray, options: PathOptions) -> np.ndarray:
    """Cost per metre of walking through each cell: 1 in the open, more near obstacles."""
    tight = np.clip((options.comfort - clearance) / (options.comfort - options.body_radius), 0.0, 1.0)
    cost = 1.0 + options.near_cost * tight**2
    return np.where(clearance < options.body_radius, options.blocked_cost, cost)


def plan_path(
    walk: WalkMap, start: np.ndarray, goal: np.ndarray, options: PathOptions | None = None
) -> np.ndarray:
    """A short, smooth walking path [K, 2] from start [2] to goal [2] that keeps away from obstacles
    (start and goal are kept exactly, even when they lie close to furniture)."""
    options = options or PathOptions()
    start, goal = np.asarray(start, dtype=np.float64), np.asarray(goal, dtype=np.float64)
    if np.linalg.norm(goal - start) < walk.cell:
        return np.stack([start, goal])
    nx, ny = walk.clearance.shape
    cost = _cell_cost(walk.clearance, options).ravel()
    ids = np.arange(nx * ny).reshape(nx, ny)
    rows, cols, weights = [], [], []
    for di, dj in NEIGHBOURS:
        a = ids[max(0, -di) : nx - max(0, di), max(0, -dj) : ny - max(0, dj)].ravel()
        b = ids[max(0, di) : nx + min(0, di), max(0, dj) : ny + min(0, dj)].ravel()
        rows.append(a), cols.append(b)
        weights.append(0.5 * (cost[a] + cost[b]) * walk.cell * np.hypot(di, dj))
    graph = coo_matrix(
        (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))), shape=(nx * ny,) * 2
    )
    s_ij, g_ij = walk.index(start), walk.index(goal)
    source, target = int(ids[s_ij[0], s_ij[1]]), int(ids[g_ij[0], g_ij[1]])
    _, predecessors = dijkstra(graph.tocsr(), indices=source, return_predecessors=True)
    chain = [target]
    while chain[-1] != source and predecessors[chain[-1]] >= 0:
        chain.append(int(predecessors[chain[-1]]))
    cells = np.stack(np.unravel_index(np.asarray(chain[::-1]), (nx, ny)), axis=1)
    points = np.concatenate([start[None], walk.centre(cells)[1:-1], goal[None]])
    return _smooth(_shortcut(walk, points, options), options)


def _segment_clear(walk: WalkMap, a: np.ndarray, b: np.ndarray, need: float, options: PathOptions) -> bool:
    n = max(2, int(np.linalg.norm(b - a) * options.shortcut_samples_per_m))
    samples = a + np.linspace(0.0, 1.0, n)[:, None] * (b - a)
    return bool((walk.clearance_at(samples) >= need - 1e-9).all())


def _shortcut(walk: WalkMap, points: np.ndarray, options: PathOptions) -> np.ndarray:
    """Greedy string pulling: skip waypoints while the straight line keeps the clearance the grid path had."""
    clearance = np.minimum(walk.clearance_at(points), options.comfort)
    kept, i = [points[0]], 0
    while i < len(points) - 1:
        j = len(points) - 1
        while j > i + 1:
            need = min(clearance[i : j + 1].min(), options.comfort)
            if _segment_clear(walk, points[i], points[j], need, options):
                break
            j -= 1
        kept.append(points[j])
        i = j
    return np.stack(kept)


def _smooth(path: np.ndarray, options: PathOptions) -> np.ndarray:
    """Chaikin corner cutting that keeps both end points."""
    for _ in range(options.smoothing_passes if len(path) > 2 else 0):
        q = 0.75 * path[:-1] + 0.25 * path[1:]
        r = 0.25 * path[:-1] + 0.75 * path[1:]
        inner = np.stack([q, r], axis=1).reshape(-1, 2)[1:-1]
        path = np.concatenate([path[:1], inner, path[-1:]])
    return path


def free_distance(walk: WalkMap, xy: np.ndarray, direction: np.ndarray, limit: float, need: float) -> float:
    """How far (≤ limit) a point can move from xy [2] along direction [2] keeping `need` clearance."""
    steps = np.arange(0.0, limit + 1e-9, 0.5 * walk.cell)
    points = np.asarray(xy)[None] + steps[:, None] * (direction / np.linalg.norm(direction))[None]
    blocked = np.flatnonzero(walk.clearance_at(points) < need)
    if len(blocked) == 0:
        return float(limit)
    return float(max(steps[blocked[0]] - 0.5 * walk.cell, 0.0))
