"""Batch jobs and single requests as Ray tasks (SCALE.md): one task per job pinned to `gpus_per_job` GPUs
(0 = a CPU task), progress forwarded through a Ray queue, bounded retries, resumable output roots, and a
cluster-wide bound on concurrent calls to rate-limited video APIs (an actor semaphore).

Ray is imported only here and only when a runner is used, so the rest of the core runs without it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from zerohsi_core.batch import (
    BatchJob,
    BatchSummary,
    JobOutcome,
    VideoGate,
    cached_pipeline,
    is_finished,
    is_retryable,
    run_job,
)
from zerohsi_core.config import Config
from zerohsi_core.errors import BackendError, Cancelled, ZeroHSIError
from zerohsi_core.pipeline import InteractionRequest, SequenceResult
from zerohsi_core.progress import CancelToken, ProgressCallback, ProgressEvent, report

# Backends that call a remote, rate-limited API; only their calls take a permit of the video limiter
# (Wan runs on the task's own GPU, scripted and file backends are local).
RATE_LIMITED_VIDEO_BACKENDS = frozenset({"kling"})
START = "start"  # the event a task sends when it begins, with the node and GPU it runs on
OnProgress = Callable[[str, ProgressEvent], None]
OnOutcome = Callable[[JobOutcome], None]


@dataclass(frozen=True)
class ClusterOptions:
    """Where and how tasks run; the first four fields come from the config section `cluster`."""

    ray_address: str = ""  # "" = start a local Ray instance; "auto" or "ray://host:port" = a cluster
    gpus_per_job: float = 1.0  # 0 = CPU tasks (draft profile); fractions share a GPU
    max_retries: int = 2  # retries of a job after a retryable failure
    max_concurrent_video_calls: int = 4  # permits of the video limiter (0 = unbounded)
    poll_interval_s: float = 0.2  # how often the driver collects finished tasks and progress
    progress_interval_s: float = 0.5  # a task forwards at most one event per stage in this time

    @classmethod
    def from_config(cls, cfg: Config, **changes: Any) -> ClusterOptions:
        """Options of cfg.cluster, with keyword changes (e.g. from the command line)."""
        c = cfg.cluster
        base = cls(c.ray_address, c.gpus_per_job, c.max_retries, c.max_concurrent_video_calls)
        return dataclasses.replace(base, **changes)


def connect(address: str) -> None:
    """Join the Ray cluster at `address` ("auto", "ray://host:port"), or start a local instance for "";
    nothing if this process is connected already."""
    import ray

    if ray.is_initialized():
        return
    try:
        if address:
            ray.init(address=address)
        else:
            ray.init(include_dashboard=False)
    except (
        ConnectionError,
        ValueError,
        RuntimeError,
        SystemExit,
    ) as err:  # Ray exits when GCS is unreachable
        raise BackendError(
            f"cannot connect to the Ray cluster at {address!r} ({_describe(err)}): start one with `ray start "
            "--head` (SCALE.md), check cluster.ray_address / --address, or use '' for a local instance"
        ) from err


class VideoLimiter:
    """Ray actor (async): a semaphore of permits for video-API calls, held per owner (one job attempt).
    `abandon(owner)` frees whatever a finished, failed or cancelled attempt still holds or waits for."""

    def __init__(self, permits: int) -> None:
        self._semaphore = asyncio.Semaphore(permits)
        self._held: dict[str, int] = defaultdict(int)
        self._abandoned: set[str] = set()

    async def acquire(self, owner: str) -> bool:
        if owner in self._abandoned:
            return False
        await self._semaphore.acquire()
        if owner in self._abandoned:
            self._semaphore.release()
            return False
        self._held[owner] += 1
        return True

    async def release(self, owner: str) -> None:
        if self._held[owner] > 0:
            self._held[owner] -= 1
            self._semaphore.release()

    async def abandon(self, owner: str) -> None:
        self._abandoned.add(owner)
        for _ in range(self._held.pop(owner, 0)):
            self._semaphore.release()


class _Forward:
    """Progress callback in a task: sends stage changes, stage ends and at most one event per interval to
    the driver's queue, as plain tuples (the queue's actor then never imports torch)."""

    def __init__(self, events: Any, key: str, interval_s: float) -> None:
        self.events, self.key, self.interval_s = events, key, interval_s
        self._stage, self._sent = "", 0.0

    def __call__(self, event: ProgressEvent) -> None:
        now = time.monotonic()
        if event.stage != self._stage or event.progress >= 1.0 or now - self._sent >= self.interval_s:
            # fire and forget: a blocking ray.get here would lend this task's CPU to another task
            self.events.actor.put_nowait.remote((self.key, *dataclasses.astuple(event)))
            self._stage, self._sent = event.stage, now


def _drain(events: Any) -> list[tuple[str, ProgressEvent]]:
    """Everything tasks have sent so far, as (key, event) pairs."""
    items = events.get_nowait_batch(events.qsize())
    return [(key, ProgressEvent(*fields)) for key, *fields in items]


def _gate(limiter: Any, owner: str) -> VideoGate | None:
    """A context manager factory that holds one limiter permit around each video call (None = no limit)."""
    if limiter is None:
        return None

    @contextmanager
    def permit() -> Iterator[None]:
        import ray

        if not ray.get(limiter.acquire.remote(owner)):
            raise Cancelled("the driver gave up this job while it waited for a video-API permit")
        try:
            yield
        finally:
            limiter.release.remote(owner)

    return permit


def _where() -> str:
    """Host and GPU ids of the running task."""
    import ray

    gpus = ray.get_runtime_context().get_accelerator_ids().get("GPU", [])
    return f"{socket.gethostname()} gpu {','.join(gpus)}" if gpus else f"{socket.gethostname()} cpu"


def _job_task(
    job: BatchJob, cfg: Config, out_root: str, events: Any, limiter: Any, owner: str, interval: float
) -> tuple[float, str]:
    """Ray task body of one batch job: (seconds, where it ran)."""
    where = _where()
    _Forward(events, owner, interval)(ProgressEvent(START, 0.0, message=where))
    seconds = run_job(job, cfg, Path(out_root), _Forward(events, owner, interval), _gate(limiter, owner))
    return seconds, where


def _request_task(
    request: InteractionRequest, cfg: Config, events: Any, limiter: Any, owner: str, interval: float
) -> SequenceResult:
    """Ray task body of one request (RayRunner): the SequenceResult with every tensor on the CPU."""
    pipeline = cached_pipeline(cfg)
    pipeline.video_gate = _gate(limiter, owner) or nullcontext
    return to_cpu(pipeline.run(request, progress=_Forward(events, owner, interval)))


def to_cpu(value: Any) -> Any:
    """The same structure (dataclasses, lists, tuples, dicts) with every tensor detached on the CPU."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: to_cpu(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        return dataclasses.replace(value, **fields)
    if isinstance(value, list | tuple):
        return type(value)(to_cpu(v) for v in value)
    if isinstance(value, dict):
        return {k: to_cpu(v) for k, v in value.items()}
    return value


def task_config(cfg: Config, options: ClusterOptions) -> Config:
    """The config a task runs with: CPU tasks (gpus_per_job 0) never touch a GPU."""
    return dataclasses.replace(cfg, device="cpu") if options.gpus_per_job <= 0 else cfg


def _remote(fn: Callable[..., Any], options: ClusterOptions) -> Any:
    """`fn` as a Ray task: our own retries (reported), a fresh process per GPU task (clean device and
    memory), reused processes for CPU tasks (the pipeline's models stay loaded)."""
    import ray

    gpu = options.gpus_per_job > 0
    return ray.remote(
        num_gpus=options.gpus_per_job, max_calls=1 if gpu else 0, max_retries=0, retry_exceptions=False
    )(fn)


def _actors(cfg: Config, options: ClusterOptions) -> tuple[Any, Any]:
    """The progress queue, and the video limiter when the backend is rate limited and a bound is set."""
    import ray
    from ray.util.queue import Queue

    events = Queue(actor_options={"num_cpus": 0})
    limited = cfg.video.backend in RATE_LIMITED_VIDEO_BACKENDS and options.max_concurrent_video_calls > 0
    limiter = (
        ray.remote(num_cpus=0)(VideoLimiter).remote(options.max_concurrent_video_calls) if limited else None
    )
    return events, limiter


def _shutdown(events: Any, limiter: Any) -> None:
    import ray

    events.shutdown(force=True)
    if limiter is not None:
        ray.kill(limiter)


def _cause(error: BaseException) -> BaseException:
    """The exception raised inside a task (Ray wraps it), or the Ray error itself (crash, OOM, lost node)."""
    cause = getattr(error, "cause", None)
    return cause if isinstance(cause, Exception) else error


def _describe(error: BaseException) -> str:
    text = str(error) if isinstance(error, ZeroHSIError) else f"{type(error).__name__}: {error}"
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


def run_batch(
    jobs: list[BatchJob],
    cfg: Config,
    out_root: str | Path,
    options: ClusterOptions | None = None,
    on_progress: OnProgress | None = None,
    on_outcome: OnOutcome | None = None,
) -> BatchSummary:
    """Run every unfinished job as a Ray task, retry retryable failures up to options.max_retries times,
    skip finished ones; write and return the summary (one outcome per unique job, in order)."""
    options = options or ClusterOptions.from_config(cfg)
    start = time.perf_counter()
    root = Path(out_root).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    unique = list({job.job_id: job for job in jobs}.values())
    outcomes: dict[str, JobOutcome] = {}
    pending = []
    for job in unique:
        if is_finished(root, job):
            outcomes[job.job_id] = JobOutcome(job.job_id, "skipped")
            if on_outcome is not None:
                on_outcome(outcomes[job.job_id])
        else:
            pending.append(job)
    if pending:
        _run_pending(pending, task_config(cfg, options), root, options, outcomes, on_progress, on_outcome)
    summary = BatchSummary([outcomes[job.job_id] for job in unique], time.perf_counter() - start)
    summary.write(root)
    return summary


def _run_pending(
    pending: list[BatchJob],
    cfg: Config,
    root: Path,
    options: ClusterOptions,
    outcomes: dict[str, JobOutcome],
    on_progress: OnProgress | None,
    on_outcome: OnOutcome | None,
) -> None:
    import ray

    connect(options.ray_address)
    task = _remote(_job_task, options)
    events, limiter = _actors(cfg, options)
    attempts: dict[str, int] = defaultdict(int)
    running: dict[Any, tuple[BatchJob, str]] = {}
    started: dict[str, float] = {}

    def submit(job: BatchJob) -> None:
        attempts[job.job_id] += 1
        owner = f"{job.job_id}#{attempts[job.job_id]}"
        started[owner] = time.perf_counter()
        running[task.remote(job, cfg, str(root), events, limiter, owner, options.progress_interval_s)] = (
            job,
            owner,
        )

    def forward_progress() -> None:
        for owner, event in _drain(events):
            if event.stage == START:
                started[owner] = time.perf_counter()
            if on_progress is not None:
                on_progress(owner.rpartition("#")[0], event)

    for job in pending:
        submit(job)
    try:
        while running:
            ready, _ = ray.wait(list(running), num_returns=len(running), timeout=options.poll_interval_s)
            forward_progress()
            for ref in ready:
                job, owner = running.pop(ref)
                if limiter is not None:
                    limiter.abandon.remote(owner)
                n = attempts[job.job_id]
                try:
                    seconds, where = ray.get(ref)
                    outcome = JobOutcome(job.job_id, "done", n, seconds, where)
                except Exception as err:
                    cause = _cause(err)
                    if is_retryable(cause) and n <= options.max_retries:
                        submit(job)
                        continue
                    seconds = time.perf_counter() - started[owner]
                    outcome = JobOutcome(job.job_id, "failed", n, seconds, _describe(cause))
                outcomes[job.job_id] = outcome
                if on_outcome is not None:
                    on_outcome(outcome)
    finally:
        for ref in running:
            ray.cancel(ref)
        _shutdown(events, limiter)


class RayRunner:
    """`Pipeline.run` on a Ray cluster: the request runs as one task, progress comes back through an
    actor, cancel is `ray.cancel` of the task (for hsi_server with cluster.ray_address set)."""

    def __init__(self, cfg: Config, options: ClusterOptions | None = None) -> None:
        self.options = options or ClusterOptions.from_config(cfg)
        self.cfg = task_config(cfg, self.options)
        connect(self.options.ray_address)
        self._task = _remote(_request_task, self.options)

    def run(
        self,
        request: InteractionRequest,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> SequenceResult:
        """Same contract as Pipeline.run: core errors raised as themselves, Cancelled on cancel."""
        import ray

        events, limiter = _actors(self.cfg, self.options)
        owner = uuid.uuid4().hex
        ref = self._task.remote(request, self.cfg, events, limiter, owner, self.options.progress_interval_s)
        try:
            while True:
                ready, _ = ray.wait([ref], timeout=self.options.poll_interval_s)
                for _, event in _drain(events):
                    report(progress, event)
                if ready:
                    break
                if cancel is not None and cancel.cancelled:
                    ray.cancel(ref)  # KeyboardInterrupt inside the task: it stops within its current step
                    raise Cancelled("cancelled by the caller (the Ray task was cancelled)")
            try:
                return ray.get(ref)
            except Exception as err:
                cause = _cause(err)
                if isinstance(cause, ZeroHSIError):
                    raise cause from None
                raise BackendError(f"the Ray task failed: {_describe(cause)}") from err
        finally:
            _shutdown(events, limiter)
