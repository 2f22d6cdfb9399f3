"""EWA projection of 3D Gaussians to image-plane conics, as gsplat's fused CUDA projection does (Eq. 2)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from zerohsi_core.geometry.rotations import quat_wxyz_to_matrix
from zerohsi_core.render.options import RenderOptions


@dataclass(frozen=True)
class ProjectedGaussians:
    """Per-camera 2D Gaussians; entries with visible=False are culled and must not be drawn."""

    means2d: Tensor  # [C, N, 2] pixels, pixel centres at +0.5
    conics: Tensor  # [C, N, 3] upper triangle (a, b, c) of the inverse 2D covariance
    depths: Tensor  # [C, N] camera z in metres
    radii: Tensor  # [C, N, 2] int64 half-extent of the bounding box in pixels (0 where culled)
    visible: Tensor  # [C, N] bool


def covariances(quats: Tensor, scales: Tensor) -> Tensor:
    """World covariances Sigma = R S S^T R^T (Eq. 1). quats [N,4] wxyz, scales [N,3] -> [N,3,3]."""
    M = quat_wxyz_to_matrix(quats) * scales[:, None, :]  # [N, 3, 3]
    return M @ M.transpose(-1, -2)


def _perspective(
    means_c: Tensor, covars_c: Tensor, Ks: Tensor, width: int, height: int
) -> tuple[Tensor, Tensor]:
    """Pinhole projection of means and EWA covariances, Jacobian clamped like gsplat's persp_proj."""
    x, y, z = means_c.unbind(-1)  # [C, N]
    fx, fy = Ks[:, 0, 0, None], Ks[:, 1, 1, None]  # [C, 1]
    cx, cy = Ks[:, 0, 2, None], Ks[:, 1, 2, None]
    # gsplat bounds the Jacobian's view angle to the frustum plus 30% of the half-field of view.
    margin_x, margin_y = 0.3 * 0.5 * width / fx, 0.3 * 0.5 * height / fy
    tx = z * torch.minimum(torch.maximum(x / z, -(cx / fx + margin_x)), (width - cx) / fx + margin_x)
    ty = z * torch.minimum(torch.maximum(y / z, -(cy / fy + margin_y)), (height - cy) / fy + margin_y)
    zero = torch.zeros_like(z)
    J = torch.stack([fx / z, zero, -fx * tx / z**2, zero, fy / z, -fy * ty / z**2], -1)  # [C, N, 6]
    J = J.reshape(*z.shape, 2, 3)
    cov2d = J @ covars_c @ J.transpose(-1, -2)  # [C, N, 2, 2]
    means2d = torch.stack([fx * x / z + cx, fy * y / z + cy], -1)  # [C, N, 2]
    return means2d, cov2d


def project_gaussians(
    means: Tensor,  # [N, 3]
    quats: Tensor,  # [N, 4] wxyz
    scales: Tensor,  # [N, 3]
    opacities: Tensor,  # [N]
    viewmats: Tensor,  # [C, 4, 4] world-to-camera (OpenCV)
    Ks: Tensor,  # [C, 3, 3]
    width: int,
    height: int,
    options: RenderOptions,
) -> ProjectedGaussians:
    """Camera-space means, low-pass-filtered 2D conics and opacity-aware pixel radii (gsplat 1.5 rules)."""
    R, t = viewmats[:, :3, :3], viewmats[:, :3, 3]  # [C, 3, 3], [C, 3]
    means_c = torch.einsum("cij,nj->cni", R, means) + t[:, None, :]  # [C, N, 3]
    covars_c = R[:, None] @ covariances(quats, scales)[None] @ R.transpose(-1, -2)[:, None]  # [C, N, 3, 3]
    depths = means_c[..., 2]  # [C, N]
    # Culled Gaussians at or behind the camera would put inf/NaN into the gradients of the division by z.
    safe_z = torch.where(depths >= options.near, depths, torch.ones_like(depths))
    means2d, cov2d = _perspective(
        torch.cat([means_c[..., :2], safe_z[..., None]], -1), covars_c, Ks, width, height
    )

    a = cov2d[..., 0, 0] + options.eps2d  # [C, N]
    c = cov2d[..., 1, 1] + options.eps2d
    b = 0.5 * (cov2d[..., 0, 1] + cov2d[..., 1, 0])
    det = a * c - b * b
    safe_det = torch.where(det > 0, det, torch.ones_like(det))
    conics = torch.stack([c / safe_det, -b / safe_det, a / safe_det], -1)  # [C, N, 3]

    with torch.no_grad():
        alpha_min = options.alpha_min
        ops = opacities.detach().expand_as(depths)
        extent = torch.sqrt(2.0 * torch.log(torch.clamp_min(ops, alpha_min) / alpha_min))
        extent = torch.clamp_max(extent, options.extent_sigmas)  # [C, N]
        radius = torch.stack([torch.ceil(extent * a.sqrt()), torch.ceil(extent * c.sqrt())], -1)  # [C, N, 2]
        mx, my = means2d[..., 0], means2d[..., 1]
        rx, ry = radius[..., 0], radius[..., 1]
        visible = (
            (depths >= options.near)
            & (depths <= options.far)
            & (det > 0)
            & (ops >= alpha_min)
            & ((rx > options.radius_clip) | (ry > options.radius_clip))
            & (mx + rx > 0)
            & (mx - rx < width)
            & (my + ry > 0)
            & (my - ry < height)
        )
        radii = torch.where(visible[..., None], radius, torch.zeros_like(radius)).long()
    return ProjectedGaussians(means2d, conics, depths, radii, visible)
