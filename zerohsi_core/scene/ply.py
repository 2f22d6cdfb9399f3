"""3DGS PLY files: read (any property order, ascii or binary) and write (the reference binary layout)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from plyfile import PlyData, PlyElement, PlyParseError

from zerohsi_core.errors import AssetError
from zerohsi_core.scene.gaussians import GaussianCloud
from zerohsi_core.scene.sh import MAX_SH_DEGREE, num_sh_coeffs

_MEANS = ("x", "y", "z")
_NORMALS = ("nx", "ny", "nz")
_DC = ("f_dc_0", "f_dc_1", "f_dc_2")
_SCALES = ("scale_0", "scale_1", "scale_2")
_ROTS = ("rot_0", "rot_1", "rot_2", "rot_3")
_REQUIRED = (*_MEANS, *_DC, "opacity", *_SCALES, *_ROTS)
# Log-scale bounds of a usable Gaussian: below, float32 covariances underflow; above, one splat is larger
# than any scene (a corrupt or mis-encoded file, e.g. linear scales stored where log-scales belong).
MIN_LOG_SCALE = -30.0  # scale ≈ 1e-13 m
MAX_LOG_SCALE = 7.0  # scale ≈ 1.1 km
# f_rest count -> SH degree: 3 * ((degree + 1)^2 - 1).
_DEGREE_OF_REST = {3 * (num_sh_coeffs(d) - 1): d for d in range(MAX_SH_DEGREE + 1)}


def read_ply_data(path: str | Path, known_list_len: dict[str, dict[str, int]] | None = None) -> PlyData:
    """Parse a PLY file (binary data memory-mapped copy-on-write); AssetError naming the path if it is bad.

    known_list_len ({element: {list property: length}}) lets binary list properties be mapped too.
    """
    path = Path(path)
    if not path.is_file():
        raise AssetError(f"PLY file {path} does not exist (or is not a regular file)")
    try:
        with path.open("rb") as stream:
            return PlyData.read(stream, mmap="c", known_list_len=known_list_len or {})
    except PlyParseError as exc:
        if "end-of-file" in str(exc) or "early end" in str(exc):
            raise AssetError(f"PLY file {path} is truncated: {exc}") from exc
        raise AssetError(f"{path} is not a valid PLY file: {exc}") from exc
    except (ValueError, UnicodeDecodeError, EOFError) as exc:
        raise AssetError(f"{path} is not a valid PLY file (truncated or corrupt): {exc}") from exc
    except OSError as exc:
        raise AssetError(f"cannot read PLY file {path}: {exc.strerror or exc}") from exc


def write_ply_data(path: str | Path, data: PlyData) -> None:
    """Write a PLY atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as stream:
            data.write(stream)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _rest_names(num_rest: int) -> tuple[str, ...]:
    return tuple(f"f_rest_{i}" for i in range(num_rest))


def _columns(vertex: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Named properties stacked as float32 columns. [N, len(names)]"""
    return np.stack([np.asarray(vertex[name], dtype=np.float32) for name in names], axis=-1)


def read_gaussian_ply(path: str | Path) -> GaussianCloud:
    """Load a 3DGS PLY (log-scales, opacity logits, wxyz rotations, channel-major f_rest) as float32 CPU."""
    path = Path(path)
    data = read_ply_data(path)
    if "vertex" not in data:
        raise AssetError(
            f"PLY file {path} has no 'vertex' element; a Gaussian splat PLY stores one per Gaussian"
        )
    element = data["vertex"]
    names = {prop.name for prop in element.properties}
    missing = [name for name in _REQUIRED if name not in names]
    if missing:
        raise AssetError(
            f"Gaussian PLY {path} lacks vertex properties {missing}; a 3DGS file needs "
            "x y z f_dc_0..2 opacity scale_0..2 rot_0..3 (+ optional f_rest_*)"
        )
    if element.count == 0:
        raise AssetError(f"Gaussian PLY {path} has zero vertices (no Gaussians)")
    num_rest = sum(1 for name in names if name.startswith("f_rest_"))
    if num_rest not in _DEGREE_OF_REST or not set(_rest_names(num_rest)) <= names:
        raise AssetError(
            f"Gaussian PLY {path} has {num_rest} f_rest_* properties; expected f_rest_0.. with a count of "
            f"{sorted(_DEGREE_OF_REST)} (SH degree 0..{MAX_SH_DEGREE})"
        )
    vertex = element.data
    values = _columns(vertex, (*_REQUIRED, *_rest_names(num_rest)))  # [N, P]
    bad_rows = ~np.isfinite(values).all(axis=1)
    if bad_rows.any():
        raise AssetError(
            f"Gaussian PLY {path}: {int(bad_rows.sum())} of {len(values)} Gaussians have NaN/inf values "
            f"(first at index {int(np.argmax(bad_rows))})"
        )
    n, k = element.count, num_sh_coeffs(_DEGREE_OF_REST[num_rest])
    column = {name: i for i, name in enumerate(_REQUIRED)}
    _check_log_scales(path, values[:, [column[name] for name in _SCALES]])

    def take(group: tuple[str, ...]) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(values[:, [column[name] for name in group]]))

    rest = values[:, len(_REQUIRED) :].reshape(n, 3, k - 1).transpose(0, 2, 1)  # [N, K-1, 3], channel-major
    sh = np.concatenate([values[:, None, [column[name] for name in _DC]], rest], axis=1)  # [N, K, 3]
    return GaussianCloud(
        means=take(_MEANS),
        quats=take(_ROTS),
        log_scales=take(_SCALES),
        opacity_logits=take(("opacity",))[:, 0].contiguous(),
        sh=torch.from_numpy(np.ascontiguousarray(sh)),
    )


def _check_log_scales(path: Path, log_scales: np.ndarray) -> None:
    """AssetError if any log-scale [N, 3] lies outside [MIN_LOG_SCALE, MAX_LOG_SCALE]."""
    bad = ((log_scales < MIN_LOG_SCALE) | (log_scales > MAX_LOG_SCALE)).any(axis=1)  # [N]
    if bad.any():
        first = int(np.argmax(bad))
        raise AssetError(
            f"Gaussian PLY {path}: {int(bad.sum())} of {len(bad)} Gaussians have log-scales outside "
            f"[{MIN_LOG_SCALE:g}, {MAX_LOG_SCALE:g}] (first at index {first}: {log_scales[first].tolist()}); "
            "scale_* must hold natural-log scales in metres"
        )


def write_gaussian_ply(path: str | Path, cloud: GaussianCloud) -> None:
    """Write the reference 3DGS layout: binary little-endian float32, normals zero, f_rest channel-major."""
    n, k = cloud.num, cloud.sh.shape[1]

    def host(t: torch.Tensor) -> np.ndarray:
        return t.detach().cpu().numpy().astype("<f4").reshape(n, -1)

    rest = cloud.sh[:, 1:, :].transpose(1, 2)  # [N, 3, K-1], channel-major
    columns = [
        host(cloud.means),
        np.zeros((n, 3), dtype="<f4"),
        host(cloud.sh[:, 0, :]),
        host(rest),
        host(cloud.opacity_logits),
        host(cloud.log_scales),
        host(cloud.quats),
    ]
    names = (*_MEANS, *_NORMALS, *_DC, *_rest_names(3 * (k - 1)), "opacity", *_SCALES, *_ROTS)
    dtype = np.dtype([(name, "<f4") for name in names])
    table = np.ascontiguousarray(np.concatenate(columns, axis=1)).view(dtype).reshape(n)
    write_ply_data(path, PlyData([PlyElement.describe(table, "vertex")], text=False, byte_order="<"))
