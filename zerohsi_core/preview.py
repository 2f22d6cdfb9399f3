"""Preview renders: an orbit of a scene (PNG frames + MP4), and the result preview of `generate`: three
panels side by side — generated video | reconstruction from the tracked cameras | a free overview camera
circling the human (scene ⊕ object ⊕ avatar)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from zerohsi_core.config import Config
from zerohsi_core.geometry.camera import Camera, intrinsics_from_fov, look_at, orbit_cameras
from zerohsi_core.io.video import write_frames, write_video
from zerohsi_core.progress import ProgressCallback, ProgressEvent, report
from zerohsi_core.render.options import RenderOptions
from zerohsi_core.render.render import render
from zerohsi_core.scene.scene import Scene

if TYPE_CHECKING:
    from zerohsi_core.body.avatar import GaussianAvatar
    from zerohsi_core.pipeline import ClipResult


@dataclass(frozen=True)
class OverviewOptions:
    """The free 3D view: a camera `radius` m from the human's mean pelvis (horizontally), `elevation` m
    above it, starting `start_offset_deg` from the first tracked camera's azimuth and turning `sweep_deg`
    over the whole sequence."""

    radius: float = 2.5
    elevation: float = 1.5
    start_offset_deg: float = 90.0
    sweep_deg: float = 120.0
    fov_deg: float = 60.0


def render_options(cfg: Config) -> RenderOptions:
    """The renderer settings of a config."""
    r = cfg.render
    return RenderOptions(backend=r.backend, background=tuple(r.background), near=r.near, far=r.far)  # type: ignore[arg-type]


def scene_orbit_cameras(scene: Scene, cfg: Config, num_frames: int) -> list[Camera]:
    """A ring of cameras at eye height inside the scene's bounds, looking at the middle of the floor."""
    low, high = (torch.as_tensor(b, dtype=torch.float32) for b in scene.mesh.bounds())
    centre = torch.stack([(low[0] + high[0]) / 2, (low[1] + high[1]) / 2, torch.tensor(0.6)])
    radius = 0.38 * float(torch.minimum(high[0] - low[0], high[1] - low[1]))
    return orbit_cameras(
        centre, radius, 1.0, num_frames, cfg.render.fov_deg, cfg.render.width, cfg.render.height
    )


@torch.no_grad()
def render_views(
    scene: Scene,
    cameras: Sequence[Camera],
    options: RenderOptions,
    device: torch.device,
    batch: int = 4,
    progress: ProgressCallback | None = None,
) -> torch.Tensor:
    """RGB frames [T,H,W,3] of the scene and its objects at their default poses."""
    entities = [("scene", scene.gaussians.to(device))]
    entities += [(f"object:{oid}", obj.world_gaussians().to(device)) for oid, obj in scene.objects.items()]
    frames = []
    for start in range(0, len(cameras), batch):
        chunk = [camera.to(device) for camera in cameras[start : start + batch]]
        frames.append(render(entities, chunk, options).rgb.cpu())
        done = start + len(chunk)
        report(progress, ProgressEvent("orbit", done / len(cameras), frame=done - 1))
    return torch.cat(frames)


def write_orbit(frames: torch.Tensor, out_dir: Path, fps: float) -> Path:
    """PNG frames under out_dir/frames and out_dir/orbit.mp4; returns the MP4 path."""
    write_frames(frames, out_dir / "frames")
    return write_video(frames, out_dir / "orbit.mp4", fps)


@torch.no_grad()
def _render_clip(
    avatar: GaussianAvatar,
    scene: Scene,
    clip: ClipResult,
    cameras: Sequence[Camera],
    options: RenderOptions,
    device: torch.device,
) -> torch.Tensor:
    """Scene ⊕ object ⊕ avatar of each frame t rendered from cameras[t]. [T,H,W,3]"""
    base = [("scene", scene.gaussians.to(device))]
    obj = scene.objects[clip.object_id].gaussians.to(device) if clip.object_id else None
    frames = []
    for t, camera in enumerate(cameras):
        camera = camera.to(device)
        entities = list(base)
        if obj is not None and clip.object_poses is not None:
            entities.append(("object", obj.transformed(clip.object_poses[t].to(device, obj.means.dtype))))
        human, rgb = avatar.render_entity(clip.params.index(slice(t, t + 1)).to(device), camera)
        entities.append(("human", human))
        frames.append(render(entities, camera, options, colors_override={"human": rgb}).rgb[0].cpu())
    return torch.stack(frames)


def reconstruction_frames(
    avatar: GaussianAvatar, scene: Scene, clip: ClipResult, options: RenderOptions, device: torch.device
) -> torch.Tensor:
    """The reconstruction rendered from the clip's tracked cameras: scene ⊕ object ⊕ avatar. [T,H,W,3]"""
    return _render_clip(avatar, scene, clip, clip.cameras, options, device)


def overview_cameras(
    joints: torch.Tensor, first_camera: Camera, options: OverviewOptions | None = None
) -> list[Camera]:
    """One overview camera per frame of `joints` [T,55,3], circling the mean pelvis, image size and
    aspect of `first_camera` (a tracked camera, whose azimuth the sweep starts from)."""
    options = options or OverviewOptions()
    pelvis = joints[:, 0].detach().float().cpu()  # [T, 3]
    centre = pelvis.mean(0)
    seen_from = first_camera.center.detach().float().cpu() - centre
    start = math.atan2(float(seen_from[1]), float(seen_from[0])) + math.radians(options.start_offset_deg)
    frames = len(pelvis)
    step = math.radians(options.sweep_deg) / max(frames - 1, 1)
    azimuth = start + step * torch.arange(frames, dtype=torch.float32)  # [T]
    eyes = centre + torch.stack(
        [options.radius * torch.cos(azimuth), options.radius * torch.sin(azimuth),
         torch.full_like(azimuth, options.elevation)], dim=-1,
    )  # fmt: skip
    w, h = first_camera.width, first_camera.height
    K = intrinsics_from_fov(options.fov_deg, w, h)
    return [Camera(K, w2c, w, h) for w2c in look_at(eyes, centre.expand_as(eyes))]


def three_panel_preview(
    avatar: GaussianAvatar,
    scene: Scene,
    clips: Sequence[ClipResult],
    options: RenderOptions,
    device: torch.device,
    overview: OverviewOptions | None = None,
) -> torch.Tensor:
    """generated | reconstruction (tracked cameras) | overview (free camera), all clips. [ΣT,H,3W,3]"""
    joints = torch.cat([c.joints for c in clips])
    cameras = overview_cameras(joints, clips[0].cameras[0], overview)
    generated, recon, free = [], [], []
    start = 0
    for clip in clips:
        frames = len(clip.joints)
        generated.append(clip.video.frames)
        recon.append(reconstruction_frames(avatar, scene, clip, options, device))
        free.append(_render_clip(avatar, scene, clip, cameras[start : start + frames], options, device))
        start += frames
    return side_by_side(torch.cat(generated), torch.cat(recon), torch.cat(free))


def side_by_side(*videos: torch.Tensor) -> torch.Tensor:
    """Videos [T,H,W,3] of equal length and height, concatenated along the width."""
    return torch.cat([v.cpu().float() for v in videos], dim=2)
