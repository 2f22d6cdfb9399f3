"""Per-camera Gaussian colours: view-dependent SH evaluated as gsplat does, or given per Gaussian."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from zerohsi_core.errors import InputError
from zerohsi_core.scene.gaussians import GaussianCloud
from zerohsi_core.scene.sh import eval_sh_color, num_sh_coeffs


def sh_colors(cloud: GaussianCloud, centers: Tensor, sh_degree: int | None = None) -> Tensor:
    """RGB of each Gaussian seen from each camera centre [C,3] -> [C,N,3] (Eq. 1 colour c).

    View direction = mean - camera centre, colour = SH(dir) + 0.5 clamped at 0, using the bands up to
    min(sh_degree, cloud.sh_degree) (all of the cloud's bands when sh_degree is None).
    """
    degree = cloud.sh_degree if sh_degree is None else min(sh_degree, cloud.sh_degree)
    sh = cloud.sh[:, : num_sh_coeffs(degree)]  # [N, K', 3]
    dirs = F.normalize(cloud.means[None] - centers[:, None], dim=-1)  # [C, N, 3]
    return eval_sh_color(sh, dirs)


def override_colors(name: str, colors: Tensor, num_cameras: int, num_gaussians: int) -> Tensor:
    """Given per-Gaussian RGB [N,3] or per-camera [C,N,3] as [C,N,3]; InputError on other shapes."""
    if colors.dim() == 2:
        colors = colors[None]
    if colors.dim() != 3 or colors.shape[1:] != (num_gaussians, 3) or colors.shape[0] not in (1, num_cameras):
        raise InputError(
            f"colors_override[{name!r}] has shape {tuple(colors.shape)}; expected ({num_gaussians}, 3) "
            f"or ({num_cameras}, {num_gaussians}, 3)"
        )
    return colors.expand(num_cameras, -1, -1)
