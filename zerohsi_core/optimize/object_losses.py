"""The object terms of the HSI loss (Sec. 3.4, Eq. 11–13): mask centroids normalised to the full image, and
the mean rendered depth of the object against frame 0's — for whole images or windows of them."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from zerohsi_core.render.crop import Crop


def window_grid(windows: Sequence[Crop], like: Tensor) -> Tensor:
    """Where the pixels of each window lie in its full image: (x0 / W, y0 / H, 1 / W, 1 / H) per window,
    [B, 4] with like's dtype and device (built once per batch of windows, not per step)."""
    rows = [[c.x0 / c.full_width, c.y0 / c.full_height, 1 / c.full_width, 1 / c.full_height] for c in windows]
    return torch.tensor(rows, dtype=like.dtype).to(like.device)


def mask_centres(masks: Tensor, grid: Tensor | None = None) -> Tensor:
    """Centroids of (soft) masks [B, h, w], normalised to [0, 1] (x, y) of the full image when mask b is a
    window of it (`window_grid`; None: the masks are whole images). → [B, 2]"""
    B, h, w = masks.shape
    if grid is None:
        grid = window_grid([Crop.whole(w, h)] * B, masks)
    pixels_x = torch.arange(w, dtype=masks.dtype, device=masks.device) + 0.5
    pixels_y = torch.arange(h, dtype=masks.dtype, device=masks.device) + 0.5
    xs = grid[:, None, 0] + pixels_x * grid[:, 2:3]  # [B, w]
    ys = grid[:, None, 1] + pixels_y * grid[:, 3:4]  # [B, h]
    total = masks.sum((1, 2)).clamp_min(1e-6)  # [B]
    return torch.stack([(masks.sum(1) * xs).sum(1) / total, (masks.sum(2) * ys).sum(1) / total], dim=1)


def mask_centre(mask: Tensor, window: Crop | None = None) -> Tensor:
    """Centroid of one (soft) mask [H, W] (see `mask_centres`). → [2]"""
    return mask_centres(mask[None], None if window is None else window_grid([window], mask))[0]


def centre_loss(rendered_mask: Tensor, target_mask: Tensor) -> Tensor:
    """Eq. 11: L2 between the rendered and the segmented object centroids."""
    return (mask_centre(rendered_mask) - mask_centre(target_mask)).square().sum()


def mean_depth(depth: Tensor, mask: Tensor) -> Tensor:
    """Eq. 12: sum(D ⊙ M) / sum(M) over the last two axes."""
    return (depth * mask).sum((-2, -1)) / mask.sum((-2, -1)).clamp_min(1e-6)


def depth_loss(depth: Tensor, rendered_mask: Tensor, reference_depth: Tensor) -> Tensor:
    """Eq. 13: L2 between the rendered object's mean depth and frame 0's."""
    return (mean_depth(depth, rendered_mask) - reference_depth).square()
