"""What every export reads from a result directory: the motion (SMPL-X order, world frame) and the
body's rest shape (rest joints, mesh, skinning weights) for the result's betas.

Frames: the world is z-up, x forward, metres (REP-103); the body model is evaluated in its native y-up
frame, and `global_orient` carries the y-up → z-up turn (AMASS style, see body/pose.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from zerohsi_core.body.frames import Y_UP_TO_Z_UP
from zerohsi_core.body.joints import JOINT_NAMES, NUM_JOINTS, PARENTS
from zerohsi_core.body.model import BodyModelOptions, load_body_model
from zerohsi_core.errors import AssetError, InputError
from zerohsi_core.io.results import read_result

POSE_KEYS = ("root_orient", "pose_body", "pose_jaw", "pose_eye", "pose_hand")
"""motion.npz keys whose concatenation is the 55 SMPL-X joint rotations in skeleton order."""


@dataclass(frozen=True)
class ExportMotion:
    """A result's motion as plain arrays: per-joint axis-angle in SMPL-X joint order, world frame."""

    poses: np.ndarray  # [T, 55, 3] axis-angle (radians) as stored (without the model's pose_mean)
    trans: np.ndarray  # [T, 3] root translation r, metres
    betas: np.ndarray  # [nb]
    gender: str
    fps: float
    joints: np.ndarray  # [T, 55, 3] world joint positions, metres
    object_id: str | None
    object_poses: np.ndarray | None  # [T, 4, 4] object-to-world
    body_model: str  # "smplx" (licensed files) or "standin" (the procedural stand-in)
    body_options: BodyModelOptions

    @property
    def num_frames(self) -> int:
        return int(self.poses.shape[0])

    def require_frame_rate(self, fmt: str) -> None:
        """InputError unless the frame rate is positive (every animated format needs a frame time)."""
        if self.fps <= 0:
            raise InputError(f"the result's frame rate must be positive to write {fmt}, got {self.fps}")


@dataclass(frozen=True)
class BodyRest:
    """The body in its rest pose with the result's betas, in the native y-up model frame, metres."""

    joints: np.ndarray  # [55, 3] rest joint positions
    vertices: np.ndarray  # [V, 3] rest vertices (betas applied, zero expression)
    faces: np.ndarray  # [F, 3] int
    weights: np.ndarray  # [V, 55] skinning weights
    pose_mean: np.ndarray  # [55, 3] added to every pose by the model (non-zero without flat_hand_mean)
    parents: tuple[int, ...] = PARENTS
    names: tuple[str, ...] = JOINT_NAMES

    def offsets(self) -> np.ndarray:
        """Rest offset of each joint from its parent; the root's is its rest position. [55, 3]"""
        parent_pos = np.where(np.array(self.parents)[:, None] < 0, 0.0, self.joints[list(self.parents)])
        return self.joints - parent_pos


def _body_options(meta: dict[str, Any]) -> BodyModelOptions:
    body = meta.get("config", {}).get("body", {})
    return BodyModelOptions(
        model_path=body.get("model_path") or None,
        gender=body.get("gender", "neutral"),
        num_betas=int(body.get("num_betas", 10)),
        num_expression=int(body.get("num_expression", 10)),
    )


def load_motion(result_dir: str | Path) -> ExportMotion:
    """The motion of a result directory (see io/results.py); AssetError if it is not one."""
    path = Path(result_dir)
    if not (path / "result.json").is_file() or not (path / "motion.npz").is_file():
        raise AssetError(f"{path} is not a result directory (needs result.json and motion.npz)")
    meta, motion = read_result(path)
    missing = [k for k in (*POSE_KEYS, "trans", "betas", "joints") if k not in motion]
    if missing:
        raise AssetError(f"{path / 'motion.npz'} lacks {missing}; re-run `zerohsi generate`")
    frames = len(motion["trans"])
    poses = np.concatenate([motion[k].reshape(frames, -1) for k in POSE_KEYS], axis=1)
    options = _body_options(meta)
    return ExportMotion(
        poses=poses.reshape(frames, NUM_JOINTS, 3).astype(np.float64),
        trans=motion["trans"].astype(np.float64),
        betas=motion["betas"].astype(np.float64),
        gender=str(motion.get("gender", options.gender)),
        fps=float(motion.get("mocap_framerate", meta.get("fps", 0.0))),
        joints=motion["joints"].astype(np.float64),
        object_id=meta.get("object_id") or None,
        object_poses=motion["object_poses"].astype(np.float64) if "object_poses" in motion else None,
        body_model="smplx" if options.model_path else "standin",
        body_options=options,
    )


@torch.no_grad()
def body_rest(motion: ExportMotion) -> BodyRest:
    """Rest joints and mesh of the result's body model with its betas (loads the model named in the
    result's config)."""
    model = load_body_model(motion.body_options, dtype=torch.float64)
    params = model.zeros(1)
    params = params.replace(betas=torch.as_tensor(motion.betas, dtype=torch.float64)[None])
    shaped = model.forward(params).shaped_vertices  # [1, V, 3]
    joints = model.layer.J_regressor @ shaped[0]  # [55, 3]
    return BodyRest(
        joints=joints.numpy(),
        vertices=shaped[0].numpy(),
        faces=model.faces.cpu().numpy().astype(np.int64),
        weights=model.lbs_weights.cpu().numpy(),
        pose_mean=model.layer.pose_mean.reshape(NUM_JOINTS, 3).cpu().numpy(),
    )


def local_rotations(motion: ExportMotion, rest: BodyRest) -> np.ndarray:
    """Per-joint rotation matrices relative to the parent (root: model → world). [T, 55, 3, 3]"""
    full = motion.poses + rest.pose_mean[None]
    return Rotation.from_rotvec(full.reshape(-1, 3)).as_matrix().reshape(*full.shape[:2], 3, 3)


def upright_skeleton(motion: ExportMotion, rest: BodyRest) -> tuple[np.ndarray, np.ndarray]:
    """The z-up skeleton whose rest pose is the model's rest pose turned upright (Y_UP_TO_Z_UP), shared by
    the USD and glTF exports: joint-local rotations [T, 55, 4] as (x, y, z, w) and rest offsets [55, 3]."""
    B = np.array(Y_UP_TO_Z_UP)
    local = local_rotations(motion, rest)  # [T, 55, 3, 3]
    local = np.concatenate([local[:, :1] @ B.T, B @ local[:, 1:] @ B.T], axis=1)
    xyzw = Rotation.from_matrix(local.reshape(-1, 3, 3)).as_quat().reshape(motion.num_frames, -1, 4)
    return xyzw, rest.offsets() @ B.T


def root_positions(motion: ExportMotion, rest: BodyRest) -> np.ndarray:
    """World position of the pelvis: rest pelvis + translation (SMPL-X adds r unrotated). [T, 3]"""
    return rest.joints[0][None] + motion.trans


def forward_kinematics(
    rotations: np.ndarray, root: np.ndarray, offsets: np.ndarray, parents: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Global rotations [T, J, 3, 3] and positions [T, J, 3] from local rotations [T, J, 3, 3], root
    positions [T, 3] and offsets from the parents [J, 3] or [T, J, 3] (parents precede children)."""
    frames, count = rotations.shape[:2]
    offsets = np.broadcast_to(offsets, (frames, count, 3))
    glob = np.empty_like(rotations)
    pos = np.empty((frames, count, 3))
    for j, parent in enumerate(parents):
        if parent < 0:
            glob[:, j], pos[:, j] = rotations[:, j], root
        else:
            glob[:, j] = glob[:, parent] @ rotations[:, j]
            pos[:, j] = pos[:, parent] + np.einsum("tab,tb->ta", glob[:, parent], offsets[:, j])
    return glob, pos
