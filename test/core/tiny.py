"""End-to-end pipeline tests: config overrides that make a whole clip run in seconds on 2 CPU cores, and
the same loaded pipeline under other settings."""

from zerohsi_core.config import apply_overrides, parse_overrides
from zerohsi_core.pipeline import Pipeline

TINY = [
    "render.width=48",
    "render.height=48",
    "view.width=32",
    "view.height=32",
    "scene.density=0.05",
    "body.avatar_gaussians=800",
    "video.num_frames=3",
    "tracking.iters=2",
    "hsi.iters=3",
    "hsi.warmup_iters=1",
    "refine.iters=3",
]


def with_overrides(pipeline: Pipeline, *overrides: str) -> Pipeline:
    """The same loaded models under another config (only config-read settings differ)."""
    other = Pipeline.__new__(Pipeline)
    other.__dict__.update(pipeline.__dict__)
    other.cfg = apply_overrides(pipeline.cfg, parse_overrides(list(overrides)))
    return other
