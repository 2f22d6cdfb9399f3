"""Per-frame 4D human–scene interaction optimisation (Sec. 3.4, Eq. 9–14).

Frame by frame, the human's SMPL-X parameters M_t = (r_t, φ_t, Θ_t) are optimised directly (r, φ from frame
t−1, Θ from a pluggable pose initialiser) and the object's pose as a relative transform composed with
P_{t−1}, by rendering scene ⊕ object ⊕ avatar from the tracked camera (Eq. 9) against the generated frame.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from zerohsi_core.body.avatar import GaussianAvatar
from zerohsi_core.body.params import SmplxParams
from zerohsi_core.config import Config
from zerohsi_core.errors import BackendError, InputError
from zerohsi_core.geometry.camera import Camera
from zerohsi_core.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle, matrix_to_rot6d
from zerohsi_core.geometry.se3 import se3_from_rot6d
from zerohsi_core.optimize.object_losses import depth_loss, mask_centre, mask_centres, mean_depth, window_grid
from zerohsi_core.optimize.pose_init import PoseInitializer, previous_pose
from zerohsi_core.optimize.schedule import GroupedAdam, Staggered
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
from zerohsi_core.render.render import BatchEntity, GaussianBatch, render_batch
from zerohsi_core.scene.gaussians import GaussianCloud

STAGE = "hsi"
HUMAN, OBJECT = "human", "object"


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
    frames_in_flight: int = 1  # frames optimised together, staggered by iters / K (1: strictly sequential)
    velocity_init: float = 0.0  # r_t, φ_t start at t−1's moved on by this share of the motion t−2 → t−1
    start_select: bool = False  # with velocity_init: t−1's r, φ or moved on, whichever renders t best

    @classmethod
    def from_config(cls, cfg: Config) -> HsiOptions:
        h, speed = cfg.hsi, cfg.speed
        optimized = speed.path == "optimized"  # the reference is the straightforward loop: eager, full frame
        return cls(
            h.iters,
            h.warmup_iters,
            h.lr,
            h.lambda_ssim,
            h.lambda_center,
            h.lambda_depth,
            h.color_every,
            h.color_lr,
            crop=optimized,
            crop_margin=speed.crop_margin,
            crop_min_pixels=speed.crop_min_pixels,
            compile=speed.compile and optimized,
            frames_in_flight=speed.frames_in_flight if optimized else 1,
            velocity_init=h.velocity_init,
            start_select=h.start_select,
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


class _SceneRenderer:
    """Renders scene ⊕ object(P_b) ⊕ avatar(M_b) for a batch of frames, each from its camera (Eq. 9)."""

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

    def prepared(self, views: Sequence[Camera], crop: bool) -> _SceneRenderer:
        """This renderer for a batch of views that it renders many times: the static scene activated and
        coloured once for them (`GaussianBatch`), and (crop) with only the Gaussians that can reach one of
        the views' images."""
        centers = torch.stack([cam.center for cam in views])
        scene = []
        for name, cloud in self.scene:
            reaching = cull(cloud, views, self.options) if crop else cloud
            scene.append((name, GaussianBatch.of(reaching, centers.to(cloud.means), self.options.sh_degree)))
        return _SceneRenderer(self.avatar, scene, self.obj, self.options, self.compiled)

    def select(self, index: Sequence[int]) -> _SceneRenderer:
        """A prepared renderer for some of its views."""
        scene = [(n, c.select(index) if isinstance(c, GaussianBatch) else c) for n, c in self.scene]
        return _SceneRenderer(self.avatar, scene, self.obj, self.options, self.compiled)

    def __call__(
        self,
        params: SmplxParams,
        object_poses: Sequence[Tensor] | Tensor | None,
        cameras: Sequence[Camera],
        pad: int = 0,
        centers: Tensor | None = None,
    ) -> RenderOutput:
        """Frame b: the body params[b] and the object at object_poses[b] ([B, 4, 4] or B poses) from
        cameras[b] (centres [B, 3] if known). The avatar runs on a batch of at least `pad` bodies — rows
        past B repeat the last one, detached, and are dropped — so that a compiled avatar sees one batch
        size."""
        B = len(cameras)
        if centers is None:
            centers = torch.stack([cam.center for cam in cameras]).to(params.transl)
        if params.batch_size < pad:
            filler = params.index(slice(B - 1, B)).detach()
            params = SmplxParams.cat([params, *[filler] * (pad - params.batch_size)])
        padded = centers
        if len(centers) < params.batch_size:
            padded = torch.cat([centers, centers[-1:].expand(params.batch_size - len(centers), 3)])
        means, quats, log_scales, opacity_logits, rgb = self.avatar.posed(params, padded, self.compiled)
        bodies = GaussianBatch(
            means[:B], quats[:B], log_scales[:B].exp(), opacity_logits[:B].sigmoid(), rgb[:B]
        )
        entities: list[tuple[str, BatchEntity]] = list(self.scene)
        if self.obj is not None and object_poses is not None:
            poses = object_poses if isinstance(object_poses, Tensor) else torch.stack(list(object_poses))
            entities.append((OBJECT, GaussianBatch.posed(self.obj, poses, centers, self.options.sh_degree)))
        entities.append((HUMAN, bodies))
        return render_batch(entities, cameras, self.options)


def _object_pose(previous: Tensor, rot6d: Tensor, trans: Tensor) -> Tensor:
    """P_t = P_{t−1} composed with the relative 6D pose (Eq. 9) — an object-frame delta, so the object
    turns about its own origin, not the world's. [..., 4, 4], [..., 6], [..., 3] → [..., 4, 4]"""
    return previous @ se3_from_rot6d(rot6d, trans)


@dataclass(eq=False)
class _Frame:
    """One frame in flight: its parameters (Eq. 9: r, φ, Θ and the object's relative 6D pose), its window
    and iteration count."""

    t: int
    previous: SmplxParams  # frame t−1's estimate when t started: r, φ start there; other fields stay
    previous_object: Tensor | None  # P_{t−1} when t started: the object's delta composes with it
    transl: Tensor
    orient: Tensor
    pose: Tensor
    rot6d: Tensor | None
    trans: Tensor | None
    window: Crop  # its own window (the whole frame without speed.path=optimized)
    object_centre: Tensor | None  # [2] centroid of the segmented object, full-image normalised
    iteration: int = 0
    curve: list[Tensor] = field(default_factory=list)  # kept on the device: no host sync inside the loop

    def variables(self) -> list[Tensor]:
        """The tensors Adam optimises for this frame."""
        return [v for v in (self.transl, self.orient, self.pose, self.rot6d, self.trans) if v is not None]

    def state(self) -> tuple[SmplxParams, Tensor | None]:
        params = self.previous.replace(transl=self.transl, global_orient=self.orient, body_pose=self.pose)
        if self.previous_object is None or self.rot6d is None or self.trans is None:
            return params, None
        return params, _object_pose(self.previous_object, self.rot6d, self.trans)

    def estimate(self) -> tuple[SmplxParams, Tensor | None]:
        params, pose = self.state()
        return params.detach(), None if pose is None else pose.detach()


def _start_frames(
    t: int,
    starts: Sequence[SmplxParams],
    previous_object: Tensor | None,
    body_pose: Tensor,
    targets: HsiTargets,
    draw: _SceneRenderer,
    options: HsiOptions,
) -> list[_Frame]:
    """Frame t's parameters from each candidate start (frame t−1's estimate, or it moved on), and their one
    window: the whole frame, or (options.crop) the segmented human and object and where each start and
    P_{t−1} put them."""
    camera = targets.cameras[t]
    centre = None if targets.object_masks is None else mask_centre(targets.object_masks[t])
    window = full_crop(camera)
    if options.crop:
        with torch.no_grad():
            boxes = [box_of(targets.human_masks[t])]
            if targets.object_masks is not None:
                boxes.append(box_of(targets.object_masks[t]))
            boxes += [box_of_points(camera, draw.avatar.deform(start).means[0]) for start in starts]
            if draw.obj is not None and previous_object is not None:
                boxes.append(box_of_points(camera, draw.obj.transformed(previous_object).means))
        window = crop_around(boxes, camera.width, camera.height, options.crop_margin, options.crop_min_pixels)
    frames = []
    for start in starts:
        transl = start.transl.detach().clone().requires_grad_(True)
        orient = start.global_orient.detach().clone().requires_grad_(True)
        pose = body_pose.detach().clone().requires_grad_(True)
        rot6d = trans = None
        if previous_object is not None:
            eye = torch.eye(3, dtype=previous_object.dtype, device=previous_object.device)
            rot6d = matrix_to_rot6d(eye).requires_grad_(True)
            trans = torch.zeros(3, dtype=eye.dtype, device=eye.device, requires_grad=True)
        frames.append(_Frame(t, start, previous_object, transl, orient, pose, rot6d, trans, window, centre))
    return frames


@dataclass(frozen=True, eq=False)
class _Batch:
    """The frames in flight rendered together: windows of one size, their cameras and target pixels."""

    frames: list[_Frame]
    windows: list[Crop]
    cameras: list[Camera]  # each renders exactly its window
    centers: Tensor  # [B, 3] the cameras' centres (the avatar's view directions)
    grid: Tensor  # [B, 4] the windows in their full images (window_grid)
    rgb: Tensor  # [B, h, w, 3] the windows of the generated frames
    object_centres: Tensor | None  # [B, 2]
    draw: _SceneRenderer
    pad: int  # the avatar runs on at least this many bodies (see _SceneRenderer)

    @classmethod
    def of(
        cls, frames: list[_Frame], targets: HsiTargets, draw: _SceneRenderer, crop: bool, pad: int = 0
    ) -> _Batch:
        width = max(f.window.width for f in frames)
        height = max(f.window.height for f in frames)
        windows = [f.window.resized(width, height) for f in frames]
        cameras = [crop_camera(targets.cameras[f.t], w) for f, w in zip(frames, windows, strict=True)]
        rgb = torch.stack([targets.frames[f.t][w.slices] for f, w in zip(frames, windows, strict=True)])
        centers = torch.stack([cam.center for cam in cameras]).to(rgb)
        centres = [f.object_centre for f in frames]
        stacked = None if any(c is None for c in centres) else torch.stack(centres)  # type: ignore[misc]
        draw = draw.prepared(cameras, crop)
        return cls(frames, windows, cameras, centers, window_grid(windows, rgb), rgb, stacked, draw, pad)

    @functools.cached_property
    def base(self) -> SmplxParams:
        """The bodies' fields that the frames keep from their predecessors (all but r, φ, Θ): built once
        per batch."""
        return SmplxParams.cat([f.previous for f in self.frames]).detach()

    def bodies(self) -> SmplxParams:
        """The frames' current bodies: a step only concatenates r, φ and Θ (the renderer pads the batch
        for a compiled avatar)."""

        def rows(name: str) -> Tensor:
            return torch.cat([getattr(f, name) for f in self.frames])

        return self.base.replace(transl=rows("transl"), global_orient=rows("orient"), body_pose=rows("pose"))

    def object_poses(self) -> Tensor | None:
        """The frames' current object poses [B, 4, 4]: P_{t−1} composed with each frame's delta (Eq. 9)."""
        frames = self.frames
        if self.draw.obj is None or any(f.previous_object is None or f.rot6d is None for f in frames):
            return None
        fields = ("previous_object", "rot6d", "trans")
        return _object_pose(*(torch.stack([getattr(f, name) for f in frames]) for name in fields))

    def select(self, frames: list[_Frame]) -> _Batch:
        """The same batch restricted to some of its frames (same windows, cameras and scene)."""
        index = [self.frames.index(f) for f in frames]
        return _Batch(
            frames,
            [self.windows[i] for i in index],
            [self.cameras[i] for i in index],
            self.centers[index],
            self.grid[index],
            self.rgb[index],
            None if self.object_centres is None else self.object_centres[index],
            self.draw.select(index),
            self.pad,
        )

    def losses(self, depth0: Tensor | None, options: HsiOptions) -> Tensor:
        """Eq. 14 of each frame [B] (object terms only when there is an object): L_rgb + λ_center L_center
        + λ_depth L_depth. Over a window, L_rgb is normalised as over the full frame (same gradients)."""
        out = self.draw(self.bodies(), self.object_poses(), self.cameras, self.pad, self.centers)
        full = (self.windows[0].full_height, self.windows[0].full_width)
        loss = photometric_loss(out.rgb, self.rgb, options.lambda_ssim, full_size=full, per_image=True)
        if OBJECT in out.masks and self.object_centres is not None and depth0 is not None:
            rendered = out.masks[OBJECT]  # [B, h, w]
            centres = mask_centres(rendered, self.grid)
            loss = loss + options.lambda_center * (centres - self.object_centres).square().sum(1)
            loss = loss + options.lambda_depth * depth_loss(out.depth, rendered, depth0)
        return loss


def _best_start(
    candidates: list[_Frame],
    targets: HsiTargets,
    draw: _SceneRenderer,
    depth0: Tensor | None,
    options: HsiOptions,
    pad: int,
) -> _Frame:
    """The candidate start whose render fits frame t best (Eq. 14 on their shared window): a start the
    motion t−2 → t−1 carries past the person, or out of the image, renders worse than t−1's own."""
    if len(candidates) == 1:
        return candidates[0]
    # A compiled avatar sees batches of `pad` bodies; uncompiled, all candidates render together.
    size = max(pad, 1) if draw.compiled else len(candidates)
    with torch.no_grad():
        losses = torch.cat(
            [
                _Batch.of(candidates[i : i + size], targets, draw, options.crop, pad).losses(depth0, options)
                for i in range(0, len(candidates), size)
            ]
        )
    return candidates[int(torch.argmin(losses))]


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
    """Optimisation of frames 1..T−1 from the known initial state of frame 0 (Sec. 3.4): frame t starts
    from frame t−1's estimate, on the schedule of `Staggered` (options.frames_in_flight; 1 = the paper's
    strictly sequential one). The frames in flight take their steps together in one batched render."""
    options, render_options = options or HsiOptions(), render_options or RenderOptions()
    if not 0.0 <= options.velocity_init <= 1.0:  # also rejects NaN
        share = options.velocity_init
        raise InputError(f"hsi.velocity_init is a share of the motion t−2 → t−1 in [0, 1], got {share}")
    T = len(targets.frames)
    if initial.batch_size != 1 or len(targets.cameras) != T or targets.human_masks.shape[0] != T:
        raise InputError(
            f"HSI needs one initial state and T={T} cameras and masks; got batch {initial.batch_size}, "
            f"{len(targets.cameras)} cameras, {targets.human_masks.shape[0]} masks"
        )
    if (obj is None) != (initial_object_pose is None):
        raise InputError("an object needs its initial pose (and a pose needs an object)")
    schedule = Staggered(T, options.iters, options.frames_in_flight)
    # Inputs are checked once here; inside the loop a NaN shows up in the frame's final loss instead.
    inner = dataclasses.replace(render_options, check_finite=False)
    draw = _SceneRenderer(avatar, scene, obj, inner, options.compile)
    pad = schedule.width if draw.compiled and schedule.width > 1 else 0  # one batch size when compiled
    depth0 = None
    object_pose = None if initial_object_pose is None else initial_object_pose.to(initial.transl)
    if object_pose is not None and targets.object_masks is not None:
        with torch.no_grad():  # Eq. 12: D_O^0 from the rendered depth of frame 0 and the segmented mask
            out = draw(initial, [object_pose], [targets.cameras[0]], pad)
            depth0 = mean_depth(out.depth[0], targets.object_masks[0])
    color_params = [p for n, p in avatar.named_parameters() if n.startswith("color_")]
    results: dict[int, tuple[SmplxParams, Tensor | None, Tensor, list[float]]] = {
        0: (initial.detach(), object_pose, torch.zeros(()), [])
    }
    running: dict[int, _Frame] = {}
    adam = GroupedAdam(options.lr, fused=initial.transl.device.type == "cuda")
    batch: _Batch | None = None
    color_optimizer: torch.optim.Optimizer | None = None
    color_phase = 0

    def estimate_of(t: int) -> tuple[SmplxParams, Tensor | None]:
        return running[t].estimate() if t in running else results[t][:2]

    for step in range(schedule.steps):
        check(cancel)
        for t in schedule.starting(step):
            # Frame t starts from frame t−1's estimate: its final one if done, else its current one.
            previous, previous_object = estimate_of(t - 1)
            starts = [previous]
            if options.velocity_init and t >= 2:
                before, share = estimate_of(t - 2)[0], options.velocity_init
                if options.start_select:
                    starts = [previous, *_moved_on(previous, before, share)]
                else:
                    starts = [_extrapolated(previous, before, share)]
            body_pose = pose_init(t, targets.frames[t], previous)
            candidates = _start_frames(t, starts, previous_object, body_pose, targets, draw, options)
            running[t] = _best_start(candidates, targets, draw, depth0, options, pad)
            adam.add(t, running[t].variables())
            # F_color is fine-tuned from each frame's start, as when each frame had its own Adam.
            color_optimizer = torch.optim.Adam(color_params, lr=options.color_lr) if color_params else None
            color_phase = 0
        flight = [running[t] for t in schedule.active(step)]
        if batch is None or batch.frames != flight:
            batch = _Batch.of(flight, targets, draw, options.crop, pad)
            check(cancel)  # starting a frame (window, culling) takes time too
        for frame in flight:
            frame.pose.requires_grad_(frame.iteration >= options.warmup_iters)  # warm-up: Θ has no gradient
        adam.zero_grad()
        tune_color = color_optimizer is not None and color_phase % options.color_every == 0
        if tune_color:
            color_optimizer.zero_grad(set_to_none=True)
        losses = batch.losses(depth0, options)
        losses.sum().backward()  # frames share no parameter but F_color
        adam.step()
        for b, frame in enumerate(flight):
            if frame.iteration % options.report_every == 0 or frame.iteration == options.iters - 1:
                frame.curve.append(losses[b].detach())
            frame.iteration += 1
        if tune_color:
            color_optimizer.step()
        color_phase += 1
        done = [f for f in flight if f.iteration >= options.iters]
        if done:
            _finish(done, batch, depth0, options, results, progress, T)
            for frame in done:
                adam.remove(frame.t)
                del running[frame.t]
    params = SmplxParams.cat([results[t][0] for t in range(T)])
    object_poses = None if object_pose is None else torch.stack([results[t][1] for t in range(T)])
    losses = torch.stack([results[t][2] for t in range(T)])
    return HsiResult(params, object_poses, losses, [results[t][3] for t in range(T)])


def _extrapolated(
    last: SmplxParams, before: SmplxParams, share: float, transl: bool = True, orient: bool = True
) -> SmplxParams:
    """`last` with r and/or φ moved on by `share` of their motion from `before` to `last` (1: constant
    velocity; below 1 a motion the fit does not confirm dies out instead of running on)."""
    moved = last
    if transl:
        moved = moved.replace(transl=last.transl + share * (last.transl - before.transl))
    if orient:
        rotation = axis_angle_to_matrix(last.global_orient)
        turn = matrix_to_axis_angle(rotation @ axis_angle_to_matrix(before.global_orient).transpose(-1, -2))
        moved = moved.replace(
            global_orient=matrix_to_axis_angle(axis_angle_to_matrix(share * turn) @ rotation)
        )
    return moved


def _moved_on(last: SmplxParams, before: SmplxParams, share: float) -> list[SmplxParams]:
    """The starts that carry t−1's motion on: φ alone, r alone, both (last)."""
    return [
        _extrapolated(last, before, share, transl=False),
        _extrapolated(last, before, share, orient=False),
        _extrapolated(last, before, share),
    ]


def _finish(
    done: list[_Frame],
    batch: _Batch,
    depth0: Tensor | None,
    options: HsiOptions,
    results: dict[int, tuple[SmplxParams, Tensor | None, Tensor, list[float]]],
    progress: ProgressCallback | None,
    T: int,
) -> None:
    """The final loss of frames that ran all their iterations, rendered from their final state."""
    with torch.no_grad():
        final = batch.select(done).losses(depth0, options).cpu()
    for frame, loss in zip(done, final, strict=True):
        if not bool(torch.isfinite(loss)):
            raise BackendError(
                f"HSI optimisation diverged at frame {frame.t} (loss {float(loss)}): check inputs"
            )
        params, pose = frame.estimate()
        results[frame.t] = (params, pose, loss, torch.stack(frame.curve).tolist() if frame.curve else [])
        report(
            progress,
            ProgressEvent(STAGE, frame.t / (T - 1), frame=frame.t, iteration=options.iters, loss=float(loss)),
        )
