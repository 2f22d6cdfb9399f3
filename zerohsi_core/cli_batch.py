"""`zerohsi batch JOBS.yaml`: run a job file on a Ray cluster with live progress and a summary table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from zerohsi_core.batch import BatchSummary, JobOutcome
from zerohsi_core.config import load_config, package_config_dir
from zerohsi_core.progress import ProgressEvent

console = Console(stderr=True)
LABEL_CHARS = 48  # job ids are shortened to this in the progress display


class _Display:
    """Rich progress across the cluster: one bar for the batch, one per running job (removed when done)."""

    def __init__(self, progress: Progress, total: int) -> None:
        self.progress = progress
        self.overall = progress.add_task("jobs", total=total)
        self.running: dict[str, TaskID] = {}

    def on_progress(self, job_id: str, event: ProgressEvent) -> None:
        if job_id not in self.running:
            self.running[job_id] = self.progress.add_task("", total=1.0)
        label = f"{job_id[:LABEL_CHARS]} {event.stage}"
        self.progress.update(self.running[job_id], description=label, completed=event.progress)

    def on_outcome(self, outcome: JobOutcome) -> None:
        task = self.running.pop(outcome.job_id, None)
        if task is not None:
            self.progress.remove_task(task)
        self.progress.advance(self.overall)


def summary_table(summary: BatchSummary) -> Table:
    """Done / failed / skipped and seconds per job, with the error of each failure."""
    counts = ", ".join(f"{summary.count(s)} {s}" for s in ("done", "failed", "skipped"))
    table = Table("job", "status", "attempts", "seconds", "where / error", title=f"batch: {counts}")
    style = {"done": "green", "failed": "red", "skipped": "dim"}
    for o in summary.outcomes:
        seconds = f"{o.seconds:.1f}" if o.status != "skipped" else "-"
        table.add_row(o.job_id, f"[{style[o.status]}]{o.status}[/]", str(o.attempts), seconds, o.message)
    return table


def batch(
    jobs: Annotated[
        Path, typer.Argument(help="job file (YAML): scenes, objects, initial states, prompts, seeds")
    ],
    address: Annotated[
        str | None,
        typer.Option(
            "--address",
            help='Ray cluster: "auto", "ray://host:port" (default: cluster.ray_address, "" = local)',
        ),
    ] = None,
    gpus_per_job: Annotated[
        float | None,
        typer.Option("--gpus-per-job", min=0.0, help="GPUs per job; 0 = CPU (default: cluster.gpus_per_job)"),
    ] = None,
    max_retries: Annotated[
        int | None, typer.Option(min=0, help="retries of a failed job (default: cluster.max_retries)")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="output root, one directory per job (default: <paths.output_dir>/batch)"),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML config (default: config/hsi.yaml)")
    ] = None,
    profile: Annotated[
        str | None, typer.Option(help="paper | draft (default: draft for CPU jobs, else paper)")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="dotted override, e.g. render.width=256")
    ] = None,
) -> None:
    """Synthesise every job of a job file on Ray; finished jobs are skipped, failures retried and reported."""
    from zerohsi_core.batch import load_jobs
    from zerohsi_core.batch_ray import ClusterOptions, run_batch
    from zerohsi_core.scene.registry import list_scenes

    path = config if config is not None else package_config_dir() / "hsi.yaml"
    cfg = load_config(path, profile=profile or "paper", overrides=set_ or [])
    changes = {
        k: v
        for k, v in (("ray_address", address), ("gpus_per_job", gpus_per_job), ("max_retries", max_retries))
        if v is not None
    }
    options = ClusterOptions.from_config(cfg, **changes)
    if profile is None and options.gpus_per_job <= 0:
        cfg = load_config(path, profile="draft", overrides=set_ or [])
    todo = load_jobs(jobs, list_scenes(cfg.scene.registry or None))
    root = out or Path(cfg.paths.output_dir) / "batch"
    where = options.ray_address or "a local Ray instance"
    console.print(
        f"{len(todo)} jobs from {jobs} on {where}: {options.gpus_per_job:g} GPU(s) per job, "
        f"{cfg.profile} profile, {cfg.video.backend} video, results in {root}"
    )
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:.2f}/{task.total:g}"),
        TimeElapsedColumn(), console=console,
    ) as progress:  # fmt: skip
        display = _Display(progress, len(todo))
        summary = run_batch(todo, cfg, root, options, display.on_progress, display.on_outcome)
    Console().print(summary_table(summary))
    console.print(f"{summary.seconds:.1f} s; summary: {Path(root) / 'batch_summary.json'}")
    if summary.count("failed"):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the `batch` command to the `zerohsi` app."""
    app.command("batch")(batch)
