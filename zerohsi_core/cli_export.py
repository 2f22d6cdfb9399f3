"""`zerohsi export RESULT_DIR --format …`: AMASS npz, BVH, USD, MCAP and GLB files of a result folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

UNITS_NOTE = {"m": "metres (Blender: import scale 1)", "cm": "centimetres (Blender: import scale 0.01)"}


def register(app: typer.Typer) -> None:
    """Add the `export` command to a typer app."""

    @app.command("export")
    def export(
        result_dir: Annotated[Path, typer.Argument(help="result directory written by `zerohsi generate`")],
        format_: Annotated[str, typer.Option("--format", help="npz,bvh,usd,mcap,glb or all")] = "all",
        out: Annotated[Path | None, typer.Option(help="output folder (default: RESULT_DIR/exports)")] = None,
        bvh_up: Annotated[str, typer.Option(help="BVH up axis: y (BVH habit) or z (world)")] = "y",
        bvh_units: Annotated[str, typer.Option(help="BVH lengths: m or cm")] = "m",
        usd_format: Annotated[str, typer.Option(help="usda (text) or usdc (binary)")] = "usda",
        frame_id: Annotated[str, typer.Option(help="MCAP: the scene frame of every message")] = "map",
    ) -> None:
        """Export a result for simulators and viewers (Gazebo, Isaac Sim, Blender, Foxglove, three.js)."""
        from zerohsi_core.io.export_bvh import BvhOptions
        from zerohsi_core.io.export_formats import ExportOptions, export_result, parse_formats
        from zerohsi_core.io.export_mcap import McapOptions

        options = ExportOptions(
            bvh=BvhOptions(up=bvh_up, units=bvh_units),  # type: ignore[arg-type]
            mcap=McapOptions(frame_id=frame_id),
            usd_format=usd_format,
        )
        written = export_result(result_dir, parse_formats(format_), out, options)
        console = Console(stderr=True)
        for name, path in written.items():
            note = f" ({bvh_up}-up, {UNITS_NOTE.get(bvh_units, bvh_units)})" if name == "bvh" else ""
            console.print(f"{name:>5}: {path}{note}")
