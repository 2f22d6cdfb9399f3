"""Batches of interactions: job files (scenes × objects × initial states × prompts × seeds), their expansion
into jobs with deterministic ids, the per-job work a cluster task does, and the outcome summary.

A job file is YAML (config/jobs.example.yaml):
  initial_states: {name: {xy: [x, y], yaw: radians}}   # optional named starting states
  defaults: {num_frames: 8}                             # optional, merged into every entry
  jobs:                                                 # entries; plural keys form a product
    - scene | scenes, object | objects, object_pose, initial_state | initial_states,
      prompt | prompts, seed | seeds, num_frames
A prompt is a string or a list of strings (a chain of clips, App. C.7); `seeds: N` means seeds 0..N−1.
The Ray runner that executes jobs on a cluster is `zerohsi_core.batch_ray` (SCALE.md).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from zerohsi_core.body.pose import arms_down_pose, standing_params
from zerohsi_core.config import Config
from zerohsi_core.errors import AssetError, Cancelled, ConfigError, InputError
from zerohsi_core.io.results import write_result
from zerohsi_core.pipeline import InteractionRequest, Pipeline
from zerohsi_core.progress import ProgressCallback
from zerohsi_core.scene.object import pose_from_xyz_quat
from zerohsi_core.video.base import GeneratedVideo

JOB_ID_VERSION = 1  # part of the hashed content: bump when a job's meaning changes
SLUG_CHARS = 40  # characters of the first prompt kept in a job id
HASH_CHARS = 12  # hex digits of the content hash kept in a job id
JOB_FILE = "job.json"  # written beside result.json; both present = the job is finished
SUMMARY_FILE = "batch_summary.json"
DEFAULT_STATE = "default"  # the scene's configured human start
# Errors that fail the same way on every attempt: retrying them only wastes GPU time.
PERMANENT_ERRORS: tuple[type[Exception], ...] = (InputError, ConfigError, AssetError, Cancelled)
ENTRY_KEYS = {
    "scene": "scenes",
    "object": "objects",
    "initial_state": "initial_states",
    "prompt": "prompts",
    "seed": "seeds",
}
SINGLE_KEYS = {"object_pose", "num_frames"}


class JobFileError(InputError):
    """A job file is unreadable or holds an invalid entry (the message names the file and entry)."""


@dataclass(frozen=True)
class BatchJob:
    """One interaction to synthesise: the content that its id hashes."""

    scene_id: str
    prompts: tuple[str, ...]  # chained clips
    seed: int = 0
    object_id: str = ""
    object_pose: tuple[float, ...] | None = None  # [x, y, z, qx, qy, qz, qw]; None = the scene's
    start_xy: tuple[float, float] | None = None  # standing here, facing start_yaw; None = scene start
    start_yaw: float = 0.0  # radians, 0 = world +x
    num_frames: int = 0  # per clip; 0 = config video.num_frames

    @property
    def job_id(self) -> str:
        """Readable and deterministic: scene, first prompt, seed and a hash of the whole content."""
        content = json.dumps({"v": JOB_ID_VERSION, **asdict(self)}, sort_keys=True)
        digest = hashlib.sha256(content.encode()).hexdigest()[:HASH_CHARS]
        words = re.sub(r"[^a-z0-9]+", "_", self.prompts[0].lower()).strip("_")[:SLUG_CHARS].rstrip("_")
        return f"{self.scene_id}-{words}-s{self.seed}-{digest}"


@dataclass(frozen=True)
class JobOutcome:
    """What happened to one job in a batch run."""

    job_id: str
    status: Literal["done", "failed", "skipped"]
    attempts: int = 0
    seconds: float = 0.0  # of the last attempt
    message: str = ""  # the error of a failed job; the node of a done one


@dataclass(frozen=True)
class BatchSummary:
    """All outcomes of a run, in job order, and its wall time."""

    outcomes: list[JobOutcome]
    seconds: float

    def count(self, status: str) -> int:
        """Jobs with this status."""
        return sum(o.status == status for o in self.outcomes)

    def write(self, out_root: Path) -> Path:
        """batch_summary.json in the output root (replaced atomically)."""
        path = Path(out_root) / SUMMARY_FILE
        staging = path.with_suffix(".tmp")
        data = {"seconds": self.seconds, "outcomes": [asdict(o) for o in self.outcomes]}
        staging.write_text(json.dumps(data, indent=2))
        staging.replace(path)
        return path


def is_retryable(error: BaseException) -> bool:
    """Worker crashes, out-of-memory and backend failures may pass on a retry; bad input never does."""
    return not isinstance(error, PERMANENT_ERRORS)


def is_finished(out_root: Path, job: BatchJob) -> bool:
    """The job's result directory is complete (written atomically, then job.json beside it)."""
    folder = Path(out_root) / job.job_id
    return (folder / "result.json").is_file() and (folder / JOB_FILE).is_file()


def load_jobs(path: str | Path, known_scenes: Sequence[str] | None = None) -> list[BatchJob]:
    """Read, validate and expand a job file; JobFileError naming the entry and key on any mistake."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as err:
        raise JobFileError(f"cannot read job file {path}: {err.strerror}") from err
    except yaml.YAMLError as err:
        raise JobFileError(f"job file {path} is not valid YAML: {err}") from err
    return parse_jobs(data, str(path), known_scenes)


def parse_jobs(
    data: Any, where: str = "job file", known_scenes: Sequence[str] | None = None
) -> list[BatchJob]:
    """Expand a job file's contents into unique jobs, in file order (duplicates of the product dropped)."""
    top = _mapping(data, where)
    _allowed(top, {"jobs", "defaults", "initial_states"}, where)
    states = {
        name: _state(spec, f"{where}: initial_states.{name}")
        for name, spec in _mapping(top.get("initial_states", {}), f"{where}: initial_states").items()
    }
    defaults = dict(_mapping(top.get("defaults", {}), f"{where}: defaults"))
    entries = top.get("jobs")
    if not isinstance(entries, list) or not entries:
        raise JobFileError(f"{where}: 'jobs' must be a non-empty list of entries")
    jobs: dict[str, BatchJob] = {}
    for i, entry in enumerate(entries):
        label = f"{where}: jobs[{i}]"
        for job in _expand({**defaults, **_mapping(entry, label)}, states, label):
            if known_scenes is not None and job.scene_id not in known_scenes:
                raise JobFileError(f"{label}: unknown scene {job.scene_id!r}; known: {sorted(known_scenes)}")
            jobs.setdefault(job.job_id, job)
    return list(jobs.values())


def _expand(entry: Mapping[str, Any], states: Mapping[str, tuple], label: str) -> Iterator[BatchJob]:
    _allowed(entry, set(ENTRY_KEYS) | set(ENTRY_KEYS.values()) | SINGLE_KEYS, label)
    axes = {one: _axis(entry, one, many, label) for one, many in ENTRY_KEYS.items()}
    if axes["scene"] is None or axes["prompt"] is None:
        raise JobFileError(f"{label}: needs 'scene' (or 'scenes') and 'prompt' (or 'prompts')")
    pose = entry.get("object_pose")
    pose = _numbers(pose, 7, f"{label}: object_pose") if pose is not None else None
    frames = _int(entry.get("num_frames", 0), f"{label}: num_frames")
    seeds = axes["seed"] if axes["seed"] is not None else [0]
    if isinstance(seeds, int):  # `seeds: N`
        seeds = list(range(_int(seeds, f"{label}: seeds")))
    for scene, obj, state, prompt, seed in itertools.product(
        [_text(s, f"{label}: scene") for s in axes["scene"]],
        [_object(o, pose, f"{label}: object") for o in axes["object"] or [""]],
        [_named_state(s, states, f"{label}: initial_state") for s in axes["initial_state"] or [None]],
        [_prompt(p, f"{label}: prompt") for p in axes["prompt"]],
        [_int(s, f"{label}: seed") for s in seeds],
    ):
        yield BatchJob(scene, prompt, seed, obj[0], obj[1], state[0], state[1], frames)


def _axis(entry: Mapping[str, Any], one: str, many: str, label: str) -> list[Any] | int | None:
    if one in entry and many in entry:
        raise JobFileError(f"{label}: give either {one!r} or {many!r}, not both")
    if many in entry:
        values = entry[many]
        if isinstance(values, int) and many == "seeds":
            return values  # a count, expanded by the caller
        if not isinstance(values, list) or not values:
            raise JobFileError(f"{label}: {many!r} must be a non-empty list, got {values!r}")
        return values
    return [entry[one]] if one in entry else None


def _object(spec: Any, pose: tuple[float, ...] | None, label: str) -> tuple[str, tuple[float, ...] | None]:
    if isinstance(spec, Mapping):
        _allowed(spec, {"id", "pose"}, label)
        own = spec.get("pose")
        return _text(spec.get("id"), f"{label}.id"), _numbers(own, 7, f"{label}.pose") if own else pose
    name = "" if spec is None else _text(spec, label, empty=True)
    if pose is not None and not name:
        raise JobFileError(f"{label}: 'object_pose' is given but no object")
    return name, pose


def _named_state(spec: Any, states: Mapping[str, tuple], label: str) -> tuple:
    if isinstance(spec, str) and spec != DEFAULT_STATE:
        if spec not in states:
            raise JobFileError(f"{label}: unknown initial state {spec!r}; defined: {sorted(states)}")
        return states[spec]
    return _state(spec, label)  # inline, None or "default"


def _state(spec: Any, label: str) -> tuple[tuple[float, float] | None, float]:
    if spec is None or spec == DEFAULT_STATE:
        return (None, 0.0)
    fields = _mapping(spec, label)
    _allowed(fields, {"xy", "yaw"}, label)
    if "xy" not in fields or "yaw" not in fields:
        raise JobFileError(f"{label}: an initial state needs 'xy: [x, y]' and 'yaw' (radians), or 'default'")
    x, y = _numbers(fields["xy"], 2, f"{label}.xy")
    return (x, y), _numbers([fields["yaw"]], 1, f"{label}.yaw")[0]


def _prompt(spec: Any, label: str) -> tuple[str, ...]:
    chain = spec if isinstance(spec, list) else [spec]
    if not chain:
        raise JobFileError(f"{label}: an empty chain of prompts")
    return tuple(_text(p, label) for p in chain)


def _mapping(value: Any, label: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise JobFileError(f"{label}: expected a mapping, got {type(value).__name__} {value!r}")
    return value


def _allowed(value: Mapping[str, Any], keys: set[str], label: str) -> None:
    unknown = sorted(set(value) - keys)
    if unknown:
        raise JobFileError(f"{label}: unknown key(s) {unknown}; allowed: {sorted(keys)}")


def _text(value: Any, label: str, empty: bool = False) -> str:
    if not isinstance(value, str) or not (empty or value.strip()):
        raise JobFileError(f"{label}: expected a non-empty string, got {value!r}")
    return value.strip()


def _int(value: Any, label: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise JobFileError(f"{label}: expected an integer ≥ 0, got {value!r}")
    return value


def _numbers(value: Any, n: int, label: str) -> tuple[float, ...]:
    ok = isinstance(value, list) and len(value) == n
    if not ok or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        raise JobFileError(f"{label}: expected {n} numbers, got {value!r}")
    if not all(math.isfinite(v) for v in value):
        raise JobFileError(f"{label}: numbers must be finite, got {value!r}")
    return tuple(float(v) for v in value)


VideoGate = Callable[[], AbstractContextManager[object]]


def run_job(
    job: BatchJob,
    cfg: Config,
    out_root: Path,
    progress: ProgressCallback | None = None,
    video_gate: VideoGate | None = None,
) -> float:
    """Synthesise one job and write its result directory atomically (the work of one cluster task);
    returns its seconds. `video_gate` is entered around each video-backend call (rate limits)."""
    start = time.perf_counter()
    pipeline = cached_pipeline(cfg)
    pipeline.video_gate = video_gate or nullcontext
    sequence = pipeline.run(job_request(job, pipeline), progress=progress)
    folder = write_result(sequence, cfg, Path(out_root) / job.job_id)
    (folder / JOB_FILE).write_text(json.dumps({"job_id": job.job_id, **asdict(job)}, indent=2))
    return time.perf_counter() - start


def job_request(job: BatchJob, pipeline: Pipeline) -> InteractionRequest:
    """The InteractionRequest of a job (a standing start when the job gives one)."""
    pose = pose_from_xyz_quat(job.object_pose, "object_pose") if job.object_pose else None
    human = None
    if job.start_xy is not None:
        human = standing_params(pipeline.body, job.start_xy, job.start_yaw, body_pose=arms_down_pose())
    return InteractionRequest(job.prompts, job.scene_id, job.object_id, pose, human, job.num_frames, job.seed)


class GatedPipeline(Pipeline):
    """A Pipeline whose video-backend calls run inside `video_gate()` (a cluster-wide permit for
    rate-limited APIs, SCALE.md); every other stage runs unchanged."""

    video_gate: VideoGate = nullcontext

    def _video(self, *args: Any, **kwargs: Any) -> GeneratedVideo:
        with self.video_gate():
            return super()._video(*args, **kwargs)


_CACHE: dict[str, GatedPipeline] = {}  # per worker process: the last config's pipeline (models load once)


def cached_pipeline(cfg: Config) -> GatedPipeline:
    """A GatedPipeline for this config, reused by later jobs in the same worker process."""
    key = repr(cfg)
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = GatedPipeline(cfg)
    return _CACHE[key]
