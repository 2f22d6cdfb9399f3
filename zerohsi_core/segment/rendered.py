"""Segmenter `rendered`: the exact per-frame masks a scripted video carries in its metadata."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from zerohsi_core.errors import BackendError, InputError
from zerohsi_core.progress import CancelToken, ProgressCallback, ProgressEvent, check, report
from zerohsi_core.segment.base import STAGE, VideoMasks, check_segment_inputs

MASKS_KEY = "masks"  # GeneratedVideo.meta["masks"] = {"human": [T, H, W], "object": [T, H, W] | None}


def _checked_masks(masks: Any, name: str, shape: tuple[int, ...], like: Tensor) -> Tensor:
    """`masks` as float32 [T, H, W] on the frames' device; InputError on a wrong shape or range."""
    if not isinstance(masks, Tensor):
        kind = type(masks).__name__
        raise InputError(f"scripted video meta['masks'][{name!r}] must be a tensor, got {kind}")
    if tuple(masks.shape) != shape:
        raise InputError(
            f"scripted video meta['masks'][{name!r}] has shape {tuple(masks.shape)}; the frames need {shape}"
        )
    masks = masks.to(like.device, torch.float32)
    if not bool(((masks >= 0) & (masks <= 1)).all()):
        raise InputError(f"scripted video meta['masks'][{name!r}] has values outside [0, 1]")
    return masks


class RenderedSegmenter:
    """Returns the ground-truth masks rendered with a scripted video (exact, no model)."""

    name = "rendered"

    def segment(
        self,
        frames: Tensor,  # [T, H, W, 3] float in [0, 1]
        first_human_mask: Tensor,  # [H, W]
        first_object_mask: Tensor | None,  # [H, W]; the object's masks are returned only if given
        *,
        meta: Mapping[str, Any] | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> VideoMasks:
        """The video's meta["masks"], checked against the frames."""
        check_segment_inputs(frames, first_human_mask, first_object_mask)
        check(cancel)
        masks = None if meta is None else meta.get(MASKS_KEY)
        if not isinstance(masks, Mapping) or "human" not in masks:
            raise BackendError(
                "the rendered segmenter needs a scripted video (video.backend=scripted), which carries its "
                "ground-truth masks; for generated or file videos set segment.backend=sam2"
            )
        shape = tuple(frames.shape[:3])
        human = _checked_masks(masks["human"], "human", shape, frames)
        obj = None
        if first_object_mask is not None:
            if masks.get("object") is None:
                raise InputError("an object was given, but the scripted video has no object masks")
            obj = _checked_masks(masks["object"], "object", shape, frames)
        report(progress, ProgressEvent(STAGE, 1.0, frame=shape[0] - 1, message=self.name))
        return VideoMasks(human=human, object=obj, backend=self.name)
