"""One typed configuration tree for zerohsi_core, loaded from YAML with dotted overrides.

Defaults are the paper's schedule (App. C, see the section cited on each field). `config/hsi.yaml` holds
the same tree, either plain or wrapped as ROS 2 parameters (`/**: ros__parameters: …`), so one file
configures the CLI and the ROS node. Profiles are named sets of dotted overrides: `paper` (the defaults)
and `draft` (CPU-sized). Unknown keys and wrong types raise `ConfigError` naming the key.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from zerohsi_core.errors import ConfigError


@dataclass(frozen=True)
class PathsConfig:
    """Where goal-supplied files may come from and where results go."""

    data_roots: list[str] = field(default_factory=lambda: ["~/.cache/zerohsi", "~/zerohsi_data"])
    output_dir: str = "outputs"


@dataclass(frozen=True)
class RenderConfig:
    """Image size and rasteriser settings (Sec. 3.1, Eq. 1–2)."""

    width: int = 1024  # KLING renders 1024×1024 (SETUP_NOTES)
    height: int = 1024
    fov_deg: float = 60.0  # vertical field of view of the virtual camera
    backend: str = "auto"  # auto | gsplat | torch
    background: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0])
    near: float = 0.01
    far: float = 100.0


@dataclass(frozen=True)
class SceneConfig:
    """Scene registry and the default scene of the demo."""

    registry: str = ""  # "" = config/scenes.yaml of the package
    default: str = "living_room"
    density: float = 1.0  # Gaussian density of procedural scenes (1.0 ≈ 150k Gaussians)


@dataclass(frozen=True)
class BodyConfig:
    """Body model, pose prior and avatar files ("" = the project's stand-ins)."""

    model_path: str = ""  # directory with SMPLX_{NEUTRAL,MALE,FEMALE}.npz; "" = stand-in model
    gender: str = "neutral"
    num_betas: int = 10
    num_expression: int = 10
    vposer_path: str = ""  # VPoser v2 snapshot dir or .ckpt; "" = untrained network (tests only)
    avatar_path: str = ""  # saved Gaussian avatar; "" = procedural default appearance
    avatar_gaussians: int = 0  # Gaussians of the default avatar; 0 = one per triangle (20,850 on SMPL-X)


@dataclass(frozen=True)
class ViewConfig:
    """View selection on concentric sphere shells around the human (App. C.3)."""

    radii: list[float] = field(default_factory=lambda: [2.5, 3.0, 3.5])
    num_azimuth: int = 12
    elevations_deg: list[float] = field(default_factory=lambda: [0.0, 15.0, 30.0])
    min_offset_from_front_deg: float = 20.0  # "no direct frontal view"
    centre_height_offset: float = 0.1  # centre z = pelvis height + 0.1 m
    depth_eps: float = 0.05  # joint visible when |D − D_H| < ε (metres)
    width: int = 256
    height: int = 256
    batch: int = 8  # candidate cameras rendered per call


@dataclass(frozen=True)
class VideoConfig:
    """Image-to-video generation (Sec. 3.2): 153 frames resampled to 51, 5 s at 10 fps."""

    backend: str = "scripted"  # scripted | file | kling | wan
    num_frames: int = 51
    fps: float = 10.0
    source_frames: int = 153
    file_path: str = ""
    # scripted backend: degradations that mimic real generators (all off = the clean ground truth)
    scripted_noise_sigma: float = 0.0
    scripted_blur_sigma_px: float = 0.0
    scripted_color_drift: float = 0.0
    scripted_appearance_drift: float = 0.0
    scripted_camera_shake_px: float = 0.0
    scripted_shake_smoothing: int = 5
    scripted_mp4: bool = False
    kling_base_url: str = "https://api-singapore.klingai.com"
    kling_model: str = "kling-v1"  # the paper's KLING v1.0; also kling-v1-5, kling-v1-6
    kling_key_file: str = ""  # file with "ACCESS_KEY:SECRET_KEY"; else env KLING_ACCESS_KEY/SECRET_KEY
    kling_mode: str = "std"  # std | pro
    kling_duration: str = "5"  # seconds: "5" or "10"
    kling_cfg_scale: float = 0.5
    kling_negative_prompt: str = ""
    kling_poll_interval_s: float = 5.0
    kling_deadline_s: float = 900.0  # give up on a task after this long
    kling_max_retries: int = 4  # for 429 (rate limit), 5xx and connection errors
    kling_backoff_s: float = 1.0
    kling_backoff_max_s: float = 60.0
    kling_connect_timeout_s: float = 10.0
    kling_read_timeout_s: float = 60.0
    wan_path: str = ""  # local Wan 2.1 image-to-video diffusers directory
    wan_dtype: str = "bf16"  # bf16 | fp16 | fp32 (VAE and image encoder stay fp32)
    wan_cpu_offload: bool = False
    wan_num_inference_steps: int = 50
    wan_guidance_scale: float = 5.0
    wan_height: int = 0  # 0 = from the first frame's aspect at wan_max_area
    wan_width: int = 0
    wan_max_area: int = 399360  # 480 × 832
    wan_num_frames: int = 81  # Wan wants 4k + 1 frames
    wan_fps: float = 16.0
    wan_negative_prompt: str = ""
    wan_max_sequence_length: int = 512


@dataclass(frozen=True)
class SegmentConfig:
    """Video segmentation of human and object (Sec. 3.2)."""

    backend: str = "rendered"  # rendered | sam2
    sam2_checkpoint: str = ""
    sam2_config: str = "configs/sam2.1/sam2.1_hiera_t.yaml"
    num_points: int = 8  # farthest-point-sampled prompt points per entity
    num_negative_points: int = 2  # points on the other entity, labelled background
    prompt_erode_px: int = 3  # prompts keep this far from mask edges
    mask_threshold: float = 0.5  # soft rendered masks count as inside above this
    sam2_image_size: int = 1024
    offload_video_to_cpu: bool = False
    offload_state_to_cpu: bool = False


@dataclass(frozen=True)
class TrackingConfig:
    """Camera tracking on the static mask (Sec. 3.3, Eq. 7–8)."""

    iters: int = 30
    lr: float = 1e-3


@dataclass(frozen=True)
class HsiConfig:
    """Per-frame human and object optimisation (Sec. 3.4, Eq. 9–14)."""

    iters: int = 300
    warmup_iters: int = 30  # first iterations optimise only r and φ
    lr: float = 1e-2
    lambda_ssim: float = 0.1  # λ in L_rgb = (1 − λ) L1 + λ D-SSIM (Eq. 10)
    lambda_center: float = 1e-3  # Eq. 14
    lambda_depth: float = 1e-3  # Eq. 14
    color_every: int = 5  # colour network fine-tuned every 5 steps
    color_lr: float = 1e-5
    pose_init: str = "previous"  # Θ_t starts at: previous (Θ_{t−1}) | scripted (noisy truth; pose_init.py)
    pose_init_noise_deg: float = 5.0  # scripted: σ of each joint's random rotation, per axis
    velocity_init: float = 0.0  # r_t, φ_t: t−1's + this share of t−2 → t−1 (0: the paper's t−1 values)
    start_select: bool = False  # with velocity_init: r_t, φ_t from t−1's or moved on, whichever renders best


@dataclass(frozen=True)
class RefineConfig:
    """VPoser refinement over the clip (Sec. 3.5, Eq. 15–16, S1–S4)."""

    iters: int = 1000
    lr: float = 0.05
    lambda_physics: float = 1e-3
    lambda_contact: float = 1.0
    lambda_smooth_static: float = 0.3
    lambda_smooth_dynamic: float = 0.1
    contact_eps: float = 0.02  # hand vertices within ε of object particles (S1)


@dataclass(frozen=True)
class SpeedConfig:
    """How the optimisation stages run on a GPU (#9); both paths compute the same losses (PERFORMANCE.md)."""

    path: str = "optimized"  # optimized | reference (the straightforward full-frame loop, the baseline)
    crop_margin: float = 0.25  # optimized: crop box = mask/body box grown by this share of its size
    crop_min_pixels: int = 48  # optimized: and by at least this many pixels on each side
    compile: bool = True  # optimized path on CUDA: the avatar (HSI) and the refinement objective compiled
    frames_in_flight: int = 1  # optimized HSI: K frames at once, t starting iters/K steps after t−1 (GPU: 12)
    track_ahead: bool = True  # optimized path on CUDA: tracking in a background thread, overlapping HSI


@dataclass(frozen=True)
class MetricsConfig:
    """Evaluation (Sec. 4.1): CLIP model files and the thresholds of the physical metrics (EVALUATION.md)."""

    clip_model: str = "ViT-B-32"  # open_clip architecture
    clip_weights: str = ""  # open_clip checkpoint file; never downloaded
    contact_threshold: float = 0.02  # hand–object contact: a hand vertex within this distance (m)
    foot_contact_height: float = 0.05  # a foot is in ground contact below this height (m)


@dataclass(frozen=True)
class ClusterConfig:
    """Where clips run: in-process, or as Ray tasks on a cluster (SCALE.md)."""

    ray_address: str = ""  # "" = in-process; "auto" or "ray://host:port" = Ray cluster
    gpus_per_job: float = 1.0  # GPUs a clip task asks Ray for (0 = CPU task, draft profile)
    max_retries: int = 2  # a failed job is retried this many times, then reported
    max_concurrent_video_calls: int = 4  # bounds calls to a rate-limited video API across the cluster


@dataclass(frozen=True)
class Config:
    """The whole configuration tree."""

    profile: str = "paper"
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    seed: int = 0
    paths: PathsConfig = field(default_factory=PathsConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    scene: SceneConfig = field(default_factory=SceneConfig)
    body: BodyConfig = field(default_factory=BodyConfig)
    view: ViewConfig = field(default_factory=ViewConfig)
    video: VideoConfig = field(default_factory=VideoConfig)
    segment: SegmentConfig = field(default_factory=SegmentConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    hsi: HsiConfig = field(default_factory=HsiConfig)
    refine: RefineConfig = field(default_factory=RefineConfig)
    speed: SpeedConfig = field(default_factory=SpeedConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)


# Profiles are dotted overrides on top of the defaults. `paper` is the paper's schedule; `draft` makes
# a clip run in minutes on a 2-core CPU: small images, fewer iterations, a sparser demo scene.
PROFILES: dict[str, dict[str, Any]] = {
    "paper": {},
    "draft": {
        "render.width": 128,
        "render.height": 128,
        "scene.density": 0.1,
        "body.avatar_gaussians": 3000,
        "view.width": 96,
        "view.height": 96,
        "view.num_azimuth": 6,
        "view.radii": [3.0],
        "video.num_frames": 8,
        "video.source_frames": 24,
        "hsi.iters": 30,
        "hsi.warmup_iters": 5,
        "tracking.iters": 10,
        "refine.iters": 100,
    },
}


def package_config_dir() -> Path:
    """The `config/` directory: beside the sources, or in the ROS share dir of an installed package."""
    here = Path(__file__).resolve().parent.parent / "config"
    if here.is_dir():
        return here
    try:
        from ament_index_python.packages import get_package_share_directory

        return Path(get_package_share_directory("zerohsi_ros")) / "config"
    except Exception as err:  # not in a ROS environment, or not installed
        raise ConfigError("cannot find the package's config/ directory") from err


def load_config(
    path: str | Path | None = None,
    profile: str | None = None,
    overrides: Iterable[str] | Mapping[str, Any] = (),
) -> Config:
    """Defaults ← YAML file ← profile ← dotted overrides ("render.width=256" or a mapping)."""
    values: dict[str, Any] = {}
    if path is not None:
        values.update(flatten(read_yaml(Path(path))))
    extra = parse_overrides(overrides)
    name = profile or extra.get("profile") or values.get("profile") or "paper"
    if name not in PROFILES:
        raise ConfigError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)}")
    merged = {**values, **PROFILES[name], **extra, "profile": name}
    return apply_overrides(Config(), merged)


def read_yaml(path: Path) -> dict[str, Any]:
    """A config YAML as a nested dict; unwraps a ROS 2 parameters file (`<node>: ros__parameters:`)."""
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except OSError as err:
        raise ConfigError(f"cannot read config file {path}: {err.strerror}") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path} is not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    if len(data) == 1:
        (inner,) = data.values()
        if isinstance(inner, dict) and "ros__parameters" in inner:
            data = inner["ros__parameters"] or {}
    return data


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mapping → {"a.b.c": value}."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def parse_overrides(overrides: Iterable[str] | Mapping[str, Any]) -> dict[str, Any]:
    """ "key=value" strings (values parsed as YAML scalars/lists) or a mapping → dotted dict."""
    if isinstance(overrides, Mapping):
        return dict(overrides)
    parsed: dict[str, Any] = {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r} is not of the form key=value (e.g. render.width=256)")
        try:
            parsed[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError as err:
            raise ConfigError(f"override {item!r}: cannot parse value {raw!r}") from err
    return parsed


def apply_overrides(config: Config, flat: Mapping[str, Any]) -> Config:
    """A new Config with dotted keys replaced, each value checked against the field's type."""
    for key, value in flat.items():
        config = _replace(config, key.split("."), value, key)
    return config


def _replace(node: Any, parts: list[str], value: Any, key: str) -> Any:
    fields = {f.name: f for f in dataclasses.fields(node)}
    name = parts[0]
    if name not in fields:
        raise ConfigError(f"unknown config key {key!r}: {type(node).__name__} has {sorted(fields)}")
    hint = typing.get_type_hints(type(node))[name]
    current = getattr(node, name)
    if dataclasses.is_dataclass(current):
        if len(parts) == 1:
            if not isinstance(value, Mapping):
                raise ConfigError(f"config key {key!r} is a section; give a mapping or a dotted key")
            return dataclasses.replace(node, **{name: apply_overrides(current, flatten(value))})
        return dataclasses.replace(node, **{name: _replace(current, parts[1:], value, key)})
    if len(parts) > 1:
        raise ConfigError(f"unknown config key {key!r}: {'.'.join(parts[:1])} is not a section")
    return dataclasses.replace(node, **{name: _coerce(value, hint, key)})


def _coerce(value: Any, hint: Any, key: str) -> Any:
    """Check (and widen int → float) a value against a field type; ConfigError naming the key."""
    origin = typing.get_origin(hint)
    if origin in (list, tuple):
        (item_type, *_) = typing.get_args(hint) or (Any,)
        if isinstance(value, str | bytes) or not isinstance(value, Iterable):
            raise ConfigError(f"config key {key!r} expects a list, got {value!r}")
        return [_coerce(item, item_type, f"{key}[{i}]") for i, item in enumerate(value)]
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(hint):
            try:
                return _coerce(value, option, key)
            except ConfigError:
                continue
        raise ConfigError(f"config key {key!r} expects {hint}, got {value!r}")
    if hint is Any:
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is type(None) and value is None:
        return None
    if isinstance(value, hint) and not (hint is int and isinstance(value, bool)):
        return value
    raise ConfigError(f"config key {key!r} expects {hint.__name__}, got {type(value).__name__} {value!r}")


def to_dict(config: Any) -> dict[str, Any]:
    """The tree as plain nested dicts (for writing next to results)."""
    return dataclasses.asdict(config)
