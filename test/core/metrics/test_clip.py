"""CLIP metrics with a tiny randomly initialised open_clip model loaded through the configured-path code,
with real weights when configured (ZEROHSI_CLIP_WEIGHTS), and the errors that name the config keys."""

import os

import pytest
import torch
import torch.nn.functional as F
from core.metrics.conftest import TINY_CLIP, write_tiny_clip

from zerohsi_core.config import load_config
from zerohsi_core.errors import AssetError, ConfigError
from zerohsi_core.metrics.clip import clip_consistency, clip_from_config, clip_metrics, clip_score, load_clip


def frames(seed: int, n: int = 3, size: tuple[int, int] = (48, 64)) -> torch.Tensor:
    return torch.rand(n, *size, 3, generator=torch.Generator().manual_seed(seed))


def test_loaded_weights_are_the_saved_ones(tiny_clip) -> None:
    import open_clip

    config, weights = tiny_clip
    clip = load_clip(str(config), weights)
    spec = (TINY_CLIP["embed_dim"], TINY_CLIP["vision_cfg"], TINY_CLIP["text_cfg"])
    source = open_clip.CLIP(*spec).eval()
    source.load_state_dict(torch.load(weights))
    images = clip.preprocess(frames(0))
    assert images.shape == (3, 3, 32, 32)
    expected = F.normalize(source.encode_image(images), dim=-1)
    torch.testing.assert_close(clip.encode_images(frames(0)), expected)
    torch.manual_seed(1)
    fresh = F.normalize(open_clip.CLIP(*spec).eval().encode_image(images), dim=-1)
    assert not torch.allclose(fresh, expected, atol=1e-3)  # a random init would not reproduce them


def test_preprocess_crops_and_normalises(tiny_clip) -> None:
    clip = load_clip(str(tiny_clip[0]), tiny_clip[1])
    grey = torch.full((2, 40, 80, 3), 0.25)
    out = clip.preprocess(grey)
    assert out.shape == (2, 3, 32, 32)
    expected = (0.25 - torch.tensor(clip.mean)) / torch.tensor(clip.std)
    torch.testing.assert_close(out[0, :, 5, 7], expected, atol=1e-5, rtol=0)


def test_score_and_consistency_are_100_cos_and_adjacent_cos() -> None:
    a, b = torch.tensor([[1.0, 0.0, 0.0]]), torch.tensor([[0.6, 0.8, 0.0]])
    assert clip_score(torch.cat([a, b]), torch.cat([b, b])) == pytest.approx(100 * (0.6 + 1.0) / 2)
    assert clip_consistency(torch.cat([a, a, a])) == pytest.approx(1.0)
    assert clip_consistency(torch.cat([a, a, b])) == pytest.approx((1.0 + 0.6) / 2)


def test_clip_metrics_use_each_frames_prompt(tiny_clip) -> None:
    clip = load_clip(str(tiny_clip[0]), tiny_clip[1])
    video = frames(1, n=4)
    prompts = ["sit on the sofa"] * 2 + ["stand up"] * 2
    values = clip_metrics(clip, video, prompts)
    images, texts = clip.encode_images(video), clip.encode_texts(["sit on the sofa", "stand up"])
    cos = (images * texts[[0, 0, 1, 1]]).sum(-1)
    assert values["clip_score"] == pytest.approx(100 * float(cos.mean()), rel=1e-5)
    adjacent = (images[1:] * images[:-1]).sum(-1).mean()
    assert values["clip_consistency"] == pytest.approx(float(adjacent), rel=1e-5)
    still = clip_metrics(clip, video[:1].expand(3, -1, -1, -1), prompts[:3])
    assert still["clip_consistency"] == pytest.approx(1.0, abs=1e-6)


def test_errors_name_the_config_keys(tiny_clip, tmp_path) -> None:
    with pytest.raises(ConfigError, match="metrics.clip_weights"):
        clip_from_config(load_config())
    with pytest.raises(AssetError, match="metrics.clip_weights"):
        load_clip("ViT-B-32", tmp_path / "missing.pt")
    with pytest.raises(ConfigError, match="metrics.clip_model"):
        load_clip("no-such-net", tiny_clip[1])
    other_config, _ = write_tiny_clip(tmp_path, "zerohsi-tiny-clip-wide", width=48)
    with pytest.raises(AssetError, match="does not fit"):
        load_clip(str(other_config), tiny_clip[1])
    cfg = load_config(
        overrides={"metrics.clip_model": str(tiny_clip[0]), "metrics.clip_weights": str(tiny_clip[1])}
    )
    assert clip_from_config(cfg).image_size == (32, 32)


REAL_WEIGHTS = os.environ.get("ZEROHSI_CLIP_WEIGHTS", "")


@pytest.mark.skipif(
    not REAL_WEIGHTS, reason="set ZEROHSI_CLIP_WEIGHTS (and ZEROHSI_CLIP_MODEL) to real weights"
)
def test_real_weights_prefer_the_matching_colour() -> None:
    clip = load_clip(os.environ.get("ZEROHSI_CLIP_MODEL", "ViT-B-32"), REAL_WEIGHTS)
    red = torch.zeros(1, 224, 224, 3)
    red[..., 0] = 1.0
    right = clip_metrics(clip, red.expand(2, -1, -1, -1), ["a plain red image"] * 2)
    wrong = clip_metrics(clip, red.expand(2, -1, -1, -1), ["a photo of a dog on grass"] * 2)
    assert right["clip_score"] > wrong["clip_score"] + 2.0
    assert 15.0 < right["clip_score"] < 45.0  # the paper's scale: 100 × cosine
