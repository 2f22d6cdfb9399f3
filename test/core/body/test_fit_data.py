import json

import numpy as np
import pytest
import torch
from core.body.views import sphere_cameras
from PIL import Image

from zerohsi_core.body.fit_data import load_fit_inputs
from zerohsi_core.body.model import BodyModel
from zerohsi_core.body.pose import arms_down_pose, standing_params
from zerohsi_core.errors import AssetError, InputError


def _write_images(folder, names, size=(24, 16)):
    folder.mkdir()
    g = np.random.default_rng(0)
    pixels = []
    for name in names:
        img = g.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(img).save(folder / name)
        pixels.append(img)
    return np.stack(pixels)


def test_json_spec_gives_images_cameras_and_params(body_model: BodyModel, tmp_path):
    names = ["b.png", "a.png"]
    pixels = _write_images(tmp_path / "img", names)
    params = standing_params(body_model, (0.3, 0.1), 0.5, batch=2, body_pose=arms_down_pose(2))
    cams = sphere_cameras((0.0, 0.0, 0.9), [0.0, 1.0], [0.1, 0.2], size=16)
    frames = [
        {"image": n, "K": (cams[i].K * torch.tensor([[1.5], [1.0], [1.0]])).tolist(),
         "world_to_cam": cams[i].world_to_cam.tolist(), "global_orient": params.global_orient[i].tolist(),
         "transl": params.transl[i].tolist(), "body_pose": params.body_pose[i].flatten().tolist(),
         "betas": [0.5] + [0.0] * 9}
        for i, n in enumerate(names)
    ]  # fmt: skip
    (tmp_path / "spec.json").write_text(json.dumps({"frames": frames}))
    inputs = load_fit_inputs(tmp_path / "img", tmp_path / "spec.json", body_model)
    assert inputs.names == names and inputs.masks is None
    assert torch.allclose(inputs.images, torch.from_numpy(pixels).float() / 255)
    assert (inputs.cameras[1].width, inputs.cameras[1].height) == (24, 16)
    assert torch.allclose(inputs.cameras[1].world_to_cam, cams[1].world_to_cam)
    assert torch.allclose(inputs.params.body_pose, params.body_pose, atol=1e-6)
    assert torch.allclose(inputs.params.transl, params.transl)
    assert inputs.params.betas[:, 0].tolist() == [0.5, 0.5] and inputs.params.jaw_pose.abs().sum() == 0


def test_npz_spec_with_shared_values_and_masks(body_model: BodyModel, tmp_path):
    names = ["v0.png", "v1.png", "v2.png"]
    _write_images(tmp_path / "img", names)
    _write_images(tmp_path / "mask", names)
    cam = sphere_cameras((0.0, 0.0, 0.9), [0.0], [0.0], size=16)[0]
    np.savez(
        tmp_path / "spec.npz", K=cam.K.numpy(), world_to_cam=np.stack([cam.world_to_cam.numpy()] * 3),
        global_orient=np.zeros(3), transl=np.zeros((3, 3)), body_pose=np.full((3, 21, 3), 0.1),
    )  # fmt: skip
    inputs = load_fit_inputs(tmp_path / "img", tmp_path / "spec.npz", body_model, tmp_path / "mask")
    assert inputs.names == names and inputs.masks.shape == (3, 16, 24)
    assert inputs.params.batch_size == 3 and float(inputs.params.body_pose.mean()) == pytest.approx(0.1)


def test_bad_specs_are_reported(body_model: BodyModel, tmp_path):
    _write_images(tmp_path / "img", ["a.png"])
    with pytest.raises(AssetError, match="does not exist"):
        load_fit_inputs(tmp_path / "img", tmp_path / "none.json", body_model)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(AssetError, match="cannot read the fit spec"):
        load_fit_inputs(tmp_path / "img", tmp_path / "bad.json", body_model)
    np.savez(tmp_path / "partial.npz", K=np.eye(3), transl=np.zeros(3))
    with pytest.raises(InputError, match="world_to_cam"):
        load_fit_inputs(tmp_path / "img", tmp_path / "partial.npz", body_model)
    np.savez(tmp_path / "shape.npz", K=np.eye(3), world_to_cam=np.eye(4), global_orient=np.zeros(3),
             transl=np.zeros(5))  # fmt: skip
    with pytest.raises(InputError, match="transl"):
        load_fit_inputs(tmp_path / "img", tmp_path / "shape.npz", body_model)
