"""Timing of scripted motions: eased keyframes, walking along a path, and the footsteps that carry it."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from zerohsi_core.errors import InputError


@dataclass(frozen=True)
class StepOptions:
    """Footstep pattern of walking and turning on the spot."""

    step_length: float = 0.45  # metres the pelvis advances per step
    max_turn_deg: float = 70.0  # most heading change per step
    lift: float = 0.07  # swing foot clearance at mid-swing, metres
    ramp: float = 0.25  # share of a walk spent accelerating (and decelerating)
    min_step_s: float = 0.35  # shortest step; short walks and turns take at least two of them


def smoothstep(u: Tensor) -> Tensor:
    """Ease-in/out 3u² − 2u³ of u clamped to [0, 1]: zero velocity at both ends."""
    u = u.clamp(0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)


def cruise(u: Tensor, ramp: float) -> Tensor:
    """Eased progress [0, 1] with smooth acceleration over the first and last `ramp` share and constant
    speed between (a trapezoidal velocity profile with smoothstep corners)."""
    u = u.clamp(0.0, 1.0)
    r = min(max(ramp, 1e-3), 0.5)
    peak = 1.0 / (1.0 - r)  # speed of the cruise so that the area is 1

    def accelerating(x: Tensor) -> Tensor:  # distance covered after x ∈ [0, r] of smooth acceleration
        s = x / r
        return peak * r * (s**3 - 0.5 * s**4)

    head = accelerating(torch.minimum(u, torch.full_like(u, r)))
    middle = peak * (u.clamp(r, 1.0 - r) - r)
    tail = accelerating(torch.full_like(u, r)) - accelerating((1.0 - u).clamp(max=r))
    return torch.where(u > 1.0 - r, head + peak * (1.0 - 2 * r) + tail, head + middle).clamp(0.0, 1.0)


def keyframes(t: Tensor, times: Sequence[float], values: Tensor) -> Tensor:
    """Channel [T, ...] at times t [T]: smoothstep between consecutive keys (times [K], values [K, ...]),
    held before the first and after the last key."""
    if len(times) != values.shape[0] or len(times) == 0:
        raise InputError(
            f"keyframes need one value per time, got {len(times)} times and {values.shape[0]} values"
        )
    if any(b < a for a, b in zip(times, times[1:], strict=False)):
        raise InputError(f"keyframe times must not decrease, got {list(times)}")
    key_t = torch.as_tensor(list(times), dtype=t.dtype)
    index = torch.searchsorted(key_t, t, right=True).clamp(1, max(len(times) - 1, 1))  # [T]
    lo, hi = index - 1, index.clamp(max=len(times) - 1)
    span = (key_t[hi] - key_t[lo]).clamp(min=1e-9)
    w = smoothstep((t - key_t[lo]) / span)
    w = w.reshape(-1, *([1] * (values.dim() - 1))).to(values.dtype)
    return values[lo] + w * (values[hi] - values[lo])


def nearest_angle(angle: float, reference: float) -> float:
    """`angle` plus the multiple of 2π that brings it closest to `reference` (no spinning turns)."""
    return angle + 2 * math.pi * round((reference - angle) / (2 * math.pi))


def polyline_length(path: np.ndarray) -> np.ndarray:
    """Cumulative arc length [K] along a polyline [K, 2]."""
    return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])


def along_path(path: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points [N, 2] and unit tangents [N, 2] at arc lengths s [N] of a polyline [K, 2]."""
    cum = polyline_length(path)
    s = np.clip(s, 0.0, cum[-1])
    seg = np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(path) - 2)
    seg_len = np.maximum(cum[seg + 1] - cum[seg], 1e-9)
    u = ((s - cum[seg]) / seg_len)[:, None]
    points = path[seg] * (1 - u) + path[seg + 1] * u
    tangents = (path[seg + 1] - path[seg]) / seg_len[:, None]
    return points, tangents


def step_count(distance: float, turn: float, options: StepOptions) -> int:
    """Steps that cover `distance` metres and `turn` radians, plus one that brings the feet together."""
    return (
        max(
            math.ceil(distance / options.step_length), math.ceil(turn / math.radians(options.max_turn_deg)), 1
        )
        + 1
    )


@dataclass(frozen=True)
class FootTrack:
    """Ankle positions, headings and contact of both feet (left, right) per frame."""

    position: Tensor  # [T, 2, 3]
    yaw: Tensor  # [T, 2]
    contact: Tensor  # [T, 2] bool


def _neutral(xy: Tensor, yaw: Tensor, offsets: Tensor) -> Tensor:
    """Ankle xy [..., 2, 2] under a pelvis at xy [..., 2] facing yaw [...]; offsets [2, 2] (forward, left)."""
    c, s = torch.cos(yaw)[..., None], torch.sin(yaw)[..., None]
    forward, left = offsets[:, 0], offsets[:, 1]  # [2]
    x = xy[..., None, 0] + c * forward - s * left
    y = xy[..., None, 1] + s * forward + c * left
    return torch.stack([x, y], dim=-1)


def footsteps(
    t: Tensor,  # [T] seconds
    state_at: Callable[[float], tuple[Tensor, Tensor]],  # time -> pelvis xy [2], heading []
    segments: Sequence[tuple[float, float]],  # (start, end) of each stepping phase
    offsets: Tensor,  # [2, 2] rest ankle offsets from the pelvis (forward, left) of the left, right foot
    ankle_height: Tensor,  # [2]
    options: StepOptions,
) -> FootTrack:
    """Planted feet that step during `segments`: each step lands the swing foot under where the pelvis
    will be half a step later (the last two steps under the final pose), alternating feet."""
    T = t.shape[0]
    xy0, yaw0 = state_at(0.0)
    plant_xy = _neutral(xy0, yaw0, offsets)  # [2, 2]
    plant_yaw = yaw0.repeat(2).clone()
    position = torch.zeros(T, 2, 3, dtype=t.dtype)
    foot_yaw = torch.zeros(T, 2, dtype=t.dtype)
    contact = torch.ones(T, 2, dtype=torch.bool)
    position[:, :, :2], position[:, :, 2] = plant_xy, ankle_height
    foot_yaw[:] = plant_yaw

    for start, end in sorted(segments):
        xy0, yaw0 = state_at(start)
        xy1, yaw1 = state_at(end)
        distance = float((xy1 - xy0).norm())
        turn = abs(float(yaw1 - yaw0))
        n = step_count(distance, turn, options)
        duration = (end - start) / n
        first_foot = 0 if float(yaw1 - yaw0) > 0 else 1  # turning left: the left foot leads
        for k in range(n):
            foot = (k + first_foot) % 2
            lift_t, land_t = start + k * duration, start + (k + 1) * duration
            aim_xy, aim_yaw = state_at(end if k >= n - 2 else min(land_t + 0.5 * duration, end))
            target = _neutral(aim_xy, aim_yaw, offsets)[foot]
            swing = (t > lift_t) & (t < land_t)
            u = smoothstep((t[swing] - lift_t) / duration)[:, None]
            position[swing, foot, :2] = plant_xy[foot] * (1 - u) + target * u
            position[swing, foot, 2] = ankle_height[foot] + options.lift * torch.sin(math.pi * u[:, 0])
            foot_yaw[swing, foot] = plant_yaw[foot] * (1 - u[:, 0]) + aim_yaw * u[:, 0]
            contact[swing, foot] = False
            after = t >= land_t
            position[after, foot, :2], position[after, foot, 2] = target, ankle_height[foot]
            foot_yaw[after, foot] = aim_yaw
            plant_xy = plant_xy.clone()
            plant_xy[foot], plant_yaw[foot] = target, aim_yaw
    return FootTrack(position, foot_yaw, contact)
