"""Result preview: three panels (generated | reconstruction | overview) and the overview cameras."""

import math

import pytest
import torch
from core.tiny import TINY

from zerohsi_core.config import load_config
from zerohsi_core.geometry.camera import Camera, intrinsics_from_fov, look_at
from zerohsi_core.pipeline import ClipResult, Pipeline
from zerohsi_core.preview import (
    OverviewOptions,
    overview_cameras,
    reconstruction_frames,
    three_panel_preview,
)
from zerohsi_core.video.base import GeneratedVideo

FRAMES = 2


@pytest.fixture(scope="module")
def setup() -> tuple[Pipeline, object, ClipResult]:
    pipeline = Pipeline(load_config(profile="draft", overrides=TINY), device="cpu")
    scene = pipeline.load_scene("living_room")
    human = pipeline.default_human(scene)
    params = human.index([0] * FRAMES)
    joints = pipeline.body.forward(params).joints.detach()
    pelvis = joints[0, 0]
    size = pipeline.cfg.render.width
    tracked = pipeline_camera(pelvis, size)
    frames = torch.rand(FRAMES, size, size, 3, generator=torch.Generator().manual_seed(0))
    video = GeneratedVideo(frames, 10.0, "scripted", FRAMES)
    masks = torch.zeros(FRAMES, size, size)
    clip = ClipResult("stand", params, joints, params, joints, None, None, [tracked] * FRAMES, 10.0, video,
                      masks, None)  # fmt: skip
    return pipeline, scene, clip


def pipeline_camera(pelvis: torch.Tensor, size: int) -> Camera:
    """A tracked-like camera 2.5 m in front of the pelvis along world +x (azimuth 0)."""
    eye = pelvis + torch.tensor([2.5, 0.0, 0.3])
    return Camera(intrinsics_from_fov(60.0, size, size), look_at(eye, pelvis), size, size)


def test_overview_cameras_circle_the_pelvis(setup) -> None:
    _, _, clip = setup
    options = OverviewOptions(radius=2.0, elevation=1.0, start_offset_deg=90.0, sweep_deg=60.0)
    cameras = overview_cameras(clip.joints, clip.cameras[0], options)
    centre = clip.joints[:, 0].mean(0)
    assert len(cameras) == FRAMES and cameras[0].width == clip.cameras[0].width
    for cam in cameras:
        offset = cam.center - centre
        assert float(offset[2]) == pytest.approx(1.0, abs=1e-5)
        assert float(offset[:2].norm()) == pytest.approx(2.0, abs=1e-5)
        uv, depth = cam.project(centre)
        assert torch.allclose(uv, torch.tensor([cam.width / 2, cam.height / 2]), atol=1e-3) and depth > 0
    azimuths = [math.degrees(math.atan2(*(c.center - centre)[[1, 0]].tolist())) for c in cameras]
    assert azimuths == pytest.approx([90.0, 150.0], abs=1e-3)  # tracked camera sits at azimuth 0


def test_three_panels(setup) -> None:
    pipeline, scene, clip = setup
    video = three_panel_preview(pipeline.avatar, scene, [clip], pipeline.render_options, pipeline.device)
    size = pipeline.cfg.render.width
    assert video.shape == (FRAMES, size, 3 * size, 3)
    assert torch.equal(video[..., :size, :], clip.video.frames)
    recon = reconstruction_frames(pipeline.avatar, scene, clip, pipeline.render_options, pipeline.device)
    assert torch.allclose(video[..., size : 2 * size, :], recon)
    overview = video[..., 2 * size :, :]
    assert (overview - recon).abs().mean() > 0.02  # another viewpoint, not a copy
    assert (overview[0] - overview[1]).abs().mean() > 0.0  # the camera moves
