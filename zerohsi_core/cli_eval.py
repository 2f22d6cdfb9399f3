"""`zerohsi eval RESULT_DIR…`: the paper's metrics (Sec. 4.1) of result directories, as a table."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from zerohsi_core.config import load_config, package_config_dir

if TYPE_CHECKING:
    from zerohsi_core.metrics.table import EvalTable

console = Console(stderr=True)


def _rich_table(table: EvalTable) -> Table:
    """The table for the terminal: metrics without units (eval.md has them), mean rows in bold."""
    from zerohsi_core.metrics.table import header_cells, row_cells

    out = Table(*header_cells(compact=True), title="ZeroHSI metrics (paper Tables 1–2 column order)")
    for row in table.rows:
        out.add_row(*row_cells(row, compact=True))
    for row in table.means:
        out.add_row(*row_cells(row, compact=True), style="bold")
    return out


def eval_command(
    results: Annotated[list[Path], typer.Argument(help="result directories (zerohsi generate / demo)")],
    out: Annotated[Path, typer.Option(help="folder for eval.json and eval.md")] = Path("outputs/eval"),
    clip: Annotated[
        bool | None,
        typer.Option("--clip/--no-clip", help="CLIP metrics (default: if metrics.clip_weights is set)"),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML config (default: config/hsi.yaml)")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="dotted override, e.g. metrics.clip_weights=…")
    ] = None,
) -> None:
    """The paper's metrics of result directories: CLIP score and consistency, diversity, scene
    penetration, foot sliding, hand–object contact and object penetration (docs/EVALUATION.md)."""
    from zerohsi_core.device import resolve_device
    from zerohsi_core.metrics.evaluate import evaluate_results
    from zerohsi_core.metrics.table import COLUMNS, write_table

    cfg = load_config(config or package_config_dir() / "hsi.yaml", overrides=set_ or [])
    start = time.perf_counter()
    table = evaluate_results(results, cfg, resolve_device(cfg.device), clip, console.print)
    Console().print(_rich_table(table))
    console.print("units: " + ", ".join(f"{c.header.split()[0]} {c.unit}" for c in COLUMNS))
    for note in table.notes:
        console.print(f"note: {note}")
    json_path, md_path = write_table(table, out)
    console.print(f"wrote {json_path} and {md_path} ({time.perf_counter() - start:.1f} s)")


def register(app: typer.Typer) -> None:
    """Add `eval` to the `zerohsi` app."""
    app.command("eval")(eval_command)
