"""Video segmentation of the human and the object (Sec. 3.2): SAM2 prompted by farthest-point samples,
or the exact masks of scripted videos."""

from zerohsi_core.segment.base import Segmenter, VideoMasks
from zerohsi_core.segment.prompts import PointPrompt, PromptOptions, farthest_point_sampling, sample_prompt
from zerohsi_core.segment.registry import SEGMENT_BACKENDS, create_segmenter

__all__ = [
    "SEGMENT_BACKENDS",
    "PointPrompt",
    "PromptOptions",
    "Segmenter",
    "VideoMasks",
    "create_segmenter",
    "farthest_point_sampling",
    "sample_prompt",
]
