"""The ZeroHSI pipeline: view selection → first frame → video → segmentation → camera tracking → HSI
optimisation → refinement, for one clip or a chain of prompts (App. C.7: the last frame's human and object
state is the next clip's initial state). Every stage reports progress and honours a cancel token."""

from __future__ import annotations

import dataclasses
import functools
import importlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from zerohsi_core.body.avatar import GaussianAvatar
from zerohsi_core.body.avatar_io import make_avatar
from zerohsi_core.body.avatar_template import AvatarOptions
from zerohsi_core.body.model import BodyModel, BodyModelOptions, load_body_model
from zerohsi_core.body.params import SmplxParams
from zerohsi_core.body.pose import arms_down_pose, standing_params, yaw_of
from zerohsi_core.body.prior import VPoser, load_vposer
from zerohsi_core.camera.select import select_view, view_options_from_config
from zerohsi_core.camera.track import TrackAhead, TrackingOptions, static_masks, track_camera
from zerohsi_core.config import Config
from zerohsi_core.device import StageClock, resolve_device
from zerohsi_core.errors import BackendError, InputError
from zerohsi_core.geometry.camera import Camera
from zerohsi_core.metrics.truth import ground_truth_errors
from zerohsi_core.optimize.hsi import HUMAN, OBJECT, HsiOptions, HsiResult, HsiTargets, optimize_clip
from zerohsi_core.optimize.pose_init import PoseInitializer, create_pose_initializer
from zerohsi_core.optimize.refine import RefineOptions, refine_clip
from zerohsi_core.preview import render_options
from zerohsi_core.progress import CancelToken, ProgressCallback, ProgressEvent, check, report, serialized
from zerohsi_core.render.render import render
from zerohsi_core.request import InteractionRequest, validate_placement, validate_request
from zerohsi_core.scene.gaussians import GaussianCloud
from zerohsi_core.scene.object import SceneObject
from zerohsi_core.scene.registry import load_scene
from zerohsi_core.scene.scene import Scene
from zerohsi_core.segment.registry import create_segmenter
from zerohsi_core.video.base import GeneratedVideo
from zerohsi_core.video.registry import create_video_generator
from zerohsi_core.video.scripted import SceneBoundGenerator, ScriptContext

log = logging.getLogger(__name__)
MAX_OOM_MESSAGE = 160  # characters of torch's out-of-memory message quoted in ours
STAGES = ("view_selection", "video", "segment", "tracking", "hsi", "refinement")


@dataclass(frozen=True, eq=False)
class ClipResult:
    """One reconstructed clip: refined and raw SMPL-X, joints, object poses, cameras, video and masks."""

    prompt: str
    params: SmplxParams  # [T] refined, world frame
    joints: Tensor  # [T, 55, 3] world, metres
    raw_params: SmplxParams  # [T] per-frame result before refinement
    raw_joints: Tensor  # [T, 55, 3] joints of raw_params
    object_id: str | None
    object_poses: Tensor | None  # [T, 4, 4] object-to-world
    cameras: list[Camera]  # [T] tracked cameras
    fps: float
    video: GeneratedVideo
    human_masks: Tensor  # [T, H, W]
    object_masks: Tensor | None  # [T, H, W]
    losses: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, float] = field(default_factory=dict)  # against the scripted ground truth, if any
    timings: dict[str, float] = field(default_factory=dict)  # seconds per reconstruction stage


@dataclass(frozen=True, eq=False)
class ClipInputs:
    """A generated, segmented clip and what it was generated from: the input of `Pipeline.reconstruct`."""

    prompt: str
    static: list[tuple[str, GaussianCloud]]  # the static scene entities
    obj: SceneObject | None  # the object in play at its initial pose
    initial: SmplxParams  # [1] on the device
    camera: Camera  # the first frame's camera
    video: GeneratedVideo
    frames: Tensor  # [T, H, W, 3] on the device
    human_masks: Tensor  # [T, H, W]
    object_masks: Tensor | None  # [T, H, W]
    obj_local: GaussianCloud | None  # the object's Gaussians in its own frame
    pose0: Tensor | None  # [4, 4] its initial pose
    timings: dict[str, float] = field(default_factory=dict)  # seconds per preparation stage


@dataclass(frozen=True, eq=False)
class SequenceResult:
    """All clips of a request, in order."""

    request: InteractionRequest
    scene_id: str
    clips: list[ClipResult]

    @property
    def joints(self) -> Tensor:
        """[ΣT, 55, 3] joints of the whole sequence."""
        return torch.cat([clip.joints for clip in self.clips])


def _import_compiler() -> None:
    """torch.compile imports dynamo and inductor on first use; a thread running torch ops meanwhile may
    import some of the same modules, and two threads importing them at once see them half-initialised
    (ImportError: partially initialized module). Import them before a second thread starts."""
    importlib.import_module("torch._dynamo")
    importlib.import_module("torch._inductor.compiler_bisector")


class Pipeline:
    """Holds the loaded models (body, avatar, pose prior) and runs requests with the configured backends."""

    def __init__(self, cfg: Config, device: torch.device | str | None = None) -> None:
        self.cfg = cfg
        self.device = torch.device(device) if device is not None else resolve_device(cfg.device)
        b = cfg.body
        options = BodyModelOptions(
            b.model_path,
            gender=b.gender,
            num_betas=b.num_betas,  # type: ignore[arg-type]
            num_expression=b.num_expression,
        )
        self.body: BodyModel = load_body_model(options, device=self.device)
        appearance = AvatarOptions(num_gaussians=b.avatar_gaussians)
        self.avatar: GaussianAvatar = make_avatar(self.body, b.avatar_path, appearance).to(self.device)
        self.vposer: VPoser | None = load_vposer(b.vposer_path, self.device) if b.vposer_path else None
        self.render_options = render_options(cfg)

    def load_scene(self, scene_id: str) -> Scene:
        """A scene of the registry (procedural scenes are generated and cached on first use)."""
        return load_scene(
            scene_id or self.cfg.scene.default,
            self.cfg.scene.registry or None,
            [Path(p).expanduser() for p in self.cfg.paths.data_roots],
            density=self.cfg.scene.density,
        )

    def run(
        self,
        request: InteractionRequest,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> SequenceResult:
        """All prompts of the request as chained clips; BackendError if the device runs out of memory."""
        validate_request(request, self.cfg)
        prompts = list(request.prompts)
        scene = self.load_scene(request.scene_id)
        validate_placement(request, scene)
        obj = self._object(scene, request)
        human = request.initial_params or self.default_human(scene)
        # HSI fine-tunes the avatar's colour network within a request (Sec. 3.4); every request starts from
        # the loaded avatar, so a result never depends on the requests served before it.
        loaded = {k: v.detach().clone() for k, v in self.avatar.state_dict().items()}
        try:
            return self._run_clips(request, scene, obj, human, prompts, progress, cancel)
        except torch.OutOfMemoryError as err:
            if self.device.type == "cuda":
                torch.cuda.empty_cache()  # the next goal starts from a clean allocator
            first_line = str(err).strip().splitlines()[0] if str(err).strip() else "out of memory"
            raise BackendError(
                f"out of {self.device.type} memory ({first_line[:MAX_OOM_MESSAGE]}): lower render.width/"
                "height, video.num_frames or body.avatar_gaussians, or use profile draft"
            ) from err
        finally:
            self.avatar.load_state_dict(loaded)

    def _run_clips(
        self,
        request: InteractionRequest,
        scene: Scene,
        obj: SceneObject | None,
        human: SmplxParams,
        prompts: list[str],
        progress: ProgressCallback | None,
        cancel: CancelToken | None,
    ) -> SequenceResult:
        """The clips of a validated request, each starting from the last state of the one before."""
        clips: list[ClipResult] = []
        for index, prompt in enumerate(prompts):

            def tagged(event: ProgressEvent, i: int = index) -> None:
                label = f"clip {i + 1}/{len(prompts)} {event.message}".strip()
                report(progress, event if len(prompts) == 1 else dataclasses.replace(event, message=label))

            clip = self.run_clip(
                scene, obj, human, prompt, request.seed + index, request.num_frames, tagged, cancel
            )
            clips.append(clip)
            human = clip.params.index(slice(-1, None))  # App. C.7: the last state starts the next clip
            if obj is not None and clip.object_poses is not None:
                obj = obj.with_pose(clip.object_poses[-1])
        return SequenceResult(request, scene.id, clips)

    def default_human(self, scene: Scene) -> SmplxParams:
        """The paper's default initial state: standing (arms relaxed) at the scene's start, facing its yaw."""
        start = scene.human_start
        return standing_params(self.body, start.xy, start.yaw, body_pose=arms_down_pose())

    def _object(self, scene: Scene, request: InteractionRequest) -> SceneObject | None:
        if not request.object_id:
            return None
        if request.object_id not in scene.objects:
            raise InputError(
                f"object {request.object_id!r} is not in scene {scene.id!r}; objects: {sorted(scene.objects)}"
            )
        obj = scene.objects[request.object_id]
        return obj if request.object_pose is None else obj.with_pose(request.object_pose)

    def run_clip(
        self,
        scene: Scene,
        obj: SceneObject | None,
        initial: SmplxParams,
        prompt: str,
        seed: int,
        num_frames: int = 0,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> ClipResult:
        """One clip through every stage (ARCHITECTURE.md data flow)."""
        inputs = self.prepare_clip(scene, obj, initial, prompt, seed, num_frames, progress, cancel)
        return self.reconstruct(inputs, progress, cancel)

    def prepare_clip(
        self,
        scene: Scene,
        obj: SceneObject | None,
        initial: SmplxParams,
        prompt: str,
        seed: int,
        num_frames: int = 0,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> ClipInputs:
        """View selection → first frame → video → segmentation (Sec. 3.1–3.2): what `reconstruct` fits."""
        cfg, dev = self.cfg, self.device
        clock = StageClock(dev)
        n_frames = num_frames or cfg.video.num_frames
        initial = initial.validate().to(dev, self.body.dtype)
        scene_cloud = scene.gaussians.to(dev)
        obj_local = obj.gaussians.to(dev) if obj is not None else None
        pose0 = obj.pose.to(dev, torch.float32) if obj is not None else None
        static = [("scene", scene_cloud)]
        with_object = static + ([(OBJECT, obj_local.transformed(pose0))] if obj_local is not None else [])

        check(cancel)
        with torch.no_grad():
            out = self.avatar(initial)
        facing = float(yaw_of(initial.global_orient)[0])
        points = with_object[-1][1].means if obj is not None else None
        view = select_view(
            with_object,
            out.clouds[0],
            out.colors[0],
            out.joints[0],
            facing,
            points,
            view_options_from_config(cfg),
            self.render_options,
            dev,
            progress,
            cancel,
        )
        camera = view.camera.with_size(cfg.render.width, cfg.render.height)
        clock.lap("view_selection")
        report(progress, ProgressEvent("view_selection", 1.0, message=f"{view.score}/22 joints visible"))

        first, masks0 = self._first_frame(with_object, initial, camera)
        video = self._video(scene, obj, initial, camera, first, prompt, seed, n_frames, progress, cancel)
        frames = video.frames.to(dev)
        segmenter = create_segmenter(cfg.segment.backend, cfg)
        seg = segmenter.segment(
            frames, masks0[HUMAN], masks0.get(OBJECT), meta=video.meta, progress=progress, cancel=cancel
        )
        human_masks = seg.human.to(dev, torch.float32)
        object_masks = seg.object.to(dev, torch.float32) if seg.object is not None else None
        clock.lap("video_and_segmentation")
        return ClipInputs(
            prompt,
            static,
            obj,
            initial,
            camera,
            video,
            frames,
            human_masks,
            object_masks,
            obj_local,
            pose0,
            clock.laps,
        )

    def reconstruct(
        self,
        inputs: ClipInputs,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> ClipResult:
        """Camera tracking → HSI optimisation → refinement of a generated, segmented clip (Sec. 3.3–3.5);
        the wall time of each stage is in the result's `timings` (seconds, device synchronised), and of
        the three together in timings["reconstruction"]. With speed.track_ahead (optimized path, CUDA)
        tracking runs in a background thread while HSI fits the frames it has tracked: its time overlaps
        HSI's."""
        cfg = self.cfg
        static, obj, camera = inputs.static, inputs.obj, inputs.camera
        frames, human_masks, object_masks = inputs.frames, inputs.human_masks, inputs.object_masks
        obj_local, video, prompt = inputs.obj_local, inputs.video, inputs.prompt
        pose_init = create_pose_initializer(cfg, video.meta)  # before the long work: a bad name fails now
        clock = StageClock(self.device)
        masks = static_masks(human_masks, object_masks)
        tracking = TrackingOptions.from_config(cfg)
        ahead = self._tracks_ahead(
            frames
        )  # tracking in a background thread while HSI fits the tracked frames
        if ahead:
            _import_compiler()
            progress = serialized(progress)
        track_all = functools.partial(
            track_camera, static, frames, masks, camera, tracking, self.render_options, progress
        )
        if ahead:
            with TrackAhead(track_all, camera, len(frames), frames.device, cancel) as cams:
                hsi = self._hsi(inputs, cams, pose_init, progress, cancel)
                track = cams.result()
            clock.lap("hsi")
            clock.laps["tracking"] = cams.seconds  # overlapped with HSI: not a lap of its own
        else:
            track = track_all(cancel=cancel)
            clock.lap("tracking")
            hsi = self._hsi(inputs, track.cameras, pose_init, progress, cancel)
            clock.lap("hsi")
        object_points = None
        if obj_local is not None and hsi.object_poses is not None:
            object_points = torch.stack([obj_local.transformed(p).means for p in hsi.object_poses])
        refined = refine_clip(
            self.body,
            hsi.params,
            RefineOptions.from_config(cfg, dynamic=obj is not None),
            self.vposer,
            object_points,
            progress,
            cancel,
        )
        clock.lap("refinement")
        clock.laps["reconstruction"] = clock.elapsed  # tracking → refinement, overlaps counted once
        losses = {
            "tracking": track.losses.tolist(),
            "hsi": hsi.losses.tolist(),
            "hsi_curves": hsi.curves,
            "refinement": refined.losses,
        }
        with torch.no_grad():
            raw_joints = self.body.forward(hsi.params).joints
        result = ClipResult(
            prompt,
            refined.params,
            refined.joints,
            hsi.params,
            raw_joints,
            obj.id if obj else None,
            hsi.object_poses,
            track.cameras,
            video.fps,
            video,
            human_masks,
            object_masks,
            losses,
            timings={**inputs.timings, **clock.laps},
        )
        truth = video.meta.get("ground_truth")
        if truth is not None:
            errors = ground_truth_errors(result, truth)
            result = ClipResult(**{**result.__dict__, "errors": errors})
        return result

    def _tracks_ahead(self, frames: Tensor) -> bool:
        """speed.track_ahead applies to the optimized path on CUDA (on the CPU the two loops would share the
        same few cores)."""
        speed = self.cfg.speed
        return speed.track_ahead and speed.path == "optimized" and frames.is_cuda

    def _hsi(
        self,
        inputs: ClipInputs,
        cameras: Sequence[Camera],
        pose_init: PoseInitializer,
        progress: ProgressCallback | None,
        cancel: CancelToken | None,
    ) -> HsiResult:
        """Per-frame HSI optimisation of a clip against its tracked cameras (Sec. 3.4)."""
        return optimize_clip(
            self.avatar,
            inputs.static,
            HsiTargets(inputs.frames, inputs.human_masks, inputs.object_masks, cameras),
            inputs.initial,
            inputs.obj_local,
            inputs.pose0,
            HsiOptions.from_config(self.cfg),
            self.render_options,
            pose_init,
            progress=progress,
            cancel=cancel,
        )

    @torch.no_grad()
    def _first_frame(
        self, entities: list[tuple[str, GaussianCloud]], initial: SmplxParams, camera: Camera
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """I_0: scene ⊕ object ⊕ avatar from T_0 (Sec. 3.2), and the visible masks of human and object."""
        human, rgb = self.avatar.render_entity(initial, camera)
        out = render([*entities, (HUMAN, human)], camera, self.render_options, colors_override={HUMAN: rgb})
        masks = {name: out.masks[name][0] for name in (HUMAN, OBJECT) if name in out.masks}
        return out.rgb[0], masks

    def _video(
        self,
        scene: Scene,
        obj: SceneObject | None,
        initial: SmplxParams,
        camera: Camera,
        first: Tensor,
        prompt: str,
        seed: int,
        n_frames: int,
        progress: ProgressCallback | None,
        cancel: CancelToken | None,
    ) -> GeneratedVideo:
        generator = create_video_generator(self.cfg.video.backend, self.cfg)
        if isinstance(generator, SceneBoundGenerator):
            context = ScriptContext(
                scene,
                obj.id if obj else None,
                obj.pose if obj else None,
                initial,
                camera,
                self.avatar,
                self.render_options,
            )
            generator = generator.bind(context)
        return generator.generate(first, prompt, seed, n_frames, progress=progress, cancel=cancel)
