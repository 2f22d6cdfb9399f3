"""BVH export: written then parsed back gives the same joint positions, in both layouts and units."""

import numpy as np
import pytest
from core.io.export_result import make_result

from zerohsi_core.body.joints import JOINT_NAMES, PARENTS
from zerohsi_core.errors import AssetError, InputError
from zerohsi_core.io.export_bvh import (
    UNIT_SCALE,
    BvhOptions,
    bvh_basis,
    bvh_positions,
    bvh_text,
    read_bvh,
    write_bvh,
)
from zerohsi_core.io.export_common import ExportMotion, body_rest, load_motion


@pytest.fixture(scope="module")
def motion(tmp_path_factory) -> ExportMotion:
    return load_motion(make_result(tmp_path_factory.mktemp("bvh") / "res", frames=5))


@pytest.mark.parametrize(("up", "units"), [("y", "m"), ("y", "cm"), ("z", "m")])
def test_round_trip_gives_the_same_joints(motion: ExportMotion, tmp_path, up: str, units: str) -> None:
    rest = body_rest(motion)
    path = write_bvh(motion, rest, tmp_path / "m.bvh", BvhOptions(up=up, units=units))  # type: ignore[arg-type]
    data = read_bvh(path)
    order = [data.names.index(name) for name in JOINT_NAMES]
    world, _ = bvh_basis(up)
    joints = (bvh_positions(data) / UNIT_SCALE[units] @ world)[:, order]  # BVH frame → z-up world
    assert np.abs(joints - motion.joints).max() < 1e-3  # ≤ 1 mm
    assert data.frame_time == pytest.approx(0.1)
    parent_names = {
        n: data.names[p] if p >= 0 else None for n, p in zip(data.names, data.parents, strict=True)
    }
    assert parent_names == {
        n: JOINT_NAMES[p] if p >= 0 else None for n, p in zip(JOINT_NAMES, PARENTS, strict=True)
    }
    # rest offsets are the body's rest joints: the left knee hangs below the hip by the thigh length
    knee = data.names.index("left_knee")
    thigh = np.linalg.norm(rest.joints[4] - rest.joints[1]) * UNIT_SCALE[units]
    assert np.linalg.norm(data.offsets[knee]) == pytest.approx(thigh, rel=1e-5)
    assert data.offsets[knee]["yz".index(up) + 1] < -0.3 * UNIT_SCALE[units]  # straight down the up axis


def test_channels_and_header(motion: ExportMotion) -> None:
    text = bvh_text(motion, body_rest(motion))
    assert text.startswith("HIERARCHY\nROOT pelvis\n{\n  OFFSET 0.000000 0.000000 0.000000\n")
    assert "CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation" in text
    assert text.count("CHANNELS 3 Zrotation Yrotation Xrotation") == 54
    assert "Frames: 5\nFrame Time: 0.10000000\n" in text
    assert len(text.split("Frame Time: 0.10000000\n")[1].splitlines()[0].split()) == 6 + 54 * 3


def test_bad_options_and_input(motion: ExportMotion) -> None:
    rest = body_rest(motion)
    with pytest.raises(InputError, match="up axis"):
        bvh_text(motion, rest, BvhOptions(up="x"))  # type: ignore[arg-type]
    with pytest.raises(InputError, match="units"):
        bvh_text(motion, rest, BvhOptions(units="inch"))  # type: ignore[arg-type]
    with pytest.raises(AssetError, match="malformed BVH"):
        read_bvh("HIERARCHY\nROOT a\n{\nOFFSET 0 0\n")
