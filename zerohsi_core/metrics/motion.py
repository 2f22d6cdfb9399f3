"""One synthesised sequence as the metrics read it: from a SequenceResult, a ClipResult or a result
directory (io/results.py layout)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from zerohsi_core.body.joints import NUM_BODY_POSE_JOINTS, NUM_HAND_JOINTS
from zerohsi_core.body.params import SmplxParams
from zerohsi_core.config import Config, apply_overrides, flatten
from zerohsi_core.errors import AssetError, InputError
from zerohsi_core.geometry.camera import Camera
from zerohsi_core.io.results import read_result


@dataclass(frozen=True, eq=False)
class EvalMotion:
    """A sequence's refined SMPL-X motion, object poses, cameras and per-frame prompts (world, z-up, m)."""

    params: SmplxParams  # [T] refined, world frame
    joints: Tensor  # [T, 55, 3]
    object_id: str | None
    object_poses: Tensor | None  # [T, 4, 4] object-to-world
    cameras: list[Camera]  # [T] tracked cameras
    prompts: list[str]  # [T] prompt of each frame's clip
    fps: float
    scene_id: str = ""
    seed: int = 0
    source: str = ""  # result directory, if read from one

    @property
    def num_frames(self) -> int:
        """Number of frames T."""
        return int(self.joints.shape[0])

    @property
    def input_key(self) -> tuple[str, str, tuple[str, ...]]:
        """What identifies the input (scene, object, prompts): sequences sharing it differ only by seed."""
        return self.scene_id, self.object_id or "", tuple(dict.fromkeys(self.prompts))


def motion_from_clips(clips: list[Any], scene_id: str = "", seed: int = 0) -> EvalMotion:
    """An EvalMotion of ClipResults in order (a SequenceResult's clips, or one clip)."""
    if not clips:
        raise InputError("a sequence without clips has no motion to evaluate")
    poses = [c.object_poses for c in clips]
    return EvalMotion(
        params=SmplxParams.cat([c.params.detach().to("cpu") for c in clips]),
        joints=torch.cat([c.joints.detach().cpu() for c in clips]),
        object_id=clips[0].object_id,
        object_poses=None if any(p is None for p in poses) else torch.cat([p.detach().cpu() for p in poses]),
        cameras=[cam.to("cpu") for c in clips for cam in c.cameras],
        prompts=[c.prompt for c in clips for _ in range(len(c.joints))],
        fps=float(clips[0].fps),
        scene_id=scene_id,
        seed=seed,
    )


def as_motion(sequence_or_result: Any) -> EvalMotion:
    """An EvalMotion of an EvalMotion, a SequenceResult (has `.clips`) or a ClipResult (has `.params`)."""
    if isinstance(sequence_or_result, EvalMotion):
        return sequence_or_result
    if hasattr(sequence_or_result, "clips"):
        request = sequence_or_result.request
        return motion_from_clips(list(sequence_or_result.clips), sequence_or_result.scene_id, request.seed)
    if hasattr(sequence_or_result, "params") and hasattr(sequence_or_result, "cameras"):
        return motion_from_clips([sequence_or_result])
    raise InputError(
        f"cannot evaluate a {type(sequence_or_result).__name__}: "
        "give a SequenceResult, ClipResult or EvalMotion"
    )


def result_config(meta: dict[str, Any]) -> Config:
    """The config a result was made with (result.json `config`), on top of today's defaults."""
    return apply_overrides(Config(), flatten(meta.get("config", {})))


def _params(arrays: dict[str, np.ndarray], num_expression: int) -> SmplxParams:
    """Refined SMPL-X parameters [T] from AMASS-style arrays (expression is not stored: zeros)."""
    t = lambda key: torch.as_tensor(arrays[key], dtype=torch.float32)  # noqa: E731
    n = len(arrays["trans"])
    hands = t("pose_hand").reshape(n, 2, NUM_HAND_JOINTS, 3)
    eyes = t("pose_eye").reshape(n, 2, 3)
    return SmplxParams(
        betas=t("betas")[None].expand(n, -1).clone(),
        global_orient=t("root_orient"),
        transl=t("trans"),
        body_pose=t("pose_body").reshape(n, NUM_BODY_POSE_JOINTS, 3),
        left_hand_pose=hands[:, 0],
        right_hand_pose=hands[:, 1],
        jaw_pose=t("pose_jaw"),
        leye_pose=eyes[:, 0],
        reye_pose=eyes[:, 1],
        expression=torch.zeros(n, num_expression),
    ).validate()


def read_result_motion(path: str | Path) -> tuple[EvalMotion, Config]:
    """The motion of a result directory (io/results.py layout) and the config it was made with."""
    path = Path(path)
    try:
        meta, arrays = read_result(path)
    except FileNotFoundError as err:
        raise AssetError(f"{path} is not a result directory: result.json and motion.npz are needed") from err
    cfg = result_config(meta)
    clip_of_frame = arrays["clip"].tolist()
    prompts = [meta["clips"][i]["prompt"] for i in clip_of_frame]
    w2c = torch.as_tensor(arrays["camera_world_to_cam"], dtype=torch.float32)  # [T, 4, 4]
    K = torch.as_tensor(arrays["camera_K"], dtype=torch.float32)  # [T, 3, 3]
    size = (cfg.render.width, cfg.render.height)
    poses = arrays.get("object_poses")
    motion = EvalMotion(
        params=_params(arrays, cfg.body.num_expression),
        joints=torch.as_tensor(arrays["joints"], dtype=torch.float32),
        object_id=meta.get("object_id") or None,
        object_poses=None if poses is None else torch.as_tensor(poses, dtype=torch.float64),
        cameras=[Camera(K[i], w2c[i], *size) for i in range(len(K))],
        prompts=prompts,
        fps=float(meta["fps"]),
        scene_id=str(meta["scene_id"]),
        seed=int(meta.get("seed", 0)),
        source=str(path),
    )
    return motion, cfg
