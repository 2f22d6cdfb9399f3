"""Test-wide settings: a private cache for generated assets, deterministic torch."""

import os
from pathlib import Path

import pytest
import torch

# Generated assets (stand-in body model, demo scenes) are cached once per test run in a folder that a
# developer can keep between runs (ZEROHSI_TEST_CACHE) — never in the user's real cache.
_DEFAULT_CACHE = Path(__file__).resolve().parents[1] / "build" / "test-cache"
_CACHE = Path(os.environ.get("ZEROHSI_TEST_CACHE", _DEFAULT_CACHE))
os.environ["ZEROHSI_CACHE"] = str(_CACHE)
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
