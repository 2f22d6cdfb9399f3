"""Scripted human-scene motions (the ground truth of the `scripted` video backend).

A `MotionSpec` names a motion kind and its targets (a surface, an object, a destination); `build_motion`
writes it as a `MotionScript` (motion_library.py), fits its duration to the clip, realises it as world-frame
SMPL-X parameters through the IK rig and blends the first frames from the given initial state, so frame 0
is exactly that state. Kinds: walk_to, sit_on, lean_on, lie_on, lift, carry, push, wave.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from zerohsi_core.body.joints import JOINT_INDEX
from zerohsi_core.body.model import BodyModel
from zerohsi_core.body.params import SmplxParams
from zerohsi_core.body.pose import yaw_of
from zerohsi_core.errors import InputError
from zerohsi_core.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from zerohsi_core.registry import Registry
from zerohsi_core.scene.mesh import TriMesh
from zerohsi_core.scene.object import SceneObject
from zerohsi_core.scene.scene import Scene, Surface
from zerohsi_core.scene.sdf import MeshSDF
from zerohsi_core.video.motion_path import WalkMap, walk_map
from zerohsi_core.video.motion_rig import Rig, RigOptions, blend_rotations
from zerohsi_core.video.motion_script import MotionScript, ScriptOptions
from zerohsi_core.video.motion_sites import SiteOptions
from zerohsi_core.video.motion_timeline import smoothstep

MOTION_KINDS = ("walk_to", "sit_on", "lean_on", "lie_on", "lift", "carry", "push", "wave")
OBJECT_KINDS = ("lift", "carry", "push")
SURFACE_KINDS = ("sit_on", "lean_on", "lie_on")
ROTATION_FIELDS = ("global_orient", "body_pose", "left_hand_pose", "right_hand_pose", "jaw_pose", "leye_pose",
                   "reye_pose")  # fmt: skip
TIME_EPS = 1e-6  # seconds


@dataclass(frozen=True)
class ScriptedMotion:
    """A scripted motion over T frames: world-frame SMPL-X, object poses and contact labels."""

    name: str  # motion kind
    params: SmplxParams  # [T] world frame (AMASS style)
    object_poses: Tensor | None  # [T, 4, 4] float64 object-to-world, None without an object
    object_id: str | None
    contact_frames: Tensor  # [T] bool: both hands touch the object
    foot_contact: Tensor  # [T, 2] bool: left / right foot planted on the floor
    fps: float
    description: str

    @property
    def num_frames(self) -> int:
        return self.params.batch_size


@dataclass(frozen=True)
class MotionSpec:
    """What to do: a motion kind and its targets (resolved against the scene by `motion_for_prompt`)."""

    kind: str
    surface: Surface | None = None  # sit_on / lean_on / lie_on; walk_to a surface
    object_id: str | None = None  # lift / carry / push; walk_to an object
    destination: Surface | None = None  # carry: where to put the object (None: carry it ahead)
    description: str = ""

    def __post_init__(self) -> None:
        if self.kind not in MOTION_KINDS:
            raise InputError(f"unknown motion {self.kind!r}; supported: {', '.join(MOTION_KINDS)}")
        if self.kind in SURFACE_KINDS and self.surface is None:
            raise InputError(f"motion {self.kind} needs a surface")
        if self.kind in OBJECT_KINDS and self.object_id is None:
            raise InputError(f"motion {self.kind} needs an object")


@dataclass(frozen=True)
class MotionOptions:
    """Durations (seconds, before fitting to the clip), distances (metres) and variation of the motions."""

    script: ScriptOptions = field(default_factory=ScriptOptions)
    sites: SiteOptions = field(default_factory=SiteOptions)
    rig: RigOptions = field(default_factory=RigOptions)
    sit_s: float = 1.6
    sit_lean_deg: float = 35.0  # trunk bend half-way down to a seat...
    sit_midway: tuple[float, float] = (0.4, 0.45)  # ...where the pelvis has moved this share back and down
    sit_recline_deg: float = 6.0  # lean back once seated
    lie_midway_pitch_deg: float = 40.0  # half-way from sitting to lying, leaning back this far...
    lie_midway_rise: float = 0.1  # ...with the pelvis this much above its seated height
    lie_s: float = 2.0
    lean_s: float = 1.3
    reach_s: float = 1.1
    grasp_s: float = 0.3
    lift_s: float = 1.2
    place_s: float = 1.1
    release_s: float = 0.6
    wave_raise_s: float = 0.6
    wave_period_s: float = 0.7
    wave_cycles: int = 3
    settle_s: float = 0.4  # stillness at the end of each motion
    seat_stand_off: float = 0.12  # pelvis in front of a seat's edge when turning to sit
    seat_depth: float = 0.3  # pelvis behind the seat's front edge when seated...
    seat_depth_share: float = 0.55  # ...and no deeper than this share of the seat
    seat_side_margin: float = 0.3  # sitting spot at least this far from the ends of the seat edge
    stand_off: float = 0.45  # pelvis in front of a surface edge (walk_to)...
    edge_margin: float = 0.2  # ...at least this far from the edge's ends
    object_stand_off: float = 0.7  # pelvis from an object's centre (walk_to)
    lean_inset: float = 0.12  # palms this far inside a surface edge (lean_on)
    lean_hand_span: float = 0.42  # distance between the palms (lean_on)
    push_reach_cost: float = 2.0  # push side choice: metres of contact height lost per metre reached past...
    push_detour_cost: float = 0.2  # ...the near face, and per unit of (1 − cos) of turning away from it
    feet_clearance: float = 0.22  # feet this far behind an edge or an object's near face
    grip_clearance: float = 0.12  # feet behind the near face of an object lifted (knees splay round it)
    chest_front: float = 0.14  # front of the chest ahead of the pelvis (carrying)
    carry_gap: float = 0.04  # between the chest and a carried object
    hold_height: float = 1.1  # palms above the floor while carrying
    carry_distance: float = 1.5  # carried this far ahead when no destination is given
    carry_speed: float = 0.8  # m/s
    push_distance: float = 1.0
    push_speed: float = 0.5
    object_margin: float = 0.05  # an object stays this far from furniture
    place_inset: float = 0.06  # placed objects sit this far inside a surface's edge
    blend_in_s: float = 0.4  # the first frames blend from the initial state
    end_share: float = 0.08  # share of the clip kept still at the end
    max_stretch: float = 1.35  # slowest playback of a script that is shorter than the clip
    time_jitter: float = 0.08  # seeded ± share of every phase duration
    place_jitter: float = 0.03  # seeded ± metres of sitting spots and stand-off distances
    lie_head_sign: int = 0  # 0: seeded; ±1: head towards ± the surface's long axis
    seat_offset: float = 0.1  # first guess of the pelvis above a seat (then measured on the body)
    seat_iterations: int = 3  # measurements of the buttocks on a seat
    back_offset: float = 0.1  # first guess of the pelvis above a surface lain on (then measured)
    lie_shift: float = 0.04  # pelvis shifted towards the feet from the surface's centre when lying
    over_margin: float = 0.05  # body vertices this far inside a surface's rectangle rest on it
    thigh_share: float = 0.62  # palms rest this far from hip to knee when seated...
    thigh_radius: float = 0.05  # ...on the top of the thigh within this horizontal distance...
    thigh_finger_drop: float = 0.3  # ...fingers pointing forwards and this much down along the thigh
    thigh_hands_share: float = 0.35  # the palms go to the thighs during this last share of sitting down
    hands_share: float = 0.6  # the palms travel during this last share of a reach or lean
    stand_up_ratio: float = 1.5  # straightening up after letting go takes this many release durations
    push_reach: float = 0.12  # extra distance between the feet and the pushed face
    push_fingers_up_above: float = 0.6  # pushing palms point the fingers up above this height, else down
    wave_height: float = 0.25  # palm above the shoulder
    wave_out: float = 0.2  # palm outside the shoulder
    wave_forward: float = 0.1  # palm ahead of the pelvis
    wave_swing: float = 0.07  # side-to-side travel of the palm
    wave_tilt_deg: float = 20.0  # side-to-side tilt of the fingers
    lie_drafts: int = 2  # measurements of the back on the surface lain on


@dataclass(frozen=True)
class MotionContext:
    """What a motion builder needs: rig, scene, the object at its initial pose (or None), maps, randomness."""

    rig: Rig
    scene: Scene
    obj: SceneObject | None  # at its initial pose
    scene_sdf: MeshSDF
    scene_map: WalkMap  # the scene's furniture only (walking with the object)
    world_map: WalkMap  # furniture and the object at its initial pose
    options: MotionOptions
    rng: np.random.Generator

    def jitter(self, duration: float) -> float:
        """A phase duration varied by the seed."""
        return duration * (1.0 + self.options.time_jitter * float(self.rng.uniform(-1.0, 1.0)))

    def offset(self) -> float:
        """A placement offset varied by the seed (metres)."""
        return self.options.place_jitter * float(self.rng.uniform(-1.0, 1.0))

    def object_mesh(self) -> TriMesh:
        """The object's mesh at its initial pose (world); InputError when the motion has no object."""
        if self.obj is None:
            raise InputError("this motion needs an object, but none was given")
        return self.obj.world_mesh()

    def script(self, start: SmplxParams) -> MotionScript:
        """A script starting at the initial state's pelvis position and heading."""
        joints, _, _ = self.rig.skeleton(start.to(self.rig.model.device, self.rig.model.dtype))
        pelvis = joints[0, JOINT_INDEX["pelvis"]]
        heading = float(yaw_of(start.global_orient[0]))
        return MotionScript(self.rig, (float(pelvis[0]), float(pelvis[1])), heading, self.options.script)


Builder = Callable[[MotionContext, MotionSpec, SmplxParams], MotionScript]
MOTION_BUILDERS = Registry[MotionScript]("motion")  # motion kind -> Builder (motion_library.py)


def motion_context(
    model: BodyModel,
    scene: Scene,
    obj: SceneObject | None,
    betas: Tensor,
    seed: int,
    options: MotionOptions | None = None,
) -> MotionContext:
    """Rig, signed distances and walking maps for one scene (and object at its initial pose)."""
    options = options or MotionOptions()
    sdf = MeshSDF(scene.mesh)
    scene_map = walk_map(scene.mesh, options.script.path, sdf)
    world_map = (
        scene_map
        if obj is None
        else walk_map(TriMesh.merge([scene.mesh, obj.world_mesh()]), options.script.path)
    )
    rig = Rig(model, betas, options.rig)
    return MotionContext(rig, scene, obj, sdf, scene_map, world_map, options, np.random.default_rng(seed))


def fit_times(duration: float, n_frames: int, fps: float, options: MotionOptions) -> Tensor:
    """Script times [T] of the clip's frames: the script is played faster or (up to max_stretch) slower so
    that it ends `end_share` before the clip does."""
    clip = (n_frames - 1) / fps
    rate = duration / max(clip * (1.0 - options.end_share), TIME_EPS)
    rate = max(rate, 1.0 / options.max_stretch)
    return torch.arange(n_frames, dtype=torch.float32) / fps * rate


def blend_in(params: SmplxParams, start: SmplxParams, times: Tensor, duration: float) -> SmplxParams:
    """Params whose first frames ease from the initial state `start` [1] into the motion (frame 0 = start)."""
    w = smoothstep(times / max(duration, TIME_EPS)).to(params.transl.dtype)  # [T] 0 → 1
    first = start.to(params.transl.device, params.transl.dtype).index(
        torch.zeros(len(times), dtype=torch.long)
    )

    def rotations(a: Tensor, b: Tensor) -> Tensor:  # axis-angle [T, J, 3]
        shape = a.shape
        ra, rb = axis_angle_to_matrix(a.reshape(-1, 3)), axis_angle_to_matrix(b.reshape(-1, 3))
        weight = w.repeat_interleave(int(np.prod(shape[1:-1])) if len(shape) > 2 else 1)
        return matrix_to_axis_angle(blend_rotations(ra, rb, weight)).reshape(shape)

    mix = {name: rotations(getattr(first, name), getattr(params, name)) for name in ROTATION_FIELDS}
    linear = {}
    for name in ("transl", "expression"):
        a, b = getattr(first, name), getattr(params, name)
        linear[name] = a + w[:, None] * (b - a)  # [T, n]
    return params.replace(**mix, **linear, betas=first.betas)


def build_motion(
    spec: MotionSpec,
    context: MotionContext,
    start: SmplxParams,
    n_frames: int,
    fps: float,
) -> ScriptedMotion:
    """Write, time and realise the motion of `spec` over n_frames at fps, starting from `start` [1]."""
    if start.batch_size != 1:
        raise InputError(f"the initial human state must be one body, got a batch of {start.batch_size}")
    script = MOTION_BUILDERS.create(spec.kind, context, spec, start)
    times = fit_times(script.now, n_frames, fps, context.options)
    track, objects, contact = script.build(times)
    params = context.rig.realize(track)
    clip_times = torch.arange(n_frames, dtype=torch.float32) / fps
    params = blend_in(params, start, clip_times, context.options.blend_in_s)
    if objects is None and context.obj is not None:
        objects = context.obj.pose.expand(n_frames, 4, 4).clone()
    return ScriptedMotion(
        name=spec.kind,
        params=params,
        object_poses=objects,
        object_id=context.obj.id if context.obj is not None else None,
        contact_frames=contact,
        foot_contact=track.foot_contact,
        fps=fps,
        description=spec.description or spec.kind,
    )


importlib.import_module(f"{__package__}.motion_library")  # registers the builders
