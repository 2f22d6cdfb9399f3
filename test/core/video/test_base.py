"""Request validation shared by every video backend, the result type and options read from config."""

import numpy as np
import pytest
import torch

from zerohsi_core.config import VideoConfig
from zerohsi_core.errors import InputError
from zerohsi_core.video.base import GeneratedVideo, frame_to_image, options_from_config, validate_request
from zerohsi_core.video.kling import KlingOptions


def _frame() -> torch.Tensor:
    return torch.rand(8, 12, 3)


def test_a_good_request_passes() -> None:
    validate_request(_frame(), "a person sits on the sofa ☕", 0 + 51)


@pytest.mark.parametrize(
    ("frame", "prompt", "n_frames", "match"),
    [
        (torch.rand(8, 12), "sit", 51, r"shape \[H,W,3\]"),
        (torch.rand(8, 12, 3).half().int(), "sit", 51, "float tensor"),
        (torch.full((8, 12, 3), float("nan")), "sit", 51, "NaN"),
        (torch.full((8, 12, 3), 255.0), "sit", 51, "0–255 image"),
        (None, "sit", 51, "float tensor"),
        (_frame(), " \n", 51, "prompt is empty"),
        (_frame(), "sit \udc80", 51, "not valid UTF-8"),
        (_frame(), "x" * 2001, 51, "2001 characters; at most 2000"),
        (_frame(), b"sit", 51, "must be a str"),
        (_frame(), "sit", 1, r"2\.\.1000"),
        (_frame(), "sit", 1001, r"2\.\.1000"),
        (_frame(), "sit", True, r"2\.\.1000"),
    ],
)
def test_bad_requests_say_why(frame, prompt, n_frames, match: str) -> None:
    with pytest.raises(InputError, match=match):
        validate_request(frame, prompt, n_frames)


def test_generated_video_checks_its_frames() -> None:
    video = GeneratedVideo(torch.zeros(3, 4, 5, 3), 10.0, "file", 9)
    assert video.num_frames == 3 and video.meta == {}
    with pytest.raises(InputError, match="float32"):
        GeneratedVideo(torch.zeros(3, 4, 5, 3, dtype=torch.float64), 10.0, "file", 9)


def test_options_take_prefixed_config_keys_and_defaults() -> None:
    options = options_from_config(
        KlingOptions, VideoConfig(kling_model="kling-v1-6", kling_key_file="k"), "kling_"
    )
    assert (options.model, options.key_file, options.base_url) == (
        "kling-v1-6",
        "k",
        "https://api-singapore.klingai.com",
    )
    assert options.poll_interval_s == KlingOptions().poll_interval_s  # no such config key yet: default


def test_frame_to_image_rounds_to_8_bit() -> None:
    frame = torch.tensor([[[0.0, 0.5, 1.0]]]).expand(2, 3, 3)
    assert np.array_equal(np.asarray(frame_to_image(frame)), np.full((2, 3, 3), [0, 128, 255], np.uint8))
