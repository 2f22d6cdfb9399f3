"""Pure-PyTorch, differentiable tile rasteriser following gsplat's rules (Eq. 2); runs on any device.

Per tile, the Gaussians whose bounding box touches it are depth-sorted and composited front to back in
chunks: alpha = min(max_alpha, o * exp(-sigma)) at pixel centres (+0.5), a Gaussian with alpha < alpha_min
is skipped, and a pixel stops before the Gaussian that would bring its transmittance to transmittance_min
or below (gsplat's exclusive rule). Transmittance is a cumulative sum in log space, so autograd yields the
gradients. sigma is evaluated as one matmul of a quadratic form in tile-centred pixel coordinates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from zerohsi_core.render.options import RenderOptions
from zerohsi_core.render.outputs import RasterOutput
from zerohsi_core.render.projection import ProjectedGaussians, project_gaussians


@dataclass(frozen=True)
class TileBins:
    """(tile, Gaussian) pairs sorted by tile, then depth; tile t owns ids[starts[t]:starts[t] + counts[t]]."""

    ids: Tensor  # [M] flat index c * N + n into the per-camera Gaussians
    starts: Tensor  # [T] first entry of each tile, T = C * tiles_y * tiles_x
    counts: Tensor  # [T]
    tile_size: int  # pixels per tile side
    tiles_x: int
    tiles_y: int


@torch.no_grad()
def bin_gaussians(proj: ProjectedGaussians, width: int, height: int, tile_size: int) -> TileBins:
    """Every (tile, Gaussian) pair whose pixel bounding boxes overlap (gsplat's isect_tiles), depth-sorted."""
    C, N = proj.depths.shape
    tiles_x, tiles_y = math.ceil(width / tile_size), math.ceil(height / tile_size)
    device = proj.depths.device
    flat = proj.visible.reshape(-1).nonzero().squeeze(1)  # [V]
    centre = proj.means2d.reshape(-1, 2)[flat] / tile_size  # [V, 2] in tiles
    radius = proj.radii.reshape(-1, 2)[flat].to(centre.dtype) / tile_size  # [V, 2]
    upper = torch.tensor([tiles_x, tiles_y], device=device)
    lo = torch.minimum(torch.floor(centre - radius).long().clamp_min(0), upper)  # [V, 2] inclusive
    hi = torch.minimum(torch.ceil(centre + radius).long().clamp_min(0), upper)  # [V, 2] exclusive
    span = hi - lo  # [V, 2]
    per_gaussian = span[:, 0] * span[:, 1]  # [V]
    owner = torch.repeat_interleave(torch.arange(flat.numel(), device=device), per_gaussian)  # [M]
    local = torch.arange(owner.numel(), device=device) - (per_gaussian.cumsum(0) - per_gaussian)[owner]
    tx = lo[owner, 0] + local % span[owner, 0]
    ty = lo[owner, 1] + local // span[owner, 0]
    tile = (flat[owner] // N) * (tiles_x * tiles_y) + ty * tiles_x + tx  # [M]
    # Sort by tile, then depth; equal depths keep index order like gsplat's stable radix sort.
    depth_rank = torch.empty_like(flat)
    depth_rank[torch.argsort(proj.depths.reshape(-1)[flat], stable=True)] = torch.arange(
        flat.numel(), device=device
    )
    order = torch.argsort(tile * max(flat.numel(), 1) + depth_rank[owner])
    counts = torch.bincount(tile, minlength=C * tiles_x * tiles_y)  # [T]
    return TileBins(flat[owner[order]], counts.cumsum(0) - counts, counts, tile_size, tiles_x, tiles_y)


def _pixel_basis(tile_size: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """Quadratic monomials [u^2, v^2, uv, u, v, 1] of the pixel centres relative to the tile centre. [P, 6]"""
    coords = torch.arange(tile_size, dtype=dtype, device=device) + 0.5 - 0.5 * tile_size  # [S]
    v, u = torch.meshgrid(coords, coords, indexing="ij")  # row-major pixels of one tile
    u, v = u.reshape(-1), v.reshape(-1)
    return torch.stack([u * u, v * v, u * v, u, v, torch.ones_like(u)], -1)


def _log_alpha_coefficients(means2d: Tensor, conics: Tensor, log_opacity: Tensor, centres: Tensor) -> Tensor:
    """Coefficients q with log(o) - sigma(u, v) = basis(u, v) . q for tile-centred coordinates. -> [A, 6, K]

    sigma = 0.5 (a dx^2 + c dy^2) + b dx dy with (dx, dy) = pixel - mean; means2d [A,K,2], conics [A,K,3],
    log_opacity [A,K], centres [A,2].
    """
    m = means2d[..., 0] - centres[:, None, 0]  # [A, K]
    n = means2d[..., 1] - centres[:, None, 1]
    a, b, c = conics.unbind(-1)
    constant = log_opacity - (0.5 * a * m * m + 0.5 * c * n * n + b * m * n)
    return torch.stack([-0.5 * a, -0.5 * c, -b, a * m + b * n, c * n + b * m, constant], 1)


def _blend_weights(log_alpha: Tensor, log_t: Tensor, options: RenderOptions) -> tuple[Tensor, Tensor]:
    """Weights w_i = alpha_i T_i of K depth-sorted Gaussians [A,P,K] behind log T [A,P]; and log T after.

    gsplat's rules: alpha = min(max_alpha, o exp(-sigma)); alpha < alpha_min is skipped; a pixel stops
    before the Gaussian that would bring T to transmittance_min or below.
    """
    log_alpha = torch.clamp_max(log_alpha, math.log(options.max_alpha))
    alpha = torch.exp(log_alpha)
    gate = alpha >= options.alpha_min
    log_keep = torch.where(gate, torch.log1p(-alpha), 0.0)  # log(1 - alpha) of the drawn Gaussians
    log_t_after = log_t[:, :, None] + log_keep.cumsum(-1)  # [A, P, K]
    drawn = gate & (log_t_after > options.log_transmittance_min)
    weights = torch.where(drawn, torch.exp(log_alpha + log_t_after - log_keep), 0.0)
    return weights, log_t_after[:, :, -1]


def composite_tiles(
    bins: TileBins,
    means2d: Tensor,  # [G, 2] flat per-camera Gaussians (G = C * N)
    conics: Tensor,  # [G, 3]
    opacities: Tensor,  # [G]
    features: Tensor,  # [G, D]
    options: RenderOptions,
) -> tuple[Tensor, Tensor]:
    """Front-to-back alpha compositing per tile (Eq. 2). -> (sum w f [T, P, D], sum w [T, P])."""
    dtype, device = features.dtype, features.device
    ts, D = bins.tile_size, features.shape[1]
    P, T = ts * ts, bins.counts.numel()
    # A padding entry that is below the alpha threshold at every pixel.
    pad_log_opacity = math.log(options.alpha_min) - 1.0
    means2d = torch.cat([means2d, means2d.new_zeros(1, 2)])
    conics = torch.cat([conics, conics.new_zeros(1, 3)])
    log_opacity = torch.cat(
        [torch.log(opacities.clamp_min(options.alpha_min)), opacities.new_full((1,), pad_log_opacity)]
    )
    features = torch.cat([features, features.new_zeros(1, D)])
    pad, last = means2d.shape[0] - 1, bins.ids.numel() - 1

    tiles = torch.arange(T, device=device)
    per_image = bins.tiles_x * bins.tiles_y
    tile_xy = torch.stack([(tiles % per_image) % bins.tiles_x, (tiles % per_image) // bins.tiles_x], -1)
    centres = (tile_xy.to(dtype) + 0.5) * ts  # [T, 2]
    basis = _pixel_basis(ts, dtype, device)  # [P, 6]

    carry = torch.zeros(T, P, dtype=dtype, device=device)  # log transmittance of the gated Gaussians so far
    parts: list[tuple[Tensor, Tensor, Tensor]] = []
    K = options.chunk_gaussians
    max_count = int(bins.counts.max()) if T > 0 else 0
    for k0 in range(0, max_count, K):
        with torch.no_grad():  # a tile is done once its list is exhausted or all its pixels have stopped
            live = (bins.counts > k0) & (carry.detach().amax(1) > options.log_transmittance_min)
            live_tiles = live.nonzero().squeeze(1)
        group = max(1, options.chunk_elements // (P * K))
        for active in live_tiles.split(group):
            slot = k0 + torch.arange(K, device=device)  # [K]
            valid = slot[None] < bins.counts[active, None]  # [A, K]
            entry = torch.clamp_max(bins.starts[active, None] + slot[None], last)
            g = torch.where(valid, bins.ids[entry], pad)  # [A, K]
            q = _log_alpha_coefficients(means2d[g], conics[g], log_opacity[g], centres[active])  # [A, 6, K]
            weights, log_t = _blend_weights(basis @ q, carry[active], options)  # [A, P, K], [A, P]
            parts.append((active, weights @ features[g], weights.sum(-1)))
            carry = carry.index_copy(0, active, log_t)
    acc = features.new_zeros(T, P, D)
    acc_alpha = features.new_zeros(T, P)
    if parts:
        active = torch.cat([p[0] for p in parts])
        acc = acc.index_add(0, active, torch.cat([p[1] for p in parts]))
        acc_alpha = acc_alpha.index_add(0, active, torch.cat([p[2] for p in parts]))
    return acc, acc_alpha


def _untile(x: Tensor, C: int, bins: TileBins, width: int, height: int) -> Tensor:
    """[C*ty*tx, ts*ts, D] tiles -> [C, H, W, D] image."""
    ts, D = bins.tile_size, x.shape[-1]
    x = x.reshape(C, bins.tiles_y, bins.tiles_x, ts, ts, D).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(C, bins.tiles_y * ts, bins.tiles_x * ts, D)[:, :height, :width]


def rasterize_torch(
    means: Tensor,  # [N, 3]
    quats: Tensor,  # [N, 4] wxyz
    scales: Tensor,  # [N, 3]
    opacities: Tensor,  # [N]
    colors: Tensor,  # [C, N, D] per-camera features
    viewmats: Tensor,  # [C, 4, 4]
    Ks: Tensor,  # [C, 3, 3]
    width: int,
    height: int,
    options: RenderOptions,
) -> RasterOutput:
    """Splat N Gaussians into C views in pure PyTorch; same images as gsplat's CUDA rasteriser."""
    C, N, D = colors.shape
    proj = project_gaussians(means, quats, scales, opacities, viewmats, Ks, width, height, options)
    bins = bin_gaussians(proj, width, height, options.torch_tile_size)
    features = torch.cat([colors, proj.depths[..., None]], -1).reshape(C * N, D + 1)  # [C*N, D+1]
    acc, acc_alpha = composite_tiles(
        bins,
        proj.means2d.reshape(C * N, 2),
        proj.conics.reshape(C * N, 3),
        opacities.expand(C, N).reshape(C * N),
        features,
        options,
    )
    image = _untile(torch.cat([acc, acc_alpha[..., None]], -1), C, bins, width, height)
    return RasterOutput(features=image[..., :D], depth_sum=image[..., D], alpha=image[..., D + 1])
