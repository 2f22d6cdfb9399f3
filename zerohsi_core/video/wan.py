"""`wan` backend: Wan 2.1 image-to-video through diffusers' `WanImageToVideoPipeline` from local weights.

The weights are never downloaded: `video.wan_path` names a diffusers directory such as a local copy of
Wan-AI/Wan2.1-I2V-14B-480P-Diffusers. diffusers, transformers and accelerate are imported only when the
pipeline is first loaded; the pipeline is then kept for later clips.
"""

from __future__ import annotations

import importlib.util
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from zerohsi_core.config import Config
from zerohsi_core.device import resolve_device
from zerohsi_core.errors import AssetError, BackendError, ConfigError
from zerohsi_core.progress import CancelToken, ProgressCallback, ProgressEvent, check, report
from zerohsi_core.video.base import (
    STAGE,
    GeneratedVideo,
    frame_to_image,
    options_from_config,
    validate_request,
)
from zerohsi_core.video.registry import VIDEO_BACKENDS
from zerohsi_core.video.resample import conform

log = logging.getLogger(__name__)

WEIGHTS_REPO = "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers"
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
FP32_COMPONENTS = ("vae", "image_encoder")  # kept in float32 whatever the dtype, as Wan's authors advise


@dataclass(frozen=True)
class WanOptions:
    """Weights, precision and sampling of the Wan pipeline; field f comes from video.wan_<f> if present."""

    path: str = ""  # local diffusers directory of the image-to-video model
    dtype: str = "bf16"  # bf16 | fp16 | fp32 for the transformer and text encoder
    cpu_offload: bool = False  # diffusers' enable_model_cpu_offload (needs a GPU)
    num_inference_steps: int = 50
    guidance_scale: float = 5.0
    height: int = 0  # generated size; 0 = first frame's aspect ratio at max_area pixels
    width: int = 0
    max_area: int = 480 * 832  # pixels of the 480P model
    num_frames: int = 81  # rounded up to 4k + 1 (the VAE's temporal stride); 81 at 16 fps ≈ 5 s
    fps: float = 16.0  # frame rate Wan 2.1 was trained at
    negative_prompt: str = ""
    max_sequence_length: int = 512  # text tokens of the UMT5 encoder


def wan_frame_count(requested: int, temporal_stride: int) -> int:
    """Smallest k·stride + 1 ≥ requested (Wan's VAE encodes 1 + k·stride frames)."""
    return max(1, math.ceil((requested - 1) / temporal_stride)) * temporal_stride + 1


def check_weights(path: str) -> Path:
    """The weights directory; AssetError naming video.wan_path and where to get the weights."""
    hint = (
        f"download the diffusers weights of {WEIGHTS_REPO} (e.g. `huggingface-cli download {WEIGHTS_REPO} "
        "--local-dir DIR`) and set video.wan_path to that directory"
    )
    if not path:
        raise AssetError(f"video.wan_path is not set; {hint}")
    folder = Path(path).expanduser()
    if not (folder / "model_index.json").is_file():
        state = (
            "does not exist" if not folder.exists() else "is not a diffusers pipeline (no model_index.json)"
        )
        raise AssetError(f"video.wan_path {folder} {state}; {hint}")
    return folder


class WanVideoGenerator:
    """Wan 2.1 image-to-video; frames are generated at `fps` and conformed to the requested clip."""

    name = "wan"

    def __init__(self, options: WanOptions, device: torch.device) -> None:
        if options.dtype not in DTYPES:
            raise ConfigError(f"video.wan_dtype must be one of {sorted(DTYPES)}, got {options.dtype!r}")
        self.options, self.device = options, device
        self.path = check_weights(options.path)
        self._pipe: Any = None

    def generate(
        self,
        first_frame: torch.Tensor,  # [H, W, 3] float in [0, 1]
        prompt: str,
        seed: int,
        n_frames: int,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> GeneratedVideo:
        """Run the pipeline seeded with `seed`, reporting each denoising step; cancel is checked per step."""
        validate_request(first_frame, prompt, n_frames)
        check(cancel)
        pipe = self.pipeline()
        height, width = self.video_size(pipe, first_frame.shape[0], first_frame.shape[1])
        num_frames = wan_frame_count(self.options.num_frames, pipe.vae_scale_factor_temporal)
        steps = self.options.num_inference_steps

        def on_step(_pipe: Any, step: int, _timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
            report(
                progress, ProgressEvent(STAGE, (step + 1) / steps, iteration=step, message="Wan denoising")
            )
            check(cancel)
            return tensors

        with torch.inference_mode():
            output = pipe(
                image=frame_to_image(first_frame),
                prompt=prompt,
                negative_prompt=self.options.negative_prompt or None,
                height=height,
                width=width,
                num_frames=num_frames,
                num_inference_steps=steps,
                guidance_scale=self.options.guidance_scale,
                generator=torch.Generator("cpu").manual_seed(seed),
                max_sequence_length=self.options.max_sequence_length,
                output_type="pt",
                callback_on_step_end=on_step,
            )
        video = output.frames[0].float().cpu().permute(0, 2, 3, 1)  # [T, h, w, 3] in [0, 1]
        clip, fps_out = conform(video, self.options.fps, n_frames, first_frame.shape[0], first_frame.shape[1])
        meta = {"size": [height, width], "steps": steps, "seed": seed, "source_fps": self.options.fps}
        return GeneratedVideo(clip, fps_out, self.name, int(video.shape[0]), meta)

    def video_size(self, pipe: Any, frame_height: int, frame_width: int) -> tuple[int, int]:
        """Generated (height, width): configured, or the first frame's aspect at max_area; patch multiples."""
        multiple = pipe.vae_scale_factor_spatial * pipe.transformer.config.patch_size[1]
        if self.options.height > 0 and self.options.width > 0:
            height, width = float(self.options.height), float(self.options.width)
        else:
            height = math.sqrt(self.options.max_area * frame_height / frame_width)
            width = math.sqrt(self.options.max_area * frame_width / frame_height)
        return max(multiple, round(height / multiple) * multiple), max(
            multiple, round(width / multiple) * multiple
        )

    def pipeline(self) -> Any:
        """The loaded pipeline (loaded on first use)."""
        if self._pipe is None:
            self._pipe = self._load()
        return self._pipe

    def _load(self) -> Any:
        missing = [
            name
            for name in ("diffusers", "transformers", "accelerate")
            if importlib.util.find_spec(name) is None
        ]
        if missing:
            raise BackendError(f"the wan video backend needs the Python packages {', '.join(missing)}")
        from diffusers import WanImageToVideoPipeline

        dtype = DTYPES[self.options.dtype]
        dtypes = {"default": dtype, **dict.fromkeys(FP32_COMPONENTS, torch.float32)}
        log.info("loading Wan image-to-video weights from %s (%s)", self.path, self.options.dtype)
        try:
            pipe = WanImageToVideoPipeline.from_pretrained(self.path, dtype=dtypes)
        except (OSError, ValueError, KeyError) as err:
            raise AssetError(
                f"cannot load the Wan pipeline from {self.path} (video.wan_path): {err}"
            ) from err
        if self.options.cpu_offload and self.device.type != "cpu":
            pipe.enable_model_cpu_offload(device=self.device)
        else:
            pipe.to(self.device)
        pipe.set_progress_bar_config(disable=True)
        return pipe


@VIDEO_BACKENDS.register("wan")
def build_wan_generator(cfg: Config) -> WanVideoGenerator:
    """The `wan` backend: options from `video.wan_*`, on `cfg.device`."""
    return WanVideoGenerator(options_from_config(WanOptions, cfg.video, "wan_"), resolve_device(cfg.device))
