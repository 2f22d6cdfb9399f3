"""Motion diversity (Sec. 4.1): N sequences of one input (different seeds), mean per-joint distance
over all pairs."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import torch
from torch import Tensor

from zerohsi_core.body.joints import NUM_BODY_JOINTS
from zerohsi_core.errors import InputError


def pair_distance(a: Tensor, b: Tensor, num_joints: int = NUM_BODY_JOINTS) -> Tensor:
    """Mean Euclidean distance of corresponding joints (first `num_joints`) over the frames both have.
    a [Ta, J, 3], b [Tb, J, 3] metres -> scalar"""
    n = min(a.shape[0], b.shape[0])
    return torch.linalg.norm(a[:n, :num_joints].double() - b[:n, :num_joints].double(), dim=-1).mean()


def diversity(joints: Sequence[Tensor], num_joints: int = NUM_BODY_JOINTS) -> float:
    """Mean over all pairs of sequences [T, J, 3] of their mean per-joint distance (m)."""
    if len(joints) < 2:
        raise InputError(f"diversity needs at least 2 sequences of one input, got {len(joints)}")
    pairs = [pair_distance(a, b, num_joints) for a, b in combinations(joints, 2)]
    return float(torch.stack(pairs).mean())
