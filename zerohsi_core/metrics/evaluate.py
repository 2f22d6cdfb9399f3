"""Evaluate result directories with the paper's metrics (Sec. 4.1): what `zerohsi eval` runs.

Each result is read with the config it was made with (scene, body model, avatar, image size); the
thresholds and the CLIP model come from the evaluation's own config. Results that share an input
(scene, object, prompts) and differ by seed form one diversity group.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from zerohsi_core.body.avatar import GaussianAvatar
from zerohsi_core.body.avatar_io import make_avatar
from zerohsi_core.body.avatar_template import AvatarOptions
from zerohsi_core.body.model import BodyModel, BodyModelOptions, load_body_model
from zerohsi_core.config import Config
from zerohsi_core.metrics.clip import ClipModel, clip_from_config, clip_metrics
from zerohsi_core.metrics.diversity import diversity
from zerohsi_core.metrics.frames import render_motion_frames
from zerohsi_core.metrics.motion import EvalMotion, read_result_motion
from zerohsi_core.metrics.physical import PhysicalOptions, physical_metrics
from zerohsi_core.metrics.table import EvalRow, EvalTable, mean_row
from zerohsi_core.preview import render_options
from zerohsi_core.scene.registry import load_scene
from zerohsi_core.scene.scene import Scene

NO_CLIP_NOTE = "CLIP columns n/a (no weights here): set metrics.clip_weights to an open_clip checkpoint file"


class _Assets:
    """Scenes, body models and avatars loaded once per distinct setting of the results' configs."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._scenes: dict[tuple, Scene] = {}
        self._bodies: dict[tuple, BodyModel] = {}
        self._avatars: dict[tuple, GaussianAvatar] = {}

    def scene(self, scene_id: str, cfg: Config) -> Scene:
        key = (scene_id, cfg.scene.registry, cfg.scene.density, tuple(cfg.paths.data_roots))
        if key not in self._scenes:
            roots = [Path(p).expanduser() for p in cfg.paths.data_roots]
            self._scenes[key] = load_scene(
                scene_id, cfg.scene.registry or None, roots, density=cfg.scene.density
            )
        return self._scenes[key]

    def body(self, cfg: Config) -> BodyModel:
        b = cfg.body
        key = (b.model_path, b.gender, b.num_betas, b.num_expression)
        if key not in self._bodies:
            options = BodyModelOptions(
                b.model_path,
                gender=b.gender,  # type: ignore[arg-type]
                num_betas=b.num_betas,
                num_expression=b.num_expression,
            )
            self._bodies[key] = load_body_model(options, device=self.device)
        return self._bodies[key]

    def avatar(self, cfg: Config) -> GaussianAvatar:
        b = cfg.body
        key = (b.model_path, b.gender, b.num_betas, b.num_expression, b.avatar_path, b.avatar_gaussians)
        if key not in self._avatars:
            options = AvatarOptions(num_gaussians=b.avatar_gaussians)
            self._avatars[key] = make_avatar(self.body(cfg), b.avatar_path, options).to(self.device)
        return self._avatars[key]


def evaluate_motion(
    motion: EvalMotion,
    made_with: Config,
    options: PhysicalOptions,
    assets: _Assets,
    clip: ClipModel | None,
) -> dict[str, float]:
    """Physical metrics, and CLIP metrics when a CLIP model is given, of one sequence."""
    scene = assets.scene(motion.scene_id, made_with)
    values = physical_metrics(motion, scene, assets.body(made_with), options)
    if clip is not None:
        frames = render_motion_frames(
            motion, scene, assets.avatar(made_with), render_options(made_with), assets.device
        )
        values.update(clip_metrics(clip, frames, motion.prompts))
    return values


def _row(motion: EvalMotion, values: dict[str, float]) -> EvalRow:
    name = Path(motion.source).name if motion.source else motion.scene_id
    prompt = " → ".join(dict.fromkeys(motion.prompts))
    return EvalRow(
        name, motion.scene_id, motion.object_id or "", prompt, motion.seed, motion.num_frames, values
    )


def evaluate_results(
    paths: Sequence[str | Path],
    cfg: Config,
    device: torch.device | str = "cpu",
    use_clip: bool | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> EvalTable:
    """The evaluation table of result directories. use_clip: None = when metrics.clip_weights is set,
    True = required (ConfigError naming metrics.clip_weights if unset), False = never."""
    device = torch.device(device)
    want_clip = bool(cfg.metrics.clip_weights) if use_clip is None else use_clip
    clip = clip_from_config(cfg, device) if want_clip else None
    assets, options = _Assets(device), PhysicalOptions.from_config(cfg)
    motions, values = [], []
    for path in paths:
        motion, made_with = read_result_motion(path)
        motions.append(motion)
        values.append(evaluate_motion(motion, made_with, options, assets, clip))
        log(f"{Path(path).name}: " + ", ".join(f"{k} {v:.4g}" for k, v in values[-1].items()))
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, motion in enumerate(motions):
        groups[motion.input_key].append(i)
    group_diversity: dict[bool, list[float]] = {False: [], True: []}
    for members in (m for m in groups.values() if len(m) > 1):
        value = diversity([motions[i].joints for i in members])
        group_diversity[bool(motions[members[0]].object_id)].append(value)
        for i in members:
            values[i] = {**values[i], "diversity": value}
    rows = [_row(motion, v) for motion, v in zip(motions, values, strict=True)]
    means = [
        mean_row(f"mean ({label})", chosen, group_diversity[dynamic], dynamic)
        for dynamic, label in ((False, "static"), (True, "dynamic"))
        if (chosen := [r for r in rows if r.dynamic == dynamic])
    ]
    notes = [] if clip is not None else [NO_CLIP_NOTE]
    if not any(len(m) > 1 for m in groups.values()):
        notes.append("Div n/a: diversity needs at least 2 results of one input (scene, object, prompts)")
    return EvalTable(rows, means, notes)
