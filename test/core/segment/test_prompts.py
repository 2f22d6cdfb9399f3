"""Prompt points: disk erosion, exact farthest-point samples, visible pixels only, negatives, errors."""

import pytest
import torch

from zerohsi_core.errors import InputError
from zerohsi_core.segment.prompts import (
    NEGATIVE,
    POSITIVE,
    PromptOptions,
    erode_mask,
    farthest_point_sampling,
    sample_prompt,
)

H, W = 96, 128


def _rect(top: int, bottom: int, left: int, right: int) -> torch.Tensor:
    mask = torch.zeros(H, W, dtype=torch.bool)
    mask[top:bottom, left:right] = True
    return mask


def _disk_inside(mask: torch.Tensor, point: torch.Tensor, radius: int) -> bool:
    """Whether every pixel within `radius` of the (x, y) point lies in the mask."""
    rows, cols = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
    near = (cols - point[0]) ** 2 + (rows - point[1]) ** 2 <= radius**2
    return bool(mask[near].all())


def _min_pairwise(points: torch.Tensor) -> float:
    dist = torch.cdist(points, points) + torch.eye(points.shape[0]) * 1e9
    return float(dist.min())


def test_erosion_by_disk_and_image_border() -> None:
    mask = torch.zeros(9, 9, dtype=torch.bool)
    mask[1:8, 1:8] = True
    eroded = erode_mask(mask, 1)
    assert eroded.sum() == 25 and bool(eroded[2:7, 2:7].all())
    # radius 2: the disk's 4-neighbours at distance 2 reach the edge, its corners (distance √8) do not
    assert erode_mask(mask, 2).sum() == 9
    touching = torch.zeros(5, 5, dtype=torch.bool)
    touching[:, :3] = True  # touches the left, top and bottom border: only the right edge erodes
    assert erode_mask(touching, 1).sum() == 10 and bool(erode_mask(touching, 1)[:, :2].all())
    assert torch.equal(erode_mask(mask, 0), mask)


def test_fps_exact_points_on_a_line_and_a_square() -> None:
    line = torch.zeros(5, 11, dtype=torch.bool)
    line[2, :] = True
    expected = torch.tensor([[5.0, 2.0], [0.0, 2.0], [10.0, 2.0]])
    assert torch.equal(farthest_point_sampling(line, 3), expected)
    square = torch.ones(5, 5, dtype=torch.bool)
    # centre, then the corners; ties go to the first pixel in row-major order
    expected = torch.tensor([[2.0, 2.0], [0.0, 0.0], [4.0, 0.0], [0.0, 4.0], [4.0, 4.0]])
    assert torch.equal(farthest_point_sampling(square, 5), expected)


def test_fps_returns_x_y_and_at_most_the_area() -> None:
    mask = torch.zeros(6, 9, dtype=torch.bool)
    mask[2, 7] = True
    mask[4, 1] = True
    points = farthest_point_sampling(mask, 5)
    assert points.shape == (2, 2)
    assert {tuple(p) for p in points.tolist()} == {(7.0, 2.0), (1.0, 4.0)}


def test_points_land_on_visible_eroded_pixels_not_on_the_occluder() -> None:
    human = _rect(10, 90, 30, 70)
    occluder = _rect(40, 60, 20, 80)  # a table in front of the human's middle
    visible = human & ~occluder
    options = PromptOptions(num_points=12, erode_px=3, num_negative=0)
    prompt = sample_prompt(visible.float(), options=options)
    assert prompt.points.shape == (12, 2) and bool((prompt.labels == POSITIVE).all())
    for point in prompt.points:
        assert _disk_inside(visible, point, options.erode_px)
        assert not bool(occluder[int(point[1]), int(point[0])])
    # both visible parts (above and below the occluder) receive points
    rows = prompt.points[:, 1]
    assert bool((rows < 40).any()) and bool((rows >= 60).any())


def test_fps_points_are_distinct_and_spread_wider_than_random() -> None:
    mask = _rect(10, 90, 30, 70)
    points = farthest_point_sampling(mask, 8)
    assert len({tuple(p) for p in points.tolist()}) == 8
    pixels = torch.nonzero(mask).flip(-1).float()  # [N, 2] (x, y)
    gen = torch.Generator().manual_seed(0)
    random_best = max(
        _min_pairwise(pixels[torch.randperm(pixels.shape[0], generator=gen)[:8]]) for _ in range(50)
    )
    assert _min_pairwise(points) > random_best


def test_erosion_falls_back_to_the_whole_mask_when_it_empties() -> None:
    thin = _rect(50, 52, 10, 100)  # 2 px high: erosion by 3 px leaves nothing
    prompt = sample_prompt(thin, options=PromptOptions(num_points=4, erode_px=3))
    assert prompt.points.shape == (4, 2)
    assert bool(thin[prompt.points[:, 1].long(), prompt.points[:, 0].long()].all())


def test_negative_points_lie_on_the_other_mask() -> None:
    human = _rect(10, 90, 30, 60)
    obj = _rect(50, 80, 70, 110)
    prompt = sample_prompt(human, obj, PromptOptions(num_points=5, num_negative=3), "human")
    assert prompt.labels.tolist() == [POSITIVE] * 5 + [NEGATIVE] * 3
    assert prompt.labels.dtype == torch.int32 and prompt.points.dtype == torch.float32
    xs, ys = prompt.points[:, 0].long(), prompt.points[:, 1].long()
    assert bool(human[ys[:5], xs[:5]].all()) and bool(obj[ys[5:], xs[5:]].all())
    alone = sample_prompt(human, torch.zeros(H, W), PromptOptions(num_points=5, num_negative=3))
    assert alone.labels.tolist() == [POSITIVE] * 5


def test_invisible_entity_is_an_input_error() -> None:
    with pytest.raises(InputError, match="the human is not visible in the first frame"):
        sample_prompt(torch.zeros(H, W))
    faint = torch.full((H, W), 0.3)  # accumulated weight below the threshold everywhere
    with pytest.raises(InputError, match="the object is not visible"):
        sample_prompt(faint, entity="object")
    with pytest.raises(InputError, match=r"\[H, W\]"):
        sample_prompt(torch.ones(2, H, W))
