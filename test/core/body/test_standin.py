import json
from pathlib import Path

import numpy as np
import pytest
import smplx
import smplx.joint_names
import torch

from zerohsi_core.body import standin
from zerohsi_core.body.joints import JOINT_INDEX, NUM_JOINTS, PARENTS, arm_joints, hand_joints
from zerohsi_core.body.model import BodyModel
from zerohsi_core.body.standin_anatomy import SOLE_Y


def _npz(standin_dir: Path, *keys: str) -> dict[str, np.ndarray]:
    with np.load(standin_dir / "SMPLX_NEUTRAL.npz") as z:
        return {k: z[k] for k in keys or z.files}


@pytest.fixture(scope="module")
def smplx_layer(standin_dir: Path) -> smplx.SMPLX:
    return smplx.SMPLX(str(standin_dir), use_pca=False, flat_hand_mean=True)


def _edges(faces: torch.Tensor) -> torch.Tensor:
    e = torch.cat([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    return torch.unique(torch.sort(e, dim=1).values, dim=0)


def test_file_layout_matches_smplx(standin_dir: Path):
    a = _npz(standin_dir)
    v = 10_475
    assert (
        a["v_template"].shape == (v, 3)
        and a["weights"].shape == (v, 55)
        and a["J_regressor"].shape == (55, v)
    )
    assert a["shapedirs"].shape == (v, 3, 400) and a["posedirs"].shape == (v, 3, 486)
    assert a["kintree_table"].shape == (2, 55) and tuple(a["kintree_table"][0]) == PARENTS
    assert a["hands_componentsl"].shape == (45, 45) and a["hands_meanr"].shape == (45,)
    assert a["lmk_faces_idx"].shape == (51,) and a["dynamic_lmk_bary_coords"].shape == (79, 17, 3)
    assert a["f"].min() == 0 and a["f"].max() == v - 1 and len(np.unique(a["f"])) == v  # every vertex used
    w = a["weights"]
    assert w.min() >= 0.0 and np.allclose(w.sum(1), 1.0) and np.allclose(a["J_regressor"].sum(1), 1.0)
    comps = a["hands_componentsl"]
    assert np.allclose(comps @ comps.T, np.eye(45), atol=1e-10)


def test_smplx_runs_batch_51_with_face_contour(standin_dir: Path):
    layer = smplx.SMPLX(str(standin_dir), use_pca=False, batch_size=51, use_face_contour=True)
    g = torch.Generator().manual_seed(0)
    out = layer(body_pose=0.3 * torch.randn(51, 63, generator=g), betas=torch.randn(51, 10, generator=g))
    assert out.vertices.shape == (51, 10_475, 3) and out.joints.shape == (51, 55 + 21 + 51 + 17, 3)
    assert torch.isfinite(out.vertices).all() and torch.isfinite(out.joints).all()


def test_rest_joints_equal_regressor_times_template(standin_dir: Path, smplx_layer: smplx.SMPLX):
    a = _npz(standin_dir, "J_regressor", "v_template")
    joints = smplx_layer().joints[0, :NUM_JOINTS].detach().double().numpy()
    assert np.abs(joints - a["J_regressor"] @ a["v_template"]).max() < 1e-5
    assert np.abs(joints - standin.design_joints()).max() < 1e-5


def test_keypoint_vertices_sit_where_smplx_expects(smplx_layer: smplx.SMPLX):
    out = smplx_layer()
    j = dict(zip(smplx.joint_names.JOINT_NAMES, out.joints[0].detach().numpy(), strict=False))
    assert j["nose"][2] > j["head"][2] + 0.1 and j["left_eye"][0] > 0.02 and j["right_eye"][0] < -0.02
    assert (
        j["left_big_toe"][2] > 0.12 and j["left_heel"][2] < -0.08 and abs(j["left_heel"][1] - SOLE_Y) < 0.02
    )
    assert (
        j["left_middle"][0] > j["left_middle3"][0] + 0.01
        and j["right_pinky"][0] < j["right_pinky3"][0] - 0.01
    )
    assert j["left_ear"][0] > 0.08 and j["right_ear"][0] < -0.08


def test_joint_heights_are_plausible(body_model: BodyModel):
    out = body_model.forward(body_model.zeros(1))
    y = out.joints[0, :, 1]
    v = out.vertices[0]
    n = JOINT_INDEX
    height = (v[:, 1].max() - v[:, 1].min()).item()
    assert 1.65 < height < 1.80
    assert abs((y[n["pelvis"]] - v[:, 1].min()).item() - 0.95) < 0.02
    order = ["head", "neck", "left_shoulder", "spine3", "spine1", "pelvis", "left_knee", "left_ankle"]
    assert all(y[n[a]] > y[n[b]] for a, b in zip(order, order[1:], strict=False))
    span = (v[:, 0].max() - v[:, 0].min()).item()
    assert 1.6 < span < 1.9  # T-pose arm span close to the height


def test_left_elbow_moves_only_left_arm(body_model: BodyModel):
    rest = body_model.forward(body_model.zeros(1)).vertices[0]
    p = body_model.zeros(1)
    pose = p.body_pose.clone()
    pose[0, JOINT_INDEX["left_elbow"] - 1] = torch.tensor([0.0, -torch.pi / 2, 0.0])
    posed = body_model.forward(p.replace(body_pose=pose)).vertices[0]
    moved = (posed - rest).norm(dim=1) > 1e-6
    dominant = body_model.lbs_weights.argmax(1)
    in_left_arm = torch.isin(dominant, torch.tensor(arm_joints("left")))
    assert bool(in_left_arm[moved].all()) and rest[moved, 0].min() > 0.35  # nothing but the left forearm+hand
    assert bool(moved[torch.isin(dominant, torch.tensor(hand_joints("left")))].all())
    assert moved.sum() > 1000
    assert torch.equal(posed[~moved], rest[~moved])


def test_no_tearing_under_random_plausible_poses(body_model: BodyModel):
    g = torch.Generator().manual_seed(0)
    b = 20
    body = (torch.rand(b, 21, 3, generator=g) * 2 - 1) * 0.4
    for name, axis, sign in (
        ("left_knee", 0, 1),
        ("right_knee", 0, 1),
        ("left_elbow", 1, -1),
        ("right_elbow", 1, 1),
    ):
        body[:, JOINT_INDEX[name] - 1] = 0.0
        body[:, JOINT_INDEX[name] - 1, axis] = sign * 2.0 * torch.rand(b, generator=g)
    hands = (torch.rand(b, 15, 3, generator=g) * 2 - 1) * 0.4
    p = body_model.zeros(b).replace(
        body_pose=body, left_hand_pose=hands, right_hand_pose=hands.flip(0),
        global_orient=torch.randn(b, 3, generator=g), jaw_pose=(torch.rand(b, 3, generator=g) * 2 - 1) * 0.2,
    )  # fmt: skip
    e = _edges(body_model.faces)
    rest = body_model.forward(body_model.zeros(1)).vertices
    posed = body_model.forward(p).vertices
    ratio = (posed[:, e[:, 0]] - posed[:, e[:, 1]]).norm(dim=2) / (rest[:, e[:, 0]] - rest[:, e[:, 1]]).norm(
        dim=2
    )
    assert ratio.max() < 3.0


def test_betas_change_height_monotonically_and_girth(body_model: BodyModel):
    betas = torch.zeros(5, 10)
    betas[:, 0] = torch.tensor([-2.0, -1.0, 0.0, 1.0, 2.0])
    v = body_model.forward(body_model.zeros(5).replace(betas=betas)).vertices
    height = v[..., 1].amax(1) - v[..., 1].amin(1)
    assert bool((height.diff() > 0.04).all()) and 0.10 < (height[-1] - height[0]).item() < 0.4
    betas = torch.zeros(2, 10)
    betas[1, 1] = 2.0
    out = body_model.forward(body_model.zeros(2).replace(betas=betas))
    waist = out.joints[:, JOINT_INDEX["spine1"]]
    band = (out.vertices[..., 1] - waist[:, None, 1]).abs() < 0.01
    width = [out.vertices[i, band[i], 0].abs().max().item() for i in range(2)]
    assert width[1] > 1.15 * width[0]
    assert torch.allclose(out.joints[0, :22], out.joints[1, :22], atol=1e-5)  # girth keeps the skeleton


def test_smplx_loads_every_gender_as_a_variant(standin_dir: Path):
    height = {}
    for gender in ("male", "female"):
        v = smplx.SMPLX(str(standin_dir), gender=gender, use_pca=False)().vertices[0, :, 1]
        height[gender] = (v.max() - v.min()).item()
    v = _npz(standin_dir, "v_template")["v_template"][:, 1]
    assert height["male"] > v.max() - v.min() + 0.01 > height["female"] + 0.02


def test_cache_is_reused_and_regenerated_on_version_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    root = standin.ensure_standin_model(tmp_path)
    assert json.loads((root / standin.SIDECAR).read_text())["generator_version"] == standin.GENERATOR_VERSION
    writes = []
    monkeypatch.setattr(standin, "write_standin", writes.append)
    assert standin.ensure_standin_model(tmp_path) == root and writes == []
    monkeypatch.setattr(standin, "GENERATOR_VERSION", standin.GENERATOR_VERSION + 1)
    standin.ensure_standin_model(tmp_path)
    assert writes == [root]


def test_generation_is_deterministic(standin_dir: Path):
    mesh = standin.build_mesh()
    template = _npz(standin_dir, "v_template")["v_template"]
    assert np.array_equal(np.sort(mesh.vertices, axis=0), np.sort(template, axis=0))
