"""Segmentation registry: backends by name from config."""

from pathlib import Path

import pytest

from zerohsi_core.config import Config, apply_overrides
from zerohsi_core.errors import BackendError
from zerohsi_core.segment import SEGMENT_BACKENDS, create_segmenter
from zerohsi_core.segment.rendered import RenderedSegmenter
from zerohsi_core.segment.sam2 import Sam2Segmenter


def test_known_backends() -> None:
    assert SEGMENT_BACKENDS.names() == ["rendered", "sam2"]
    assert isinstance(create_segmenter("rendered", Config()), RenderedSegmenter)


def test_unknown_backend_lists_the_known_ones() -> None:
    with pytest.raises(BackendError, match="unknown segmentation backend 'sam3'; available: rendered, sam2"):
        create_segmenter("sam3", Config())


def test_sam2_options_come_from_config(tmp_path: Path) -> None:
    checkpoint = tmp_path / "sam2.1_hiera_small.pt"
    checkpoint.write_bytes(b"")
    overrides = {
        "segment.sam2_checkpoint": str(checkpoint),
        "segment.sam2_config": "configs/sam2.1/sam2.1_hiera_s.yaml",
        "segment.num_points": 5,
        "device": "cpu",
    }
    segmenter = create_segmenter("sam2", apply_overrides(Config(), overrides))
    assert isinstance(segmenter, Sam2Segmenter)
    options = segmenter.options
    assert options.checkpoint == str(checkpoint)
    assert options.model_config == "configs/sam2.1/sam2.1_hiera_s.yaml"
    assert (options.prompts.num_points, options.device, options.random_init) == (5, "cpu", False)
