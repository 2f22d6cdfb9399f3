"""What a caller asks the pipeline for, and the checks a request passes before any work starts.

`InteractionRequest` checks its own fields when it is made; `validate_request` checks it against the
config and `validate_placement` against the scene (a pose or start far outside it is refused).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from torch import Tensor

from zerohsi_core.body.params import SmplxParams
from zerohsi_core.config import Config
from zerohsi_core.errors import BackendError, ConfigError, InputError
from zerohsi_core.scene.object import as_rigid_pose
from zerohsi_core.scene.scene import Scene
from zerohsi_core.segment.registry import SEGMENT_BACKENDS
from zerohsi_core.video.base import validate_frame_count, validate_prompt
from zerohsi_core.video.registry import VIDEO_BACKENDS


@dataclass(frozen=True, eq=False)
class InteractionRequest:
    """What to synthesise: a scene, an optional object and its pose, the initial human, prompts, seed."""

    prompts: Sequence[str]
    scene_id: str = ""  # "" = config scene.default
    object_id: str = ""  # "" = no object (static interaction)
    object_pose: Tensor | None = None  # [4, 4] object-to-world; None = the scene's default placement
    initial_params: SmplxParams | None = None  # [1] world frame; None = standing at the scene's start
    num_frames: int = 0  # per clip; 0 = config video.num_frames
    seed: int = 0

    def __post_init__(self) -> None:
        _validate_own_fields(self)


@dataclass(frozen=True)
class RequestLimits:
    """Bounds a request must respect (checked before any work starts)."""

    scene_margin_m: float = 2.0  # how far outside the scene's Gaussian bounds an object or human may start


def _validate_own_fields(request: InteractionRequest) -> None:
    """InputError for prompts, frame count or object pose that no configuration could make valid."""
    if isinstance(request.prompts, str) or not list(request.prompts):
        raise InputError("the request has no prompt: give a list of at least one text prompt")
    for index, prompt in enumerate(request.prompts):
        try:
            validate_prompt(prompt)
        except InputError as err:
            raise InputError(f"prompt {index}: {err}") from None
    if request.num_frames:
        try:
            validate_frame_count(request.num_frames)
        except InputError as err:
            raise InputError(f"num_frames (0 = the configured count): {err}") from None
    if request.object_pose is not None and not request.object_id:
        raise InputError("an object pose was given without an object id: name the object it places")


def validate_request(request: InteractionRequest, cfg: Config) -> None:
    """InputError (ConfigError, BackendError for config values) naming the field if the request cannot run."""
    _validate_own_fields(request)
    for registry, name, key in (
        (VIDEO_BACKENDS, cfg.video.backend, "video.backend"),
        (SEGMENT_BACKENDS, cfg.segment.backend, "segment.backend"),
    ):
        if name not in registry.names():
            raise BackendError(f"unknown {key} {name!r}; available: {sorted(registry.names())}")
    if not math.isfinite(cfg.video.fps) or cfg.video.fps <= 0:
        raise ConfigError(f"video.fps must be a positive number of frames per second, got {cfg.video.fps}")
    if not request.num_frames:
        try:
            validate_frame_count(cfg.video.num_frames)
        except InputError as err:
            raise ConfigError(f"video.num_frames: {err}") from None
    if request.initial_params is not None:
        initial = request.initial_params.validate()
        if initial.batch_size != 1:
            raise InputError(f"the initial SMPL-X state must be one frame, got {initial.batch_size}")
        counts, wanted = (
            (initial.num_betas, initial.num_expression),
            (cfg.body.num_betas, cfg.body.num_expression),
        )
        if counts != wanted:
            raise InputError(
                f"the initial SMPL-X state has {counts[0]} betas / {counts[1]} expression coefficients; the "
                f"body model uses {wanted[0]} / {wanted[1]} (body.num_betas, body.num_expression)"
            )


def validate_placement(
    request: InteractionRequest, scene: Scene, limits: RequestLimits = RequestLimits()
) -> None:
    """InputError if the object pose or the initial human lies far outside the scene (or is not rigid)."""
    means = scene.gaussians.means.detach().cpu().double()  # [N, 3]
    low, high = means.min(0).values - limits.scene_margin_m, means.max(0).values + limits.scene_margin_m
    places: dict[str, Tensor] = {}
    if request.object_pose is not None:
        places["object pose"] = as_rigid_pose(request.object_pose, "object pose")[:3, 3]
    if request.initial_params is not None:
        places["initial human position"] = request.initial_params.transl[0].detach().cpu().double()
    for name, position in places.items():
        if bool((position < low).any() or (position > high).any()):
            raise InputError(
                f"{name} {[round(v, 3) for v in position.tolist()]} lies outside scene {scene.id!r} "
                f"(bounds {[round(v, 2) for v in low.tolist()]}..{[round(v, 2) for v in high.tolist()]}, "
                f"margin {limits.scene_margin_m} m included)"
            )
