"""Image losses shared by every stage that fits renders to images."""

from __future__ import annotations

from pytorch_msssim import ssim
from torch import Tensor


def photometric_loss(pred: Tensor, target: Tensor, ssim_weight: float, window: int = 11) -> Tensor:
    """L_rgb = (1 − λ) L1 + λ (1 − SSIM) (Eq. 10) of images [C, H, W, 3] in [0, 1].

    The SSIM window shrinks (odd, at least 3) for images smaller than `window`.
    """
    l1 = (pred - target).abs().mean()
    if ssim_weight == 0.0:
        return l1
    window = max(3, min(window, (min(pred.shape[1:3]) - 1) // 2 * 2 + 1))
    structural = ssim(pred.permute(0, 3, 1, 2), target.permute(0, 3, 1, 2), data_range=1.0, win_size=window)
    return (1.0 - ssim_weight) * l1 + ssim_weight * (1.0 - structural)
