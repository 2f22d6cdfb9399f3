"""VPoser v2 pose prior (human_body_prior V02_05), reimplemented so official checkpoints load unchanged.

The PyPI `human-body-prior` is VPoser v1 and does not run on current torch (see docs/BODY.md); this
module rebuilds the v2 network with the same module layout, so a checkpoint's `vp_model.*` state dict
keys map one to one. Used by the refinement stage (paper Sec. 3.5, Eq. 15-16).
"""

import pickle
import types
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zerohsi_core.errors import AssetError
from zerohsi_core.geometry.rotations import matrix_to_axis_angle, rot6d_to_matrix

VPOSER_URL = "https://smpl-x.is.tue.mpg.de"
STATE_PREFIX = "vp_model."  # the Lightning trainer stored the network as `self.vp_model`
NUM_POSE_JOINTS = 21


@dataclass(frozen=True)
class VPoserOptions:
    """Network size; V02_05 uses latentD 32 and num_neurons 512."""

    latent_dim: int = 32
    num_neurons: int = 512
    dropout: float = 0.1


@dataclass(frozen=True)
class VPoserDecoded:
    """Decoded body poses."""

    pose_body: Tensor  # [B, 21, 3] axis-angle
    pose_body_matrot: Tensor  # [B, 21, 9] row-major rotation matrices


class _Flatten(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], -1)


class _NormalHead(nn.Module):
    """Posterior q(z | pose) = Normal(mu(h), softplus(logvar(h))) (the official naming kept)."""

    def __init__(self, num_in: int, latent_dim: int) -> None:
        super().__init__()
        self.mu = nn.Linear(num_in, latent_dim)
        self.logvar = nn.Linear(num_in, latent_dim)

    def forward(self, h: Tensor) -> torch.distributions.Normal:
        return torch.distributions.Normal(self.mu(h), F.softplus(self.logvar(h)))


class _Rot6dDecoder(nn.Module):
    """VPoser's 6D -> rotation (Gram-Schmidt on the two columns of a row-major 3x2 block)."""

    def forward(self, x: Tensor) -> Tensor:
        return rot6d_to_matrix(x.reshape(-1, 6))  # [B * 21, 3, 3]


class VPoser(nn.Module):
    """VPoser v2: encoder pose [B, 21, 3] -> Normal over z [B, 32]; decoder z -> 21 rotations."""

    def __init__(self, options: VPoserOptions | None = None) -> None:
        super().__init__()
        o = options or VPoserOptions()
        n_in, hidden = NUM_POSE_JOINTS * 3, o.num_neurons
        self.latent_dim = o.latent_dim
        # layer indices match the official nn.Sequential, hence the state dict keys
        self.encoder_net = nn.Sequential(
            _Flatten(),
            nn.BatchNorm1d(n_in),
            nn.Linear(n_in, hidden),
            nn.LeakyReLU(),
            nn.BatchNorm1d(hidden),
            nn.Dropout(o.dropout),
            nn.Linear(hidden, hidden),
            nn.Linear(hidden, hidden),
            _NormalHead(hidden, o.latent_dim),
        )
        self.decoder_net = nn.Sequential(
            nn.Linear(o.latent_dim, hidden),
            nn.LeakyReLU(),
            nn.Dropout(o.dropout),
            nn.Linear(hidden, hidden),
            nn.LeakyReLU(),
            nn.Linear(hidden, NUM_POSE_JOINTS * 6),
            _Rot6dDecoder(),
        )

    def encode(self, pose_body: Tensor) -> torch.distributions.Normal:
        """q(z | Θ) for body poses [B, 21, 3] or [B, 63] (axis-angle)."""
        return self.encoder_net(pose_body)

    def decode(self, z: Tensor) -> VPoserDecoded:
        """Body poses from latents z [B, 32]."""
        b = z.shape[0]
        matrot = self.decoder_net(z)  # [B * 21, 3, 3]
        pose = matrix_to_axis_angle(matrot).reshape(b, NUM_POSE_JOINTS, 3)
        return VPoserDecoded(pose_body=pose, pose_body_matrot=matrot.reshape(b, NUM_POSE_JOINTS, 9))

    def forward(self, pose_body: Tensor) -> VPoserDecoded:
        """Reconstruction through the posterior mean (deterministic)."""
        return self.decode(self.encode(pose_body).mean)


class _Opaque:
    """Stand-in for any non-tensor object in a training checkpoint (callbacks, configs); never called."""

    def __new__(cls, *args: object, **kwargs: object) -> "_Opaque":
        return super().__new__(cls)

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def __setstate__(self, state: object) -> None:
        pass


_TENSOR_GLOBALS = {
    ("collections", "OrderedDict"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_parameter"),
    ("torch._utils", "_rebuild_parameter_with_state"),
    ("torch", "Size"),
    ("torch", "device"),
}


class _TensorOnlyUnpickler(pickle.Unpickler):
    """Rebuilds tensors and containers; every other class becomes `_Opaque`, so no foreign code runs."""

    def find_class(self, module: str, name: str) -> object:
        if (module, name) in _TENSOR_GLOBALS:
            return super().find_class(module, name)
        return _Opaque


def _tensor_only_load(file: object, **kwargs: object) -> object:
    return _TensorOnlyUnpickler(file, **kwargs).load()


_tensor_only_pickle = types.ModuleType("zerohsi_tensor_only_pickle")
_tensor_only_pickle.Unpickler = _TensorOnlyUnpickler
_tensor_only_pickle.load = _tensor_only_load  # torch reads legacy headers with pickle_module.load


def _read_checkpoint(path: Path) -> dict:
    """torch.load with weights_only; Lightning checkpoints that pickle classes fall back to a reader that
    keeps only tensors."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        return torch.load(path, map_location="cpu", weights_only=False, pickle_module=_tensor_only_pickle)


def _find_checkpoint(path: Path) -> Path:
    if path.is_file():
        return path
    for folder in (path / "snapshots", path):
        ckpts = sorted(folder.glob("*.ckpt")) if folder.is_dir() else []
        if ckpts:
            return ckpts[-1]  # official names end in epoch/val-loss; the last sorted is the newest epoch
    raise AssetError(
        f"VPoser checkpoint not found at {path}: set the config key `body.vposer_path` to the V02_05 folder "
        f"(with snapshots/*.ckpt) or to a .ckpt file; download 'VPoser v2.0' from {VPOSER_URL}"
    )


def load_vposer(path: str | Path, device: torch.device | str = "cpu") -> VPoser:
    """Load an official VPoser v2 checkpoint (a .ckpt or the V02_05 folder) in eval mode, frozen."""
    if not str(path):
        raise AssetError(f"body.vposer_path is empty: set it to the VPoser v2 folder or .ckpt ({VPOSER_URL})")
    ckpt = _find_checkpoint(Path(path).expanduser())
    try:
        raw = _read_checkpoint(ckpt)
    except (OSError, RuntimeError, pickle.UnpicklingError, EOFError) as exc:
        raise AssetError(
            f"cannot read VPoser checkpoint {ckpt}: {exc} (config key `body.vposer_path`)"
        ) from exc
    state = raw.get("state_dict", raw) if isinstance(raw, dict) else None
    if not isinstance(state, dict):
        raise AssetError(f"{ckpt} holds no state_dict; `body.vposer_path` must be a VPoser v2 checkpoint")
    weights = {k[len(STATE_PREFIX) :]: v for k, v in state.items() if k.startswith(STATE_PREFIX)}
    if "decoder_net.0.weight" not in weights:
        raise AssetError(
            f"{ckpt} has no `{STATE_PREFIX}decoder_net.*` weights; is it a VPoser v2 checkpoint?"
        )
    hidden, latent = weights["decoder_net.0.weight"].shape
    model = VPoser(VPoserOptions(latent_dim=int(latent), num_neurons=int(hidden)))
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as exc:
        raise AssetError(f"{ckpt} does not match the VPoser v2 layout: {exc}") from exc
    model.requires_grad_(False)
    return model.eval().to(device)


def save_vposer_checkpoint(model: VPoser, path: str | Path) -> Path:
    """Write `model` in the official layout: a Lightning-style dict whose `state_dict` keys carry
    `vp_model.`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {STATE_PREFIX + k: v.detach().cpu() for k, v in model.state_dict().items()}
    hparams = {
        "model_params": {"latentD": model.latent_dim, "num_neurons": model.decoder_net[0].out_features}
    }
    torch.save({"epoch": 0, "global_step": 0, "state_dict": state, "hyper_parameters": hparams}, path)
    return path
