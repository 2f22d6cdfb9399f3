"""Blend shapes and face/hand data of the stand-in body: shape and expression directions, hand PCA,
facial landmarks. Every direction is a fixed per-vertex displacement, so the model stays linear."""

import numpy as np

from zerohsi_core.body.joints import HEAD_JOINTS, arm_joints, foot_joints
from zerohsi_core.body.standin_anatomy import JOINTS, SOLE_Y
from zerohsi_core.body.standin_mesh import MergedMesh

NUM_SHAPE_DIRS = 10  # meaningful shape directions (the file pads to 300 like SMPL-X)
NUM_EXPRESSION_DIRS = 10  # meaningful expression directions (padded to 100)

# Shape direction gains per unit beta (metres, or metres per metre for scalings).
HEIGHT_GAIN = 0.035  # beta 0: uniform scale about the soles (about 6 cm of height per unit)
GIRTH_GAIN = 0.12  # beta 1: cross-sections grow by 12 % per unit
GIRTH_BY_PART = {"torso": 1.0, "head": 0.3, "leg": 1.0, "arm": 1.0, "foot": 0.3, "palm": 0.5}
LEG_LENGTH_GAIN = 0.03  # beta 2: legs stretch, everything above the hips rises
SHOULDER_GAIN = 0.02  # beta 3: arms and collars move outwards
BELLY_GAIN = 0.3  # beta 4: front of the waist pushed forward
BELLY_Y, BELLY_SIGMA = -0.17, 0.08
HIP_GAIN = 0.12  # beta 5: hips widen
HIP_Y, HIP_SIGMA = -0.43, 0.07
HEAD_GAIN = 0.06  # beta 6: head scales about the head joint
ARM_LENGTH_GAIN = 0.05  # beta 7: arms stretch beyond the shoulders
CHEST_GAIN = 0.15  # beta 8: chest depth
CHEST_Y, CHEST_SIGMA = 0.03, 0.07
FOOT_GAIN = 0.06  # beta 9: feet scale about the ankles

EXPRESSION_AMPLITUDE = 0.004  # metres per unit expression coefficient at a bump's centre
EXPRESSION_RADIUS = 0.02
# (centre, direction or "out" for along the surface normal); mirrored pairs are listed together
EXPRESSIONS: tuple[tuple[tuple[tuple[float, float, float], tuple[float, float, float] | str], ...], ...] = (
    (((0.0, 0.225, 0.085), (0.0, -1.0, 0.0)),),  # jaw drop
    (((0.024, 0.238, 0.08), (0.5, 0.8, -0.2)),),  # left mouth corner up
    (((-0.024, 0.238, 0.08), (-0.5, 0.8, -0.2)),),  # right mouth corner up
    (((0.03, 0.318, 0.09), (0.0, 1.0, 0.0)), ((-0.03, 0.318, 0.09), (0.0, 1.0, 0.0))),  # brows up
    (((0.0, 0.312, 0.095), (0.0, -0.5, 0.5)),),  # frown
    (((0.0, 0.238, 0.09), (0.0, 0.0, 1.0)),),  # pucker
    (((0.045, 0.255, 0.07), "out"), ((-0.045, 0.255, 0.07), "out")),  # cheeks puff
    (((0.0, 0.285, 0.1), (0.0, 1.0, 0.0)),),  # nose wrinkle
    (((0.025, 0.238, 0.08), (1.0, 0.0, 0.0)), ((-0.025, 0.238, 0.08), (-1.0, 0.0, 0.0))),  # mouth wide
    (((0.032, 0.29, 0.09), (0.0, 1.0, 0.0)), ((-0.032, 0.29, 0.09), (0.0, 1.0, 0.0))),  # squint
)

HAND_MEAN_CURL = 0.25  # radians of flexion per finger joint in the (non-flat) mean hand
HAND_PCA_SEED = 0  # completes the hand PCA basis after the curl, spread and thumb directions
NUM_LANDMARKS = 51
NUM_CONTOUR = 17
NUM_CONTOUR_BINS = 79  # yaw bins of SMPL-X's dynamic contour table
FRONT_NORMAL_MIN = 0.3  # a face counts as facing forward when its normal's z exceeds this


def _gauss(x: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    return np.exp(-0.5 * ((x - mu) / sigma) ** 2)


def _part_mask(mesh: MergedMesh, key: str) -> np.ndarray:
    names = np.array([key in n for n in mesh.part_names])
    return names[mesh.part_of_vertex].astype(float)


def shape_dirs(mesh: MergedMesh) -> np.ndarray:
    """Ten shape directions [V, 3, 10]: height, girth, leg length, shoulders, belly, hips, head, arm
    length, chest, feet."""
    v, w = mesh.vertices, mesh.weights
    rel = v - mesh.ring_centers
    x, y = v[:, 0], v[:, 1]
    torso = _part_mask(mesh, "torso")
    dirs = np.zeros((len(v), 3, NUM_SHAPE_DIRS))
    dirs[:, :, 0] = HEIGHT_GAIN * (v - np.array([0.0, SOLE_Y, 0.0]))
    girth = sum(g * _part_mask(mesh, k) for k, g in GIRTH_BY_PART.items())
    dirs[:, :, 1] = GIRTH_GAIN * np.minimum(girth, 1.0)[:, None] * rel
    hip_y = JOINTS["left_hip"][1]
    dirs[:, 1, 2] = LEG_LENGTH_GAIN * np.clip(y - SOLE_Y, 0.0, hip_y - SOLE_Y)
    arm_l, arm_r = (w[:, list(arm_joints(s))].sum(1) for s in ("left", "right"))
    dirs[:, 0, 3] = SHOULDER_GAIN * (arm_l - arm_r)
    dirs[:, 2, 4] = BELLY_GAIN * torso * np.maximum(rel[:, 2], 0.0) * _gauss(y, BELLY_Y, BELLY_SIGMA)
    dirs[:, 0, 5] = HIP_GAIN * (1.0 - arm_l - arm_r) * x * _gauss(y, HIP_Y, HIP_SIGMA)
    head_w = w[:, list(HEAD_JOINTS)].sum(1)
    dirs[:, :, 6] = HEAD_GAIN * head_w[:, None] * (v - np.array(JOINTS["head"]))
    x_shoulder = JOINTS["left_shoulder"][0]
    dirs[:, 0, 7] = ARM_LENGTH_GAIN * (
        arm_l * np.maximum(x - x_shoulder, 0) - arm_r * np.maximum(-x - x_shoulder, 0)
    )
    dirs[:, 2, 8] = CHEST_GAIN * torso * rel[:, 2] * _gauss(y, CHEST_Y, CHEST_SIGMA)
    for side, sign in (("left", 1.0), ("right", -1.0)):
        ankle = np.array(JOINTS["left_ankle"]) * np.array([sign, 1.0, 1.0])
        foot_w = w[:, list(foot_joints(side))].sum(1)
        dirs[:, :, 9] += FOOT_GAIN * foot_w[:, None] * (v - ankle)
    return dirs


def expression_dirs(mesh: MergedMesh) -> np.ndarray:
    """Ten expression directions [V, 3, 10]: local bumps on the face (jaw, mouth, brows, cheeks...)."""
    v = mesh.vertices
    head_w = mesh.weights[:, list(HEAD_JOINTS)].sum(1)
    out = v - mesh.ring_centers
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
    dirs = np.zeros((len(v), 3, NUM_EXPRESSION_DIRS))
    for k, bumps in enumerate(EXPRESSIONS):
        for center, direction in bumps:
            falloff = np.exp(-0.5 * (np.linalg.norm(v - np.array(center), axis=1) / EXPRESSION_RADIUS) ** 2)
            d = out if direction == "out" else np.array(direction) / np.linalg.norm(direction)
            dirs[:, :, k] += EXPRESSION_AMPLITUDE * (head_w * falloff)[:, None] * d
    return dirs


def _flex_axes(side: str) -> np.ndarray:
    """Per hand joint [15, 3] unit axis that curls the finger towards the palm (palm faces -y)."""
    sign = 1.0 if side == "left" else -1.0
    palm_normal = np.array([0.0, -1.0, 0.0])
    axes = []
    for finger in ("index", "middle", "pinky", "ring", "thumb"):
        for k in (1, 2, 3):
            a = np.array(JOINTS[f"left_{finger}{k}"])
            b = (
                np.array(JOINTS[f"left_{finger}{k + 1}"])
                if k < 3
                else 2 * a - np.array(JOINTS[f"left_{finger}{k - 1}"])
            )
            axis = np.cross(b - a, palm_normal)
            axis = axis / np.linalg.norm(axis)
            axes.append(axis if sign > 0 else axis * np.array([1.0, -1.0, -1.0]))
    return np.stack(axes)


def hand_pca(side: str) -> tuple[np.ndarray, np.ndarray]:
    """Hand PCA components [45, 45] (orthonormal rows: curl, spread, thumb, then a seeded completion)
    and the mean hand pose [45] (a relaxed curl) in SMPL-X's axis-angle layout."""
    curl = _flex_axes(side)  # [15, 3]
    spread = np.zeros((15, 3))
    spread[[0, 3, 6, 9], 1] = (1.0, 0.3, -1.0, -0.4)  # knuckle joints of index, middle, pinky, ring
    thumb = np.zeros((15, 3))
    thumb[12:15] = curl[12:15]
    rng = np.random.default_rng(HAND_PCA_SEED)
    basis = np.concatenate(
        [np.stack([curl.ravel(), spread.ravel(), thumb.ravel()]), rng.normal(size=(42, 45))]
    )
    q, r = np.linalg.qr(basis.T)
    components = (q * np.sign(np.diag(r))[None]).T  # [45, 45], row 0 = normalised curl
    return components, HAND_MEAN_CURL * curl.ravel()


def _landmark_points() -> np.ndarray:
    """51 face points (x, y) in the iBUG order without the contour: brows, nose, eyes, mouth."""
    brow_x = np.array([-0.055, -0.045, -0.033, -0.022, -0.01])
    brows = [
        (x, 0.316 + 0.004 * np.cos(np.pi * (x + 0.032) / 0.05))
        for x in np.concatenate([brow_x, -brow_x[::-1]])
    ]
    nose = [(0.0, y) for y in (0.31, 0.298, 0.286, 0.274)] + [
        (x, 0.262) for x in (-0.016, -0.008, 0.0, 0.008, 0.016)
    ]
    angles = np.deg2rad([180, 120, 60, 0, -60, -120])
    eyes = [(cx + 0.012 * np.cos(a), 0.30 + 0.005 * np.sin(a)) for cx in (-0.032, 0.032) for a in angles]
    outer = np.deg2rad(180 - 30 * np.arange(12))
    inner = np.deg2rad(180 - 45 * np.arange(8))
    mouth = [(0.024 * np.cos(a), 0.238 + 0.009 * np.sin(a)) for a in outer]
    mouth += [(0.014 * np.cos(a), 0.238 + 0.003 * np.sin(a)) for a in inner]
    return np.array(brows + nose + eyes + mouth)


def _front_faces(mesh: MergedMesh) -> tuple[np.ndarray, np.ndarray]:
    """Ids and centroids of the head-tube faces that look forward."""
    head = mesh.part_names.index("head")
    f = mesh.faces
    on_head = (mesh.part_of_vertex[f] == head).all(1)
    v0, v1, v2 = (mesh.vertices[f[:, i]] for i in range(3))
    n = np.cross(v1 - v0, v2 - v0)
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    ids = np.flatnonzero(on_head & (n[:, 2] > FRONT_NORMAL_MIN))
    return ids, (v0 + v1 + v2)[ids] / 3.0


def _nearest_faces(mesh: MergedMesh, points_xy: np.ndarray) -> np.ndarray:
    ids, centroids = _front_faces(mesh)
    d = np.linalg.norm(centroids[None, :, :2] - points_xy[:, None], axis=2)
    return ids[d.argmin(1)]


def landmarks(mesh: MergedMesh) -> dict[str, np.ndarray]:
    """SMPL-X landmark arrays: 51 static landmarks and the dynamic contour table (the same 17 jaw-line
    faces for every yaw bin), each at face centroids."""
    static = _nearest_faces(mesh, _landmark_points())
    t = np.linspace(0.0, np.pi, NUM_CONTOUR)
    contour = _nearest_faces(mesh, np.stack([-0.07 * np.cos(t), 0.28 - 0.07 * np.sin(t)], 1))
    third = np.full(3, 1.0 / 3.0)
    return {
        "lmk_faces_idx": static.astype(np.int64),
        "lmk_bary_coords": np.tile(third, (NUM_LANDMARKS, 1)),
        "dynamic_lmk_faces_idx": np.tile(contour.astype(np.int64), (NUM_CONTOUR_BINS, 1)),
        "dynamic_lmk_bary_coords": np.tile(third, (NUM_CONTOUR_BINS, NUM_CONTOUR, 1)),
    }
