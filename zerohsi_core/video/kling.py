"""`kling` backend: the KLING image-to-video HTTP API (create a task, poll it, download the MP4).

Requests carry a fresh HS256 JWT (`kling_auth`). Transient failures (HTTP 429 rate limits, 5xx, connection
errors, truncated downloads) are retried a bounded number of times with exponential back-off and jitter,
honouring Retry-After; authentication, quota, invalid-request and moderation errors are not retried and
raise BackendError saying which it was. KLING has no seed parameter: `seed` is accepted and ignored.
"""

from __future__ import annotations

import base64
import email.utils
import io
import logging
import random
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import torch

from zerohsi_core.config import Config
from zerohsi_core.errors import AssetError, BackendError
from zerohsi_core.io.video import read_video
from zerohsi_core.progress import CancelToken, ProgressCallback, ProgressEvent, check, report
from zerohsi_core.video.base import (
    STAGE,
    GeneratedVideo,
    frame_to_image,
    options_from_config,
    validate_request,
)
from zerohsi_core.video.kling_auth import (
    ACCESS_ENV,
    KEY_FILE_SETTING,
    SECRET_ENV,
    KlingKeys,
    encode_jwt,
    load_keys,
)
from zerohsi_core.video.registry import VIDEO_BACKENDS
from zerohsi_core.video.resample import conform

log = logging.getLogger(__name__)

ENDPOINT = "/v1/videos/image2video"
JWT_PATTERN = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")  # any JWT, redacted from messages
CANCEL_CHECK_S = 0.1  # longest sleep between two cancel checks while polling or backing off
MAX_SERVER_MESSAGE = 300  # characters of a server's error message quoted in ours
PROGRESS_POLL_START, PROGRESS_POLL_END = 0.05, 0.9  # share of the stage spent waiting for the task
# KLING service codes (API reference, "Error Code"): which ones are worth retrying and what the others mean.
RETRYABLE_CODES = frozenset({1302, 1303, 5000, 5001, 5002})  # request rate, concurrency, server errors
CODE_RANGES = (
    (
        1000,
        1099,
        f"authentication failed: check {ACCESS_ENV}/{SECRET_ENV} or {KEY_FILE_SETTING} and the clock",
    ),
    (
        1100,
        1103,
        "account or quota problem (account suspended, in arrears, resource pack used up or no access "
        "to this model): check the KLING account",
    ),
    (1200, 1299, "request rejected as invalid: check video.kling_model, mode, duration and the image size"),
    (1300, 1301, "rejected by content moderation: change the prompt or the first frame"),
    (1302, 1303, "rate limit: too many requests or concurrent tasks"),
    (1304, 1304, "this machine's IP address is not on the account's whitelist"),
    (5000, 5999, "KLING server error"),
)

T = TypeVar("T")


@dataclass(frozen=True)
class KlingOptions:
    """Endpoint, generation parameters and timing of the KLING client; field f comes from video.kling_<f>."""

    base_url: str = "https://api-singapore.klingai.com"
    model: str = "kling-v1"
    key_file: str = ""
    mode: str = "std"  # std | pro
    duration: str = "5"  # seconds of video: "5" | "10" (5 s → 153 frames at 30 fps, Sec. 3.2)
    cfg_scale: float = 0.5  # KLING's default prompt adherence, in [0, 1]
    negative_prompt: str = ""
    poll_interval_s: float = 5.0
    deadline_s: float = 900.0  # give up on a task that has not finished after this long
    max_retries: int = 4  # extra attempts per request after the first
    backoff_s: float = 1.0  # first retry delay; doubles per attempt, with jitter
    backoff_max_s: float = 60.0  # cap on a retry delay, Retry-After included
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    max_download_bytes: int = 1 << 30
    token_ttl_s: float = 1800.0  # JWT validity (exp = now + ttl)
    token_skew_s: float = 5.0  # JWT nbf = now − skew


class _RetryableError(Exception):
    """An attempt failed in a way worth repeating."""

    def __init__(self, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.retry_after_s = reason, retry_after_s


class KlingClient:
    """The task cycle's three calls over httpx, with retries; `http`, `sleep` and the clock are injectable."""

    def __init__(
        self,
        options: KlingOptions,
        keys: KlingKeys,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.options, self._keys = options, keys
        self._owns_http = http is None
        self._http = http or httpx.Client()
        self._sleep, self._clock = sleep, clock
        self._rng = rng or random.Random()
        self._timeout = httpx.Timeout(options.read_timeout_s, connect=options.connect_timeout_s)
        self._endpoint = options.base_url.rstrip("/") + ENDPOINT

    def close(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owns_http:
            self._http.close()

    def create_task(self, image_png: bytes, prompt: str, cancel: CancelToken | None = None) -> str:
        """POST the first frame (base64 PNG) and the prompt; returns the task id."""
        body: dict[str, Any] = {
            "model_name": self.options.model,
            "image": base64.b64encode(image_png).decode("ascii"),
            "prompt": prompt,
            "cfg_scale": self.options.cfg_scale,
            "mode": self.options.mode,
            "duration": self.options.duration,
        }
        if self.options.negative_prompt:
            body["negative_prompt"] = self.options.negative_prompt
        data = self._retrying("create task", lambda: self._api("POST", self._endpoint, body), cancel)
        task_id = data.get("task_id")
        if not isinstance(task_id, str) or not task_id:
            raise BackendError(f"KLING create task: the answer has no data.task_id (got keys {sorted(data)})")
        log.info("KLING task %s created (%s, %s)", task_id, self.options.model, self.options.mode)
        return task_id

    def wait_for_video(
        self, task_id: str, progress: ProgressCallback | None = None, cancel: CancelToken | None = None
    ) -> str:
        """Poll the task until it succeeds (→ video URL), fails or runs past the deadline (BackendError)."""
        start, url, last_status = self._clock(), f"{self._endpoint}/{task_id}", ""
        while True:
            check(cancel)
            data = self._retrying(f"poll task {task_id}", lambda: self._api("GET", url), cancel)
            status, elapsed = str(data.get("task_status", "")), self._clock() - start
            if status != last_status:
                log.info("KLING task %s: %s after %.0f s", task_id, status, elapsed)
                last_status = status
            share = min(1.0, elapsed / self.options.deadline_s)
            fraction = PROGRESS_POLL_START + (PROGRESS_POLL_END - PROGRESS_POLL_START) * share
            report(progress, ProgressEvent(STAGE, fraction, message=f"KLING task {task_id}: {status}"))
            if status == "succeed":
                return self._video_url(data, task_id)
            if status == "failed":
                reason = self._quote(str(data.get("task_status_msg") or "no reason given"))
                raise BackendError(f"KLING task {task_id} failed: {reason}")
            if elapsed + self.options.poll_interval_s > self.options.deadline_s:
                raise BackendError(
                    f"KLING task {task_id} did not finish: still {status!r} after {elapsed:.1f} s "
                    f"(deadline {self.options.deadline_s:g} s, video.kling_deadline_s)"
                )
            self._pause(self.options.poll_interval_s, cancel)

    def download(self, url: str, task_id: str, cancel: CancelToken | None = None) -> bytes:
        """GET the finished video (no Authorization header: the URL is a storage link, not the API)."""
        return self._retrying(f"download the video of task {task_id}", lambda: self._fetch(url), cancel)

    def _retrying(self, action: str, attempt: Callable[[], T], cancel: CancelToken | None) -> T:
        """Run `attempt`, repeating transient failures up to max_retries times with back-off."""
        attempts = self.options.max_retries + 1
        for number in range(1, attempts + 1):
            try:
                return attempt()
            except httpx.TransportError as err:
                failure = _RetryableError(f"connection error ({type(err).__name__}: {err})")
            except _RetryableError as err:
                failure = err
            if number == attempts:
                break
            delay = failure.retry_after_s if failure.retry_after_s is not None else self._backoff(number)
            delay = min(delay, self.options.backoff_max_s)
            log.warning(
                "KLING %s: %s; retry %d of %d in %.1f s",
                action,
                self._quote(failure.reason),
                number,
                self.options.max_retries,
                delay,
            )
            self._pause(delay, cancel)
        raise BackendError(f"KLING {action} failed after {attempts} attempts: {self._quote(failure.reason)}")

    def _pause(self, seconds: float, cancel: CancelToken | None) -> None:
        """Sleep, in slices of at most CANCEL_CHECK_S when cancellable, so a cancel ends the wait promptly."""
        if cancel is None:
            self._sleep(seconds)
            return
        while seconds > 0:
            check(cancel)
            step = min(seconds, CANCEL_CHECK_S)
            self._sleep(step)
            seconds -= step
        check(cancel)

    def _backoff(self, number: int) -> float:
        """Exponential back-off with equal jitter: half the step fixed, half random."""
        step = min(self.options.backoff_max_s, self.options.backoff_s * 2.0 ** (number - 1))
        return step * (0.5 + 0.5 * self._rng.random())

    def _api(self, method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One authenticated API call → the envelope's `data`; _RetryableError or BackendError on failure."""
        token = encode_jwt(self._keys, time.time(), self.options.token_ttl_s, self.options.token_skew_s)
        response = self._http.request(
            method, url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=self._timeout
        )
        try:
            envelope = response.json()
        except ValueError:
            envelope = None
        if not isinstance(envelope, dict):
            envelope = {}
        code = envelope.get("code")
        if response.is_success and code == 0:
            data = envelope.get("data")
            if not isinstance(data, dict):
                raise BackendError(f"KLING {method} {url}: the answer has no data object")
            return data
        described = self._describe(response.status_code, code, envelope.get("message"))
        if isinstance(code, int) and code != 0:  # the service code decides: 429 also means "quota used up"
            retryable = code in RETRYABLE_CODES
        else:
            retryable = response.status_code == httpx.codes.TOO_MANY_REQUESTS or response.status_code >= 500
        if retryable:
            raise _RetryableError(described, self._retry_after(response))
        raise BackendError(f"KLING {method} {url}: {described}")

    def _fetch(self, url: str) -> bytes:
        """Stream a download, bounded in size; _RetryableError on 429/5xx."""
        with self._http.stream("GET", url, timeout=self._timeout, follow_redirects=True) as response:
            if response.status_code == httpx.codes.TOO_MANY_REQUESTS or response.status_code >= 500:
                raise _RetryableError(f"HTTP {response.status_code}", self._retry_after(response))
            if not response.is_success:
                raise BackendError(f"KLING video download: HTTP {response.status_code}")
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.options.max_download_bytes:
                    raise BackendError(
                        f"KLING video download exceeds {self.options.max_download_bytes} bytes"
                    )
                chunks.append(chunk)
        return b"".join(chunks)

    def _describe(self, status: int, code: object, message: object) -> str:
        """What a failed answer means, for the user: category, HTTP status, service code, server message."""
        category = f"HTTP {status}"
        if isinstance(code, int):
            category = next((text for low, high, text in CODE_RANGES if low <= code <= high), category)
        elif status in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
            category = CODE_RANGES[0][2]
        server = self._quote(str(message)) if message else "no message"
        return f"{category} (HTTP {status}, code {code}: {server})"

    def _retry_after(self, response: httpx.Response) -> float | None:
        """Seconds asked for by a Retry-After header (delta seconds or an HTTP date), if any."""
        value = response.headers.get("Retry-After")
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())

    def _video_url(self, data: dict[str, Any], task_id: str) -> str:
        try:
            url = data["task_result"]["videos"][0]["url"]
        except (KeyError, IndexError, TypeError):
            raise BackendError(
                f"KLING task {task_id} succeeded but has no task_result.videos[0].url"
            ) from None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise BackendError(f"KLING task {task_id} returned an invalid video URL")
        return url

    def _quote(self, text: str) -> str:
        """A server or library message, shortened and with every key and JWT removed."""
        return JWT_PATTERN.sub("***", self._keys.redact(text))[:MAX_SERVER_MESSAGE]


class KlingVideoGenerator:
    """Image-to-video through the KLING API; the MP4 (30 fps) is decoded and conformed to the clip."""

    name = "kling"

    def __init__(self, client: KlingClient) -> None:
        self.client = client

    def generate(
        self,
        first_frame: torch.Tensor,  # [H, W, 3] float in [0, 1]
        prompt: str,
        seed: int,
        n_frames: int,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> GeneratedVideo:
        """Create a task, wait for it, download and decode the video, conform it to n_frames × H × W."""
        validate_request(first_frame, prompt, n_frames)
        check(cancel)
        report(progress, ProgressEvent(STAGE, 0.0, message="KLING: creating the task"))
        png = io.BytesIO()
        frame_to_image(first_frame).save(png, format="PNG")
        task_id = self.client.create_task(png.getvalue(), prompt, cancel)
        url = self.client.wait_for_video(task_id, progress, cancel)
        report(
            progress, ProgressEvent(STAGE, PROGRESS_POLL_END, message=f"KLING task {task_id}: downloading")
        )
        frames, fps = _decode(self.client.download(url, task_id, cancel), task_id)
        check(cancel)
        clip, fps_out = conform(frames, fps, n_frames, first_frame.shape[0], first_frame.shape[1])
        report(progress, ProgressEvent(STAGE, 1.0, message=f"KLING task {task_id}: {len(frames)} frames"))
        meta = {"task_id": task_id, "model": self.client.options.model, "source_fps": fps}
        return GeneratedVideo(clip, fps_out, self.name, len(frames), meta)


def _decode(data: bytes, task_id: str) -> tuple[Any, float]:
    """Frames [T,H,W,3] uint8 and fps of downloaded MP4 bytes; BackendError if they are not a video."""
    with tempfile.TemporaryDirectory(prefix="zerohsi-kling-") as folder:
        path = Path(folder) / f"{task_id}.mp4"
        path.write_bytes(data)
        try:
            frames, fps = read_video(path)
        except AssetError as err:
            raise BackendError(
                f"KLING task {task_id}: the downloaded video ({len(data)} bytes) is broken: {err}"
            ) from None
    if fps <= 0:
        raise BackendError(f"KLING task {task_id}: the downloaded video has no frame rate")
    return frames, fps


@VIDEO_BACKENDS.register("kling")
def build_kling_generator(cfg: Config) -> KlingVideoGenerator:
    """The `kling` backend: options from `video.kling_*`, keys from the key file or the environment."""
    options = options_from_config(KlingOptions, cfg.video, "kling_")
    return KlingVideoGenerator(KlingClient(options, load_keys(options.key_file)))
