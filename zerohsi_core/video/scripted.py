"""`scripted` backend: the embedded default and the ground truth of the benchmarks (Sec. 3.2 stand-in).

A scripted motion chosen from the prompt (motion_prompt.py) is rendered through the Gaussian avatar, the
scene and the object from the chosen camera, at the first frame's size. It needs what an image-to-video
model only sees in the first frame, so the pipeline binds it to a `ScriptContext` first:

    generator = create_video_generator(cfg.video.backend, cfg)
    if isinstance(generator, SceneBoundGenerator):
        context = ScriptContext(scene, object_id, object_pose, initial_params, camera, avatar)
        generator = generator.bind(context)
    video = generator.generate(first_frame, prompt, seed, n_frames)

The result's meta carries "ground_truth" (`ScriptedGroundTruth`: world-frame SMPL-X, joints, object poses,
camera, contact labels), "masks" ({"human", "object"}: visible masks, render weight > 0.5, as float 0/1),
"motion" (the motion kind) and "prompt". Degradations (degrade.py) touch the frames only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor

from zerohsi_core.body.avatar import GaussianAvatar
from zerohsi_core.body.model import BodyModel, load_body_model
from zerohsi_core.body.params import SmplxParams
from zerohsi_core.config import Config
from zerohsi_core.errors import BackendError, InputError
from zerohsi_core.geometry.camera import Camera
from zerohsi_core.progress import CancelToken, ProgressCallback, ProgressEvent, check, report
from zerohsi_core.render.options import RenderOptions
from zerohsi_core.render.render import render
from zerohsi_core.scene.object import SceneObject
from zerohsi_core.scene.scene import Scene
from zerohsi_core.video.base import STAGE, GeneratedVideo, options_from_config, validate_request
from zerohsi_core.video.degrade import DegradeOptions, appearance_gains, degrade
from zerohsi_core.video.motion_cache import load_motion, motion_key, save_motion
from zerohsi_core.video.motion_prompt import motion_for_prompt
from zerohsi_core.video.motions import MotionOptions, ScriptedMotion, build_motion, motion_context
from zerohsi_core.video.registry import VIDEO_BACKENDS

SCENE, OBJECT, HUMAN = "scene", "object", "human"  # render entity names


@dataclass(frozen=True, eq=False)
class ScriptContext:
    """What the scripted backend renders: scene, object in play, initial human state, camera, avatar."""

    scene: Scene
    object_id: str | None  # the object in play (None: no object)
    object_pose: Tensor | None  # [4, 4] its initial object-to-world pose (None: the scene's)
    initial_params: SmplxParams  # [1] world frame (the first frame's human)
    camera: Camera  # rescaled to the first frame's size when that differs
    avatar: GaussianAvatar
    render_options: RenderOptions = field(default_factory=RenderOptions)

    def scene_object(self) -> SceneObject | None:
        """The object in play at its initial pose; InputError if the scene has no such object."""
        if self.object_id is None:
            return None
        if self.object_id not in self.scene.objects:
            known = sorted(self.scene.objects)
            raise InputError(
                f"object {self.object_id!r} is not in scene {self.scene.id!r} (objects: {known})"
            )
        obj = self.scene.objects[self.object_id]
        return obj if self.object_pose is None else obj.with_pose(self.object_pose)


@dataclass(frozen=True, eq=False)
class ScriptedGroundTruth:
    """What the scripted video shows, exactly: the reference for the reconstruction's errors."""

    params: SmplxParams  # [T] world frame
    joints: Tensor  # [T, 55, 3] world
    object_poses: Tensor | None  # [T, 4, 4] float64 object-to-world
    object_id: str | None
    camera: Camera  # at the video's size
    contact_frames: Tensor  # [T] bool, both hands on the object
    foot_contact: Tensor  # [T, 2] bool
    fps: float


@dataclass(frozen=True)
class ScriptedOptions:
    """Motion library settings, degradations and rendering of the scripted backend."""

    fps: float = 10.0  # clip frame rate (video.fps)
    mask_threshold: float = 0.5  # visible mask = accumulated render weight above this
    motion: MotionOptions = field(default_factory=MotionOptions)
    degrade: DegradeOptions = field(default_factory=DegradeOptions)


@runtime_checkable
class SceneBoundGenerator(Protocol):
    """A video generator that must see the scene, not only the first frame (the scripted backend)."""

    def bind(self, context: ScriptContext) -> Any:
        """A generator for this context; its `generate` has the common `VideoGenerator` signature."""
        ...


class ScriptedVideoGenerator:
    """Renders a scripted motion for the prompt; `bind` it to a `ScriptContext` before `generate`. The first
    frame only sets the size: frame 0 is rendered from the context's initial state (the pipeline's I0).
    Motions are written on the CPU; rendering runs on the avatar's device."""

    name = "scripted"

    def __init__(self, options: ScriptedOptions | None = None, context: ScriptContext | None = None) -> None:
        self.options, self.context = options or ScriptedOptions(), context
        self._cpu_model: BodyModel | None = None

    def bind(self, context: ScriptContext) -> ScriptedVideoGenerator:
        """The same generator bound to a scene, object, initial human, camera and avatar."""
        bound = ScriptedVideoGenerator(self.options, context)
        bound._cpu_model = self._cpu_model  # reused while the body model stays the same
        return bound

    def motion(self, prompt: str, seed: int, n_frames: int) -> ScriptedMotion:
        """The ground-truth motion the prompt asks for (what `generate` renders)."""
        return self.motion_and_key(prompt, seed, n_frames)[0]

    def motion_and_key(self, prompt: str, seed: int, n_frames: int) -> tuple[ScriptedMotion, str]:
        """The motion and its cache key (video/motion_cache.py): read from the cache or written there."""
        ctx = self._context()
        obj = ctx.scene_object()
        spec = motion_for_prompt(prompt, ctx.scene, ctx.object_id)
        model = self._model_on_cpu(ctx.avatar.body)
        start = ctx.initial_params.to("cpu", model.dtype)
        request = {
            "object_id": ctx.object_id,
            "object_pose": obj.pose if obj is not None else None,
            "seed": seed,
            "frames": n_frames,
            "fps": self.options.fps,
            "options": self.options.motion,
            "spec": spec,
        }
        key = motion_key(ctx.scene, request, start, Path(model.path).name)
        cached = load_motion(key, ScriptedMotion)
        if cached is not None:
            return cached, key
        context = motion_context(model, ctx.scene, obj, start.betas[0], seed, self.options.motion)
        motion = build_motion(spec, context, start, n_frames, self.options.fps)
        save_motion(key, motion)
        return motion, key

    def _model_on_cpu(self, model: BodyModel) -> BodyModel:
        """The avatar's body model on the CPU, where motions are written (a copy if the avatar is on GPU)."""
        if model.device.type == "cpu":
            return model
        if self._cpu_model is None or self._cpu_model.path != model.path:
            self._cpu_model = load_body_model(model.options, device="cpu", dtype=model.dtype)
        return self._cpu_model

    def generate(
        self,
        first_frame: Tensor,  # [H, W, 3] float in [0, 1]
        prompt: str,
        seed: int,
        n_frames: int,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> GeneratedVideo:
        """Build the motion, render it frame by frame (cancel checked per frame) and degrade the frames."""
        validate_request(first_frame, prompt, n_frames)
        ctx = self._context()
        check(cancel)
        motion = self.motion(prompt, seed, n_frames)
        report(progress, ProgressEvent(STAGE, 0.05, message=f"scripted {motion.name}: rendering"))
        height, width = first_frame.shape[:2]
        camera = (
            ctx.camera
            if (ctx.camera.width, ctx.camera.height) == (width, height)
            else ctx.camera.with_size(width, height)
        )
        frames, human, obj, joints = self._render(motion, camera, seed, progress, cancel)
        frames = degrade(frames, motion.fps, self.options.degrade, seed)
        truth = ScriptedGroundTruth(
            motion.params,
            joints,
            motion.object_poses,
            motion.object_id,
            camera,
            motion.contact_frames,
            motion.foot_contact,
            motion.fps,
        )
        meta = {
            "ground_truth": truth,
            "masks": {HUMAN: human, OBJECT: obj},
            "motion": motion.name,
            "prompt": prompt,
        }
        report(progress, ProgressEvent(STAGE, 1.0, frame=n_frames - 1, message=f"scripted {motion.name}"))
        return GeneratedVideo(frames, motion.fps, self.name, n_frames, meta)

    def _context(self) -> ScriptContext:
        if self.context is None:
            raise BackendError(
                "the scripted video backend renders the scene itself: bind it first with "
                "generator.bind(ScriptContext(scene, object_id, object_pose, initial_params, camera, avatar))"
            )
        return self.context

    @torch.no_grad()
    def _render(
        self,
        motion: ScriptedMotion,
        camera: Camera,
        seed: int,
        progress: ProgressCallback | None,
        cancel: CancelToken | None,
    ) -> tuple[Tensor, Tensor, Tensor | None, Tensor]:
        """Frames [T, H, W, 3], visible human and object masks [T, H, W] (0/1) and joints [T, 55, 3]."""
        ctx = self._context()
        device = ctx.avatar.bary.device
        avatar_params = motion.params.to(device, ctx.avatar.bary.dtype)
        cam = camera.to(device, avatar_params.transl.dtype)
        centers = cam.center.expand(motion.num_frames, 3)
        posed = ctx.avatar(avatar_params, centers)  # clouds and view-dependent colours for all frames
        gains = appearance_gains(
            self.options.degrade, motion.num_frames, torch.Generator().manual_seed(seed + 1)
        )
        scene_cloud = ctx.scene.gaussians.to(device)
        obj = ctx.scene_object()
        frames, humans, objects = [], [], []
        for t in range(motion.num_frames):
            check(cancel)
            entities = [(SCENE, scene_cloud)]
            if obj is not None and motion.object_poses is not None:
                entities.append((OBJECT, obj.gaussians.transformed(motion.object_poses[t]).to(device)))
            entities.append((HUMAN, posed.clouds[t]))
            colors = (posed.colors[t] * gains[t].to(device)).clamp(0.0, 1.0)
            out = render(entities, cam, ctx.render_options, colors_override={HUMAN: colors})
            frames.append(out.rgb[0].float().cpu())
            humans.append((out.masks[HUMAN][0] > self.options.mask_threshold).float().cpu())
            if obj is not None:
                objects.append((out.masks[OBJECT][0] > self.options.mask_threshold).float().cpu())
            report(progress, ProgressEvent(STAGE, 0.05 + 0.9 * (t + 1) / motion.num_frames, frame=t))
        object_masks = torch.stack(objects) if objects else None
        return (
            torch.stack(frames).clamp(0.0, 1.0),
            torch.stack(humans),
            object_masks,
            posed.joints.float().cpu(),
        )


@VIDEO_BACKENDS.register("scripted")
def build_scripted_generator(cfg: Config) -> ScriptedVideoGenerator:
    """The `scripted` backend at the clip rate `video.fps`; any `video.scripted_<field>` present sets that
    field of `DegradeOptions` or of `MotionOptions` (e.g. scripted_noise_sigma, scripted_time_jitter)."""
    degraded = options_from_config(DegradeOptions, cfg.video, "scripted_")
    motion = options_from_config(MotionOptions, cfg.video, "scripted_")
    return ScriptedVideoGenerator(ScriptedOptions(cfg.video.fps, motion=motion, degrade=degraded))
