"""Degradations that make a clean scripted render look more like a generated video (all off by default):
sensor noise, blur, colour drift, a shaking camera and MP4 compression, applied to the rendered frames.
(The avatar's appearance drift acts during rendering: see `appearance_gains`.)"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from zerohsi_core.errors import ConfigError
from zerohsi_core.io.video import read_video, write_video
from zerohsi_core.video.resample import UINT8_MAX


@dataclass(frozen=True)
class DegradeOptions:
    """Strength of each degradation; 0 / False leaves the frames untouched (video.scripted_<field>)."""

    noise_sigma: float = 0.0  # std of additive Gaussian pixel noise (frames in [0, 1])
    blur_sigma_px: float = 0.0  # std of a Gaussian blur, pixels
    color_drift: float = 0.0  # largest per-channel gain change reached at the end of the clip
    appearance_drift: float = 0.0  # largest per-channel change of the avatar's colours at the end
    camera_shake_px: float = 0.0  # std of a smooth random image shift, pixels
    shake_smoothing: int = 5  # frames averaged into the shake (larger = slower wobble)
    mp4: bool = False  # encode to H.264 and decode again (compression artefacts)

    def __post_init__(self) -> None:
        values = (
            self.noise_sigma,
            self.blur_sigma_px,
            self.color_drift,
            self.appearance_drift,
            self.camera_shake_px,
        )
        if min(values) < 0 or self.shake_smoothing < 1:
            raise ConfigError("video.scripted_* degradation strengths must be >= 0 (shake_smoothing >= 1)")

    @property
    def active(self) -> bool:
        return bool(
            self.noise_sigma or self.blur_sigma_px or self.color_drift or self.camera_shake_px or self.mp4
        )


def appearance_gains(options: DegradeOptions, n_frames: int, generator: torch.Generator) -> Tensor:
    """Per-frame RGB gains [T, 3] of the avatar's colours, drifting linearly from 1 to 1 ± drift."""
    direction = torch.rand(3, generator=generator) * 2.0 - 1.0
    ramp = torch.linspace(0.0, 1.0, n_frames)[:, None]
    return 1.0 + options.appearance_drift * ramp * direction


def _blur(frames: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur of frames [T, H, W, 3] (reflect padding)."""
    radius = max(1, math.ceil(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=frames.dtype)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    kernel = (kernel / kernel.sum()).to(frames.device)
    image = frames.permute(0, 3, 1, 2).reshape(-1, 1, *frames.shape[1:3])  # [T*3, 1, H, W]
    image = F.conv2d(F.pad(image, (radius, radius, 0, 0), mode="reflect"), kernel.view(1, 1, 1, -1))
    image = F.conv2d(F.pad(image, (0, 0, radius, radius), mode="reflect"), kernel.view(1, 1, -1, 1))
    return image.reshape(frames.shape[0], 3, *frames.shape[1:3]).permute(0, 2, 3, 1)


def _shake(frames: Tensor, sigma_px: float, smoothing: int, generator: torch.Generator) -> Tensor:
    """Shift each frame by a smooth random offset (std sigma_px), edges replicated."""
    T, H, W, _ = frames.shape
    steps = torch.randn(T + smoothing - 1, 2, generator=generator)
    offsets = steps.unfold(0, smoothing, 1).mean(-1) * math.sqrt(smoothing) * sigma_px  # [T, 2] pixels
    offsets[0] = 0.0  # the first frame is the given first frame
    theta = torch.zeros(T, 2, 3, dtype=frames.dtype)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, 0, 2] = 2.0 * offsets[:, 0] / W
    theta[:, 1, 2] = 2.0 * offsets[:, 1] / H
    grid = F.affine_grid(theta.to(frames.device), [T, 3, H, W], align_corners=False)
    moved = F.grid_sample(frames.permute(0, 3, 1, 2), grid, padding_mode="border", align_corners=False)
    return moved.permute(0, 2, 3, 1)


def _mp4(frames: Tensor, fps: float) -> Tensor:
    """Frames after an H.264 round trip through io/video.py."""
    with tempfile.TemporaryDirectory(prefix="zerohsi-degrade-") as folder:
        path = write_video(frames, Path(folder) / "clip.mp4", fps)
        decoded, _ = read_video(path)
    height, width = frames.shape[1:3]
    return torch.from_numpy(decoded[:, :height, :width].copy()).to(frames.device, frames.dtype) / UINT8_MAX


def degrade(frames: Tensor, fps: float, options: DegradeOptions, seed: int) -> Tensor:
    """Frames [T, H, W, 3] in [0, 1] with the configured degradations, seeded; unchanged when all are off."""
    if not options.active:
        return frames
    generator = torch.Generator().manual_seed(seed)
    out = frames
    if options.camera_shake_px > 0:
        out = _shake(out, options.camera_shake_px, options.shake_smoothing, generator)
    if options.blur_sigma_px > 0:
        out = _blur(out, options.blur_sigma_px)
    if options.color_drift > 0:
        gains = 1.0 + options.color_drift * torch.linspace(0.0, 1.0, len(out))[:, None] * (
            torch.rand(3, generator=generator) * 2.0 - 1.0
        )
        out = out * gains[:, None, None, :].to(out)
    if options.noise_sigma > 0:
        noise = torch.randn(out.shape, generator=generator, dtype=out.dtype).to(out.device)
        out = out + options.noise_sigma * noise
    out = out.clamp(0.0, 1.0)
    return _mp4(out, fps) if options.mp4 else out
