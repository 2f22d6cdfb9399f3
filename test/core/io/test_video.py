"""Video files: write → read round trip, image folders, clear errors."""

from pathlib import Path

import numpy as np
import pytest

from zerohsi_core.errors import AssetError, InputError
from zerohsi_core.io.video import read_video, write_frames, write_video


def _gradient_frames(t: int = 6, h: int = 32, w: int = 48) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    frames = np.stack([np.stack([x, y, np.full_like(x, i / t)], -1) for i in range(t)])
    return frames.astype(np.float32)


def test_mp4_round_trip_keeps_size_fps_and_content(tmp_path: Path) -> None:
    frames = _gradient_frames()
    path = write_video(frames, tmp_path / "a.mp4", fps=10)
    back, fps = read_video(path)
    assert back.shape == (6, 32, 48, 3) and fps == pytest.approx(10.0)
    assert np.abs(back / 255.0 - frames).mean() < 0.02  # H.264 loss on a smooth gradient


def test_odd_sizes_are_padded_and_folders_read(tmp_path: Path) -> None:
    frames = _gradient_frames(3, 31, 45)
    assert read_video(write_video(frames, tmp_path / "o.mp4", 5))[0].shape == (3, 32, 46, 3)
    write_frames(frames, tmp_path / "png")
    back, fps = read_video(tmp_path / "png")
    assert fps == 0.0 and np.array_equal(back, (frames * 255 + 0.5).astype(np.uint8))


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(AssetError, match="does not exist"):
        read_video(tmp_path / "none.mp4")
    (tmp_path / "junk.mp4").write_bytes(b"not a video")
    with pytest.raises(AssetError, match="cannot decode"):
        read_video(tmp_path / "junk.mp4")
    (tmp_path / "empty").mkdir()
    with pytest.raises(AssetError, match="holds no"):
        read_video(tmp_path / "empty")
    with pytest.raises(InputError, match="NaN"):
        write_video(np.full((2, 4, 4, 3), np.nan), tmp_path / "n.mp4", 10)
    with pytest.raises(InputError, match="fps"):
        write_video(_gradient_frames(), tmp_path / "f.mp4", 0)
