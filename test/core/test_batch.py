"""Batches: job files expand and validate without Ray; a 6-job batch on a local Ray instance (CPU, tiny
sizes) writes 5 results, reports 1 failure, and a second run adds nothing."""

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
import ray
import torch
import typer
import yaml
from core.tiny import TINY
from typer.testing import CliRunner

from zerohsi_core.batch import (
    BatchJob,
    GatedPipeline,
    JobFileError,
    is_retryable,
    job_request,
    load_jobs,
    parse_jobs,
)
from zerohsi_core.batch_ray import START, ClusterOptions, RayRunner, VideoLimiter, run_batch
from zerohsi_core.body.model import BodyModelOptions, load_body_model
from zerohsi_core.body.standin import ensure_standin_model
from zerohsi_core.cli_batch import register
from zerohsi_core.config import load_config, package_config_dir
from zerohsi_core.errors import BackendError, Cancelled, InputError
from zerohsi_core.pipeline import STAGES, InteractionRequest, Pipeline
from zerohsi_core.progress import CancelToken, ProgressEvent
from zerohsi_core.scene.registry import list_scenes

SIT = "The person is sitting on the sofa."
# TINY and fewer views, frames and iterations: each clip ~2 s on one core (a batch job does the same work)
FAST = [
    *TINY,
    "video.num_frames=2",
    "video.source_frames=4",
    "view.num_azimuth=4",
    "view.elevations_deg=[0.0]",
    "tracking.iters=1",
    "hsi.iters=2",
    "refine.iters=2",
]


def test_product_expands_in_order_with_chains_states_and_seed_counts() -> None:
    doc = {
        "initial_states": {"sofa": {"xy": [1.3, -0.75], "yaw": 3.0}},
        "defaults": {"num_frames": 4},
        "jobs": [
            {
                "scenes": ["living_room", "garden"],
                "prompts": [SIT, ["lift the box", "carry the box"]],
                "initial_states": ["default", "sofa"],
                "seeds": 2,
            },
            {
                "scene": "living_room_lift",
                "object": "box",
                "object_pose": [1, 0, 0, 0, 0, 0, 1],
                "prompt": "x",
            },
            {"scene": "garden", "prompt": SIT, "seed": 1},  # already in the product: dropped
        ],
    }
    jobs = parse_jobs(doc)
    assert len(jobs) == 2 * 2 * 2 * 2 + 1
    first = jobs[0]
    assert first == BatchJob("living_room", (SIT,), 0, num_frames=4)
    assert jobs[1].seed == 1 and jobs[2].prompts == ("lift the box", "carry the box")
    assert jobs[4].start_xy == (1.3, -0.75) and jobs[4].start_yaw == 3.0 and jobs[8].scene_id == "garden"
    assert jobs[-1].object_id == "box" and jobs[-1].object_pose == (1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)
    assert len({j.job_id for j in jobs}) == len(jobs)
    # the id is a content hash (sha256), the same in every process and run
    assert first.job_id == "living_room-the_person_is_sitting_on_the_sofa-s0-" + first.job_id[-12:]
    assert [j.job_id for j in parse_jobs(doc)] == [j.job_id for j in jobs]
    assert (
        BatchJob("living_room", (SIT,), 0).job_id
        == "living_room-the_person_is_sitting_on_the_sofa-s0-f67bc99b30dd"
    )


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([1], "expected a mapping"),
        ({"jobs": []}, "non-empty list"),
        ({"jobs": [{"scene": "garden", "promt": "x"}]}, r"jobs\[0\]: unknown key\(s\) \['promt'\]"),
        ({"jobs": [{"scene": "garden"}]}, "needs 'scene'"),
        ({"jobs": [{"scene": "garden", "scenes": ["garden"], "prompt": "x"}]}, "either 'scene' or 'scenes'"),
        ({"jobs": [{"scene": "garden", "prompt": "x", "object_pose": [0, 0, 0]}]}, "object_pose: expected 7"),
        ({"jobs": [{"scene": "garden", "prompt": "x", "object_pose": [0, 0, 0, 0, 0, 0, 1]}]}, "no object"),
        ({"jobs": [{"scene": "garden", "prompt": "x", "initial_state": "bench"}]}, "unknown initial state"),
        ({"jobs": [{"scene": "garden", "prompt": "x", "initial_state": {"xy": [0, 0]}}]}, "needs 'xy"),
        ({"jobs": [{"scene": "garden", "prompt": "x", "seeds": [0, -1]}]}, "seed: expected an integer"),
        ({"jobs": [{"scene": "garden", "prompt": ""}]}, "non-empty string"),
        ({"jobs": [{"scene": "garden", "prompt": "x", "num_frames": True}]}, "num_frames"),
        ({"jobs": [{"scene": "moon", "prompt": "x"}]}, "unknown scene 'moon'"),
    ],
)
def test_invalid_job_files_name_the_entry_and_key(doc: object, message: str) -> None:
    with pytest.raises(JobFileError, match=message):
        parse_jobs(doc, "jobs.yaml", known_scenes=["garden", "living_room"])


def test_job_files_on_disk(tmp_path: Path) -> None:
    example = load_jobs(package_config_dir() / "jobs.example.yaml", list_scenes())
    assert len(example) > 1
    (tmp_path / "bad.yaml").write_text("jobs: [\n")
    with pytest.raises(JobFileError, match="not valid YAML"):
        load_jobs(tmp_path / "bad.yaml")
    with pytest.raises(JobFileError, match="cannot read"):
        load_jobs(tmp_path / "missing.yaml")


def test_only_transient_failures_are_retried() -> None:
    assert not is_retryable(InputError("unknown object")) and not is_retryable(Cancelled())
    assert is_retryable(BackendError("KLING 5xx")) and is_retryable(RuntimeError("CUDA out of memory"))


def test_video_limiter_bounds_permits_and_frees_abandoned_owners() -> None:
    async def scenario() -> list[object]:
        limiter = VideoLimiter(2)
        assert await limiter.acquire("a#1") and await limiter.acquire("b#1")
        waiting = asyncio.ensure_future(limiter.acquire("c#1"))
        await asyncio.sleep(0.01)
        blocked = not waiting.done()
        await limiter.abandon("a#1")  # a crashed holder's permit goes to the waiter
        got = await asyncio.wait_for(waiting, 1.0)
        await limiter.release("b#1")
        await limiter.release("b#1")  # a second release of the same owner frees nothing more
        return [blocked, got, await limiter.acquire("a#1"), limiter._semaphore._value]

    assert asyncio.run(scenario()) == [True, True, False, 1]


def test_gated_pipeline_holds_the_permit_only_around_the_video_call(monkeypatch) -> None:
    log: list[str] = []

    @contextmanager
    def gate() -> Iterator[None]:
        log.append("acquire")
        try:
            yield
        finally:
            log.append("release")

    def video(self: Pipeline, *args: object) -> str:
        log.append(f"video{args}")
        return "clip"

    monkeypatch.setattr(Pipeline, "_video", video)
    pipeline = GatedPipeline.__new__(GatedPipeline)  # no models needed to check the wrapper
    pipeline.video_gate = gate
    assert pipeline._video(1, 2) == "clip" and log == ["acquire", "video(1, 2)", "release"]
    monkeypatch.setattr(Pipeline, "_video", lambda self, *a: (_ for _ in ()).throw(BackendError("HTTP 429")))
    with pytest.raises(BackendError):
        pipeline._video()
    assert log[-1] == "release"  # a failed call gives its permit back


def test_job_request_places_the_human_where_the_job_says() -> None:
    body = load_body_model(BodyModelOptions(model_path=str(ensure_standin_model())))
    job = BatchJob(
        "living_room_lift", ("lift the box",), 3, "box", (1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0), (1.0, -0.5), 1.0
    )
    request = job_request(job, SimpleNamespace(body=body))
    pelvis = body.forward(request.initial_params).joints[0, 0]  # [3]
    assert torch.allclose(pelvis[:2], torch.tensor([1.0, -0.5], dtype=pelvis.dtype), atol=1e-5)
    assert request.object_pose[:3, 3].tolist() == [1.0, 0.0, 0.0] and request.seed == 3
    assert job_request(BatchJob("garden", ("x",)), SimpleNamespace(body=body)).initial_params is None


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, num_gpus=0, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_batch_on_ray_is_resumable_and_reports_failures(local_ray, tmp_path: Path) -> None:
    cfg = load_config(profile="draft", overrides=FAST)
    jobs_file = tmp_path / "jobs.yaml"
    jobs_file.write_text(
        yaml.safe_dump(
            {
                "jobs": [
                    {"scene": "living_room", "prompt": SIT, "seeds": 5},
                    {"scene": "living_room_lift", "object": "piano", "prompt": "lift the piano"},
                ]
            }
        )
    )
    jobs = load_jobs(jobs_file)
    options = ClusterOptions(gpus_per_job=0, max_retries=1, poll_interval_s=0.05)
    events: dict[str, set[str]] = {}
    summary = run_batch(
        jobs, cfg, tmp_path / "out", options, lambda j, e: events.setdefault(j, set()).add(e.stage)
    )
    status = {o.job_id: o for o in summary.outcomes}
    assert summary.count("done") == 5 and summary.count("failed") == 1, summary.outcomes
    failed = status[jobs[-1].job_id]
    assert failed.status == "failed" and failed.attempts == 1 and "piano" in failed.message  # not retried
    folders = sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_dir())
    assert folders == sorted(j.job_id for j in jobs[:5])
    for job in jobs[:5]:
        meta = json.loads((tmp_path / "out" / job.job_id / "result.json").read_text())
        assert meta["seed"] == job.seed and meta["clips"][0]["frames"] == 2
        assert json.loads((tmp_path / "out" / job.job_id / "job.json").read_text())["seed"] == job.seed
        assert {START, *STAGES} <= events[job.job_id]
        assert status[job.job_id].attempts == 1 and status[job.job_id].message.endswith("cpu")
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "out").glob("*/result.json")}

    app = typer_app()
    out = CliRunner().invoke(
        app, ["batch", str(jobs_file), "--gpus-per-job", "0", "--out", str(tmp_path / "out"), *_sets()]
    )
    assert out.exit_code == 1, out.output  # the failed job fails again
    again = json.loads((tmp_path / "out" / "batch_summary.json").read_text())["outcomes"]
    assert [o["status"] for o in again] == ["skipped"] * 5 + ["failed"]
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "out").glob("*/result.json")} == stamps
    assert len([p for p in (tmp_path / "out").iterdir() if p.is_dir()]) == 5


def test_ray_runner_matches_pipeline_run(local_ray) -> None:
    cfg = load_config(profile="draft", overrides=FAST)
    runner = RayRunner(cfg, ClusterOptions(gpus_per_job=0, poll_interval_s=0.05))
    stages: list[str] = []
    result = runner.run(InteractionRequest([SIT], "living_room"), progress=lambda e: stages.append(e.stage))
    assert set(STAGES) <= set(stages) and START not in stages
    assert result.joints.shape == (2, 55, 3) and result.joints.device.type == "cpu"
    with pytest.raises(InputError, match="piano"):  # the task's own error, not Ray's wrapper
        runner.run(InteractionRequest(["lift"], "living_room_lift", "piano"))
    token, seen = CancelToken(), []

    def cancel_at_tracking(event: ProgressEvent) -> None:
        seen.append(event.stage)
        if event.stage == "tracking":
            token.cancel()

    start = time.perf_counter()
    with pytest.raises(Cancelled):
        runner.run(InteractionRequest([SIT], "living_room", seed=1), cancel_at_tracking, token)
    assert "tracking" in seen and "refinement" not in seen and time.perf_counter() - start < 30


def typer_app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # a second command keeps `batch` a named subcommand
    return app


def _sets() -> list[str]:
    return [arg for item in FAST for arg in ("--set", item)]
