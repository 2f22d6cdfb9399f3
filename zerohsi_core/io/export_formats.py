"""One entry point for all exports: `export_result(result_dir, formats, out_dir)` writes each format's
file (npz: motion_amass.npz, bvh: motion.bvh, usd: motion.usda/.usdc, mcap: motion.mcap,
glb: motion.glb)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from zerohsi_core.errors import InputError
from zerohsi_core.io.export_bvh import BvhOptions, write_bvh
from zerohsi_core.io.export_common import BodyRest, ExportMotion, body_rest, load_motion
from zerohsi_core.io.export_gltf import GltfOptions, write_gltf
from zerohsi_core.io.export_mcap import McapOptions, write_mcap
from zerohsi_core.io.export_npz import write_amass_npz
from zerohsi_core.io.export_usd import UsdOptions, write_usd


@dataclass(frozen=True)
class ExportOptions:
    """Per-format options and the USD file flavour (`usda` text or `usdc` binary)."""

    bvh: BvhOptions = field(default_factory=BvhOptions)
    usd: UsdOptions = field(default_factory=UsdOptions)
    mcap: McapOptions = field(default_factory=McapOptions)
    gltf: GltfOptions = field(default_factory=GltfOptions)
    usd_format: str = "usda"


Writer = Callable[[ExportMotion, Callable[[], BodyRest], Path, ExportOptions], Path]

FORMATS: dict[str, Writer] = {
    "npz": lambda m, rest, out, o: write_amass_npz(m, out / "motion_amass.npz"),
    "bvh": lambda m, rest, out, o: write_bvh(m, rest(), out / "motion.bvh", o.bvh),
    "usd": lambda m, rest, out, o: write_usd(m, rest(), out / f"motion.{o.usd_format}", o.usd),
    "mcap": lambda m, rest, out, o: write_mcap(m, out / "motion.mcap", o.mcap),
    "glb": lambda m, rest, out, o: write_gltf(m, rest(), out / "motion.glb", o.gltf),
}
"""Format name → writer(motion, lazy body rest, output folder, options) returning the written path."""


def parse_formats(text: str) -> list[str]:
    """ "bvh,usd" or "all" → format names; InputError naming the known ones."""
    names = list(FORMATS) if text.strip() == "all" else [n.strip() for n in text.split(",") if n.strip()]
    unknown = sorted(set(names) - set(FORMATS))
    if unknown or not names:
        raise InputError(
            f"unknown export format(s) {unknown or [text]}; choose from {list(FORMATS)} or 'all'"
        )
    return names


def export_result(
    result_dir: str | Path,
    formats: Sequence[str],
    out_dir: str | Path | None = None,
    options: ExportOptions | None = None,
) -> dict[str, Path]:
    """Write the chosen formats of a result directory into out_dir (default: <result_dir>/exports)."""
    options = options or ExportOptions()
    if options.usd_format not in ("usda", "usdc", "usd"):
        raise InputError(f"USD format must be usda, usdc or usd, got {options.usd_format!r}")
    motion = load_motion(result_dir)
    out = Path(out_dir) if out_dir is not None else Path(result_dir) / "exports"
    out.mkdir(parents=True, exist_ok=True)
    cache: list[BodyRest] = []

    def rest() -> BodyRest:
        if not cache:
            cache.append(body_rest(motion))
        return cache[0]

    return {name: FORMATS[name](motion, rest, out, options) for name in parse_formats(",".join(formats))}
