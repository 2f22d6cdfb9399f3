"""SceneObject: poses (checked, ROS xyzw order), world Gaussians and world mesh."""

import math

import numpy as np
import pytest
import torch

from zerohsi_core.errors import InputError
from zerohsi_core.scene.gaussians import GaussianCloud
from zerohsi_core.scene.object import SceneObject, as_rigid_pose, pose_from_xyz_quat
from zerohsi_core.scene.primitives import box_mesh


def unit_object() -> SceneObject:
    cloud = GaussianCloud(
        means=torch.tensor([[0.1, 0.0, 0.0], [0.0, 0.0, 0.2]]),
        quats=torch.tensor([[1.0, 0.0, 0.0, 0.0]] * 2),
        log_scales=torch.zeros(2, 3),
        opacity_logits=torch.zeros(2),
        sh=torch.zeros(2, 1, 3),
    )
    return SceneObject("thing", cloud, box_mesh((0.2, 0.2, 0.2)), np.eye(4))


def test_pose_from_xyz_quat_uses_ros_order() -> None:
    s = math.sqrt(0.5)
    T = pose_from_xyz_quat([1.0, 2.0, 3.0, 0.0, 0.0, s, s])  # 90 degrees about z
    expected = torch.tensor(
        [[0.0, -1.0, 0.0, 1.0], [1.0, 0.0, 0.0, 2.0], [0.0, 0.0, 1.0, 3.0], [0.0, 0.0, 0.0, 1.0]],
        dtype=torch.float64,
    )
    torch.testing.assert_close(T, expected, atol=1e-12, rtol=0)
    torch.testing.assert_close(pose_from_xyz_quat([1, 2, 3, 0, 0, 2.0 * s, 2.0 * s]), T)  # normalised here


def test_pose_errors() -> None:
    with pytest.raises(InputError, match="7 finite numbers"):
        pose_from_xyz_quat([0.0, 0.0, 0.0, 0.0, 0.0, 1.0])
    with pytest.raises(InputError, match="zero quaternion"):
        pose_from_xyz_quat([0.0] * 7)
    scaled = np.diag([2.0, 1.0, 1.0, 1.0])
    with pytest.raises(InputError, match="not a rigid transform"):
        as_rigid_pose(scaled)
    with pytest.raises(InputError, match="NaN"):
        as_rigid_pose(np.full((4, 4), np.nan))


def test_world_gaussians_and_mesh_follow_the_pose() -> None:
    s = math.sqrt(0.5)
    obj = unit_object().with_pose(pose_from_xyz_quat([1.0, 0.0, 0.5, 0.0, 0.0, s, s]))
    world = obj.world_gaussians()
    torch.testing.assert_close(world.means, torch.tensor([[1.0, 0.1, 0.5], [1.0, 0.0, 0.7]]))
    torch.testing.assert_close(world.quats, torch.tensor([[s, 0.0, 0.0, s]] * 2))
    assert np.allclose(obj.world_mesh().bounds(), [[0.9, -0.1, 0.4], [1.1, 0.1, 0.6]])
    assert torch.equal(obj.gaussians.means, unit_object().gaussians.means)  # object frame untouched
    with pytest.raises(InputError, match="pose of object 'thing'"):
        unit_object().with_pose(np.eye(3))
