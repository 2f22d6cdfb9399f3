"""The `scripted` video backend: binding, a tiny render of "lift the box" (frames, visible masks, ground
truth), registration, and the degradations."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from zerohsi_core.body.avatar import GaussianAvatar
from zerohsi_core.body.avatar_template import AvatarOptions
from zerohsi_core.body.model import BodyModelOptions, load_body_model
from zerohsi_core.body.pose import arms_down_pose, standing_params
from zerohsi_core.body.standin import ensure_standin_model
from zerohsi_core.config import Config
from zerohsi_core.errors import BackendError, InputError
from zerohsi_core.geometry.camera import Camera, intrinsics_from_fov, look_at
from zerohsi_core.render.options import RenderOptions
from zerohsi_core.scene.registry import load_scene
from zerohsi_core.video.base import GeneratedVideo
from zerohsi_core.video.degrade import DegradeOptions, appearance_gains, degrade
from zerohsi_core.video.registry import VIDEO_BACKENDS, create_video_generator
from zerohsi_core.video.scripted import (
    SceneBoundGenerator,
    ScriptContext,
    ScriptedGroundTruth,
    ScriptedVideoGenerator,
)

SIZE, N_FRAMES = 64, 8
CAMERA_SIZE = 128  # the context camera is rescaled to the first frame's size
SCENE_CENTRE, SCENE_RADIUS, SCENE_TOP = (0.6, -1.4), 1.0, 1.6  # metres: the part of the room rendered


@pytest.fixture(scope="module")
def context() -> ScriptContext:
    model = load_body_model(BodyModelOptions(model_path=str(ensure_standin_model())))
    scene = load_scene("living_room_lift", density=0.05)
    gaussians = scene.gaussians  # keep the splats around the human and the box: the CPU renderer is slow
    near = ((gaussians.means[:, :2] - torch.tensor(SCENE_CENTRE)).norm(dim=1) < SCENE_RADIUS) & (
        gaussians.means[:, 2] < SCENE_TOP
    )
    scene = dataclasses.replace(scene, gaussians=gaussians.subset(torch.nonzero(near).squeeze(1)))
    start = scene.human_start
    params = standing_params(model, start.xy, start.yaw, body_pose=arms_down_pose())
    avatar = GaussianAvatar(model, AvatarOptions(num_gaussians=800))
    eye, target = torch.tensor([-0.9, -0.3, 1.5]), torch.tensor([0.6, -1.4, 0.5])
    camera = Camera(
        intrinsics_from_fov(60.0, CAMERA_SIZE, CAMERA_SIZE), look_at(eye, target), CAMERA_SIZE, CAMERA_SIZE
    )
    return ScriptContext(scene, "box", None, params, camera, avatar, RenderOptions(backend="torch"))


@pytest.fixture(scope="module")
def video(context: ScriptContext) -> GeneratedVideo:
    generator = ScriptedVideoGenerator().bind(context)
    events = []
    clip = generator.generate(
        torch.full((SIZE, SIZE, 3), 0.5), "lift the box", 0, N_FRAMES, progress=events.append
    )
    assert events[-1].progress == 1.0 and len(events) >= N_FRAMES
    return clip


def test_frames_have_the_first_frame_size_and_count(video: GeneratedVideo) -> None:
    assert video.frames.shape == (N_FRAMES, SIZE, SIZE, 3) and video.frames.dtype == torch.float32
    assert float(video.frames.min()) >= 0.0 and float(video.frames.max()) <= 1.0
    assert video.backend == "scripted" and video.fps == 10.0 and video.meta["motion"] == "lift"
    assert float((video.frames[0] - video.frames[-1]).abs().mean()) > 0.01  # something moves


def test_masks_are_binary_visible_and_follow_the_human(video: GeneratedVideo) -> None:
    masks = video.meta["masks"]
    human, obj = masks["human"], masks["object"]
    assert human.shape == obj.shape == (N_FRAMES, SIZE, SIZE)
    for mask in (human, obj):
        assert set(torch.unique(mask).tolist()) <= {0.0, 1.0}
    assert (human.sum(dim=(1, 2)) > 20).all() and obj[0].sum() > 5
    assert not bool((human * obj).any())  # visible masks do not overlap
    truth: ScriptedGroundTruth = video.meta["ground_truth"]
    uv, _ = truth.camera.project(truth.joints[:, 0].to(truth.camera.K.dtype))  # pelvis pixels [T, 2]
    for t in range(N_FRAMES):
        rows, cols = torch.nonzero(human[t], as_tuple=True)
        assert cols.min() - 2 <= uv[t, 0] <= cols.max() + 3 and rows.min() - 2 <= uv[t, 1] <= rows.max() + 3


def test_ground_truth_has_the_clip_shapes(video: GeneratedVideo, context: ScriptContext) -> None:
    truth: ScriptedGroundTruth = video.meta["ground_truth"]
    assert truth.params.batch_size == N_FRAMES and truth.joints.shape == (N_FRAMES, 55, 3)
    assert truth.object_poses is not None and truth.object_poses.shape == (N_FRAMES, 4, 4)
    assert truth.object_id == "box" and truth.fps == video.fps
    assert (truth.camera.width, truth.camera.height) == (SIZE, SIZE)
    assert torch.allclose(truth.camera.K[:2], context.camera.K[:2] * SIZE / CAMERA_SIZE)
    assert torch.allclose(truth.params.transl[0], context.initial_params.transl[0], atol=1e-5)
    assert truth.contact_frames.any() and not truth.contact_frames[0]


def test_unbound_generator_and_bad_requests_fail_clearly(context: ScriptContext) -> None:
    frame = torch.zeros(SIZE, SIZE, 3)
    with pytest.raises(BackendError, match="bind"):
        ScriptedVideoGenerator().generate(frame, "lift the box", 0, N_FRAMES)
    bound = ScriptedVideoGenerator().bind(context)
    with pytest.raises(InputError, match="supported verbs"):
        bound.generate(frame, "juggle the box", 0, N_FRAMES)
    with pytest.raises(InputError, match="n_frames"):
        bound.generate(frame, "lift the box", 0, 1)


def test_registered_and_built_from_config() -> None:
    assert "scripted" in VIDEO_BACKENDS.names()
    generator = create_video_generator("scripted", Config())
    assert isinstance(generator, ScriptedVideoGenerator) and isinstance(generator, SceneBoundGenerator)
    assert generator.options.fps == Config().video.fps and not generator.options.degrade.active


def _frames() -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    coarse = torch.rand(6, 3, 8, 8, generator=generator)
    return (
        torch.nn.functional.interpolate(coarse, size=(32, 32), mode="bilinear")
        .permute(0, 2, 3, 1)
        .contiguous()
    )


def test_degradations_are_off_by_default_and_each_acts() -> None:
    frames = _frames()
    assert degrade(frames, 10.0, DegradeOptions(), 0) is frames
    noisy = degrade(frames, 10.0, DegradeOptions(noise_sigma=0.05), 0)
    assert 0.035 < float((noisy - frames).std()) < 0.055
    assert torch.equal(noisy, degrade(frames, 10.0, DegradeOptions(noise_sigma=0.05), 0))
    blurred = degrade(frames, 10.0, DegradeOptions(blur_sigma_px=1.5), 0)
    assert float(blurred.diff(dim=2).abs().mean()) < 0.8 * float(frames.diff(dim=2).abs().mean())
    drift = degrade(frames, 10.0, DegradeOptions(color_drift=0.2), 0)
    assert torch.allclose(drift[0], frames[0]) and float((drift[-1] - frames[-1]).abs().max()) > 0.01
    shaken = degrade(frames, 10.0, DegradeOptions(camera_shake_px=2.0), 0)
    assert (
        torch.allclose(shaken[0], frames[0], atol=1e-5)
        and float((shaken[1:] - frames[1:]).abs().mean()) > 1e-3
    )
    encoded = degrade(frames, 10.0, DegradeOptions(mp4=True), 0)
    assert encoded.shape == frames.shape and 1e-4 < float((encoded - frames).abs().mean()) < 0.05


def test_appearance_drift_ramps_the_avatar_colours() -> None:
    gains = appearance_gains(DegradeOptions(appearance_drift=0.3), 11, torch.Generator().manual_seed(0))
    assert torch.equal(gains[0], torch.ones(3))
    assert 0.0 < float((gains[-1] - 1.0).abs().max()) <= 0.3
    assert torch.allclose(gains[5] - 1.0, 0.5 * (gains[-1] - 1.0))


def test_written_motions_are_replayed_from_the_cache(
    context: ScriptContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A motion is written once; the same request replays it without open3d, a different seed does not."""
    import zerohsi_core.video.scripted as scripted

    generator = ScriptedVideoGenerator().bind(context)
    first = generator.motion("lift the box", 3, N_FRAMES)

    def no_writing(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the motion should have come from the cache")

    monkeypatch.setattr(scripted, "build_motion", no_writing)
    again = generator.motion("lift the box", 3, N_FRAMES)
    assert again.name == first.name and again.object_id == first.object_id
    assert torch.equal(again.params.transl, first.params.transl)
    assert torch.equal(again.object_poses, first.object_poses)
    assert torch.equal(again.foot_contact, first.foot_contact)
    with pytest.raises(AssertionError, match="from the cache"):
        generator.motion("lift the box", 4, N_FRAMES)
