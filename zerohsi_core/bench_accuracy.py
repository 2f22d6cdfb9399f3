"""Accuracy benchmark on the scripted round trip: known motions rendered, reconstructed, compared.

Cases cover static (sit, lean, lie) and dynamic (lift, carry, push) interactions and one chained sequence,
each clean and degraded (noise, blur, colour drift, avatar appearance drift, camera shake, MP4). Errors per
case: world-frame MPJPE of the 22 body joints (refined and raw), root, object translation/rotation, camera,
and the physical metrics of the paper's tables (penetration, foot sliding, contact: docs/EVALUATION.md).
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from zerohsi_core.config import Config, apply_overrides
from zerohsi_core.errors import Cancelled, InputError, ZeroHSIError
from zerohsi_core.metrics.physical import physical_metrics
from zerohsi_core.metrics.truth import frame_errors
from zerohsi_core.pipeline import InteractionRequest, Pipeline

DEGRADED = {
    "video.scripted_noise_sigma": 0.02,
    "video.scripted_blur_sigma_px": 0.7,
    "video.scripted_color_drift": 0.05,
    "video.scripted_appearance_drift": 0.08,
    "video.scripted_camera_shake_px": 1.0,
    "video.scripted_mp4": True,
}


@dataclass(frozen=True)
class Case:
    """One benchmark case: a scene (and object) and the prompts of its chained clips."""

    name: str
    scene: str
    prompts: tuple[str, ...]
    object_id: str = ""


CASES: tuple[Case, ...] = (
    Case("sit", "living_room", ("The person is sitting on the sofa.",)),
    Case("lean", "living_room", ("The person is leaning on the table.",)),
    Case("lie", "living_room", ("The person is lying on the sofa.",)),
    Case("bench_sit", "garden", ("The person is sitting on the bench.",)),
    Case("lift", "living_room_lift", ("The person is lifting the box.",), "box"),
    Case("carry", "living_room_lift", ("The person carries the box to the table.",), "box"),
    Case("push", "garden_chair", ("The person is pushing the chair.",), "chair"),
    Case("chain", "living_room_lift", ("lift the box", "carry the box to the table"), "box"),
)


def run_case(pipeline: Pipeline, case: Case, seed: int) -> dict[str, object]:
    """Reconstruct one case; errors averaged over its clips (weighted by frames) plus its wall time, and
    under "per_frame" the MPJPE and object errors of every frame of its clips, in order."""
    start = time.perf_counter()
    result = pipeline.run(InteractionRequest(case.prompts, case.scene, case.object_id, seed=seed))
    frames = [len(clip.joints) for clip in result.clips]
    keys = sorted({key for clip in result.clips for key in clip.errors})
    errors = {
        key: sum(clip.errors.get(key, math.nan) * n for clip, n in zip(result.clips, frames, strict=True))
        / sum(frames)
        for key in keys
    }
    seconds = time.perf_counter() - start
    per_frame: dict[str, list[float]] = {}
    for clip in result.clips:
        truth = clip.video.meta.get("ground_truth")
        for key, values in (frame_errors(clip, truth) if truth is not None else {}).items():
            per_frame.setdefault(key, []).extend(values)
    scene = pipeline.load_scene(result.scene_id)
    physical = physical_metrics(result, scene, pipeline.body, pipeline.cfg)
    return {**errors, **physical, "frames": float(sum(frames)), "seconds": seconds, "per_frame": per_frame}


def run_benchmark(
    cfg: Config,
    cases: Sequence[Case] = CASES,
    variants: Sequence[str] = ("clean", "degraded"),
    seed: int = 0,
    log: Callable[[str], None] = print,
    report: Path | None = None,
    repeats: int = 1,
) -> list[dict[str, object]]:
    """Every case in every variant, `repeats` times (same seed: on a GPU, runs differ by gsplat's atomic
    accumulation — the spread that one run per case cannot show); one row per run. A case whose
    reconstruction fails (the video lost the person, the fit diverged) becomes a row with its "error" and the
    others still run; with `report`, the report is rewritten after every row, so a run stopped part-way keeps
    the rows it finished."""
    if repeats < 1:
        raise InputError(f"repeats must be at least 1, got {repeats}")
    rows: list[dict[str, object]] = []
    for variant in variants:
        pipeline = Pipeline(apply_overrides(cfg, DEGRADED) if variant == "degraded" else cfg)
        for case in cases:
            for repeat in range(repeats):
                row: dict[str, object] = {"case": case.name, "variant": variant}
                if repeats > 1:
                    row["repeat"] = repeat
                label = f"{case.name:>10} {variant:>8}" + (f" #{repeat + 1}" if repeats > 1 else "")
                try:
                    errors = run_case(pipeline, case, seed)
                except Cancelled:
                    raise
                except ZeroHSIError as err:
                    rows.append({**row, "error": str(err)})
                    log(f"{label}: failed: {err}")
                else:
                    rows.append({**row, **errors})
                    log(
                        f"{label}: " + ", ".join(f"{k} {float(errors[k]):.2f}" for k in metric_keys([errors]))
                    )
                if report is not None:
                    write_report(rows, report)
    return rows


def metric_keys(rows: Sequence[dict[str, object]]) -> list[str]:
    """The numeric columns of some rows, in first-seen order (not the per-frame lists)."""
    keys: dict[str, None] = {}
    for row in rows:
        keys.update((k, None) for k in row if k not in ("case", "variant", "error", "repeat", "per_frame"))
    return list(keys)


def summary(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Mean of every error per variant over the runs that finished ("failed": how many did not); with
    repeated runs, "mpjpe_sd_mm": the standard deviation of a case's MPJPE over its runs, averaged over the
    cases that ran more than once."""
    out = []
    for variant in sorted({str(r["variant"]) for r in rows}):
        chosen = [r for r in rows if r["variant"] == variant]
        means = {}
        for key in sorted(metric_keys(chosen)):
            values = [float(r[key]) for r in chosen if key in r and not math.isnan(float(r[key]))]
            means[key] = sum(values) / len(values) if values else math.nan
        runs: dict[str, list[float]] = {}
        for r in chosen:
            if "mpjpe_mm" in r:
                runs.setdefault(str(r["case"]), []).append(float(r["mpjpe_mm"]))
        spreads = [statistics.stdev(v) for v in runs.values() if len(v) > 1]
        if spreads:
            means["mpjpe_sd_mm"] = sum(spreads) / len(spreads)
        failed = sum("error" in r for r in chosen)
        counts = {"failed": float(failed)} if failed else {}
        out.append({"case": "mean", "variant": variant, **means, **counts})
    return out


def write_report(rows: list[dict[str, object]], path: Path) -> Path:
    """The rows and their means as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"rows": rows, "mean": summary(rows)}, indent=2))
    return path
