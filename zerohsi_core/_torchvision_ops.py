"""Lets torchvision import beside torch's CPU build (open_clip, timm, transformers and diffusers need it).

PyPI's torchvision wheels carry a CUDA extension that does not load beside the CPU torch; `import
torchvision` then fails registering fake kernels for `torchvision::nms` and `torchvision::qnms`. An import
hook declares those two schemas right before torchvision is first imported — and only when its extension
cannot load. torchvision's compiled ops stay unavailable; nothing in this project calls them. Importing
zerohsi_core itself stays free of torch.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from pathlib import Path
from typing import Any

_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
_library: Any = None  # torch.library.Library once declared


def _extension_loads(package_dir: Path) -> bool:
    """True when torchvision's own `_C` extension loads into this torch."""
    import torch

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
    import torch

    _library = torch.library.Library("torchvision", "FRAGMENT")
    for schema in _SCHEMAS:
        _library.define(schema)


class _BeforeTorchvision(importlib.abc.MetaPathFinder):
    """Runs `declare_missing_ops` when torchvision is first imported, then leaves the import to the
    regular finders (it never finds a module itself)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "torchvision":
            sys.meta_path.remove(self)
            declare_missing_ops()
        return None


def install_hook() -> None:
    """Arm the hook (once), unless torchvision is already imported (then there is nothing to declare)."""
    if "torchvision" in sys.modules:
        return
    if not any(isinstance(finder, _BeforeTorchvision) for finder in sys.meta_path):
        sys.meta_path.insert(0, _BeforeTorchvision())
