"""Lets torchvision import beside torch's CPU build (open_clip, timm, transformers and diffusers need it).

PyPI's torchvision wheels carry a CUDA extension that does not load beside the CPU torch; `import
torchvision` then fails registering fake kernels for `torchvision::nms` and `torchvision::qnms`. When (and
only when) the extension cannot load, those two schemas are declared first. torchvision's compiled ops stay
unavailable; nothing in this project calls them.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
_library: torch.library.Library | None = None


def _extension_loads(package_dir: Path) -> bool:
    """True when torchvision's own `_C` extension loads into this torch."""
    for path in package_dir.glob("_C*.so"):
        try:
            torch.ops.load_library(str(path))
        except OSError:
            return False
        return True
    return False


def declare_missing_ops() -> None:
    """Declare torchvision's nms schemas when its extension cannot provide them (idempotent)."""
    global _library
    if _library is not None:
        return
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return
    if _extension_loads(Path(next(iter(spec.submodule_search_locations)))):
        return
    _library = torch.library.Library("torchvision", "FRAGMENT")
    for schema in _SCHEMAS:
        _library.define(schema)
