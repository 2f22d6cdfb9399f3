"""Point prompts for SAM2: farthest-point sampling on the visible part of a first-frame mask (Sec. 3.2)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from zerohsi_core.errors import InputError

POSITIVE = 1  # SAM2 point labels
NEGATIVE = 0


@dataclass(frozen=True)
class PromptOptions:
    """How prompt points are drawn from a visible mask."""

    num_points: int = 8  # positive points per entity (segment.num_points)
    num_negative: int = 2  # points on the other entity's mask labelled as background; 0 = none
    erode_px: int = 3  # keep points this many pixels inside the mask edge (disk erosion)
    mask_threshold: float = 0.5  # soft masks (accumulated render weights) count as inside above this


@dataclass(frozen=True)
class PointPrompt:
    """SAM2 point prompt: pixel coordinates (x = column, y = row) and labels (1 inside, 0 outside)."""

    points: Tensor  # [K, 2] float32 (x, y) pixel indices
    labels: Tensor  # [K] int32


def erode_mask(mask: Tensor, radius: int) -> Tensor:
    """Binary erosion of `mask` [H, W] by a disk of `radius` pixels; the image border is not an edge."""
    if radius <= 0:
        return mask.bool()
    offsets = torch.arange(-radius, radius + 1, device=mask.device)
    disk = (offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius**2).to(torch.float32)  # [2r+1, 2r+1]
    padded = F.pad(mask.to(torch.float32)[None, None], (radius,) * 4, value=1.0)  # [1, 1, H+2r, W+2r]
    inside = F.conv2d(padded, disk[None, None])[0, 0]  # [H, W] mask pixels under the disk
    return inside >= disk.sum() - 0.5


def farthest_point_sampling(mask: Tensor, k: int) -> Tensor:
    """k distinct pixels of `mask` [H, W] as (x, y) [min(k, area), 2]: first the one nearest the centroid,
    then each the farthest (Euclidean) from those chosen; ties go to the first pixel in row-major order."""
    rows, cols = torch.nonzero(mask.bool(), as_tuple=True)  # row-major order
    if rows.numel() == 0 or k <= 0:
        return torch.zeros(0, 2, dtype=torch.float32, device=mask.device)
    pixels = torch.stack([cols, rows], dim=-1).to(torch.float32)  # [N, 2] (x, y)
    centroid = pixels.mean(dim=0)  # [2]
    chosen = [int(((pixels - centroid) ** 2).sum(dim=-1).argmin())]
    nearest = ((pixels - pixels[chosen[0]]) ** 2).sum(dim=-1)  # [N] squared distance to the chosen set
    for _ in range(min(k, pixels.shape[0]) - 1):
        chosen.append(int(nearest.argmax()))
        nearest = torch.minimum(nearest, ((pixels - pixels[chosen[-1]]) ** 2).sum(dim=-1))
    return pixels[chosen]


def _prompt_region(mask: Tensor, options: PromptOptions) -> Tensor:
    """The binarised mask, eroded by the margin unless that leaves nothing."""
    binary = mask.to(torch.float32) > options.mask_threshold  # [H, W]
    eroded = erode_mask(binary, options.erode_px)
    return eroded if bool(eroded.any()) else binary


def sample_prompt(
    mask: Tensor,  # [H, W] visible mask of the entity in frame 0 (bool or weights in [0, 1])
    other: Tensor | None = None,  # [H, W] visible mask of the other entity: source of negative points
    options: PromptOptions | None = None,
    entity: str = "human",
) -> PointPrompt:
    """Positive FPS points inside `mask`, then negative FPS points inside `other` (Sec. 3.2)."""
    options = options or PromptOptions()
    if mask.dim() != 2:
        raise InputError(f"the {entity} mask must be [H, W], got shape {tuple(mask.shape)}")
    region = _prompt_region(mask, options)
    if not bool(region.any()):
        raise InputError(
            f"the {entity} is not visible in the first frame (its mask has no pixel above "
            f"{options.mask_threshold}); choose another camera or initial state"
        )
    positive = farthest_point_sampling(region, options.num_points)  # [K, 2]
    negative = torch.zeros(0, 2, dtype=torch.float32, device=mask.device)
    if other is not None and options.num_negative > 0:
        other_region = _prompt_region(other, options) & ~region
        negative = farthest_point_sampling(other_region, options.num_negative)  # [K', 2]
    labels = torch.cat(
        [
            torch.full((positive.shape[0],), POSITIVE, dtype=torch.int32, device=mask.device),
            torch.full((negative.shape[0],), NEGATIVE, dtype=torch.int32, device=mask.device),
        ]
    )
    return PointPrompt(points=torch.cat([positive, negative]), labels=labels)
