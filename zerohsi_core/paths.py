"""Where zerohsi_core keeps generated assets (stand-in body model, demo scenes, caches)."""

import os
from pathlib import Path


def cache_dir() -> Path:
    """Cache root: $ZEROHSI_CACHE, else ~/.cache/zerohsi; created on first use."""
    root = Path(os.environ.get("ZEROHSI_CACHE") or Path.home() / ".cache" / "zerohsi").expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root
