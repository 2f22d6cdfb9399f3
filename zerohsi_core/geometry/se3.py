"""Rigid transforms as homogeneous 4×4 matrices [...,4,4], batched and differentiable.

A transform T maps points p to R p + t. Twists for se3_exp / se3_log are [v, ω] [...,6]:
translational part first, then the rotation as axis-angle (Sophus order).
"""

import torch
from torch import Tensor

from zerohsi_core.geometry.rotations import (
    SMALL_ANGLE_SQ,
    angle_coefficient,
    axis_angle_to_matrix,
    check_shape,
    matrix_to_axis_angle,
    one_minus_cos_coefficient,
    rot6d_to_matrix,
    skew,
)

# (θ − sin θ) / θ³  and  (1 − θ sin θ / (2 (1 − cos θ))) / θ²  as series in θ².
_V_CUBIC_TAYLOR = (1 / 6, -1 / 120, 1 / 5040, -1 / 362880, 1 / 39916800)
_V_INV_TAYLOR = (1 / 12, 1 / 720, 1 / 30240, 1 / 1209600, 1 / 47900160)


def make_se3(R: Tensor, t: Tensor) -> Tensor:
    """Rotation R [...,3,3] and translation t [...,3] (leading dims broadcast) -> T [...,4,4]."""
    check_shape(R, (3, 3), "R")
    check_shape(t, (3,), "t")
    lead = torch.broadcast_shapes(R.shape[:-2], t.shape[:-1])
    top = torch.cat([R.expand(*lead, 3, 3), t.expand(*lead, 3)[..., None]], dim=-1)  # [..., 3, 4]
    bottom = torch.zeros(*lead, 1, 4, dtype=top.dtype, device=top.device)
    bottom[..., 0, 3] = 1
    return torch.cat([top, bottom], dim=-2)


def se3_inverse(T: Tensor) -> Tensor:
    """Inverse of rigid transforms T [...,4,4]: (Rᵀ, −Rᵀ t), exact for orthonormal R."""
    check_shape(T, (4, 4), "T")
    R_inv = T[..., :3, :3].transpose(-1, -2)
    return make_se3(R_inv, -(R_inv @ T[..., :3, 3:]).squeeze(-1))


def se3_compose(a: Tensor, b: Tensor) -> Tensor:
    """a ∘ b = a @ b for [...,4,4] (apply b first, then a); leading dims broadcast."""
    check_shape(a, (4, 4), "a")
    check_shape(b, (4, 4), "b")
    return a @ b


def transform_points(T: Tensor, points: Tensor) -> Tensor:
    """Apply T [...,4,4] to points [...,N,3] -> [...,N,3] (leading dims broadcast)."""
    check_shape(T, (4, 4), "T")
    check_shape(points, (3,), "points")
    return points @ T[..., :3, :3].transpose(-1, -2) + T[..., None, :3, 3]


def se3_from_rot6d(rot6d: Tensor, t: Tensor) -> Tensor:
    """6D rotation [...,6] (layout of rot6d_to_matrix) and translation [...,3] -> T [...,4,4]."""
    return make_se3(rot6d_to_matrix(rot6d), t)


def se3_exp(twist: Tensor) -> Tensor:
    """Exponential map of twists [v, ω] [...,6] -> T [...,4,4]; t = V v with the SO(3) left Jacobian V."""
    check_shape(twist, (6,), "twist")
    v, omega = twist[..., :3], twist[..., 3:]
    theta2 = (omega * omega).sum(-1)  # [...]
    b = one_minus_cos_coefficient(theta2)[..., None, None]
    c = angle_coefficient(theta2, lambda x: (x - torch.sin(x)) / x**3, _V_CUBIC_TAYLOR, SMALL_ANGLE_SQ)
    k = skew(omega)  # [..., 3, 3]
    eye = torch.eye(3, dtype=twist.dtype, device=twist.device)
    V = eye + b * k + c[..., None, None] * (k @ k)
    return make_se3(axis_angle_to_matrix(omega), (V @ v[..., None]).squeeze(-1))


def se3_log(T: Tensor) -> Tensor:
    """Logarithm of rigid transforms T [...,4,4] -> twists [v, ω] [...,6], rotation angle in [0, π]."""
    check_shape(T, (4, 4), "T")
    omega = matrix_to_axis_angle(T[..., :3, :3])  # [..., 3]
    theta2 = (omega * omega).sum(-1)
    # 1/θ² − cot(θ/2) / (2θ): stays finite up to θ = π.
    d = angle_coefficient(
        theta2, lambda x: 1 / x**2 - 1 / (2 * x * torch.tan(x / 2)), _V_INV_TAYLOR, SMALL_ANGLE_SQ
    )
    k = skew(omega)
    eye = torch.eye(3, dtype=T.dtype, device=T.device)
    V_inv = eye - 0.5 * k + d[..., None, None] * (k @ k)
    v = (V_inv @ T[..., :3, 3:]).squeeze(-1)
    return torch.cat([v, omega], dim=-1)
