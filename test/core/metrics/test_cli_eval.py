"""`zerohsi eval` on result directories written by io/results.write_result, and the result round trip."""

import json

import pytest
import torch
import typer
from core.metrics.conftest import camera_at, fake_sequence
from typer.testing import CliRunner

from zerohsi_core.body.pose import standing_params
from zerohsi_core.cli_eval import register
from zerohsi_core.config import load_config
from zerohsi_core.errors import AssetError, ConfigError
from zerohsi_core.io.results import write_result
from zerohsi_core.metrics.clip import clip_metrics as direct_clip_metrics
from zerohsi_core.metrics.clip import load_clip
from zerohsi_core.metrics.evaluate import NO_CLIP_NOTE
from zerohsi_core.metrics.frames import render_motion_frames
from zerohsi_core.metrics.motion import as_motion, read_result_motion
from zerohsi_core.metrics.physical import PhysicalOptions, physical_metrics
from zerohsi_core.metrics.table import COLUMNS
from zerohsi_core.preview import render_options
from zerohsi_core.scene.registry import load_scene

MADE_WITH = load_config(
    profile="draft",
    overrides={"render.width": 32, "render.height": 32, "scene.density": 0.05, "body.avatar_gaussians": 800},
)
PROMPT = "The person is standing in the living room."
FRAMES = 3
RUG = 0.01  # the start spot has a rug (its top at z ≈ 6 mm): stand on top of it


@pytest.fixture(scope="module")
def results(body, tmp_path_factory):
    """Two seeds of one input: the same standing body, the second 0.2 m further along y."""
    scene = load_scene("living_room", density=MADE_WITH.scene.density)
    folder = tmp_path_factory.mktemp("results")
    dirs, sequences = [], []
    for seed, dy in ((0, 0.0), (1, 0.2)):
        xy = (scene.human_start.xy[0], scene.human_start.xy[1] + dy)
        params = standing_params(body, xy, scene.human_start.yaw, batch=FRAMES)
        params = params.replace(transl=params.transl + torch.tensor([0.0, 0.0, RUG]))
        # from 1.8 m in front (the start faces -x), inside the room
        camera = camera_at((xy[0] - 1.8, xy[1], 1.2), (xy[0], xy[1], 0.9))
        sequences.append(fake_sequence(body, params, PROMPT, seed, "living_room", camera))
        dirs.append(write_result(sequences[-1], MADE_WITH, folder / f"seed{seed}"))
    return dirs, sequences, scene


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("noop")(lambda: None)  # two commands keep `eval` a subcommand
    register(app)
    return app


def test_result_round_trip_matches_the_sequence(results, body) -> None:
    dirs, sequences, scene = results
    direct, (read, cfg) = as_motion(sequences[0]), read_result_motion(dirs[0])
    assert cfg.render.width == 32 and read.scene_id == "living_room" and read.prompts == [PROMPT] * FRAMES
    for name in ("transl", "global_orient", "body_pose", "betas", "left_hand_pose"):
        torch.testing.assert_close(getattr(read.params, name), getattr(direct.params, name))
    torch.testing.assert_close(read.cameras[1].world_to_cam, direct.cameras[1].world_to_cam)
    assert read.input_key == direct.input_key and read.seed == 0
    assert physical_metrics(read, scene, body, PhysicalOptions()) == physical_metrics(
        sequences[0], scene, body, PhysicalOptions()
    )


def test_eval_writes_the_table_in_the_papers_order(results, tmp_path) -> None:
    dirs, _, _ = results
    out = tmp_path / "eval"
    run = CliRunner().invoke(_app(), ["eval", *map(str, dirs), "--out", str(out), "--no-clip"])
    assert run.exit_code == 0, run.output
    table = json.loads((out / "eval.json").read_text())
    assert [c["key"] for c in table["columns"]] == [c.key for c in COLUMNS]
    rows = table["rows"]
    assert [r["seed"] for r in rows] == [0, 1]
    for row in rows:
        values = row["values"]
        assert values["diversity"] == pytest.approx(0.2, abs=1e-5)  # a pure 0.2 m shift of every joint
        assert values["pene_scene"] == 0.0 and values["foot_sliding_mm"] == pytest.approx(0.0, abs=1e-4)
        assert "clip_score" not in values and "contact" not in values
    assert table["means"][0]["name"] == "mean (static)" and NO_CLIP_NOTE in table["notes"]
    markdown = (out / "eval.md").read_text()
    header = markdown.splitlines()[0]
    positions = [header.index(c.header) for c in COLUMNS]
    assert positions == sorted(positions)
    assert "| n/a |" in markdown and "| — |" in markdown  # CLIP not computed; Cont. does not apply


def test_eval_with_a_tiny_clip_model(results, tiny_clip, tmp_path) -> None:
    dirs, _, scene = results
    config, weights = tiny_clip
    out = tmp_path / "eval"
    args = ["eval", str(dirs[0]), "--out", str(out), "--set", f"metrics.clip_model={config}"]
    run = CliRunner().invoke(_app(), [*args, "--set", f"metrics.clip_weights={weights}"])
    assert run.exit_code == 0, run.output
    values = json.loads((out / "eval.json").read_text())["rows"][0]["values"]
    assert values["clip_consistency"] == pytest.approx(1.0, abs=1e-5)  # still body, fixed camera
    motion, made_with = read_result_motion(dirs[0])
    from zerohsi_core.body.avatar_io import make_avatar
    from zerohsi_core.body.avatar_template import AvatarOptions
    from zerohsi_core.body.model import load_body_model

    avatar = make_avatar(load_body_model(), "", AvatarOptions(num_gaussians=800))
    frames = render_motion_frames(motion, scene, avatar, render_options(made_with), torch.device("cpu"))
    assert frames.shape == (FRAMES, 32, 32, 3) and float(frames.std()) > 0.01
    expected = direct_clip_metrics(load_clip(str(config), weights), frames, motion.prompts)
    assert values["clip_score"] == pytest.approx(expected["clip_score"], abs=1e-4)


def test_eval_demanding_clip_without_weights_names_the_key(results, tmp_path) -> None:
    run = CliRunner().invoke(_app(), ["eval", str(results[0][0]), "--out", str(tmp_path), "--clip"])
    assert isinstance(run.exception, ConfigError) and "metrics.clip_weights" in str(run.exception)


def test_eval_of_a_folder_that_is_no_result(tmp_path) -> None:
    run = CliRunner().invoke(_app(), ["eval", str(tmp_path), "--out", str(tmp_path / "eval"), "--no-clip"])
    assert isinstance(run.exception, AssetError) and "not a result directory" in str(run.exception)
