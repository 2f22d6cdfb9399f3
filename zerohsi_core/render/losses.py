"""Image losses shared by every stage that fits renders to images."""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import Tensor

SSIM_SIGMA = 1.5  # Gaussian window of SSIM (Wang et al. 2004), as in 3DGS
SSIM_K1, SSIM_K2 = 0.01, 0.03
SSIM_BLOCK = 32  # filtered outputs per block: one small band matrix serves every block of an axis


@functools.cache
def _gaussian_band(length: int, size: int, sigma: float, dtype: torch.dtype, device: torch.device) -> Tensor:
    """The valid 1-D Gaussian filter (`size` taps, normalised) along `length` samples as a banded matrix:
    x @ band filters the last axis. [length, length − size + 1]"""
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    taps = torch.exp(-(x**2) / (2 * sigma**2))
    taps = taps / taps.sum()
    out = length - size + 1
    band = torch.zeros(length, out, dtype=torch.float64)
    cols = torch.arange(out)
    for k in range(size):
        band[cols + k, cols] = taps[k]
    return band.to(dtype=dtype, device=device)


def _filter_last(x: Tensor, size: int, sigma: float, blocked: bool) -> Tensor:
    """Valid Gaussian filtering of the last axis, [..., L] → [..., L − size + 1], as products with a banded
    matrix: one band over the whole axis, or (blocked) the axis cut into overlapping blocks of
    SSIM_BLOCK + size − 1 samples that share one small band — the work of a `size`-tap filter instead of
    L products per sample (faster on a GPU for large windows; slower on the CPU, whose images are small)."""
    length = x.shape[-1]
    out = length - size + 1
    if not blocked:
        return x @ _gaussian_band(length, size, sigma, x.dtype, x.device)
    blocks = -(-out // SSIM_BLOCK)
    x = F.pad(x, (0, blocks * SSIM_BLOCK + size - 1 - length))
    band = _gaussian_band(SSIM_BLOCK + size - 1, size, sigma, x.dtype, x.device)  # [B + size − 1, B]
    filtered = x.unfold(-1, SSIM_BLOCK + size - 1, SSIM_BLOCK) @ band  # [..., blocks, B]
    return filtered.flatten(-2)[..., :out]


def ssim(
    pred: Tensor, target: Tensor, window: int = 11, sigma: float = SSIM_SIGMA, per_image: bool = False
) -> Tensor:
    """Mean SSIM of images [C, H, W, 3] in [0, 1]: Gaussian-weighted local statistics over the valid
    positions (no padding), averaged over positions, channels and images (per_image: over positions and
    channels, [C]). The five local moments of all channels are filtered together, one axis after the
    other, by products with a banded Gaussian matrix (fast on any device and size, where small grouped
    convolutions are not; blockwise on CUDA)."""
    x, y = pred.permute(0, 3, 1, 2), target.permute(0, 3, 1, 2)  # [C, 3, H, W]
    stacked = torch.stack([x, y, x * x, y * y, x * y], dim=1)  # [C, 5, 3, H, W]
    blocked = stacked.is_cuda
    rows = _filter_last(stacked, window, sigma, blocked)  # [C, 5, 3, H, W']
    filtered = _filter_last(
        rows.transpose(-1, -2), window, sigma, blocked
    )  # [C, 5, 3, W', H'] (order is moot)
    mu_x, mu_y, xx, yy, xy = filtered.unbind(1)
    c1, c2 = SSIM_K1**2, SSIM_K2**2
    var_x, var_y, cov = xx - mu_x.square(), yy - mu_y.square(), xy - mu_x * mu_y
    luminance = (2 * mu_x * mu_y + c1) / (mu_x.square() + mu_y.square() + c1)
    structure = (2 * cov + c2) / (var_x + var_y + c2)
    value = luminance * structure  # [C, 3, H', W']
    return value.mean(dim=(1, 2, 3)) if per_image else value.mean()


def photometric_loss(
    pred: Tensor,
    target: Tensor,
    ssim_weight: float,
    window: int = 11,
    full_size: tuple[int, int] | None = None,
    per_image: bool = False,
) -> Tensor:
    """L_rgb = (1 − λ) L1 + λ (1 − SSIM) (Eq. 10) of images [C, H, W, 3] in [0, 1].

    The SSIM window shrinks (odd, at least 3) for images smaller than `window`. For a window of a larger
    image (full_size = (H, W)), both terms are sums over the window normalised as over the full image: the
    loss differs from the full image's by the constant contribution of the pixels outside the window.
    per_image: one loss per image [C] instead of their mean.
    """
    height, width = pred.shape[1:3]
    full_h, full_w = full_size or (height, width)
    error = (pred - target).abs()
    l1 = (error.mean(dim=(1, 2, 3)) if per_image else error.mean()) * (height * width) / (full_h * full_w)
    if ssim_weight == 0.0:
        return l1
    window = max(3, min(window, (min(full_h, full_w) - 1) // 2 * 2 + 1))
    window = min(window, (min(height, width) - 1) // 2 * 2 + 1)
    structural = ssim(pred, target, window, per_image=per_image)
    share = (height - window + 1) * (width - window + 1) / ((full_h - window + 1) * (full_w - window + 1))
    return (1.0 - ssim_weight) * l1 + ssim_weight * (1.0 - structural) * share
