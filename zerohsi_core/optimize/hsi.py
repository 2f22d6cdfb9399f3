"""Per-frame 4D human–scene interaction optimisation (Sec. 3.4, Eq. 9–14).

Frame by frame, the human's SMPL-X parameters M_t = (r_t, φ_t, Θ_t) are optimised directly (r, φ from frame
t−1, Θ from a pluggable pose initialiser) and the object's pose as a relative transform composed with
P_{t−1}, by rendering scene ⊕ object ⊕ avatar from the tracked camera (Eq. 9) against the generated frame.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from zerohsi_core.body.avatar import GaussianAvatar
from zerohsi_core.body.params import SmplxParams
from zerohsi_core.config import Config
from zerohsi_core.errors import BackendError, InputError
from zerohsi_core.geometry.camera import Camera
from zerohsi_core.geometry.rotations import matrix_to_rot6d
from zerohsi_core.geometry.se3 import se3_from_rot6d
from zerohsi_core.progress import CancelToken, ProgressCallback, ProgressEvent, check, report
from zerohsi_core.render.crop import (
    Crop,
    box_of,
    box_of_points,
    crop_around,
    crop_camera,
    cull,
    full_crop,
)
from zerohsi_core.render.losses import photometric_loss
from zerohsi_core.render.options import RenderOptions
from zerohsi_core.render.outputs import RenderOutput
from zerohsi_core.render.render import render
from zerohsi_core.scene.gaussians import GaussianCloud

STAGE = "hsi"
HUMAN, OBJECT = "human", "object"

# (frame index, frame [H,W,3], previous parameters [1]) → body pose Θ_t [1,21,3]. The default keeps Θ_{t−1};
# an external per-frame estimator (SMPLer-X in the paper) plugs in here.
PoseInitializer = Callable[[int, Tensor, SmplxParams], Tensor]


def previous_pose(_t: int, _frame: Tensor, previous: SmplxParams) -> Tensor:
    """Default pose initialiser: Θ_t starts at Θ_{t−1}."""
    return previous.body_pose


@dataclass(frozen=True)
class HsiOptions:
    """Paper schedule (App. C.2): 300 iterations per frame, the first 30 only r and φ; Adam lr 1e-2."""

    iters: int = 300
    warmup_iters: int = 30
    lr: float = 1e-2
    lambda_ssim: float = 0.1
    lambda_center: float = 1e-3
    lambda_depth: float = 1e-3
    color_every: int = 5
    color_lr: float = 1e-5
    report_every: int = 10
    crop: bool = False  # render and compare only a window around the human and object (speed.path)
    crop_margin: float = 0.25  # the window: boxes grown by this share of their size …
    crop_min_pixels: int = 48  # … and by at least this many pixels per side
    compile: bool = False  # the avatar's deformation and colours through torch.compile (CUDA only)

    @classmethod
    def from_config(cls, cfg: Config) -> HsiOptions:
        h, speed = cfg.hsi, cfg.speed
        return cls(
            h.iters,
            h.warmup_iters,
            h.lr,
            h.lambda_ssim,
            h.lambda_center,
            h.lambda_depth,
            h.color_every,
            h.color_lr,
            crop=speed.path == "optimized",
            crop_margin=speed.crop_margin,
            crop_min_pixels=speed.crop_min_pixels,
            compile=speed.compile,
        )


@dataclass(frozen=True, eq=False)
class HsiTargets:
    """What the reconstruction is fitted to: the video, its masks and the tracked cameras."""

    frames: Tensor  # [T, H, W, 3] in [0, 1]
    human_masks: Tensor  # [T, H, W]
    object_masks: Tensor | None  # [T, H, W]
    cameras: Sequence[Camera]  # T tracked cameras


@dataclass(frozen=True, eq=False)
class HsiResult:
    """Raw per-frame reconstruction (before refinement)."""

    params: SmplxParams  # [T], world frame; frame 0 is the initial state
    object_poses: Tensor | None  # [T, 4, 4] object-to-world
    losses: Tensor  # [T] final L_rgb (+ object terms) per frame; 0 for frame 0
    curves: list[list[float]] = field(default_factory=list)  # per frame: loss every `report_every` steps


def mask_centre(mask: Tensor, window: Crop | None = None) -> Tensor:
    """Centroid of a (soft) mask, normalised to [0, 1] (x, y) of the full image when the mask is a window
    of it. [H,W] → [2]"""
    h, w = mask.shape
    window = window or Crop.whole(w, h)
    ys = (torch.arange(h, dtype=mask.dtype, device=mask.device) + 0.5 + window.y0) / window.full_height
    xs = (torch.arange(w, dtype=mask.dtype, device=mask.device) + 0.5 + window.x0) / window.full_width
    total = mask.sum().clamp_min(1e-6)
    return torch.stack([(mask.sum(0) * xs).sum() / total, (mask.sum(1) * ys).sum() / total])


def centre_loss(rendered_mask: Tensor, target_mask: Tensor) -> Tensor:
    """Eq. 11: L2 between the rendered and the segmented object centroids."""
    return (mask_centre(rendered_mask) - mask_centre(target_mask)).square().sum()


def mean_depth(depth: Tensor, mask: Tensor) -> Tensor:
    """Eq. 12: sum(D ⊙ M) / sum(M)."""
    return (depth * mask).sum() / mask.sum().clamp_min(1e-6)


def depth_loss(depth: Tensor, rendered_mask: Tensor, reference_depth: Tensor) -> Tensor:
    """Eq. 13: L2 between the rendered object's mean depth and frame 0's."""
    return (mean_depth(depth, rendered_mask) - reference_depth).square()


class _FrameScene:
    """Renders scene ⊕ object(P) ⊕ avatar(M) from one camera (Eq. 9)."""

    def __init__(
        self,
        avatar: GaussianAvatar,
        scene: Sequence[tuple[str, GaussianCloud]],
        obj: GaussianCloud | None,
        options: RenderOptions,
        compiled: bool = False,
    ) -> None:
        self.avatar, self.scene, self.obj, self.options = avatar, list(scene), obj, options
        self.compiled = compiled and avatar.bary.device.type == "cuda"  # inductor on CPU was slower

    def __call__(self, params: SmplxParams, object_pose: Tensor | None, camera: Camera) -> RenderOutput:
        if self.compiled:
            human, rgb = self.avatar.compiled_entity(params, camera)
        else:
            human, rgb = self.avatar.render_entity(params, camera)
        entities = list(self.scene)
        if self.obj is not None and object_pose is not None:
            entities.append((OBJECT, self.obj.transformed(object_pose)))
        entities.append((HUMAN, human))
        return render(entities, camera, self.options, colors_override={HUMAN: rgb})


@dataclass(frozen=True, eq=False)
class _FrameTarget:
    """What frame t is fitted to, within its window: the frame's pixels and the object mask's centroid."""

    rgb: Tensor  # [h, w, 3] the window of the generated frame
    object_centre: Tensor | None  # [2] centroid of the segmented object, full-image normalised
    window: Crop
    camera: Camera  # renders exactly the window


def _frame_loss(out: RenderOutput, target: _FrameTarget, depth0: Tensor | None, o: HsiOptions) -> Tensor:
    """Eq. 14 (object terms only when there is an object): L_rgb + λ_center L_center + λ_depth L_depth.
    Over a window, L_rgb is normalised as over the full frame (same gradients; see photometric_loss)."""
    full = (target.window.full_height, target.window.full_width)
    loss = photometric_loss(out.rgb, target.rgb[None], o.lambda_ssim, full_size=full)
    if OBJECT in out.masks and target.object_centre is not None and depth0 is not None:
        rendered = out.masks[OBJECT][0]
        centre = mask_centre(rendered, target.window)
        loss = loss + o.lambda_center * (centre - target.object_centre).square().sum()
        loss = loss + o.lambda_depth * depth_loss(out.depth[0], rendered, depth0)
    return loss


def _frame_target(
    draw: _FrameScene,
    targets: HsiTargets,
    t: int,
    previous: SmplxParams,
    previous_object: Tensor | None,
    options: HsiOptions,
) -> tuple[_FrameScene, _FrameTarget]:
    """Frame t's target and renderer: the full frame, or (options.crop) the window around the segmented
    human and object and where they were at t−1, with the scene Gaussians that can reach that window."""
    camera = targets.cameras[t]
    centre = None
    if targets.object_masks is not None:
        centre = mask_centre(targets.object_masks[t])
    if not options.crop:
        return draw, _FrameTarget(targets.frames[t], centre, full_crop(camera), camera)
    with torch.no_grad():
        boxes = [box_of(targets.human_masks[t])]
        if targets.object_masks is not None:
            boxes.append(box_of(targets.object_masks[t]))
        boxes.append(box_of_points(camera, draw.avatar.deform(previous).means[0]))
        if draw.obj is not None and previous_object is not None:
            boxes.append(box_of_points(camera, draw.obj.transformed(previous_object).means))
    window = crop_around(boxes, camera.width, camera.height, options.crop_margin, options.crop_min_pixels)
    view = crop_camera(camera, window)
    scene = [(name, cull(cloud, view, draw.options)) for name, cloud in draw.scene]
    rows, cols = window.slices
    target = _FrameTarget(targets.frames[t][rows, cols], centre, window, view)
    return _FrameScene(draw.avatar, scene, draw.obj, draw.options, draw.compiled), target


def optimize_frame(
    draw: _FrameScene,
    targets: HsiTargets,
    t: int,
    previous: SmplxParams,
    previous_object: Tensor | None,
    body_pose: Tensor,
    depth0: Tensor | None,
    options: HsiOptions,
    cancel: CancelToken | None = None,
) -> tuple[SmplxParams, Tensor | None, Tensor, list[float]]:
    """One frame of Eq. 9–14: Adam on (r, φ) for the warm-up, then (r, φ, Θ); object delta throughout."""
    draw, target = _frame_target(draw, targets, t, previous, previous_object, options)
    transl = previous.transl.detach().clone().requires_grad_(True)
    orient = previous.global_orient.detach().clone().requires_grad_(True)
    pose = body_pose.detach().clone().requires_grad_(True)
    groups = [{"params": [transl, orient]}, {"params": [pose]}]
    rot6d = trans = None
    if previous_object is not None:
        eye = torch.eye(3, dtype=previous_object.dtype, device=previous_object.device)
        rot6d = matrix_to_rot6d(eye).requires_grad_(True)
        trans = torch.zeros(3, dtype=eye.dtype, device=eye.device, requires_grad=True)
        groups.append({"params": [rot6d, trans]})
    optimizer = torch.optim.Adam(groups, lr=options.lr)
    color_params = [p for n, p in draw.avatar.named_parameters() if n.startswith("color_")]
    color_optimizer = torch.optim.Adam(color_params, lr=options.color_lr) if color_params else None
    camera = target.camera

    def state() -> tuple[SmplxParams, Tensor | None]:
        params = previous.replace(transl=transl, global_orient=orient, body_pose=pose)
        if previous_object is None:
            return params, None
        # Object-frame delta: the object turns about its own origin, not the world's (Eq. 9, P_t).
        return params, previous_object @ se3_from_rot6d(rot6d, trans)

    curve: list[Tensor] = []  # kept on the device: no host sync inside the loop
    for it in range(options.iters):
        check(cancel)
        pose.requires_grad_(it >= options.warmup_iters)
        optimizer.zero_grad(set_to_none=True)
        tune_color = color_optimizer is not None and it % options.color_every == 0
        if tune_color:
            color_optimizer.zero_grad(set_to_none=True)
        params, object_pose = state()
        loss = _frame_loss(draw(params, object_pose, camera), target, depth0, options)
        loss.backward()  # during the warm-up Θ has no gradient, and Adam leaves it alone
        optimizer.step()
        if tune_color:
            color_optimizer.step()
        if it % options.report_every == 0 or it == options.iters - 1:
            curve.append(loss.detach())
    with torch.no_grad():
        params, object_pose = state()
        final = _frame_loss(draw(params, object_pose, camera), target, depth0, options)
    values = torch.stack(curve).tolist() if curve else []
    return params.detach(), None if object_pose is None else object_pose.detach(), final, values


def optimize_clip(
    avatar: GaussianAvatar,
    scene: Sequence[tuple[str, GaussianCloud]],
    targets: HsiTargets,
    initial: SmplxParams,
    obj: GaussianCloud | None = None,
    initial_object_pose: Tensor | None = None,
    options: HsiOptions | None = None,
    render_options: RenderOptions | None = None,
    pose_init: PoseInitializer = previous_pose,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> HsiResult:
    """Sequential optimisation of frames 1..T−1 from the known initial state of frame 0 (Sec. 3.4)."""
    options, render_options = options or HsiOptions(), render_options or RenderOptions()
    T = len(targets.frames)
    if initial.batch_size != 1 or len(targets.cameras) != T or targets.human_masks.shape[0] != T:
        raise InputError(
            f"HSI needs one initial state and T={T} cameras and masks; got batch {initial.batch_size}, "
            f"{len(targets.cameras)} cameras, {targets.human_masks.shape[0]} masks"
        )
    if (obj is None) != (initial_object_pose is None):
        raise InputError("an object needs its initial pose (and a pose needs an object)")
    # Inputs are checked once here; inside the loop a NaN shows up in the frame's final loss instead.
    inner = dataclasses.replace(render_options, check_finite=False)
    draw = _FrameScene(avatar, scene, obj, inner, options.compile)
    depth0 = None
    object_pose = None if initial_object_pose is None else initial_object_pose.to(initial.transl)
    if object_pose is not None and targets.object_masks is not None:
        with torch.no_grad():  # Eq. 12: D_O^0 from the rendered depth of frame 0 and the segmented mask
            depth0 = mean_depth(
                draw(initial, object_pose, targets.cameras[0]).depth[0], targets.object_masks[0]
            )
    params, poses, losses, curves = [initial.detach()], [object_pose], [torch.zeros(())], [[]]
    for t in range(1, T):
        body_pose = pose_init(t, targets.frames[t], params[-1])
        p, o, loss, curve = optimize_frame(
            draw, targets, t, params[-1], poses[-1], body_pose, depth0, options, cancel
        )
        if not bool(torch.isfinite(loss)):
            raise BackendError(f"HSI optimisation diverged at frame {t} (loss {float(loss)}): check inputs")
        params.append(p)
        poses.append(o)
        losses.append(loss.detach().cpu())
        curves.append(curve)
        report(
            progress, ProgressEvent(STAGE, t / (T - 1), frame=t, iteration=options.iters, loss=float(loss))
        )
    object_poses = None if object_pose is None else torch.stack(poses)
    return HsiResult(SmplxParams.cat(params), object_poses, torch.stack(losses), curves)
