"""The video backends by name: `create_video_generator(cfg.video.backend, cfg)`.

Each backend module registers its factory `(cfg: Config) -> VideoGenerator` on `VIDEO_BACKENDS`; this module
imports them all (heavy libraries such as diffusers load only when a backend is built).
"""

from __future__ import annotations

import importlib

from zerohsi_core.config import Config
from zerohsi_core.registry import Registry
from zerohsi_core.video.base import VideoGenerator

VIDEO_BACKENDS = Registry[VideoGenerator]("video")
BACKEND_MODULES = (
    "file",
    "kling",
    "wan",
    "scripted",
)  # modules of zerohsi_core.video that register a backend

for _module in BACKEND_MODULES:
    importlib.import_module(f"{__package__}.{_module}")


def create_video_generator(name: str, cfg: Config) -> VideoGenerator:
    """Build the backend `name` from the config; BackendError listing the known names if there is none."""
    return VIDEO_BACKENDS.create(name, cfg)
