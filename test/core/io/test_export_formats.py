"""`zerohsi export`: every format from one command, in the default folder, and clear errors."""

import pytest
import typer
from core.io.export_result import make_result
from typer.testing import CliRunner

from zerohsi_core.cli_export import register
from zerohsi_core.errors import AssetError, InputError
from zerohsi_core.io.export_formats import FORMATS, export_result, parse_formats


def test_cli_writes_every_format(tmp_path) -> None:
    result = make_result(tmp_path / "res", frames=3)
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # two commands keep `export` a named subcommand
    run = CliRunner().invoke(app, ["export", str(result), "--format", "all", "--bvh-units", "cm"])
    assert run.exit_code == 0, run.output
    names = {p.name for p in (result / "exports").iterdir()}
    assert names == {"motion_amass.npz", "motion.bvh", "motion.usda", "motion.mcap", "motion.glb"}
    assert "centimetres" in run.output
    assert "OFFSET" in (result / "exports" / "motion.bvh").read_text()


def test_formats_and_errors(tmp_path) -> None:
    assert parse_formats("all") == list(FORMATS) and parse_formats(" bvh, usd") == ["bvh", "usd"]
    with pytest.raises(InputError, match="unknown export format"):
        parse_formats("fbx")
    with pytest.raises(AssetError, match="not a result directory"):
        export_result(tmp_path, ["npz"])
