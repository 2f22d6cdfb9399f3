"""Frames of a synthesised sequence for the CLIP metrics: its SMPL-X motion on the Gaussian avatar and its
object poses, rendered with the scene from the result's cameras (as the paper renders its results)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import torch

from zerohsi_core.metrics.motion import EvalMotion
from zerohsi_core.preview import reconstruction_frames
from zerohsi_core.render.options import RenderOptions
from zerohsi_core.scene.scene import Scene

if TYPE_CHECKING:
    from zerohsi_core.body.avatar import GaussianAvatar
    from zerohsi_core.pipeline import ClipResult


def render_motion_frames(
    motion: EvalMotion, scene: Scene, avatar: GaussianAvatar, options: RenderOptions, device: torch.device
) -> torch.Tensor:
    """Scene ⊕ object ⊕ avatar from each frame's camera. -> [T, H, W, 3] in [0, 1]"""
    # reconstruction_frames reads only params, cameras, object_id and object_poses, which EvalMotion has.
    return reconstruction_frames(avatar, scene, cast("ClipResult", motion), options, device)
