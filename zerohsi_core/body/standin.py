"""The stand-in body model: a procedural humanoid written in the SMPL-X npz format.

`smplx.SMPLX` loads it unchanged (same keys, dtypes, shapes and vertex count as SMPL-X v1.1), so the
pipeline, tests and demo run without licensed weights. Its topology and blend shapes are procedural:
not SMPL-X, not for publication. Generated deterministically and cached under `cache_dir()`.
"""

import json
import os
from pathlib import Path

import numpy as np
import smplx.vertex_ids
from scipy.optimize import nnls

from zerohsi_core.body.joints import JOINT_INDEX, JOINT_NAMES, NUM_JOINTS, PARENTS
from zerohsi_core.body.standin_anatomy import BLOBS, JAW_REGRESSOR_RADIUS, JOINTS, TUBES
from zerohsi_core.body.standin_blendshapes import (
    NUM_SHAPE_DIRS,
    expression_dirs,
    hand_pca,
    landmarks,
    shape_dirs,
)
from zerohsi_core.body.standin_mesh import (
    MergedMesh,
    build_blob,
    build_tube,
    merge,
    mirror,
    smoothstep,
    split_edges_to_count,
)
from zerohsi_core.errors import AssetError
from zerohsi_core.paths import cache_dir

GENERATOR_VERSION = 2  # bump whenever the generated arrays change: cached files are then rebuilt
NUM_VERTICES = 10_475  # SMPL-X's count: smplx hard-codes keypoint vertex ids up to 9929
SHAPE_SPACE_DIM, EXPRESSION_SPACE_DIM = 300, 100  # SMPL-X v1.1 shapedirs layout (400 columns)
NUM_POSE_BASIS = (NUM_JOINTS - 1) * 9  # 486 pose-corrective directions (all zero here)
GENDERS = ("neutral", "male", "female")
GENDER_BETAS: dict[str, tuple[float, ...]] = {
    "neutral": (0.0,) * NUM_SHAPE_DIRS,
    "male": (0.6, 0.2, 0.0, 0.8, -0.3, -0.5, 0.1, 0.2, 0.3, 0.3),
    "female": (-0.8, -0.2, 0.0, -0.8, 0.0, 1.0, -0.1, -0.1, 0.0, -0.5),
}
SIDECAR = "standin.json"

# Skinning hand-overs between parts, as (start, end) ramps of smoothstep in metres.
COLLAR_X, COLLAR_Y = (0.06, 0.15), (0.0, 0.08)  # upper lateral torso follows the collar
HIP_X, HIP_DEPTH, HIP_SHARE = (0.02, 0.10), (0.37, 0.45), 0.6  # buttocks partly follow the thigh
JAW_Y_IN, JAW_Y_OUT, JAW_FRONT = (0.18, 0.21), (0.232, 0.25), (0.0, 0.04)  # chin follows the jaw

# Where smplx's hard-coded keypoint vertices should sit (left side and centre; right mirrored).
KEYPOINT_TARGETS: dict[str, tuple[float, float, float]] = {
    "nose": (0.0, 0.266, 0.125),
    "leye": (0.032, 0.30, 0.1),
    "lear": (0.095, 0.285, -0.005),
    "lthumb": (0.795, 0.058, 0.078),
    "lindex": (0.875, 0.072, 0.004),
    "lmiddle": (0.888, 0.072, -0.021),
    "lring": (0.875, 0.071, -0.041),
    "lpinky": (0.85, 0.07, -0.059),
    "LBigToe": (0.105, -1.283, 0.155),
    "LSmallToe": (0.15, -1.285, 0.125),
    "LHeel": (0.08, -1.29, -0.125),
}


def _mirror_point(p: tuple[float, float, float]) -> tuple[float, float, float]:
    return (-p[0], p[1], p[2])


def design_joints() -> np.ndarray:
    """The 55 rest joint positions [55, 3] the stand-in is built around (body-model frame)."""
    out = np.zeros((NUM_JOINTS, 3))
    for name, i in JOINT_INDEX.items():
        left = name.replace("right_", "left_")
        out[i] = _mirror_point(JOINTS[left]) if name.startswith("right_") else JOINTS[name]
    return out


def _transfer(w: np.ndarray, share: np.ndarray, joint: str) -> np.ndarray:
    target = np.zeros(NUM_JOINTS)
    target[JOINT_INDEX[joint]] = 1.0
    return (1.0 - share)[:, None] * w + share[:, None] * target[None]


def _ramp(x: np.ndarray, lo_hi: tuple[float, float]) -> np.ndarray:
    return smoothstep((x - lo_hi[0]) / (lo_hi[1] - lo_hi[0]))


def _skin_across_parts(mesh: MergedMesh) -> np.ndarray:
    """Weights [V, 55] after the hand-overs between parts: collars, buttocks, chin."""
    w = mesh.weights.copy()
    v, rel = mesh.vertices, mesh.vertices - mesh.ring_centers
    torso = mesh.part_of_vertex == mesh.part_names.index("torso")
    head = mesh.part_of_vertex == mesh.part_names.index("head")
    for side, sign in (("left", 1.0), ("right", -1.0)):
        lateral = np.maximum(sign * v[:, 0], 0.0)
        collar = torso * _ramp(lateral, COLLAR_X) * _ramp(v[:, 1], COLLAR_Y)
        w = _transfer(w, collar, f"{side}_collar")
        hip = torso * HIP_SHARE * _ramp(lateral, HIP_X) * _ramp(-v[:, 1], HIP_DEPTH)
        w = _transfer(w, hip, f"{side}_hip")
    chin = head * _ramp(v[:, 1], JAW_Y_IN) * (1.0 - _ramp(v[:, 1], JAW_Y_OUT)) * _ramp(rel[:, 2], JAW_FRONT)
    return _transfer(w, chin, "jaw")


def build_mesh() -> MergedMesh:
    """All parts (left ones mirrored to the right), merged, re-skinned across parts, exactly 10,475
    vertices."""
    parts = []
    for spec in TUBES:
        parts.append(build_tube(spec))
        if spec.name.startswith("left_"):
            parts.append(mirror(parts[-1]))
    for spec in BLOBS:
        parts.append(build_blob(spec, regress=spec.joint != "head"))
        parts.append(mirror(parts[-1]))
    mesh = merge(parts)
    if len(mesh.vertices) > NUM_VERTICES:
        raise AssertionError(f"stand-in parts have {len(mesh.vertices)} > {NUM_VERTICES} vertices")
    mesh = MergedMesh(**{**mesh.__dict__, "weights": _skin_across_parts(mesh)})
    return split_edges_to_count(mesh, NUM_VERTICES)


def joint_regressor(mesh: MergedMesh, joints: np.ndarray) -> np.ndarray:
    """J_regressor [55, V]: ring averages for joints on a tube axis or a blob centre; the jaw, inside the
    head, by a non-negative combination of nearby head vertices. Rows sum to 1; J_regressor @ v = joints."""
    reg = np.zeros((NUM_JOINTS, len(mesh.vertices)))
    for name, ids in mesh.joint_rings.items():
        reg[JOINT_INDEX[name], ids] = 1.0 / len(ids)
    jaw = JOINT_INDEX["jaw"]
    head = np.flatnonzero(mesh.part_of_vertex == mesh.part_names.index("head"))
    near = head[np.linalg.norm(mesh.vertices[head] - joints[jaw], axis=1) < JAW_REGRESSOR_RADIUS]
    a = np.concatenate([mesh.vertices[near].T, np.ones((1, len(near)))])
    reg[jaw, near], _ = nnls(a, np.concatenate([joints[jaw], [1.0]]))
    missing = [JOINT_NAMES[j] for j in range(NUM_JOINTS) if reg[j].sum() == 0.0]
    error = np.abs(reg @ mesh.vertices - joints).max()
    if missing or error > 1e-9:
        raise AssertionError(
            f"stand-in regressor: joints without vertices {missing}, max error {error:.2e} m"
        )
    return reg


def _keypoint_order(vertices: np.ndarray) -> np.ndarray:
    """Vertex order [V] (new id -> old id) that puts smplx's hard-coded keypoint ids at matching spots."""
    targets = dict(KEYPOINT_TARGETS)
    for name, p in KEYPOINT_TARGETS.items():
        if name[0] in "lL":
            targets[("r" if name[0] == "l" else "R") + name[1:]] = _mirror_point(p)
    ids = smplx.vertex_ids.vertex_ids["smplx"]
    order = np.full(len(vertices), -1)
    taken = np.zeros(len(vertices), bool)
    for name, p in targets.items():
        d = np.linalg.norm(vertices - np.array(p), axis=1)
        d[taken] = np.inf
        old = int(d.argmin())
        order[ids[name]], taken[old] = old, True
    order[order < 0] = np.flatnonzero(~taken)
    return order


def _padded(dirs: np.ndarray, width: int) -> np.ndarray:
    return np.concatenate([dirs, np.zeros((*dirs.shape[:2], width - dirs.shape[2]))], axis=2)


def generate_standin() -> dict[str, dict[str, np.ndarray]]:
    """The npz arrays of every gender, keyed by gender (the variants differ by fixed betas)."""
    mesh = build_mesh()
    joints = design_joints()
    reg = joint_regressor(mesh, joints)
    shape, expr = shape_dirs(mesh), expression_dirs(mesh)
    order = _keypoint_order(mesh.vertices)
    inverse = np.argsort(order)
    shapedirs = np.concatenate([_padded(shape, SHAPE_SPACE_DIM), _padded(expr, EXPRESSION_SPACE_DIM)], axis=2)
    kintree = np.stack([np.array(PARENTS), np.arange(NUM_JOINTS)]).astype(np.int64)
    (comp_l, mean_l), (comp_r, mean_r) = hand_pca("left"), hand_pca("right")
    common = {
        "f": inverse[mesh.faces].astype(np.int32),
        "J_regressor": reg[:, order],
        "weights": mesh.weights[order],
        "shapedirs": shapedirs[order].astype(np.float32),
        "posedirs": np.zeros((len(order), 3, NUM_POSE_BASIS), np.float32),
        "kintree_table": kintree,
        "hands_componentsl": comp_l,
        "hands_componentsr": comp_r,
        "hands_meanl": mean_l,
        "hands_meanr": mean_r,
        **landmarks(mesh),
    }
    template = mesh.vertices[order]
    return {g: {"v_template": template + shape[order] @ np.array(GENDER_BETAS[g]), **common} for g in GENDERS}


def _sidecar_ok(root: Path) -> bool:
    try:
        meta = json.loads((root / SIDECAR).read_text())
    except (OSError, ValueError):
        return False
    files_ok = all((root / f"SMPLX_{g.upper()}.npz").is_file() for g in GENDERS)
    return meta.get("generator_version") == GENERATOR_VERSION and files_ok


def write_standin(root: Path) -> None:
    """Generate and write SMPLX_{NEUTRAL,MALE,FEMALE}.npz (compressed) and the sidecar into `root`."""
    root.mkdir(parents=True, exist_ok=True)
    for gender, arrays in generate_standin().items():
        final = root / f"SMPLX_{gender.upper()}.npz"
        tmp = root / f".{final.stem}.{os.getpid()}.tmp.npz"
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, final)
    meta = {"generator_version": GENERATOR_VERSION, "num_vertices": NUM_VERTICES, "genders": list(GENDERS)}
    tmp = root / f".{SIDECAR}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(meta, indent=2))
    os.replace(tmp, root / SIDECAR)


def ensure_standin_model(root: Path | None = None) -> Path:
    """Directory holding the stand-in SMPLX_*.npz files (usable as smplx `model_path`), generated on
    first use or when the generator version changed. Default: `cache_dir()/body/standin`."""
    root = Path(root) if root is not None else cache_dir() / "body" / "standin"
    if not _sidecar_ok(root):
        try:
            write_standin(root)
        except OSError as exc:
            raise AssetError(
                f"cannot write the stand-in body model to {root}: {exc}; set ZEROHSI_CACHE"
            ) from exc
    return root
