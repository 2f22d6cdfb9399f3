"""`zerohsi` command line: demo, generate, scenes, orbit, avatar fit."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import torch
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from zerohsi_core.cli_avatar import avatar_app
from zerohsi_core.cli_batch import register as register_batch
from zerohsi_core.cli_eval import register as register_eval
from zerohsi_core.cli_export import register as register_export
from zerohsi_core.config import Config, load_config, package_config_dir
from zerohsi_core.device import resolve_device
from zerohsi_core.errors import InputError, ZeroHSIError
from zerohsi_core.progress import ProgressEvent

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Zero-shot 4D human-scene interaction.")
console = Console(stderr=True)

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="YAML config (default: config/hsi.yaml)")]
ProfileOpt = Annotated[str | None, typer.Option("--profile", help="paper | draft (default: draft on CPU)")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="dotted override, e.g. render.width=256")]


def _config(config: Path | None, profile: str | None, overrides: list[str] | None) -> Config:
    """Config from the file (default: the package's hsi.yaml), profile (default: draft without a GPU)."""
    path = config if config is not None else package_config_dir() / "hsi.yaml"
    cfg = load_config(path, profile=profile or "paper", overrides=overrides or [])
    if profile is None and resolve_device(cfg.device).type == "cpu":
        cfg = load_config(path, profile="draft", overrides=overrides or [])
    return cfg


class _Bar:
    """Rich progress bar fed by ProgressEvents, one task per stage."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, int] = {}

    def __call__(self, event: ProgressEvent) -> None:
        if event.stage not in self.tasks:
            self.tasks[event.stage] = self.progress.add_task(event.stage, total=1.0)
        self.progress.update(self.tasks[event.stage], completed=event.progress)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description:>12}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(), console=console, transient=False,
    )  # fmt: skip


@app.command()
def scenes(config: ConfigOpt = None) -> None:
    """List the scenes and their movable objects and affordances."""
    from zerohsi_core.scene.registry import list_scenes, load_scene

    cfg = _config(config, "draft", None)
    table = Table("scene", "objects", "affordances")
    registry = cfg.scene.registry or None
    for scene_id in list_scenes(registry):
        scene = load_scene(scene_id, registry, density=cfg.scene.density)
        table.add_row(scene_id, ", ".join(scene.objects), ", ".join(scene.affordances))
    Console().print(table)


@app.command()
def orbit(
    scene: Annotated[str | None, typer.Option(help="scene id (default: scene.default)")] = None,
    frames: Annotated[int, typer.Option(min=2, help="number of views")] = 36,
    out: Annotated[Path | None, typer.Option(help="output folder (default: outputs/orbit-<scene>)")] = None,
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
    set_: SetOpt = None,
) -> None:
    """Render an orbit of a scene (PNG frames + MP4)."""
    from zerohsi_core.preview import render_options, render_views, scene_orbit_cameras, write_orbit
    from zerohsi_core.scene.registry import load_scene

    cfg = _config(config, profile, set_)
    scene_id = scene or cfg.scene.default
    device = resolve_device(cfg.device)
    out_dir = out or Path(cfg.paths.output_dir) / f"orbit-{scene_id}"
    start = time.perf_counter()
    loaded = load_scene(scene_id, cfg.scene.registry or None, density=cfg.scene.density)
    size = f"{cfg.render.width}x{cfg.render.height}"
    console.print(
        f"scene [bold]{scene_id}[/]: {len(loaded.gaussians):,} Gaussians, objects {list(loaded.objects)}; "
        f"rendering {frames} views at {size} on {device} ({cfg.profile} profile)"
    )
    cameras = scene_orbit_cameras(loaded, cfg, frames)
    with _progress() as progress:
        images = render_views(loaded, cameras, render_options(cfg), device, progress=_Bar(progress))
    video = write_orbit(images, out_dir, fps=12.0)
    elapsed = time.perf_counter() - start
    console.print(f"wrote {video} and {frames} PNG frames in {out_dir / 'frames'} ({elapsed:.1f} s)")


def _pose(text: str) -> torch.Tensor | None:
    """ "x y z qx qy qz qw" (ROS order) → [4,4] object-to-world, or None for ""."""
    if not text.strip():
        return None
    from zerohsi_core.scene.object import pose_from_xyz_quat

    try:
        values = [float(v) for v in text.replace(",", " ").split()]
    except ValueError as err:
        raise InputError(f"--pose {text!r}: give seven numbers, x y z qx qy qz qw") from err
    return pose_from_xyz_quat(values, "--pose")


def _errors_table(sequence: Any) -> Table:
    """Per-clip errors against the scripted ground truth."""
    keys = sorted({key for clip in sequence.clips for key in clip.errors})
    table = Table("clip", "prompt", *keys, title="errors against the scripted ground truth")
    for i, clip in enumerate(sequence.clips):
        table.add_row(str(i), clip.prompt, *[f"{clip.errors.get(k, float('nan')):.2f}" for k in keys])
    return table


def run_generate(
    cfg: Config,
    scene: str,
    object_id: str,
    pose: str,
    prompts: list[str],
    seed: int,
    frames: int,
    out: Path | None,
    preview: bool = True,
) -> Path:
    """Run the pipeline on one request with a progress display; write the result directory."""
    from zerohsi_core.io.export_losses import write_loss_plot
    from zerohsi_core.io.results import write_result
    from zerohsi_core.pipeline import InteractionRequest, Pipeline
    from zerohsi_core.preview import three_panel_preview

    start = time.perf_counter()
    pipeline = Pipeline(cfg)
    request = InteractionRequest(prompts, scene, object_id, _pose(pose), None, frames, seed)
    console.print(
        f"[bold]{' → '.join(prompts)}[/] in {scene or cfg.scene.default}"
        f"{' with ' + object_id if object_id else ''}: {cfg.video.backend} video, {cfg.segment.backend} "
        f"masks, {cfg.profile} profile, {cfg.render.width}x{cfg.render.height} on {pipeline.device}"
    )
    with _progress() as progress:
        sequence = pipeline.run(request, progress=_Bar(progress))
    video = None
    if preview:
        loaded = pipeline.load_scene(sequence.scene_id)
        video = three_panel_preview(
            pipeline.avatar, loaded, sequence.clips, pipeline.render_options, pipeline.device
        )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out_dir = write_result(
        sequence, cfg, out or Path(cfg.paths.output_dir) / f"{sequence.scene_id}-{stamp}", video
    )
    if preview:
        write_loss_plot(out_dir)
    if any(clip.errors for clip in sequence.clips):
        Console().print(_errors_table(sequence))
    console.print(f"result: {out_dir} ({time.perf_counter() - start:.1f} s)")
    if video is not None:
        console.print(f"preview (generated | reconstruction | overview): {out_dir / 'preview.mp4'}")
        console.print(f"loss curves: {out_dir / 'losses.png'}")
    return out_dir


@app.command()
def generate(
    prompt: Annotated[list[str], typer.Option(help="text prompt; repeat to chain clips")],
    scene: Annotated[str, typer.Option(help="scene id (zerohsi scenes)")] = "",
    object_id: Annotated[str, typer.Option("--object", help="movable object of the scene")] = "",
    pose: Annotated[str, typer.Option(help='object pose "x y z qx qy qz qw" (default: the scene\'s)')] = "",
    seed: Annotated[int, typer.Option(help="generation seed")] = 0,
    frames: Annotated[int, typer.Option(help="frames per clip (0: video.num_frames)")] = 0,
    out: Annotated[Path | None, typer.Option(help="result directory")] = None,
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
    set_: SetOpt = None,
) -> None:
    """Synthesise a human-scene interaction and write its result directory."""
    run_generate(_config(config, profile, set_), scene, object_id, pose, prompt, seed, frames, out)


@app.command()
def demo(config: ConfigOpt = None, profile: ProfileOpt = None, set_: SetOpt = None) -> None:
    """The embedded default: "sit on the sofa" in the demo living room, scripted video, stand-in body."""
    cfg = _config(config, profile, set_)
    out = Path(cfg.paths.output_dir) / "demo"
    run_generate(cfg, "living_room", "", "", ["The person is sitting on the sofa."], 0, 0, out)


app.add_typer(avatar_app, name="avatar")
bench_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Benchmarks.")
app.add_typer(bench_app, name="bench")
register_export(app)
register_eval(app)
register_batch(app)


@bench_app.command("accuracy")
def bench_accuracy(
    cases: Annotated[str, typer.Option(help="comma-separated case names (default: all)")] = "",
    variants: Annotated[str, typer.Option(help="clean,degraded")] = "clean,degraded",
    seed: Annotated[int, typer.Option()] = 0,
    repeats: Annotated[int, typer.Option(help="runs per case (GPU runs differ: the spread)")] = 1,
    out: Annotated[Path, typer.Option(help="JSON report")] = Path("outputs/bench/accuracy.json"),
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
    set_: SetOpt = None,
) -> None:
    """Scripted round trip: reconstruct known motions and report MPJPE, root, object and camera errors."""
    from zerohsi_core.bench_accuracy import CASES, metric_keys, run_benchmark, summary

    cfg = _config(config, profile, set_)
    names = [c for c in cases.split(",") if c] or [c.name for c in CASES]
    unknown = sorted(set(names) - {c.name for c in CASES})
    if unknown:
        raise InputError(f"unknown benchmark cases {unknown}; available: {[c.name for c in CASES]}")
    chosen = [c for c in CASES if c.name in names]
    console.print(f"accuracy benchmark: {len(chosen)} cases × {variants}, {cfg.profile} profile")
    chosen_variants = [v for v in variants.split(",") if v]
    rows = run_benchmark(cfg, chosen, chosen_variants, seed, console.print, out, repeats)
    all_rows = rows + summary(rows)
    keys = metric_keys(all_rows)
    table = Table("case", "variant", *keys, title=f"accuracy ({cfg.profile} profile)")
    for row in all_rows:
        cells = [f"{float(row.get(k, float('nan'))):.2f}" for k in keys]
        if "error" in row and keys:
            cells = ["failed"] + [""] * (len(keys) - 1)
        name = str(row["case"]) + (f" #{int(row['repeat']) + 1}" if "repeat" in row else "")
        table.add_row(name, str(row["variant"]), *cells)
    Console().print(table)
    console.print(f"report: {out}")  # run_benchmark rewrote it after the last row
    if any("error" in row for row in rows):
        raise typer.Exit(1)  # the table and report are complete; the exit status says a case failed


def main(argv: list[str] | None = None) -> int:
    """Console entry point: ZeroHSIError → one line on stderr and exit code 2."""
    try:
        app(args=argv, standalone_mode=False)
    except ZeroHSIError as err:
        console.print(f"[red]error:[/] {err}", soft_wrap=True)
        return 2
    except (typer.Abort, KeyboardInterrupt):
        console.print("aborted")
        return 130
    except typer.Exit as exit_:
        return exit_.exit_code
    except Exception as err:  # click usage errors carry their own message
        import click

        if isinstance(err, click.ClickException):
            err.show()
            return err.exit_code
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
