"""Real spherical harmonics in the 3DGS/gsplat convention: basis, colour evaluation and rotation."""

import math

import torch

SH_C0 = 0.28209479177387814
SH_C1 = 0.4886025119029199
SH_C2 = (
    1.0925484305920792,
    -1.0925484305920792,
    0.31539156525252005,
    -1.0925484305920792,
    0.5462742152960396,
)
SH_C3 = (
    -0.5900435899266435,
    2.890611442640554,
    -0.4570457994644658,
    0.3731763325901154,
    -0.4570457994644658,
    1.445305721320277,
    -0.5900435899266435,
)
MAX_SH_DEGREE = 3
# Directions used to fit the per-band rotation matrices; more than 2*3+1 and well spread.
_NUM_FIT_DIRECTIONS = 32


def num_sh_coeffs(degree: int) -> int:
    """Number of SH coefficients per channel, K = (degree + 1)^2."""
    return (degree + 1) ** 2


def sh_basis(dirs: torch.Tensor, degree: int) -> torch.Tensor:
    """SH basis of the 3DGS reference renderer at unit directions. dirs [..., 3] -> [..., (degree+1)^2]."""
    x, y, z = dirs.unbind(-1)
    out = [torch.full_like(x, SH_C0)]
    if degree >= 1:
        out += [-SH_C1 * y, SH_C1 * z, -SH_C1 * x]
    if degree >= 2:
        xx, yy, zz = x * x, y * y, z * z
        out += [
            SH_C2[0] * x * y,
            SH_C2[1] * y * z,
            SH_C2[2] * (2.0 * zz - xx - yy),
            SH_C2[3] * x * z,
            SH_C2[4] * (xx - yy),
        ]
    if degree >= 3:
        out += [
            SH_C3[0] * y * (3.0 * xx - yy),
            SH_C3[1] * x * y * z,
            SH_C3[2] * y * (4.0 * zz - xx - yy),
            SH_C3[3] * z * (2.0 * zz - 3.0 * xx - 3.0 * yy),
            SH_C3[4] * x * (4.0 * zz - xx - yy),
            SH_C3[5] * z * (xx - yy),
            SH_C3[6] * x * (xx - 3.0 * yy),
        ]
    return torch.stack(out, dim=-1)


def eval_sh_color(sh: torch.Tensor, dirs: torch.Tensor) -> torch.Tensor:
    """RGB seen along unit view directions as 3DGS does (+0.5, clamp 0). sh [N,K,3], dirs [N,3] -> [N,3]."""
    degree = math.isqrt(sh.shape[-2]) - 1
    basis = sh_basis(dirs, degree)  # [N, K]
    return torch.clamp_min((basis.unsqueeze(-1) * sh).sum(-2) + 0.5, 0.0)


def _fit_directions(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Fixed Fibonacci-sphere directions [M, 3]."""
    i = torch.arange(_NUM_FIT_DIRECTIONS, dtype=torch.float64) + 0.5
    z = 1.0 - 2.0 * i / _NUM_FIT_DIRECTIONS
    r = torch.sqrt(1.0 - z * z)
    phi = i * math.pi * (3.0 - math.sqrt(5.0))
    dirs = torch.stack([r * torch.cos(phi), r * torch.sin(phi), z], dim=-1)
    return dirs.to(dtype=dtype, device=device)


def rotate_sh(sh: torch.Tensor, R: torch.Tensor) -> torch.Tensor:
    """SH coefficients of a cloud rotated by R: colour'(d) = colour(R^T d). sh [N,K,3], R [3,3] -> [N,K,3].

    Each band l is closed under rotation, so its (2l+1)x(2l+1) matrix is fitted exactly by least squares
    from the basis at fixed directions d and at R^T d; differentiable w.r.t. R.
    """
    degree = math.isqrt(sh.shape[-2]) - 1
    if degree == 0:
        return sh
    dirs = _fit_directions(sh.dtype, sh.device)  # [M, 3]
    A = sh_basis(dirs, degree)  # [M, K]
    B = sh_basis(dirs @ R.to(sh.dtype), degree)  # [M, K], rows are Y(R^T d)
    bands = [sh[:, :1]]
    for band in range(1, degree + 1):
        lo, hi = band * band, (band + 1) * (band + 1)
        M = torch.linalg.pinv(A[:, lo:hi]) @ B[:, lo:hi]  # [2l+1, 2l+1]
        bands.append(torch.einsum("jk,nkc->njc", M, sh[:, lo:hi]))
    return torch.cat(bands, dim=1)
