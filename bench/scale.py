"""Scale-out benchmark (#12): the same batch of N clips on 1 GPU and on all visible GPUs; prints the wall
times, clips per hour and the speed-up ratio (docs/SCALE.md).

    python bench/scale.py --clips 8                        # paper profile, one job per GPU
    python bench/scale.py --clips 4 --cpu 2 --set ...      # smoke test without a GPU: 1 vs 2 CPU workers
    python bench/scale.py --write-motions DEST --clips 8   # the clips' motions, written ahead

Jobs are seeds 0..N−1 of "The person is sitting on the sofa." in the living room (scripted video). The
runner is Ray (`zerohsi_core.batch_ray.run_batch`, a local instance per width) when `ray` imports, else one
worker process per device pulling jobs from a queue, each running the same `zerohsi_core.batch.run_job`
(`--runner processes` forces that). The scripted motions can be written ahead (`--write-motions`; point
ZEROHSI_CACHE at a folder holding that `motions/`), which keeps their writing out of the timings.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SCENE = "living_room"
PROMPT = "The person is sitting on the sofa."


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--clips", type=int, default=8, help="clips in the batch (seeds 0..N-1)")
    parser.add_argument("--profile", default="paper", help="paper | draft")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="dotted config override")
    parser.add_argument("--runner", choices=("auto", "ray", "processes"), default="auto")
    parser.add_argument("--cpu", type=int, default=0, help="use N CPU workers instead of the GPUs")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--write-motions", type=Path, help="write the clips' scripted motions to DEST/motions"
    )
    return parser.parse_args(argv)


def make_jobs(n: int) -> list[Any]:
    from zerohsi_core.batch import BatchJob

    return [BatchJob(SCENE, (PROMPT,), seed) for seed in range(n)]


def write_motions(cfg: Any, jobs: list[Any], dest: Path) -> None:
    """The scripted motion of every job, copied into dest/motions (needs open3d; run it on the CPU)."""
    from zerohsi_core.pipeline import Pipeline
    from zerohsi_core.video.motion_cache import motion_path
    from zerohsi_core.video.scripted import ScriptContext, build_scripted_generator

    pipeline = Pipeline(dataclasses.replace(cfg, device="cpu"), "cpu")
    generator = build_scripted_generator(cfg)
    (dest / "motions").mkdir(parents=True, exist_ok=True)
    scene = pipeline.load_scene(SCENE)
    context = ScriptContext(scene, None, None, pipeline.default_human(scene), None, pipeline.avatar)
    for job in jobs:
        _, key = generator.bind(context).motion_and_key(PROMPT, job.seed, cfg.video.num_frames)
        shutil.copy(motion_path(key), dest / "motions")
        print(f"seed {job.seed}: {key}", flush=True)


def _worker(device: str, cfg: Any, root: str, todo: Any, done: Any) -> None:
    """One process per device: pin it, then run jobs from the queue until the sentinel (None)."""
    if device.startswith("cuda:"):
        os.environ["CUDA_VISIBLE_DEVICES"] = device.split(":")[1]  # before the first CUDA call
    import torch

    torch.set_num_threads(1)
    from zerohsi_core.batch import run_job

    task_cfg = dataclasses.replace(cfg, device="cuda" if device.startswith("cuda") else "cpu")
    while (job := todo.get()) is not None:
        try:
            done.put((job.job_id, "done", run_job(job, task_cfg, Path(root))))
        except Exception as err:  # reported in the table, the other jobs go on
            done.put((job.job_id, f"failed: {type(err).__name__}: {err}", 0.0))


def run_processes(cfg: Any, jobs: list[Any], devices: list[str], root: Path) -> list[tuple[str, str, float]]:
    ctx = mp.get_context("spawn")
    todo, done = ctx.Queue(), ctx.Queue()
    for job in jobs:
        todo.put(job)
    for _ in devices:
        todo.put(None)
    workers = [ctx.Process(target=_worker, args=(d, cfg, str(root), todo, done)) for d in devices]
    for w in workers:
        w.start()
    results = [done.get() for _ in jobs]
    for w in workers:
        w.join()
    return results


def run_ray(cfg: Any, jobs: list[Any], devices: list[str], root: Path) -> list[tuple[str, str, float]]:
    import ray

    from zerohsi_core.batch_ray import ClusterOptions, run_batch

    gpu = devices[0].startswith("cuda")
    ray.init(
        num_gpus=len(devices) if gpu else 0,
        num_cpus=max(len(devices), os.cpu_count() or 1) if gpu else len(devices),
        include_dashboard=False,
        log_to_driver=False,
    )
    try:
        summary = run_batch(jobs, cfg, root, ClusterOptions(gpus_per_job=1.0 if gpu else 0.0, max_retries=0))
    finally:
        ray.shutdown()
    return [(o.job_id, o.status if o.status == "done" else o.message, o.seconds) for o in summary.outcomes]


def measure(runner: str, cfg: Any, jobs: list[Any], devices: list[str]) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="zerohsi-scale-"))
    try:
        start = time.perf_counter()
        results = (run_ray if runner == "ray" else run_processes)(cfg, jobs, devices, root)
        wall = time.perf_counter() - start
    finally:
        shutil.rmtree(root, ignore_errors=True)
    failed = [r for r in results if r[1] != "done"]
    clip_s = [r[2] for r in results if r[1] == "done"]
    return {
        "workers": len(devices),
        "wall_s": wall,
        "clips_per_hour": 3600.0 * len(clip_s) / wall,
        "mean_clip_s": sum(clip_s) / max(1, len(clip_s)),
        "failed": [f"{r[0]}: {r[1]}" for r in failed],
    }


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    import torch

    from zerohsi_core.config import load_config
    from zerohsi_core.scene.registry import load_scene

    cfg = load_config(profile=args.profile, overrides=args.overrides)
    jobs = make_jobs(args.clips)
    if args.write_motions is not None:
        write_motions(cfg, jobs, args.write_motions)
        return 0
    devices = [f"cpu:{i}" for i in range(args.cpu)] or [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if not devices:
        print("no CUDA GPU visible: pass --cpu N for a CPU smoke test", file=sys.stderr)
        return 2
    runner = args.runner
    if runner == "auto":
        try:
            import ray  # noqa: F401

            runner = "ray"
        except ImportError:
            runner = "processes"
    load_scene(SCENE, cfg.scene.registry or None, density=cfg.scene.density)  # generated once, not timed
    size = f"{cfg.render.width}x{cfg.render.height}"
    print(f"{len(jobs)} clips, {cfg.profile} profile, {size} px, {runner} runner, devices {devices}")
    widths = sorted({1, len(devices)})
    rows = {w: measure(runner, cfg, jobs, devices[:w]) for w in widths}
    for w, row in rows.items():
        print(
            f"{w} worker(s): {row['wall_s']:.1f} s wall, {row['clips_per_hour']:.1f} clips/h, "
            f"{row['mean_clip_s']:.1f} s per clip, {len(row['failed'])} failed"
        )
        for line in row["failed"]:
            print(f"  {line}")
    ratio = rows[1]["wall_s"] / rows[widths[-1]]["wall_s"]
    print(f"speed-up {ratio:.2f}x on {widths[-1]} workers (efficiency {ratio / widths[-1]:.0%})")
    if args.json is not None:
        report = {"runner": runner, "devices": devices, "clips": len(jobs), "profile": cfg.profile}
        args.json.write_text(json.dumps({**report, "runs": rows, "speedup": ratio}, indent=2))
    return 1 if any(row["failed"] for row in rows.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
