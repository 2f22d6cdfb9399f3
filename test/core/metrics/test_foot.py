"""Foot sliding: a foot dragged 10 cm on the floor, a lifted foot, the (2 − 2^(h/H)) weight."""

import pytest
import torch
from core.metrics.conftest import standing

from zerohsi_core.errors import InputError
from zerohsi_core.metrics.foot import foot_sliding, sole_sliding

FRAMES = 11  # 10 steps of 1 cm = 10 cm


def two_feet(left_z: float, right_z: float, drag_left: float = 0.10) -> tuple[torch.Tensor, list]:
    """Vertices [T, 6, 3]: a left foot (ids 0-2) dragged along x by drag_left over the clip, a right
    foot (ids 3-5) standing still, soles at the given heights."""
    left = torch.tensor([[0.0, 0.1, left_z], [0.2, 0.1, left_z + 0.03], [0.1, 0.15, left_z + 0.06]])
    right = torch.tensor([[0.0, -0.1, right_z], [0.2, -0.1, right_z + 0.03], [0.1, -0.15, right_z + 0.06]])
    shift = torch.linspace(0.0, drag_left, FRAMES)[:, None, None] * torch.tensor([1.0, 0.0, 0.0])
    vertices = torch.cat([left + shift, right.expand(FRAMES, 3, 3)], dim=1)
    return vertices, [torch.arange(0, 3), torch.arange(3, 6)]


def test_foot_dragged_10cm_during_contact() -> None:
    vertices, feet = two_feet(0.0, 0.0)
    assert float(sole_sliding(vertices, feet[0], 0.05)) == pytest.approx(100.0 / FRAMES)  # mm per frame
    assert float(sole_sliding(vertices, feet[1], 0.05)) == pytest.approx(0.0)
    assert foot_sliding(vertices, feet, 0.05) == pytest.approx(100.0 / FRAMES / 2)  # mean of two feet


def test_lifted_foot_does_not_slide_and_weight_falls_with_height() -> None:
    lifted, feet = two_feet(0.10, 0.0)  # 10 cm up, above H = 5 cm
    assert foot_sliding(lifted, feet, 0.05) == pytest.approx(0.0)
    half, feet = two_feet(0.025, 0.0)  # h = H / 2: weight 2 - sqrt(2)
    assert float(sole_sliding(half, feet[0], 0.05)) == pytest.approx(100.0 / FRAMES * (2 - 2**0.5))
    sunk, feet = two_feet(-0.02, 0.0)  # below the floor counts as on it (weight 1), not more
    assert float(sole_sliding(sunk, feet[0], 0.05)) == pytest.approx(100.0 / FRAMES)
    raised_floor, feet = two_feet(0.30, 0.30)
    assert foot_sliding(raised_floor, feet, 0.05, floor_height=0.30) == pytest.approx(100.0 / FRAMES / 2)


def test_whole_body_sliding_and_standing_still(body) -> None:
    params = standing(body, FRAMES)
    still = body.forward(params).vertices
    feet = [body.foot_vertex_ids(side) for side in ("left", "right")]
    assert foot_sliding(still, feet, 0.05) == pytest.approx(0.0, abs=1e-4)
    moved = params.replace(
        transl=params.transl + torch.linspace(0, 0.1, FRAMES)[:, None] * torch.tensor([0, 1.0, 0])
    )
    sliding = body.forward(moved).vertices
    assert foot_sliding(sliding, feet, 0.05) == pytest.approx(100.0 / FRAMES, rel=1e-4)  # both feet slide


def test_bad_input() -> None:
    vertices, feet = two_feet(0.0, 0.0)
    with pytest.raises(InputError, match="foot_contact_height"):
        foot_sliding(vertices, feet, 0.0)
    with pytest.raises(InputError, match="T >= 2"):
        foot_sliding(vertices[:1], feet, 0.05)
