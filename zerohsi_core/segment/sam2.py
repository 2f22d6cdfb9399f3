"""SAM2 video predictor (Sec. 3.2): human and object masks through the clip from FPS point prompts."""

from __future__ import annotations

import importlib.util
import pickle
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from zerohsi_core.config import Config
from zerohsi_core.device import resolve_device
from zerohsi_core.errors import AssetError, BackendError, ConfigError
from zerohsi_core.progress import CancelToken, ProgressCallback, ProgressEvent, check, report
from zerohsi_core.segment.base import STAGE, VideoMasks, check_segment_inputs
from zerohsi_core.segment.prompts import PointPrompt, PromptOptions, sample_prompt

HUMAN_ID = 1  # SAM2 object ids
OBJECT_ID = 2
FEATURE_STRIDE = 16  # stride of the feature map the memory attention's RoPE is sized for
CHECKPOINTS_URL = "https://github.com/facebookresearch/sam2#model-checkpoints"


@dataclass(frozen=True)
class Sam2Options:
    """SAM2 model files, resolution, memory and prompt settings."""

    checkpoint: str = ""  # SAM2.1 .pt file (segment.sam2_checkpoint)
    model_config: str = "configs/sam2.1/sam2.1_hiera_t.yaml"  # must match the checkpoint
    image_size: int = 1024  # the model's square input size (SAM2.1 is trained at 1024)
    offload_video_to_cpu: bool = False  # keep the frames in CPU memory, move one at a time
    offload_state_to_cpu: bool = False  # keep SAM2's memory bank in CPU memory (slower, less GPU memory)
    device: str = "auto"
    logit_threshold: float = 0.0  # a pixel is inside where the mask logit exceeds this
    img_mean: tuple[float, float, float] = (0.485, 0.456, 0.406)  # SAM2's input normalisation (ImageNet)
    img_std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    prompts: PromptOptions = field(default_factory=PromptOptions)
    random_init: bool = False  # tests only: random weights instead of a checkpoint
    seed: int = 0  # weights seed with random_init


def sam2_options_from_config(cfg: Config) -> Sam2Options:
    """Sam2Options from the `segment` section and the global device."""
    seg = cfg.segment
    return Sam2Options(
        checkpoint=seg.sam2_checkpoint,
        model_config=seg.sam2_config,
        image_size=seg.sam2_image_size,
        offload_video_to_cpu=seg.offload_video_to_cpu,
        offload_state_to_cpu=seg.offload_state_to_cpu,
        device=cfg.device,
        prompts=PromptOptions(
            num_points=seg.num_points,
            num_negative=seg.num_negative_points,
            erode_px=seg.prompt_erode_px,
            mask_threshold=seg.mask_threshold,
        ),
    )


def _checkpoint_path(options: Sam2Options) -> Path | None:
    """The checkpoint file, or None with random_init; AssetError naming the setting if it is missing."""
    if options.random_init:
        if options.checkpoint:
            raise ConfigError("SAM2 random_init is for tests only and excludes segment.sam2_checkpoint")
        return None
    hint = (
        f"download a SAM2.1 checkpoint (e.g. sam2.1_hiera_tiny.pt) from {CHECKPOINTS_URL} and set "
        f"segment.sam2_checkpoint to it, with segment.sam2_config the matching configs/sam2.1/*.yaml "
        f"(now {options.model_config!r}); or use segment.backend=rendered with scripted videos"
    )
    if not options.checkpoint:
        raise AssetError(f"segment.sam2_checkpoint is not set: {hint}")
    path = Path(options.checkpoint).expanduser()
    if not path.is_file():
        raise AssetError(f"segment.sam2_checkpoint {str(path)!r} does not exist: {hint}")
    return path


def _hydra_overrides(image_size: int) -> list[str]:
    """Resize the model to `image_size`, with the memory attention's RoPE grid to match."""
    if image_size <= 0 or image_size % (2 * FEATURE_STRIDE) != 0:
        multiple = 2 * FEATURE_STRIDE
        raise ConfigError(f"SAM2 image_size must be a positive multiple of {multiple}, got {image_size}")
    grid = image_size // FEATURE_STRIDE
    attention = "++model.memory_attention.layer"
    return [
        f"++model.image_size={image_size}",
        f"{attention}.self_attention.feat_sizes=[{grid},{grid}]",
        f"{attention}.cross_attention.feat_sizes=[{grid},{grid}]",
    ]


def _load_weights(predictor: torch.nn.Module, checkpoint: Path, options: Sam2Options) -> None:
    """Load a SAM2 checkpoint ({"model": state_dict}) strictly; AssetError naming both settings on failure."""
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)["model"]
        predictor.load_state_dict(state)
    except (OSError, EOFError, KeyError, TypeError, RuntimeError, pickle.UnpicklingError) as err:
        raise AssetError(
            f"segment.sam2_checkpoint {str(checkpoint)!r} is not a SAM2 checkpoint for segment.sam2_config "
            f"{options.model_config!r}: {err}"
        ) from err


def build_predictor(options: Sam2Options, device: torch.device) -> torch.nn.Module:
    """The SAM2 video predictor from its hydra config and checkpoint (or random weights in tests)."""
    checkpoint = _checkpoint_path(options)
    try:
        from hydra.errors import MissingConfigException
        from sam2.build_sam import build_sam2_video_predictor
    except ImportError as err:
        raise BackendError(
            "the sam2 backend needs the sam2 package: SAM2_BUILD_CUDA=0 pip install --no-build-isolation "
            f"sam2==1.1.0 ({err})"
        ) from err
    overrides = _hydra_overrides(options.image_size)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(options.seed)
        try:
            predictor = build_sam2_video_predictor(
                options.model_config, ckpt_path=None, device="cpu", hydra_overrides_extra=overrides
            )
        except MissingConfigException as err:
            raise ConfigError(
                f"segment.sam2_config {options.model_config!r} is not a SAM2 config; shipped ones are "
                "configs/sam2.1/sam2.1_hiera_{t,s,b+,l}.yaml"
            ) from err
    if checkpoint is not None:
        _load_weights(predictor, checkpoint, options)
    if importlib.util.find_spec("sam2._C") is None:
        predictor.fill_hole_area = 0  # hole filling needs SAM2's CUDA extension; without it SAM2 skips it
    return predictor.to(device).eval()


class ModelFrames(Sequence[Tensor]):
    """Frames as the predictor reads them: resized to the model's square input and normalised, on demand."""

    def __init__(self, frames: Tensor, options: Sam2Options, device: torch.device) -> None:
        # frames: [T, H, W, 3] in [0, 1]; kept on the CPU when offloading, else moved to the device once
        self._frames = frames.to("cpu" if options.offload_video_to_cpu else device)
        self._size = options.image_size
        self._mean = torch.tensor(options.img_mean, device=device)[:, None, None]  # [3, 1, 1]
        self._std = torch.tensor(options.img_std, device=device)[:, None, None]
        self._device = device

    def __len__(self) -> int:
        return self._frames.shape[0]

    def __getitem__(self, index: int) -> Tensor:  # type: ignore[override]
        """Frame `index` as [3, S, S] float32, resized like SAM2's loader (antialiased bicubic)."""
        image = self._frames[index].to(self._device, torch.float32).permute(2, 0, 1)  # [3, H, W]
        size = (self._size, self._size)
        image = F.interpolate(image[None], size=size, mode="bicubic", antialias=True, align_corners=False)[0]
        return (image.clamp(0.0, 1.0) - self._mean) / self._std


def init_state(predictor: Any, frames: Tensor, options: Sam2Options) -> dict[str, Any]:
    """SAM2's inference state for in-memory frames [T, H, W, 3]; mirrors `SAM2VideoPredictor.init_state`,
    which only reads JPEG folders or MP4 files."""
    device = predictor.device
    images = ModelFrames(frames, options, device)
    state: dict[str, Any] = {
        "images": images,
        "num_frames": len(images),
        "offload_video_to_cpu": options.offload_video_to_cpu,
        "offload_state_to_cpu": options.offload_state_to_cpu,
        "video_height": frames.shape[1],
        "video_width": frames.shape[2],
        "device": device,
        "storage_device": torch.device("cpu") if options.offload_state_to_cpu else device,
        "point_inputs_per_obj": {},
        "mask_inputs_per_obj": {},
        "cached_features": {},
        "constants": {},
        "obj_id_to_idx": OrderedDict(),
        "obj_idx_to_id": OrderedDict(),
        "obj_ids": [],
        "output_dict_per_obj": {},
        "temp_output_dict_per_obj": {},
        "frames_tracked_per_obj": {},
    }
    return state


class Sam2Segmenter:
    """Segmenter `sam2`: SAM2 video predictor prompted by FPS points on the visible first-frame masks."""

    name = "sam2"

    def __init__(self, options: Sam2Options | None = None) -> None:
        self.options = options or Sam2Options()
        _checkpoint_path(self.options)  # fail early on a missing checkpoint; the model loads on first use
        self._predictor: torch.nn.Module | None = None

    @property
    def predictor(self) -> torch.nn.Module:
        """The SAM2 video predictor, built on first use."""
        if self._predictor is None:
            self._predictor = build_predictor(self.options, resolve_device(self.options.device))
        return self._predictor

    def prompts(self, human: Tensor, obj: Tensor | None) -> dict[int, PointPrompt]:
        """Point prompts per SAM2 object id; each entity's negatives lie on the other's mask."""
        prompts = {HUMAN_ID: sample_prompt(human, obj, self.options.prompts, "human")}
        if obj is not None:
            prompts[OBJECT_ID] = sample_prompt(obj, human, self.options.prompts, "object")
        return prompts

    def segment(
        self,
        frames: Tensor,  # [T, H, W, 3] float in [0, 1]
        first_human_mask: Tensor,  # [H, W]
        first_object_mask: Tensor | None,  # [H, W]
        *,
        meta: Mapping[str, Any] | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> VideoMasks:
        """Track the human (id 1) and object (id 2) from their frame-0 prompts through all frames."""
        check_segment_inputs(frames, first_human_mask, first_object_mask)
        obj = None if first_object_mask is None else first_object_mask.cpu()
        prompts = self.prompts(first_human_mask.cpu(), obj)
        check(cancel)
        predictor = self.predictor
        num_frames = frames.shape[0]
        per_frame: list[Tensor | None] = [None] * num_frames  # [E, H, W] bool, inference tensors
        with torch.inference_mode():
            state = init_state(predictor, frames, self.options)
            for obj_id, prompt in prompts.items():
                predictor.add_new_points_or_box(
                    state, frame_idx=0, obj_id=obj_id, points=prompt.points, labels=prompt.labels
                )
            for done, (frame_idx, obj_ids, logits) in enumerate(predictor.propagate_in_video(state), start=1):
                order = [list(obj_ids).index(obj_id) for obj_id in prompts]
                per_frame[frame_idx] = (logits[order, 0] > self.options.logit_threshold).to(frames.device)
                report(progress, ProgressEvent(STAGE, done / num_frames, frame=frame_idx, message=self.name))
                check(cancel)
        if any(mask is None for mask in per_frame):
            raise BackendError("SAM2 propagation skipped frames; expected one mask per frame from frame 0")
        # stacked outside inference mode: a normal tensor that later losses may save for backward
        masks = torch.stack(per_frame, dim=1).to(torch.float32)  # [E, T, H, W]
        return VideoMasks(human=masks[0], object=masks[1] if len(prompts) > 1 else None, backend=self.name)
