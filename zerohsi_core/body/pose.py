"""World-frame SMPL-X placement (AMASS style): the model is evaluated in its native y-up frame and the
global orientation φ = R_z(yaw) · Y_UP_TO_Z_UP with the translation r put it straight into the z-up world."""

import math

import torch
from torch import Tensor

from zerohsi_core.body.frames import y_up_to_z_up
from zerohsi_core.body.joints import JOINT_INDEX, NUM_BODY_POSE_JOINTS
from zerohsi_core.body.model import BodyModel
from zerohsi_core.body.params import SmplxParams
from zerohsi_core.errors import InputError
from zerohsi_core.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle

ARMS_DOWN_DEG = 65.0  # shoulder abduction removed from the T-pose by `arms_down_pose` (a relaxed stance)


def yaw_matrix(yaw: Tensor) -> Tensor:
    """Rotation about world +z by `yaw` [...] radians -> [..., 3, 3]."""
    c, s = torch.cos(yaw), torch.sin(yaw)
    zero, one = torch.zeros_like(yaw), torch.ones_like(yaw)
    return torch.stack([c, -s, zero, s, c, zero, zero, zero, one], dim=-1).unflatten(-1, (3, 3))


def world_orient(yaw: Tensor) -> Tensor:
    """Global orientation φ [..., 3] (axis-angle) of an upright body facing `yaw` [...] (0 = world +x)."""
    return matrix_to_axis_angle(yaw_matrix(yaw) @ y_up_to_z_up(yaw.dtype, yaw.device))


def yaw_of(global_orient: Tensor) -> Tensor:
    """Heading [...] (radians, 0 = facing world +x) of world-frame global orientations [..., 3]: the
    azimuth of the body's front (model +z) mapped into the world."""
    front = axis_angle_to_matrix(global_orient)[..., :, 2]  # [..., 3] model +z in world coordinates
    return torch.atan2(front[..., 1], front[..., 0])


def arms_down_pose(
    batch: int = 1,
    degrees: float = ARMS_DOWN_DEG,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> Tensor:
    """Body pose [B, 21, 3]: the T-pose with both shoulders lowered by `degrees` (about the model's front
    axis +z; the left arm points along model +x)."""
    pose = torch.zeros(batch, NUM_BODY_POSE_JOINTS, 3, dtype=dtype, device=device)
    angle = math.radians(degrees)
    for side, sign in (("left", -1.0), ("right", 1.0)):
        pose[:, JOINT_INDEX[f"{side}_shoulder"] - 1, 2] = sign * angle
    return pose


def standing_params(
    model: BodyModel,
    xy: Tensor | tuple[float, float],
    yaw: Tensor | float,
    batch: int = 1,
    body_pose: Tensor | None = None,
    betas: Tensor | None = None,
) -> SmplxParams:
    """World-frame parameters of upright bodies: pelvis above `xy` [2] or [B, 2], facing `yaw` (radians,
    0 = world +x), the lowest vertex (the soles, for a standing pose) on z = 0. `body_pose` [B, 21, 3]
    defaults to the rest pose, `betas` [B, nb] to the mean shape."""
    dtype, device = model.dtype, model.device
    xy_t = torch.as_tensor(xy, dtype=dtype, device=device).expand(batch, 2)
    yaw_t = torch.as_tensor(yaw, dtype=dtype, device=device).expand(batch)
    params = model.zeros(batch).replace(global_orient=world_orient(yaw_t))
    if body_pose is not None:
        params = params.replace(body_pose=body_pose.to(device, dtype).expand(batch, -1, -1))
    if betas is not None:
        params = params.replace(betas=betas.to(device, dtype).expand(batch, -1))
    if not (bool(torch.isfinite(xy_t).all()) and bool(torch.isfinite(yaw_t).all())):
        raise InputError(f"standing_params needs finite xy and yaw, got {xy!r} and {yaw!r}")
    with torch.no_grad():
        out = model.forward(params)
    pelvis = out.joints[:, JOINT_INDEX["pelvis"]]  # [B, 3]
    sole = out.vertices[..., 2].min(dim=1).values  # [B]
    transl = torch.cat([xy_t - pelvis[:, :2], -sole[:, None]], dim=1)
    return params.replace(transl=transl)
