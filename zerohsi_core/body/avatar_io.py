"""Avatar files: one torch file with the options, every appearance tensor, the network weights and the
identity of the body model they were made for; loading checks that the model matches."""

import json
import os
import pickle
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from zerohsi_core.body.avatar import GaussianAvatar
from zerohsi_core.body.avatar_template import AvatarOptions, DefaultAppearance
from zerohsi_core.body.model import BodyModel
from zerohsi_core.body.standin import SIDECAR
from zerohsi_core.errors import AssetError

AVATAR_FORMAT = "zerohsi-gaussian-avatar"
AVATAR_FORMAT_VERSION = 1
CONFIG_KEY = "body.avatar_path"
# Body-model fields that must agree between an avatar file and the loaded model.
_MUST_MATCH = ("kind", "generator_version", "gender", "num_vertices", "num_faces", "template_checksum")


def body_model_signature(model: BodyModel) -> dict[str, Any]:
    """Which body model an avatar belongs to: stand-in (+ generator version) or SMPL-X file, gender,
    coefficient counts, topology and a checksum of the template."""
    sidecar = model.path.parent / SIDECAR
    generator_version = None
    if sidecar.is_file():
        try:
            generator_version = json.loads(sidecar.read_text()).get("generator_version")
        except (OSError, ValueError) as exc:
            raise AssetError(f"unreadable stand-in sidecar {sidecar}: {exc}") from exc
    template = model.layer.v_template.detach().double().cpu()
    return {
        "kind": "standin" if generator_version is not None else "smplx",
        "generator_version": generator_version,
        "model_path": str(model.path),
        "gender": model.options.gender,
        "num_betas": model.num_betas,
        "num_expression": model.num_expression,
        "num_vertices": model.num_vertices,
        "num_faces": int(model.faces.shape[0]),
        "template_checksum": round(float(template.abs().sum()), 4),
    }


def save_avatar(avatar: GaussianAvatar, path: str | Path) -> Path:
    """Write the avatar (options, tensors, network weights, body-model signature) to one file, atomically."""
    path = Path(path).expanduser()
    payload = {
        "format": AVATAR_FORMAT,
        "version": AVATAR_FORMAT_VERSION,
        "options": asdict(avatar.options),
        "body_model": body_model_signature(avatar.body),
        "state_dict": {k: v.detach().cpu() for k, v in avatar.state_dict().items()},
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        torch.save(payload, tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise AssetError(f"cannot write the avatar file {path}: {exc}") from exc
    return path


def _options_from_dict(values: dict[str, Any]) -> AvatarOptions:
    appearance = DefaultAppearance(**values.get("appearance", {}))
    return AvatarOptions(**{**values, "appearance": appearance})


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise AssetError(f"avatar file {path} does not exist; fix `{CONFIG_KEY}` (empty = default avatar)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError) as exc:
        raise AssetError(f"cannot read the avatar file {path} (`{CONFIG_KEY}`): {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != AVATAR_FORMAT:
        raise AssetError(f"{path} (`{CONFIG_KEY}`) is not a zerohsi avatar file")
    if payload.get("version") != AVATAR_FORMAT_VERSION:
        raise AssetError(
            f"avatar file {path} (`{CONFIG_KEY}`) has format version {payload.get('version')}; this version "
            f"reads {AVATAR_FORMAT_VERSION}: fit the avatar again with `zerohsi avatar fit`"
        )
    return payload


def load_avatar(path: str | Path, model: BodyModel) -> GaussianAvatar:
    """Read an avatar file for `model`; AssetError naming `body.avatar_path` when it is missing, unreadable
    or made for another body model."""
    path = Path(path).expanduser()
    payload = _read(path)
    saved, current = payload["body_model"], body_model_signature(model)
    wrong = [k for k in _MUST_MATCH if saved.get(k) != current[k]]
    if wrong:
        details = ", ".join(f"{k}: file {saved.get(k)!r} vs model {current[k]!r}" for k in wrong)
        raise AssetError(
            f"avatar file {path} (`{CONFIG_KEY}`) was made for another body model ({details}); use the body "
            f"model it was fitted with (body.model_path, body.gender) or fit a new avatar"
        )
    try:
        avatar = GaussianAvatar(model, _options_from_dict(payload["options"]))
        avatar.load_state_dict(payload["state_dict"])
    except (TypeError, RuntimeError, KeyError) as exc:
        raise AssetError(f"avatar file {path} (`{CONFIG_KEY}`) is malformed: {exc}") from exc
    return avatar


def make_avatar(
    model: BodyModel, avatar_path: str | Path = "", options: AvatarOptions | None = None
) -> GaussianAvatar:
    """The avatar of config key `body.avatar_path`: loaded from the file, or ("") the procedural default."""
    if str(avatar_path):
        return load_avatar(avatar_path, model)
    return GaussianAvatar(model, options)
