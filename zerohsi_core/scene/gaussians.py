"""3D Gaussian clouds as stored by 3DGS (Eq. 1-2): means, wxyz rotations, log-scales, opacity logits, SH."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from zerohsi_core.errors import InputError
from zerohsi_core.geometry.rotations import matrix_to_quat_wxyz, quat_multiply_wxyz
from zerohsi_core.scene.sh import SH_C0, rotate_sh


def rgb_to_sh_dc(rgb: torch.Tensor) -> torch.Tensor:
    """DC SH coefficient whose rendered colour is rgb (3DGS: c = C0 * dc + 0.5). [..., 3] -> [..., 3]."""
    return (rgb - 0.5) / SH_C0


def sh_dc_to_rgb(dc: torch.Tensor) -> torch.Tensor:
    """Colour of a DC SH coefficient (inverse of rgb_to_sh_dc). [..., 3] -> [..., 3]."""
    return dc * SH_C0 + 0.5


def check_shapes(owner: object, expected: dict[str, tuple[int, ...]]) -> None:
    """InputError naming the first of owner's tensor fields whose shape is not the expected one."""
    for name, shape in expected.items():
        got = tuple(getattr(owner, name).shape)
        if got != shape:
            raise InputError(f"{type(owner).__name__}.{name} has shape {got}, expected {shape}")


@dataclass(frozen=True, eq=False)
class GaussianCloud:
    """N anisotropic Gaussians; Sigma = R S S^T R^T, R from quats, S = diag(exp(log_scales)) (Eq. 1)."""

    means: torch.Tensor  # [N, 3] metres
    quats: torch.Tensor  # [N, 4] wxyz, unnormalised allowed
    log_scales: torch.Tensor  # [N, 3]
    opacity_logits: torch.Tensor  # [N]
    sh: torch.Tensor  # [N, K, 3], K = (degree + 1)^2, sh[:, 0] = DC

    def __post_init__(self) -> None:
        n = self.means.shape[0] if self.means.dim() == 2 else -1
        check_shapes(self, {"means": (n, 3), "quats": (n, 4), "log_scales": (n, 3), "opacity_logits": (n,)})
        k = self.sh.shape[1] if self.sh.dim() == 3 else 0
        if self.sh.dim() != 3 or self.sh.shape[0] != n or self.sh.shape[2] != 3 or math.isqrt(k) ** 2 != k:
            raise InputError(
                f"GaussianCloud.sh has shape {tuple(self.sh.shape)}, expected ({n}, (degree+1)^2, 3)"
            )

    @property
    def num(self) -> int:
        """Number of Gaussians."""
        return self.means.shape[0]

    def __len__(self) -> int:
        return self.num

    @property
    def sh_degree(self) -> int:
        """SH degree, from K = (degree + 1)^2."""
        return math.isqrt(self.sh.shape[1]) - 1

    @property
    def scales(self) -> torch.Tensor:
        """Per-axis standard deviations in metres. [N, 3]"""
        return torch.exp(self.log_scales)

    @property
    def opacities(self) -> torch.Tensor:
        """Opacities in (0, 1). [N]"""
        return torch.sigmoid(self.opacity_logits)

    @property
    def device(self) -> torch.device:
        """Device of the tensors."""
        return self.means.device

    def _map(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> GaussianCloud:
        return GaussianCloud(
            fn(self.means), fn(self.quats), fn(self.log_scales), fn(self.opacity_logits), fn(self.sh)
        )

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> GaussianCloud:
        """The same cloud on another device and/or floating dtype."""
        return self._map(lambda t: t.to(device=device, dtype=dtype))

    def detach(self) -> GaussianCloud:
        """The same values, cut from the autograd graph."""
        return self._map(torch.Tensor.detach)

    def subset(self, idx: torch.Tensor | slice | Sequence[int]) -> GaussianCloud:
        """Gaussians selected by an index tensor, boolean mask or slice."""
        if not isinstance(idx, (torch.Tensor, slice)):
            idx = torch.as_tensor(idx, dtype=torch.long, device=self.device)
        return self._map(lambda t: t[idx])

    def transformed(self, T: torch.Tensor) -> GaussianCloud:
        """The cloud moved by a rigid T [4,4]: means, rotations and SH bands follow; differentiable in T."""
        T = T.to(device=self.device, dtype=self.means.dtype)
        R, t = T[:3, :3], T[:3, 3]
        q = matrix_to_quat_wxyz(R).expand(self.num, 4)  # [N, 4]
        return GaussianCloud(
            means=self.means @ R.T + t,
            quats=quat_multiply_wxyz(q, self.quats),
            log_scales=self.log_scales,
            opacity_logits=self.opacity_logits,
            sh=rotate_sh(self.sh, R),
        )

    @classmethod
    def cat(cls, clouds: Sequence[GaussianCloud]) -> GaussianCloud:
        """Concatenation of clouds; lower SH degrees are zero-padded to the highest one."""
        if not clouds:
            raise InputError("GaussianCloud.cat needs at least one cloud")
        k = max(c.sh.shape[1] for c in clouds)
        sh = [torch.nn.functional.pad(c.sh, (0, 0, 0, k - c.sh.shape[1])) for c in clouds]
        return cls(
            means=torch.cat([c.means for c in clouds]),
            quats=torch.cat([c.quats for c in clouds]),
            log_scales=torch.cat([c.log_scales for c in clouds]),
            opacity_logits=torch.cat([c.opacity_logits for c in clouds]),
            sh=torch.cat(sh),
        )
