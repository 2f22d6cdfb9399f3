"""Per-frame body-pose initialisers for HSI optimisation (Sec. 3.4, `hsi.pose_init`).

The paper initialises Θ_t on every frame from an independent frame-wise estimate of a pose estimation
model (SMPLer-X), so an error in one frame's limbs does not carry into the next. Two initialisers here:

- `previous`: Θ_t starts at Θ_{t−1} — needs nothing, but a limb the fit lost stays lost for later frames.
- `scripted`: the scripted round trip's stand-in for the estimator, as the scripted video backend stands in
  for the generator: each frame's ground-truth body pose, every joint turned by an independent random
  rotation (axis-angle components ~ N(0, σ²), σ = `hsi.pose_init_noise_deg`, fixed by seed and frame). It
  needs the ground truth that only the `scripted` video backend records.

A real estimator plugs in as a `PoseInitializer`: (frame index, frame [H,W,3], previous parameters [1]) →
Θ_t [1,21,3] (`optimize_clip(pose_init=…)`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

from zerohsi_core.body.params import SmplxParams
from zerohsi_core.config import Config
from zerohsi_core.errors import InputError
from zerohsi_core.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from zerohsi_core.registry import Registry

PoseInitializer = Callable[[int, Tensor, SmplxParams], Tensor]
POSE_INITIALIZERS = Registry[PoseInitializer]("pose initialiser")


def previous_pose(_t: int, _frame: Tensor, previous: SmplxParams) -> Tensor:
    """Θ_t starts at Θ_{t−1}."""
    return previous.body_pose


class NoisyPoseEstimate:
    """Frame-wise estimates of known body poses [T, J, 3]: each joint's rotation composed with a random
    rotation whose axis-angle components are N(0, σ²); frame t's noise depends only on (seed, t)."""

    def __init__(self, body_pose: Tensor, noise_deg: float, seed: int = 0) -> None:
        if body_pose.ndim != 3 or body_pose.shape[-1] != 3:
            raise InputError(f"body poses must be [T, J, 3], got {tuple(body_pose.shape)}")
        if not math.isfinite(noise_deg) or noise_deg < 0:
            raise InputError(f"pose estimate noise must be a finite angle ≥ 0 degrees, got {noise_deg}")
        self.body_pose = body_pose.detach().cpu().double()
        self.sigma, self.seed = math.radians(noise_deg), seed

    def noise(self, t: int) -> Tensor:
        """Frame t's perturbations [J, 3] (axis-angle, radians)."""
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + t)
        return self.sigma * torch.randn(self.body_pose.shape[1:], generator=generator, dtype=torch.float64)

    def __call__(self, t: int, _frame: Tensor, previous: SmplxParams) -> Tensor:
        if not 0 <= t < len(self.body_pose):
            raise InputError(f"no pose for frame {t}: the estimate covers {len(self.body_pose)} frames")
        turned = axis_angle_to_matrix(self.body_pose[t]) @ axis_angle_to_matrix(self.noise(t))
        return matrix_to_axis_angle(turned)[None].to(previous.body_pose)


@POSE_INITIALIZERS.register("previous")
def _previous(_cfg: Config, _meta: Mapping[str, Any]) -> PoseInitializer:
    return previous_pose


@POSE_INITIALIZERS.register("scripted")
def _scripted(cfg: Config, meta: Mapping[str, Any]) -> PoseInitializer:
    truth = meta.get("ground_truth")
    if truth is None:
        raise InputError(
            "hsi.pose_init=scripted perturbs the ground truth of the scripted video backend, and this video "
            f"has none (video.backend={cfg.video.backend!r}); use hsi.pose_init=previous"
        )
    return NoisyPoseEstimate(truth.params.body_pose, cfg.hsi.pose_init_noise_deg, cfg.seed)


def create_pose_initializer(cfg: Config, meta: Mapping[str, Any]) -> PoseInitializer:
    """The initialiser `hsi.pose_init` for a clip whose video carries `meta`; BackendError if unknown."""
    return POSE_INITIALIZERS.create(cfg.hsi.pose_init, cfg, meta)
