"""Per-camera colours: SH evaluated as gsplat does, band limits, and colour overrides."""

from __future__ import annotations

import pytest
import torch

from zerohsi_core.errors import InputError
from zerohsi_core.render.colors import override_colors, sh_colors
from zerohsi_core.scene.gaussians import GaussianCloud


def _cloud(n: int, degree: int) -> GaussianCloud:
    g = torch.Generator().manual_seed(5)
    return GaussianCloud(
        means=torch.randn(n, 3, generator=g, dtype=torch.float64),
        quats=torch.randn(n, 4, generator=g, dtype=torch.float64),
        log_scales=torch.full((n, 3), -3.0, dtype=torch.float64),
        opacity_logits=torch.zeros(n, dtype=torch.float64),
        sh=0.5 * torch.randn(n, (degree + 1) ** 2, 3, generator=g, dtype=torch.float64),
    )


def test_sh_colors_match_gsplat() -> None:
    impl = pytest.importorskip("gsplat.cuda._torch_impl")
    cloud = _cloud(50, degree=3)
    centers = torch.tensor([[4.0, 0.5, 1.0], [-3.0, 2.0, 0.0]], dtype=torch.float64)
    for degree in (3, 1):
        ours = sh_colors(cloud, centers, sh_degree=degree)  # [2, 50, 3]
        dirs = cloud.means[None] - centers[:, None]
        coeffs = cloud.sh.expand(2, -1, -1, -1)
        expected = torch.clamp_min(impl._spherical_harmonics(degree, dirs, coeffs) + 0.5, 0.0)
        torch.testing.assert_close(ours, expected, rtol=1e-12, atol=1e-12)
    assert (ours == 0).any() and (ours > 0.5).any()  # the clamp at 0 is exercised
    assert not torch.allclose(ours[0], ours[1])  # view-dependent
    assert torch.equal(sh_colors(cloud, centers), sh_colors(cloud, centers, sh_degree=5))  # all bands


def test_degree_zero_is_view_independent() -> None:
    cloud = _cloud(10, degree=0)
    centers = torch.tensor([[4.0, 0.5, 1.0], [-3.0, 2.0, 0.0]], dtype=torch.float64)
    colors = sh_colors(cloud, centers)
    torch.testing.assert_close(colors[0], colors[1])
    torch.testing.assert_close(colors[0], torch.clamp_min(0.28209479177387814 * cloud.sh[:, 0] + 0.5, 0.0))


def test_override_shapes() -> None:
    rgb = torch.rand(7, 3)
    assert override_colors("a", rgb, 3, 7).shape == (3, 7, 3)
    per_camera = torch.rand(3, 7, 3)
    assert torch.equal(override_colors("a", per_camera, 3, 7), per_camera)
    with pytest.raises(InputError, match=r"colors_override\['a'\]"):
        override_colors("a", torch.rand(6, 3), 3, 7)
    with pytest.raises(InputError):
        override_colors("a", torch.rand(2, 7, 3), 3, 7)
