"""Rendered backend: returns a scripted video's exact masks, checked against the frames."""

import pytest
import torch

from zerohsi_core.errors import BackendError, InputError
from zerohsi_core.progress import ProgressEvent
from zerohsi_core.segment.rendered import RenderedSegmenter

T, H, W = 5, 12, 16


def _video() -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    gen = torch.Generator().manual_seed(0)
    frames = torch.rand(T, H, W, 3, generator=gen)
    human = (torch.rand(T, H, W, generator=gen) > 0.5).float()
    obj = torch.rand(T, H, W, generator=gen) > 0.7  # bool masks are accepted too
    return frames, {"human": human, "object": obj}


def test_returns_the_scripted_masks() -> None:
    frames, masks = _video()
    events: list[ProgressEvent] = []
    out = RenderedSegmenter().segment(
        frames, masks["human"][0], masks["object"][0].float(), meta={"masks": masks}, progress=events.append
    )
    assert out.backend == "rendered" and out.num_frames == T
    assert torch.equal(out.human, masks["human"])
    assert out.object is not None and out.object.dtype == torch.float32
    assert torch.equal(out.object, masks["object"].float())
    assert [(e.stage, e.progress) for e in events] == [("segment", 1.0)]
    human_only = RenderedSegmenter().segment(frames, masks["human"][0], None, meta={"masks": masks})
    assert human_only.object is None


def test_needs_a_scripted_video() -> None:
    frames, masks = _video()
    for meta in (None, {}, {"masks": None}, {"fps": 10.0}):
        with pytest.raises(BackendError, match="needs a scripted video.*segment.backend=sam2"):
            RenderedSegmenter().segment(frames, masks["human"][0], None, meta=meta)


def test_masks_must_fit_the_frames() -> None:
    frames, masks = _video()
    short = {"human": masks["human"][:-1], "object": None}
    with pytest.raises(InputError, match=r"shape \(4, 12, 16\); the frames need \(5, 12, 16\)"):
        RenderedSegmenter().segment(frames, masks["human"][0], None, meta={"masks": short})
    no_object = {"human": masks["human"], "object": None}
    with pytest.raises(InputError, match="no object masks"):
        RenderedSegmenter().segment(frames, masks["human"][0], masks["human"][0], meta={"masks": no_object})
    out_of_range = {"human": masks["human"] * 2.0}
    with pytest.raises(InputError, match=r"outside \[0, 1\]"):
        RenderedSegmenter().segment(frames, masks["human"][0], None, meta={"masks": out_of_range})
    with pytest.raises(InputError, match="first-frame human mask"):
        RenderedSegmenter().segment(frames, masks["human"][0, :-1], None, meta={"masks": masks})
    with pytest.raises(InputError, match="finite"):
        RenderedSegmenter().segment(frames * torch.nan, masks["human"][0], None, meta={"masks": masks})
