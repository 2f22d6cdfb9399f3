"""Reading and writing videos and image sequences (PyAV through imageio)."""

from __future__ import annotations

from pathlib import Path

import av
import imageio.v3 as iio
import numpy as np
import torch

from zerohsi_core.errors import AssetError, InputError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


def to_uint8(frames: torch.Tensor | np.ndarray) -> np.ndarray:
    """Float frames in [0, 1] ([T,H,W,3] or [H,W,3]) → uint8 array; NaN is an error."""
    array = frames.detach().cpu().numpy() if isinstance(frames, torch.Tensor) else np.asarray(frames)
    if array.dtype == np.uint8:
        return array
    if not np.isfinite(array).all():
        raise InputError("frames contain NaN or infinite values")
    return (np.clip(array, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def write_video(frames: torch.Tensor | np.ndarray, path: str | Path, fps: float) -> Path:
    """Write frames [T,H,W,3] (float in [0,1] or uint8) as an H.264 MP4 (even sizes are padded)."""
    if fps <= 0:
        raise InputError(f"fps must be positive, got {fps}")
    array = to_uint8(frames)
    if array.ndim != 4 or array.shape[-1] != 3 or len(array) == 0:
        raise InputError(f"expected frames [T,H,W,3] with T > 0, got shape {array.shape}")
    pad_h, pad_w = array.shape[1] % 2, array.shape[2] % 2  # yuv420p needs even sizes
    if pad_h or pad_w:
        array = np.pad(array, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, array, plugin="pyav", codec="libx264", fps=fps, out_pixel_format="yuv420p")
    return path


def write_frames(frames: torch.Tensor | np.ndarray, folder: str | Path, prefix: str = "frame") -> list[Path]:
    """Write frames [T,H,W,3] as numbered PNGs; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, frame in enumerate(to_uint8(frames)):
        paths.append(folder / f"{prefix}_{index:04d}.png")
        iio.imwrite(paths[-1], frame)
    return paths


def read_video(path: str | Path) -> tuple[np.ndarray, float]:
    """Frames [T,H,W,3] uint8 and fps of an MP4/WebM file or a folder of images (fps 0 if unknown)."""
    path = Path(path)
    if not path.exists():
        raise AssetError(f"video {path} does not exist")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise AssetError(f"image folder {path} holds no {'/'.join(IMAGE_SUFFIXES)} files")
        frames = [np.asarray(iio.imread(f))[..., :3] for f in files]
        if len({f.shape for f in frames}) != 1:
            raise AssetError(f"images in {path} differ in size")
        return np.stack(frames), 0.0
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            fps = float(stream.average_rate or 0.0)
            decoded = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
        frames = np.stack(decoded) if decoded else np.zeros((0, 0, 0, 3), np.uint8)
    except Exception as err:  # PyAV raises many types for broken files
        raise AssetError(f"cannot decode video {path}: {err}") from err
    if frames.ndim != 4 or len(frames) == 0:
        raise AssetError(f"video {path} has no frames")
    return frames[..., :3], fps
