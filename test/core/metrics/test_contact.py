"""Hand–object contact: a hand resting on a box, 10 cm above it, and inside it."""

import numpy as np
import pytest
import torch
from core.metrics.conftest import box_object, floor_scene, standing

from zerohsi_core.errors import InputError
from zerohsi_core.geometry.se3 import make_se3
from zerohsi_core.metrics.contact import contact_frames, contact_ratio
from zerohsi_core.metrics.motion import EvalMotion
from zerohsi_core.metrics.physical import PhysicalOptions, physical_metrics

CUBE = 0.04  # a 4 cm cube under the lowest hand vertex


def test_contact_ratio_of_given_distances() -> None:
    signed = np.array([[0.5, 0.019], [0.5, 0.021], [-0.01, 0.3], [0.1, 0.1]])
    np.testing.assert_array_equal(contact_frames(signed, 0.02), [True, False, True, False])
    assert contact_ratio(signed, 0.02) == 0.5
    assert contact_ratio(signed, 0.2) == 1.0
    with pytest.raises(InputError, match="metrics.contact_threshold"):
        contact_ratio(signed, -0.01)


def _hand_motion(body, gaps: list[float]) -> EvalMotion:
    """The standing body with a cube below its lowest hand vertex, the cube's top `gap` below the hand."""
    params = standing(body, len(gaps))
    with torch.no_grad():
        out = body.forward(params)
    hand = out.vertices[0, body.hand_vertex_ids()]
    tip = hand[hand[:, 2].argmin()].double()  # [3]
    centers = [tip - torch.tensor([0.0, 0.0, gap + CUBE / 2], dtype=torch.float64) for gap in gaps]
    poses = torch.stack([make_se3(torch.eye(3, dtype=torch.float64), c) for c in centers])
    return EvalMotion(params, out.joints, "box", poses, [], ["touch the box"] * len(gaps), 10.0)


def test_hand_on_and_10cm_off_the_object(body) -> None:
    motion = _hand_motion(body, [0.005, 0.005, 0.10, 0.10])
    scene = floor_scene({"box": box_object((CUBE,) * 3, torch.eye(4))})
    values = physical_metrics(motion, scene, body, PhysicalOptions(contact_threshold=0.02))
    assert values["contact"] == pytest.approx(0.5)  # on for two frames of four
    assert values["pene_obj_cm"] == 0.0
    off = physical_metrics(_hand_motion(body, [0.10] * 2), scene, body, PhysicalOptions())
    assert off["contact"] == 0.0
    assert (
        physical_metrics(_hand_motion(body, [0.10] * 2), scene, body, PhysicalOptions(0.11))["contact"] == 1
    )


def test_hand_inside_the_object_penetrates(body) -> None:
    motion = _hand_motion(body, [-0.01, -0.01])  # the cube's top 1 cm above the hand's lowest vertex
    scene = floor_scene({"box": box_object((CUBE,) * 3, torch.eye(4))})
    values = physical_metrics(motion, scene, body, PhysicalOptions())
    assert values["contact"] == 1.0
    assert 0.0 < values["pene_obj_cm"] <= 1.0 + 1e-4  # no vertex is deeper than 1 cm
    assert values["pene_scene"] == 0.0 and values["foot_sliding_mm"] == pytest.approx(0.0, abs=1e-4)
