"""Meshing of the stand-in body: tubes and blobs with per-vertex skinning weights, mirroring, merging."""

from dataclasses import dataclass, replace

import numpy as np
from scipy.interpolate import PchipInterpolator

from zerohsi_core.body.joints import JOINT_INDEX, JOINT_NAMES, NUM_JOINTS
from zerohsi_core.body.standin_anatomy import BlobSpec, TubeSpec

_BLEND_GAP_FRACTION = 0.9  # a hand-over window reaches at most this fraction of the way to the next joint


@dataclass(frozen=True)
class PartMesh:
    """A closed surface with per-vertex attributes; vertex ids in `joint_rings` are local."""

    name: str
    vertices: np.ndarray  # [V, 3]
    faces: np.ndarray  # [F, 3] int64, counter-clockwise seen from outside
    weights: np.ndarray  # [V, 55] skinning weights, rows sum to 1
    ring_centers: np.ndarray  # [V, 3] centre of each vertex's cross-section
    joint_rings: dict[str, np.ndarray]  # joint name -> vertex ids whose centroid is that joint


def smoothstep(t: np.ndarray) -> np.ndarray:
    """C1 ramp from 0 (t <= 0) to 1 (t >= 1)."""
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _one_hot(joint: str) -> np.ndarray:
    w = np.zeros(NUM_JOINTS)
    w[JOINT_INDEX[joint]] = 1.0
    return w


def _ring_positions(s: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """Arc positions of the rings (every station gets one) and the ring index of each station."""
    positions, station_rings = [s[0]], [0]
    for k in range(len(s) - 1):
        n = max(1, int(np.ceil((s[k + 1] - s[k]) / spacing)))
        positions.extend(np.linspace(s[k], s[k + 1], n + 1)[1:])
        station_rings.append(len(positions) - 1)
    return np.asarray(positions), np.asarray(station_rings)


def _ring_weights(spec: TubeSpec, s_station: np.ndarray, s_ring: np.ndarray) -> np.ndarray:
    """Skinning weights [R, 55] along the tube: hand-over from joint to joint around each marker."""
    blends = [
        (s_station[k], st.marker.joint) for k, st in enumerate(spec.stations) if st.marker and st.marker.blend
    ]
    w = np.tile(_one_hot(spec.base_joint), (len(s_ring), 1))
    for i, (s_m, joint) in enumerate(blends):
        gaps = [abs(s_m - blends[j][0]) for j in (i - 1, i + 1) if 0 <= j < len(blends)]
        h = min([spec.blend_half_width] + [_BLEND_GAP_FRACTION * g for g in gaps])
        t = smoothstep((s_ring - (s_m - h)) / (2.0 * h)) if h > 0 else (s_ring >= s_m).astype(float)
        w = (1.0 - t)[:, None] * w + t[:, None] * _one_hot(joint)[None]
    return w


def _grid_faces(first: int, n_rings: int, n: int) -> list[np.ndarray]:
    k = np.arange(n)
    faces = []
    for r in range(n_rings - 1):
        a, b = first + r * n + k, first + r * n + (k + 1) % n
        c, d = a + n, b + n
        faces += [np.stack([a, b, d], 1), np.stack([a, d, c], 1)]
    return faces


def _fan(pole: int, ring_first: int, n: int, reverse: bool) -> np.ndarray:
    k = np.arange(n)
    a, b = ring_first + k, ring_first + (k + 1) % n
    p = np.full(n, pole)
    return np.stack([p, b, a], 1) if reverse else np.stack([p, a, b], 1)


def _oriented(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Faces wound so that the closed surface has positive signed volume (normals point out)."""
    v0, v1, v2 = (vertices[faces[:, i]] for i in range(3))
    volume = np.einsum("ij,ij->i", v0, np.cross(v1, v2)).sum() / 6.0
    return faces if volume > 0 else faces[:, ::-1].copy()


def build_tube(spec: TubeSpec) -> PartMesh:
    """Mesh one tube: rings through the stations (PCHIP-interpolated), rounded caps, skinning weights."""
    centers = np.array([st.center for st in spec.stations])  # [K, 3]
    axes = np.array([(st.a, st.b) for st in spec.stations])  # [K, 2]
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(centers, axis=0), axis=1))])
    s_ring, station_rings = _ring_positions(s, spec.spacing)
    center_fn, axes_fn = PchipInterpolator(s, centers), PchipInterpolator(s, axes)
    c = center_fn(s_ring)  # [R, 3]
    ab = axes_fn(s_ring)  # [R, 2]
    # every ring lies across the tube's overall direction: rings never tilt into each other
    axis = (centers[-1] - centers[0]) / np.linalg.norm(centers[-1] - centers[0])
    d = np.tile(axis, (len(s_ring), 1))
    ref = np.asarray(spec.ref_axis, dtype=float)
    u = ref[None] - (d @ ref)[:, None] * d
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    w = np.cross(d, u)
    weights_ring = _ring_weights(spec, s, s_ring)

    # rounded caps: extra rings beyond each end, shrinking like an ellipse quadrant, then a pole
    ring_c, ring_ab, ring_u, ring_w, ring_weights = [c], [ab], [u], [w], [weights_ring]
    poles, pole_w = [], []
    n_cap = max(2, int(round(spec.cap_length * max(ab[0].min(), ab[-1].min()) / spec.spacing)))
    for end, sign in ((0, -1.0), (-1, 1.0)):
        length = spec.cap_length * ab[end].min()
        phi = 0.5 * np.pi * np.arange(1, n_cap + 1) / (n_cap + 1)
        cap_c = c[end][None] + sign * d[end][None] * (length * np.sin(phi))[:, None]
        cap_ab = ab[end][None] * np.cos(phi)[:, None]
        if end == 0:
            cap_c, cap_ab = cap_c[::-1], cap_ab[::-1]
        tile = np.ones((n_cap, 1))
        block = (cap_c, cap_ab, tile * u[end], tile * w[end], tile * weights_ring[end])
        for lst, value in zip((ring_c, ring_ab, ring_u, ring_w, ring_weights), block, strict=True):
            lst.insert(0 if end == 0 else len(lst), value)
        poles.append(c[end] + sign * d[end] * length)
        pole_w.append(weights_ring[end])
    all_c, all_ab, all_u, all_w, all_weights = (
        np.concatenate(x) for x in (ring_c, ring_ab, ring_u, ring_w, ring_weights)
    )

    n = spec.n_around
    theta = 2.0 * np.pi * np.arange(n) / n
    ring_v = (
        all_c[:, None]
        + all_ab[:, :1, None] * np.cos(theta)[None, :, None] * all_u[:, None]
        + (all_ab[:, 1:, None] * np.sin(theta)[None, :, None] * all_w[:, None])
    )  # [R', n, 3]
    n_rings = len(all_c)
    vertices = np.concatenate([ring_v.reshape(-1, 3), np.stack(poles)])
    weights = np.concatenate([np.repeat(all_weights, n, axis=0), np.stack(pole_w)])
    ring_centers = np.concatenate([np.repeat(all_c, n, axis=0), np.stack(poles)])
    first_pole, last_pole = n_rings * n, n_rings * n + 1
    faces = _grid_faces(0, n_rings, n)
    faces += [_fan(first_pole, 0, n, reverse=True), _fan(last_pole, (n_rings - 1) * n, n, reverse=False)]
    faces = _oriented(vertices, np.concatenate(faces).astype(np.int64))

    joint_rings = {}
    for k, st in enumerate(spec.stations):
        if st.marker and st.marker.regress:
            ring = n_cap + station_rings[k]
            joint_rings[st.marker.joint] = np.arange(ring * n, (ring + 1) * n)
    return PartMesh(spec.name, vertices, faces, weights, ring_centers, joint_rings)


def build_blob(spec: BlobSpec, regress: bool) -> PartMesh:
    """Mesh a UV ellipsoid rigidly skinned to one joint; its vertex centroid is its centre."""
    lat = -0.5 * np.pi + np.pi * np.arange(1, spec.n_lat + 1) / (spec.n_lat + 1)
    lon = 2.0 * np.pi * np.arange(spec.n_lon) / spec.n_lon
    r = np.asarray(spec.radii)
    ring = np.stack(
        [np.cos(lat)[:, None] * np.cos(lon)[None], np.repeat(np.sin(lat)[:, None], spec.n_lon, 1),
         np.cos(lat)[:, None] * np.sin(lon)[None]], -1,
    ).reshape(-1, 3)  # fmt: skip
    unit = np.concatenate([ring, [[0.0, -1.0, 0.0], [0.0, 1.0, 0.0]]])
    center = np.asarray(spec.center)
    vertices = center + unit * r
    n_ring = spec.n_lat * spec.n_lon
    faces = _grid_faces(0, spec.n_lat, spec.n_lon)
    faces += [_fan(n_ring, 0, spec.n_lon, True), _fan(n_ring + 1, n_ring - spec.n_lon, spec.n_lon, False)]
    faces = _oriented(vertices, np.concatenate(faces).astype(np.int64))
    weights = np.tile(_one_hot(spec.joint), (len(vertices), 1))
    rings = {spec.joint: np.arange(len(vertices))} if regress else {}
    return PartMesh(spec.name, vertices, faces, weights, np.tile(center, (len(vertices), 1)), rings)


def _mirror_name(name: str) -> str:
    """left_x <-> right_x; other names unchanged."""
    if name.startswith("left_"):
        return "right_" + name[len("left_") :]
    if name.startswith("right_"):
        return "left_" + name[len("right_") :]
    return name


MIRROR_JOINTS = np.array([JOINT_INDEX[_mirror_name(n)] for n in JOINT_NAMES])
"""Joint permutation that swaps left and right."""


def mirror(part: PartMesh) -> PartMesh:
    """The mirror image of a left part (x -> -x), with left and right joints swapped."""
    flip = np.array([-1.0, 1.0, 1.0])
    return replace(
        part,
        name=_mirror_name(part.name),
        vertices=part.vertices * flip,
        faces=part.faces[:, ::-1].copy(),
        weights=part.weights[:, MIRROR_JOINTS],
        ring_centers=part.ring_centers * flip,
        joint_rings={_mirror_name(j): ids for j, ids in part.joint_rings.items()},
    )


@dataclass(frozen=True)
class MergedMesh:
    """All parts in one vertex array; `part_of_vertex` indexes `part_names`."""

    vertices: np.ndarray  # [V, 3]
    faces: np.ndarray  # [F, 3]
    weights: np.ndarray  # [V, 55]
    ring_centers: np.ndarray  # [V, 3]
    part_of_vertex: np.ndarray  # [V] int
    part_names: tuple[str, ...]
    joint_rings: dict[str, np.ndarray]  # global vertex ids


def merge(parts: list[PartMesh]) -> MergedMesh:
    """Concatenate parts into one mesh (they overlap where limbs enter the torso, like clothing seams)."""
    offsets = np.cumsum([0] + [len(p.vertices) for p in parts])
    rings = {}
    for p, off in zip(parts, offsets[:-1], strict=True):
        rings.update({j: ids + off for j, ids in p.joint_rings.items()})
    return MergedMesh(
        vertices=np.concatenate([p.vertices for p in parts]),
        faces=np.concatenate([p.faces + off for p, off in zip(parts, offsets[:-1], strict=True)]),
        weights=np.concatenate([p.weights for p in parts]),
        ring_centers=np.concatenate([p.ring_centers for p in parts]),
        part_of_vertex=np.concatenate([np.full(len(p.vertices), i) for i, p in enumerate(parts)]),
        part_names=tuple(p.name for p in parts),
        joint_rings=rings,
    )


def split_edges_to_count(mesh: MergedMesh, num_vertices: int) -> MergedMesh:
    """Split the longest edges at their midpoints until the mesh has exactly `num_vertices` vertices.

    New vertices average their endpoints' attributes; existing vertices and their ids are unchanged.
    """
    v, f = mesh.vertices, mesh.faces
    attrs = {"weights": mesh.weights, "ring_centers": mesh.ring_centers}
    part = mesh.part_of_vertex
    while len(v) < num_vertices:
        e = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
        edges, inverse = np.unique(e, axis=0, return_inverse=True)
        edge_faces = [[] for _ in range(len(edges))]
        for i, ei in enumerate(inverse.reshape(-1)):
            edge_faces[ei].append(i % len(f))
        order = np.argsort(-np.linalg.norm(v[edges[:, 0]] - v[edges[:, 1]], axis=1), kind="stable")
        used, chosen = np.zeros(len(f), bool), []
        for ei in order:
            if len(v) + len(chosen) >= num_vertices:
                break
            if not used[edge_faces[ei]].any():
                used[edge_faces[ei]] = True
                chosen.append(ei)
        new_faces, kept = [], ~used
        for k, ei in enumerate(chosen):
            a, b = edges[ei]
            m = len(v) + k
            for fi in edge_faces[ei]:
                p, q, r = np.roll(f[fi], -int(np.flatnonzero(~np.isin(f[fi], (a, b)))[0]) - 1)
                new_faces += [(p, m, r), (m, q, r)]
        pairs = edges[chosen]
        v = np.concatenate([v, v[pairs].mean(1)])
        attrs = {k: np.concatenate([x, x[pairs].mean(1)]) for k, x in attrs.items()}
        part = np.concatenate([part, part[pairs[:, 0]]])
        f = np.concatenate([f[kept], np.asarray(new_faces, dtype=np.int64).reshape(-1, 3)])
    return replace(mesh, vertices=v, faces=f, part_of_vertex=part, **attrs)
