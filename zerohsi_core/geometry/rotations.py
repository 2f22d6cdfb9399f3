"""Rotation conversions: axis-angle, matrices, quaternions (wxyz / xyzw) and the 6D representation.

All functions are batched over leading dimensions, differentiable, and work in float32 and float64.
Quaternions are Hamilton, scalar-first (w, x, y, z) unless the name says xyzw; every function that
produces a rotation quaternion returns it with w >= 0. Small-angle coefficients switch to Taylor
series so that values and gradients stay finite at zero angle.
"""

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from zerohsi_core.errors import InputError

# Below this squared angle the coefficients use their Taylor series (truncation error < 1e-17).
SMALL_ANGLE_SQ = 1e-2
# Below this squared sine of the half angle, atan2(n, w) / n uses its series (truncation < 1e-18).
SMALL_HALF_SINE_SQ = 1e-6


def check_shape(x: Tensor, tail: tuple[int, ...], name: str) -> None:
    """Raise InputError unless the trailing dimensions of `x` equal `tail`."""
    if x.dim() < len(tail) or tuple(x.shape[x.dim() - len(tail) :]) != tail:
        want = ", ".join(["..."] + [str(d) for d in tail])
        raise InputError(f"{name} must have shape [{want}], got {list(x.shape)}")


def _series(x: Tensor, coeffs: Sequence[float]) -> Tensor:
    """Polynomial c0 + c1 x + c2 x² + … by Horner's rule."""
    out = torch.full_like(x, coeffs[-1])
    for c in reversed(coeffs[:-1]):
        out = out * x + c
    return out


def angle_coefficient(
    theta2: Tensor, exact: Callable[[Tensor], Tensor], taylor: Sequence[float], threshold: float
) -> Tensor:
    """f(θ) from θ² [...]: `exact(θ)` above `threshold`, the series in θ² below, with finite gradients."""
    small = theta2 < threshold
    theta = torch.sqrt(torch.where(small, torch.ones_like(theta2), theta2))
    return torch.where(small, _series(theta2, taylor), exact(theta))


# sin θ / θ,  (1 − cos θ) / θ²,  sin(θ/2) / θ  and  cos(θ/2)  as series in θ².
SINC_TAYLOR = (1.0, -1 / 6, 1 / 120, -1 / 5040, 1 / 362880)
ONE_MINUS_COS_TAYLOR = (1 / 2, -1 / 24, 1 / 720, -1 / 40320, 1 / 3628800)
_HALF_SINC_TAYLOR = (1 / 2, -1 / 48, 1 / 3840, -1 / 645120, 1 / 185794560)
_HALF_COS_TAYLOR = (1.0, -1 / 8, 1 / 384, -1 / 46080, 1 / 10321920)
# atan(r) / r as a series in r².
_ATAN_RATIO_TAYLOR = (1.0, -1 / 3, 1 / 5, -1 / 7)


def sinc_coefficient(theta2: Tensor) -> Tensor:
    """sin θ / θ from θ² [...]."""
    return angle_coefficient(theta2, lambda t: torch.sin(t) / t, SINC_TAYLOR, SMALL_ANGLE_SQ)


def one_minus_cos_coefficient(theta2: Tensor) -> Tensor:
    """(1 − cos θ) / θ² from θ² [...], computed as 2 sin²(θ/2) / θ² (no cancellation)."""
    return angle_coefficient(
        theta2, lambda t: 2 * (torch.sin(t / 2) / t) ** 2, ONE_MINUS_COS_TAYLOR, SMALL_ANGLE_SQ
    )


def skew(v: Tensor) -> Tensor:
    """Cross-product matrix [v]× [...,3,3] of v [...,3], so that [v]× u = v × u."""
    x, y, z = v.unbind(-1)
    o = torch.zeros_like(x)
    return torch.stack([o, -z, y, z, o, -x, -y, x, o], dim=-1).unflatten(-1, (3, 3))


def axis_angle_to_matrix(axis_angle: Tensor) -> Tensor:
    """Rodrigues' formula: axis-angle [...,3] (axis × angle in radians) -> rotation matrix [...,3,3]."""
    check_shape(axis_angle, (3,), "axis_angle")
    theta2 = (axis_angle * axis_angle).sum(-1)  # [...]
    a = sinc_coefficient(theta2)[..., None, None]
    b = one_minus_cos_coefficient(theta2)[..., None, None]
    k = skew(axis_angle)  # [..., 3, 3]
    eye = torch.eye(3, dtype=axis_angle.dtype, device=axis_angle.device)
    return eye + a * k + b * (k @ k)


def _canonical(quat_wxyz: Tensor) -> Tensor:
    """The same rotation with w >= 0 (q and −q are one rotation)."""
    return torch.where(quat_wxyz[..., :1] < 0, -quat_wxyz, quat_wxyz)


def quat_wxyz_to_matrix(quat_wxyz: Tensor) -> Tensor:
    """Quaternion [...,4] (w, x, y, z), normalised here (any non-zero norm) -> rotation matrix [...,3,3]."""
    check_shape(quat_wxyz, (4,), "quat_wxyz")
    w, x, y, z = F.normalize(quat_wxyz, dim=-1).unbind(-1)
    rows = (
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    )  # fmt: skip
    return torch.stack(rows, dim=-1).unflatten(-1, (3, 3))


def matrix_to_quat_wxyz(matrix: Tensor) -> Tensor:
    """Rotation matrix [...,3,3] -> unit quaternion [...,4] (w, x, y, z), w >= 0 (Shepperd's method)."""
    check_shape(matrix, (3, 3), "matrix")
    m = matrix
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    # 4w², 4x², 4y², 4z²: the largest (>= 1) gives the best-conditioned branch.
    four_sq = torch.stack(
        [1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], dim=-1
    )  # [..., 4]
    d21, d02, d10 = m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]
    s21, s02, s10 = m[..., 2, 1] + m[..., 1, 2], m[..., 0, 2] + m[..., 2, 0], m[..., 1, 0] + m[..., 0, 1]
    # Row k is 4·q_k·q; the clamp only touches branches that are never selected (their max is >= 1).
    candidates = torch.stack(
        [
            torch.stack([four_sq[..., 0], d21, d02, d10], dim=-1),
            torch.stack([d21, four_sq[..., 1], s10, s02], dim=-1),
            torch.stack([d02, s10, four_sq[..., 2], s21], dim=-1),
            torch.stack([d10, s02, s21, four_sq[..., 3]], dim=-1),
        ],
        dim=-2,
    )  # [..., 4, 4]
    denom = 2 * torch.sqrt(four_sq.clamp(min=1.0))  # [..., 4] = 4·|q_k| on the selected branch
    candidates = candidates / denom[..., None]
    best = four_sq.argmax(dim=-1)[..., None, None].expand(*four_sq.shape[:-1], 1, 4)
    quat = torch.gather(candidates, -2, best).squeeze(-2)  # [..., 4]
    return _canonical(F.normalize(quat, dim=-1))


def quat_xyzw_to_wxyz(quat_xyzw: Tensor) -> Tensor:
    """Reorder [...,4] (x, y, z, w) (ROS, scipy) -> (w, x, y, z) (3DGS, gsplat); values unchanged."""
    check_shape(quat_xyzw, (4,), "quat_xyzw")
    return torch.cat([quat_xyzw[..., 3:], quat_xyzw[..., :3]], dim=-1)


def quat_wxyz_to_xyzw(quat_wxyz: Tensor) -> Tensor:
    """Reorder [...,4] (w, x, y, z) -> (x, y, z, w) (ROS geometry_msgs/Quaternion); values unchanged."""
    check_shape(quat_wxyz, (4,), "quat_wxyz")
    return torch.cat([quat_wxyz[..., 1:], quat_wxyz[..., :1]], dim=-1)


def axis_angle_to_quat_wxyz(axis_angle: Tensor) -> Tensor:
    """Axis-angle [...,3] -> unit quaternion [...,4] (w, x, y, z), w >= 0."""
    check_shape(axis_angle, (3,), "axis_angle")
    theta2 = (axis_angle * axis_angle).sum(-1)  # [...]
    w = angle_coefficient(theta2, lambda t: torch.cos(t / 2), _HALF_COS_TAYLOR, SMALL_ANGLE_SQ)
    half_sinc = angle_coefficient(theta2, lambda t: torch.sin(t / 2) / t, _HALF_SINC_TAYLOR, SMALL_ANGLE_SQ)
    return _canonical(torch.cat([w[..., None], axis_angle * half_sinc[..., None]], dim=-1))


def quat_wxyz_to_axis_angle(quat_wxyz: Tensor) -> Tensor:
    """Quaternion [...,4] (w, x, y, z), normalised here -> axis-angle [...,3] with angle in [0, π]."""
    check_shape(quat_wxyz, (4,), "quat_wxyz")
    q = _canonical(F.normalize(quat_wxyz, dim=-1))
    w, v = q[..., 0], q[..., 1:]
    n2 = (v * v).sum(-1)  # [...] = sin²(θ/2)
    small = n2 < SMALL_HALF_SINE_SQ
    n = torch.sqrt(torch.where(small, torch.ones_like(n2), n2))
    # θ / sin(θ/2) = 2·atan2(n, w) / n; near zero n/w is tiny and w is near 1.
    w_safe = torch.where(small, w, torch.ones_like(w))
    series = 2 / w_safe * _series(n2 / (w_safe * w_safe), _ATAN_RATIO_TAYLOR)
    scale = torch.where(small, series, 2 * torch.atan2(n, w) / n)
    return v * scale[..., None]


def matrix_to_axis_angle(matrix: Tensor) -> Tensor:
    """Rotation matrix [...,3,3] -> axis-angle [...,3], angle in [0, π]; stable near 0 and π."""
    return quat_wxyz_to_axis_angle(matrix_to_quat_wxyz(matrix))


def quat_multiply_wxyz(a: Tensor, b: Tensor) -> Tensor:
    """Hamilton product a ⊗ b of [...,4] (w, x, y, z) quaternions (rotation b, then a); w >= 0.

    Norms multiply, so unnormalised inputs (3DGS rotations) give an unnormalised product.
    """
    check_shape(a, (4,), "a")
    check_shape(b, (4,), "b")
    aw, ax, ay, az = a.unbind(-1)
    bw, bx, by, bz = b.unbind(-1)
    prod = torch.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        dim=-1,
    )
    return _canonical(prod)


def rot6d_to_matrix(rot6d: Tensor) -> Tensor:
    """6D rotation (Zhou et al. 2019) [...,6] -> rotation matrix [...,3,3] by Gram–Schmidt.

    Layout: the first two columns of R as a row-major 3×2 block, `R[..., :, :2].reshape(..., 6)`
    = [R00, R01, R10, R11, R20, R21] (as VPoser v2's decoder reads its 6D output).
    """
    check_shape(rot6d, (6,), "rot6d")
    cols = rot6d.unflatten(-1, (3, 2))  # [..., 3, 2]
    a1, a2 = cols[..., 0], cols[..., 1]
    b1 = F.normalize(a1, dim=-1)
    b2 = F.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    b3 = torch.linalg.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], dim=-1)


def matrix_to_rot6d(matrix: Tensor) -> Tensor:
    """Rotation matrix [...,3,3] -> 6D [...,6] = R[..., :, :2] row-major (see rot6d_to_matrix)."""
    check_shape(matrix, (3, 3), "matrix")
    return matrix[..., :, :2].flatten(-2)
