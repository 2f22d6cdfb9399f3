"""`file` backend: a video the user already has (MP4, WebM or a folder of images), conformed to the clip."""

from __future__ import annotations

from pathlib import Path

import torch

from zerohsi_core.config import Config
from zerohsi_core.errors import AssetError
from zerohsi_core.io.video import read_video
from zerohsi_core.progress import CancelToken, ProgressCallback, ProgressEvent, check, report
from zerohsi_core.video.base import STAGE, GeneratedVideo, validate_request
from zerohsi_core.video.registry import VIDEO_BACKENDS
from zerohsi_core.video.resample import conform


class FileVideoGenerator:
    """Returns the frames of a file; prompt and seed are only checked (the file is the generator's output).

    Image folders carry no frame rate: they are taken to span `n_frames / folder_fps` seconds, so the
    conformed clip plays at `folder_fps` (the configured clip rate, `video.fps`).
    """

    name = "file"

    def __init__(self, path: str | Path, folder_fps: float) -> None:
        if not str(path):
            raise AssetError(
                "the file video backend needs a video: set video.file_path to an MP4/WebM or image folder"
            )
        self.path = Path(path).expanduser()
        self.folder_fps = folder_fps

    def generate(
        self,
        first_frame: torch.Tensor,  # [H, W, 3] float in [0, 1]
        prompt: str,
        seed: int,
        n_frames: int,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> GeneratedVideo:
        """Read, resample and resize the file's frames to n_frames at the first frame's size."""
        validate_request(first_frame, prompt, n_frames)
        check(cancel)
        if not self.path.exists():
            raise AssetError(f"video file {self.path} (video.file_path) does not exist")
        frames, fps = read_video(self.path)  # [T, H, W, 3] uint8
        if len(frames) == 0:
            raise AssetError(f"video {self.path} has no frames")
        if fps <= 0:  # image folder: no rate stored
            fps = len(frames) * self.folder_fps / n_frames
        height, width = first_frame.shape[:2]
        clip, fps_out = conform(frames, fps, n_frames, height, width)
        report(
            progress, ProgressEvent(STAGE, 1.0, message=f"read {len(frames)} frames from {self.path.name}")
        )
        return GeneratedVideo(
            clip, fps_out, self.name, len(frames), {"path": str(self.path), "source_fps": fps}
        )


@VIDEO_BACKENDS.register("file")
def build_file_generator(cfg: Config) -> FileVideoGenerator:
    """The `file` backend reading `video.file_path`."""
    return FileVideoGenerator(cfg.video.file_path, cfg.video.fps)
