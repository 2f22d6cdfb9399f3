"""Result directories: motion (AMASS-style npz), metadata JSON, videos and masks, written atomically.

Layout of a result directory:
  result.json   request, per-clip prompt/frames/errors/stage seconds, the config used, file list
  motion.npz    trans [T,3], root_orient [T,3], pose_body [T,63], pose_hand [T,90], pose_jaw [T,3],
                pose_eye [T,6], betas [nb], gender, mocap_framerate, joints [T,55,3] (world, z-up, metres),
                raw_* (before refinement), clip [T] (clip index per frame), object_poses [T,4,4] (if any),
                camera_K [T,3,3], camera_world_to_cam [T,4,4]
  video.mp4     the generated video (all clips); preview.mp4 (generated | reconstruction), if given
  masks.npz     human [T,H,W] and object [T,H,W] masks (uint8)
  losses.json   per-stage loss curves
The directory is assembled under a temporary name beside the target and renamed into place, so a crash
leaves the previous result or none, never a half-written one. A crash between moving the previous result
aside and renaming the new one leaves it in `.<name>.old-*/result`; `recover_result` (run by
write_result and read_result) puts it back and removes abandoned staging folders.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zerohsi_core.config import Config, to_dict
from zerohsi_core.io.video import write_video

FORMAT_VERSION = 1


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def _hands(params: Any) -> torch.Tensor:
    """Both hands' poses as one row per frame. [T, 90]"""
    return torch.cat([params.left_hand_pose, params.right_hand_pose], 1).flatten(1)


def motion_arrays(sequence: Any, gender: str) -> dict[str, np.ndarray]:
    """AMASS-style arrays of a SequenceResult (see the module docstring)."""
    clips = sequence.clips

    def cat(get: Callable[[Any], torch.Tensor]) -> np.ndarray:
        return np.concatenate([_np(get(clip)) for clip in clips])

    arrays: dict[str, np.ndarray] = {}
    for prefix, params_of in (("", lambda c: c.params), ("raw_", lambda c: c.raw_params)):
        arrays[f"{prefix}trans"] = cat(lambda c, p=params_of: p(c).transl)
        arrays[f"{prefix}root_orient"] = cat(lambda c, p=params_of: p(c).global_orient)
        arrays[f"{prefix}pose_body"] = cat(lambda c, p=params_of: p(c).body_pose.flatten(1))
    first = clips[0].params
    arrays["pose_hand"] = cat(
        lambda c: torch.cat([c.params.left_hand_pose, c.params.right_hand_pose], 1).flatten(1)
    )
    arrays["pose_jaw"] = cat(lambda c: c.params.jaw_pose)
    arrays["pose_eye"] = cat(lambda c: torch.cat([c.params.leye_pose, c.params.reye_pose], 1))
    arrays["betas"] = _np(first.betas[0])
    arrays["gender"] = np.array(gender)
    arrays["mocap_framerate"] = np.array(float(clips[0].fps))
    arrays["joints"] = cat(lambda c: c.joints)
    arrays["raw_joints"] = cat(lambda c: c.raw_joints)
    arrays["clip"] = np.concatenate([np.full(len(c.joints), i, np.int32) for i, c in enumerate(clips)])
    arrays["camera_K"] = cat(lambda c: torch.stack([cam.K for cam in c.cameras]))
    arrays["camera_world_to_cam"] = cat(lambda c: torch.stack([cam.world_to_cam for cam in c.cameras]))
    if all(c.object_poses is not None for c in clips):
        arrays["object_poses"] = cat(lambda c: c.object_poses)
    return arrays


def result_summary(sequence: Any, cfg: Config, files: list[str]) -> dict[str, Any]:
    """The JSON metadata of a result."""
    request = sequence.request
    return {
        "format_version": FORMAT_VERSION,
        "scene_id": sequence.scene_id,
        "object_id": request.object_id or None,
        "prompts": list(request.prompts),
        "seed": request.seed,
        "fps": float(sequence.clips[0].fps),
        "clips": [
            {
                "prompt": c.prompt,
                "frames": len(c.joints),
                "video_backend": c.video.backend,
                "errors": c.errors,
                "seconds": c.timings,  # per stage (device synchronised)
            }
            for c in sequence.clips
        ],
        "files": files,
        "config": to_dict(cfg),
    }


def _write_contents(folder: Path, sequence: Any, cfg: Config, preview: torch.Tensor | None) -> None:
    clips = sequence.clips
    np.savez_compressed(folder / "motion.npz", **motion_arrays(sequence, cfg.body.gender))
    files = ["result.json", "motion.npz", "video.mp4", "masks.npz", "losses.json"]
    write_video(torch.cat([c.video.frames for c in clips]), folder / "video.mp4", clips[0].fps)
    masks = {"human": np.concatenate([_np(c.human_masks > 0.5) for c in clips]).astype(np.uint8)}
    if all(c.object_masks is not None for c in clips):
        masks["object"] = np.concatenate([_np(c.object_masks > 0.5) for c in clips]).astype(np.uint8)
    np.savez_compressed(folder / "masks.npz", **masks)
    (folder / "losses.json").write_text(json.dumps([c.losses for c in clips]))
    if preview is not None:
        write_video(preview, folder / "preview.mp4", clips[0].fps)
        files.append("preview.mp4")
    (folder / "result.json").write_text(json.dumps(result_summary(sequence, cfg, files), indent=2))


def write_result(
    sequence: Any, cfg: Config, out_dir: str | Path, preview: torch.Tensor | None = None
) -> Path:
    """Write a SequenceResult to out_dir atomically (temporary sibling, then rename); returns out_dir."""
    out_dir = Path(out_dir).expanduser().resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    recover_result(out_dir)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        _write_contents(staging, sequence, cfg, preview)
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
            os.replace(out_dir, old / "result")
            os.replace(staging, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir


def recover_result(out_dir: str | Path) -> bool:
    """Undo what a crashed write_result left beside out_dir: restore a moved-aside previous result if
    out_dir is missing, delete staging and old folders. True if a result was restored."""
    out_dir = Path(out_dir).expanduser().resolve()
    parent, restored = out_dir.parent, False
    if not parent.is_dir():
        return False
    for old in sorted(parent.glob(f".{out_dir.name}.old-*"), key=lambda p: p.stat().st_mtime, reverse=True):
        if not out_dir.exists() and (old / "result" / "result.json").is_file():
            os.replace(old / "result", out_dir)
            restored = True
        shutil.rmtree(old, ignore_errors=True)
    for staging in parent.glob(f".{out_dir.name}.tmp-*"):
        shutil.rmtree(staging, ignore_errors=True)
    return restored


def read_result(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The metadata and motion arrays of a result directory (restored first if a crash moved it aside)."""
    path = Path(path)
    recover_result(path)
    meta = json.loads((path / "result.json").read_text())
    with np.load(path / "motion.npz") as data:
        return meta, {key: data[key] for key in data.files}
