"""Preview renders: an orbit of a scene (the foundation demo) written as PNG frames and an MP4."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from zerohsi_core.config import Config
from zerohsi_core.geometry.camera import Camera, orbit_cameras
from zerohsi_core.io.video import write_frames, write_video
from zerohsi_core.progress import ProgressCallback, ProgressEvent, report
from zerohsi_core.render.options import RenderOptions
from zerohsi_core.render.render import render
from zerohsi_core.scene.scene import Scene

if TYPE_CHECKING:
    from zerohsi_core.body.avatar import GaussianAvatar
    from zerohsi_core.pipeline import ClipResult


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
def reconstruction_frames(
    avatar: GaussianAvatar, scene: Scene, clip: ClipResult, options: RenderOptions, device: torch.device
) -> torch.Tensor:
    """The reconstruction rendered from the clip's tracked cameras: scene ⊕ object ⊕ avatar. [T,H,W,3]"""
    base = [("scene", scene.gaussians.to(device))]
    obj = scene.objects[clip.object_id].gaussians.to(device) if clip.object_id else None
    frames = []
    for t, camera in enumerate(clip.cameras):
        entities = list(base)
        if obj is not None and clip.object_poses is not None:
            entities.append(("object", obj.transformed(clip.object_poses[t].to(device, obj.means.dtype))))
        human, rgb = avatar.render_entity(clip.params.index(slice(t, t + 1)), camera)
        entities.append(("human", human))
        frames.append(render(entities, camera, options, colors_override={"human": rgb}).rgb[0].cpu())
    return torch.stack(frames)


def side_by_side(*videos: torch.Tensor) -> torch.Tensor:
    """Videos [T,H,W,3] of equal length and height, concatenated along the width."""
    return torch.cat([v.cpu().float() for v in videos], dim=2)
