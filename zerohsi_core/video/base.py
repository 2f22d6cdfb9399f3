"""The interface every video backend implements, its result type and the request checks they share."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np
import torch
from PIL import Image

from zerohsi_core.errors import BackendError, InputError
from zerohsi_core.io.video import to_uint8
from zerohsi_core.progress import CancelToken, ProgressCallback

MIN_FRAMES = 2  # a clip needs a start and an end
MAX_FRAMES = 1000
MAX_PROMPT_CHARS = 2000
RANGE_TOLERANCE = 1e-3  # first-frame values may overshoot [0, 1] by float round-off of compositing
STAGE = "video"  # stage name of the progress events of every backend

OptionsT = TypeVar("OptionsT")


@dataclass(frozen=True)
class GeneratedVideo:
    """Frames of a generated clip, already resampled to the requested length and the first frame's size."""

    frames: torch.Tensor  # [T, H, W, 3] float32 in [0, 1]
    fps: float  # frames per second of `frames` (the clip spans T / fps seconds)
    backend: str
    source_frames: int  # frames the backend produced before resampling
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.frames.ndim != 4 or self.frames.shape[-1] != 3 or self.frames.dtype != torch.float32:
            raise InputError(
                f"GeneratedVideo frames must be float32 [T,H,W,3], got {self.frames.dtype} "
                f"{tuple(self.frames.shape)}"
            )
        if self.frames.shape[0] == 0:
            raise BackendError(f"video backend {self.backend!r} returned a video with 0 frames")
        if not math.isfinite(self.fps) or self.fps <= 0:
            raise BackendError(f"video backend {self.backend!r} returned fps {self.fps!r}; it must be > 0")

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])


@runtime_checkable
class VideoGenerator(Protocol):
    """An image-to-video model: first frame + prompt → `n_frames` frames at the first frame's size."""

    name: str

    def generate(
        self,
        first_frame: torch.Tensor,  # [H, W, 3] float in [0, 1]
        prompt: str,
        seed: int,
        n_frames: int,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> GeneratedVideo:
        """Generate the clip; InputError for bad requests, BackendError/AssetError when the backend fails."""
        ...


def validate_request(first_frame: torch.Tensor, prompt: str, n_frames: int) -> None:
    """InputError with the reason if the first frame, the prompt or the frame count is unusable."""
    if not isinstance(first_frame, torch.Tensor) or not first_frame.is_floating_point():
        raise InputError("first_frame must be a float tensor [H,W,3] with values in [0, 1]")
    if first_frame.ndim != 3 or first_frame.shape[-1] != 3 or min(first_frame.shape[:2]) < 1:
        raise InputError(f"first_frame must have shape [H,W,3], got {tuple(first_frame.shape)}")
    if not torch.isfinite(first_frame).all():
        raise InputError("first_frame contains NaN or infinite values")
    low, high = float(first_frame.min()), float(first_frame.max())
    if low < -RANGE_TOLERANCE or high > 1.0 + RANGE_TOLERANCE:
        raise InputError(f"first_frame values must lie in [0, 1], got [{low:.3g}, {high:.3g}] (0–255 image?)")
    validate_prompt(prompt)
    validate_frame_count(n_frames)


def validate_frame_count(n_frames: int) -> None:
    """InputError unless n_frames is an integer in MIN_FRAMES..MAX_FRAMES."""
    if (
        isinstance(n_frames, bool)
        or not isinstance(n_frames, int)
        or not MIN_FRAMES <= n_frames <= MAX_FRAMES
    ):
        raise InputError(f"n_frames must be an integer in {MIN_FRAMES}..{MAX_FRAMES}, got {n_frames!r}")


def validate_prompt(prompt: str) -> None:
    """InputError unless the prompt is a non-empty UTF-8 string of at most MAX_PROMPT_CHARS characters."""
    if not isinstance(prompt, str):
        raise InputError(f"prompt must be a str, got {type(prompt).__name__}")
    if not prompt.strip():
        raise InputError("prompt is empty; describe the interaction, e.g. 'a person sits on the sofa'")
    try:
        prompt.encode("utf-8")
    except UnicodeEncodeError as err:
        raise InputError(f"prompt is not valid UTF-8 (character {err.start}: lone surrogate)") from None
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InputError(f"prompt has {len(prompt)} characters; at most {MAX_PROMPT_CHARS} are allowed")


def frame_to_image(first_frame: torch.Tensor) -> Image.Image:
    """First frame [H,W,3] float in [0,1] → an 8-bit RGB PIL image (what the models take as input)."""
    pixels = to_uint8(first_frame.detach().float().clamp(0.0, 1.0))  # [H, W, 3] uint8
    return Image.fromarray(np.ascontiguousarray(pixels))


def options_from_config(cls: type[OptionsT], section: object, prefix: str) -> OptionsT:
    """Options dataclass whose field `f` is `section.<prefix>f` where that key exists, else its default."""
    values = {
        f.name: getattr(section, prefix + f.name)
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if hasattr(section, prefix + f.name)
    }
    return cls(**values)
