"""Rigid transforms: inverse/compose identities, point transforms, exp/log against matrix_exp."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from zerohsi_core.errors import InputError
from zerohsi_core.geometry import (
    axis_angle_to_matrix,
    make_se3,
    matrix_to_rot6d,
    rot6d_to_matrix,
    se3_compose,
    se3_exp,
    se3_from_rot6d,
    se3_inverse,
    se3_log,
    skew,
    transform_points,
)

PROPERTY = settings(max_examples=50, deadline=None, derandomize=True)
TOL = {torch.float32: 1e-5, torch.float64: 1e-12}

seeds = st.integers(0, 2**32 - 1)
dtypes = st.sampled_from([torch.float32, torch.float64])
# Rotation angles for exp/log: zero, the series/closed-form switch at 0.1 rad, generic, near π.
angles = st.one_of(st.sampled_from([0.0, 1e-9, 1e-4, 0.0999, 0.1001, math.pi - 1e-4]), st.floats(0.0, 3.1))


def _random_se3(gen: torch.Generator, batch: int, dtype: torch.dtype) -> torch.Tensor:
    aa = torch.randn(batch, 3, generator=gen, dtype=torch.float64) * 1.5
    t = torch.randn(batch, 3, generator=gen, dtype=torch.float64) * 3
    return make_se3(axis_angle_to_matrix(aa), t).to(dtype)  # [batch, 4, 4]


@PROPERTY
@given(seeds, dtypes)
def test_inverse_and_compose(seed, dtype) -> None:
    gen = torch.Generator().manual_seed(seed)
    a, b = _random_se3(gen, 6, dtype), _random_se3(gen, 6, dtype)
    points = (torch.randn(6, 10, 3, generator=gen, dtype=torch.float64) * 2).to(dtype)
    eye = torch.eye(4, dtype=dtype).expand(6, 4, 4)
    torch.testing.assert_close(se3_compose(a, se3_inverse(a)), eye, atol=TOL[dtype], rtol=0)
    torch.testing.assert_close(se3_compose(se3_inverse(a), a), eye, atol=TOL[dtype], rtol=0)
    torch.testing.assert_close(se3_inverse(se3_inverse(a)), a, atol=TOL[dtype], rtol=0)
    torch.testing.assert_close(
        transform_points(se3_inverse(a), transform_points(a, points)), points, atol=4 * TOL[dtype], rtol=0
    )
    # a ∘ b applies b first.
    torch.testing.assert_close(
        transform_points(se3_compose(a, b), points),
        transform_points(a, transform_points(b, points)),
        atol=4 * TOL[dtype],
        rtol=0,
    )
    torch.testing.assert_close(
        se3_inverse(se3_compose(a, b)),
        se3_compose(se3_inverse(b), se3_inverse(a)),
        atol=4 * TOL[dtype],
        rtol=0,
    )


@PROPERTY
@given(seeds, angles, dtypes)
def test_exp_matches_matrix_exponential_and_log_inverts_it(seed, angle, dtype) -> None:
    gen = torch.Generator().manual_seed(seed)
    axis = torch.nn.functional.normalize(torch.randn(3, generator=gen, dtype=torch.float64), dim=0)
    twist = torch.cat([torch.randn(3, generator=gen, dtype=torch.float64) * 2, axis * angle])  # [6]
    hat = torch.zeros(4, 4, dtype=torch.float64)
    hat[:3, :3], hat[:3, 3] = skew(twist[3:]), twist[:3]
    T = se3_exp(twist.to(dtype))
    torch.testing.assert_close(T, torch.linalg.matrix_exp(hat).to(dtype), atol=4 * TOL[dtype], rtol=0)
    torch.testing.assert_close(se3_log(T), twist.to(dtype), atol=20 * TOL[dtype], rtol=0)


def test_transform_points_known_value_and_broadcasting() -> None:
    quarter_z = axis_angle_to_matrix(torch.tensor([0.0, 0.0, math.pi / 2], dtype=torch.float64))
    T = make_se3(quarter_z, torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
    p = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    expected = torch.tensor([[1.0, 3.0, 3.0], [1.0, 2.0, 4.0]], dtype=torch.float64)
    torch.testing.assert_close(transform_points(T, p), expected)
    # One transform per batch element [B,4,4] against shared points [N,3], and shared R with batched t.
    Ts = make_se3(quarter_z, torch.randn(5, 3, dtype=torch.float64))
    assert Ts.shape == (5, 4, 4)
    out = transform_points(Ts, p)
    assert out.shape == (5, 2, 3)
    torch.testing.assert_close(out[3], transform_points(Ts[3], p))


def test_se3_from_rot6d_equals_make_se3() -> None:
    R = axis_angle_to_matrix(torch.randn(4, 3, dtype=torch.float64))
    t = torch.randn(4, 3, dtype=torch.float64)
    T = se3_from_rot6d(matrix_to_rot6d(R), t)
    torch.testing.assert_close(T, make_se3(rot6d_to_matrix(matrix_to_rot6d(R)), t))
    torch.testing.assert_close(T[:, :3, :3], R)
    torch.testing.assert_close(T[:, 3], torch.tensor([0.0, 0, 0, 1], dtype=torch.float64).expand(4, 4))


def test_exp_log_gradcheck() -> None:
    for scale in (1.0, 1e-3, 0.0):
        twist = (torch.randn(3, 6, dtype=torch.float64) * scale).requires_grad_()
        assert torch.autograd.gradcheck(se3_exp, (twist,))
    T = se3_exp(torch.randn(3, 6, dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(se3_log, (T,))


def test_make_se3_gradient_reaches_rotation_and_translation() -> None:
    R = torch.eye(3, dtype=torch.float64, requires_grad=True)
    t = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    p = torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64)
    transform_points(make_se3(R, t), p).sum().backward()
    torch.testing.assert_close(t.grad, torch.ones(3, dtype=torch.float64))
    torch.testing.assert_close(R.grad, torch.ones(3, 1, dtype=torch.float64) * p)


def test_wrong_shapes_raise_input_error() -> None:
    with pytest.raises(InputError, match="t must have shape"):
        make_se3(torch.eye(3), torch.zeros(4))
    with pytest.raises(InputError, match="points"):
        transform_points(torch.eye(4), torch.zeros(5, 2))
    with pytest.raises(InputError, match="twist"):
        se3_exp(torch.zeros(3))
