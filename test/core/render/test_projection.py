"""EWA projection: same 2D means, conics and depths as gsplat's reference, gsplat's culling and radii."""

from __future__ import annotations

import math

import pytest
import torch

from zerohsi_core.render.options import RenderOptions
from zerohsi_core.render.projection import covariances, project_gaussians

WIDTH, HEIGHT = 64, 48


def _cameras() -> tuple[torch.Tensor, torch.Tensor]:
    """Identity camera and one rotated 30 degrees about x, 0.5 m back. -> viewmats [2,4,4], Ks [2,3,3]"""
    angle = math.radians(30.0)
    turned = torch.eye(4, dtype=torch.float64)
    turned[1:3, 1:3] = torch.tensor(
        [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]], dtype=torch.float64
    )
    turned[2, 3] = 0.5
    K = torch.tensor([[50.0, 0.0, 30.0], [0.0, 55.0, 26.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    return torch.stack([torch.eye(4, dtype=torch.float64), turned]), torch.stack([K, K])


def test_matches_gsplat_reference_projection(make_gaussians) -> None:
    impl = pytest.importorskip("gsplat.cuda._torch_impl")
    g = make_gaussians(200, seed=4, scale=0.1)
    # Spread some far outside the frustum so that gsplat's clamped Jacobian matters.
    means = g.means * torch.tensor([3.0, 3.0, 1.0], dtype=torch.float64)
    viewmats, Ks = _cameras()
    options = RenderOptions()
    ours = project_gaussians(means, g.quats, g.scales, g.opacities, viewmats, Ks, WIDTH, HEIGHT, options)
    radii, means2d, depths, conics, _ = impl._fully_fused_projection(
        means, covariances(g.quats, g.scales), viewmats, Ks, WIDTH, HEIGHT, eps2d=options.eps2d
    )
    valid = radii.min(-1).values > 0  # gsplat's own culling: in front of the near plane, inside the image
    assert 100 < int(valid.sum()) < valid.numel()
    torch.testing.assert_close(ours.means2d, means2d, rtol=1e-12, atol=1e-9)
    torch.testing.assert_close(ours.depths, depths, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ours.conics[valid], conics[valid], rtol=1e-10, atol=1e-12)
    # Radii are opacity-aware (gsplat's CUDA kernel): extent min(3.33, sqrt(2 ln(255 o))) sigmas.
    cov = torch.linalg.inv(torch.stack([conics[..., :2], conics[..., 1:]], -1))  # [C, N, 2, 2]
    extent = torch.sqrt(2.0 * torch.log(g.opacities * 255.0)).clamp_max(3.33)
    expected = torch.ceil(extent[None, :, None] * torch.diagonal(cov, dim1=-2, dim2=-1).sqrt())
    assert torch.equal(ours.radii[ours.visible], expected[ours.visible].long())
    assert bool((ours.visible <= valid).all())  # tighter boxes only ever cull more


def test_culls_near_far_outside_and_faint() -> None:
    options = RenderOptions(near=0.5, far=10.0)
    means = torch.tensor(
        [
            [0.0, 0.0, 2.0],
            [0.0, 0.0, 0.4],
            [0.0, 0.0, 11.0],
            [0.0, 0.0, -2.0],
            [5.0, 0.0, 2.0],
            [0.0, 0.0, 3.0],
        ],
        dtype=torch.float64,
    )
    quats = torch.tensor([[1.0, 0.0, 0.0, 0.0]], dtype=torch.float64).expand(6, 4)
    scales = torch.full((6, 3), 0.05, dtype=torch.float64)
    opacities = torch.tensor([0.5, 0.5, 0.5, 0.5, 0.5, 0.5 / 255.0], dtype=torch.float64)
    viewmats, Ks = _cameras()
    proj = project_gaussians(means, quats, scales, opacities, viewmats[:1], Ks[:1], WIDTH, HEIGHT, options)
    assert proj.visible[0].tolist() == [True, False, False, False, False, False]
    assert proj.radii[0, 1:].abs().sum() == 0
    # Head-on isotropic Gaussian: 2D variance (f s / z)^2 + eps2d.
    var = (50.0 * 0.05 / 2.0) ** 2 + options.eps2d, (55.0 * 0.05 / 2.0) ** 2 + options.eps2d
    torch.testing.assert_close(proj.conics[0, 0], torch.tensor([1 / var[0], 0.0, 1 / var[1]]).double())
    torch.testing.assert_close(proj.means2d[0, 0], torch.tensor([30.0, 26.0], dtype=torch.float64))
