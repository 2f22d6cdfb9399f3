"""`zerohsi` command line: demo, scenes, orbit (more commands arrive with the pipeline)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from zerohsi_core.config import Config, load_config, package_config_dir
from zerohsi_core.device import resolve_device
from zerohsi_core.errors import ZeroHSIError
from zerohsi_core.progress import ProgressEvent

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Zero-shot 4D human-scene interaction.")
console = Console(stderr=True)

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="YAML config (default: config/hsi.yaml)")]
ProfileOpt = Annotated[str | None, typer.Option("--profile", help="paper | draft (default: draft on CPU)")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="dotted override, e.g. render.width=256")]


def _config(config: Path | None, profile: str | None, overrides: list[str] | None) -> Config:
    """Config from the file (or the package's hsi.yaml), the profile (auto: draft without a GPU), overrides."""
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
    console.print(
        f"scene [bold]{scene_id}[/]: {len(loaded.gaussians):,} Gaussians, objects {list(loaded.objects)}; "
        f"rendering {frames} views at {cfg.render.width}x{cfg.render.height} on {device} ({cfg.profile} profile)"
    )
    cameras = scene_orbit_cameras(loaded, cfg, frames)
    with _progress() as progress:
        images = render_views(loaded, cameras, render_options(cfg), device, progress=_Bar(progress))
    video = write_orbit(images, out_dir, fps=12.0)
    console.print(f"wrote {video} and {frames} PNG frames in {out_dir / 'frames'} ({time.perf_counter() - start:.1f} s)")


@app.command()
def demo(config: ConfigOpt = None, profile: ProfileOpt = None, set_: SetOpt = None) -> None:
    """The embedded default: an orbit of the demo living room."""
    orbit(scene=None, frames=36, out=None, config=config, profile=profile, set_=set_)


def main() -> int:
    """Console entry point: ZeroHSIError → one line on stderr and exit code 2."""
    try:
        app(standalone_mode=False)
    except ZeroHSIError as err:
        console.print(f"[red]error:[/] {err}")
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
