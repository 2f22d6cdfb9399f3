"""Results of the rasterisers and of render(): images, depth, alpha and per-entity masks."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass(frozen=True)
class RasterOutput:
    """What a backend composites, before any background: sum_i w_i f_i over depth-sorted Gaussians (Eq. 2)."""

    features: Tensor  # [C, H, W, D] accumulated per-Gaussian features
    depth_sum: Tensor  # [C, H, W] sum_i w_i z_i, camera z in metres (divide by alpha for the expected depth)
    alpha: Tensor  # [C, H, W] accumulated opacity sum_i w_i


@dataclass(frozen=True)
class RenderOutput:
    """Rendered views: colour over the background, expected depth, alpha and each entity's weight."""

    rgb: Tensor  # [C, H, W, 3] in [0, 1] for colours in [0, 1]
    depth: Tensor  # [C, H, W] expected camera z in metres; 0 where alpha < depth_alpha_min
    alpha: Tensor  # [C, H, W]
    masks: dict[str, Tensor]  # name -> [C, H, W] accumulated weight of that entity's Gaussians
