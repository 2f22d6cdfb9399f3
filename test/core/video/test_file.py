"""The `file` backend: a user's MP4/WebM or image folder, conformed; clear errors for bad files."""

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from zerohsi_core.config import Config, apply_overrides
from zerohsi_core.errors import AssetError
from zerohsi_core.io.video import write_frames, write_video
from zerohsi_core.video.file import FileVideoGenerator
from zerohsi_core.video.registry import create_video_generator


def _levels(count: int) -> np.ndarray:
    """Frames [count, 32, 48, 3] whose grey level encodes the frame index (20 + 7 k)."""
    return np.stack([np.full((32, 48, 3), 20 + 7 * k, np.uint8) for k in range(count)])


def _grey(clip: torch.Tensor) -> torch.Tensor:
    return clip.mean(dim=(1, 2, 3)) * 255


def test_mp4_from_config_is_resampled_over_its_duration(tmp_path: Path) -> None:
    path = write_video(_levels(30), tmp_path / "clip.mp4", fps=30)
    cfg = apply_overrides(Config(), {"video.backend": "file", "video.file_path": str(path)})
    video = create_video_generator(cfg.video.backend, cfg).generate(torch.rand(16, 24, 3), "sit", 0, 10)
    assert video.frames.shape == (10, 16, 24, 3) and video.fps == pytest.approx(10.0)
    assert video.source_frames == 30 and video.meta["path"] == str(path) and video.backend == "file"
    assert torch.allclose(_grey(video.frames), torch.tensor([20.0 + 21 * i for i in range(10)]), atol=3.0)


def test_webm_and_image_folder(tmp_path: Path) -> None:
    iio.imwrite(tmp_path / "clip.webm", _levels(8), plugin="pyav", codec="libvpx-vp9", fps=8)
    video = FileVideoGenerator(tmp_path / "clip.webm", 10.0).generate(torch.rand(32, 48, 3), "sit", 0, 4)
    assert video.fps == pytest.approx(4.0) and torch.allclose(
        _grey(video.frames), torch.tensor([20.0, 34, 48, 62]), atol=3.0
    )
    write_frames(_levels(6), tmp_path / "folder")
    video = FileVideoGenerator(tmp_path / "folder", 10.0).generate(torch.rand(32, 48, 3), "sit", 0, 3)
    assert video.fps == pytest.approx(10.0)  # a folder has no rate: it plays at the configured clip rate
    assert torch.allclose(_grey(video.frames), torch.tensor([20.0, 34, 48]), atol=0.5)  # frames 0, 2, 4


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(AssetError, match="set video.file_path"):
        create_video_generator("file", Config())
    frame = torch.rand(8, 8, 3)
    with pytest.raises(AssetError, match="does not exist"):
        FileVideoGenerator(tmp_path / "none.mp4", 10.0).generate(frame, "sit", 0, 4)
    (tmp_path / "junk.mp4").write_bytes(b"\x00" * 100)
    with pytest.raises(AssetError, match="cannot decode"):
        FileVideoGenerator(tmp_path / "junk.mp4", 10.0).generate(frame, "sit", 0, 4)
    (tmp_path / "empty").mkdir()
    with pytest.raises(AssetError, match="no .* files"):
        FileVideoGenerator(tmp_path / "empty", 10.0).generate(frame, "sit", 0, 4)
