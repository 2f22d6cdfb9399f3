"""Frames in flight: the per-frame HSI optimisations of a clip staggered so that several run at once
(`speed.frames_in_flight`). Frame t starts once frame t−1 has run ceil(iters / K) of its iterations — from
t−1's estimate at that point — and the frames in flight take their steps together, in one batched render.
K = 1 is the paper's strictly sequential schedule (frame t starts from t−1's final estimate).

Camera tracking stays sequential: with Adam's step bounded by its learning rate, a chain of frames that
start early can follow a moving camera only by lr × (stagger + iters) per frame instead of lr × iters (a
2 cm-per-frame shake was lost at 3 frames in flight), and tracking is a small share of the time."""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from zerohsi_core.errors import InputError


@dataclass(frozen=True)
class Staggered:
    """Frames 1..T−1, `iters` steps each; frame t runs the global steps [start(t), start(t) + iters)."""

    num_frames: int  # T, frame 0 included (it is given, not optimised)
    iters: int
    frames_in_flight: int = 1

    def __post_init__(self) -> None:
        if self.frames_in_flight < 1 or self.iters < 1:
            raise InputError(
                f"frames_in_flight and iters must be at least 1, got {self.frames_in_flight}, {self.iters}"
            )

    @property
    def stagger(self) -> int:
        """Global steps between the starts of consecutive frames."""
        k = min(self.frames_in_flight, max(1, self.num_frames - 1))
        return max(1, math.ceil(self.iters / k))

    @property
    def width(self) -> int:
        """Most frames in flight at once (the batch size)."""
        return min(self.num_frames - 1, math.ceil(self.iters / self.stagger)) if self.num_frames > 1 else 0

    def start(self, t: int) -> int:
        return (t - 1) * self.stagger

    @property
    def steps(self) -> int:
        """Global steps of the whole clip."""
        return 0 if self.num_frames < 2 else self.start(self.num_frames - 1) + self.iters

    def starting(self, step: int) -> list[int]:
        """Frames whose first step is this global step."""
        if step % self.stagger:
            return []
        t = step // self.stagger + 1
        return [t] if t < self.num_frames else []

    def active(self, step: int) -> list[int]:
        """Frames that take this global step, oldest first."""
        return [t for t in range(1, self.num_frames) if self.start(t) <= step < self.start(t) + self.iters]


class GroupedAdam:
    """One Adam over sets of tensors that come and go (the frames in flight), a parameter group per set:
    each tensor keeps its own moments and step count — what an Adam per set computes — and one call
    updates them all (fused into a kernel per group on CUDA). Tensors without a gradient are skipped."""

    def __init__(self, lr: float, fused: bool = False) -> None:
        self.lr, self.fused = lr, fused
        self.optimizer: torch.optim.Adam | None = None
        self.groups: dict[Hashable, dict[str, Any]] = {}

    def add(self, key: Hashable, variables: Sequence[Tensor]) -> None:
        group: dict[str, Any] = {"params": list(variables)}
        if self.optimizer is None:
            self.optimizer = torch.optim.Adam([group], lr=self.lr, fused=True if self.fused else None)
        else:
            self.optimizer.add_param_group(group)
        self.groups[key] = group

    def remove(self, key: Hashable) -> None:
        """Forget a set's tensors and their moments."""
        group = self.groups.pop(key)
        if self.optimizer is not None:
            self.optimizer.param_groups = [g for g in self.optimizer.param_groups if g is not group]
            for variable in group["params"]:
                self.optimizer.state.pop(variable, None)

    def zero_grad(self) -> None:
        if self.optimizer is not None:
            self.optimizer.zero_grad(set_to_none=True)

    def step(self) -> None:
        if self.optimizer is not None:
            self.optimizer.step()
