"""Loss curves of a result (losses.json) drawn as one PNG with PIL: one panel per stage (tracking, hsi,
per-iteration hsi curves, refinement), one line per loss term, clips one after another, log-scale y
when every value is positive."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from zerohsi_core.errors import AssetError

PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75))


@dataclass(frozen=True)
class LossPlotOptions:
    """Panel size in pixels, panels per row and the margin around each plot area."""

    panel_width: int = 420
    panel_height: int = 260
    columns: int = 2
    margin: int = 36


def _numbers(values: Any) -> list[float] | None:
    """A flat list of floats from a list of numbers or a list of lists (concatenated); None otherwise."""
    if not isinstance(values, list):
        return None
    if all(isinstance(v, int | float) for v in values):
        return [float(v) for v in values]
    if all(isinstance(v, list) for v in values):
        parts = [_numbers(v) for v in values]
        return [x for p in parts if p for x in p] if all(p is not None for p in parts) else None
    return None


def loss_series(losses: list[dict[str, Any]]) -> dict[str, dict[str, list[float]]]:
    """Stage → term → values over all clips (the per-clip lists of losses.json concatenated)."""
    panels: dict[str, dict[str, list[float]]] = {}
    for clip in losses:
        for stage, value in clip.items():
            terms = value if isinstance(value, dict) else {stage: value}
            for term, values in terms.items():
                numbers = _numbers(values)
                if numbers:
                    panels.setdefault(stage, {}).setdefault(term, []).extend(numbers)
    return panels


def _draw_panel(
    draw: ImageDraw.ImageDraw, origin: tuple[int, int], title: str, series: dict[str, list[float]],
    options: LossPlotOptions,
) -> None:  # fmt: skip
    font = ImageFont.load_default()
    x0, y0 = origin[0] + options.margin, origin[1] + options.margin
    x1, y1 = (
        origin[0] + options.panel_width - options.margin // 2,
        origin[1] + options.panel_height - options.margin,
    )
    everything = [v for values in series.values() for v in values if math.isfinite(v)]
    log = bool(everything) and min(everything) > 0
    ys = [math.log10(v) for v in everything] if log else everything
    low, high = (min(ys), max(ys)) if ys else (0.0, 1.0)
    high = high if high > low else low + 1.0
    draw.rectangle([x0, y0, x1, y1], outline=(0, 0, 0))
    draw.text((x0, origin[1] + 8), f"{title}{' (log scale)' if log else ''}", fill=(0, 0, 0), font=font)
    for value, y in ((high, y0), (low, y1)):
        label = f"{10**value:.3g}" if log else f"{value:.3g}"
        draw.text((origin[0] + 2, y - 6), label, fill=(80, 80, 80), font=font)
    for k, (term, values) in enumerate(series.items()):
        colour = PALETTE[k % len(PALETTE)]
        n = max(len(values) - 1, 1)
        points = []
        for i, v in enumerate(values):
            if not math.isfinite(v) or (log and v <= 0):
                continue
            y = math.log10(v) if log else v
            points.append((x0 + (x1 - x0) * i / n, y1 - (y1 - y0) * (y - low) / (high - low)))
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        elif points:
            draw.ellipse(
                [points[0][0] - 2, points[0][1] - 2, points[0][0] + 2, points[0][1] + 2], fill=colour
            )
        draw.text((x1 - 90, y0 + 4 + 12 * k), term, fill=colour, font=font)
    draw.text((x0, y1 + 6), f"iteration / frame (0 … {max(len(v) for v in series.values()) - 1})",
              fill=(80, 80, 80), font=font)  # fmt: skip


def plot_losses(losses: list[dict[str, Any]], options: LossPlotOptions | None = None) -> Image.Image:
    """The loss-curve figure of losses.json's contents (one dict per clip)."""
    options = options or LossPlotOptions()
    panels = loss_series(losses)
    if not panels:
        raise AssetError("losses.json holds no loss curve to plot")
    rows = math.ceil(len(panels) / options.columns)
    columns = min(options.columns, len(panels))
    image = Image.new("RGB", (columns * options.panel_width, rows * options.panel_height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    for i, (title, series) in enumerate(panels.items()):
        origin = ((i % columns) * options.panel_width, (i // columns) * options.panel_height)
        _draw_panel(draw, origin, title, series, options)
    return image


def write_loss_plot(result_dir: str | Path, path: str | Path | None = None) -> Path:
    """Draw <result_dir>/losses.json to `path` (default <result_dir>/losses.png); returns the path."""
    source = Path(result_dir) / "losses.json"
    if not source.is_file():
        raise AssetError(f"{source} not found: is {result_dir} a result directory?")
    out = Path(path) if path is not None else Path(result_dir) / "losses.png"
    plot_losses(json.loads(source.read_text())).save(out)
    return out
