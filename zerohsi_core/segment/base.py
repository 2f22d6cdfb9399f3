"""The segmenter interface: frames and first-frame visible masks in, per-frame human/object masks out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor

from zerohsi_core.errors import BackendError, InputError
from zerohsi_core.progress import CancelToken, ProgressCallback

STAGE = "segment"  # stage name in progress events
VISIBLE_THRESHOLD = 0.5  # a mask pixel at or above this counts as the entity


def require_visible(masks: Tensor, name: str, backend: str) -> None:
    """BackendError if an entity is visible in no frame at all (masks [T, H, W]); frames where it has left
    the image are allowed: the reconstruction carries it through them from its neighbours."""
    if masks.shape[0] > 0 and not bool((masks >= VISIBLE_THRESHOLD).any()):
        raise BackendError(
            f"segmenter {backend!r} found the {name} in none of the {masks.shape[0]} frames (empty masks): "
            "the video lost it; try another seed or prompt, or check the segmenter's weights"
        )


@dataclass(frozen=True)
class VideoMasks:
    """Per-frame masks M_H (human) and M_O (object) of a video (Sec. 3.2), values in [0, 1]."""

    human: Tensor  # [T, H, W] float or bool
    object: Tensor | None  # [T, H, W] or None when the clip has no object
    backend: str  # the segmenter that produced them

    def __post_init__(self) -> None:
        if self.human.dim() != 3:
            raise InputError(f"human masks must be [T, H, W], got shape {tuple(self.human.shape)}")
        if self.object is not None and self.object.shape != self.human.shape:
            raise InputError(
                f"object masks {tuple(self.object.shape)} differ in shape from human masks "
                f"{tuple(self.human.shape)}"
            )
        require_visible(self.human, "human", self.backend)
        if self.object is not None:
            require_visible(self.object, "object", self.backend)

    @property
    def num_frames(self) -> int:
        return self.human.shape[0]


class Segmenter(Protocol):
    """Segments the human (and object) through a video from their visible masks in frame 0."""

    def segment(
        self,
        frames: Tensor,  # [T, H, W, 3] float in [0, 1]
        first_human_mask: Tensor,  # [H, W] visible (non-occluded) human mask in frame 0
        first_object_mask: Tensor | None,  # [H, W] visible object mask in frame 0, None without object
        *,
        meta: Mapping[str, Any] | None = None,  # the video's metadata (GeneratedVideo.meta)
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> VideoMasks: ...


def check_segment_inputs(frames: Tensor, first_human_mask: Tensor, first_object_mask: Tensor | None) -> None:
    """InputError unless frames are finite [T, H, W, 3] and the first-frame masks are [H, W]."""
    if frames.dim() != 4 or frames.shape[-1] != 3 or frames.shape[0] == 0:
        raise InputError(f"frames must be [T, H, W, 3] with T ≥ 1, got shape {tuple(frames.shape)}")
    if not frames.is_floating_point() or not bool(torch.isfinite(frames).all()):
        raise InputError("frames must be finite floating-point RGB in [0, 1]")
    size = tuple(frames.shape[1:3])
    masks = {"human": first_human_mask, "object": first_object_mask}
    for name, mask in masks.items():
        if mask is not None and tuple(mask.shape) != size:
            raise InputError(f"first-frame {name} mask has shape {tuple(mask.shape)}, frames are {size}")
