"""The motion builders: each writes one kind of interaction as a `MotionScript` against the scene's surfaces
and the object (walk_to, sit_on, lean_on, lie_on, lift, carry, push, wave)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from zerohsi_core.body.joints import JOINT_INDEX
from zerohsi_core.body.params import SmplxParams
from zerohsi_core.scene.scene import Surface
from zerohsi_core.video.motion_path import free_distance, free_point
from zerohsi_core.video.motion_poses import (
    LYING,
    STANDING,
    Posture,
    bend,
    merged,
    pose_from_angles,
    reach_posture,
)
from zerohsi_core.video.motion_rig import SIDES
from zerohsi_core.video.motion_script import HandKey, MotionScript
from zerohsi_core.video.motion_sites import (
    Contacts,
    Edge,
    extent_along,
    front_edge,
    grip_contacts,
    over_surface,
    push_contacts,
)
from zerohsi_core.video.motions import Builder, MotionContext, MotionSpec

DOWN = (0.0, 0.0, -1.0)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-9)


def _heading(v: np.ndarray) -> float:
    return math.atan2(float(v[1]), float(v[0]))


def _edge_point(edge: Edge, xy: np.ndarray, margin: float) -> np.ndarray:
    """Point [2] of the edge nearest to xy, at least `margin` from the edge's ends."""
    reach = max(0.5 * edge.length - margin, 0.0)
    along = float(np.clip((xy - edge.mid[:2]) @ edge.along, -reach, reach))
    return edge.mid[:2] + along * edge.along


def _body_frame(xy: np.ndarray | Tensor, yaw: float) -> Tensor:
    """Ground frame [4, 4] float64 at xy facing yaw (the frame attached objects and body hands move in)."""
    frame = torch.eye(4, dtype=torch.float64)
    c, s = math.cos(yaw), math.sin(yaw)
    frame[:2, :2] = torch.tensor([[c, -s], [s, c]], dtype=torch.float64)
    frame[:2, 3] = torch.as_tensor(np.asarray(xy, dtype=np.float64)[:2])
    return frame


def _translation(offset: np.ndarray | Tensor) -> Tensor:
    frame = torch.eye(4, dtype=torch.float64)
    frame[:3, 3] = torch.as_tensor(np.asarray(offset, dtype=np.float64))
    return frame


def _pose_of(angles: dict) -> Tensor:
    return pose_from_angles(angles)[0]


def _reach(ctx: MotionContext, s: MotionScript, feet: np.ndarray, facing: np.ndarray, posture: Posture,
           duration: float) -> None:  # fmt: skip
    """Bend and squat into `posture` over `duration`, the pelvis set back from the feet."""
    pelvis = torch.tensor([*(feet - posture.setback * facing), posture.pelvis_height], dtype=torch.float32)
    lean = math.degrees(posture.lean)
    share = ctx.options.script.posture.root_share
    pose = _pose_of(merged(STANDING, bend(lean, ctx.options.script.posture)))
    s.move(duration, pelvis=pelvis, pitch=math.radians(lean * share), pose=pose, knee_out=posture.knee_out)


def _stand_up(s: MotionScript, feet: np.ndarray, duration: float) -> None:
    pelvis = torch.tensor([*feet, s.rig.geometry.standing_pelvis_height], dtype=torch.float32)
    s.move(duration, pelvis=pelvis, pitch=0.0, pose=_pose_of(STANDING), knee_out=0.0)


def _hand_key(contacts: Contacts, fingers: np.ndarray, to_object: Tensor | None) -> HandKey:
    """Palms on the contacts, facing into the surface; in the object's frame when `to_object` (world→object)."""
    points = torch.as_tensor(contacts.points, dtype=torch.float64)
    normals = -torch.as_tensor(contacts.normals, dtype=torch.float64)
    finger = torch.as_tensor(np.stack([fingers, fingers]), dtype=torch.float64)
    if to_object is None:
        return HandKey(points.float(), normals.float(), finger.float())
    R, t = to_object[:3, :3], to_object[:3, 3]
    return HandKey((points @ R.T + t).float(), (normals @ R.T).float(), (finger @ R.T).float(), "object")


def walk_to(ctx: MotionContext, spec: MotionSpec, start: SmplxParams) -> MotionScript:
    """Walk to stand in front of a surface's nearest open edge, or before an object, facing it."""
    s = ctx.script(start)
    if spec.surface is not None:
        edge = front_edge(spec.surface, ctx.scene_sdf, s.xy, False, ctx.options.sites)
        goal = _edge_point(edge, s.xy, 0.2) + (ctx.options.stand_off + ctx.offset()) * edge.outward
        yaw = _heading(-edge.outward)
    else:
        low, high = ctx.object_mesh().bounds()
        centre = 0.5 * (low + high)[:2]
        facing = _unit(centre - s.xy)
        goal, yaw = centre - (ctx.options.object_stand_off + ctx.offset()) * facing, _heading(facing)
    return s.walk(ctx.world_map, goal, yaw).hold(ctx.options.settle_s)


@dataclass(frozen=True)
class _Seat:
    stand: np.ndarray  # [2] pelvis before sitting down
    seat: np.ndarray  # [2] pelvis when seated
    outward: np.ndarray  # [2] from the seat towards the room


def _seat_plan(ctx: MotionContext, s: MotionScript, surface: Surface) -> _Seat:
    o = ctx.options
    edge = front_edge(surface, ctx.scene_sdf, s.xy, True, o.sites)
    spot = _edge_point(edge, s.xy, o.seat_side_margin) + ctx.offset() * edge.along
    depth = min(o.seat_depth + ctx.offset(), 0.55 * edge.depth)
    return _Seat(spot + o.seat_stand_off * edge.outward, spot - depth * edge.outward, edge.outward)


def _sit_down(ctx: MotionContext, s: MotionScript, seat: _Seat, height: float) -> None:
    """Walk up to the seat, turn round and lower the pelvis onto it (trunk forward on the way down)."""
    o, posture = ctx.options, ctx.options.script.posture
    s.walk(ctx.world_map, seat.stand, _heading(-seat.outward))
    s.turn(_heading(seat.outward))
    duration = ctx.jitter(o.sit_s)
    standing = s.rig.geometry.standing_pelvis_height
    mid_xy = seat.stand + 0.4 * (seat.seat - seat.stand)
    mid = torch.tensor([*mid_xy, standing - 0.45 * (standing - height)], dtype=torch.float32)
    s.begin_seated()
    s.move(0.5 * duration, pelvis=mid, pitch=math.radians(35 * posture.root_share),
           pose=_pose_of(merged(STANDING, bend(35, posture))))  # fmt: skip
    seated = torch.tensor([*seat.seat, height], dtype=torch.float32)
    s.move(0.5 * duration, pelvis=seated, pitch=math.radians(-6.0), pose=_pose_of(STANDING))


def _lowest_over(ctx: MotionContext, s: MotionScript, vertices: Tensor, surface: Surface) -> float:
    """Lowest z of the given body vertices [K] that lie over the surface, in the script's last pose."""
    track, _, _ = s.build(torch.tensor([s.now], dtype=torch.float32))
    points = ctx.rig.forward(ctx.rig.realize(track)).vertices[0, vertices].double().numpy()
    over = over_surface(surface, points, ctx.options.over_margin)
    return float(points[over, 2].min()) if over.any() else float(points[:, 2].min())


def _thigh_targets(ctx: MotionContext, s: MotionScript, facing: np.ndarray) -> HandKey:
    """Palms resting on the thighs, two thirds of the way to the knees, of the script's last pose."""
    track, _, _ = s.build(torch.tensor([s.now], dtype=torch.float32))
    out = ctx.rig.forward(ctx.rig.realize(track))
    points = []
    for side in SIDES:
        hip, knee = (out.joints[0, JOINT_INDEX[f"{side}_{j}"]] for j in ("hip", "knee"))
        spot = hip + ctx.options.thigh_share * (knee - hip)
        thigh = ctx.rig.geometry.thigh_vertices[SIDES.index(side)]
        near = (out.vertices[0, thigh, :2] - spot[:2]).norm(dim=1) < 0.05
        top = out.vertices[0, thigh[near], 2].max() if bool(near.any()) else spot[2] + 0.08
        points.append(torch.stack([spot[0], spot[1], top]))
    fingers = torch.tensor([[*facing, -0.3]] * 2, dtype=torch.float32)
    return HandKey(torch.stack(points), torch.tensor([DOWN] * 2), fingers)


def sit_on(ctx: MotionContext, spec: MotionSpec, start: SmplxParams) -> MotionScript:
    """Walk to the seat's open front, turn, sit down with hips and knees near right angles, hands on thighs."""
    assert spec.surface is not None
    surface, o = spec.surface, ctx.options
    state = ctx.rng.bit_generator.state

    def script(height: float, hands: HandKey | None) -> MotionScript:
        ctx.rng.bit_generator.state = state  # the same seeded variation in every draft
        s = ctx.script(start)
        seat = _seat_plan(ctx, s, surface)
        _sit_down(ctx, s, seat, height)
        if hands is not None:
            s.at(s.now - 0.35 * o.sit_s).hands(0.35 * o.sit_s, hands, (1.0, 1.0))
        return s

    height = surface.height + o.seat_offset
    for _ in range(o.seat_iterations):  # measure the seated body and correct its height
        height += surface.height - _lowest_over(ctx, script(height, None), ctx.rig.geometry.buttock_vertices, surface)
    draft = script(height, None)
    facing = np.array([math.cos(draft.yaw), math.sin(draft.yaw)])
    return script(height, _thigh_targets(ctx, draft, facing)).hold(o.settle_s)


def lie_on(ctx: MotionContext, spec: MotionSpec, start: SmplxParams) -> MotionScript:
    """Sit on the surface's open side, then swing the legs up and lie on the back along its long axis."""
    assert spec.surface is not None
    surface, o = spec.surface, ctx.options
    u = np.asarray(surface.u_axis)[:2]
    v = np.cross(np.asarray(surface.normal), np.asarray(surface.u_axis))[:2]
    axis = _unit(u if surface.size[0] >= surface.size[1] else v)
    sign = o.lie_head_sign or (1 if ctx.rng.uniform() < 0.5 else -1)
    head = sign * axis
    back = o.back_offset
    state = ctx.rng.bit_generator.state
    for _ in range(2):  # measure the lying back, then correct its height
        ctx.rng.bit_generator.state = state
        s = ctx.script(start)
        seat = _seat_plan(ctx, s, surface)
        sit_height = surface.height + o.seat_offset
        _sit_down(ctx, s, seat, sit_height)
        duration = ctx.jitter(o.lie_s)
        centre = np.asarray(surface.center)[:2] - o.lie_shift * head
        yaw = _heading(-head)
        mid = torch.tensor([*(0.5 * (seat.seat + centre)), sit_height + 0.1], dtype=torch.float32)
        halfway = s.yaw + 0.5 * (math.remainder(yaw - s.yaw, 2 * math.pi))
        legs = _pose_of(merged(STANDING, LYING))
        s.move(0.5 * duration, pelvis=mid, pitch=math.radians(-40.0), yaw=halfway, leg_ik=0.0, pose=legs)
        s.move(0.5 * duration, pelvis=torch.tensor([*centre, surface.height + back], dtype=torch.float32),
               pitch=-0.5 * math.pi, yaw=s.yaw + math.remainder(yaw - s.yaw, 2 * math.pi))  # fmt: skip
        back += surface.height - _lowest_over(ctx, s, ctx.rig.geometry.back_vertices, surface)
    return s.hold(o.settle_s)


def lean_on(ctx: MotionContext, spec: MotionSpec, start: SmplxParams) -> MotionScript:
    """Walk to the surface's nearest open edge and lean over it with both palms flat on top."""
    assert spec.surface is not None
    o, s = ctx.options, ctx.script(start)
    edge = front_edge(spec.surface, ctx.scene_sdf, s.xy, False, o.sites)
    facing = -edge.outward
    spot = _edge_point(edge, s.xy, 0.5 * o.lean_hand_span + 0.05)
    inside = spot + (o.lean_inset + ctx.offset()) * facing
    span = 0.5 * o.lean_hand_span * edge.along * (1 if edge.along @ np.array([-facing[1], facing[0]]) > 0 else -1)
    palms = np.stack([np.r_[inside + span, spec.surface.height], np.r_[inside - span, spec.surface.height]])
    distance = o.lean_inset + o.feet_clearance
    posture = reach_posture(spec.surface.height, distance, 0.5 * o.lean_hand_span, ctx.rig, o.script.posture)
    feet = inside - distance * facing
    s.walk(ctx.world_map, feet, _heading(facing))
    duration = ctx.jitter(o.lean_s)
    t0 = s.now
    _reach(ctx, s, feet, facing, posture, duration)
    key = HandKey(torch.tensor(palms, dtype=torch.float32), torch.tensor([DOWN] * 2),
                  torch.tensor([[*facing, 0.0]] * 2, dtype=torch.float32))  # fmt: skip
    s.at(t0 + 0.4 * duration).hands(0.6 * duration, key, (1.0, 1.0))
    return s.hold(o.settle_s)


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


def _grip(ctx: MotionContext, s: MotionScript, contacts_of, clearance: float) -> _Grip:
    """Where to hold the object (contacts from `contacts_of`) and stand, `clearance` behind its near face."""
    mesh = ctx.object_mesh()
    low, high = mesh.bounds()
    centre = 0.5 * (low + high)
    facing = _unit(centre[:2] - s.xy)
    contacts = contacts_of(mesh, facing, ctx.options.sites)
    grip = contacts.points.mean(axis=0)
    near, _ = extent_along(mesh, centre, facing)
    behind = float((grip - centre)[:2] @ facing - near)
    distance = behind + clearance + ctx.offset()
    half_span = 0.5 * float(np.linalg.norm(contacts.points[0] - contacts.points[1]))
    posture = reach_posture(float(grip[2]), distance, half_span, ctx.rig, ctx.options.script.posture)
    to_object = torch.linalg.inv(ctx.obj.pose) if ctx.obj is not None else None
    key = _hand_key(contacts, np.r_[facing, 0.0], to_object)
    return _Grip(grip[:2] - distance * facing, facing, posture, key, grip, contacts, behind)


def _take(ctx: MotionContext, s: MotionScript, grip: _Grip) -> None:
    """Walk to the object, bend down to it and close both hands on it; the object is attached."""
    assert ctx.obj is not None
    s.object_pose(ctx.obj.pose, attached=False)
    s.walk(ctx.world_map, grip.feet, _heading(grip.facing))
    duration = ctx.jitter(ctx.options.reach_s)
    t0 = s.now
    _reach(ctx, s, grip.feet, grip.facing, grip.posture, duration)
    s.at(t0 + 0.35 * duration).hands(0.65 * duration, grip.key, (1.0, 1.0))
    s.begin_contact()
    s.hold(ctx.jitter(ctx.options.grasp_s))
    body = _body_frame(s.xy, s.yaw)
    s.object_pose(ctx.obj.pose, attached=False).object_pose(torch.linalg.inv(body) @ ctx.obj.pose, attached=True)


def _release(ctx: MotionContext, s: MotionScript, pelvis_xy: np.ndarray) -> None:
    """Let go of the attached object where it is and straighten up with the pelvis over `pelvis_xy`."""
    s.end_contact()
    s.object_pose(s.body_frame() @ s.attached_pose(), attached=False)
    duration = ctx.jitter(ctx.options.release_s)
    t0 = s.now
    s.hands(duration, None, (0.0, 0.0)).at(t0)
    _stand_up(s, pelvis_xy, 1.5 * duration)


@dataclass(frozen=True)
class _Held:
    """An object held at the chest: the grip, the standing frame it was lifted in and its pose there."""

    grip: _Grip
    stance: Tensor  # [4, 4] body ground frame standing at the feet
    pose: Tensor  # [4, 4] object pose in `stance`
    grip_at: np.ndarray  # [3] grip midpoint in `stance`


def _moved(held: _Held, grip_at: np.ndarray) -> Tensor:
    """The held object's pose in its stance frame after moving the grip midpoint to grip_at [3]."""
    return _translation(grip_at - held.grip_at) @ held.pose


def _lift(ctx: MotionContext, s: MotionScript) -> _Held:
    """Take the object and stand up with it at the chest."""
    assert ctx.obj is not None
    o = ctx.options
    grip = _grip(ctx, s, grip_contacts, o.grip_clearance)
    _take(ctx, s, grip)
    stance = _body_frame(grip.feet, _heading(grip.facing))
    start = (torch.linalg.inv(stance) @ torch.tensor([*grip.grip, 1.0], dtype=torch.float64))[:3].numpy()
    at_rest = _Held(grip, stance, torch.linalg.inv(stance) @ ctx.obj.pose, start)
    grip_at = np.array([o.chest_front + o.carry_gap + grip.behind_face, 0.0, o.hold_height + ctx.offset()])
    held = _Held(grip, stance, _moved(at_rest, grip_at), grip_at)
    duration = ctx.jitter(o.lift_s)
    s.carry_object(duration, held.pose)
    _stand_up(s, grip.feet, duration)
    return held


def lift(ctx: MotionContext, spec: MotionSpec, start: SmplxParams) -> MotionScript:
    """Bend or squat to the object, grip its sides with both hands and lift it to the chest."""
    s = ctx.script(start)
    _lift(ctx, s)
    return s.hold(ctx.options.settle_s)


def _held_extent(ctx: MotionContext, held: _Held) -> tuple[float, float]:
    """Depth (along the facing) and width of the held object."""
    assert ctx.obj is not None
    mesh = ctx.obj.mesh.transformed((held.stance @ held.pose).numpy())
    facing = held.stance[:2, 0].numpy()
    centre = mesh.vertices.mean(axis=0)
    near, far = extent_along(mesh, centre, facing)
    right, left = extent_along(mesh, centre, np.array([-facing[1], facing[0]]))
    return far - near, left - right


def _placement(
    ctx: MotionContext, s: MotionScript, held: _Held, destination: Surface | None
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(feet [2], facing [2], grip midpoint ahead of the feet, its height) where the object is put down:
    on the destination if it fits there, else on the floor (in front of the destination, or ahead)."""
    o, grip = ctx.options, held.grip
    assert ctx.obj is not None
    bottom = float(ctx.obj.world_mesh().bounds()[0, 2])
    floor_reach = float(np.linalg.norm(grip.grip[:2] - grip.feet))
    depth, width = _held_extent(ctx, held)
    if destination is None:
        ahead = free_point(ctx.scene_map, s.xy + o.carry_distance * grip.facing, o.script.path.comfort)
        return ahead, grip.facing, floor_reach, float(grip.grip[2])
    edge = front_edge(destination, ctx.scene_sdf, s.xy, False, o.sites)
    spot = _edge_point(edge, s.xy, 0.5 * width)
    if depth + o.place_inset <= edge.depth and width <= edge.length:
        feet = spot + o.feet_clearance * edge.outward
        reach = o.feet_clearance + o.place_inset + grip.behind_face
        return feet, -edge.outward, reach, destination.height + float(grip.grip[2]) - bottom
    feet = spot + (floor_reach + depth - grip.behind_face + o.object_margin) * edge.outward
    return feet, -edge.outward, floor_reach, float(grip.grip[2])


def carry(ctx: MotionContext, spec: MotionSpec, start: SmplxParams) -> MotionScript:
    """Lift the object, walk with it to the destination (or straight ahead) and put it down there."""
    o, s = ctx.options, ctx.script(start)
    held = _lift(ctx, s)
    feet, facing, reach, height = _placement(ctx, s, held, spec.destination)
    half_span = 0.5 * float(np.linalg.norm(held.grip.contacts.points[0] - held.grip.contacts.points[1]))
    posture = reach_posture(height, reach, half_span, ctx.rig, o.script.posture)
    s.walk(ctx.scene_map, feet, _heading(facing), speed=o.carry_speed)
    duration = ctx.jitter(o.place_s)
    placed = _body_frame(feet, _heading(facing)) @ _moved(held, np.array([reach, 0.0, height]))
    final = _body_frame(feet - posture.setback * facing, _heading(facing))
    s.carry_object(duration, torch.linalg.inv(final) @ placed)
    _reach(ctx, s, feet, facing, posture, duration)
    _release(ctx, s, feet)
    return s.hold(o.settle_s)


def push(ctx: MotionContext, spec: MotionSpec, start: SmplxParams) -> MotionScript:
    """Put both palms on the object's near face and walk forwards, pushing it along the floor."""
    o, s = ctx.options, ctx.script(start)
    assert ctx.obj is not None
    grip = _grip(ctx, s, push_contacts, o.feet_clearance + o.push_reach)
    _take(ctx, s, grip)
    low, high = ctx.obj.world_mesh().bounds()
    radius = 0.5 * float(np.linalg.norm((high - low)[:2])) + o.object_margin
    centre = 0.5 * (low + high)[:2]
    room = min(
        free_distance(ctx.scene_map, centre, grip.facing, o.push_distance, radius),
        free_distance(ctx.scene_map, s.xy, grip.facing, o.push_distance, o.script.path.body_radius),
    )
    goal = s.xy + room * grip.facing
    s.walk(ctx.scene_map, goal, _heading(grip.facing), speed=o.push_speed)
    _release(ctx, s, goal)
    return s.hold(o.settle_s)


def wave(ctx: MotionContext, spec: MotionSpec, start: SmplxParams) -> MotionScript:
    """Raise the right hand beside the head and wave it from side to side, then lower it."""
    o, s = ctx.options, ctx.script(start)
    g = ctx.rig.geometry
    shoulder = g.bone("pelvis", "right_shoulder")
    height = g.standing_pelvis_height + float(shoulder[1]) + o.wave_height + ctx.offset()
    lateral = float(shoulder[0]) - o.wave_out

    def key(swing: float) -> HandKey:
        tilt = math.radians(o.wave_tilt_deg) * swing
        fingers = torch.tensor([[0.0, 0.0, 1.0], [0.0, -math.sin(tilt), math.cos(tilt)]])
        points = torch.tensor([[0.1, -lateral, 1.0], [o.wave_forward, lateral + o.wave_swing * swing, height]])
        return HandKey(points, torch.tensor([[1.0, 0.0, 0.0]] * 2), fingers, "body")

    s.hands(ctx.jitter(o.wave_raise_s), key(0.0), (0.0, 1.0))
    half = 0.5 * ctx.jitter(o.wave_period_s)
    for _ in range(o.wave_cycles):
        s.hands(half, key(1.0), (0.0, 1.0)).hands(half, key(-1.0), (0.0, 1.0))
    s.hands(0.5 * half, key(0.0), (0.0, 1.0)).hands(ctx.jitter(o.wave_raise_s), None, (0.0, 0.0))
    return s.hold(o.settle_s)


BUILDERS: dict[str, Builder] = {
    "walk_to": walk_to,
    "sit_on": sit_on,
    "lean_on": lean_on,
    "lie_on": lie_on,
    "lift": lift,
    "carry": carry,
    "push": push,
    "wave": wave,
}
