"""AMASS-style npz export: the keys AMASS loaders read (`poses`, `trans`, `betas`, `gender`, frame rate),
the SMPL-X part arrays of AMASS's SMPL-X release, and the object poses.

Keys: poses [T, 165] = root(3) + body(63) + jaw(3) + eyes(6) + hands(90), SMPL-X joint order, axis-angle
(hand poses relative to the flat hand, i.e. `flat_hand_mean=True`); trans [T, 3]; betas [nb]; num_betas;
gender; mocap_framerate (SMPL+H AMASS) and mocap_frame_rate (SMPL-X AMASS); mocap_time_length (s);
surface_model_type = "smplx"; root_orient [T, 3], pose_body [T, 63], pose_hand [T, 90], pose_jaw [T, 3],
pose_eye [T, 6]; joints [T, 55, 3]; object_poses [T, 4, 4] and object_id (when the result has an object).
World frame z-up, metres — the frame AMASS uses.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from zerohsi_core.io.export_common import ExportMotion

NUM_POSE_VALUES = 165  # 55 joints × 3


def amass_arrays(motion: ExportMotion) -> dict[str, np.ndarray]:
    """The npz arrays (see the module docstring)."""
    p = motion.poses  # [T, 55, 3]
    frames = motion.num_frames
    arrays = {
        "poses": p.reshape(frames, NUM_POSE_VALUES),
        "trans": motion.trans,
        "betas": motion.betas,
        "num_betas": np.array(len(motion.betas)),
        "gender": np.array(motion.gender),
        "mocap_framerate": np.array(motion.fps),
        "mocap_frame_rate": np.array(motion.fps),
        "mocap_time_length": np.array(frames / motion.fps if motion.fps > 0 else 0.0),
        "surface_model_type": np.array("smplx"),
        "root_orient": p[:, 0],
        "pose_body": p[:, 1:22].reshape(frames, -1),
        "pose_jaw": p[:, 22],
        "pose_eye": p[:, 23:25].reshape(frames, -1),
        "pose_hand": p[:, 25:55].reshape(frames, -1),
        "joints": motion.joints,
    }
    if motion.object_poses is not None:
        arrays["object_poses"] = motion.object_poses
        arrays["object_id"] = np.array(motion.object_id or "")
    return arrays


def write_amass_npz(motion: ExportMotion, path: str | Path) -> Path:
    """Write the AMASS-style npz (uncompressed, as AMASS ships); returns its path."""
    path = Path(path)
    with path.open("wb") as stream:
        np.savez(stream, **amass_arrays(motion))
    return path
