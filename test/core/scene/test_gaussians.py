"""GaussianCloud: validation, derived values, rigid transforms (incl. SH rotation), subset and cat."""

import math

import pytest
import torch

from zerohsi_core.errors import InputError
from zerohsi_core.geometry import axis_angle_to_matrix, make_se3, quat_wxyz_to_matrix
from zerohsi_core.scene.gaussians import GaussianCloud, rgb_to_sh_dc, sh_dc_to_rgb
from zerohsi_core.scene.sh import SH_C0, eval_sh_color, rotate_sh


def random_cloud(n: int, degree: int, seed: int = 0, dtype: torch.dtype = torch.float32) -> GaussianCloud:
    g = torch.Generator().manual_seed(seed)
    k = (degree + 1) ** 2
    return GaussianCloud(
        means=torch.randn(n, 3, generator=g, dtype=dtype),
        quats=torch.randn(n, 4, generator=g, dtype=dtype),
        log_scales=torch.randn(n, 3, generator=g, dtype=dtype) - 3.0,
        opacity_logits=torch.randn(n, generator=g, dtype=dtype),
        sh=torch.randn(n, k, 3, generator=g, dtype=dtype),
    )


def test_derived_values() -> None:
    cloud = random_cloud(7, 2)
    assert cloud.num == len(cloud) == 7
    assert cloud.sh_degree == 2
    torch.testing.assert_close(cloud.scales, torch.exp(cloud.log_scales))
    torch.testing.assert_close(cloud.opacities, 1.0 / (1.0 + torch.exp(-cloud.opacity_logits)))


def test_sh_dc_colour_conversion() -> None:
    assert torch.equal(rgb_to_sh_dc(torch.tensor([0.5, 0.5, 0.5])), torch.zeros(3))
    torch.testing.assert_close(
        rgb_to_sh_dc(torch.tensor([1.0, 0.0, 0.5])), torch.tensor([0.5, -0.5, 0.0]) / SH_C0
    )
    rgb = torch.rand(10, 3, dtype=torch.float64)
    torch.testing.assert_close(sh_dc_to_rgb(rgb_to_sh_dc(rgb)), rgb, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("field", "shape"),
    [
        ("means", (5, 2)),
        ("quats", (5, 3)),
        ("log_scales", (4, 3)),
        ("opacity_logits", (5, 1)),
        ("sh", (5, 3, 3)),
    ],
)
def test_bad_shapes_are_rejected(field: str, shape: tuple[int, ...]) -> None:
    cloud = random_cloud(5, 0)
    values = {f: getattr(cloud, f) for f in ("means", "quats", "log_scales", "opacity_logits", "sh")}
    values[field] = torch.zeros(shape)
    with pytest.raises(InputError, match=field):
        GaussianCloud(**values)


def test_transformed_with_known_rotation() -> None:
    # 90 degrees about z, then translation (1, 2, 3): x -> y.
    R = torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    T = make_se3(R, torch.tensor([1.0, 2.0, 3.0]))
    cloud = GaussianCloud(
        means=torch.tensor([[1.0, 0.0, 0.0]]),
        quats=torch.tensor([[1.0, 0.0, 0.0, 0.0]]),
        log_scales=torch.log(torch.tensor([[0.3, 0.1, 0.01]])),
        opacity_logits=torch.tensor([0.2]),
        sh=torch.zeros(1, 1, 3),
    )
    moved = cloud.transformed(T)
    torch.testing.assert_close(moved.means, torch.tensor([[1.0, 3.0, 3.0]]))
    s = math.sqrt(0.5)
    torch.testing.assert_close(moved.quats, torch.tensor([[s, 0.0, 0.0, s]]))
    # The long axis (0.3, along x) now lies along y.
    Rg = quat_wxyz_to_matrix(moved.quats)[0]
    cov = Rg @ torch.diag(moved.scales[0] ** 2) @ Rg.T
    torch.testing.assert_close(cov, torch.diag(torch.tensor([0.01, 0.09, 0.0001])), atol=1e-6, rtol=0)
    assert torch.equal(moved.log_scales, cloud.log_scales)
    assert torch.equal(moved.opacity_logits, cloud.opacity_logits)


def test_transformed_covariances_are_rotated() -> None:
    cloud = random_cloud(50, 0, dtype=torch.float64)
    R = axis_angle_to_matrix(torch.tensor([0.4, -1.1, 0.7], dtype=torch.float64))
    moved = cloud.transformed(make_se3(R, torch.tensor([0.5, 0.0, -2.0], dtype=torch.float64)))

    def covariances(c: GaussianCloud) -> torch.Tensor:
        Rq = quat_wxyz_to_matrix(c.quats)
        return Rq @ torch.diag_embed(c.scales**2) @ Rq.transpose(-1, -2)

    torch.testing.assert_close(covariances(moved), R @ covariances(cloud) @ R.T)


@pytest.mark.parametrize("degree", [1, 2, 3])
def test_sh_rotation_keeps_view_dependent_colour(degree: int) -> None:
    cloud = random_cloud(40, degree, seed=degree, dtype=torch.float64)
    R = axis_angle_to_matrix(torch.tensor([0.3, -0.5, 0.8], dtype=torch.float64))
    moved = cloud.transformed(make_se3(R, torch.zeros(3, dtype=torch.float64)))
    dirs = torch.nn.functional.normalize(torch.randn(40, 3, dtype=torch.float64), dim=-1)
    # The moved cloud seen along R d looks as the original seen along d.
    torch.testing.assert_close(eval_sh_color(moved.sh, dirs @ R.T), eval_sh_color(cloud.sh, dirs))
    assert not torch.allclose(moved.sh, cloud.sh)
    assert torch.equal(moved.sh[:, 0], cloud.sh[:, 0])


def test_sh_rotation_by_identity_is_identity() -> None:
    sh = torch.randn(5, 16, 3, dtype=torch.float64)
    torch.testing.assert_close(rotate_sh(sh, torch.eye(3, dtype=torch.float64)), sh, atol=1e-12, rtol=0)


def test_transformed_is_differentiable_in_the_transform() -> None:
    cloud = random_cloud(10, 1, dtype=torch.float64)
    aa = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64, requires_grad=True)
    t = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64, requires_grad=True)
    moved = cloud.transformed(make_se3(axis_angle_to_matrix(aa), t))
    (moved.means.sum() + moved.quats[:, 1].sum() + moved.sh.sum()).backward()
    assert aa.grad is not None and aa.grad.abs().sum() > 0
    torch.testing.assert_close(t.grad, torch.full((3,), 10.0, dtype=torch.float64))


def test_subset_cat_to_detach() -> None:
    a, b = random_cloud(4, 0, seed=1), random_cloud(3, 2, seed=2)
    both = GaussianCloud.cat([a, b])
    assert both.num == 7 and both.sh_degree == 2
    assert torch.equal(both.sh[:4, 0], a.sh[:, 0]) and torch.equal(both.sh[:4, 1:], torch.zeros(4, 8, 3))
    assert torch.equal(both.subset(torch.tensor([4, 5, 6])).means, b.means)
    assert torch.equal(both.subset([0, 2]).quats, a.quats[[0, 2]])
    assert both.subset(both.means[:, 0] > 0).num == int((both.means[:, 0] > 0).sum())
    assert both.to(dtype=torch.float64).means.dtype == torch.float64
    with pytest.raises(InputError):
        GaussianCloud.cat([])
    leaf = a.means.clone().requires_grad_(True)
    grad_cloud = GaussianCloud(leaf, a.quats, a.log_scales, a.opacity_logits, a.sh)
    assert not grad_cloud.detach().means.requires_grad
