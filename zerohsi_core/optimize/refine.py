"""Refinement of a reconstructed clip in VPoser's latent space (Sec. 3.5, Eq. 15–16, App. C.4 S1–S4).

Per frame, reference joints Ĵ_t come from the raw per-frame result; r_t, φ_t and a VPoser latent z_t are
optimised over the whole clip with the fitting loss plus hand–object contact and pose smoothness.
Without VPoser weights (`body.vposer_path` empty) the body pose Θ_t itself is optimised with the same
losses and no learned prior: documented, logged, and only meant for the stand-in body and tests.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from zerohsi_core.body.joints import NUM_BODY_JOINTS
from zerohsi_core.body.model import BodyModel
from zerohsi_core.body.params import SmplxParams
from zerohsi_core.body.prior import VPoser
from zerohsi_core.config import Config
from zerohsi_core.errors import InputError, ZeroHSIError
from zerohsi_core.progress import CancelToken, ProgressCallback, ProgressEvent, check, report

STAGE = "refinement"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RefineOptions:
    """Adam over the clip (paper: 1000 iterations, lr 0.05, λ_physics 1e-3, λ_contact 1, λ_smooth 0.3/0.1)."""

    iters: int = 1000
    lr: float = 0.05
    lambda_physics: float = 1e-3
    lambda_contact: float = 1.0
    lambda_smooth: float = 0.3
    contact_eps: float = 0.02  # metres (S1)
    max_object_points: int = 2048  # object particles used for contact (subsampled, fixed per clip)
    report_every: int = 10
    compile: bool = False  # the objective through torch.compile and a fused Adam (CUDA only)

    @classmethod
    def from_config(cls, cfg: Config, dynamic: bool) -> RefineOptions:
        r, speed = cfg.refine, cfg.speed
        smooth = r.lambda_smooth_dynamic if dynamic else r.lambda_smooth_static
        compiled = speed.compile and speed.path == "optimized"  # the reference loop stays eager
        return cls(r.iters, r.lr, r.lambda_physics, r.lambda_contact, smooth, r.contact_eps, compile=compiled)


@dataclass(frozen=True, eq=False)
class RefineResult:
    """Refined parameters and the loss history."""

    params: SmplxParams  # [T]
    joints: Tensor  # [T, 55, 3] world
    losses: dict[str, list[float]] = field(default_factory=dict)  # total, fit, contact, smooth per report


def fit_loss(reference: Tensor, joints: Tensor) -> Tensor:
    """Eq. 15, averaged over frames: mean squared distance of the body joints. [T,J,3], [T,J,3] → [T]"""
    return (joints - reference).square().sum(-1).mean(-1)


def contact_loss(hands: Tensor, object_points: Tensor | None, eps: float) -> Tensor:
    """Eq. S1–S2 per frame: mean minimal hand-vertex-to-particle distance over the pairs closer than ε.

    hands [T,K,3], object_points [T,M,3] → [T]; frames with an empty contact set contribute 0.
    """
    if object_points is None:
        return hands.new_zeros(hands.shape[0])
    nearest = torch.cdist(hands, object_points).min(dim=-1).values  # [T, K]
    in_contact = nearest < eps
    count = in_contact.sum(-1)
    total = (nearest * in_contact).sum(-1)
    return torch.where(count > 0, total / count.clamp_min(1), torch.zeros_like(total))


def smooth_loss(body_pose: Tensor) -> Tensor:
    """Eq. S3: mean over adjacent frames of ‖Θ_t − Θ_{t+1}‖₂. [T,21,3] → scalar"""
    if body_pose.shape[0] < 2:
        return body_pose.new_zeros(())
    diff = (body_pose[1:] - body_pose[:-1]).flatten(1)
    return torch.sqrt(diff.square().sum(-1) + 1e-12).mean()


def physics_loss(contact: Tensor, smooth: Tensor, options: RefineOptions) -> Tensor:
    """Eq. S4: λ_contact · mean_t L_contact^t + λ_smooth · L_smooth."""
    return options.lambda_contact * contact.mean() + options.lambda_smooth * smooth


def _subsample(points: Tensor | None, limit: int) -> Tensor | None:
    """A fixed, evenly strided subset of object particles per frame. [T,M,3] → [T,≤limit,3]"""
    if points is None or points.shape[1] <= limit:
        return points
    index = torch.linspace(0, points.shape[1] - 1, limit, device=points.device).round().long()
    return points[:, index]


def _body_pose(vposer: VPoser | None, pose_var: Tensor, dtype: torch.dtype) -> Tensor:
    """Θ [T, 21, 3] from the optimised variable: VPoser's decoding of z, or Θ itself without VPoser."""
    return pose_var if vposer is None else vposer.decode(pose_var).pose_body.to(dtype)


def _objective(
    model: BodyModel,
    vposer: VPoser | None,
    params: SmplxParams,
    reference: Tensor,
    points: Tensor | None,
    hand_ids: Tensor,
    options: RefineOptions,
    transl: Tensor,
    orient: Tensor,
    pose_var: Tensor,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Eq. 16 at (r, φ, z or Θ): total, L_fit, mean L_contact and L_smooth — tensors in, tensors out, so
    torch.compile traces it whole (and drops the skinning of vertices when no contact term needs them)."""
    body_pose = _body_pose(vposer, pose_var, model.dtype)
    current = params.replace(transl=transl, global_orient=orient, body_pose=body_pose)
    out = model.forward(current, check_finite=False)
    fit = fit_loss(reference, out.joints[:, :NUM_BODY_JOINTS]).mean()
    if points is None:  # no object: no contact term (and no zero-size reduction for the compiler)
        contact = fit.new_zeros(())
    else:
        contact = contact_loss(out.vertices[:, hand_ids], points, options.contact_eps).mean()
    smooth = smooth_loss(body_pose)
    total = fit + options.lambda_physics * physics_loss(contact, smooth, options)
    return total, fit, contact, smooth


def _descend(objective: Callable[..., tuple[Tensor, ...]], *args: Any) -> tuple[Tensor, ...]:
    """The objective's terms at the variables (the last three arguments), gradients of the total in them."""
    terms = objective(*args)
    terms[0].backward()
    return terms


class _CompiledObjective:
    """`_descend` of `_objective` through torch.compile; if the compiler fails on this machine (a Triton
    or C++ tool chain problem), a warning says so and the objective runs eagerly from then on."""

    def __init__(self) -> None:
        self.compiled: Callable[..., tuple[Tensor, ...]] | None = torch.compile(_objective)

    def __call__(self, *args: Any) -> tuple[Tensor, ...]:
        if self.compiled is not None:
            try:
                return _descend(self.compiled, *args)
            except ZeroHSIError:
                raise  # bad input: the eager objective would say the same
            except Exception as exc:  # noqa: BLE001 — any compiler failure falls back to the same maths
                log.warning("torch.compile of the refinement objective failed, running it eagerly: %s", exc)
                self.compiled = None
                for variable in args[-3:]:
                    variable.grad = None
        return _descend(_objective, *args)


_compiled_objective = functools.cache(_CompiledObjective)


def refine_clip(
    model: BodyModel,
    params: SmplxParams,
    options: RefineOptions,
    vposer: VPoser | None = None,
    object_points: Tensor | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> RefineResult:
    """Eq. 16: min over (r_t, φ_t, z_t) of mean_t L_fit^t + λ_physics L_physics.

    params [T] are the raw per-frame results (world frame); object_points [T,M,3] the object's Gaussian
    centres per frame (dynamic clips) or None.
    """
    params = params.validate().to(model.device, model.dtype).detach()
    T = params.batch_size
    if object_points is not None and object_points.shape[0] != T:
        raise InputError(f"object points cover {object_points.shape[0]} frames, the clip has {T}")
    with torch.no_grad():
        reference = model.forward(params).joints[:, :NUM_BODY_JOINTS]  # Ĵ_t
    points = _subsample(object_points, options.max_object_points)
    points = points.to(model.device, model.dtype) if points is not None else None
    hand_ids = model.hand_vertex_ids().to(model.device)

    transl = params.transl.clone().requires_grad_(True)
    orient = params.global_orient.clone().requires_grad_(True)
    if vposer is not None:
        vposer = vposer.to(model.device).eval()
        with torch.no_grad():
            latent = vposer.encode(params.body_pose.reshape(T, -1)).mean
        pose_var = latent.clone().requires_grad_(True)
    else:
        log.warning("refinement without VPoser weights (body.vposer_path is empty): no learned pose prior")
        pose_var = params.body_pose.clone().requires_grad_(True)

    on_gpu = options.compile and model.device.type == "cuda"  # inductor on the CPU was slower
    descend = _compiled_objective() if on_gpu else functools.partial(_descend, _objective)
    optimizer = torch.optim.Adam([transl, orient, pose_var], lr=options.lr, fused=True if on_gpu else None)
    history: dict[str, list[float]] = {"total": [], "fit": [], "contact": [], "smooth": []}
    for it in range(options.iters):
        check(cancel)
        optimizer.zero_grad(set_to_none=True)
        variables = (transl, orient, pose_var)
        terms = descend(model, vposer, params, reference, points, hand_ids, options, *variables)
        optimizer.step()
        if it % options.report_every == 0 or it == options.iters - 1:
            for key, value in zip(history, terms, strict=True):
                history[key].append(float(value.detach()))
            report(
                progress,
                ProgressEvent(STAGE, (it + 1) / options.iters, iteration=it, loss=history["total"][-1]),
            )
    with torch.no_grad():
        body_pose = _body_pose(vposer, pose_var, model.dtype)
        final = params.replace(transl=transl, global_orient=orient, body_pose=body_pose).detach()
        joints = model.forward(final).joints
    return RefineResult(final, joints, history)
