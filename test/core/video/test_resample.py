"""Temporal and spatial resampling of generated clips to the configured length and the first frame's size."""

import numpy as np
import pytest
import torch

from zerohsi_core.errors import InputError
from zerohsi_core.video.resample import centre_crop_box, conform, resampled_fps, temporal_indices


def test_paper_clip_153_to_51_takes_every_third_frame_at_10_fps() -> None:
    assert torch.equal(temporal_indices(153, 51), torch.arange(0, 151, 3))
    assert resampled_fps(153, 30.0, 51) == pytest.approx(10.0)
    frames = torch.arange(153, dtype=torch.uint8).view(153, 1, 1, 1).expand(153, 4, 4, 3)
    clip, fps = conform(frames, 30.0, 51, 4, 4)
    assert fps == pytest.approx(10.0) and clip.shape == (51, 4, 4, 3) and clip.dtype == torch.float32
    assert torch.equal(torch.round(clip[:, 0, 0, 0] * 255).long(), torch.arange(0, 151, 3))


def test_upsampling_repeats_frames_and_never_runs_past_the_end() -> None:
    assert temporal_indices(5, 12).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 3, 4, 4, 4]
    assert temporal_indices(7, 7).tolist() == list(range(7))
    assert resampled_fps(5, 10.0, 12) == pytest.approx(24.0)  # 0.5 s either way


def test_centre_crop_keeps_the_aspect_ratio() -> None:
    assert centre_crop_box(40, 80, 20, 20) == (0, 20, 40, 40)  # wide source: sides cut
    assert centre_crop_box(90, 40, 30, 40) == (30, 0, 30, 40)  # tall source: top and bottom cut
    frame = np.zeros((1, 40, 80, 3), np.uint8)
    frame[:, :, :20, 0] = 255  # red left quarter, green middle half, blue right quarter
    frame[:, :, 20:60, 1] = 255
    frame[:, :, 60:, 2] = 255
    clip, _ = conform(frame, 1.0, 2, 10, 10)
    assert torch.allclose(clip, torch.tensor([0.0, 1.0, 0.0]).expand(2, 10, 10, 3))


def test_downscaling_is_antialiased_and_same_size_is_exact() -> None:
    checker = ((torch.arange(64).view(-1, 1) + torch.arange(64)) % 2).float()  # 1-pixel checkerboard
    frames = checker[None, :, :, None].expand(3, 64, 64, 3)
    clip, _ = conform(frames, 10.0, 3, 16, 16)
    assert torch.allclose(clip, torch.full_like(clip, 0.5), atol=0.02)  # no aliasing into stripes
    same, _ = conform(frames, 10.0, 3, 64, 64)
    assert torch.equal(same, frames)


def test_bad_inputs() -> None:
    with pytest.raises(InputError, match=r"\[T,H,W,3\]"):
        conform(np.zeros((4, 4, 3), np.uint8), 10.0, 2, 4, 4)
    with pytest.raises(InputError, match="fps must be positive"):
        conform(np.zeros((2, 4, 4, 3), np.uint8), 0.0, 2, 4, 4)
    with pytest.raises(InputError, match="NaN"):
        conform(torch.full((2, 4, 4, 3), float("nan")), 10.0, 2, 4, 4)
