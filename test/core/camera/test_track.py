"""Camera tracking (Eq. 7–8): recovers a known camera jitter; the static mask accumulates."""

import math

import pytest
import torch

from zerohsi_core.camera.track import TrackingOptions, static_masks, track_camera
from zerohsi_core.geometry.camera import Camera, intrinsics_from_fov, look_at
from zerohsi_core.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from zerohsi_core.geometry.se3 import make_se3
from zerohsi_core.render.options import RenderOptions
from zerohsi_core.render.render import render
from zerohsi_core.scene import load_scene

SIZE = 96


def test_static_mask_is_the_accumulated_union() -> None:
    human = torch.zeros(3, 2, 2)
    human[0, 0, 0] = 1.0
    human[2, 1, 1] = 1.0
    objects = torch.zeros(3, 2, 2)
    objects[1, 0, 1] = 0.9
    masks = static_masks(human, objects)
    assert masks[0].tolist() == [[0, 1], [1, 1]]
    assert masks[1].tolist() == [[0, 0], [1, 1]]  # frame 0's human pixel stays masked out
    assert masks[2].tolist() == [[0, 0], [1, 0]]


@pytest.fixture(scope="module")
def room() -> list:
    return [("scene", load_scene("living_room", density=0.1).gaussians)]


def _jittered(first: Camera, steps: int) -> list[Camera]:
    """Cameras drifting by ~2 cm and ~0.7° per frame (hand-held shake of a generated video)."""
    cams, view = [first], first.world_to_cam
    gen = torch.Generator().manual_seed(1)
    for _ in range(steps):
        rot = axis_angle_to_matrix(torch.randn(3, generator=gen) * math.radians(0.4))
        delta = make_se3(rot, torch.randn(3, generator=gen) * 0.012)
        view = delta @ view  # shake in the camera frame
        cams.append(Camera(first.K, view, SIZE, SIZE))
    return cams


def test_tracking_recovers_camera_jitter(room: list) -> None:
    K = intrinsics_from_fov(60.0, SIZE, SIZE)
    first = Camera(K, look_at(torch.tensor([-1.0, -0.3, 1.3]), torch.tensor([1.8, 0.0, 0.6])), SIZE, SIZE)
    truth = _jittered(first, 1)
    options = RenderOptions(backend="torch")
    with torch.no_grad():
        frames = render(room, truth, options).rgb
    masks = torch.ones(len(truth), SIZE, SIZE)
    masks[:, 30:66, 36:60] = 0.0  # where a human would be: excluded from the loss
    track = track_camera(room, frames, masks, first, TrackingOptions(iters=30, lr=1e-3), options)

    def errors(a: Camera, b: Camera) -> tuple[float, float]:
        rel = a.world_to_cam[:3, :3] @ b.world_to_cam[:3, :3].T
        angle = math.degrees(torch.linalg.norm(matrix_to_axis_angle(rel)))
        return float(torch.linalg.norm(a.center - b.center)), angle

    for est, gt in zip(track.cameras[1:], truth[1:], strict=True):
        centre_err, angle_err = errors(est, gt)
        untracked_centre, untracked_angle = errors(first, gt)
        assert centre_err < 0.005 and centre_err < 0.5 * untracked_centre, (centre_err, untracked_centre)
        assert angle_err < 0.15 and angle_err < 0.5 * untracked_angle, (angle_err, untracked_angle)
    assert track.losses[1:].max() < 1e-3
