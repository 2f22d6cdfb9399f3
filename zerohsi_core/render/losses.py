"""Image losses shared by every stage that fits renders to images."""

from __future__ import annotations

from pytorch_msssim import ssim
from torch import Tensor


def photometric_loss(
    pred: Tensor,
    target: Tensor,
    ssim_weight: float,
    window: int = 11,
    full_size: tuple[int, int] | None = None,
) -> Tensor:
    """L_rgb = (1 − λ) L1 + λ (1 − SSIM) (Eq. 10) of images [C, H, W, 3] in [0, 1].

    The SSIM window shrinks (odd, at least 3) for images smaller than `window`. For a window of a larger
    image (full_size = (H, W)), both terms are sums over the window normalised as over the full image: the
    loss differs from the full image's by the constant contribution of the pixels outside the window.
    """
    height, width = pred.shape[1:3]
    full_h, full_w = full_size or (height, width)
    l1 = (pred - target).abs().mean() * (height * width) / (full_h * full_w)
    if ssim_weight == 0.0:
        return l1
    window = max(3, min(window, (min(full_h, full_w) - 1) // 2 * 2 + 1))
    window = min(window, (min(height, width) - 1) // 2 * 2 + 1)
    structural = ssim(pred.permute(0, 3, 1, 2), target.permute(0, 3, 1, 2), data_range=1.0, win_size=window)
    share = (height - window + 1) * (width - window + 1) / ((full_h - window + 1) * (full_w - window + 1))
    return (1.0 - ssim_weight) * l1 + ssim_weight * (1.0 - structural) * share
