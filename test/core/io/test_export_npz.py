"""AMASS-style npz export: keys, shapes and values as documented."""

import numpy as np
import pytest
from core.io.export_result import make_result

from zerohsi_core.io.export_common import load_motion
from zerohsi_core.io.export_npz import write_amass_npz
from zerohsi_core.io.results import read_result


def test_keys_shapes_and_values(tmp_path) -> None:
    result = make_result(tmp_path / "res", frames=3)
    path = write_amass_npz(load_motion(result), tmp_path / "a.npz")
    _, motion = read_result(result)
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    shapes = {"poses": (3, 165), "trans": (3, 3), "betas": (10,), "root_orient": (3, 3), "pose_body": (3, 63),
              "pose_jaw": (3, 3), "pose_eye": (3, 6), "pose_hand": (3, 90), "joints": (3, 55, 3),
              "object_poses": (3, 4, 4)}  # fmt: skip
    assert {k: arrays[k].shape for k in shapes} == shapes
    assert str(arrays["gender"]) == "neutral" and str(arrays["surface_model_type"]) == "smplx"
    assert float(arrays["mocap_framerate"]) == float(arrays["mocap_frame_rate"]) == 10.0
    assert float(arrays["mocap_time_length"]) == pytest.approx(0.3) and int(arrays["num_betas"]) == 10
    assert str(arrays["object_id"]) == "box"
    # SMPL-X order inside `poses`: root, body, jaw, eyes, left hand, right hand
    p = arrays["poses"]
    assert np.allclose(p[:, :3], motion["root_orient"]) and np.allclose(p[:, 3:66], motion["pose_body"])
    assert np.allclose(p[:, 66:69], motion["pose_jaw"]) and np.allclose(p[:, 69:75], motion["pose_eye"])
    assert np.allclose(p[:, 75:], motion["pose_hand"]) and np.allclose(arrays["trans"], motion["trans"])
