"""The pure-torch tile rasteriser against a per-pixel brute force, gsplat's tile binning, and gradcheck."""

from __future__ import annotations

import math

import pytest
import torch

from zerohsi_core.render.options import RenderOptions
from zerohsi_core.render.projection import project_gaussians
from zerohsi_core.render.torch_raster import bin_gaussians, rasterize_torch


def brute_force(g, viewmats, Ks, width, height, options):
    """Per pixel, every visible Gaussian in depth order with gsplat's rules; also counts skips and stops."""
    proj = project_gaussians(g.means, g.quats, g.scales, g.opacities, viewmats, Ks, width, height, options)
    C = viewmats.shape[0]
    out = torch.zeros(C, height, width, 5, dtype=torch.float64)  # rgb, depth sum, alpha
    skipped = stopped = 0
    for c in range(C):
        m2d, con, dep = proj.means2d[c].tolist(), proj.conics[c].tolist(), proj.depths[c].tolist()
        order = sorted((i for i in range(len(dep)) if proj.visible[c, i]), key=lambda i: dep[i])
        feats = torch.cat([g.colors, proj.depths[c][:, None]], -1).tolist()
        ops = g.opacities.tolist()
        for y in range(height):
            for x in range(width):
                T, acc = 1.0, [0.0] * 5
                for i in order:
                    dx, dy = m2d[i][0] - (x + 0.5), m2d[i][1] - (y + 0.5)
                    a, b, cc = con[i]
                    sigma = 0.5 * (a * dx * dx + cc * dy * dy) + b * dx * dy
                    alpha = min(options.max_alpha, ops[i] * math.exp(-sigma))
                    if sigma < 0.0 or alpha < options.alpha_min:
                        skipped += 1
                        continue
                    if T * (1.0 - alpha) <= options.transmittance_min:
                        stopped += 1
                        break
                    for k in range(4):
                        acc[k] += alpha * T * feats[i][k]
                    acc[4] += alpha * T
                    T *= 1.0 - alpha
                out[c, y, x] = torch.tensor(acc, dtype=torch.float64)
    return out, skipped, stopped


def two_views(width, height, dtype=torch.float64, focal=14.0):
    """The identity camera and one turned 10 degrees about y and moved sideways. -> viewmats, Ks"""
    angle = math.radians(10.0)
    turned = torch.eye(4, dtype=dtype)
    turned[0, 0], turned[0, 2], turned[2, 0], turned[2, 2] = (
        math.cos(angle),
        math.sin(angle),
        -math.sin(angle),
        math.cos(angle),
    )
    turned[0, 3] = 0.2
    K = torch.tensor(
        [[focal, 0.0, width / 2], [0.0, focal + 1.0, height / 2 - 1.0], [0.0, 0.0, 1.0]], dtype=dtype
    )
    return torch.stack([torch.eye(4, dtype=dtype), turned]), K.expand(2, 3, 3)


@pytest.mark.parametrize(
    ("tile", "chunk", "elements"),
    [(8, 32, 1 << 22), (5, 3, 200), (16, 7, 1000)],
)
def test_matches_brute_force_in_float64(make_gaussians, tile, chunk, elements) -> None:
    width, height = 16, 12
    g = make_gaussians(30, seed=1, scale=0.5)
    viewmats, Ks = two_views(width, height)
    options = RenderOptions(torch_tile_size=tile, chunk_gaussians=chunk, chunk_elements=elements)
    colors = g.colors.expand(2, -1, -1)
    out = rasterize_torch(
        g.means, g.quats, g.scales, g.opacities, colors, viewmats, Ks, width, height, options
    )
    ref, skipped, stopped = brute_force(g, viewmats, Ks, width, height, options)
    # The scene must exercise both of gsplat's rules: threshold skips and transmittance stops.
    assert skipped > 1000 and stopped > 50
    assert ref[..., 4].max() > 0.99 and ref[..., 4].min() < 0.5
    torch.testing.assert_close(out.features, ref[..., :3], atol=1e-10, rtol=0)
    torch.testing.assert_close(out.depth_sum, ref[..., 3], atol=1e-10, rtol=0)
    torch.testing.assert_close(out.alpha, ref[..., 4], atol=1e-10, rtol=0)


def test_transmittance_stop_is_exclusive_and_final(make_gaussians) -> None:
    """At a pixel centre opaque Gaussians clamp to alpha 0.999: T = 1e-3 after the first; the second would
    bring it to 1e-6 <= 1e-4, so the pixel stops there and the faint third one is not drawn either."""
    colors = make_gaussians(3, seed=0).colors
    means = torch.tensor([[0.0, 0.0, 2.0], [0.0, 0.0, 3.0], [0.0, 0.0, 4.0]], dtype=torch.float64)
    quats = torch.tensor([[1.0, 0.0, 0.0, 0.0]] * 3, dtype=torch.float64)
    scales = torch.full((3, 3), 0.05, dtype=torch.float64)
    opacities = torch.tensor([1.0, 1.0, 0.05], dtype=torch.float64)
    K = torch.tensor([[20.0, 0.0, 4.5], [0.0, 20.0, 4.5], [0.0, 0.0, 1.0]], dtype=torch.float64)
    viewmats = torch.eye(4, dtype=torch.float64)[None]
    out = rasterize_torch(
        means, quats, scales, opacities, colors[None], viewmats, K[None], 9, 9, RenderOptions()
    )
    torch.testing.assert_close(out.features[0, 4, 4], 0.999 * colors[0], atol=1e-12, rtol=0)
    assert out.alpha[0, 4, 4].item() == pytest.approx(0.999, abs=1e-12)
    assert out.depth_sum[0, 4, 4].item() == pytest.approx(0.999 * 2.0, abs=1e-12)


def test_bins_equal_gsplat_isect_tiles(make_gaussians) -> None:
    impl = pytest.importorskip("gsplat.cuda._torch_impl")
    width, height, tile = 40, 30, 8
    g = make_gaussians(40, seed=2, dtype=torch.float32)
    viewmats, Ks = two_views(width, height, torch.float32, focal=40.0)
    options = RenderOptions(torch_tile_size=tile)
    proj = project_gaussians(g.means, g.quats, g.scales, g.opacities, viewmats, Ks, width, height, options)
    bins = bin_gaussians(proj, width, height, tile)
    tiles_x, tiles_y = math.ceil(width / tile), math.ceil(height / tile)
    per_gauss, _, flat_ids = impl._isect_tiles(
        proj.means2d, proj.radii.float(), proj.depths, tile, tiles_x, tiles_y
    )
    assert bins.ids.numel() > 200
    assert torch.equal(bins.ids, flat_ids.long())
    assert int(bins.counts.sum()) == int(per_gauss.sum())


def test_gradcheck_means_colors_opacities(make_gaussians) -> None:
    width, height = 10, 8
    g = make_gaussians(5, seed=3, scale=0.3)
    K = torch.tensor([[8.0, 0.0, 5.0], [0.0, 8.0, 4.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    viewmats = torch.eye(4, dtype=torch.float64)[None]
    opacities = 0.3 + 0.5 * g.opacities / g.opacities.max()  # below the 0.999 clamp
    weights = torch.rand(1, height, width, 3, dtype=torch.float64)

    def loss(means, colors, opacities, scales):
        out = rasterize_torch(
            means, g.quats, scales, opacities, colors[None], viewmats, K[None], width, height, RenderOptions()
        )
        return (out.features * weights).sum() + (out.depth_sum * weights[..., 0]).sum() + out.alpha.sum()

    inputs = tuple(t.clone().requires_grad_(True) for t in (g.means, g.colors, opacities, g.scales))
    assert torch.autograd.gradcheck(loss, inputs, eps=1e-6, atol=1e-6)
