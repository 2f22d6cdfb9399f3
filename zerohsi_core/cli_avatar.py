"""`zerohsi avatar …`: fit a Gaussian avatar to posed images with known SMPL-X parameters and cameras."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from zerohsi_core.config import load_config, package_config_dir
from zerohsi_core.progress import ProgressEvent

avatar_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Gaussian avatars.")
console = Console(stderr=True)


@avatar_app.command()
def fit(
    images: Annotated[Path, typer.Argument(help="folder of posed images (PNG/JPEG)")],
    spec: Annotated[Path, typer.Argument(help="JSON or npz: per image K, world_to_cam, SMPL-X parameters")],
    out: Annotated[Path, typer.Option(help="avatar file to write (use it as body.avatar_path)")] = Path(
        "avatar.pt"
    ),
    masks: Annotated[Path | None, typer.Option(help="folder of human masks named like the images")] = None,
    init: Annotated[
        Path | None, typer.Option(help="start from this avatar file (default: procedural)")
    ] = None,
    iterations: Annotated[int, typer.Option(min=1, help="Adam steps")] = 1500,
    views_per_step: Annotated[int, typer.Option(min=1, help="images per step")] = 4,
    gaussians: Annotated[int, typer.Option(min=0, help="Gaussians (0: one per mesh triangle)")] = 0,
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML config (default: config/hsi.yaml)")
    ] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="dotted override, e.g. device=cpu")] = None,
) -> None:
    """Fit the avatar's Gaussians and networks (not the pose) to the images; write one avatar file."""
    from zerohsi_core.body.avatar_io import make_avatar, save_avatar
    from zerohsi_core.body.avatar_template import AvatarOptions
    from zerohsi_core.body.fit import FitOptions, fit_avatar
    from zerohsi_core.body.fit_data import load_fit_inputs
    from zerohsi_core.body.model import BodyModelOptions, load_body_model
    from zerohsi_core.device import resolve_device

    cfg = load_config(config or package_config_dir() / "hsi.yaml", overrides=set_ or [])
    device = resolve_device(cfg.device)
    body = cfg.body
    model = load_body_model(
        BodyModelOptions(
            model_path=body.model_path or None,
            gender=body.gender,
            num_betas=body.num_betas,
            num_expression=body.num_expression,
        ),
        device=device,
    )
    inputs = load_fit_inputs(images, spec, model, masks)
    avatar = make_avatar(model, init or "", AvatarOptions(num_gaussians=gaussians))
    console.print(
        f"fitting {avatar.num_gaussians:,} Gaussians to {len(inputs.names)} images "
        f"({inputs.images.shape[2]}x{inputs.images.shape[1]}) on {device}"
    )
    options = FitOptions(iterations=iterations, views_per_step=views_per_step, backend=cfg.render.backend)
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("loss {task.fields[loss]:.4f}"))
    with Progress(*columns, TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("avatar fit", total=1.0, loss=float("nan"))

        def on_progress(event: ProgressEvent) -> None:
            bar.update(task, completed=event.progress, loss=event.loss)

        report = fit_avatar(
            avatar, inputs.images, inputs.params, inputs.cameras, inputs.masks, options, progress=on_progress
        )
    path = save_avatar(avatar, out)
    console.print(f"wrote {path}: PSNR {report.psnr_db:.2f} dB over the images, {report.seconds:.1f} s")
