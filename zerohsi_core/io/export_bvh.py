"""BVH export of the SMPL-X skeleton (Blender, Gazebo actors, MotionBuilder) and a small BVH reader.

Skeleton: the 55 SMPL-X joints with the body model's kinematic tree; offsets are the rest joints of the
result's betas (zero pose). The root carries 6 channels (absolute position, root OFFSET is zero), every
other joint 3: `Zrotation Yrotation Xrotation`, i.e. R = Rz · Ry · Rx (intrinsic ZYX), in degrees.
Units are metres by default (Blender: import with scale 1; `units="cm"` for tools that expect the
mocap habit of centimetres). `up="y"` (default) writes the native SMPL-X frame (y up, body faces +z),
what BVH readers assume; `up="z"` writes the project's z-up world frame (x forward).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from scipy.spatial.transform import Rotation

from zerohsi_core.body.frames import Y_UP_TO_Z_UP
from zerohsi_core.errors import AssetError, InputError
from zerohsi_core.io.export_common import (
    BodyRest,
    ExportMotion,
    forward_kinematics,
    local_rotations,
    root_positions,
)

UNIT_SCALE = {"m": 1.0, "cm": 100.0}
EULER_ORDER = "ZYX"  # channel order; R = Rz · Ry · Rx
ROOT_CHANNELS = ("Xposition", "Yposition", "Zposition", "Zrotation", "Yrotation", "Xrotation")
JOINT_CHANNELS = ("Zrotation", "Yrotation", "Xrotation")


@dataclass(frozen=True)
class BvhOptions:
    """How the BVH is laid out: up axis, length units and decimals of the numbers."""

    up: Literal["y", "z"] = "y"
    units: Literal["m", "cm"] = "m"
    decimals: int = 6


@dataclass(frozen=True)
class BvhData:
    """A parsed BVH: joints (End Sites dropped), their channels and the motion table."""

    names: tuple[str, ...]
    parents: tuple[int, ...]
    offsets: np.ndarray  # [J, 3]
    channels: tuple[tuple[str, ...], ...]
    frame_time: float  # seconds
    motion: np.ndarray  # [T, sum of channels]


def bvh_basis(up: str) -> tuple[np.ndarray, np.ndarray]:
    """(C, B): world → BVH coordinates C, and rest-model → BVH coordinates B (both [3, 3])."""
    y_to_z = np.array(Y_UP_TO_Z_UP)
    if up == "y":
        return y_to_z.T, np.eye(3)
    if up == "z":
        return np.eye(3), y_to_z
    raise InputError(f"BVH up axis must be 'y' or 'z', got {up!r}")


def _check(options: BvhOptions) -> float:
    if options.units not in UNIT_SCALE:
        raise InputError(f"BVH units must be one of {sorted(UNIT_SCALE)}, got {options.units!r}")
    return UNIT_SCALE[options.units]


def _hierarchy(rest: BodyRest, offsets: np.ndarray, fmt: str) -> tuple[list[str], list[int]]:
    """HIERARCHY lines and the joints in the order they appear (depth first: the MOTION column order)."""
    lines, order = ["HIERARCHY"], []
    children = {j: [c for c, p in enumerate(rest.parents) if p == j] for j in range(len(rest.names))}

    def emit(j: int, depth: int) -> None:
        pad = "  " * depth
        kind = "ROOT" if rest.parents[j] < 0 else "JOINT"
        channels = ROOT_CHANNELS if rest.parents[j] < 0 else JOINT_CHANNELS
        offset = np.zeros(3) if rest.parents[j] < 0 else offsets[j]
        order.append(j)
        lines.extend([f"{pad}{kind} {rest.names[j]}", f"{pad}{{"])
        lines.append(f"{pad}  OFFSET " + " ".join(fmt.format(v) for v in offset))
        lines.append(f"{pad}  CHANNELS {len(channels)} {' '.join(channels)}")
        for child in children[j]:
            emit(child, depth + 1)
        if not children[j]:
            lines.extend([f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET 0 0 0", f"{pad}  }}"])
        lines.append(f"{pad}}}")

    emit(0, 0)
    return lines, order


def _euler_degrees(matrices: np.ndarray) -> np.ndarray:
    """Rotation matrices [..., 3, 3] → (z, y, x) angles [..., 3] in degrees for R = Rz · Ry · Rx."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # gimbal lock: scipy still returns an exact pair
        angles = Rotation.from_matrix(matrices.reshape(-1, 3, 3)).as_euler(EULER_ORDER, degrees=True)
    return angles.reshape(*matrices.shape[:-2], 3)


def bvh_text(motion: ExportMotion, rest: BodyRest, options: BvhOptions | None = None) -> str:
    """The BVH file of a motion (see the module docstring for frames, units and channel order)."""
    options = options or BvhOptions()
    scale = _check(options)
    motion.require_frame_rate("BVH")
    C, B = bvh_basis(options.up)
    local = local_rotations(motion, rest)  # [T, 55, 3, 3]
    local = np.concatenate([C @ local[:, :1] @ B.T, B @ local[:, 1:] @ B.T], axis=1)
    root = root_positions(motion, rest) @ C.T * scale  # [T, 3]
    offsets = rest.offsets() @ B.T * scale  # [55, 3]
    fmt = f"{{:.{options.decimals}f}}"
    lines, order = _hierarchy(rest, offsets, fmt)
    lines += ["MOTION", f"Frames: {motion.num_frames}", f"Frame Time: {1.0 / motion.fps:.8f}"]
    angles = _euler_degrees(local[:, order])  # [T, 55, 3] in hierarchy order
    rows = np.concatenate([root, angles.reshape(motion.num_frames, -1)], axis=1)
    lines += [" ".join(fmt.format(v) for v in row) for row in rows]
    return "\n".join(lines) + "\n"


def write_bvh(
    motion: ExportMotion, rest: BodyRest, path: str | Path, options: BvhOptions | None = None
) -> Path:
    """Write the BVH file; returns its path."""
    path = Path(path)
    path.write_text(bvh_text(motion, rest, options))
    return path


def read_bvh(path_or_text: str | Path) -> BvhData:
    """Parse a BVH file (or its text); AssetError on malformed input."""
    text = path_or_text.read_text() if isinstance(path_or_text, Path) else str(path_or_text)
    tokens = text.split()
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[tuple[str, ...]] = []
    stack: list[int] = []
    i, in_end_site = 0, False
    try:
        while tokens[i] != "MOTION":
            tok = tokens[i]
            if tok in ("ROOT", "JOINT"):
                names.append(tokens[i + 1])
                parents.append(stack[-1] if stack else -1)
                i += 2
            elif tok == "End":
                in_end_site, i = True, i + 2
            elif tok == "{":
                if not in_end_site:
                    stack.append(len(names) - 1)
                i += 1
            elif tok == "}":
                if in_end_site:
                    in_end_site = False
                else:
                    stack.pop()
                i += 1
            elif tok == "OFFSET":
                if not in_end_site:
                    offsets.append([float(v) for v in tokens[i + 1 : i + 4]])
                i += 4
            elif tok == "CHANNELS":
                count = int(tokens[i + 1])
                channels.append(tuple(tokens[i + 2 : i + 2 + count]))
                i += 2 + count
            else:
                i += 1
        frames = int(re.search(r"Frames:\s*(\d+)", text).group(1))  # type: ignore[union-attr]
        frame_time = float(re.search(r"Frame Time:\s*([0-9.eE+-]+)", text).group(1))  # type: ignore[union-attr]
        body = text[re.search(r"Frame Time:[^\n]*\n", text).end() :].split()  # type: ignore[union-attr]
        width = sum(len(c) for c in channels)
        table = np.array([float(v) for v in body[: frames * width]]).reshape(frames, width)
    except (IndexError, ValueError, AttributeError) as exc:
        raise AssetError(f"malformed BVH ({type(exc).__name__}: {exc})") from exc
    return BvhData(tuple(names), tuple(parents), np.array(offsets), tuple(channels), frame_time, table)


def bvh_positions(data: BvhData) -> np.ndarray:
    """World joint positions [T, J, 3] of a parsed BVH (forward kinematics over its channels)."""
    frames = data.motion.shape[0]
    rotations = np.tile(np.eye(3), (frames, len(data.names), 1, 1))
    translations = np.tile(data.offsets, (frames, 1, 1))  # [T, J, 3]
    column = 0
    for j, chans in enumerate(data.channels):
        values = data.motion[:, column : column + len(chans)]
        column += len(chans)
        order = "".join(c[0] for c in chans if c.endswith("rotation"))
        angles = values[:, [k for k, c in enumerate(chans) if c.endswith("rotation")]]
        if order:
            rotations[:, j] = Rotation.from_euler(order.upper(), angles, degrees=True).as_matrix()
        for k, c in enumerate(chans):
            if c.endswith("position"):
                translations[:, j, "XYZ".index(c[0])] += values[:, k]
    return forward_kinematics(rotations, translations[:, 0], translations, data.parents)[1]
