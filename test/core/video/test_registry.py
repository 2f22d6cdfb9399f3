"""Video backends are chosen by name; unknown names list the known ones."""

import pytest

from zerohsi_core.config import Config
from zerohsi_core.errors import AssetError, BackendError
from zerohsi_core.video import VIDEO_BACKENDS, VideoGenerator, create_video_generator
from zerohsi_core.video.file import FileVideoGenerator


def test_every_backend_module_is_registered() -> None:
    assert {"file", "kling", "wan"} <= set(VIDEO_BACKENDS.names())


def test_unknown_backend_lists_the_known_ones() -> None:
    with pytest.raises(BackendError, match=r"unknown video backend 'sora'; available: .*file, kling, .*wan"):
        create_video_generator("sora", Config())


def test_backends_implement_the_protocol() -> None:
    generator = FileVideoGenerator("clip.mp4", 10.0)
    assert isinstance(generator, VideoGenerator) and generator.name == "file"


def test_wan_without_weights_names_the_setting() -> None:
    with pytest.raises(AssetError, match="video.wan_path is not set.*Wan-AI/Wan2.1-I2V-14B-480P-Diffusers"):
        create_video_generator("wan", Config())
