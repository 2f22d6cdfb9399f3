"""Camera tracking on the static background (Sec. 3.3, Eq. 7–8).

Frame by frame, a relative rigid transform T of the static scene is optimised so that the scene rendered
from the previous camera matches the generated frame on the static mask. With world-to-camera extrinsics
V, rendering the transformed scene G_S(T) from V_{t−1} equals rendering G_S from V_{t−1} T, so the new
camera is V_t = V_{t−1} T* (the paper's T_t = T*⁻¹ T_{t−1} in its camera-to-world reading). The scene
itself is never moved: only the 4×4 view matrix carries the gradient, which is much cheaper.

T is parameterised about the previous camera, T = V_{t−1}⁻¹ exp(ξ) V_{t−1} with a twist ξ in the camera
frame, so V_t = exp(ξ) V_{t−1}: a rotation then turns the camera about itself rather than about the
world origin metres away, which keeps rotation and translation decoupled for Adam's per-coordinate steps.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from zerohsi_core.config import Config
from zerohsi_core.errors import BackendError, InputError
from zerohsi_core.geometry.camera import Camera
from zerohsi_core.geometry.se3 import se3_exp
from zerohsi_core.progress import CancelToken, ProgressCallback, ProgressEvent, check, report
from zerohsi_core.render.options import RenderOptions
from zerohsi_core.render.render import render
from zerohsi_core.scene.gaussians import GaussianCloud

STAGE = "tracking"


@dataclass(frozen=True)
class TrackingOptions:
    """Adam on a 6-D twist per frame (paper: 30 iterations, lr 1e-3)."""

    iters: int = 30
    lr: float = 1e-3

    @classmethod
    def from_config(cls, cfg: Config) -> TrackingOptions:
        return cls(iters=cfg.tracking.iters, lr=cfg.tracking.lr)


@dataclass(frozen=True, eq=False)
class CameraTrack:
    """Per-frame cameras of a clip and the final masked L2 of each frame."""

    cameras: list[Camera]  # T cameras; cameras[0] is the given first camera
    losses: Tensor  # [T] masked L2 after optimisation (0 for frame 0)

    @property
    def world_to_cam(self) -> Tensor:
        """[T, 4, 4]"""
        return torch.stack([camera.world_to_cam for camera in self.cameras])


def static_masks(human: Tensor, objects: Tensor | None = None, threshold: float = 0.5) -> Tensor:
    """Eq. 8: M_t = 1 − ∪_{i≤t}(M_H^i ∪ M_O^i), the union accumulated over time. [T,H,W] → [T,H,W]"""
    dynamic = human > threshold
    if objects is not None:
        dynamic = dynamic | (objects > threshold)
    return 1.0 - (torch.cummax(dynamic.to(torch.uint8), dim=0).values.to(human.dtype))


def masked_l2(rendered: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """Eq. 7: mean squared error of R ⊙ M against I ⊙ M over the static pixels. [H,W,3], [H,W]"""
    weight = mask[..., None]
    return ((rendered - target) * weight).square().sum() / (3.0 * weight.sum().clamp_min(1.0))


def track_frame(
    scene: Sequence[tuple[str, GaussianCloud]],
    frame: Tensor,
    mask: Tensor,
    previous: Camera,
    options: TrackingOptions,
    render_options: RenderOptions,
    cancel: CancelToken | None = None,
) -> tuple[Camera, Tensor]:
    """Optimise the relative transform of one frame (Eq. 7); returns V_t = exp(ξ*) V_{t−1} and the loss."""
    twist = torch.zeros(6, dtype=previous.world_to_cam.dtype, device=previous.world_to_cam.device)
    twist.requires_grad_(True)
    fused = True if twist.device.type == "cuda" else None  # one kernel per step instead of a dozen
    optimizer = torch.optim.Adam([twist], lr=options.lr, fused=fused)
    base = previous.world_to_cam.detach()
    for _ in range(options.iters):
        check(cancel)
        optimizer.zero_grad(set_to_none=True)
        camera = Camera(previous.K, se3_exp(twist) @ base, previous.width, previous.height)
        loss = masked_l2(render(scene, camera, render_options).rgb[0], frame, mask)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        camera = Camera(previous.K, se3_exp(twist) @ base, previous.width, previous.height)
        final = masked_l2(render(scene, camera, render_options).rgb[0], frame, mask)
    return camera, final


def _check_inputs(frames: Tensor, masks: Tensor, first: Camera) -> None:
    """InputError for frames and masks of the wrong shapes, a camera of another size, non-finite frames."""
    if frames.ndim != 4 or masks.shape != frames.shape[:3]:
        raise InputError(
            f"tracking needs frames [T,H,W,3] and masks [T,H,W], got {frames.shape}, {masks.shape}"
        )
    if (first.height, first.width) != tuple(frames.shape[1:3]):
        raise InputError(
            f"camera is {first.width}x{first.height} but frames are {frames.shape[2]}x{frames.shape[1]}"
        )
    finite = torch.isfinite(frames).flatten(1).all(1)
    if not bool(finite.all()):  # Adam would carry NaN into the camera, and the render would lose its grad
        bad = torch.nonzero(~finite).flatten().tolist()
        raise InputError(f"tracking needs finite frames; frames {bad} hold NaN or infinite values")


FrameCallback = Callable[[int, Camera], None]


def track_camera(
    scene: Sequence[tuple[str, GaussianCloud]],
    frames: Tensor,
    masks: Tensor,
    first: Camera,
    options: TrackingOptions,
    render_options: RenderOptions,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    on_frame: FrameCallback | None = None,
) -> CameraTrack:
    """Sequential tracking of every frame after the first. frames [T,H,W,3], static masks [T,H,W].
    on_frame(t, camera) is called as soon as frame t's camera is computed (its loss checked finite)."""
    _check_inputs(frames, masks, first)
    cameras, losses = [first], [torch.zeros((), device=frames.device)]
    inner = dataclasses.replace(render_options, check_finite=False)  # no device sync per step
    for t in range(1, len(frames)):
        camera, loss = track_frame(scene, frames[t], masks[t], cameras[-1], options, inner, cancel)
        if not bool(torch.isfinite(loss)):  # this host sync also means: the camera is computed
            raise BackendError(f"camera tracking diverged at frame {t} (loss {float(loss)}): check the video")
        cameras.append(camera)
        losses.append(loss.detach())
        if on_frame is not None:
            on_frame(t, camera)
        report(progress, ProgressEvent(STAGE, t / (len(frames) - 1), frame=t, loss=float(loss)))
    return CameraTrack(cameras, torch.stack(losses))


class TrackAhead(Sequence[Camera]):
    """Camera tracking run in a background thread (on its own CUDA stream), ahead of its consumer: a
    sequence of the T cameras whose item t waits until frame t is tracked. Tracking depends only on the
    video and the static masks, not on the human, so HSI can fit frame t while later frames are tracked;
    both loops are bound by the host, and the GPU has room for the two. `track` is `track_camera` with
    its inputs bound (functools.partial); the thread passes it `on_frame` and `cancel`, so the cameras
    are the ones `track_camera` computes. Use as a context manager: leaving it stops the thread;
    `result()` waits for the whole track (and re-raises the thread's error, as does an item)."""

    def __init__(
        self,
        track: Callable[..., CameraTrack],
        first: Camera,
        count: int,
        device: torch.device,
        cancel: CancelToken | None = None,
    ) -> None:
        self._count, self._cameras = count, [first]
        self._track: CameraTrack | None = None
        self._error: BaseException | None = None
        self._ready = threading.Condition()
        self._cancel = cancel
        self._stop = CancelToken(cancel)  # the caller's cancel, or this sequence closing
        self.seconds = float("nan")  # the tracking thread's wall time, once it is done
        # The thread's CUDA stream starts after the caller's work so far (which made frames and masks).
        after = torch.cuda.current_stream(device) if device.type == "cuda" else None
        self._thread = threading.Thread(target=self._run, args=(track, after), name="zerohsi-track-ahead")
        self._thread.daemon = True
        self._thread.start()

    def _publish(self, t: int, camera: Camera) -> None:
        with self._ready:
            self._cameras.append(camera)
            self._ready.notify_all()

    def _run(self, track: Callable[..., CameraTrack], after: torch.cuda.Stream | None) -> None:
        start = time.perf_counter()
        stream = None
        if after is not None:
            stream = torch.cuda.Stream(after.device)
            stream.wait_stream(after)
        try:
            with torch.cuda.stream(stream) if stream is not None else contextlib.nullcontext():
                result = track(on_frame=self._publish, cancel=self._stop)
            with self._ready:
                self._track = result
                self._ready.notify_all()
        except BaseException as exc:  # handed to the consumer
            with self._ready:
                self._error = exc
                self._ready.notify_all()
        self.seconds = time.perf_counter() - start

    def _wait(self, ready: Callable[[], bool]) -> None:
        with self._ready:
            while not ready():
                if self._error is not None:
                    raise self._error
                check(self._cancel)
                self._ready.wait(timeout=0.1)

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, t):  # noqa: ANN001, ANN204 — Sequence's int and slice items
        if isinstance(t, slice):
            return [self[i] for i in range(*t.indices(self._count))]
        if not -self._count <= t < self._count:
            raise IndexError(f"frame {t} of a {self._count}-frame track")
        t %= self._count
        self._wait(lambda: len(self._cameras) > t)
        return self._cameras[t]

    def result(self) -> CameraTrack:
        """The whole track, once the thread has tracked every frame."""
        self._wait(lambda: self._track is not None)
        self._thread.join()
        assert self._track is not None
        return self._track

    def close(self) -> None:
        """Stop the thread (at its next iteration) and wait for it."""
        self._stop.cancel()
        self._thread.join()

    def __enter__(self) -> TrackAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
