"""Rotation conversions: round trips, edge angles (0, π), known values, scipy reference, gradients."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from zerohsi_core.errors import InputError
from zerohsi_core.geometry import (
    axis_angle_to_matrix,
    axis_angle_to_quat_wxyz,
    matrix_to_axis_angle,
    matrix_to_quat_wxyz,
    matrix_to_rot6d,
    quat_multiply_wxyz,
    quat_wxyz_to_axis_angle,
    quat_wxyz_to_matrix,
    quat_wxyz_to_xyzw,
    quat_xyzw_to_wxyz,
    rot6d_to_matrix,
)

PROPERTY = settings(max_examples=50, deadline=None, derandomize=True)
TOL = {torch.float32: 2e-6, torch.float64: 1e-12}
# Exact zero, tiny, both sides of the series switches (θ² = 1e-2; sin²(θ/2) = 1e-6), and near π.
EDGE_ANGLES = [
    0.0,
    1e-12,
    1e-7,
    1e-4,
    1.99e-3,
    2.01e-3,
    0.0999,
    0.1001,
    1.0,
    math.pi - 1e-3,
    math.pi - 1e-6,
    math.pi,
]

dtypes = st.sampled_from([torch.float32, torch.float64])
axes = st.tuples(*[st.floats(-1, 1)] * 3).filter(lambda v: math.hypot(*v) > 0.1)
angles = st.one_of(st.sampled_from(EDGE_ANGLES), st.floats(0.0, math.pi))


def _axis_angle(axis: tuple[float, float, float], angle: float, dtype: torch.dtype) -> torch.Tensor:
    a = torch.tensor(axis, dtype=torch.float64)
    return (a / a.norm() * angle).to(dtype)  # [3]


def _assert_rotation(R: torch.Tensor, tol: float) -> None:
    eye = torch.eye(3, dtype=R.dtype).expand_as(R)
    torch.testing.assert_close(R @ R.transpose(-1, -2), eye, atol=tol, rtol=0)
    torch.testing.assert_close(torch.linalg.det(R), torch.ones(R.shape[:-2], dtype=R.dtype), atol=tol, rtol=0)


def _close_up_to_sign(a: torch.Tensor, b: torch.Tensor) -> float:
    return min((a - b).abs().max().item(), (a + b).abs().max().item())


@PROPERTY
@given(axes, angles, dtypes)
def test_axis_angle_matrix_round_trip(axis, angle, dtype) -> None:
    aa = _axis_angle(axis, angle, dtype)
    R = axis_angle_to_matrix(aa)
    _assert_rotation(R, 4 * TOL[dtype])
    back = matrix_to_axis_angle(R)
    assert back.norm().item() <= math.pi + TOL[dtype]
    torch.testing.assert_close(axis_angle_to_matrix(back), R, atol=4 * TOL[dtype], rtol=0)
    if angle < math.pi - 1e-4:  # away from π the axis-angle vector is unique
        torch.testing.assert_close(back, aa, atol=4 * TOL[dtype], rtol=0)
    else:  # at π, aa and −aa are the same rotation
        assert _close_up_to_sign(back, aa) < 8 * TOL[dtype] + 2 * (math.pi - angle)


@PROPERTY
@given(axes, angles, dtypes)
def test_quaternion_round_trips(axis, angle, dtype) -> None:
    aa = _axis_angle(axis, angle, dtype)
    q = axis_angle_to_quat_wxyz(aa)
    assert q[0].item() >= 0
    torch.testing.assert_close(q.norm(), torch.ones((), dtype=dtype), atol=TOL[dtype], rtol=0)
    R = axis_angle_to_matrix(aa)
    torch.testing.assert_close(quat_wxyz_to_matrix(q), R, atol=4 * TOL[dtype], rtol=0)
    q_from_R = matrix_to_quat_wxyz(R)
    assert q_from_R[0].item() >= 0
    assert _close_up_to_sign(q_from_R, q) < 4 * TOL[dtype]
    torch.testing.assert_close(
        axis_angle_to_matrix(quat_wxyz_to_axis_angle(q)), R, atol=4 * TOL[dtype], rtol=0
    )


@PROPERTY
@given(axes, angles, st.floats(0.1, 10.0), dtypes)
def test_quat_to_axis_angle_accepts_unnormalised_and_negated(axis, angle, norm, dtype) -> None:
    aa = _axis_angle(axis, angle, dtype)
    q = axis_angle_to_quat_wxyz(aa)
    for scaled in (q * norm, -q * norm):
        torch.testing.assert_close(
            quat_wxyz_to_matrix(scaled), quat_wxyz_to_matrix(q), atol=4 * TOL[dtype], rtol=0
        )
        torch.testing.assert_close(
            axis_angle_to_matrix(quat_wxyz_to_axis_angle(scaled)),
            axis_angle_to_matrix(aa),
            atol=8 * TOL[dtype],
            rtol=0,
        )


@PROPERTY
@given(axes, angles, axes, angles, dtypes)
def test_quat_multiply_matches_matrix_product(axis_a, angle_a, axis_b, angle_b, dtype) -> None:
    qa = axis_angle_to_quat_wxyz(_axis_angle(axis_a, angle_a, dtype))
    qb = axis_angle_to_quat_wxyz(_axis_angle(axis_b, angle_b, dtype))
    prod = quat_multiply_wxyz(qa, qb)
    assert prod[0].item() >= 0
    expected = quat_wxyz_to_matrix(qa) @ quat_wxyz_to_matrix(qb)
    torch.testing.assert_close(quat_wxyz_to_matrix(prod), expected, atol=8 * TOL[dtype], rtol=0)


@PROPERTY
@given(axes, angles, dtypes)
def test_rot6d_round_trip(axis, angle, dtype) -> None:
    R = axis_angle_to_matrix(_axis_angle(axis, angle, dtype))
    torch.testing.assert_close(rot6d_to_matrix(matrix_to_rot6d(R)), R, atol=4 * TOL[dtype], rtol=0)


@PROPERTY
@given(st.integers(0, 2**32 - 1), dtypes)
def test_rot6d_of_arbitrary_input_is_gram_schmidt(seed, dtype) -> None:
    x = torch.randn(8, 6, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)
    R = rot6d_to_matrix(x)  # [8, 3, 3]
    _assert_rotation(R, 8 * TOL[dtype])
    a1, a2 = x[:, 0::2], x[:, 1::2]
    # First column is the normalised first input column; the second lies in the span of both.
    torch.testing.assert_close(R[:, :, 0], a1 / a1.norm(dim=-1, keepdim=True), atol=4 * TOL[dtype], rtol=0)
    normal = torch.linalg.cross(a1, a2, dim=-1)
    torch.testing.assert_close((R[:, :, 1] * normal).sum(-1), torch.zeros(8, dtype=dtype), atol=1e-4, rtol=0)
    assert ((R[:, :, 1] * a2).sum(-1) > 0).all()


def test_rot6d_layout_is_first_two_columns_row_major() -> None:
    R = axis_angle_to_matrix(torch.tensor([0.3, -1.2, 0.7], dtype=torch.float64))
    expected = torch.stack([R[0, 0], R[0, 1], R[1, 0], R[1, 1], R[2, 0], R[2, 1]])
    torch.testing.assert_close(matrix_to_rot6d(R), expected, atol=0, rtol=0)


def test_quarter_turn_about_z_maps_x_to_y() -> None:
    aa = torch.tensor([0.0, 0.0, math.pi / 2], dtype=torch.float64)
    R = axis_angle_to_matrix(aa)
    torch.testing.assert_close(
        R @ torch.tensor([1.0, 0, 0], dtype=torch.float64), torch.tensor([0.0, 1, 0], dtype=torch.float64)
    )
    half = math.sqrt(0.5)
    q = torch.tensor([half, 0, 0, half], dtype=torch.float64)
    torch.testing.assert_close(axis_angle_to_quat_wxyz(aa), q)
    torch.testing.assert_close(matrix_to_quat_wxyz(R), q)
    torch.testing.assert_close(quat_wxyz_to_xyzw(q), torch.tensor([0, 0, half, half], dtype=torch.float64))
    torch.testing.assert_close(quat_xyzw_to_wxyz(quat_wxyz_to_xyzw(q)), q)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_matches_scipy_on_a_batch(dtype) -> None:
    aa = torch.randn(4, 50, 3, dtype=torch.float64) * 2  # angles up to ~2π exercise w < 0 flips
    ref = Rotation.from_rotvec(aa.reshape(-1, 3).numpy())
    R_ref = torch.from_numpy(ref.as_matrix()).reshape(4, 50, 3, 3).to(dtype)
    q_ref = quat_xyzw_to_wxyz(torch.from_numpy(ref.as_quat(canonical=True)).reshape(4, 50, 4).to(dtype))
    aa = aa.to(dtype)
    torch.testing.assert_close(axis_angle_to_matrix(aa), R_ref, atol=5 * TOL[dtype], rtol=0)
    torch.testing.assert_close(axis_angle_to_quat_wxyz(aa), q_ref, atol=5 * TOL[dtype], rtol=0)
    torch.testing.assert_close(matrix_to_quat_wxyz(R_ref), q_ref, atol=5 * TOL[dtype], rtol=0)
    rotvec_ref = torch.from_numpy(Rotation.from_matrix(R_ref.double().reshape(-1, 3, 3).numpy()).as_rotvec())
    torch.testing.assert_close(
        matrix_to_axis_angle(R_ref), rotvec_ref.reshape(4, 50, 3).to(dtype), atol=5 * TOL[dtype], rtol=0
    )


def test_gradcheck_axis_angle_to_matrix() -> None:
    for aa in (
        torch.randn(5, 3, dtype=torch.float64),
        torch.randn(5, 3, dtype=torch.float64) * 1e-3,
        torch.zeros(2, 3, dtype=torch.float64),
    ):
        assert torch.autograd.gradcheck(axis_angle_to_matrix, (aa.requires_grad_(),))


def test_gradcheck_rot6d_to_matrix() -> None:
    x = torch.randn(5, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(rot6d_to_matrix, (x,))


def test_gradients_finite_at_zero_and_pi() -> None:
    for angle in (0.0, 1e-9, math.pi - 1e-9, math.pi):
        R = axis_angle_to_matrix(torch.tensor([angle, 0.0, 0.0], dtype=torch.float64)).requires_grad_()
        aa = matrix_to_axis_angle(R)
        (grad,) = torch.autograd.grad(aa.square().sum() + aa.sum(), R)
        assert torch.isfinite(grad).all(), angle
    zero = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(axis_angle_to_quat_wxyz(zero)[1:].sum(), zero)
    torch.testing.assert_close(grad, torch.full((3,), 0.5, dtype=torch.float64))  # d(sin(θ/2)·n)/d(aa) = I/2


def test_wrong_shapes_raise_input_error() -> None:
    with pytest.raises(InputError, match=r"axis_angle must have shape \[\.\.\., 3\]"):
        axis_angle_to_matrix(torch.zeros(4))
    with pytest.raises(InputError, match="rot6d"):
        rot6d_to_matrix(torch.zeros(2, 9))
    with pytest.raises(InputError, match="matrix"):
        matrix_to_quat_wxyz(torch.zeros(3))
