"""GPU clip benchmark (#9): one scripted clip at the KLING size, reconstructed by the reference loop and
by the optimised path, with per-stage wall time, steps/s, peak GPU memory and accuracy against ground truth.

    python bench/gpu_clip.py                       # 1024², ~500k scene Gaussians, 51 frames, both paths
    python bench/gpu_clip.py --paths optimized --prompt "The person is lifting the box." \
        --scene living_room_lift --object box
    python bench/gpu_clip.py --paths reference,reference,optimized,optimized --set speed.frames_in_flight=12
        # a path named more than once: the mean ± standard deviation of its totals and MPJPEs

The clip (view selection, scripted video, segmentation) is made once; each path reconstructs the same
frames from the same avatar state. Results go to stdout and, with --json, to a file.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import statistics
import sys
import time

import torch

from zerohsi_core.config import load_config
from zerohsi_core.pipeline import ClipInputs, InteractionRequest, Pipeline


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--size", type=int, default=1024, help="render and video size (pixels)")
    parser.add_argument("--density", type=float, default=3.4, help="scene density (3.4 ≈ 500k Gaussians)")
    parser.add_argument("--frames", type=int, default=51)
    parser.add_argument("--scene", default="living_room")
    parser.add_argument("--object", default="")
    parser.add_argument("--prompt", default="The person is sitting on the sofa.")
    parser.add_argument(
        "--paths",
        default="reference,optimized",
        help="comma-separated speed.path values, each with optional +key=value overrides "
        "(e.g. optimized+speed.frames_in_flight=6)",
    )
    parser.add_argument("--set", action="append", default=[], help="extra dotted config overrides")
    parser.add_argument("--json", default="", help="write the results to this file")
    parser.add_argument(
        "--profile", type=int, default=0, help="profile each stage on this many frames (after the runs)"
    )
    return parser.parse_args(argv)


def steps(cfg: object, frames: int) -> dict[str, int]:
    """Optimisation steps of each stage for a clip of `frames` frames."""
    return {
        "tracking": (frames - 1) * cfg.tracking.iters,
        "hsi": (frames - 1) * cfg.hsi.iters,
        "refinement": cfg.refine.iters,
    }


def profile_stages(pipeline: Pipeline, inputs: ClipInputs, frames: int) -> None:
    """torch.profiler of each stage on the first `frames` frames, the other stages cut short:
    host (self CPU) against device (self CUDA) time, kernel launches and synchronisations, top operators."""
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile

    cfg = pipeline.cfg
    short = dataclasses.replace(
        inputs,
        frames=inputs.frames[:frames],
        human_masks=inputs.human_masks[:frames],
        object_masks=None if inputs.object_masks is None else inputs.object_masks[:frames],
        video=dataclasses.replace(inputs.video, meta={}),  # no ground truth for the cut
    )
    # The other stages cut short; HSI keeps its batch width (iters = K: a compiled avatar keeps its shape).
    width = cfg.speed.frames_in_flight
    short_stage = {
        "tracking": {"iters": 1},
        "hsi": {"iters": width, "warmup_iters": 0},
        "refine": {"iters": 1},
    }
    profiled = {"tracking": {}, "hsi": {"iters": 60}, "refine": {"iters": 100}}  # keep the traces small
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if torch.cuda.is_available() else [])
    for stage, timing in (("hsi", "hsi"), ("refine", "refinement"), ("tracking", "tracking")):
        sections = {
            key: dataclasses.replace(getattr(cfg, key), **(profiled[key] if key == stage else value))
            for key, value in short_stage.items()
        }
        pipeline.cfg = dataclasses.replace(cfg, **sections)
        with profile(activities=activities) as prof:
            result = pipeline.reconstruct(short)
        events = prof.key_averages()
        cpu = events.self_cpu_time_total / 1e6
        cuda = sum(e.self_device_time_total for e in events if e.device_type == DeviceType.CUDA) / 1e6
        count = {e.key: e.count for e in events}
        launch = ("cudaLaunchKernel", "cuLaunchKernel")
        launches = sum(n for key, n in count.items() if key.startswith(launch))
        syncs = sum(n for key, n in count.items() if "Synchronize" in key or key.startswith("cudaMemcpy"))
        print(
            f"profile {stage}: {result.timings[timing]:.2f} s wall (profiled), host {cpu:.2f} s, "
            f"device {cuda:.2f} s, {launches} kernel launches, {syncs} syncs/copies",
            flush=True,
        )
        print(events.table(sort_by="self_cpu_time_total", row_limit=15, max_name_column_width=50), flush=True)
        if torch.cuda.is_available():
            print(events.table(sort_by="self_cuda_time_total", row_limit=10, max_name_column_width=50))
    pipeline.cfg = cfg


def repeated(rows: list[dict]) -> dict[str, dict[str, list[float]]]:
    """The totals and MPJPEs of every path that ran more than once (GPU runs of one path differ: the spread
    that one run per path cannot show)."""
    runs: dict[str, dict[str, list[float]]] = {}
    for row in rows:
        values = runs.setdefault(row["path"], {"total_s": [], "mpjpe_mm": []})
        values["total_s"].append(row["total_s"])
        values["mpjpe_mm"].append(row["errors"].get("mpjpe_mm", float("nan")))
    return {path: values for path, values in runs.items() if len(values["total_s"]) > 1}


def fmt(values: list[float], unit: str) -> str:
    """Mean ± standard deviation and the runs, e.g. "150.1 ± 0.9 mm (149.2, 151.0)"."""
    runs = ", ".join(f"{v:.1f}" for v in values)
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f} {unit} ({runs})"


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    overrides = [
        f"render.width={args.size}",
        f"render.height={args.size}",
        f"scene.density={args.density}",
        f"video.num_frames={args.frames}",
        *args.set,
    ]
    cfg = load_config(profile="paper", overrides=overrides)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    start = time.perf_counter()
    pipeline = Pipeline(cfg, device)
    scene = pipeline.load_scene(args.scene)
    request = InteractionRequest([args.prompt], args.scene, args.object)
    obj = pipeline._object(scene, request)
    initial = pipeline.default_human(scene)
    print(
        f"device {torch.cuda.get_device_name() if device.type == 'cuda' else 'cpu'}; scene {args.scene} "
        f"{len(scene.gaussians)} Gaussians; avatar {pipeline.avatar.num_gaussians}; {args.size}²; "
        f"{args.frames} frames; set-up {time.perf_counter() - start:.1f} s",
        flush=True,
    )
    inputs = pipeline.prepare_clip(scene, obj, initial, args.prompt, cfg.seed, args.frames)
    print("prepared: " + ", ".join(f"{k} {v:.2f} s" for k, v in inputs.timings.items()), flush=True)
    avatar_state = copy.deepcopy(pipeline.avatar.state_dict())
    counts = steps(cfg, args.frames)
    rows = []
    for path in args.paths.split(","):
        pipeline.avatar.load_state_dict(avatar_state)  # the colour network is fine-tuned during HSI
        name, *extra = path.split("+")
        pipeline.cfg = load_config(profile="paper", overrides=[*overrides, f"speed.path={name}", *extra])
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        result = pipeline.reconstruct(inputs)
        peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")
        stages = {k: result.timings[k] for k in ("tracking", "hsi", "refinement")}
        row = {
            "path": path,
            "seconds": stages,
            "total_s": result.timings["reconstruction"],  # wall time: track-ahead overlaps tracking and HSI
            "steps_per_s": {k: counts[k] / max(stages[k], 1e-9) for k in stages},
            "peak_gib": peak,
            "errors": result.errors,
        }
        rows.append(row)
        print(
            f"{path:>10}: "
            + ", ".join(f"{k} {v:.1f} s ({row['steps_per_s'][k]:.0f} steps/s)" for k, v in stages.items())
            + f"; total {row['total_s']:.1f} s; peak {peak:.2f} GiB",
            flush=True,
        )
        print(f"{'':>10}  " + ", ".join(f"{k} {v:.2f}" for k, v in result.errors.items()), flush=True)
    if len(rows) > 1:
        base = rows[0]
        for row in rows[1:]:
            ratio = base["total_s"] / row["total_s"]
            diff = row["errors"].get("mpjpe_mm", float("nan")) - base["errors"].get("mpjpe_mm", float("nan"))
            print(f"{row['path']} vs {base['path']}: {ratio:.1f}x faster, MPJPE {diff:+.2f} mm", flush=True)
    for path, runs in repeated(rows).items():
        totals, mpjpes = fmt(runs["total_s"], "s"), fmt(runs["mpjpe_mm"], "mm")
        print(f"{path}: {len(runs['total_s'])} runs, total {totals}, MPJPE {mpjpes}", flush=True)
    if args.profile:
        profile_stages(pipeline, inputs, args.profile)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "view": inputs.timings, "runs": rows}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
