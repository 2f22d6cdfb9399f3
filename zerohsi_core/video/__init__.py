"""Image-to-video generation (Sec. 3.2): one `VideoGenerator` interface, backends chosen by name.

Backends: `kling` (HTTP API), `wan` (diffusers, local weights), `file` (a user's video). Every backend
returns frames resampled to the requested clip length at the first frame's size (`resample.conform`).
"""

from zerohsi_core.video.base import GeneratedVideo, VideoGenerator, validate_request
from zerohsi_core.video.registry import VIDEO_BACKENDS, create_video_generator
from zerohsi_core.video.resample import conform

__all__ = [
    "VIDEO_BACKENDS",
    "GeneratedVideo",
    "VideoGenerator",
    "conform",
    "create_video_generator",
    "validate_request",
]
