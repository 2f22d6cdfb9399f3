"""Segmentation backends by name (`segment.backend`)."""

from __future__ import annotations

from zerohsi_core.config import Config
from zerohsi_core.registry import Registry
from zerohsi_core.segment.base import Segmenter
from zerohsi_core.segment.rendered import RenderedSegmenter
from zerohsi_core.segment.sam2 import Sam2Segmenter, sam2_options_from_config

SEGMENT_BACKENDS = Registry[Segmenter]("segmentation")


@SEGMENT_BACKENDS.register("sam2")
def _sam2(cfg: Config) -> Segmenter:
    return Sam2Segmenter(sam2_options_from_config(cfg))


@SEGMENT_BACKENDS.register("rendered")
def _rendered(cfg: Config) -> Segmenter:
    return RenderedSegmenter()


def create_segmenter(name: str, cfg: Config) -> Segmenter:
    """The segmenter `name` configured from `cfg`; BackendError listing the known names if unknown."""
    return SEGMENT_BACKENDS.create(name, cfg)
