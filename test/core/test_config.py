"""Config tree: defaults = paper schedule, YAML + profile + dotted overrides, errors that name the key."""

from pathlib import Path

import pytest

from zerohsi_core.config import PROFILES, Config, load_config, package_config_dir
from zerohsi_core.errors import ConfigError


def test_defaults_are_the_papers_schedule() -> None:
    cfg = Config()
    assert (cfg.tracking.iters, cfg.tracking.lr) == (30, 1e-3)
    assert (cfg.hsi.iters, cfg.hsi.warmup_iters, cfg.hsi.lr) == (300, 30, 1e-2)
    assert (cfg.hsi.lambda_ssim, cfg.hsi.lambda_center, cfg.hsi.lambda_depth) == (0.1, 1e-3, 1e-3)
    assert (cfg.hsi.color_every, cfg.hsi.color_lr) == (5, 1e-5)
    assert (cfg.refine.iters, cfg.refine.lr, cfg.refine.lambda_physics) == (1000, 0.05, 1e-3)
    assert (cfg.refine.lambda_smooth_static, cfg.refine.lambda_smooth_dynamic) == (0.3, 0.1)
    assert (cfg.video.num_frames, cfg.video.source_frames, cfg.video.fps) == (51, 153, 10.0)


def test_package_yaml_loads_as_ros_parameters_file() -> None:
    cfg = load_config(package_config_dir() / "hsi.yaml")
    assert cfg.profile == "paper"
    assert cfg.render.width == 1024 and cfg.video.backend == "scripted"


def test_profile_then_overrides_win_in_order(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("render:\n  width: 640\nhsi:\n  iters: 7\n")
    cfg = load_config(path, profile="draft", overrides=["hsi.iters=3", "render.background=[0, 0, 0]"])
    assert cfg.render.width == PROFILES["draft"]["render.width"]  # profile beats the file
    assert cfg.hsi.iters == 3  # command line beats the profile
    assert cfg.render.background == [0.0, 0.0, 0.0] and isinstance(cfg.render.background[0], float)
    assert load_config(path).render.width == 640


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ("render.widht=3", "render.widht"),
        ("render.width=abc", "render.width"),
        ("render.width=true", "render.width"),
        ("view.radii=3", "view.radii"),
        ("view.radii=[1, x]", "view.radii[1]"),
        ("hsi=3", "hsi"),
        ("nonsense", "key=value"),
    ],
)
def test_bad_keys_and_types_name_the_key(override: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle.replace("[", r"\[").replace("]", r"\]")):
        load_config(overrides=[override])


def test_unknown_profile_and_bad_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown profile"):
        load_config(profile="fast")
    bad = tmp_path / "bad.yaml"
    bad.write_text("render: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
