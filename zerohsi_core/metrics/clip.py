"""CLIP score and CLIP consistency (Sec. 4.1) with open_clip, from weights at a configured path.

CLIP score: 100 × cosine of the prompt's text embedding and each rendered frame's image embedding,
averaged over frames (the paper's scale, as torchmetrics' CLIPScore without its clamp at 0).
CLIP consistency: cosine of adjacent frames' image embeddings, averaged. Weights are never downloaded:
the architecture (`metrics.clip_model`: an open_clip model name, or a model-config JSON file) is built
with `pretrained=None` and the checkpoint `metrics.clip_weights` is loaded into it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zerohsi_core.config import Config
from zerohsi_core.errors import AssetError, ConfigError, InputError

WEIGHTS_KEY = "metrics.clip_weights"
MODEL_KEY = "metrics.clip_model"
SCORE_SCALE = 100.0  # the paper's CLIP score is 100 × cosine
HF_TEXT_KEYS = ("hf_model_name", "hf_tokenizer_name")  # Hugging Face towers/tokenizers would download


@dataclass(frozen=True, eq=False)
class ClipModel:
    """A loaded open_clip model with its tokenizer and image normalisation."""

    model: nn.Module
    tokenizer: Callable[[list[str]], Tensor]
    image_size: tuple[int, int]  # (height, width) the vision tower takes
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    batch: int = 16  # frames per encoder call

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def preprocess(self, frames: Tensor) -> Tensor:
        """open_clip's eval transform in torch: shortest side to size (bicubic), centre crop, normalise.
        frames [T, H, W, 3] in [0, 1] -> [T, 3, h, w]"""
        if frames.dim() != 4 or frames.shape[-1] != 3:
            raise InputError(f"frames must be [T, H, W, 3], got {tuple(frames.shape)}")
        images = frames.permute(0, 3, 1, 2).float()
        h, w = images.shape[-2:]
        scale = max(self.image_size[0] / h, self.image_size[1] / w)
        size = (max(self.image_size[0], round(h * scale)), max(self.image_size[1], round(w * scale)))
        images = F.interpolate(images, size=size, mode="bicubic", antialias=True, align_corners=False)
        top, left = (size[0] - self.image_size[0]) // 2, (size[1] - self.image_size[1]) // 2
        images = images[..., top : top + self.image_size[0], left : left + self.image_size[1]].clamp(0, 1)
        mean = torch.tensor(self.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.std).view(1, 3, 1, 1)
        return (images - mean) / std

    @torch.no_grad()
    def encode_images(self, frames: Tensor) -> Tensor:
        """Unit image embeddings of frames [T, H, W, 3] in [0, 1] -> [T, D]."""
        out = []
        for start in range(0, len(frames), self.batch):
            images = self.preprocess(frames[start : start + self.batch].cpu()).to(self.device)
            out.append(self.model.encode_image(images, normalize=True).float().cpu())
        return torch.cat(out)

    @torch.no_grad()
    def encode_texts(self, texts: Sequence[str]) -> Tensor:
        """Unit text embeddings of texts -> [N, D]."""
        tokens = self.tokenizer(list(texts)).to(self.device)
        return self.model.encode_text(tokens, normalize=True).float().cpu()


def _model_name(model: str) -> str:
    """The open_clip model name of `metrics.clip_model` (a JSON model config is registered first)."""
    import open_clip

    if model.endswith(".json"):
        path = Path(model).expanduser()
        if not path.is_file():
            raise ConfigError(f"{MODEL_KEY}: model config file {path} does not exist")
        open_clip.add_model_config(path)
        model = path.stem
    if model not in open_clip.list_models():
        raise ConfigError(
            f"{MODEL_KEY} {model!r} is not an open_clip architecture (e.g. ViT-B-32, ViT-L-14; "
            f"or the path of a model-config JSON file)"
        )
    text_cfg = open_clip.get_model_config(model).get("text_cfg", {})
    if any(text_cfg.get(key) for key in HF_TEXT_KEYS):
        raise ConfigError(
            f"{MODEL_KEY} {model!r} uses a Hugging Face text tower or tokenizer, which would be downloaded; "
            "choose an architecture with open_clip's own tokenizer (e.g. ViT-B-32)"
        )
    return model


def load_clip(model: str, weights: str | Path, device: torch.device | str = "cpu") -> ClipModel:
    """Build `model` with pretrained=None and load the checkpoint file `weights` into it (never downloads)."""
    if not str(weights):
        raise ConfigError(
            f"the CLIP metrics need open_clip weights: set {WEIGHTS_KEY} to a checkpoint file of the "
            f"architecture {MODEL_KEY} (e.g. open_clip_pytorch_model.bin of laion2b_s34b_b79k for ViT-B-32)"
        )
    path = Path(weights).expanduser()
    if not path.is_file():
        raise AssetError(f"{WEIGHTS_KEY}: CLIP checkpoint {path} does not exist")
    import open_clip

    name = _model_name(model)
    net = open_clip.create_model(name, pretrained=None, device="cpu")
    try:
        open_clip.load_checkpoint(net, str(path))
    except (RuntimeError, KeyError, ValueError, OSError) as exc:
        raise AssetError(
            f"{WEIGHTS_KEY} {path} does not fit the architecture {MODEL_KEY} {name!r}: {str(exc)[:300]}"
        ) from exc
    cfg: dict[str, Any] = open_clip.get_model_preprocess_cfg(net)
    size = cfg["size"] if isinstance(cfg["size"], (tuple, list)) else (cfg["size"], cfg["size"])
    return ClipModel(
        model=net.to(device).eval(),
        tokenizer=open_clip.get_tokenizer(name),
        image_size=(int(size[0]), int(size[1])),
        mean=tuple(float(v) for v in cfg["mean"]),  # type: ignore[arg-type]
        std=tuple(float(v) for v in cfg["std"]),  # type: ignore[arg-type]
    )


def clip_from_config(cfg: Config, device: torch.device | str = "cpu") -> ClipModel:
    """The CLIP model of config section `metrics` (ConfigError naming metrics.clip_weights if unset)."""
    return load_clip(cfg.metrics.clip_model, cfg.metrics.clip_weights, device)


def clip_score(image_embeddings: Tensor, text_embeddings: Tensor) -> float:
    """100 × mean cosine of each frame's image embedding and its text embedding. [T, D], [T, D] or [1, D]"""
    cos = F.cosine_similarity(image_embeddings.double(), text_embeddings.double(), dim=-1)  # [T]
    return SCORE_SCALE * float(cos.mean())


def clip_consistency(image_embeddings: Tensor) -> float:
    """Mean cosine of adjacent frames' image embeddings. [T >= 2, D]"""
    if len(image_embeddings) < 2:
        raise InputError("CLIP consistency needs at least 2 frames")
    e = image_embeddings.double()
    return float(F.cosine_similarity(e[1:], e[:-1], dim=-1).mean())


def clip_metrics(clip: ClipModel, frames: Tensor, prompts: Sequence[str]) -> dict[str, float]:
    """CLIP score and consistency of rendered frames [T, H, W, 3] against the prompt of each frame [T]."""
    if len(prompts) != len(frames):
        raise InputError(f"{len(frames)} frames but {len(prompts)} prompts: give one prompt per frame")
    images = clip.encode_images(frames)  # [T, D]
    unique = list(dict.fromkeys(prompts))
    texts = clip.encode_texts(unique)[[unique.index(p) for p in prompts]]  # [T, D]
    return {"clip_score": clip_score(images, texts), "clip_consistency": clip_consistency(images)}
