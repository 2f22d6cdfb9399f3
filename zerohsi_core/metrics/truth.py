"""Errors of a reconstruction against the scripted ground truth (the accuracy benchmark's numbers)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from zerohsi_core.body.joints import NUM_BODY_JOINTS
from zerohsi_core.geometry.camera import Camera
from zerohsi_core.geometry.rotations import axis_angle_to_matrix


def frame_mpjpe(estimate: Tensor, truth: Tensor) -> Tensor:
    """Per-frame mean position error over the 22 body joints, world frame, metres. [T,J,3] → [T]"""
    return torch.linalg.norm(estimate[:, :NUM_BODY_JOINTS] - truth[:, :NUM_BODY_JOINTS], dim=-1).mean(-1)


def mpjpe(estimate: Tensor, truth: Tensor) -> Tensor:
    """Mean per-joint position error over the 22 body joints and all frames, metres. [T,J,3] → scalar"""
    return frame_mpjpe(estimate, truth).mean()


def rotation_angle(a: Tensor, b: Tensor) -> Tensor:
    """Angle in radians between rotations [...,3,3]."""
    cos = ((a @ b.transpose(-1, -2)).diagonal(dim1=-2, dim2=-1).sum(-1) - 1.0) / 2.0
    return torch.arccos(cos.clamp(-1.0, 1.0))


def axis_angle_distance_deg(a: Tensor, b: Tensor) -> Tensor:
    """Angle in degrees between axis-angle rotations [...,3], in float64 (arccos is coarse near 1)."""
    return torch.rad2deg(rotation_angle(axis_angle_to_matrix(a.double()), axis_angle_to_matrix(b.double())))


def pose_frame_errors(estimate: Tensor, truth: Tensor) -> tuple[Tensor, Tensor]:
    """Per-frame translation (m) and rotation (deg) errors between rigid poses [T,4,4] → [T], [T]."""
    est, ref = estimate.double(), truth.double().to(estimate.device)
    translation = torch.linalg.norm(est[:, :3, 3] - ref[:, :3, 3], dim=-1)
    return translation, torch.rad2deg(rotation_angle(est[:, :3, :3], ref[:, :3, :3]))


def pose_errors(estimate: Tensor, truth: Tensor) -> tuple[float, float]:
    """Mean translation (m) and rotation (deg) errors between rigid poses [T,4,4]."""
    translation, rotation = pose_frame_errors(estimate, truth)
    return float(translation.mean()), float(rotation.mean())


def camera_errors(estimate: list[Camera], truth: Camera | list[Camera]) -> tuple[float, float]:
    """Mean camera-centre (m) and orientation (deg) errors; a single true camera means a fixed camera."""
    refs = truth if isinstance(truth, list) else [truth] * len(estimate)
    est = torch.stack([c.world_to_cam.double() for c in estimate])
    ref = torch.stack([c.world_to_cam.double().to(est.device) for c in refs])
    centres = lambda v: -(v[:, :3, :3].transpose(1, 2) @ v[:, :3, 3:])[..., 0]  # noqa: E731
    centre = torch.linalg.norm(centres(est) - centres(ref), dim=-1).mean()
    angle = rotation_angle(est[:, :3, :3], ref[:, :3, :3]).mean()
    return float(centre), math.degrees(float(angle))


def ground_truth_errors(result: Any, truth: Any) -> dict[str, float]:
    """MPJPE (refined and raw), root, object and camera errors of a ClipResult against ScriptedGroundTruth."""
    joints_true = truth.joints.to(result.joints)
    errors = {
        "mpjpe_mm": 1000 * float(mpjpe(result.joints, joints_true)),
        "mpjpe_raw_mm": 1000 * float(mpjpe(result.raw_joints, joints_true)),
        "root_mm": 1000 * float(torch.linalg.norm(result.joints[:, 0] - joints_true[:, 0], dim=-1).mean()),
    }
    if result.object_poses is not None and truth.object_poses is not None:
        t_err, r_err = pose_errors(result.object_poses, truth.object_poses)
        errors["object_cm"], errors["object_deg"] = 100 * t_err, r_err
    c_err, a_err = camera_errors(result.cameras, truth.camera)
    errors["camera_cm"], errors["camera_deg"] = 100 * c_err, a_err
    return errors


def frame_errors(result: Any, truth: Any) -> dict[str, list[float]]:
    """Per-frame errors of a ClipResult against ScriptedGroundTruth — where along a clip a mean went wrong:
    MPJPE (mm) of the refined joints and, with an object, its translation (cm) and rotation (deg) errors."""
    errors = {"mpjpe_mm": (1000 * frame_mpjpe(result.joints, truth.joints.to(result.joints))).tolist()}
    if result.object_poses is not None and truth.object_poses is not None:
        translation, rotation = pose_frame_errors(result.object_poses, truth.object_poses)
        errors["object_cm"], errors["object_deg"] = (100 * translation).tolist(), rotation.tolist()
    return errors
