import torch
from core.body.views import sphere_cameras

from zerohsi_core.body.avatar import GaussianAvatar
from zerohsi_core.body.avatar_template import AvatarOptions
from zerohsi_core.body.fit import render_avatar
from zerohsi_core.body.joints import JOINT_INDEX, NUM_BODY_JOINTS
from zerohsi_core.body.model import BodyModel
from zerohsi_core.body.pose import arms_down_pose, standing_params, world_orient, yaw_of
from zerohsi_core.render.losses import photometric_loss
from zerohsi_core.render.options import RenderOptions


def test_standing_params_put_the_soles_on_the_floor_facing_yaw(body_model: BodyModel):
    yaws = torch.tensor([0.0, 1.0, -2.5])
    xy = torch.tensor([[0.0, 0.0], [1.5, -0.5], [-2.0, 3.0]])
    params = standing_params(body_model, xy, yaws, batch=3, body_pose=arms_down_pose())
    out = body_model.forward(params)
    assert torch.allclose(out.vertices[..., 2].min(dim=1).values, torch.zeros(3), atol=1e-6)
    pelvis = out.joints[:, JOINT_INDEX["pelvis"]]
    assert torch.allclose(pelvis[:, :2], xy, atol=1e-6)
    assert (pelvis[:, 2] > 0.85).all() and (pelvis[:, 2] < 1.05).all()  # an adult's pelvis height
    assert torch.allclose(yaw_of(params.global_orient), yaws, atol=1e-5)
    # the body's left (left hip - right hip) points along world +y turned by yaw; the head is up
    left = out.joints[:, JOINT_INDEX["left_hip"]] - out.joints[:, JOINT_INDEX["right_hip"]]
    expected = torch.stack([-torch.sin(yaws), torch.cos(yaws)], dim=1)
    assert torch.allclose(torch.nn.functional.normalize(left[:, :2], dim=1), expected, atol=1e-4)
    assert torch.allclose(left[:, 2], torch.zeros(3), atol=1e-5)
    head_above = out.joints[:, JOINT_INDEX["head"], 2] - pelvis[:, 2]
    assert (head_above > 0.5).all()
    wrist, shoulder = out.joints[0, JOINT_INDEX["left_wrist"]], out.joints[0, JOINT_INDEX["left_shoulder"]]
    assert shoulder[2] - wrist[2] > 0.4  # arms_down_pose lowers the T-pose arms


def test_yaw_of_inverts_world_orient():
    yaws = torch.linspace(-3.0, 3.0, 13)
    assert torch.allclose(yaw_of(world_orient(yaws)), yaws, atol=1e-5)


def _target_pose() -> torch.Tensor:
    """Arms down with an elbow, a shoulder, a hip, a knee, the spine and the neck bent (realistic angles)."""
    pose = arms_down_pose()
    bends = {
        "left_elbow": (0.0, 1.3, 0.0),
        "right_shoulder": (0.3, 0.4, 0.8),
        "right_hip": (-0.7, 0.0, 0.1),
        "right_knee": (0.9, 0.0, 0.0),
        "left_hip": (0.15, 0.0, -0.1),
        "spine1": (0.15, 0.1, 0.0),
        "neck": (0.1, 0.3, 0.0),
    }
    for name, axis_angle in bends.items():
        pose[0, JOINT_INDEX[name] - 1] = torch.tensor(axis_angle)
    return pose


def test_perturbed_pose_is_recovered_by_rendering_losses_alone(body_model: BodyModel):
    """The pipeline's basic mechanism: render a known pose, refit a perturbed one by L1 + D-SSIM + mask."""
    avatar = GaussianAvatar(body_model, AvatarOptions(num_gaussians=3000)).requires_grad_(False)
    target = standing_params(body_model, (0.2, -0.1), 0.4, body_pose=_target_pose())
    cams = sphere_cameras((0.2, -0.1, 0.9), [0.9, -0.8, 2.7], [0.2, 0.2, 0.2], distance=3.0, size=96)
    render_options = RenderOptions(backend="torch")
    with torch.no_grad():
        views = [render_avatar(avatar, target, cam, render_options) for cam in cams]
        true_joints = body_model.forward(target).joints[0, :NUM_BODY_JOINTS]
    g = torch.Generator().manual_seed(1)
    body_pose = (target.body_pose + 0.12 * torch.randn(1, 21, 3, generator=g)).requires_grad_(True)
    orient = (target.global_orient + 0.08 * torch.randn(1, 3, generator=g)).requires_grad_(True)
    transl = (target.transl + torch.tensor([[0.05, -0.04, 0.03]])).requires_grad_(True)

    def joint_error_mm() -> float:
        with torch.no_grad():
            params = target.replace(body_pose=body_pose, global_orient=orient, transl=transl)
            joints = body_model.forward(params).joints[0, :NUM_BODY_JOINTS]
        return 1000 * float((joints - true_joints).norm(dim=-1).mean())

    initial = joint_error_mm()
    optimizer = torch.optim.Adam([body_pose, orient, transl], lr=1e-2)
    for _ in range(60):
        optimizer.zero_grad()
        params = target.replace(body_pose=body_pose, global_orient=orient, transl=transl)
        loss = sum(
            photometric_loss(rgb[None], view_rgb[None], 0.2) + (alpha - view_alpha).abs().mean()
            for cam, (view_rgb, view_alpha) in zip(cams, views, strict=True)
            for rgb, alpha in [render_avatar(avatar, params, cam, render_options)]
        )
        loss.backward()
        optimizer.step()
    assert initial > 60.0
    assert joint_error_mm() < 15.0
