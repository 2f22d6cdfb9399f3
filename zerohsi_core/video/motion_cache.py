"""Written scripted motions, cached by everything that determines them.

A motion is written once (ray casting against the scene mesh: open3d, or scene/sdf.py's exact numpy search
where open3d is missing) and replayed whenever the same request comes again — also on another machine,
after the motion files were copied into its cache (`ZEROHSI_CACHE`). The key covers the scene mesh,
the object and its pose, the start state, seed, frame count, rate, motion options, prompt, body model and
the source of the motion library itself, so a change to any of them writes a new motion.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from zerohsi_core.body.params import SmplxParams
from zerohsi_core.paths import cache_dir
from zerohsi_core.scene.scene import Scene


@functools.cache
def _library_digest() -> bytes:
    """Digest of the motion library's source (read once per process)."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("motion*.py")):
        if path.name != "motion_cache.py":
            digest.update(path.read_bytes())
    return digest.digest()


def motion_key(scene: Scene, request: dict[str, Any], start: SmplxParams, body_id: str) -> str:
    """Hex digest of a motion request (request: object id/pose, seed, frames, fps, options, prompt)."""
    digest = hashlib.sha256(_library_digest())
    digest.update(scene.id.encode())
    digest.update(np.ascontiguousarray(scene.mesh.vertices).tobytes())
    digest.update(np.ascontiguousarray(scene.mesh.faces).tobytes())
    for name in sorted(request):
        value = request[name]
        data = _rounded(value) if isinstance(value, Tensor) else repr(value).encode()
        digest.update(f"{name}=".encode() + data)
    for field in dataclasses.fields(start):
        digest.update(_rounded(getattr(start, field.name)))
    digest.update(body_id.encode())
    return digest.hexdigest()[:32]


def _rounded(value: Tensor) -> bytes:
    """Bytes of a tensor rounded to 1e-6, so a state computed on another device gives the same key."""
    return np.round(value.detach().cpu().double().numpy(), 6).tobytes()


def motion_path(key: str) -> Path:
    """Where the motion of a key is kept."""
    return cache_dir() / "motions" / f"{key}.pt"


def save_motion(key: str, motion: Any) -> Path:
    """Write a ScriptedMotion (atomically: a temporary file renamed into place)."""
    path = motion_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {f.name: getattr(motion, f.name) for f in dataclasses.fields(motion)}
    data["params"] = dataclasses.asdict(motion.params)
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")  # writers never share it
    torch.save(data, tmp)
    tmp.replace(path)
    return path


def load_motion(key: str, motion_type: type) -> Any | None:
    """The cached motion of a key, or None."""
    path = motion_path(key)
    if not path.is_file():
        return None
    data = torch.load(path, weights_only=True)
    data["params"] = SmplxParams(**data["params"])
    return motion_type(**data)
