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

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from zerohsi_core.config import Config
from zerohsi_core.errors import BackendError, InputError
from zerohsi_core.geometry.camera import Camera
from zerohsi_core.geometry.se3 import se3_exp
from zerohsi_core.optimize.schedule import Staggered
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
    frames_in_flight: int = 1  # frames tracked together, staggered (optimize/schedule.py; 1: sequential)

    @classmethod
    def from_config(cls, cfg: Config) -> TrackingOptions:
        k = cfg.speed.frames_in_flight if cfg.speed.path == "optimized" else 1
        return cls(iters=cfg.tracking.iters, lr=cfg.tracking.lr, frames_in_flight=k)


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
    """Eq. 7: mean squared error of R ⊙ M against I ⊙ M over the static pixels. [..., H,W,3], [..., H,W]
    → [...]"""
    weight = mask[..., None]
    error = ((rendered - target) * weight).square().sum((-3, -2, -1))
    return error / (3.0 * weight.sum((-3, -2, -1)).clamp_min(1.0))


def track_camera(
    scene: Sequence[tuple[str, GaussianCloud]],
    frames: Tensor,
    masks: Tensor,
    first: Camera,
    options: TrackingOptions,
    render_options: RenderOptions,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> CameraTrack:
    """Tracking of every frame after the first, each from its predecessor's camera, on the schedule of
    `Staggered` (options.frames_in_flight; 1 = sequential); frames in flight render together.
    frames [T,H,W,3], static masks [T,H,W]."""
    if frames.ndim != 4 or masks.shape != frames.shape[:3]:
        raise InputError(
            f"tracking needs frames [T,H,W,3] and masks [T,H,W], got {frames.shape}, {masks.shape}"
        )
    if (first.height, first.width) != tuple(frames.shape[1:3]):
        raise InputError(
            f"camera is {first.width}x{first.height} but frames are {frames.shape[2]}x{frames.shape[1]}"
        )
    inner = dataclasses.replace(render_options, check_finite=False)  # no device sync per step
    schedule = Staggered(len(frames), options.iters, options.frames_in_flight)
    cameras: dict[int, Camera] = {0: first}
    losses: dict[int, Tensor] = {0: torch.zeros((), device=frames.device)}
    running: dict[int, _Twist] = {}
    for step in range(schedule.steps):
        check(cancel)
        for t in schedule.starting(step):  # from frame t−1's camera: final if done, else current
            previous = running[t - 1].estimate() if t - 1 in running else cameras[t - 1]
            running[t] = _Twist.at(previous, options.lr)
        active = [running[t] for t in schedule.active(step)]
        for twist in active:
            twist.optimizer.zero_grad(set_to_none=True)
        index = schedule.active(step)
        rgb = render(scene, [twist.camera() for twist in active], inner).rgb  # [B, H, W, 3]
        masked_l2(rgb, frames[index], masks[index]).sum().backward()  # frames share no parameter
        for twist in active:
            twist.optimizer.step()
            twist.iteration += 1
        done = [t for t in index if running[t].iteration >= options.iters]
        if not done:
            continue
        with torch.no_grad():
            final = [running[t].estimate() for t in done]
            loss = masked_l2(render(scene, final, inner).rgb, frames[done], masks[done]).cpu()
        for t, camera, value in zip(done, final, loss, strict=True):
            if not bool(torch.isfinite(value)):
                raise BackendError(
                    f"camera tracking diverged at frame {t} (loss {float(value)}): check the video"
                )
            cameras[t], losses[t] = camera, value.to(frames.device)
            del running[t]
            report(progress, ProgressEvent(STAGE, t / (len(frames) - 1), frame=t, loss=float(value)))
    return CameraTrack(
        [cameras[t] for t in range(len(frames))], torch.stack([losses[t] for t in range(len(frames))])
    )


@dataclass(eq=False)
class _Twist:
    """One frame's relative transform (Eq. 7) about its starting camera: V_t = exp(ξ) V_start."""

    base: Camera
    twist: Tensor  # [6] ξ, optimised
    optimizer: torch.optim.Optimizer
    iteration: int = 0

    @classmethod
    def at(cls, base: Camera, lr: float) -> _Twist:
        twist = torch.zeros(6, dtype=base.world_to_cam.dtype, device=base.world_to_cam.device)
        twist.requires_grad_(True)
        return cls(base, twist, torch.optim.Adam([twist], lr=lr))

    def camera(self) -> Camera:
        view = se3_exp(self.twist) @ self.base.world_to_cam.detach()
        return Camera(self.base.K, view, self.base.width, self.base.height)

    def estimate(self) -> Camera:
        camera = self.camera()
        return Camera(camera.K, camera.world_to_cam.detach(), camera.width, camera.height)
