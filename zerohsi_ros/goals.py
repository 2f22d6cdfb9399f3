"""GenerateInteraction goals → core requests, and core results → action results (no ROS node needed)."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

import torch
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import KeyValue
from geometry_msgs.msg import Pose
from std_msgs.msg import Header

from zerohsi_core.body.params import SmplxParams
from zerohsi_core.config import Config
from zerohsi_core.errors import InputError, ZeroHSIError
from zerohsi_core.io.results import write_result
from zerohsi_core.pipeline import InteractionRequest, SequenceResult
from zerohsi_core.scene.registry import list_scenes, resolve_data_path
from zerohsi_ros.action import GenerateInteraction
from zerohsi_ros.conversions import (
    joint_trajectory,
    object_trajectory,
    pose_to_matrix,
    smplx_trajectory,
    states_to_params,
)
from zerohsi_ros.msg import ObjectTrajectory


class NotFound(ZeroHSIError):
    """A goal names a scene or file that does not exist."""


class Busy(ZeroHSIError):
    """A goal arrived while the queue of waiting goals was full."""


def interaction_request(goal: GenerateInteraction.Goal, cfg: Config, frame_id: str) -> InteractionRequest:
    """The core request of a goal; InputError (invalid) or NotFound (unknown scene/file) naming the field."""
    prompts = [p.strip() for p in goal.prompts]
    if not prompts or not all(prompts):
        raise InputError("the goal needs one or more non-empty prompts (e.g. prompts: ['sit on the sofa'])")
    return InteractionRequest(
        prompts=prompts,
        scene_id=_scene_id(goal, cfg),
        object_id=goal.object_id,
        object_pose=_object_pose(goal, frame_id),
        initial_params=states_to_params([goal.initial_state]) if goal.use_initial_state else None,
        num_frames=int(goal.num_frames),
        seed=int(goal.seed),
    )


def _scene_id(goal: GenerateInteraction.Goal, cfg: Config) -> str:
    if goal.scene_id:
        known = list_scenes(cfg.scene.registry or None)
        if goal.scene_id not in known:
            raise NotFound(f"unknown scene {goal.scene_id!r}; available: {known} (see ~/list_scenes)")
        return goal.scene_id
    if goal.scene_ply:
        path = resolve_data_path(goal.scene_ply, cfg.paths.data_roots)
        if not path.is_file():
            raise NotFound(f"scene_ply {goal.scene_ply!r} resolves to {path}, which does not exist")
        raise InputError(
            f"scene_ply goals are not supported yet: register {path} (ply + mesh) in the scene registry "
            "(config/scenes.yaml) and send its scene_id"
        )
    return ""


def _object_pose(goal: GenerateInteraction.Goal, frame_id: str) -> torch.Tensor | None:
    """[4, 4] object-to-scene pose; None (the scene's default placement) for an unset PoseStamped."""
    stamped = goal.object_pose
    if not goal.object_id or (not stamped.header.frame_id and stamped.pose == Pose()):
        return None
    if stamped.header.frame_id not in ("", frame_id):
        raise InputError(
            f"object_pose is in frame {stamped.header.frame_id!r}; give it in the scene frame {frame_id!r}"
        )
    return pose_to_matrix(stamped.pose)


def result_messages(
    sequence: SequenceResult, cfg: Config, frame_id: str, stamp: Time, seconds: float
) -> GenerateInteraction.Result:
    """The succeeded action result: trajectories of all clips (concatenated) and metrics."""
    clips = sequence.clips
    header = Header(frame_id=frame_id, stamp=stamp)
    fps = clips[0].fps
    params = SmplxParams.cat([c.params for c in clips])  # [ΣT]
    joints = sequence.joints  # [ΣT, 55, 3]
    body_model = "smplx" if cfg.body.model_path else "standin"
    result = GenerateInteraction.Result(error_code=GenerateInteraction.Result.OK)
    result.smplx_trajectory = smplx_trajectory(params, joints, fps, header, body_model, cfg.body.gender)
    result.joint_trajectory = joint_trajectory(joints, fps, header)
    poses = [c.object_poses for c in clips if c.object_poses is not None]
    if clips[0].object_id and len(poses) == len(clips):
        result.object_trajectory = object_trajectory(clips[0].object_id, torch.cat(poses), fps, header)
    else:
        result.object_trajectory = ObjectTrajectory(header=header, fps=float(fps))
    result.metrics = metrics(sequence, seconds)
    result.message = f"{joints.shape[0]} frames in {len(clips)} clip(s), {seconds:.1f} s"
    return result


def metrics(sequence: SequenceResult, seconds: float) -> list[KeyValue]:
    """Frame count, wall time and each clip's errors (vs. the scripted ground truth, when known)."""
    values: list[tuple[str, float]] = [("frames", float(sequence.joints.shape[0])), ("seconds", seconds)]
    for i, clip in enumerate(sequence.clips):
        prefix = f"clip{i}/" if len(sequence.clips) > 1 else ""
        values += [(prefix + key, float(value)) for key, value in sorted(clip.errors.items())]
    return [KeyValue(key=key, value=f"{value:.6g}") for key, value in values]


def write_result_dir(sequence: SequenceResult, cfg: Config) -> tuple[str, str]:
    """Write the result directory under paths.output_dir; returns (path, "") or ("", why it failed)."""
    name = f"{datetime.now():%Y%m%d-%H%M%S}_{sequence.scene_id}_{uuid.uuid4().hex[:6]}"
    try:
        return str(write_result(sequence, cfg, Path(cfg.paths.output_dir).expanduser() / name)), ""
    except (OSError, ZeroHSIError) as err:
        return "", f"result directory not written: {err}"
