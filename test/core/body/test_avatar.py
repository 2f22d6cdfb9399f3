import math

import pytest
import torch
from core.body.views import sphere_cameras

from zerohsi_core.body.avatar import GaussianAvatar
from zerohsi_core.body.avatar_io import load_avatar, make_avatar, save_avatar
from zerohsi_core.body.avatar_template import (
    AvatarOptions,
    DefaultAppearance,
    anchor_gaussians,
    triangle_areas,
    triangle_frames,
)
from zerohsi_core.body.joints import JOINT_INDEX, hand_joints
from zerohsi_core.body.model import BodyModel
from zerohsi_core.body.params import SmplxParams
from zerohsi_core.body.pose import arms_down_pose, standing_params, yaw_matrix
from zerohsi_core.errors import AssetError, InputError
from zerohsi_core.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle, quat_wxyz_to_matrix
from zerohsi_core.render.options import RenderOptions
from zerohsi_core.render.projection import covariances
from zerohsi_core.render.render import render
from zerohsi_core.scene.gaussians import GaussianCloud

SMALL = AvatarOptions(num_gaussians=3000)


@pytest.fixture(scope="module")
def avatar(body_model: BodyModel) -> GaussianAvatar:
    return GaussianAvatar(body_model, SMALL)


def _dominant_joint(avatar: GaussianAvatar) -> torch.Tensor:
    model = avatar.body
    return model.lbs_weights[model.faces[avatar.face]].sum(dim=1).argmax(dim=1)  # [N]


def _randomise(avatar: GaussianAvatar, seed: int, scale: float = 0.05) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in avatar.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g))


def test_fresh_avatar_is_its_template_at_any_pose(body_model: BodyModel):
    avatar = GaussianAvatar(body_model, AvatarOptions(normal_offset=0.01))
    assert avatar.num_gaussians == body_model.faces.shape[0]  # one per triangle by default
    pose = 0.3 * torch.randn(2, 21, 3, generator=torch.Generator().manual_seed(0))
    params = standing_params(body_model, (0.5, -0.2), 0.3, batch=2, body_pose=pose)
    geometry = avatar.deform(params)
    body = body_model.forward(params)
    frames, _ = triangle_frames(body.vertices, body_model.faces)  # [B, F, 3, 3]
    centroids = body.vertices[:, body_model.faces].mean(dim=2)  # [B, F, 3]
    assert torch.allclose(geometry.means, centroids + 0.01 * frames[..., 2], atol=1e-6)
    assert torch.allclose(geometry.joints, body.joints)
    out = avatar(params, camera_centers=torch.tensor([[3.0, 0.0, 1.0], [0.0, -3.0, 2.0]]))
    assert out.colors.shape == (2, avatar.num_gaussians, 3) and len(out.clouds) == 2
    assert torch.allclose(out.colors, avatar.base_colors().expand(2, -1, -1))
    assert torch.equal(out.clouds[1].opacity_logits, avatar.opacity_logits)


def test_sampled_anchors_cover_the_surface_denser_where_the_mesh_is_finer(body_model: BodyModel):
    anchors = anchor_gaussians(body_model.layer.v_template, body_model.faces, SMALL)
    assert anchors.face.shape == (3000,) and (anchors.bary >= 0).all()
    assert torch.allclose(anchors.bary.sum(dim=1), torch.ones(3000), atol=1e-6)
    total = float(triangle_areas(body_model.layer.v_template, body_model.faces).sum())
    assert abs(float(anchors.area.sum()) / total - 1.0) < 0.05  # the Gaussians share the whole surface
    joint = body_model.lbs_weights[body_model.faces[anchors.face]].sum(dim=1).argmax(dim=1)
    fingers = torch.isin(joint, torch.tensor(hand_joints("both")[1:]))
    torso = joint == JOINT_INDEX["spine2"]
    assert anchors.area[fingers].mean() < 0.5 * anchors.area[torso].mean()  # area sampling would give 1


def test_global_orientation_and_translation_move_the_avatar_rigidly(body_model: BodyModel, avatar):
    params0 = standing_params(body_model, (0.0, 0.0), 0.0, body_pose=arms_down_pose())
    Q = yaw_matrix(torch.tensor(0.7))  # [3, 3] extra turn about world z
    phi1 = matrix_to_axis_angle(Q @ axis_angle_to_matrix(params0.global_orient[0]))[None]
    params1 = params0.replace(global_orient=phi1, transl=params0.transl + torch.tensor([[1.0, -2.0, 0.5]]))
    g0, g1 = avatar.deform(params0), avatar.deform(params1)
    pelvis0, pelvis1 = g0.joints[0, 0], g1.joints[0, 0]
    assert torch.allclose(g1.means[0], (g0.means[0] - pelvis0) @ Q.T + pelvis1, atol=1e-5)
    cov0 = covariances(g0.quats[0], g0.log_scales[0].exp())
    cov1 = covariances(g1.quats[0], g1.log_scales[0].exp())
    assert torch.allclose(cov1, Q @ cov0 @ Q.T, rtol=1e-3, atol=1e-7)  # entries up to 6e-4 m^2
    assert torch.allclose(g1.log_scales, g0.log_scales, atol=1e-5)


def test_bending_the_elbow_moves_only_the_forearm_and_hand_gaussians(body_model: BodyModel, avatar):
    rest = standing_params(body_model, (0.0, 0.0), 0.0)
    pose = torch.zeros(1, 21, 3)
    pose[0, JOINT_INDEX["left_elbow"] - 1, 1] = math.pi / 2
    bent = rest.replace(body_pose=pose)
    moved = (avatar.deform(bent).means - avatar.deform(rest).means)[0].norm(dim=-1)  # [N]
    joint = _dominant_joint(avatar)
    hand = joint == JOINT_INDEX["left_wrist"]
    legs = torch.isin(
        joint, torch.tensor([JOINT_INDEX[n] for n in ("left_knee", "right_knee", "right_wrist")])
    )
    assert hand.any() and legs.any()
    assert moved[hand].min() > 0.15  # the hand swings ~0.25-0.4 m about the elbow
    assert moved[legs].max() < 1e-6
    # each Gaussian's normal axis stays the normal of its (posed) triangle
    geometry = avatar.deform(bent)
    normals = quat_wxyz_to_matrix(geometry.quats[0])[:, :, 2]  # [N, 3] each Gaussian's local z axis
    assert torch.allclose(normals, geometry.frames[0, :, :, 2], atol=1e-5)


def test_default_appearance_gives_each_body_part_its_outfit_colour(avatar):
    look = DefaultAppearance()
    colors, joint = avatar.base_colors(), _dominant_joint(avatar)
    expected = {"spine2": look.shirt, "left_knee": look.trousers, "right_ankle": look.shoes,
                "left_elbow": look.skin, "right_index2": look.skin}  # fmt: skip
    for name, rgb in expected.items():
        sel = colors[joint == JOINT_INDEX[name]]  # [K, 3]
        ratio = sel / torch.tensor(rgb).clamp_min(SMALL.color_clamp)  # shading only scales the colour
        assert len(sel) > 0, name
        assert (ratio.max(dim=1).values - ratio.min(dim=1).values).max() < 0.06, name
        assert look.ambient - 0.03 < ratio.mean() < 1.03, name
    head = joint == JOINT_INDEX["head"]
    rest_y = avatar.deform(avatar.body.zeros(1)).means[0, :, 1]
    top = head & (rest_y > rest_y[head].quantile(0.95))
    hair = torch.tensor(look.hair)
    assert ((colors[top] / hair).std(dim=1) < 0.05).all()  # the top of the head is hair


def test_render_entity_draws_a_person_with_a_human_mask(body_model: BodyModel, avatar):
    params = standing_params(body_model, (0.0, 0.0), 0.0, body_pose=arms_down_pose())
    cam = sphere_cameras((0.0, 0.0, 0.9), [0.0], [0.0], distance=3.0, size=64)[0]
    wall = GaussianCloud(
        means=torch.tensor([[-1.0, 0.0, 0.9]]), quats=torch.tensor([[1.0, 0.0, 0.0, 0.0]]),
        log_scales=torch.tensor([[-3.0, 3.0, 3.0]]), opacity_logits=torch.tensor([8.0]),
        sh=torch.zeros(1, 1, 3),
    )  # fmt: skip
    cloud, rgb = avatar.render_entity(params, cam)
    out = render([("wall", wall), ("human", cloud)], cam, RenderOptions(backend="torch"), {"human": rgb})
    joints = body_model.forward(params).joints[0]
    uv, _ = cam.project(joints[[JOINT_INDEX["spine3"], JOINT_INDEX["head"], JOINT_INDEX["left_knee"]]])
    pix = [(int(v), int(u)) for u, v in uv.tolist()]
    human = out.masks["human"][0]
    assert all(human[p] > 0.99 for p in pix)
    chest, head, knee = (out.rgb[0][p] for p in pix)
    assert chest[2] > chest[0] + 0.2 and head[0] > head[2] + 0.15 and knee.max() < 0.4
    assert human.mean() < 0.25 and out.masks["wall"][0, 0, 0] > 0.98
    assert torch.allclose(out.masks["human"] + out.masks["wall"], out.alpha, atol=1e-5)
    _, rgbs = avatar.render_entity(params, [cam, cam])
    assert rgbs.shape == (2, avatar.num_gaussians, 3)
    with pytest.raises(InputError):
        avatar.render_entity(standing_params(body_model, (0.0, 0.0), 0.0, batch=2), cam)


def test_networks_are_pose_and_view_dependent_and_gradients_reach_the_pose(body_model: BodyModel):
    avatar = GaussianAvatar(body_model, AvatarOptions(num_gaussians=500))
    _randomise(avatar, seed=1)
    base = standing_params(body_model, (0.0, 0.0), 0.0)
    pose = torch.zeros(1, 21, 3, requires_grad=True)
    params = base.replace(body_pose=pose, transl=base.transl.clone().requires_grad_(True))
    g_rest = avatar.deform(base)
    geometry = avatar.deform(params)
    centers = torch.tensor([[[3.0, 0.0, 1.0], [0.0, 3.0, 1.0]]])
    colors = avatar.colors(geometry, centers)  # [1, 2, N, 3]
    assert (colors[0, 0] - colors[0, 1]).abs().max() > 1e-3  # F_color sees the view direction
    bent = base.replace(body_pose=0.2 * torch.ones(1, 21, 3))

    def offsets(p: SmplxParams) -> torch.Tensor:  # F_position(Θ) [1, N, 3] (Eq. 3)
        return torch.einsum("bd,ndk->bnk", avatar.position_encoder(p.body_pose), avatar.position_basis)

    assert (offsets(base) - offsets(bent)).abs().max() > 1e-3
    (geometry.means.sum() + colors.sum()).backward()
    assert pose.grad.abs().sum() > 0 and params.transl.grad.abs().sum() > 0
    assert avatar.position_basis.grad.abs().sum() > 0 and avatar.color_out.weight.grad.abs().sum() > 0
    assert torch.allclose(g_rest.means, geometry.means.detach(), atol=1e-6)


def test_save_load_round_trip_and_mismatch_errors(body_model: BodyModel, tmp_path):
    avatar = GaussianAvatar(body_model, AvatarOptions(num_gaussians=400, seed=3, pose_code_dim=8))
    _randomise(avatar, seed=2)
    path = save_avatar(avatar, tmp_path / "a" / "avatar.pt")
    loaded = load_avatar(path, body_model)
    assert loaded.options == avatar.options
    params = standing_params(body_model, (0.1, 0.2), 1.0, body_pose=arms_down_pose())
    centers = torch.tensor([[2.0, 1.0, 1.5]])
    a, b = avatar(params, centers), loaded(params, centers)
    assert torch.equal(a.clouds[0].means, b.clouds[0].means) and torch.equal(a.colors, b.colors)
    assert make_avatar(body_model, "").num_gaussians == body_model.faces.shape[0]
    assert torch.equal(make_avatar(body_model, path).color_logits, avatar.color_logits)

    payload = torch.load(path, weights_only=True)
    payload["body_model"]["generator_version"] = -1
    torch.save(payload, tmp_path / "other.pt")
    with pytest.raises(AssetError, match=r"body\.avatar_path.*generator_version"):
        load_avatar(tmp_path / "other.pt", body_model)
    with pytest.raises(AssetError, match=r"does not exist.*body\.avatar_path"):
        load_avatar(tmp_path / "missing.pt", body_model)
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(AssetError, match=r"body\.avatar_path"):
        load_avatar(tmp_path / "junk.pt", body_model)
