"""Pinhole cameras in OpenCV conventions: intrinsics, look-at extrinsics, projection, orbits.

Camera frame: x right, y down, z forward. World frame: z up, x forward, metres (REP-103).
Pixel coordinates are continuous with pixel (row i, column j) covering [j, j+1) × [i, i+1), so its
centre is (j + 0.5, i + 0.5) as in gsplat; a principal point (W/2, H/2) is the image centre.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from zerohsi_core.errors import InputError
from zerohsi_core.geometry.rotations import check_shape
from zerohsi_core.geometry.se3 import make_se3, se3_inverse

# Below this |forward × up| (unit vectors) the up vector is treated as parallel to the view direction.
PARALLEL_EPS = 1e-6
# Eye and target closer than this (metres) leave the view direction undefined.
MIN_LOOK_DISTANCE = 1e-9

VectorLike = Tensor | Sequence[float]


@dataclass(frozen=True, eq=False)
class Camera:
    """One pinhole camera: OpenCV intrinsics K [3,3] in pixels, world_to_cam [4,4], image size in pixels."""

    K: Tensor  # [3, 3]
    world_to_cam: Tensor  # [4, 4], OpenCV camera frame
    width: int
    height: int

    def __post_init__(self) -> None:
        if tuple(self.K.shape) != (3, 3) or tuple(self.world_to_cam.shape) != (4, 4):
            raise InputError(
                f"Camera needs K [3, 3] and world_to_cam [4, 4], got {list(self.K.shape)} "
                f"and {list(self.world_to_cam.shape)}"
            )
        if self.K.dtype != self.world_to_cam.dtype or self.K.device != self.world_to_cam.device:
            raise InputError(
                f"Camera K ({self.K.dtype}, {self.K.device}) and world_to_cam ({self.world_to_cam.dtype}, "
                f"{self.world_to_cam.device}) must share dtype and device; convert one with .to()"
            )
        if self.width <= 0 or self.height <= 0:
            raise InputError(f"Camera image size must be positive, got {self.width}×{self.height}")

    @property
    def cam_to_world(self) -> Tensor:
        """Camera-to-world transform [4,4]."""
        return se3_inverse(self.world_to_cam)

    @property
    def center(self) -> Tensor:
        """Camera position in the world [3]: −Rᵀ t."""
        R, t = self.world_to_cam[:3, :3], self.world_to_cam[:3, 3]
        return -(R.T @ t)

    def project(self, points: Tensor) -> tuple[Tensor, Tensor]:
        """World points [...,3] -> pixels uv [...,2] and depth [...] (camera z; uv = K p / z, any sign)."""
        check_shape(points, (3,), "points")
        R, t = self.world_to_cam[:3, :3], self.world_to_cam[:3, 3]
        p_cam = points @ R.T + t  # [..., 3]
        depth = p_cam[..., 2]
        uv = (p_cam @ self.K[:2].T) / depth[..., None]
        return uv, depth

    def unproject(self, uv: Tensor, depth: Tensor) -> Tensor:
        """Pixels uv [...,2] at camera depth (z) [...] -> world points [...,3]; inverse of project."""
        check_shape(uv, (2,), "uv")
        rays = torch.cat([uv, torch.ones_like(uv[..., :1])], dim=-1) @ torch.linalg.inv(self.K).T
        p_cam = rays * depth[..., None]  # [..., 3]
        R, t = self.world_to_cam[:3, :3], self.world_to_cam[:3, 3]
        return (p_cam - t) @ R

    def to(self, device: torch.device | str, dtype: torch.dtype | None = None) -> "Camera":
        """The same camera with tensors on `device` (and of `dtype` if given)."""
        return Camera(
            self.K.to(device=device, dtype=dtype),
            self.world_to_cam.to(device=device, dtype=dtype),
            self.width,
            self.height,
        )

    def with_size(self, width: int, height: int) -> "Camera":
        """The same view at another resolution: K rows x and y scaled by the width and height ratios."""
        scale = torch.tensor(
            [width / self.width, height / self.height, 1.0], dtype=self.K.dtype, device=self.K.device
        )
        return Camera(self.K * scale[:, None], self.world_to_cam, width, height)


def intrinsics_from_fov(
    fov_y_deg: float,
    width: int,
    height: int,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    """K [3,3] with vertical field of view `fov_y_deg`, square pixels, principal point at the centre."""
    if not 0.0 < fov_y_deg < 180.0:
        raise InputError(f"fov_y_deg must lie in (0, 180) degrees, got {fov_y_deg}")
    if width <= 0 or height <= 0:
        raise InputError(f"image size must be positive, got {width}×{height}")
    focal = 0.5 * height / math.tan(math.radians(fov_y_deg) / 2)
    return torch.tensor(
        [[focal, 0.0, width / 2], [0.0, focal, height / 2], [0.0, 0.0, 1.0]], dtype=dtype, device=device
    )


def _as_vector(x: VectorLike, like: Tensor | None, name: str) -> Tensor:
    """A [...,3] tensor from a tensor or sequence, with the dtype and device of `like` when given."""
    if like is None:
        out = x if isinstance(x, Tensor) else torch.tensor(x, dtype=torch.get_default_dtype())
    else:
        out = torch.as_tensor(x, dtype=like.dtype, device=like.device)
    check_shape(out, (3,), name)
    return out


def look_at(eye: VectorLike, target: VectorLike, up: VectorLike = (0.0, 0.0, 1.0)) -> Tensor:
    """world_to_cam [...,4,4] (OpenCV) of cameras at eye [...,3] looking at target [...,3].

    Image up points along `up` (world +z by default). When the view is parallel to `up` (eye straight
    above the target), image up points along the world axis least aligned with the view (x first).
    """
    eye = _as_vector(eye, None, "eye")
    target = _as_vector(target, eye, "target")
    up = F.normalize(_as_vector(up, eye, "up"), dim=-1)
    if torch.any((up * up).sum(-1) == 0):
        raise InputError("look_at: `up` must be a non-zero vector")
    forward = target - eye
    if torch.any(torch.linalg.vector_norm(forward, dim=-1) < MIN_LOOK_DISTANCE):
        raise InputError("look_at: eye and target coincide, so the view direction is undefined")
    z = F.normalize(forward, dim=-1)  # [..., 3] camera forward
    z, up = torch.broadcast_tensors(z, up)
    x = torch.linalg.cross(z, up, dim=-1)  # camera right = forward × up
    least_aligned = F.one_hot(z.abs().argmin(dim=-1), 3).to(z.dtype)
    parallel = torch.linalg.vector_norm(x, dim=-1, keepdim=True) < PARALLEL_EPS
    x = F.normalize(torch.where(parallel, torch.linalg.cross(z, least_aligned, dim=-1), x), dim=-1)
    y = torch.linalg.cross(z, x, dim=-1)  # camera down, so that x × y = z
    R = torch.stack([x, y, z], dim=-2)  # [..., 3, 3] rows: camera axes in world coordinates
    return make_se3(R, -(R @ eye.expand_as(z)[..., None]).squeeze(-1))


def orbit_cameras(
    center: VectorLike,
    radius: float,
    height: float,
    n: int,
    fov_y_deg: float,
    image_width: int,
    image_height: int,
) -> list[Camera]:
    """`n` cameras at evenly spaced azimuths (from world +x, counter-clockwise seen from above).

    Each sits `radius` metres from `center` horizontally and `height` metres above it, looking at it.
    """
    if n < 1:
        raise InputError(f"orbit_cameras needs n >= 1 cameras, got {n}")
    center = _as_vector(center, None, "center")
    azimuth = torch.arange(n, dtype=center.dtype, device=center.device) * (2 * math.pi / n)  # [n]
    offsets = torch.stack(
        [radius * torch.cos(azimuth), radius * torch.sin(azimuth), torch.full_like(azimuth, height)], dim=-1
    )  # [n, 3]
    world_to_cam = look_at(center + offsets, center)  # [n, 4, 4]
    K = intrinsics_from_fov(fov_y_deg, image_width, image_height, dtype=center.dtype, device=center.device)
    return [Camera(K, w2c, image_width, image_height) for w2c in world_to_cam]
