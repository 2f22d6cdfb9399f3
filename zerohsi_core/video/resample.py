"""Bringing any backend's clip to the configured length and the first frame's size (paper: 153 → 51 frames).

Temporal rule: the output spans the whole source clip. Output frame i stands for the time interval
[i, i + 1) · T_in / n of the source, so it takes source frame round(i · T_in / n) (clamped to the last
frame), and the output rate is fps_out = n · fps_in / T_in (same duration T_in / fps_in). For the paper,
153 frames at 30 fps → indices 0, 3, …, 150 at 10 fps.

Spatial rule: the reconstruction compares the video with renders at the first frame's size, so frames are
centre-cropped to that aspect ratio (never stretched) and resized with antialiased bilinear filtering.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from zerohsi_core.errors import InputError

UINT8_MAX = 255.0
RESIZE_CHUNK = 16  # frames resized per interpolate call (bounds peak memory on long 1024² clips)


def temporal_indices(num_source: int, n_frames: int) -> torch.Tensor:
    """Source frame indices [n_frames] spread evenly over the whole clip (see module docstring)."""
    if num_source < 1 or n_frames < 1:
        raise InputError(f"cannot resample {num_source} source frames to {n_frames}")
    positions = torch.arange(n_frames, dtype=torch.float64) * num_source / n_frames
    return torch.floor(positions + 0.5).long().clamp(max=num_source - 1)  # [n_frames]


def resampled_fps(num_source: int, fps: float, n_frames: int) -> float:
    """Frame rate of the resampled clip: n · fps_in / T_in (the duration is kept)."""
    return n_frames * fps / num_source


def centre_crop_box(
    height: int, width: int, target_height: int, target_width: int
) -> tuple[int, int, int, int]:
    """(top, left, crop_height, crop_width) of the largest centred crop with the target's aspect ratio."""
    if width * target_height > height * target_width:  # source is wider: cut the sides
        crop_h, crop_w = height, max(1, round(height * target_width / target_height))
    else:  # source is taller (or equal): cut top and bottom
        crop_h, crop_w = max(1, round(width * target_height / target_width)), width
    return (height - crop_h) // 2, (width - crop_w) // 2, crop_h, crop_w


def conform(
    frames: torch.Tensor | np.ndarray,  # [T, H, W, 3] uint8 or float in [0, 1]
    fps: float,
    n_frames: int,
    height: int,
    width: int,
) -> tuple[torch.Tensor, float]:
    """Resample a clip to n_frames over its whole duration and to height × width → (frames, fps_out).

    Returns float32 frames [n_frames, height, width, 3] in [0, 1] and fps_out = n_frames · fps / T.
    """
    clip = torch.as_tensor(frames)
    if clip.ndim != 4 or clip.shape[-1] != 3 or clip.shape[0] == 0:
        raise InputError(f"expected frames [T,H,W,3] with T > 0, got shape {tuple(clip.shape)}")
    if not fps > 0:
        raise InputError(f"source fps must be positive, got {fps}")
    if height < 1 or width < 1:
        raise InputError(f"target size must be positive, got {height}x{width}")
    picked = clip[temporal_indices(clip.shape[0], n_frames)]  # [n, H, W, 3]
    picked = picked.float() / UINT8_MAX if picked.dtype == torch.uint8 else picked.float()
    if not torch.isfinite(picked).all():
        raise InputError("video frames contain NaN or infinite values")
    top, left, crop_h, crop_w = centre_crop_box(picked.shape[1], picked.shape[2], height, width)
    picked = picked[:, top : top + crop_h, left : left + crop_w]
    return _resize(picked, height, width).clamp(0.0, 1.0).contiguous(), resampled_fps(
        clip.shape[0], fps, n_frames
    )


def _resize(frames: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Antialiased bilinear resize of frames [T,h,w,3] → [T,height,width,3]; identity if the size matches."""
    if frames.shape[1:3] == (height, width):
        return frames
    chunks = []
    for chunk in frames.split(RESIZE_CHUNK):
        nchw = chunk.permute(0, 3, 1, 2)  # [t, 3, h, w]
        resized = F.interpolate(
            nchw, size=(height, width), mode="bilinear", antialias=True, align_corners=False
        )
        chunks.append(resized.permute(0, 2, 3, 1))
    return torch.cat(chunks)
