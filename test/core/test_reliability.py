"""The bad-input matrix through the core (Pipeline.run) and the CLI: every case ends in its specific error,
and the same pipeline (and CLI) then serves a good request. Cases are listed in docs/RELIABILITY.md."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from core.test_reliability_data import BAD_SCENES, BOX_POSE, make_bad_data
from core.tiny import TINY, with_overrides
from core.video.fake_kling import FakeKling, Reply, Script, grey_clip

import zerohsi_core.pipeline as pipeline_module
from zerohsi_core import cli, errors
from zerohsi_core.config import load_config
from zerohsi_core.errors import AssetError, BackendError, ConfigError, InputError
from zerohsi_core.pipeline import InteractionRequest, Pipeline
from zerohsi_core.segment.base import VideoMasks
from zerohsi_core.segment.registry import create_segmenter
from zerohsi_core.video.base import GeneratedVideo

ACCESS, SECRET = "AKreliabilityACCESS51", "SKreliabilitySECRET93"
KLING = [
    "video.kling_max_retries=1",
    "video.kling_backoff_s=0.01",
    "video.kling_poll_interval_s=0.02",
    "video.kling_read_timeout_s=0.5",
    "video.kling_connect_timeout_s=0.5",
]


@pytest.fixture(scope="module")
def bad_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_bad_data(tmp_path_factory.mktemp("reliability"))


@pytest.fixture(scope="module")
def pipeline(bad_data: tuple[Path, Path]) -> Pipeline:
    root, registry = bad_data
    overrides = [*TINY, f"scene.registry={registry}", f"paths.data_roots=[{root}]"]
    return Pipeline(load_config(profile="draft", overrides=overrides), device="cpu")


@pytest.fixture(scope="module")
def fake_kling(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeKling]:
    video = grey_clip(tmp_path_factory.mktemp("kling") / "clip.mp4")
    with FakeKling(ACCESS, SECRET, video) as server:
        yield server


def _human(pipeline: Pipeline, **changes: torch.Tensor):
    scene = pipeline.load_scene("living_room")
    return dataclasses.replace(pipeline.default_human(scene), **changes)


def _pose(x: float = 0.85, scale: float = 1.0, nan: bool = False) -> torch.Tensor:
    pose = torch.eye(4, dtype=torch.float64)
    pose[:3, :3] *= scale
    pose[:3, 3] = torch.tensor([x, -1.4, 0.0])
    if nan:
        pose[0, 3] = math.nan
    return pose


REQ = InteractionRequest
LIFT = {"scene_id": "living_room_lift", "object_id": "box"}
# id → (request maker (pipeline → request), config overrides, exception, message words)
CASES: dict[str, tuple[Callable[[Pipeline], InteractionRequest], tuple[str, ...], type, str]] = {
    **{
        f"scene_{sid}": (lambda p, s=sid: REQ(["sit on the sofa"], s), (), getattr(errors, kind), words)
        for sid, (kind, words) in BAD_SCENES.items()
    },
    "unknown_scene": (
        lambda p: REQ(["sit on the sofa"], "atlantis"),
        (),
        InputError,
        "unknown scene 'atlantis'",
    ),
    "unknown_object": (
        lambda p: REQ(["sit on the sofa"], "living_room", "piano"),
        (),
        InputError,
        "not in scene",
    ),
    "unknown_video_backend": (
        lambda p: REQ(["sit on the sofa"]),
        ("video.backend=nope",),
        BackendError,
        "nope",
    ),
    "unknown_segment_backend": (
        lambda p: REQ(["sit on the sofa"]),
        ("segment.backend=nope",),
        BackendError,
        "nope",
    ),
    "object_pose_nan": (lambda p: REQ(["lift"], **LIFT, object_pose=_pose(nan=True)), (), InputError, "NaN"),
    "object_pose_not_rigid": (
        lambda p: REQ(["lift"], **LIFT, object_pose=_pose(scale=2.0)),
        (),
        InputError,
        "not a rigid",
    ),
    "object_pose_far_away": (
        lambda p: REQ(["lift"], **LIFT, object_pose=_pose(x=500.0)),
        (),
        InputError,
        "outside scene",
    ),
    "object_pose_without_object": (
        lambda p: REQ(["sit on the sofa"], "living_room", object_pose=_pose()),
        (),
        InputError,
        "without an object id",
    ),
    "initial_nan": (
        lambda p: REQ(["sit on the sofa"], initial_params=_human(p, transl=torch.full((1, 3), math.nan))),
        (),
        InputError,
        "transl contains NaN",
    ),
    "initial_wrong_shape": (
        lambda p: REQ(["sit on the sofa"], initial_params=_human(p, body_pose=torch.zeros(1, 20, 3))),
        (),
        InputError,
        "body_pose must have shape",
    ),
    "initial_two_frames": (
        lambda p: REQ(["sit on the sofa"], initial_params=type(_human(p)).cat([_human(p), _human(p)])),
        (),
        InputError,
        "one frame",
    ),
    "initial_far_away": (
        lambda p: REQ(
            ["sit on the sofa"], initial_params=_human(p, transl=torch.tensor([[0.0, 900.0, 1.0]]))
        ),
        (),
        InputError,
        "initial human position",
    ),
    "no_prompt": (lambda p: REQ([]), (), InputError, "no prompt"),
    "blank_prompt": (lambda p: REQ(["   "]), (), InputError, "prompt 0: prompt is empty"),
    "prompt_10kB": (lambda p: REQ(["sit " * 2500]), (), InputError, "at most 2000"),
    "prompt_not_utf8": (lambda p: REQ(["sit \udcff"]), (), InputError, "not valid UTF-8"),
    "frames_1": (lambda p: REQ(["sit on the sofa"], num_frames=1), (), InputError, "num_frames"),
    "frames_1e6": (lambda p: REQ(["sit on the sofa"], num_frames=10**6), (), InputError, "1000000"),
    "config_frames_1": (
        lambda p: REQ(["sit on the sofa"]),
        ("video.num_frames=1",),
        ConfigError,
        "video.num_frames",
    ),
    "fps_0": (lambda p: REQ(["sit on the sofa"]), ("video.fps=0",), ConfigError, "video.fps"),
    "fps_negative": (lambda p: REQ(["sit on the sofa"]), ("video.fps=-10",), ConfigError, "video.fps"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_request_ends_in_its_specific_error(pipeline: Pipeline, case: str) -> None:
    make, overrides, kind, words = CASES[case]
    with pytest.raises(kind, match=None) as caught:
        with_overrides(pipeline, *overrides).run(make(pipeline))  # InteractionRequest itself may raise too
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_unreadable_ply_is_an_asset_error(pipeline: Pipeline, monkeypatch) -> None:
    real_open = Path.open

    def deny(self: Path, *args, **kwargs):
        if self.name == "good.ply":
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", deny)
    with pytest.raises(AssetError, match="cannot read PLY file .*Permission denied"):
        pipeline.run(REQ(["sit on the sofa"], "mesh_missing"))


KLING_FAILURES = {
    "401": (dict(create=[Reply(401, {"code": 1002, "message": "bad token"})]), "authentication failed"),
    "429": (dict(create=[Reply(429, {"code": 1302, "message": "slow down"})] * 2), "rate limit"),
    "500": (dict(create=[Reply(500, {"code": 5000, "message": "oops"})] * 2), "KLING server error"),
    "timeout": (dict(create=[Reply(200, {"code": 0}, delay_s=1.0)] * 2), "ReadTimeout"),
    "garbage_body": (dict(create=[Reply(200, b"<html>not json")]), "HTTP 200"),
    "garbage_video": (dict(download="garbage"), "is broken"),
}


@pytest.mark.parametrize("case", sorted(KLING_FAILURES))
def test_video_api_failures_are_backend_errors(pipeline, fake_kling, monkeypatch, case: str) -> None:
    script, words = KLING_FAILURES[case]
    monkeypatch.setenv("KLING_ACCESS_KEY", ACCESS)
    monkeypatch.setenv("KLING_SECRET_KEY", SECRET)
    fake_kling.script = Script(**script)
    kling = with_overrides(pipeline, "video.backend=kling", f"video.kling_base_url={fake_kling.url}", *KLING)
    with pytest.raises(BackendError, match="KLING") as caught:
        kling.run(REQ(["sit on the sofa"], "living_room"))
    assert words in str(caught.value) and ACCESS not in str(caught.value)


class _ScriptedBackend:
    """Wraps the configured backends and spoils their output the way a test asks."""

    def __init__(self, pipeline: Pipeline, spoil_video=None, spoil_masks=None) -> None:
        self.pipeline, self.spoil_video, self.spoil_masks = pipeline, spoil_video, spoil_masks

    def install(self, monkeypatch) -> None:
        real_video, real_segmenter = pipeline_module.create_video_generator, create_segmenter
        outer = self

        class Video:
            def __init__(self, inner):
                self.inner, self.name = inner, inner.name

            def bind(self, context):
                return Video(self.inner.bind(context))

            def generate(self, *args, **kwargs) -> GeneratedVideo:
                return outer.spoil_video(self.inner.generate(*args, **kwargs))

        class Segmenter:
            def __init__(self, inner):
                self.inner = inner

            def segment(self, *args, **kwargs) -> VideoMasks:
                masks = self.inner.segment(*args, **kwargs)
                return VideoMasks(outer.spoil_masks(masks.human), masks.object, "sam2")

        if self.spoil_video is not None:
            monkeypatch.setattr(pipeline_module, "SceneBoundGenerator", Video)
            monkeypatch.setattr(pipeline_module, "create_video_generator", lambda *a: Video(real_video(*a)))
        if self.spoil_masks is not None:
            monkeypatch.setattr(pipeline_module, "create_segmenter", lambda *a: Segmenter(real_segmenter(*a)))


def test_video_with_zero_frames(pipeline: Pipeline, monkeypatch) -> None:
    def empty(video: GeneratedVideo) -> GeneratedVideo:
        return dataclasses.replace(video, frames=video.frames[:0])

    _ScriptedBackend(pipeline, spoil_video=empty).install(monkeypatch)
    with pytest.raises(BackendError, match="returned a video with 0 frames"):
        pipeline.run(REQ(["sit on the sofa"], "living_room"))


def test_video_of_the_wrong_size(pipeline: Pipeline, monkeypatch) -> None:
    def small(video: GeneratedVideo) -> GeneratedVideo:
        return dataclasses.replace(video, frames=video.frames[:, :40, :30].contiguous())

    _ScriptedBackend(pipeline, spoil_video=small).install(monkeypatch)
    with pytest.raises(InputError, match=r"frames are \(40, 30\)"):
        pipeline.run(REQ(["sit on the sofa"], "living_room"))


def test_segmenter_returning_empty_masks(pipeline: Pipeline, monkeypatch) -> None:
    _ScriptedBackend(pipeline, spoil_masks=torch.zeros_like).install(monkeypatch)
    with pytest.raises(BackendError, match="found the human in none of the 3 frames"):
        pipeline.run(REQ(["sit on the sofa"], "living_room"))


def test_gpu_out_of_memory_aborts_cleanly_then_serves(pipeline: Pipeline, monkeypatch) -> None:
    def oom(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB\nmore detail")

    with monkeypatch.context() as patch:
        patch.setattr(pipeline_module, "track_camera", oom)
        with pytest.raises(BackendError, match=r"out of cpu memory \(CUDA out of memory.*GiB\): lower"):
            pipeline.run(REQ(["sit on the sofa"], "living_room"))


def test_human_leaving_the_frame_still_reconstructs(pipeline: Pipeline, monkeypatch) -> None:
    """Frames where the person has left the image are carried through (the last frame's mask is empty)."""

    def leave(human: torch.Tensor) -> torch.Tensor:
        human = human.clone()
        human[-1] = 0.0
        return human

    _ScriptedBackend(pipeline, spoil_masks=leave).install(monkeypatch)
    result = pipeline.run(REQ(["sit on the sofa"], "living_room"))
    assert result.joints.shape == (3, 55, 3) and torch.isfinite(result.joints).all()
    step = (result.joints[-1] - result.joints[-2]).norm(dim=-1).max()
    assert float(step) < 0.5  # the lost frame stays next to its neighbour, it does not fly away


def _cli(capsys, *args: str) -> tuple[int, str]:
    code = cli.main(list(args))
    return code, capsys.readouterr().err


def _sets(pipeline: Pipeline, bad_data: tuple[Path, Path]) -> list[str]:
    root, registry = bad_data
    items = [*TINY, f"scene.registry={registry}", f"paths.data_roots=[{root}]"]
    return [arg for item in items for arg in ("--set", item)]


CLI_CASES = {
    "unknown_scene": (["--scene", "atlantis"], "unknown scene 'atlantis'"),
    "garbage_ply": (["--scene", "ply_garbage"], "not a valid PLY"),
    "path_escape": (["--scene", "path_escape"], "outside the data roots"),
    "symlink_escape": (["--scene", "symlink_escape"], "outside the data roots"),
    "empty_prompt": (["--prompt", ""], "prompt 0: prompt is empty"),
    "prompt_10kB": (["--prompt", "x" * 10_000], "at most 2000"),
    "prompt_not_utf8": (["--prompt", "sit \udcff"], "not valid UTF-8"),
    "frames_1": (["--frames", "1"], "num_frames"),
    "frames_1e6": (["--frames", "1000000"], "1000000"),
    "fps_0": (["--set", "video.fps=0"], "video.fps must be a positive"),
    "unknown_backend": (["--set", "video.backend=nope"], "nope"),
    "unknown_config_key": (["--set", "render.widht=5"], "render.widht"),
    "pose_nan": (["--scene", "living_room_lift", "--object", "box", "--pose", "nan 0 0 0 0 0 1"], "finite"),
    "pose_zero_quaternion": (
        ["--scene", "living_room_lift", "--object", "box", "--pose", "0.85 -1.4 0 0 0 0 0"],
        "zero quaternion",
    ),
    "pose_garbage": (["--scene", "living_room_lift", "--object", "box", "--pose", "a b c"], "seven numbers"),
    "pose_far_away": (
        ["--scene", "living_room_lift", "--object", "box", "--pose", "0.85 400 0 0 0 0 1"],
        "outside scene",
    ),
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_cli_bad_input_exits_2_with_the_reason(pipeline, bad_data, capsys, tmp_path, case: str) -> None:
    args, words = CLI_CASES[case]
    extra = [] if "--prompt" in args else ["--prompt", "sit on the sofa"]
    code, err = _cli(
        capsys, "generate", *extra, *args, *_sets(pipeline, bad_data), "--out", str(tmp_path / "r")
    )
    assert code == 2 and err.count("error:") == 1, err
    assert words in " ".join(err.split("error:")[1].split()), err  # rich wraps lines at the terminal width
    assert not (tmp_path / "r").exists()


def test_after_the_matrix_the_same_pipeline_and_cli_serve_good_requests(
    pipeline: Pipeline, bad_data, capsys, tmp_path
) -> None:
    """Also: num_frames 0 means the configured count; a non-unit quaternion is normalised (as tf2 does)."""
    result = pipeline.run(REQ(["sit on the sofa"], "living_room", num_frames=0))
    assert result.joints.shape == (3, 55, 3) and torch.isfinite(result.joints).all()
    pose = " ".join(str(v) for v in [*BOX_POSE[:3], 0.0, 0.0, 0.0, 2.0])
    args = ["generate", "--prompt", "lift the box", "--scene", "living_room_lift", "--object", "box"]
    code, err = _cli(capsys, *args, "--pose", pose, *_sets(pipeline, bad_data), "--out", str(tmp_path / "r"))
    assert code == 0, err
    poses = np.load(tmp_path / "r" / "motion.npz")["object_poses"]
    assert np.allclose(poses[0][:3, :3], np.eye(3), atol=0.05)  # unit rotation, not scaled by |q|² = 4
