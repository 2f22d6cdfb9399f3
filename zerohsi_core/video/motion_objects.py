"""Object motions: lift (grip the sides and raise to the chest), carry (lift, walk, put down) and push (palms
on the near face, walk forwards); the object is attached to the body's ground frame while held."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from zerohsi_core.body.params import SmplxParams
from zerohsi_core.errors import InputError
from zerohsi_core.scene.mesh import TriMesh
from zerohsi_core.scene.scene import Surface
from zerohsi_core.video.motion_path import free_distance
from zerohsi_core.video.motion_poses import Posture, Reach, reach_posture
from zerohsi_core.video.motion_script import HandKey, MotionScript
from zerohsi_core.video.motion_sites import (
    Contacts,
    SiteOptions,
    extent_along,
    front_edge,
    grip_contacts,
    push_contacts,
    square_facings,
)
from zerohsi_core.video.motion_steps import (
    bend_to,
    body_frame,
    edge_point,
    hand_key,
    heading,
    stand_up,
    translation,
    unit,
)
from zerohsi_core.video.motions import MOTION_BUILDERS, MotionContext, MotionSpec

ContactFinder = Callable[[TriMesh, np.ndarray, SiteOptions], Contacts]


@dataclass(frozen=True)
class _Grip:
    """A held object: where the feet stand, the posture, and the hand key in the object's frame."""

    feet: np.ndarray  # [2]
    facing: np.ndarray  # [2]
    posture: Posture
    key: HandKey
    grip: np.ndarray  # [3] world midpoint of the palms at the initial pose
    contacts: Contacts  # world, at the initial pose
    behind_face: float  # grip midpoint behind the object's near face, along facing


def _best_side(
    ctx: MotionContext, mesh: TriMesh, direction: np.ndarray, contacts_of: ContactFinder, pushing: bool
) -> tuple[np.ndarray, Contacts]:
    """(facing, contacts) on a side of the object squared to the approach: for gripping the nearest side
    that works; for pushing the best of all sides by contact height, minus the reach past the near face and
    the detour (a chair is pushed by its backrest from behind, not by its seat)."""
    assert ctx.obj is not None
    o = ctx.options
    unit_direction = direction / np.linalg.norm(direction)
    low, high = mesh.bounds()
    best: tuple[float, np.ndarray, Contacts] | None = None
    for facing in square_facings(ctx.obj.pose.numpy(), direction):
        try:
            contacts = contacts_of(mesh, facing, o.sites)
        except InputError:
            continue
        if not pushing:
            return facing, contacts
        near, _ = extent_along(mesh, 0.5 * (low + high), facing)
        behind = float((contacts.points.mean(axis=0) - 0.5 * (low + high))[:2] @ facing - near)
        detour = 1.0 - float(facing @ unit_direction)
        score = float(contacts.points[:, 2].mean()) - o.push_reach_cost * behind - o.push_detour_cost * detour
        if best is None or score > best[0]:
            best = (score, facing, contacts)
    if best is None:
        raise InputError(f"found no place to hold object {ctx.obj.id!r} from any side")
    return best[1], best[2]


def _grip(
    ctx: MotionContext, s: MotionScript, contacts_of: ContactFinder, clearance: float, pushing: bool
) -> _Grip:
    """Where to hold the object (contacts from `contacts_of`) and stand, `clearance` behind its near face;
    fingers point forwards when gripping the sides, up (or down, on low objects) when pushing a face."""
    mesh = ctx.object_mesh()
    low, high = mesh.bounds()
    centre = 0.5 * (low + high)
    assert ctx.obj is not None
    facing, contacts = _best_side(ctx, mesh, unit(centre[:2] - s.xy), contacts_of, pushing)
    grip = contacts.points.mean(axis=0)
    near, _ = extent_along(mesh, centre, facing)
    behind = float((grip - centre)[:2] @ facing - near)
    distance = behind + clearance + ctx.offset()
    half_span = 0.5 * float(np.linalg.norm(contacts.points[0] - contacts.points[1]))
    fingers_kind = ("up" if grip[2] > ctx.options.push_fingers_up_above else "down") if pushing else "forward"
    reach = Reach.symmetric(distance, half_span, float(grip[2]), "forward" if pushing else "in", fingers_kind)
    posture = reach_posture(reach, ctx.rig, ctx.options.script.posture)
    fingers = {"up": np.array([0.0, 0.0, 1.0]), "down": np.array([0.0, 0.0, -1.0])}.get(
        fingers_kind, np.r_[facing, 0.0]
    )
    key = hand_key(contacts, fingers, torch.linalg.inv(ctx.obj.pose))
    return _Grip(grip[:2] - distance * facing, facing, posture, key, grip, contacts, behind)


def _take(ctx: MotionContext, s: MotionScript, grip: _Grip) -> None:
    """Walk to the object, bend down to it and close both hands on it; the object is attached."""
    assert ctx.obj is not None
    s.object_pose(ctx.obj.pose, attached=False)
    s.walk(ctx.world_map, grip.feet, heading(grip.facing))
    duration = ctx.jitter(ctx.options.reach_s)
    t0 = s.now
    bend_to(ctx, s, grip.feet, grip.facing, grip.posture, duration)
    share = ctx.options.hands_share
    s.at(t0 + (1.0 - share) * duration).hands(share * duration, grip.key, (1.0, 1.0))
    s.begin_contact()
    s.hold(ctx.jitter(ctx.options.grasp_s))
    body = body_frame(s.xy, s.yaw)
    s.object_pose(ctx.obj.pose, attached=False).object_pose(
        torch.linalg.inv(body) @ ctx.obj.pose, attached=True
    )


def _release(ctx: MotionContext, s: MotionScript, pelvis_xy: np.ndarray) -> None:
    """Let go of the attached object where it is and straighten up with the pelvis over `pelvis_xy`."""
    s.end_contact()
    s.object_pose(s.body_frame() @ s.attached_pose(), attached=False)
    duration = ctx.jitter(ctx.options.release_s)
    t0 = s.now
    s.hands(duration, None, (0.0, 0.0)).at(t0)
    stand_up(s, pelvis_xy, ctx.options.stand_up_ratio * duration)


@dataclass(frozen=True)
class _Held:
    """An object held at the chest: the grip, the standing frame it was lifted in and its pose there."""

    grip: _Grip
    stance: Tensor  # [4, 4] body ground frame standing at the feet
    pose: Tensor  # [4, 4] object pose in `stance`
    grip_at: np.ndarray  # [3] grip midpoint in `stance`


def _moved(held: _Held, grip_at: np.ndarray) -> Tensor:
    """The held object's pose in its stance frame after moving the grip midpoint to grip_at [3]."""
    return translation(grip_at - held.grip_at) @ held.pose


def _lift(ctx: MotionContext, s: MotionScript) -> _Held:
    """Take the object and stand up with it at the chest."""
    assert ctx.obj is not None
    o = ctx.options
    grip = _grip(ctx, s, grip_contacts, o.grip_clearance, pushing=False)
    _take(ctx, s, grip)
    stance = body_frame(grip.feet, heading(grip.facing))
    start = (torch.linalg.inv(stance) @ torch.tensor([*grip.grip, 1.0], dtype=torch.float64))[:3].numpy()
    at_rest = _Held(grip, stance, torch.linalg.inv(stance) @ ctx.obj.pose, start)
    grip_at = np.array([o.chest_front + o.carry_gap + grip.behind_face, 0.0, o.hold_height + ctx.offset()])
    held = _Held(grip, stance, _moved(at_rest, grip_at), grip_at)
    duration = ctx.jitter(o.lift_s)
    s.carry_object(duration, held.pose)
    stand_up(s, grip.feet, duration)
    return held


@MOTION_BUILDERS.register("lift")
def lift(ctx: MotionContext, spec: MotionSpec, start: SmplxParams) -> MotionScript:
    """Bend or squat to the object, grip its sides with both hands and lift it to the chest."""
    s = ctx.script(start)
    _lift(ctx, s)
    return s.hold(ctx.options.settle_s)


def _held_extent(ctx: MotionContext, held: _Held) -> tuple[float, float, float]:
    """(near, far) extent along the stance's facing and the width of the held object, stance frame."""
    assert ctx.obj is not None
    mesh = ctx.obj.mesh.transformed(held.pose.numpy())
    near, far = extent_along(mesh, np.zeros(3), np.array([1.0, 0.0]))
    right, left = extent_along(mesh, np.zeros(3), np.array([0.0, 1.0]))
    return near, far, left - right


def _placement(
    ctx: MotionContext, s: MotionScript, held: _Held, destination: Surface | None
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(feet [2], facing [2], grip midpoint ahead of the feet, its height) to put the object down: on the
    destination if it fits there, else on the nearest free floor in front of it (or ahead, without one)."""
    o, grip = ctx.options, held.grip
    assert ctx.obj is not None
    near, far, width = _held_extent(ctx, held)
    lift_height = float(grip.grip[2])
    floor_reach = float(np.linalg.norm(grip.grip[:2] - grip.feet))
    if destination is not None:
        edge = front_edge(destination, ctx.scene_sdf, s.xy, False, o.sites)
        spot = edge_point(edge, s.xy, 0.5 * width)
        if far - near + o.place_inset <= edge.depth and width <= edge.length:
            reach = o.feet_clearance + o.place_inset + float(held.grip_at[0]) - near
            bottom = float(ctx.obj.world_mesh().bounds()[0, 2])
            return (
                spot + o.feet_clearance * edge.outward,
                -edge.outward,
                reach,
                destination.height + lift_height - bottom,
            )
        facing, first, step = (
            -edge.outward,
            spot + (0.5 * (far - near) + o.object_margin) * edge.outward,
            edge.outward,
        )
    else:
        facing = grip.facing
        first, step = s.xy + (o.carry_distance + floor_reach) * facing, -facing
    ahead = floor_reach + 0.5 * (near + far) - float(held.grip_at[0])  # object centre ahead of the feet
    radius = 0.5 * float(np.hypot(far - near, width)) + o.object_margin
    for distance in np.arange(0.0, o.carry_distance + floor_reach, 0.5 * o.script.path.cell):
        centre = first + distance * step
        feet = centre - ahead * facing
        clear = ctx.scene_map.clearance_at(centre) >= radius
        if clear and ctx.scene_map.clearance_at(feet) >= o.script.path.body_radius:
            return feet, facing, floor_reach, lift_height
    return s.xy, facing, floor_reach, lift_height


@MOTION_BUILDERS.register("carry")
def carry(ctx: MotionContext, spec: MotionSpec, start: SmplxParams) -> MotionScript:
    """Lift the object, walk with it to the destination (or straight ahead) and put it down there."""
    o, s = ctx.options, ctx.script(start)
    held = _lift(ctx, s)
    feet, facing, reach, height = _placement(ctx, s, held, spec.destination)
    half_span = 0.5 * float(np.linalg.norm(held.grip.contacts.points[0] - held.grip.contacts.points[1]))
    posture = reach_posture(
        Reach.symmetric(reach, half_span, height, "in", "forward"), ctx.rig, o.script.posture
    )
    s.walk(ctx.scene_map, feet, heading(facing), speed=o.carry_speed)
    duration = ctx.jitter(o.place_s)
    placed = body_frame(feet, heading(facing)) @ _moved(held, np.array([reach, 0.0, height]))
    final = body_frame(feet - posture.setback * facing, heading(facing))
    s.carry_object(duration, torch.linalg.inv(final) @ placed)
    bend_to(ctx, s, feet, facing, posture, duration)
    _release(ctx, s, feet)
    return s.hold(o.settle_s)


@MOTION_BUILDERS.register("push")
def push(ctx: MotionContext, spec: MotionSpec, start: SmplxParams) -> MotionScript:
    """Put both palms on the object's near face and walk forwards, pushing it along the floor."""
    o, s = ctx.options, ctx.script(start)
    assert ctx.obj is not None
    grip = _grip(ctx, s, push_contacts, o.feet_clearance + o.push_reach, pushing=True)
    _take(ctx, s, grip)
    low, high = ctx.obj.world_mesh().bounds()
    radius = 0.5 * float(np.linalg.norm((high - low)[:2])) + o.object_margin
    centre = 0.5 * (low + high)[:2]
    room = min(
        free_distance(ctx.scene_map, centre, grip.facing, o.push_distance, radius),
        free_distance(ctx.scene_map, s.xy, grip.facing, o.push_distance, o.script.path.body_radius),
    )
    goal = s.xy + room * grip.facing
    s.walk(ctx.scene_map, goal, heading(grip.facing), speed=o.push_speed)
    _release(ctx, s, goal)
    return s.hold(o.settle_s)
