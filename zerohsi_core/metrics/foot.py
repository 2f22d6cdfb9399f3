"""Foot sliding FS (NeMF-style, as CHOIS evaluates it; Sec. 4.1).

CHOIS's NeMF-derived score sums, over frames where a foot point is below a height H, its horizontal
displacement to the next frame weighted by (2 − 2^(h/H)) (full weight on the floor, none at H), divides
by the number of frames and reports millimetres. We apply it to each foot's sole: the foot's lowest
vertex in frame t (followed to frame t+1), H = config `metrics.foot_contact_height`, the floor at
`floor_height`; FS is the mean over the two feet, in mm per frame at the result's frame rate.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from zerohsi_core.errors import InputError

MM_PER_M = 1000.0


def sole_sliding(
    vertices: Tensor, foot_ids: Tensor, contact_height: float, floor_height: float = 0.0
) -> Tensor:
    """Sliding of one foot in mm per frame. vertices [T, V, 3] world (z-up), foot_ids [K] -> scalar"""
    if vertices.dim() != 3 or vertices.shape[0] < 2:
        raise InputError(f"foot sliding needs vertices [T >= 2, V, 3], got {tuple(vertices.shape)}")
    if contact_height <= 0:
        raise InputError(f"metrics.foot_contact_height must be > 0 m, got {contact_height}")
    foot = vertices[:, foot_ids].double()  # [T, K, 3]
    lowest = foot[:-1, :, 2].argmin(dim=1)  # [T-1]
    steps = torch.arange(len(lowest))
    now, nxt = foot[steps, lowest], foot[steps + 1, lowest]  # [T-1, 3]
    height = (now[:, 2] - floor_height).clamp(min=0.0)
    weight = torch.where(height < contact_height, 2.0 - 2.0 ** (height / contact_height), 0.0)
    displacement = torch.linalg.norm(nxt[:, :2] - now[:, :2], dim=-1)
    return MM_PER_M * (displacement * weight).sum() / vertices.shape[0]


def foot_sliding(
    vertices: Tensor, feet: Sequence[Tensor], contact_height: float, floor_height: float = 0.0
) -> float:
    """FS: mean sliding of the feet (each a vertex index set [K]) in mm per frame. vertices [T, V, 3]"""
    if not feet:
        raise InputError("foot sliding needs at least one foot's vertex ids")
    scores = [sole_sliding(vertices, ids, contact_height, floor_height) for ids in feet]
    return float(torch.stack(scores).mean())
