"""Loss-curve PNG: series are gathered per stage across clips and drawn in their own panels."""

import json

import numpy as np
import pytest
from PIL import Image

from zerohsi_core.errors import AssetError
from zerohsi_core.io.export_losses import PALETTE, LossPlotOptions, loss_series, plot_losses, write_loss_plot

LOSSES = [
    {
        "tracking": [1.0, 0.5],
        "hsi_curves": [[3.0, 2.0], [1.0]],
        "refinement": {"total": [4.0, 2.0], "fit": [1.0]},
    },
    {"tracking": [0.25], "hsi_curves": [], "refinement": {"total": [1.0], "fit": [0.5]}},
]


def test_series_concatenate_clips_and_frames() -> None:
    assert loss_series(LOSSES) == {
        "tracking": {"tracking": [1.0, 0.5, 0.25]},
        "hsi_curves": {"hsi_curves": [3.0, 2.0, 1.0]},
        "refinement": {"total": [4.0, 2.0, 1.0], "fit": [1.0, 0.5]},
    }


def test_png_has_a_panel_per_stage_with_coloured_lines(tmp_path) -> None:
    (tmp_path / "losses.json").write_text(json.dumps(LOSSES))
    path = write_loss_plot(tmp_path)
    options = LossPlotOptions()
    image = np.asarray(Image.open(path).convert("RGB"))
    assert image.shape == (2 * options.panel_height, 2 * options.panel_width, 3)  # 3 panels → 2 × 2 grid
    refinement = image[options.panel_height :, : options.panel_width]  # third panel: bottom left
    for colour in PALETTE[:2]:  # total and fit
        assert (refinement == colour).all(-1).sum() > 50
    assert not (image[options.panel_height :, options.panel_width :] != 255).any()  # the empty fourth cell


def test_nothing_to_plot() -> None:
    with pytest.raises(AssetError, match="no loss curve"):
        plot_losses([{"hsi_curves": []}])
