"""Per-frame pose initialisers (hsi.pose_init): the noisy frame-wise estimate and its use by the pipeline."""

import math
from types import SimpleNamespace

import pytest
import torch
from core.test_pipeline import pipeline  # noqa: F401  (module fixture)
from core.tiny import with_overrides

from zerohsi_core.body.params import SmplxParams
from zerohsi_core.config import Config, apply_overrides, parse_overrides
from zerohsi_core.errors import BackendError, InputError
from zerohsi_core.metrics.truth import axis_angle_distance_deg
from zerohsi_core.optimize.pose_init import NoisyPoseEstimate, create_pose_initializer
from zerohsi_core.pipeline import InteractionRequest

T, J = 40, 21


def _previous(pose: torch.Tensor) -> SmplxParams:
    return SmplxParams.zeros(1, 10, 10).replace(body_pose=pose.float())


def test_noisy_estimate_turns_each_joint_by_the_stated_spread() -> None:
    truth = 0.6 * torch.randn(T, J, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    previous = _previous(torch.zeros(1, J, 3))
    exact = NoisyPoseEstimate(truth, 0.0)
    assert torch.allclose(exact(7, torch.empty(0), previous)[0].double(), truth[7], atol=1e-5)
    sigma = 8.0
    estimate = NoisyPoseEstimate(truth, sigma, seed=3)
    poses = torch.cat([estimate(t, torch.empty(0), previous) for t in range(T)]).double()
    assert poses.shape == (T, J, 3)
    # |N(0, σ² I₃)| has mean 2σ√(2/π) ≈ 1.596 σ: the rotation between truth and estimate, over 840 joints.
    mean = float(axis_angle_distance_deg(truth, poses).mean())
    assert mean == pytest.approx(2 * sigma * math.sqrt(2 / math.pi), rel=0.08), mean
    again = NoisyPoseEstimate(truth, sigma, seed=3)(5, torch.empty(0), previous)
    assert torch.equal(again, estimate(5, torch.empty(0), previous))  # fixed by (seed, frame) …
    assert not torch.equal(estimate.noise(5), estimate.noise(6))  # … independent across frames
    assert not torch.equal(estimate.noise(5), NoisyPoseEstimate(truth, sigma, seed=4).noise(5))
    assert estimate(5, torch.empty(0), previous).dtype == torch.float32  # follows the parameters
    with pytest.raises(InputError, match="frame 40"):
        estimate(T, torch.empty(0), previous)
    with pytest.raises(InputError, match="≥ 0"):
        NoisyPoseEstimate(truth, -1.0)


def test_initialisers_by_name() -> None:
    previous = _previous(torch.full((1, J, 3), 0.2))
    default = create_pose_initializer(Config(), {})
    assert torch.equal(default(3, torch.empty(0), previous), previous.body_pose)
    exact = ["hsi.pose_init=scripted", "hsi.pose_init_noise_deg=0"]
    scripted = apply_overrides(Config(), parse_overrides(exact))
    with pytest.raises(InputError, match="hsi.pose_init=scripted"):
        create_pose_initializer(scripted, {"prompt": "no ground truth here"})
    truth = SimpleNamespace(params=SimpleNamespace(body_pose=torch.rand(4, J, 3)))
    estimate = create_pose_initializer(scripted, {"ground_truth": truth})
    assert torch.allclose(estimate(2, torch.empty(0), previous)[0], truth.params.body_pose[2], atol=1e-5)
    unknown = apply_overrides(Config(), parse_overrides(["hsi.pose_init=smplerx"]))
    with pytest.raises(BackendError, match="available: previous, scripted"):
        create_pose_initializer(unknown, {})


def test_the_pipeline_starts_every_frame_from_the_estimate(pipeline) -> None:  # noqa: F811
    """With an exact estimate (σ = 0) each frame's Θ starts at the truth and moves only by the few Adam
    steps of the tiny schedule; starting from Θ_{t−1} leaves the motion between frames to be found."""
    request = InteractionRequest(["The person is sitting on the sofa."], "living_room", seed=2)
    steps = pipeline.cfg.hsi.iters - pipeline.cfg.hsi.warmup_iters
    bound = 1.5 * steps * pipeline.cfg.hsi.lr  # Adam moves a parameter by about lr per step

    def body_pose_error(*overrides: str) -> float:
        clip = with_overrides(pipeline, *overrides).run(request).clips[0]
        truth = clip.video.meta["ground_truth"].params.body_pose.to(clip.raw_params.body_pose)
        return float((clip.raw_params.body_pose[1:] - truth[1:]).abs().max())

    assert body_pose_error("hsi.pose_init=scripted", "hsi.pose_init_noise_deg=0") <= bound
    assert body_pose_error("hsi.pose_init=previous") > 3 * bound
