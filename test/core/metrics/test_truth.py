"""Errors against the scripted ground truth: per-frame values and the means the benchmark reports."""

import math
from types import SimpleNamespace

import pytest
import torch

from zerohsi_core.geometry.camera import Camera, intrinsics_from_fov, look_at
from zerohsi_core.geometry.rotations import axis_angle_to_matrix
from zerohsi_core.geometry.se3 import make_se3
from zerohsi_core.metrics.truth import frame_errors, ground_truth_errors


def test_frame_errors_locate_a_bad_frame_and_average_to_the_reported_means() -> None:
    """Frame 2's body is 3 cm off and its box 5 cm and 30° off: the per-frame lists show where, their
    means are the benchmark's errors."""
    T = 4
    joints = torch.randn(T, 55, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    moved = joints.clone()
    moved[2, :22] += torch.tensor([0.03, 0.0, 0.0], dtype=torch.float64)  # body joints only
    moved[2, 22:] += 1.0  # hands and face are not in the 22-joint MPJPE
    poses = torch.eye(4, dtype=torch.float64).repeat(T, 1, 1)
    estimate = poses.clone()
    estimate[2] = make_se3(
        axis_angle_to_matrix(torch.tensor([0.0, 0.0, math.radians(30)], dtype=torch.float64)), torch.zeros(3)
    )
    estimate[2, :3, 3] = torch.tensor([0.0, 0.05, 0.0], dtype=torch.float64)
    camera = Camera(
        intrinsics_from_fov(60.0, 8, 8), look_at(torch.tensor([0.0, -2.0, 1.0]), torch.zeros(3)), 8, 8
    )
    result = SimpleNamespace(joints=moved, raw_joints=moved, object_poses=estimate, cameras=[camera] * T)
    truth = SimpleNamespace(joints=joints, object_poses=poses, camera=camera)
    per_frame = frame_errors(result, truth)
    assert per_frame["mpjpe_mm"] == pytest.approx([0.0, 0.0, 30.0, 0.0], abs=1e-9)
    assert per_frame["object_cm"] == pytest.approx([0.0, 0.0, 5.0, 0.0], abs=1e-9)
    assert per_frame["object_deg"] == pytest.approx([0.0, 0.0, 30.0, 0.0], abs=1e-6)
    means = ground_truth_errors(result, truth)
    for key in ("mpjpe_mm", "object_cm", "object_deg"):
        assert means[key] == pytest.approx(sum(per_frame[key]) / T, abs=1e-6), key
    no_object = frame_errors(SimpleNamespace(joints=moved, object_poses=None), truth)
    assert set(no_object) == {"mpjpe_mm"}
