"""The `wan` backend end to end on a tiny randomly initialised Wan 2.1 image-to-video pipeline (CPU)."""

import importlib.util
from pathlib import Path

import pytest
import torch

from zerohsi_core.config import Config, apply_overrides
from zerohsi_core.errors import AssetError, BackendError, Cancelled, ConfigError
from zerohsi_core.progress import CancelToken, ProgressEvent
from zerohsi_core.video.registry import create_video_generator
from zerohsi_core.video.wan import WanOptions, WanVideoGenerator, check_weights, wan_frame_count

WORDS = ["<pad>", "</s>", "<unk>", "a", "person", "sits", "on", "the", "sofa", "lifts", "box"]
TEXT_DIM = 32


def _tiny_pipeline(folder: Path) -> None:
    """Save a Wan image-to-video pipeline with tiny random components (shapes as in diffusers' own tests)."""
    pytest.importorskip("accelerate", reason="diffusers needs accelerate to load Wan transformers")
    from diffusers import (
        AutoencoderKLWan,
        FlowMatchEulerDiscreteScheduler,
        WanImageToVideoPipeline,
        WanTransformer3DModel,
    )
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        CLIPVisionModel,
        PreTrainedTokenizerFast,
        UMT5Config,
        UMT5EncoderModel,
    )

    word_level = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    word_level.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=word_level, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )
    torch.manual_seed(0)
    text_encoder = UMT5EncoderModel(
        UMT5Config(
            vocab_size=len(WORDS),
            d_model=TEXT_DIM,
            d_kv=8,
            d_ff=32,
            num_layers=1,
            num_heads=4,
            relative_attention_num_buckets=8,
        )
    )
    vae = AutoencoderKLWan(
        base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1, temperal_downsample=[False, True, True]
    )
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=36,
        out_channels=16,
        text_dim=TEXT_DIM,
        freq_dim=256,
        ffn_dim=32,
        num_layers=2,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32,
        image_dim=4,
    )
    image_encoder = CLIPVisionModel(
        CLIPVisionConfig(
            hidden_size=4,
            projection_dim=4,
            num_hidden_layers=2,
            num_attention_heads=2,
            image_size=32,
            intermediate_size=16,
            patch_size=1,
        )
    )
    WanImageToVideoPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
        image_processor=CLIPImageProcessor(crop_size=32, size=32),
        image_encoder=image_encoder,
        transformer=transformer,
    ).save_pretrained(folder)


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wan")
    _tiny_pipeline(folder)
    return folder


def _generator(weights: Path, **options: object) -> WanVideoGenerator:
    base = {
        "path": str(weights),
        "dtype": "fp32",
        "num_inference_steps": 2,
        "num_frames": 2,
        "max_area": 32 * 48,
        "max_sequence_length": 16,
    }
    return WanVideoGenerator(WanOptions(**{**base, **options}), torch.device("cpu"))


def test_tiny_pipeline_runs_end_to_end_through_the_interface(weights: Path) -> None:
    events: list[ProgressEvent] = []
    generator = _generator(weights)
    first = torch.rand(24, 36, 3, generator=torch.Generator().manual_seed(3))
    video = generator.generate(first, "a person sits on the sofa", 7, 3, progress=events.append)
    assert video.frames.shape == (3, 24, 36, 3) and video.frames.dtype == torch.float32
    assert float(video.frames.min()) >= 0.0 and float(video.frames.max()) <= 1.0 and video.frames.std() > 0.01
    assert video.source_frames == 5  # 2 frames asked → 4·1 + 1
    assert video.meta["size"] == [32, 48]  # the first frame's 2:3 aspect at max_area = 32·48 pixels
    assert video.fps == pytest.approx(3 * 16.0 / 5) and video.backend == "wan"
    assert [e.iteration for e in events] == [0, 1] and events[-1].progress == 1.0
    again = generator.generate(first, "a person sits on the sofa", 7, 3)
    other = generator.generate(first, "a person sits on the sofa", 8, 3)
    assert torch.equal(video.frames, again.frames) and not torch.equal(video.frames, other.frames)  # seeded


def test_cancel_stops_between_denoising_steps(weights: Path) -> None:
    token = CancelToken()
    with pytest.raises(Cancelled):
        _generator(weights).generate(
            torch.rand(16, 16, 3), "lifts box", 0, 4, progress=lambda e: token.cancel(), cancel=token
        )


def test_registry_builds_wan_from_config(weights: Path) -> None:
    cfg = apply_overrides(Config(), {"device": "cpu", "video.wan_path": str(weights)})
    generator = create_video_generator("wan", cfg)
    assert isinstance(generator, WanVideoGenerator) and generator.options.num_frames == 81
    pipe = generator.pipeline()  # default dtype bf16; the VAE and image encoder stay float32
    assert pipe.transformer.dtype == torch.bfloat16 and pipe.text_encoder.dtype == torch.bfloat16
    assert pipe.vae.dtype == torch.float32 and pipe.image_encoder.dtype == torch.float32


def test_frame_count_and_size_rules() -> None:
    assert [wan_frame_count(n, 4) for n in (1, 2, 5, 6, 81, 82)] == [5, 5, 5, 9, 81, 85]


def test_missing_or_empty_weights_and_bad_dtype(tmp_path: Path) -> None:
    with pytest.raises(AssetError, match=r"video.wan_path .*none does not exist.*huggingface-cli download"):
        check_weights(str(tmp_path / "none"))
    with pytest.raises(AssetError, match="not a diffusers pipeline"):
        check_weights(str(tmp_path))
    with pytest.raises(ConfigError, match="video.wan_dtype"):
        WanVideoGenerator(WanOptions(path=str(tmp_path), dtype="int8"), torch.device("cpu"))


def test_missing_python_packages_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "model_index.json").write_text("{}")
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "accelerate" else real_find_spec(name)
    )
    generator = WanVideoGenerator(WanOptions(path=str(tmp_path)), torch.device("cpu"))
    with pytest.raises(BackendError, match="needs the Python packages accelerate"):
        generator.generate(torch.rand(8, 8, 3), "sit", 0, 4)
