"""A small result directory built by hand (stand-in body, random poses, an object) for the export tests."""

from pathlib import Path

import torch

from zerohsi_core.body.model import load_body_model
from zerohsi_core.body.params import SmplxParams
from zerohsi_core.body.pose import world_orient
from zerohsi_core.config import load_config
from zerohsi_core.geometry.camera import orbit_cameras
from zerohsi_core.io.results import write_result
from zerohsi_core.pipeline import ClipResult, InteractionRequest, SequenceResult
from zerohsi_core.video.base import GeneratedVideo

FPS = 10.0
SIZE = 16  # video and mask side, pixels


def random_params(frames: int, seed: int) -> SmplxParams:
    """World-frame SMPL-X parameters with sizeable rotations on every joint (hands, jaw, eyes too)."""
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape: int, scale: float = 0.4) -> torch.Tensor:
        return scale * torch.randn(frames, *shape, generator=g)

    yaw = torch.linspace(0.0, 2.0, frames)
    return SmplxParams(
        betas=(0.8 * torch.randn(1, 10, generator=g)).expand(frames, 10).clone(),
        global_orient=world_orient(yaw),
        transl=torch.cumsum(rnd(3, scale=0.05), 0) + torch.tensor([0.5, -0.2, 0.0]),
        body_pose=rnd(21, 3),
        left_hand_pose=rnd(15, 3),
        right_hand_pose=rnd(15, 3),
        jaw_pose=rnd(3, scale=0.2),
        leye_pose=rnd(3, scale=0.2),
        reye_pose=rnd(3, scale=0.2),
        expression=torch.zeros(frames, 10),
    )


def object_poses(frames: int) -> torch.Tensor:
    """A box sliding along x while turning about z. [T, 4, 4]"""
    poses = torch.eye(4).repeat(frames, 1, 1)
    angle = torch.linspace(0.0, 1.0, frames)
    poses[:, 0, 0], poses[:, 0, 1] = torch.cos(angle), -torch.sin(angle)
    poses[:, 1, 0], poses[:, 1, 1] = torch.sin(angle), torch.cos(angle)
    poses[:, :3, 3] = torch.stack([torch.linspace(1.0, 1.5, frames), torch.full((frames,), 0.3),
                                   torch.full((frames,), 0.25)], 1)  # fmt: skip
    return poses


def make_result(out: Path, frames: int = 5, seed: int = 0) -> Path:
    """Write a one-clip result with an object ("box") to `out`; returns the directory."""
    cfg = load_config(profile="draft")
    body = load_body_model()
    params = random_params(frames, seed)
    with torch.no_grad():
        joints = body.forward(params).joints
    cameras = orbit_cameras(torch.tensor([0.5, 0.0, 1.0]), 3.0, 1.5, frames, 60.0, SIZE, SIZE)
    g = torch.Generator().manual_seed(seed)
    video = GeneratedVideo(torch.rand(frames, SIZE, SIZE, 3, generator=g), FPS, "scripted", frames)
    masks = torch.zeros(frames, SIZE, SIZE)
    losses = {"tracking": [1.0, 0.5], "refinement": {"total": [3.0, 2.0, 1.0], "fit": [2.0, 1.0, 0.5]}}
    clip = ClipResult(
        "lift the box", params, joints, params, joints, "box", object_poses(frames), cameras, FPS, video,
        masks, masks, losses,
    )  # fmt: skip
    request = InteractionRequest(["lift the box"], "living_room_lift", "box", seed=seed)
    return write_result(SequenceResult(request, "living_room_lift", [clip]), cfg, out)
