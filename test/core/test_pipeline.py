"""The pipeline end to end at tiny sizes: stages report, chaining continues exactly, cancel is prompt."""

import pytest
import torch
from core.tiny import TINY

from zerohsi_core.config import load_config
from zerohsi_core.errors import Cancelled, InputError
from zerohsi_core.io.results import read_result, write_result
from zerohsi_core.pipeline import STAGES, InteractionRequest, Pipeline
from zerohsi_core.progress import CancelToken, ProgressEvent


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline(load_config(profile="draft", overrides=TINY), device="cpu")


def test_chained_clips_continue_from_the_last_state(pipeline: Pipeline, tmp_path) -> None:
    events: list[ProgressEvent] = []
    request = InteractionRequest(["lift the box", "carry the box to the table"], "living_room_lift", "box")
    result = pipeline.run(request, progress=events.append)
    first, second = result.clips
    assert {e.stage for e in events} >= set(STAGES)
    assert all(e.message.startswith("clip ") for e in events if e.stage == "hsi")
    for name in ("transl", "global_orient", "body_pose", "betas"):  # App. C.7: last state → next start
        assert torch.equal(getattr(second.raw_params, name)[0], getattr(first.params, name)[-1]), name
    assert torch.allclose(second.object_poses[0], first.object_poses[-1].to(second.object_poses))
    assert result.joints.shape == (6, 55, 3) and torch.isfinite(result.joints).all()
    assert {"mpjpe_mm", "object_cm", "camera_cm"} <= set(first.errors)
    out = write_result(result, pipeline.cfg, tmp_path / "res")
    meta, motion = read_result(out)
    assert meta["prompts"] == list(request.prompts) and motion["joints"].shape == (6, 55, 3)
    assert motion["object_poses"].shape == (6, 4, 4) and motion["clip"].tolist() == [0, 0, 0, 1, 1, 1]


def test_cancel_stops_within_one_iteration(pipeline: Pipeline) -> None:
    token = CancelToken()
    seen: list[ProgressEvent] = []

    def on_event(event: ProgressEvent) -> None:
        seen.append(event)
        if event.stage == "tracking":
            token.cancel()

    with pytest.raises(Cancelled):
        pipeline.run(InteractionRequest(["sit on the sofa"], "living_room"), on_event, token)
    after = seen[[e.stage for e in seen].index("tracking") + 1 :]
    assert not any(e.stage in ("hsi", "refinement") for e in after)
    assert len([e for e in after if e.stage == "tracking"]) == 0  # the next frame never finished


def test_bad_requests(pipeline: Pipeline) -> None:
    with pytest.raises(InputError, match="no prompt"):
        pipeline.run(InteractionRequest([]))
    with pytest.raises(InputError, match="not in scene"):
        pipeline.run(InteractionRequest(["lift the box"], "living_room", "piano"))


def test_a_request_does_not_depend_on_the_requests_before_it(pipeline: Pipeline) -> None:
    """HSI fine-tunes the avatar's colour network; the next request starts from the loaded avatar again."""
    before = {k: v.clone() for k, v in pipeline.avatar.state_dict().items()}
    request = InteractionRequest(["The person is sitting on the sofa."], "living_room", seed=5)
    first = pipeline.run(request).clips[0]
    assert all(torch.equal(v, pipeline.avatar.state_dict()[k]) for k, v in before.items())
    again = pipeline.run(request).clips[0]
    assert torch.equal(first.raw_params.body_pose, again.raw_params.body_pose)
    assert torch.equal(first.joints, again.joints)


def test_track_ahead_reconstructs_the_same_clip(pipeline: Pipeline, monkeypatch) -> None:
    """speed.track_ahead (tracking in a background thread, overlapping HSI; on by default on CUDA) gives the
    sequential path's cameras, bodies and object poses, and reports every tracked frame."""
    request = InteractionRequest(["lift the box"], "living_room_lift", "box", seed=3)
    plain = pipeline.run(request).clips[0]
    events: list[ProgressEvent] = []
    monkeypatch.setattr(Pipeline, "_tracks_ahead", lambda self, frames: True)
    ahead = pipeline.run(request, progress=events.append).clips[0]
    assert [e.frame for e in events if e.stage == "tracking"] == [1, 2]
    for mine, theirs in zip(ahead.cameras, plain.cameras, strict=True):
        assert torch.equal(mine.world_to_cam, theirs.world_to_cam)
    assert torch.equal(ahead.raw_params.body_pose, plain.raw_params.body_pose)
    assert torch.equal(ahead.object_poses, plain.object_poses) and torch.equal(ahead.joints, plain.joints)
    assert ahead.timings["reconstruction"] <= sum(ahead.timings[k] for k in ("tracking", "hsi", "refinement"))


def test_stage_clock_laps_are_consecutive_wall_times() -> None:
    import time

    from zerohsi_core.device import StageClock

    clock = StageClock(torch.device("cpu"))
    time.sleep(0.05)
    clock.lap("first")
    clock.lap("second")
    assert 0.04 < clock.laps["first"] < 1.0 and 0.0 <= clock.laps["second"] < 0.04
