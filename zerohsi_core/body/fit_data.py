"""Inputs of `zerohsi avatar fit`: a folder of images plus one spec file with, per image, the camera (K,
world_to_cam) and world-frame SMPL-X parameters: JSON {"frames": [{"image": name, "K": ..., ...}]} or an
npz of arrays stacked over the images (optional "images": names; a value of one image's shape is shared)."""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from zerohsi_core.body.model import BodyModel
from zerohsi_core.body.params import SmplxParams
from zerohsi_core.errors import AssetError, InputError
from zerohsi_core.geometry.camera import Camera

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_REQUIRED = ("K", "world_to_cam", "global_orient", "transl")  # per image (or shared) in the spec
_OPTIONAL_ZERO = (  # zero when absent
    "left_hand_pose",
    "right_hand_pose",
    "jaw_pose",
    "leye_pose",
    "reye_pose",
    "expression",
)


@dataclass(frozen=True)
class FitInputs:
    """Images with their cameras and SMPL-X parameters, ready for `fit_avatar`."""

    images: Tensor  # [V, H, W, 3] in [0, 1]
    masks: Tensor | None  # [V, H, W] in [0, 1]
    params: SmplxParams  # batch V, world frame
    cameras: list[Camera]
    names: list[str]  # image file names


def _read_spec(path: Path) -> tuple[list[str] | None, dict[str, np.ndarray]]:
    """Image names (or None: the folder's sorted images) and stacked per-image arrays."""
    if not path.is_file():
        raise AssetError(f"fit spec {path} does not exist")
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: np.asarray(data[k]) for k in data.files}
            names = [str(n) for n in arrays.pop("images")] if "images" in arrays else None
            return names, arrays
        frames = json.loads(path.read_text())["frames"]
        names = [str(f["image"]) for f in frames]
        keys = set().union(*(f.keys() for f in frames)) - {"image"}
        return names, {k: np.stack([np.asarray(f[k], dtype=np.float64) for f in frames]) for k in keys}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AssetError(
            f"cannot read the fit spec {path}: {exc}; expected JSON {{'frames': [{{'image', 'K', "
            "'world_to_cam', 'global_orient', 'transl', 'body_pose', ...}]}} or an npz of stacked arrays"
        ) from exc


def _image(path: Path, mode: str) -> np.ndarray:
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert(mode), dtype=np.float32) / 255.0
    except OSError as exc:
        raise AssetError(f"cannot read image {path}: {exc}") from exc


def _stack(images: list[np.ndarray]) -> np.ndarray:
    if len({img.shape for img in images}) != 1:
        raise InputError(
            f"all images (and masks) must have one size, got {sorted({i.shape for i in images})}"
        )
    return np.stack(images)


def _field(arrays: dict[str, np.ndarray], key: str, shape: tuple[int, ...], v: int) -> np.ndarray:
    """arrays[key] as [V, *shape]: given per image (any layout of the same size) or once for all."""
    value = np.asarray(arrays[key], dtype=np.float64)
    size = int(np.prod(shape))
    if value.size == size:
        return np.broadcast_to(value.reshape(shape), (v, *shape))
    if value.size == v * size:
        return value.reshape(v, *shape)
    raise InputError(
        f"fit spec '{key}' must hold {v} x {shape} values (or {shape} shared), got {value.shape}"
    )


def _params(arrays: dict[str, np.ndarray], model: BodyModel, v: int) -> SmplxParams:
    params = model.zeros(v)
    keys = [k for k in ("global_orient", "transl", "body_pose", "betas", *_OPTIONAL_ZERO) if k in arrays]
    shapes = {k: tuple(getattr(params, k).shape[1:]) for k in keys}
    tensors = {
        k: torch.tensor(_field(arrays, k, shapes[k], v), dtype=model.dtype, device=model.device) for k in keys
    }
    return params.replace(**tensors).validate()


def load_fit_inputs(
    image_dir: str | Path, spec: str | Path, model: BodyModel, mask_dir: str | Path | None = None
) -> FitInputs:
    """Read images (and optional same-named masks, white = human) and the spec into `FitInputs`."""
    image_dir = Path(image_dir)
    if not image_dir.is_dir():
        raise AssetError(f"image folder {image_dir} does not exist")
    names, arrays = _read_spec(Path(spec))
    if names is None:
        names = sorted(p.name for p in image_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    missing = [k for k in _REQUIRED if k not in arrays]
    if missing or not names:
        raise InputError(f"fit spec {spec} lacks {missing or 'images'}; every image needs K, world_to_cam, "
                         "global_orient, transl (body_pose, betas and hand poses are optional)")  # fmt: skip
    v = len(names)
    images = _stack([_image(image_dir / n, "RGB") for n in names])  # [V, H, W, 3]
    masks = None
    if mask_dir is not None:
        masks = torch.from_numpy(_stack([_image(Path(mask_dir) / n, "L") for n in names]))  # [V, H, W]
        if masks.shape != images.shape[:3]:
            raise InputError(f"masks are {tuple(masks.shape[1:])} pixels, images {images.shape[1:3]}")
    h, w = images.shape[1:3]
    K = torch.tensor(_field(arrays, "K", (3, 3), v), dtype=torch.float32)  # [V, 3, 3]
    w2c = torch.tensor(_field(arrays, "world_to_cam", (4, 4), v), dtype=torch.float32)  # [V, 4, 4]
    cameras = [Camera(K[i], w2c[i], w, h) for i in range(v)]
    return FitInputs(torch.from_numpy(images), masks, _params(arrays, model, v), cameras, names)
