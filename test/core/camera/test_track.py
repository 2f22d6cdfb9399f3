"""Camera tracking (Eq. 7–8): recovers a known camera jitter; the static mask accumulates; track-ahead."""

import functools
import math
import threading

import pytest
import torch

from zerohsi_core.camera import track as track_module
from zerohsi_core.camera.track import TrackAhead, TrackingOptions, static_masks, track_camera
from zerohsi_core.errors import BackendError, Cancelled, InputError
from zerohsi_core.geometry.camera import Camera, intrinsics_from_fov, look_at
from zerohsi_core.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from zerohsi_core.geometry.se3 import make_se3
from zerohsi_core.progress import CancelToken
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


def _shaken_clip(room: list, steps: int) -> tuple[Camera, list[Camera], torch.Tensor, torch.Tensor]:
    """The first camera, the true cameras, their frames and static masks."""
    K = intrinsics_from_fov(60.0, SIZE, SIZE)
    first = Camera(K, look_at(torch.tensor([-1.0, -0.3, 1.3]), torch.tensor([1.8, 0.0, 0.6])), SIZE, SIZE)
    truth = _jittered(first, steps)
    with torch.no_grad():
        frames = render(room, truth, RenderOptions(backend="torch")).rgb
    masks = torch.ones(len(truth), SIZE, SIZE)
    masks[:, 30:66, 36:60] = 0.0  # where a human would be: excluded from the loss
    return first, truth, frames, masks


def test_tracking_recovers_camera_jitter(room: list) -> None:
    first, truth, frames, masks = _shaken_clip(room, 1)
    options = RenderOptions(backend="torch")
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


def _ahead(room, frames, masks, first, tracking, options, progress=None, cancel=None) -> TrackAhead:  # noqa: ANN001
    track = functools.partial(track_camera, room, frames, masks, first, tracking, options, progress)
    return TrackAhead(track, first, len(frames), frames.device, cancel)


def test_track_ahead_gives_the_sequential_track_and_waits_for_each_frame(room: list) -> None:
    """The background tracker computes exactly track_camera's cameras; item t is there once t is tracked."""
    first, _, frames, masks = _shaken_clip(room, 3)
    options, tracking = RenderOptions(backend="torch"), TrackingOptions(iters=6, lr=1e-3)
    sequential = track_camera(room, frames, masks, first, tracking, options)
    events, threads = [], set()

    def on_event(event) -> None:  # noqa: ANN001
        events.append(event.frame)
        threads.add(threading.current_thread().name)

    with _ahead(room, frames, masks, first, tracking, options, on_event) as ahead:
        assert len(ahead) == 4 and ahead[0] is first
        last = ahead[-1]  # waits for the thread
        track = ahead.result()
    assert events == [1, 2, 3] and threads == {"zerohsi-track-ahead"}
    assert last is track.cameras[3] and ahead.seconds > 0
    for mine, theirs in zip(track.cameras, sequential.cameras, strict=True):
        assert torch.equal(mine.world_to_cam, theirs.world_to_cam)
    assert torch.equal(track.losses, sequential.losses)
    with pytest.raises(IndexError):
        ahead[4]


def test_track_ahead_hands_its_error_to_the_consumer_and_stops_on_close(room: list, monkeypatch) -> None:
    first, _, frames, masks = _shaken_clip(room, 2)
    options, tracking = RenderOptions(backend="torch"), TrackingOptions(iters=2, lr=1e-3)
    broken = frames.clone()
    broken[2, 5, 5, 0] = float("nan")  # refused before any work, in the thread: the consumer sees it
    with pytest.raises(InputError, match=r"frames \[2\] hold NaN"):
        track_camera(room, broken, masks, first, tracking, options)
    with (
        _ahead(room, broken, masks, first, tracking, options) as ahead,
        pytest.raises(InputError, match="NaN"),
    ):
        ahead[1]
    real = track_module.track_frame

    def failing(scene, frame, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        if torch.equal(frame, frames[2]):
            raise BackendError("the renderer failed on frame 2")
        return real(scene, frame, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(track_module, "track_frame", failing)
        with _ahead(room, frames, masks, first, tracking, options) as ahead:
            assert torch.isfinite(ahead[1].world_to_cam).all()
            with pytest.raises(BackendError, match="failed on frame 2"):  # raised in the thread, here
                ahead[2]
            with pytest.raises(BackendError, match="failed on frame 2"):
                ahead.result()
    caller = CancelToken()
    caller.cancel()  # the caller's cancel stops the thread and the consumer
    with (
        _ahead(room, frames, masks, first, tracking, options, cancel=caller) as ahead,
        pytest.raises(Cancelled),
    ):
        ahead[2]
    long = TrackingOptions(iters=100_000, lr=1e-3)
    ahead = _ahead(room, frames, masks, first, long, options)
    ahead.close()  # leaving mid-frame: the thread stops at its next iteration
    assert not ahead._thread.is_alive()
