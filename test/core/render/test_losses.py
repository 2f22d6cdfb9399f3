"""SSIM (Eq. 10's structural term) against pytorch-msssim, and the window normalisation of L_rgb."""

import pytest
import torch
from pytorch_msssim import ssim as reference_ssim

from zerohsi_core.render.losses import _filter_last, _gaussian_band, photometric_loss, ssim


@pytest.mark.parametrize(("window", "size"), [(11, (40, 50)), (5, (40, 50)), (11, (75, 110))])
def test_ssim_matches_pytorch_msssim(window: int, size: tuple[int, int]) -> None:
    g = torch.Generator().manual_seed(1)
    a = torch.rand(2, *size, 3, dtype=torch.float64, generator=g)
    b = (a + 0.1 * torch.randn(a.shape, dtype=torch.float64, generator=g)).clamp(0, 1)
    expected = reference_ssim(a.permute(0, 3, 1, 2), b.permute(0, 3, 1, 2), data_range=1.0, win_size=window)
    assert float(ssim(a, b, window)) == pytest.approx(float(expected), abs=1e-6)
    assert float(ssim(a, a, window)) == pytest.approx(1.0, abs=1e-9)


def test_blocked_filter_equals_the_whole_band() -> None:
    """The blockwise Gaussian filter (used on CUDA) computes the whole-axis band product."""
    x = torch.rand(2, 3, 7, 100, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    whole = _filter_last(x, 11, 1.5, blocked=False)
    assert whole.shape == (2, 3, 7, 90)
    torch.testing.assert_close(_filter_last(x, 11, 1.5, blocked=True), whole, rtol=0, atol=1e-12)
    torch.testing.assert_close(_filter_last(x[..., :40], 5, 1.5, blocked=True), x[..., :40] @ _band(40, 5))


def _band(length: int, size: int) -> torch.Tensor:
    return _gaussian_band(length, size, 1.5, torch.float64, torch.device("cpu"))


def test_window_loss_differs_from_the_full_frame_by_a_constant() -> None:
    """Changing pixels inside a window moves the window loss exactly as much as the full-frame loss."""
    g = torch.Generator().manual_seed(2)
    target = torch.rand(1, 60, 70, 3, generator=g, dtype=torch.float64)
    pred = torch.rand(1, 60, 70, 3, generator=g, dtype=torch.float64)
    moved = pred.clone()
    moved[:, 25:35, 30:40] += 0.2 * torch.rand(1, 10, 10, 3, generator=g, dtype=torch.float64)
    rows, cols = slice(10, 50), slice(15, 55)  # the change is > 5 px (half the SSIM window) inside
    full = [photometric_loss(p, target, 0.2) for p in (pred, moved)]
    part = [
        photometric_loss(p[:, rows, cols], target[:, rows, cols], 0.2, full_size=(60, 70))
        for p in (pred, moved)
    ]
    assert float(part[1] - part[0]) == pytest.approx(float(full[1] - full[0]), abs=1e-12)
    assert abs(float(full[1] - full[0])) > 1e-5  # the change is seen
