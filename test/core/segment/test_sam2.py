"""SAM2 backend: a randomly initialised predictor runs the whole video path on CPU; missing or wrong
weights and configs fail with errors naming the setting."""

from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import torch
from PIL import Image

from zerohsi_core.config import Config, apply_overrides
from zerohsi_core.errors import AssetError, Cancelled, ConfigError
from zerohsi_core.progress import CancelToken, ProgressEvent
from zerohsi_core.segment import VideoMasks, create_segmenter
from zerohsi_core.segment.sam2 import HUMAN_ID, OBJECT_ID, Sam2Options, Sam2Segmenter, init_state

pytest.importorskip("sam2")

T, H, W = 3, 96, 128
TINY = Sam2Options(image_size=256, random_init=True, device="cpu")  # feature grid 16×16


def _frames() -> torch.Tensor:
    """A smooth moving pattern, quantised to 8 bits so that a JPEG copy is nearly lossless."""
    rows, cols = torch.meshgrid(torch.linspace(0, 1, H), torch.linspace(0, 1, W), indexing="ij")
    frames = [
        torch.stack([cols * (1 - 0.2 * t) + 0.1 * t, rows, 0.5 + 0.3 * torch.sin(6 * cols + t)], dim=-1)
        for t in range(T)
    ]
    return (torch.stack(frames).clamp(0, 1) * 255).round() / 255  # [T, H, W, 3]


def _masks() -> tuple[torch.Tensor, torch.Tensor]:
    human = torch.zeros(H, W)
    human[20:80, 30:60] = 1.0
    obj = torch.zeros(H, W)
    obj[40:70, 70:110] = 1.0
    return human, obj


@dataclass(frozen=True)
class Run:
    """One segmentation of the test clip, with what was observed while it ran."""

    masks: VideoMasks
    events: list[ProgressEvent]
    inference_modes: list[bool]  # torch.is_inference_mode_enabled() at each encoder / memory-attention call


@pytest.fixture(scope="module")
def segmenter() -> Sam2Segmenter:
    # offloading is a no-op on the CPU but takes the offloading code paths
    seg = Sam2Segmenter(replace(TINY, offload_video_to_cpu=True, offload_state_to_cpu=True))
    assert seg.predictor.image_size == 256
    return seg


@pytest.fixture(scope="module")
def run(segmenter: Sam2Segmenter) -> Run:
    modes: list[bool] = []
    hooks = [
        module.register_forward_pre_hook(lambda *_: modes.append(torch.is_inference_mode_enabled()))
        for module in (segmenter.predictor.image_encoder, segmenter.predictor.memory_attention)
    ]
    events: list[ProgressEvent] = []
    try:
        masks = segmenter.segment(_frames(), *_masks(), progress=events.append)
    finally:
        for hook in hooks:
            hook.remove()
    return Run(masks, events, modes)


def test_random_sam2_segments_a_clip_under_inference_mode(run: Run) -> None:
    masks = run.masks
    assert masks.backend == "sam2" and masks.num_frames == T
    assert masks.human.shape == (T, H, W) and masks.object is not None and masks.object.shape == (T, H, W)
    for m in (masks.human, masks.object):
        assert m.dtype == torch.float32 and set(m.unique().tolist()) <= {0.0, 1.0}
        assert not m.is_inference()  # usable in later losses that save tensors for backward
    # one image encoding per frame; memory attention on every frame after the prompted one, per object
    assert run.inference_modes.count(True) == T + 2 * (T - 1) and all(run.inference_modes)
    assert [e.frame for e in run.events] == list(range(T))
    assert [e.progress for e in run.events] == [(i + 1) / T for i in range(T)]
    x = torch.rand(T, H, W, requires_grad=True)
    (x * masks.human).sum().backward()
    assert torch.equal(x.grad, masks.human)


def test_tensor_state_matches_sam2s_own_jpeg_loader(
    segmenter: Sam2Segmenter, run: Run, tmp_path: Path
) -> None:
    frames = _frames()
    for t, frame in enumerate(frames):
        image = Image.fromarray((frame * 255).round().to(torch.uint8).numpy())
        image.save(tmp_path / f"{t}.jpg", quality=100, subsampling=0)
    predictor = segmenter.predictor
    with torch.inference_mode():
        reference = predictor.init_state(str(tmp_path))
        ours = init_state(predictor, frames, segmenter.options)
        assert set(ours) == set(reference)
        assert (ours["video_height"], ours["video_width"], ours["num_frames"]) == (H, W, T)
        error = (torch.stack(list(ours["images"])) - reference["images"]).abs()  # normalised units
        assert float(error.mean()) < 0.02 and float(error.max()) < 0.15
        for obj_id, prompt in segmenter.prompts(*_masks()).items():
            predictor.add_new_points_or_box(reference, 0, obj_id, points=prompt.points, labels=prompt.labels)
        expected = torch.stack([logits[:, 0] > 0 for _, _, logits in predictor.propagate_in_video(reference)])
    assert run.masks.object is not None
    assert float((run.masks.human == expected[:, HUMAN_ID - 1]).float().mean()) > 0.99
    assert float((run.masks.object == expected[:, OBJECT_ID - 1]).float().mean()) > 0.99


def test_human_only_and_cancel(segmenter: Sam2Segmenter) -> None:
    human, _ = _masks()
    frames = _frames()[:2]
    masks = segmenter.segment(frames, human, None)
    assert masks.object is None and masks.human.shape == (2, H, W)
    token = CancelToken()
    events: list[ProgressEvent] = []

    def cancel_after_first(event: ProgressEvent) -> None:
        events.append(event)
        token.cancel()

    with pytest.raises(Cancelled):
        segmenter.segment(frames, human, None, progress=cancel_after_first, cancel=token)
    assert len(events) == 1


def test_missing_checkpoint_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(AssetError, match=r"segment\.sam2_checkpoint is not set.*facebookresearch/sam2"):
        create_segmenter("sam2", Config())
    missing = str(tmp_path / "sam2.1_hiera_tiny.pt")
    cfg = apply_overrides(Config(), {"segment.sam2_checkpoint": missing})
    with pytest.raises(AssetError, match=r"sam2_checkpoint .*hiera_tiny\.pt' does not exist"):
        create_segmenter("sam2", cfg)


def test_wrong_checkpoint_and_config_name_the_settings(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    empty = tmp_path / "empty.pt"
    torch.save({"model": {}}, empty)
    for path in (garbage, empty):
        seg = Sam2Segmenter(Sam2Options(checkpoint=str(path), image_size=256, device="cpu"))
        with pytest.raises(AssetError, match=r"segment\.sam2_checkpoint .* segment\.sam2_config"):
            _ = seg.predictor
    with pytest.raises(ConfigError, match=r"segment\.sam2_config 'configs/nope\.yaml'"):
        _ = Sam2Segmenter(replace(TINY, model_config="configs/nope.yaml")).predictor
    with pytest.raises(ConfigError, match="multiple of 32"):
        _ = Sam2Segmenter(replace(TINY, image_size=100)).predictor
    with pytest.raises(ConfigError, match="tests only"):
        Sam2Segmenter(Sam2Options(checkpoint=str(empty), random_init=True))


def test_checkpoint_weights_are_loaded(segmenter: Sam2Segmenter, tmp_path: Path) -> None:
    path = tmp_path / "sam2.pt"
    torch.save({"model": segmenter.predictor.state_dict()}, path)
    loaded = Sam2Segmenter(Sam2Options(checkpoint=str(path), image_size=256, device="cpu", seed=1)).predictor
    reference = segmenter.predictor.state_dict()
    assert all(torch.equal(value, reference[key]) for key, value in loaded.state_dict().items())
    assert not loaded.training
