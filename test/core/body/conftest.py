"""Shared fixtures: the stand-in model is generated once per session (in the real cache, reused)."""

from pathlib import Path

import pytest

from zerohsi_core.body.model import BodyModel, BodyModelOptions, load_body_model
from zerohsi_core.body.standin import ensure_standin_model


@pytest.fixture(scope="session")
def standin_dir() -> Path:
    return ensure_standin_model()


@pytest.fixture(scope="session")
def body_model(standin_dir: Path) -> BodyModel:
    return load_body_model(BodyModelOptions(model_path=str(standin_dir)))
