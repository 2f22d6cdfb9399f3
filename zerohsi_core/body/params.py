"""SMPL-X parameters of a batch of bodies as one frozen dataclass (axis-angle rotations, metres)."""

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

import torch
from torch import Tensor

from zerohsi_core.body.joints import NUM_BODY_POSE_JOINTS, NUM_HAND_JOINTS
from zerohsi_core.errors import InputError

Index = int | slice | Sequence[int] | Tensor


@dataclass(frozen=True)
class SmplxParams:
    """SMPL-X parameters; rotations axis-angle (radians). The pipeline keeps them world-frame (z-up,
    AMASS-style: φ and r place the native y-up model in the world, see body/pose.py)."""

    betas: Tensor  # [B, nb] shape coefficients
    global_orient: Tensor  # [B, 3] root orientation φ
    transl: Tensor  # [B, 3] root translation r, metres
    body_pose: Tensor  # [B, 21, 3] body pose Θ (joints 1..21)
    left_hand_pose: Tensor  # [B, 15, 3]
    right_hand_pose: Tensor  # [B, 15, 3]
    jaw_pose: Tensor  # [B, 3]
    leye_pose: Tensor  # [B, 3]
    reye_pose: Tensor  # [B, 3]
    expression: Tensor  # [B, ne]

    @classmethod
    def zeros(
        cls,
        batch: int,
        num_betas: int = 10,
        num_expression: int = 10,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> "SmplxParams":
        """Rest pose, mean shape, neutral face, at the origin, for `batch` bodies."""

        def z(*shape: int) -> Tensor:
            return torch.zeros(batch, *shape, dtype=dtype, device=device)

        return cls(
            betas=z(num_betas),
            global_orient=z(3),
            transl=z(3),
            body_pose=z(NUM_BODY_POSE_JOINTS, 3),
            left_hand_pose=z(NUM_HAND_JOINTS, 3),
            right_hand_pose=z(NUM_HAND_JOINTS, 3),
            jaw_pose=z(3),
            leye_pose=z(3),
            reye_pose=z(3),
            expression=z(num_expression),
        )

    @property
    def batch_size(self) -> int:
        return int(self.global_orient.shape[0])

    @property
    def num_betas(self) -> int:
        return int(self.betas.shape[-1])

    @property
    def num_expression(self) -> int:
        return int(self.expression.shape[-1])

    def _expected_shapes(self) -> dict[str, tuple[int, ...]]:
        b = self.batch_size
        return {
            "betas": (b, self.num_betas),
            "global_orient": (b, 3),
            "transl": (b, 3),
            "body_pose": (b, NUM_BODY_POSE_JOINTS, 3),
            "left_hand_pose": (b, NUM_HAND_JOINTS, 3),
            "right_hand_pose": (b, NUM_HAND_JOINTS, 3),
            "jaw_pose": (b, 3),
            "leye_pose": (b, 3),
            "reye_pose": (b, 3),
            "expression": (b, self.num_expression),
        }

    def validate(self, finite: bool = True) -> "SmplxParams":
        """Check shapes, batch consistency, dtype and (finite: one device sync per field) finiteness;
        raise InputError naming the field."""
        if self.global_orient.dim() != 2:
            raise InputError(f"global_orient must be [B, 3], got {tuple(self.global_orient.shape)}")
        dtype, device = self.global_orient.dtype, self.global_orient.device
        for name, shape in self._expected_shapes().items():
            value = getattr(self, name)
            if not isinstance(value, Tensor):
                raise InputError(f"SmplxParams.{name} must be a torch.Tensor, got {type(value).__name__}")
            if tuple(value.shape) != shape:
                raise InputError(f"SmplxParams.{name} must have shape {shape}, got {tuple(value.shape)}")
            if value.dtype != dtype or not value.is_floating_point():
                raise InputError(f"SmplxParams.{name} has dtype {value.dtype}; all fields need {dtype}")
            if value.device != device:
                raise InputError(f"SmplxParams.{name} is on {value.device}; all fields need {device}")
            if finite and not bool(torch.isfinite(value).all()):
                raise InputError(f"SmplxParams.{name} contains NaN or infinite values")
        return self

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> "SmplxParams":
        """Move/cast every field."""
        return self._map(lambda t: t.to(device=device, dtype=dtype))

    def detach(self) -> "SmplxParams":
        """Detach every field from the autograd graph."""
        return self._map(Tensor.detach)

    def index(self, t: Index) -> "SmplxParams":
        """Select bodies along the batch axis; an int keeps the batch axis (batch of one)."""
        if isinstance(t, int):
            t = slice(t, t + 1 if t != -1 else None)
        elif not isinstance(t, slice | Tensor):
            t = torch.as_tensor(list(t), dtype=torch.long, device=self.global_orient.device)
        return self._map(lambda v: v[t])

    @classmethod
    def cat(cls, items: Sequence["SmplxParams"]) -> "SmplxParams":
        """Concatenate along the batch axis."""
        if not items:
            raise InputError("SmplxParams.cat needs at least one item")
        return cls(**{f.name: torch.cat([getattr(p, f.name) for p in items]) for f in fields(cls)})

    def replace(self, **changes: Tensor) -> "SmplxParams":
        """A copy with some fields replaced."""
        return replace(self, **changes)

    def _map(self, fn) -> "SmplxParams":
        return SmplxParams(**{f.name: fn(getattr(self, f.name)) for f in fields(self)})
