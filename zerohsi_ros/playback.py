"""What the trajectory player replays: a motion (SMPL-X [T], joints [T, 55, 3]) and an optional object
trajectory, from the server's messages or from a result directory (zerohsi_core.io.results)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from zerohsi_core.body.joints import NUM_BODY_POSE_JOINTS, NUM_HAND_JOINTS
from zerohsi_core.body.params import SmplxParams
from zerohsi_core.io.results import read_result
from zerohsi_ros.conversions import object_poses, trajectory_to_core
from zerohsi_ros.msg import ObjectTrajectory, SmplxTrajectory


@dataclass(frozen=True, eq=False)
class Playback:
    """A motion to replay, in the scene frame `frame_id`."""

    params: SmplxParams  # [T]
    joints: Tensor  # [T, 55, 3] metres
    fps: float
    frame_id: str
    object_id: str = ""
    object_poses: Tensor | None = None  # [T, 4, 4] object-to-scene

    @property
    def num_frames(self) -> int:
        return int(self.joints.shape[0])

    def with_object(self, msg: ObjectTrajectory) -> Playback:
        """The same motion with an object trajectory (ignored unless it has one pose per frame)."""
        poses = object_poses(msg)
        if poses.shape[0] != self.num_frames:
            return self
        return Playback(self.params, self.joints, self.fps, self.frame_id, msg.object_id, poses)


def playback_from_message(msg: SmplxTrajectory) -> Playback:
    """A Playback of a SmplxTrajectory."""
    params, joints = trajectory_to_core(msg)
    return Playback(params, joints, float(msg.fps), msg.header.frame_id)


def playback_from_result_dir(path: str | Path, frame_id: str) -> Playback:
    """A Playback of a result directory written by zerohsi_core.io.results.write_result."""
    meta, arrays = read_result(path)

    def tensor(name: str, *shape: int) -> Tensor:
        return torch.as_tensor(np.asarray(arrays[name], dtype=np.float32)).reshape(-1, *shape)

    frames = tensor("trans", 3).shape[0]
    hands = tensor("pose_hand", 2 * NUM_HAND_JOINTS, 3)  # [T, 30, 3]
    eyes = tensor("pose_eye", 2, 3)  # [T, 2, 3]
    betas = tensor("betas", arrays["betas"].shape[-1]).expand(frames, -1)
    params = SmplxParams(
        betas=betas.contiguous(),
        global_orient=tensor("root_orient", 3),
        transl=tensor("trans", 3),
        body_pose=tensor("pose_body", NUM_BODY_POSE_JOINTS, 3),
        left_hand_pose=hands[:, :NUM_HAND_JOINTS],
        right_hand_pose=hands[:, NUM_HAND_JOINTS:],
        jaw_pose=tensor("pose_jaw", 3),
        leye_pose=eyes[:, 0],
        reye_pose=eyes[:, 1],
        expression=torch.zeros(frames, 0),
    )
    poses = tensor("object_poses", 4, 4) if "object_poses" in arrays else None
    return Playback(
        params, tensor("joints", 55, 3), float(meta["fps"]), frame_id, meta.get("object_id") or "", poses
    )
