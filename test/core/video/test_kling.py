"""The KLING client against a local fake server over real HTTP: success and every documented failure."""

from __future__ import annotations

import dataclasses
import logging
import random
import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from fake_kling import FakeKling, Reply

from zerohsi_core.config import Config, apply_overrides
from zerohsi_core.errors import BackendError, Cancelled, InputError
from zerohsi_core.io.video import write_video
from zerohsi_core.progress import CancelToken, ProgressEvent
from zerohsi_core.video.kling import KlingClient, KlingOptions, KlingVideoGenerator
from zerohsi_core.video.kling_auth import KlingKeys
from zerohsi_core.video.registry import create_video_generator

ACCESS, SECRET = "AKplantedACCESS7f3c91", "SKplantedSECRET0d2e84b6"
SOURCE_FRAMES, SOURCE_FPS = 30, 30.0


def _level(index: int) -> int:
    """Grey level of source frame `index` (lets a test tell which source frames were picked)."""
    return 20 + 7 * index


class FakeTime:
    """A clock that moves only when the client sleeps (so time-outs take no real time)."""

    def __init__(self) -> None:
        self.now, self.sleeps = 0.0, []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def video_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    frames = np.stack([np.full((48, 64, 3), _level(i), np.uint8) for i in range(SOURCE_FRAMES)])
    path = write_video(frames, tmp_path_factory.mktemp("kling") / "clip.mp4", SOURCE_FPS)
    return path.read_bytes()


@pytest.fixture
def fake(video_bytes: bytes) -> Iterator[FakeKling]:
    with FakeKling(ACCESS, SECRET, video_bytes) as server:
        yield server


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def _client(fake: FakeKling, fake_time: FakeTime, **overrides: object) -> KlingClient:
    options = KlingOptions(
        base_url=fake.url,
        poll_interval_s=1.0,
        deadline_s=10.0,
        max_retries=2,
        backoff_s=0.5,
        backoff_max_s=8.0,
        connect_timeout_s=1.0,
        read_timeout_s=2.0,
    )
    options = dataclasses.replace(options, **overrides)
    return KlingClient(
        options, KlingKeys(ACCESS, SECRET), sleep=fake_time.sleep, clock=fake_time.clock, rng=random.Random(0)
    )


def _generate(client: KlingClient, n_frames: int = 10, **kwargs: object):
    first = torch.rand(24, 32, 3, generator=torch.Generator().manual_seed(1))
    return KlingVideoGenerator(client).generate(first, "a person sits on the sofa", 0, n_frames, **kwargs)


def test_success_resamples_the_whole_clip_and_authenticates_every_api_call(fake, fake_time) -> None:
    events: list[ProgressEvent] = []
    video = _generate(_client(fake, fake_time), progress=events.append)
    assert video.frames.shape == (10, 24, 32, 3) and video.frames.dtype == torch.float32
    assert video.source_frames == SOURCE_FRAMES and video.fps == pytest.approx(10.0)  # 10 · 30 / 30
    assert video.backend == "kling" and video.meta["task_id"] == "task-1"
    picked = video.frames.mean(dim=(1, 2, 3)) * 255  # frame i shows source frame 3i
    expected = torch.tensor([_level(3 * i) for i in range(10)], dtype=torch.float32)
    assert torch.allclose(picked, expected, atol=3.0)
    api = [s for s in fake.seen if not s.path.startswith("/files/")]
    assert len(api) == 4 and all(s.authorization.startswith("Bearer ") for s in api)  # create + 3 polls
    body = api[0].body
    assert (body["model_name"], body["mode"], body["duration"], body["prompt"]) == (
        "kling-v1",
        "std",
        "5",
        "a person sits on the sofa",
    )
    download = [s for s in fake.seen if s.path.startswith("/files/")]
    assert len(download) == 1 and download[0].authorization is None  # the JWT never goes to the storage host
    assert fake_time.sleeps == [1.0, 1.0]  # between the three polls
    assert [e.progress for e in events] == sorted(e.progress for e in events) and events[-1].progress == 1.0
    assert any("processing" in e.message for e in events)


def test_401_is_reported_as_authentication_and_not_retried(fake, fake_time) -> None:
    client = KlingClient(
        KlingOptions(base_url=fake.url), KlingKeys(ACCESS, "wrong-secret"), sleep=fake_time.sleep
    )
    with pytest.raises(BackendError, match="authentication failed.*HTTP 401, code 1002.*bad signature"):
        _generate(client)
    assert fake.count("POST", "/v1") == 1 and fake_time.sleeps == []


def test_429_honours_retry_after(fake, fake_time) -> None:
    fake.script.create = [Reply(429, {"code": 1302, "message": "too fast"}, {"Retry-After": "3"})]
    video = _generate(_client(fake, fake_time))
    assert fake.count("POST", "/v1") == 2 and fake_time.sleeps[0] == 3.0
    assert video.num_frames == 10


def test_429_quota_is_not_retried(fake, fake_time) -> None:
    fake.script.create = [Reply(429, {"code": 1102, "message": "resource pack depleted"})]
    with pytest.raises(BackendError, match="quota.*code 1102"):
        _generate(_client(fake, fake_time))
    assert fake.count("POST", "/v1") == 1


def test_500_then_success_backs_off_with_jitter(fake, fake_time) -> None:
    fake.script.create = [Reply(500, {"code": 5000, "message": "internal"}), Reply(503, b"<html>down</html>")]
    fake.script.download_replies = [Reply(503, b"busy", {"Retry-After": "2"})]
    _generate(_client(fake, fake_time))
    assert fake.count("POST", "/v1") == 3 and fake.count("GET", "/files") == 2
    first, second = fake_time.sleeps[:2]  # backoff_s · 2^(k−1), halved to fully jittered
    assert 0.25 <= first <= 0.5 and 0.5 <= second <= 1.0
    assert fake_time.sleeps[2:] == [1.0, 1.0, 2.0]  # two poll intervals, then the download's Retry-After


def test_500_forever_gives_up_after_the_retry_budget(fake, fake_time) -> None:
    fake.script.poll = [Reply(502, b"bad gateway")] * 3
    with pytest.raises(BackendError, match="poll task task-1 failed after 3 attempts: HTTP 502"):
        _generate(_client(fake, fake_time))


def test_failed_task_reports_the_reason(fake, fake_time) -> None:
    fake.script.statuses = ["processing", "failed"]
    with pytest.raises(BackendError, match="KLING task task-1 failed: content risk detected"):
        _generate(_client(fake, fake_time))


def test_task_that_never_finishes_times_out(fake, fake_time) -> None:
    fake.script.statuses = ["processing"]
    with pytest.raises(BackendError, match=r"task task-1 did not finish: still 'processing' after 10\.0 s"):
        _generate(_client(fake, fake_time))
    assert fake.count("GET", "/v1") == 11  # polls at t = 0, 1, …, 10


@pytest.mark.parametrize(
    ("mode", "match"), [("truncated", "RemoteProtocolError"), ("garbage", "broken"), ("half", "broken")]
)
def test_broken_download(fake, fake_time, mode: str, match: str) -> None:
    fake.script.download = mode
    with pytest.raises(BackendError, match=match):
        _generate(_client(fake, fake_time))


def test_moderation_and_invalid_request_are_told_apart(fake, fake_time) -> None:
    fake.script.create = [Reply(200, {"code": 1301, "message": "content security policy"})]
    with pytest.raises(BackendError, match="content moderation"):
        _generate(_client(fake, fake_time))
    with pytest.raises(BackendError, match="invalid.*code 1201: cfg_scale"):
        _generate(_client(fake, fake_time, cfg_scale=2.0))  # the fake validates the documented fields
    assert fake_time.sleeps == []


def test_connection_errors_and_read_timeouts_are_retried(fake, fake_time, caplog) -> None:
    fake.script.poll = [Reply(200, {}, delay_s=1.5)]
    video = _generate(_client(fake, fake_time, read_timeout_s=0.5))
    assert video.num_frames == 10 and "poll task task-1: connection error (ReadTimeout" in caplog.text
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    client = _client(fake, fake_time, base_url=f"http://127.0.0.1:{closed_port}")
    with pytest.raises(
        BackendError, match="create task failed after 3 attempts: connection error.*ConnectError"
    ):
        _generate(client)


def test_cancel_while_polling(fake, fake_time) -> None:
    fake.script.statuses = ["processing"]
    token = CancelToken()
    with pytest.raises(Cancelled):
        _generate(
            _client(fake, fake_time),
            progress=lambda e: "processing" in e.message and token.cancel(),
            cancel=token,
        )
    assert fake.count("GET", "/v1") == 1 and fake.count("GET", "/files") == 0


def test_keys_and_tokens_never_appear_in_errors_or_logs(fake, fake_time, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    fake.script.echo_auth = True  # a server that quotes our credentials back
    failures = []
    scenarios = [
        lambda: _generate(KlingClient(KlingOptions(base_url=fake.url), KlingKeys(ACCESS, "x" * 12))),
        lambda: _generate(_client(fake, fake_time, cfg_scale=5.0)),
        lambda: setattr(fake.script, "create", [Reply(500, {"code": 5000, "message": f"key {SECRET}"})] * 3),
        lambda: _generate(_client(fake, fake_time)),
    ]
    for scenario in scenarios:
        try:
            scenario()
        except BackendError as err:
            failures.append(f"{err} {err!r}")
    assert len(failures) == 3
    text = " ".join(failures) + caplog.text + repr(KlingKeys(ACCESS, SECRET))
    assert "received" in text  # the echoed messages were quoted, with the secrets removed
    assert ACCESS not in text and SECRET not in text and "eyJ" not in text


def test_registry_builds_kling_from_config_and_env(fake, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KLING_ACCESS_KEY", ACCESS)
    monkeypatch.setenv("KLING_SECRET_KEY", SECRET)
    cfg = apply_overrides(Config(), {"video.kling_base_url": fake.url, "video.kling_model": "kling-v1-6"})
    generator = create_video_generator("kling", cfg)
    assert generator.client.options.model == "kling-v1-6" and generator.client.options.base_url == fake.url
    generator.client._sleep = lambda s: None  # the default 5 s poll interval would slow the test
    video = generator.generate(torch.full((16, 16, 3), 0.5), "wave", 0, 5)
    assert video.frames.shape == (5, 16, 16, 3) and fake.seen[0].body["model_name"] == "kling-v1-6"
    monkeypatch.delenv("KLING_SECRET_KEY")
    with pytest.raises(BackendError, match="KLING_ACCESS_KEY and KLING_SECRET_KEY.*video.kling_key_file"):
        create_video_generator("kling", cfg)


def test_requests_are_validated_before_any_call(fake, fake_time) -> None:
    with pytest.raises(InputError, match="prompt is empty"):
        KlingVideoGenerator(_client(fake, fake_time)).generate(torch.zeros(8, 8, 3), "  ", 0, 10)
    assert fake.seen == []
