"""A motion written phase by phase on a time axis (seconds): keyframed channels, walks along planned paths,
turns on the spot, hand targets and object poses; `build` samples it into a `MotionTrack` at given times."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from zerohsi_core.body.joints import JOINT_INDEX
from zerohsi_core.body.pose import yaw_matrix
from zerohsi_core.video.motion_path import PathOptions, WalkMap, plan_path
from zerohsi_core.video.motion_poses import STANDING, PostureOptions, pose_from_angles, with_arm_swing
from zerohsi_core.video.motion_rig import MotionTrack, Rig, blend_rotations
from zerohsi_core.video.motion_timeline import (
    StepOptions,
    along_path,
    cruise,
    footsteps,
    keyframes,
    nearest_angle,
    polyline_length,
    smoothstep,
    step_count,
)

HandFrame = Literal["world", "body", "object"]
ANGLE_EPS = 1e-3  # radians: smaller turns are skipped
TIME_EPS = 1e-9  # seconds
HEADING_SAMPLES = 64  # samples of a path's heading profile
PLANTED_WEIGHT = 0.99  # a foot counts as planted only while the leg IK holds it (not when lying)


@dataclass(frozen=True)
class ScriptOptions:
    """Walking pace and turning of scripted motions."""

    walk_speed: float = 1.0  # m/s
    turn_speed_deg: float = 150.0  # degrees per second when turning on the spot
    min_turn_s: float = 0.5
    turn_first_deg: float = 50.0  # heading changes larger than this are turned on the spot before walking
    min_shuffle: float = 0.005  # moves shorter than this are skipped...
    min_walk: float = 0.08  # ...shorter than this are shuffled in place...
    shuffle_max: float = 0.5  # ...as are moves up to this long that end facing within 90° of the start
    heading_window: float = 0.25  # metres of path averaged into the walking heading
    walk_drop: float = 0.03  # pelvis lowered while walking (longer legs reach the stride)
    steps: StepOptions = field(default_factory=StepOptions)
    posture: PostureOptions = field(default_factory=PostureOptions)
    path: PathOptions = field(default_factory=PathOptions)


@dataclass(frozen=True)
class HandKey:
    """Palm targets of both hands (left, right) in a frame that moves with the world, body or object."""

    points: Tensor  # [2, 3]
    normals: Tensor  # [2, 3] direction each palm faces
    fingers: Tensor  # [2, 3] direction the fingers point
    frame: HandFrame = "world"


@dataclass(frozen=True)
class _Walk:
    start: float
    end: float
    path: np.ndarray  # [K, 2]
    yaw_start: float
    yaw_end: float


class MotionScript:
    """Accumulates the phases of one motion; `now` is the end of the last phase (seconds)."""

    def __init__(self, rig: Rig, xy: tuple[float, float], yaw: float, options: ScriptOptions) -> None:
        self.rig, self.options, self.now = rig, options, 0.0
        height = rig.geometry.standing_pelvis_height
        zero2 = torch.zeros(2)
        self._keys: dict[str, list[tuple[float, Tensor]]] = {
            "pelvis": [(0.0, torch.tensor([xy[0], xy[1], height]))],
            "yaw": [(0.0, torch.tensor(float(yaw)))],
            "pitch": [(0.0, torch.tensor(0.0))],
            "pose": [(0.0, pose_from_angles(STANDING)[0])],
            "knee_out": [(0.0, torch.tensor(0.0))],
            "leg_ik": [(0.0, torch.tensor(1.0))],
            "arm_ik": [(0.0, zero2)],
        }
        rest = HandKey(
            torch.zeros(2, 3), torch.tensor([[0.0, -1.0, 0.0]] * 2), torch.tensor([[0.0, 0.0, -1.0]] * 2)
        )
        self._hands: list[tuple[float, HandKey]] = [(0.0, rest)]
        self._object: list[tuple[float, Tensor, bool]] = []
        self._walks: list[_Walk] = []
        self._steps: list[tuple[float, float]] = []  # (start, end) of stepping
        self._seated: list[list[float]] = []  # [start, end] intervals without grounding
        self._contacts: list[list[float]] = []

    def value(self, name: str) -> Tensor:
        """The channel's value at the end of the script."""
        return self._keys[name][-1][1]

    @property
    def xy(self) -> np.ndarray:
        """Pelvis xy at the end of the script."""
        return self.value("pelvis")[:2].numpy().astype(np.float64)

    @property
    def yaw(self) -> float:
        return float(self.value("yaw"))

    def move(self, duration: float, **values: Tensor | float) -> MotionScript:
        """Ease the named channels from their current values to `values` over `duration` seconds."""
        for name, value in values.items():
            keys = self._keys[name]
            if keys[-1][0] < self.now:
                keys.append((self.now, keys[-1][1]))
            keys.append((self.now + duration, torch.as_tensor(value, dtype=torch.float32)))
        self.now += duration
        return self

    def at(self, time: float) -> MotionScript:
        """Continue writing at `time` (earlier than `now` to run phases in parallel); channels written next
        must have no keys after `time`."""
        self.now = time
        return self

    def hold(self, duration: float) -> MotionScript:
        """Keep still for `duration` seconds."""
        self.now += duration
        return self

    def turn(self, yaw: float) -> MotionScript:
        """Turn on the spot (stepping) to heading `yaw`."""
        target = nearest_angle(yaw, self.yaw)
        angle = abs(target - self.yaw)
        if angle < ANGLE_EPS:
            return self
        steps = step_count(0.0, angle, self.options.steps) * self.options.steps.min_step_s
        duration = max(self.options.min_turn_s, angle / math.radians(self.options.turn_speed_deg), steps)
        self._steps.append((self.now, self.now + duration))
        return self.move(duration, yaw=target)

    def walk(
        self, walk_map: WalkMap, goal: np.ndarray, yaw: float, speed: float | None = None
    ) -> MotionScript:
        """Walk along a planned path to pelvis xy `goal` [2], turning on the spot where the path starts or
        ends at a sharp angle, and finish facing `yaw`."""
        path = plan_path(walk_map, self.xy, np.asarray(goal, dtype=np.float64), self.options.path)
        length = float(polyline_length(path)[-1])
        if length < self.options.min_walk or (
            length < self.options.shuffle_max and abs(nearest_angle(yaw, self.yaw) - self.yaw) < math.pi / 2
        ):
            self._shuffle(np.asarray(goal, dtype=np.float32), length)
            return self.turn(yaw)
        start_heading, end_heading = self._headings(path, [0.0, length])
        if abs(nearest_angle(start_heading, self.yaw) - self.yaw) > math.radians(self.options.turn_first_deg):
            self.turn(start_heading)
        yaw_start = self.yaw
        yaw_end = nearest_angle(end_heading, yaw_start + self._heading_change(path, length))
        steps = step_count(length, 0.0, self.options.steps) * self.options.steps.min_step_s
        duration = max(length / (speed or self.options.walk_speed), steps)
        self._walks.append(_Walk(self.now, self.now + duration, path, yaw_start, yaw_end))
        self._steps.append((self.now, self.now + duration))
        pelvis = self.value("pelvis").clone()
        pelvis[:2] = torch.as_tensor(path[-1], dtype=torch.float32)
        self.move(duration, pelvis=pelvis, yaw=yaw_end)
        if abs(nearest_angle(yaw, self.yaw) - self.yaw) > ANGLE_EPS:
            self.turn(yaw)
        return self

    def _shuffle(self, goal: np.ndarray, length: float) -> None:
        """Step to a nearby pelvis xy without turning."""
        if length < self.options.min_shuffle:
            return
        steps = step_count(length, 0.0, self.options.steps) * self.options.steps.min_step_s
        duration = max(self.options.min_turn_s, steps, length / self.options.walk_speed)
        pelvis = self.value("pelvis").clone()
        pelvis[:2] = torch.as_tensor(goal)
        self._steps.append((self.now, self.now + duration))
        self.move(duration, pelvis=pelvis)

    def _headings(self, path: np.ndarray, s: list[float] | np.ndarray) -> np.ndarray:
        """Walking heading [N] at arc lengths s (tangent averaged over the heading window)."""
        s = np.asarray(s, dtype=np.float64)
        w = self.options.heading_window
        ahead, _ = along_path(path, s + w)
        behind, _ = along_path(path, s - w)
        d = ahead - behind
        return np.arctan2(d[:, 1], d[:, 0])

    def _heading_change(self, path: np.ndarray, length: float) -> float:
        headings = np.unwrap(self._headings(path, np.linspace(0.0, length, HEADING_SAMPLES)))
        return float(headings[-1] - headings[0])

    def hands(self, duration: float, key: HandKey | None, weights: tuple[float, float]) -> MotionScript:
        """Move the palms to `key` (None: keep the targets) while the IK weights ease to `weights`."""
        if key is not None:
            if self._hands[-1][0] < self.now:
                self._hands.append((self.now, self._hands[-1][1]))
            self._hands.append((self.now + duration, key))
        return self.move(duration, arm_ik=torch.tensor(weights))

    def object_pose(self, pose: Tensor, attached: bool) -> MotionScript:
        """Key the object at `now`: a world pose, or a pose in the body's ground frame when attached."""
        self._hold_object()
        self._object.append((self.now, pose.to(torch.float64), attached))
        return self

    def carry_object(self, duration: float, pose: Tensor) -> MotionScript:
        """Move the attached object to `pose` (body ground frame) over `duration`; time does not advance."""
        self._hold_object()
        self._object.append((self.now + duration, pose.to(torch.float64), True))
        return self

    def _hold_object(self) -> None:
        """Repeat the last object key at `now`, so that the next key starts moving from here."""
        if self._object and self._object[-1][0] < self.now:
            self._object.append((self.now, *self._object[-1][1:]))

    def attached_pose(self) -> Tensor:
        """The last keyed object pose [4, 4] in the body's ground frame (the object must be attached)."""
        assert self._object and self._object[-1][2], "the script attaches no object before this point"
        return self._object[-1][1]

    def body_frame(self) -> Tensor:
        """Ground frame [4, 4] float64 of the body at the end of the script (pelvis xy, heading)."""
        return _body_frames(self.value("pelvis")[None], self.value("yaw")[None])[0]

    def begin_contact(self) -> None:
        """Both hands touch the object from `now` on (until `end_contact`)."""
        self._contacts.append([self.now, math.inf])

    def end_contact(self) -> None:
        """The hands let go at `now`."""
        self._contacts[-1][1] = self.now

    def begin_seated(self) -> None:
        """From `now` on the body rests on a surface: the feet no longer carry it (no grounding)."""
        self._seated.append([self.now, math.inf])

    def _ground(
        self, t: Tensor, names: tuple[str, ...] | None = None
    ) -> tuple[dict[str, Tensor], Tensor, Tensor, Tensor]:
        """Channels (all, or `names` + pelvis and yaw) at times t [T], with pelvis [T, 3] and heading [T]
        following the walks, and how much each time is inside a walk [T] (0 at standstill, 1 at full pace)."""
        wanted = set(self._keys if names is None else names) | {"pelvis", "yaw"}
        ch = {
            name: keyframes(t, [k for k, _ in keys], torch.stack([v for _, v in keys]))
            for name, keys in self._keys.items()
            if name in wanted
        }
        pelvis, yaw = ch["pelvis"].clone(), ch["yaw"].clone()
        walking = torch.zeros_like(t)
        r = self.options.steps.ramp
        for walk in self._walks:
            inside = (t >= walk.start) & (t <= walk.end)
            if not bool(inside.any()):
                continue
            u = (t[inside] - walk.start) / (walk.end - walk.start)
            length = float(polyline_length(walk.path)[-1])
            s = (cruise(u, r) * length).numpy().astype(np.float64)
            points, _ = along_path(walk.path, s)
            samples = np.linspace(0.0, length, HEADING_SAMPLES)
            ends = np.unwrap(self._headings(walk.path, samples))
            shift = 2 * math.pi * round((walk.yaw_start - float(ends[0])) / (2 * math.pi))
            ends = ends + shift
            heading = torch.as_tensor(np.interp(s, samples, ends), dtype=t.dtype)
            into, out = smoothstep(u / r), smoothstep((u - 1.0 + r) / r)
            heading = heading + (1 - into) * (walk.yaw_start - ends[0]) + out * (walk.yaw_end - ends[-1])
            pelvis[inside, :2] = torch.as_tensor(points, dtype=t.dtype)
            yaw[inside] = heading
            walking[inside] = torch.minimum(into, smoothstep((1.0 - u) / r))
        pelvis[:, 2] -= self.options.walk_drop * walking
        return ch, pelvis, yaw, walking

    def build(self, t: Tensor) -> tuple[MotionTrack, Tensor | None, Tensor]:
        """Sample at times t [T]: (track, object poses [T, 4, 4] float64 or None, hand contact [T] bool)."""
        ch, pelvis, yaw, walking = self._ground(t)

        def state_at(time: float) -> tuple[Tensor, Tensor]:
            _, p, y, _ = self._ground(torch.tensor([time], dtype=t.dtype), ())
            return p[0, :2], y[0]

        g = self.rig.geometry
        ankles = g.joints[[JOINT_INDEX["left_ankle"], JOINT_INDEX["right_ankle"]]] - g.joints[0]  # [2, 3]
        offsets = ankles[:, [2, 0]]  # (forward, left) of the pelvis: model +z, +x
        feet = footsteps(t, state_at, self._steps, offsets, g.ankle_height, self.options.steps)
        forward = torch.stack([torch.cos(yaw), torch.sin(yaw)], dim=-1)  # [T, 2]
        ahead = ((feet.position[..., :2] - pelvis[:, None, :2]) * forward[:, None]).sum(-1)  # [T, 2]
        pose = with_arm_swing(ch["pose"], ahead.flip(1) * walking[:, None], self.options.posture)
        body = _body_frames(pelvis, yaw)
        objects = self._sample_objects(t, body)
        hands = self._sample_hands(t, body, objects)
        seated = _in_intervals(t, self._seated)
        track = MotionTrack(
            pelvis=pelvis,
            yaw=yaw,
            pitch=ch["pitch"],
            body_pose=pose,
            feet=feet.position,
            foot_yaw=feet.yaw,
            leg_ik=ch["leg_ik"],
            knee_out=ch["knee_out"],
            hands=hands[0],
            palm_normal=hands[1],
            finger_dir=hands[2],
            arm_ik=ch["arm_ik"],
            grounded=~seated,
            foot_contact=feet.contact & (ch["leg_ik"] > PLANTED_WEIGHT)[:, None],
        )
        return track, objects, _in_intervals(t, self._contacts)

    def _sample_objects(self, t: Tensor, body: Tensor) -> Tensor | None:
        """Object poses [T, 4, 4] (world) from its keys, attached keys following the body frames [T, 4, 4]."""
        if not self._object:
            return None
        worlds = [
            body @ pose if attached else pose.expand(len(t), 4, 4) for _, pose, attached in self._object
        ]
        return _interpolate(t, [k for k, _, _ in self._object], worlds, _blend_poses)

    def _sample_hands(self, t: Tensor, body: Tensor, objects: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
        """World palm points, normals and finger directions [T, 2, 3] from the hand keys."""

        def world(key: HandKey) -> Tensor:  # [T, 3 (points, normals, fingers), 2, 3]
            stacked = torch.stack([key.points, key.normals, key.fingers]).to(torch.float64)
            frame = {"world": None, "body": body, "object": objects}[key.frame]
            if frame is None:
                return stacked.expand(len(t), -1, -1, -1)
            R, p = frame[:, None, None, :3, :3], frame[:, None, None, :3, 3]
            moved = (R @ stacked[None, ..., None])[..., 0]
            return torch.cat([moved[:, :1] + p, moved[:, 1:]], dim=1)

        def blend(a: Tensor, b: Tensor, w: Tensor) -> Tensor:
            mixed = a + w[:, None, None, None] * (b - a)
            return torch.cat([mixed[:, :1], F.normalize(mixed[:, 1:], dim=-1)], dim=1)

        out = _interpolate(t, [k for k, _ in self._hands], [world(key) for _, key in self._hands], blend)
        return out[:, 0].float(), out[:, 1].float(), out[:, 2].float()


def _body_frames(pelvis: Tensor, yaw: Tensor) -> Tensor:
    """Ground frames [T, 4, 4] float64 of the body: at the pelvis xy on the floor, turned by yaw."""
    frames = torch.eye(4, dtype=torch.float64).repeat(len(yaw), 1, 1)
    frames[:, :3, :3] = yaw_matrix(yaw.double())
    frames[:, :2, 3] = pelvis[:, :2].double()
    return frames


def _blend_poses(a: Tensor, b: Tensor, w: Tensor) -> Tensor:
    """Per-frame pose blend [T, 4, 4]: translation lerp, rotation along the geodesic."""
    out = a.clone()
    out[:, :3, :3] = blend_rotations(a[:, :3, :3], b[:, :3, :3], w.double())
    out[:, :3, 3] = a[:, :3, 3] + w.double()[:, None] * (b[:, :3, 3] - a[:, :3, 3])
    return out


def _interpolate(
    t: Tensor, times: list[float], values: list[Tensor], blend: Callable[[Tensor, Tensor, Tensor], Tensor]
) -> Tensor:
    """Per-frame eased blend between the keys around each time (values: per-frame [T, ...] each)."""
    out = values[0].clone()
    for k in range(len(times)):
        nxt = min(k + 1, len(times) - 1)
        lo = t >= times[k]
        if nxt == k:
            out[lo] = values[k][lo]
            continue
        span = max(times[nxt] - times[k], TIME_EPS)
        w = smoothstep((t - times[k]) / span)
        out[lo] = blend(values[k], values[nxt], w)[lo]
    return out


def _in_intervals(t: Tensor, intervals: list[list[float]]) -> Tensor:
    inside = torch.zeros_like(t, dtype=torch.bool)
    for start, end in intervals:
        inside |= (t >= start - TIME_EPS) & (t <= end + TIME_EPS)
    return inside
