"""Rendering a window of an image: the crop camera and the Gaussians that can reach the window.

A crop camera is the full camera with its principal point shifted by the window's corner and the window's
size: it renders exactly the window of the full image (same pixel centres, same depth order per pixel).
Gaussians whose splat cannot reach the window are left out beforehand, with a conservative bound on their
projected extent, so a render of a small window does not pay for a large scene.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from zerohsi_core.errors import InputError
from zerohsi_core.geometry.camera import Camera
from zerohsi_core.render.options import RenderOptions
from zerohsi_core.scene.gaussians import GaussianCloud


@dataclass(frozen=True)
class Crop:
    """A pixel window [x0, x0 + width) × [y0, y0 + height) of a full_width × full_height image."""

    x0: int
    y0: int
    width: int
    height: int
    full_width: int
    full_height: int

    @property
    def slices(self) -> tuple[slice, slice]:
        """(rows, columns) of the window, for indexing [H, W, ...] images."""
        return slice(self.y0, self.y0 + self.height), slice(self.x0, self.x0 + self.width)

    @property
    def is_full(self) -> bool:
        return (self.width, self.height) == (self.full_width, self.full_height)

    @classmethod
    def whole(cls, width: int, height: int) -> Crop:
        """The whole width × height image as a window."""
        return cls(0, 0, width, height, width, height)

    def resized(self, width: int, height: int) -> Crop:
        """A width × height window (at most the image) about the same centre, shifted to lie inside the
        image: windows of one size can be rendered together."""
        width, height = min(width, self.full_width), min(height, self.full_height)
        x0 = min(max(0, self.x0 + (self.width - width) // 2), self.full_width - width)
        y0 = min(max(0, self.y0 + (self.height - height) // 2), self.full_height - height)
        return Crop(x0, y0, width, height, self.full_width, self.full_height)


def full_crop(camera: Camera) -> Crop:
    """The whole image of a camera as a window."""
    return Crop.whole(camera.width, camera.height)


def crop_camera(camera: Camera, crop: Crop) -> Camera:
    """The camera that renders exactly the window of `camera`'s image."""
    if (crop.full_width, crop.full_height) != (camera.width, camera.height):
        raise InputError(
            f"crop of a {crop.full_width}x{crop.full_height} image does not fit a "
            f"{camera.width}x{camera.height} camera"
        )
    K = camera.K.clone()
    K[0, 2] -= crop.x0
    K[1, 2] -= crop.y0
    return Camera(K, camera.world_to_cam, crop.width, crop.height)


def box_of(mask: Tensor, threshold: float = 0.5) -> tuple[int, int, int, int] | None:
    """Pixel bounding box (x_min, y_min, x_max, y_max), inclusive, of mask > threshold; None if empty."""
    ys, xs = torch.nonzero(mask > threshold, as_tuple=True)
    if len(xs) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def box_of_points(camera: Camera, points: Tensor) -> tuple[int, int, int, int] | None:
    """Pixel bounding box of the points [N, 3] in front of the camera; None if none is."""
    uv, depth = camera.project(points)
    uv = uv[depth > 0]
    if len(uv) == 0:
        return None
    lo, hi = uv.min(0).values, uv.max(0).values
    return math.floor(lo[0]), math.floor(lo[1]), math.ceil(hi[0]), math.ceil(hi[1])


def crop_around(
    boxes: Sequence[tuple[int, int, int, int] | None],
    width: int,
    height: int,
    margin: float,
    min_pixels: int,
) -> Crop:
    """The window holding every box, grown by margin × its size and at least min_pixels on each side,
    clipped to the image; the whole image when there is no box."""
    present = [b for b in boxes if b is not None]
    if not present:
        return Crop.whole(width, height)
    x_min, y_min = min(b[0] for b in present), min(b[1] for b in present)
    x_max, y_max = max(b[2] for b in present), max(b[3] for b in present)
    grow_x = max(min_pixels, math.ceil(margin * (x_max - x_min + 1)))
    grow_y = max(min_pixels, math.ceil(margin * (y_max - y_min + 1)))
    x0, y0 = max(0, x_min - grow_x), max(0, y_min - grow_y)
    x1, y1 = min(width, x_max + 1 + grow_x), min(height, y_max + 1 + grow_y)
    if x1 <= x0 or y1 <= y0:
        return Crop.whole(width, height)
    return Crop(x0, y0, x1 - x0, y1 - y0, width, height)


def reaches_window(cloud: GaussianCloud, camera: Camera, options: RenderOptions) -> Tensor:
    """Which Gaussians' splats may cover a pixel of the camera's image (a superset of what gsplat keeps).

    The projected standard deviation is bounded by ‖J‖·s_max with J the EWA Jacobian and s_max the largest
    scale; the splat's radius by extent_sigmas times that (with the 2-D blur eps2d), plus one pixel. [N]
    """
    R, t = camera.world_to_cam[:3, :3].to(cloud.means), camera.world_to_cam[:3, 3].to(cloud.means)
    p = cloud.means @ R.T + t  # [N, 3] camera frame
    z = p[:, 2]
    K = camera.K.to(cloud.means)
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    zs = z.clamp_min(options.near)
    u, v = fx * p[:, 0] / zs + cx, fy * p[:, 1] / zs + cy
    slope = (p[:, :2] / zs[:, None]).square().sum(1)  # (x/z)² + (y/z)²
    sigma = torch.maximum(fx, fy) / zs * torch.sqrt(1.0 + slope) * cloud.scales.max(1).values
    radius = options.extent_sigmas * torch.sqrt(sigma.square() + options.eps2d) + 1.0
    inside = (u + radius > 0) & (u - radius < camera.width) & (v + radius > 0) & (v - radius < camera.height)
    return inside & (z > options.near) & (z < options.far)


def cull(cloud: GaussianCloud, cameras: Camera | Sequence[Camera], options: RenderOptions) -> GaussianCloud:
    """The Gaussians of the cloud that can reach the image of the camera (or of one of the cameras; see
    `reaches_window`)."""
    cams = [cameras] if isinstance(cameras, Camera) else list(cameras)
    reach = torch.stack([reaches_window(cloud, camera, options) for camera in cams]).any(0)
    return cloud.subset(torch.nonzero(reach).squeeze(1))
