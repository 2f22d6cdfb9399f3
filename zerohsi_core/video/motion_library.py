"""The motion builders, registered on `MOTION_BUILDERS` by kind: surface motions (walk_to, sit_on, lie_on,
lean_on) and wave here, object motions (lift, carry, push) in motion_objects.py."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from zerohsi_core.body.joints import JOINT_INDEX
from zerohsi_core.body.params import SmplxParams
from zerohsi_core.errors import InputError
from zerohsi_core.scene.scene import Surface
from zerohsi_core.video import motion_objects  # noqa: F401  (registers lift, carry, push)
from zerohsi_core.video.motion_poses import LYING, STANDING, Reach, bend, merged, reach_posture
from zerohsi_core.video.motion_rig import SIDES
from zerohsi_core.video.motion_script import HandKey, MotionScript
from zerohsi_core.video.motion_sites import front_edge, over_surface
from zerohsi_core.video.motion_steps import DOWN, bend_to, edge_point, heading, pose_of, unit
from zerohsi_core.video.motions import MOTION_BUILDERS, MotionContext, MotionSpec


@MOTION_BUILDERS.register("walk_to")
def walk_to(ctx: MotionContext, spec: MotionSpec, start: SmplxParams) -> MotionScript:
    """Walk to stand in front of a surface's nearest open edge, or before an object, facing it."""
    s = ctx.script(start)
    if spec.surface is not None:
        edge = front_edge(spec.surface, ctx.scene_sdf, s.xy, False, ctx.options.sites)
        goal = (
            edge_point(edge, s.xy, ctx.options.edge_margin)
            + (ctx.options.stand_off + ctx.offset()) * edge.outward
        )
        yaw = heading(-edge.outward)
    else:
        in_play = ctx.obj is not None and ctx.obj.id == spec.object_id
        target = ctx.obj if in_play else ctx.scene.objects.get(spec.object_id or "")
        if target is None:
            raise InputError(f"object {spec.object_id!r} is not in scene {ctx.scene.id!r}")
        low, high = target.world_mesh().bounds()
        centre = 0.5 * (low + high)[:2]
        facing = unit(centre - s.xy)
        goal, yaw = centre - (ctx.options.object_stand_off + ctx.offset()) * facing, heading(facing)
    return s.walk(ctx.world_map, goal, yaw).hold(ctx.options.settle_s)


@dataclass(frozen=True)
class _Seat:
    stand: np.ndarray  # [2] pelvis before sitting down
    seat: np.ndarray  # [2] pelvis when seated
    outward: np.ndarray  # [2] from the seat towards the room


def _seat_plan(ctx: MotionContext, s: MotionScript, surface: Surface) -> _Seat:
    o = ctx.options
    edge = front_edge(surface, ctx.scene_sdf, s.xy, True, o.sites)
    spot = edge_point(edge, s.xy, o.seat_side_margin) + ctx.offset() * edge.along
    depth = min(o.seat_depth + ctx.offset(), o.seat_depth_share * edge.depth)
    return _Seat(spot + o.seat_stand_off * edge.outward, spot - depth * edge.outward, edge.outward)


def _sit_down(ctx: MotionContext, s: MotionScript, seat: _Seat, height: float) -> None:
    """Walk up to the seat, turn round and lower the pelvis onto it (trunk forward on the way down)."""
    o, posture = ctx.options, ctx.options.script.posture
    s.walk(ctx.world_map, seat.stand, heading(-seat.outward))
    s.turn(heading(seat.outward))
    duration = ctx.jitter(o.sit_s)
    standing = s.rig.geometry.standing_pelvis_height
    back, down = o.sit_midway
    mid_xy = seat.stand + back * (seat.seat - seat.stand)
    mid = torch.tensor([*mid_xy, standing - down * (standing - height)], dtype=torch.float32)
    s.begin_seated()
    s.move(
        0.5 * duration,
        pelvis=mid,
        pitch=math.radians(o.sit_lean_deg * posture.root_share),
        pose=pose_of(merged(STANDING, bend(o.sit_lean_deg, posture))),
    )
    seated = torch.tensor([*seat.seat, height], dtype=torch.float32)
    s.move(0.5 * duration, pelvis=seated, pitch=-math.radians(o.sit_recline_deg), pose=pose_of(STANDING))


def _lowest_over(ctx: MotionContext, s: MotionScript, vertices: Tensor, surface: Surface) -> float:
    """Lowest z of the given body vertices [K] that lie over the surface, in the script's last pose."""
    track, _, _ = s.build(torch.tensor([s.now], dtype=torch.float32))
    points = ctx.rig.points(ctx.rig.realize(track), vertices)[0].double().numpy()
    over = over_surface(surface, points, ctx.options.over_margin)
    return float(points[over, 2].min()) if over.any() else float(points[:, 2].min())


def _thigh_targets(ctx: MotionContext, s: MotionScript, facing: np.ndarray) -> HandKey:
    """Palms resting on the thighs, two thirds of the way to the knees, of the script's last pose."""
    track, _, _ = s.build(torch.tensor([s.now], dtype=torch.float32))
    params = ctx.rig.realize(track)
    joints = ctx.rig.skeleton(params)[0][0]  # [55, 3]
    points = []
    for k, side in enumerate(SIDES):
        hip, knee = (joints[JOINT_INDEX[f"{side}_{j}"]] for j in ("hip", "knee"))
        spot = hip + ctx.options.thigh_share * (knee - hip)
        thigh = ctx.rig.points(params, ctx.rig.geometry.thigh_vertices[k])[0]  # [K, 3]
        near = (thigh[:, :2] - spot[:2]).norm(dim=1) < ctx.options.thigh_radius
        top = thigh[near, 2].max() if bool(near.any()) else thigh[:, 2].max()
        points.append(torch.stack([spot[0], spot[1], top]))
    fingers = torch.tensor([[*facing, -ctx.options.thigh_finger_drop]] * 2, dtype=torch.float32)
    return HandKey(torch.stack(points), torch.tensor([DOWN] * 2), fingers)


@MOTION_BUILDERS.register("sit_on")
def sit_on(ctx: MotionContext, spec: MotionSpec, start: SmplxParams) -> MotionScript:
    """Walk to the seat's open front, turn, sit down (hips and knees near right angles), hands on thighs."""
    assert spec.surface is not None
    surface, o = spec.surface, ctx.options
    state = ctx.rng.bit_generator.state

    def script(height: float, hands: HandKey | None) -> MotionScript:
        ctx.rng.bit_generator.state = state  # the same seeded variation in every draft
        s = ctx.script(start)
        seat = _seat_plan(ctx, s, surface)
        _sit_down(ctx, s, seat, height)
        if hands is not None:
            share = o.thigh_hands_share * o.sit_s
            s.at(s.now - share).hands(share, hands, (1.0, 1.0))
        return s

    height = surface.height + o.seat_offset
    for _ in range(o.seat_iterations):  # measure the seated body and correct its height
        height += surface.height - _lowest_over(
            ctx, script(height, None), ctx.rig.geometry.buttock_vertices, surface
        )
    draft = script(height, None)
    facing = np.array([math.cos(draft.yaw), math.sin(draft.yaw)])
    return script(height, _thigh_targets(ctx, draft, facing)).hold(o.settle_s)


@MOTION_BUILDERS.register("lie_on")
def lie_on(ctx: MotionContext, spec: MotionSpec, start: SmplxParams) -> MotionScript:
    """Sit on the surface's open side, then swing the legs up and lie on the back along its long axis."""
    assert spec.surface is not None
    surface, o = spec.surface, ctx.options
    u = np.asarray(surface.u_axis)[:2]
    v = np.cross(np.asarray(surface.normal), np.asarray(surface.u_axis))[:2]
    axis = unit(u if surface.size[0] >= surface.size[1] else v)
    sign = o.lie_head_sign or (1 if ctx.rng.uniform() < 0.5 else -1)
    head = sign * axis
    back = o.back_offset
    state = ctx.rng.bit_generator.state
    for _ in range(o.lie_drafts):  # measure the lying back, then correct its height
        ctx.rng.bit_generator.state = state
        s = ctx.script(start)
        seat = _seat_plan(ctx, s, surface)
        sit_height = surface.height + o.seat_offset
        _sit_down(ctx, s, seat, sit_height)
        duration = ctx.jitter(o.lie_s)
        centre = np.asarray(surface.center)[:2] - o.lie_shift * head
        yaw = heading(-head)
        mid = torch.tensor(
            [*(0.5 * (seat.seat + centre)), sit_height + o.lie_midway_rise], dtype=torch.float32
        )
        halfway = s.yaw + 0.5 * (math.remainder(yaw - s.yaw, 2 * math.pi))
        legs = pose_of(merged(STANDING, LYING))
        pitch = -math.radians(o.lie_midway_pitch_deg)
        s.move(0.5 * duration, pelvis=mid, pitch=pitch, yaw=halfway, leg_ik=0.0, pose=legs)
        s.move(
            0.5 * duration,
            pelvis=torch.tensor([*centre, surface.height + back], dtype=torch.float32),
            pitch=-0.5 * math.pi,
            yaw=s.yaw + math.remainder(yaw - s.yaw, 2 * math.pi),
        )
        back += surface.height - _lowest_over(ctx, s, ctx.rig.geometry.back_vertices, surface)
    return s.hold(o.settle_s)


@MOTION_BUILDERS.register("lean_on")
def lean_on(ctx: MotionContext, spec: MotionSpec, start: SmplxParams) -> MotionScript:
    """Walk to the surface's nearest open edge and lean over it with both palms flat on top."""
    assert spec.surface is not None
    o, s = ctx.options, ctx.script(start)
    edge = front_edge(spec.surface, ctx.scene_sdf, s.xy, False, o.sites)
    facing = -edge.outward
    spot = edge_point(edge, s.xy, 0.5 * o.lean_hand_span + o.object_margin)
    inside = spot + (o.lean_inset + ctx.offset()) * facing
    span = 0.5 * o.lean_hand_span * np.array([-facing[1], facing[0]])  # towards the left hand
    palms = np.stack([np.r_[inside + span, spec.surface.height], np.r_[inside - span, spec.surface.height]])
    distance = o.lean_inset + o.feet_clearance
    reach = Reach.symmetric(distance, 0.5 * o.lean_hand_span, spec.surface.height, "down", "forward")
    posture = reach_posture(reach, ctx.rig, o.script.posture)
    feet = inside - distance * facing
    s.walk(ctx.world_map, feet, heading(facing))
    duration = ctx.jitter(o.lean_s)
    t0 = s.now
    bend_to(ctx, s, feet, facing, posture, duration)
    key = HandKey(
        torch.tensor(palms, dtype=torch.float32),
        torch.tensor([DOWN] * 2),
        torch.tensor([[*facing, 0.0]] * 2, dtype=torch.float32),
    )
    s.at(t0 + (1.0 - o.hands_share) * duration).hands(o.hands_share * duration, key, (1.0, 1.0))
    return s.hold(o.settle_s)


@MOTION_BUILDERS.register("wave")
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
        idle = [0.0, -lateral, 0.0]  # the left hand's key is unused (its IK weight stays 0)
        points = torch.tensor([idle, [o.wave_forward, lateral + o.wave_swing * swing, height]])
        return HandKey(points, torch.tensor([[1.0, 0.0, 0.0]] * 2), fingers, "body")

    s.hands(ctx.jitter(o.wave_raise_s), key(0.0), (0.0, 1.0))
    half = 0.5 * ctx.jitter(o.wave_period_s)
    for _ in range(o.wave_cycles):
        s.hands(half, key(1.0), (0.0, 1.0)).hands(half, key(-1.0), (0.0, 1.0))
    s.hands(0.5 * half, key(0.0), (0.0, 1.0)).hands(ctx.jitter(o.wave_raise_s), None, (0.0, 0.0))
    return s.hold(o.settle_s)
