import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from zerohsi_core.body.frames import model_to_world
from zerohsi_core.body.joints import JOINT_INDEX
from zerohsi_core.body.model import BodyModel, BodyModelOptions, load_body_model
from zerohsi_core.body.params import SmplxParams
from zerohsi_core.errors import AssetError, InputError


def _random_params(model: BodyModel, batch: int, seed: int = 0) -> SmplxParams:
    g = torch.Generator().manual_seed(seed)

    def r(*shape: int, scale: float = 1.0) -> torch.Tensor:
        return scale * torch.randn(batch, *shape, generator=g)

    return model.zeros(batch).replace(
        betas=r(10), global_orient=r(3), transl=r(3), body_pose=r(21, 3, scale=0.3),
        left_hand_pose=r(15, 3, scale=0.3), right_hand_pose=r(15, 3, scale=0.3), jaw_pose=r(3, scale=0.2),
        leye_pose=r(3, scale=0.1), reye_pose=r(3, scale=0.1), expression=r(10),
    )  # fmt: skip


def test_forward_matches_smplx_at_batch_51(body_model: BodyModel):
    p = _random_params(body_model, 51)
    out = body_model.forward(p)
    ref = body_model.layer(
        betas=p.betas, global_orient=p.global_orient, body_pose=p.body_pose.reshape(51, -1), transl=p.transl,
        left_hand_pose=p.left_hand_pose.reshape(51, -1), right_hand_pose=p.right_hand_pose.reshape(51, -1),
        jaw_pose=p.jaw_pose, leye_pose=p.leye_pose, reye_pose=p.reye_pose, expression=p.expression,
    )  # fmt: skip
    assert out.vertices.shape == (51, 10_475, 3) and out.joints.shape == (51, 55, 3)
    assert torch.allclose(out.vertices, ref.vertices, atol=1e-5)
    assert torch.allclose(out.joints, ref.joints[:, :55], atol=1e-5)
    rest_joints = torch.einsum("jv,bvc->bjc", body_model.layer.J_regressor, out.shaped_vertices)
    moved = out.joint_transforms[..., :3, :3] @ rest_joints[..., None] + out.joint_transforms[..., :3, 3:]
    assert torch.allclose(moved[..., 0], out.joints, atol=1e-5)  # transforms carry rest joints to posed ones


def test_any_batch_size_and_gradients(body_model: BodyModel):
    p = _random_params(body_model, 3, seed=1)
    pose = p.body_pose.clone().requires_grad_(True)
    out = body_model.forward(p.replace(body_pose=pose))
    out.joints[:, JOINT_INDEX["left_wrist"]].sum().backward()
    assert pose.grad is not None and pose.grad[:, JOINT_INDEX["left_elbow"] - 1].abs().sum() > 0
    assert pose.grad[:, JOINT_INDEX["right_knee"] - 1].abs().sum() == 0
    assert torch.allclose(body_model.forward(p.index(2)).vertices[0], out.vertices[2].detach(), atol=1e-6)


def test_rejects_nan_and_wrong_coefficient_counts(body_model: BodyModel):
    p = body_model.zeros(2)
    with pytest.raises(InputError, match="NaN"):
        body_model.forward(p.replace(transl=torch.full((2, 3), float("nan"))))
    with pytest.raises(InputError, match="body.num_betas"):
        body_model.forward(SmplxParams.zeros(2, num_betas=16))


def test_vertex_groups(body_model: BodyModel):
    rest = body_model.forward(body_model.zeros(1)).vertices[0]
    left, right = body_model.hand_vertex_ids("left"), body_model.hand_vertex_ids("right")
    assert len(left) == len(right) > 300 and rest[left, 0].min() > 0.6 and rest[right, 0].max() < -0.6
    assert len(body_model.hand_vertex_ids()) == 2 * len(left)
    head = body_model.head_vertex_ids()
    assert len(head) > 300 and rest[head, 1].min() > 0.17  # above the neck
    feet = body_model.foot_vertex_ids("left")
    assert len(feet) > 200 and rest[feet, 1].max() < -1.1 and rest[feet, 0].min() > 0


def test_world_frame_faces_x_with_z_up(body_model: BodyModel):
    out = body_model.forward(body_model.zeros(1))
    joints = model_to_world(out.joints[0])
    nose_side = model_to_world(out.vertices[0]).max(0).values[0]  # front-most point
    assert joints[JOINT_INDEX["head"], 2] > joints[JOINT_INDEX["pelvis"], 2] + 0.5  # up is +z
    assert joints[JOINT_INDEX["left_wrist"], 1] > 0.6  # body left is world +y
    assert nose_side > joints[JOINT_INDEX["head"], 0] + 0.08  # the face looks towards +x


def test_missing_model_names_the_config_key(tmp_path: Path):
    with pytest.raises(AssetError, match=r"body\.model_path.*smpl-x\.is\.tue\.mpg\.de"):
        load_body_model(BodyModelOptions(model_path=str(tmp_path / "nowhere")))


def test_model_path_layouts(tmp_path: Path, standin_dir: Path):
    (tmp_path / "models" / "smplx").mkdir(parents=True)
    shutil.copy(standin_dir / "SMPLX_FEMALE.npz", tmp_path / "models" / "smplx" / "SMPLX_FEMALE.npz")
    model = load_body_model(BodyModelOptions(model_path=str(tmp_path / "models"), gender="female"))
    assert model.path.name == "SMPLX_FEMALE.npz" and model.num_vertices == 10_475
    with np.load(standin_dir / "SMPLX_NEUTRAL.npz") as z:
        np.savez(tmp_path / "broken.npz", v_template=z["v_template"], f=z["f"])
    with pytest.raises(AssetError, match=r"body\.model_path"):
        load_body_model(BodyModelOptions(model_path=str(tmp_path / "broken.npz")))


def test_default_options_use_the_standin():
    model = load_body_model(batch_size=2)
    assert model.path.parent.name == "standin" and model.num_betas == 10 and model.num_expression == 10
    assert load_body_model(BodyModelOptions(model_path="")).path == model.path  # config's "" = stand-in


def test_level_wise_kinematic_chain_matches_smplx() -> None:
    """The per-level forward kinematics equals smplx's serial batch_rigid_transform exactly."""
    from smplx.lbs import batch_rigid_transform

    model = load_body_model(dtype=torch.float64)
    generator = torch.Generator().manual_seed(3)
    skew = 0.3 * torch.randn(2, 55, 3, 3, dtype=torch.float64, generator=generator)
    rot = torch.linalg.matrix_exp(skew - skew.transpose(-1, -2))  # random rotations
    rest = torch.randn(2, 55, 3, dtype=torch.float64, generator=generator)
    joints, transforms = batch_rigid_transform(rot, rest, model.parents, dtype=torch.float64)
    ours_joints, ours_transforms = model._chain(rot, rest)
    assert torch.allclose(ours_joints, joints, atol=1e-12)
    assert torch.allclose(ours_transforms, transforms, atol=1e-12)
    assert len(model._levels) >= 8  # the SMPL-X tree is deep: the levels, not the 54 joints, loop
