"""The Gaussian avatar A(r, φ, Θ; T) (Eq. 3-6): Gaussians anchored on the SMPL-X triangles, posed by the
model's linear blend skinning, with small pose-dependent networks for offsets, shape/opacity and colour."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zerohsi_core.body.avatar_template import (
    AvatarOptions,
    anchor_gaussians,
    default_colors,
    initial_log_scales,
    triangle_areas,
    triangle_frames,
)
from zerohsi_core.body.joints import NUM_BODY_POSE_JOINTS
from zerohsi_core.body.model import BodyModel
from zerohsi_core.body.params import SmplxParams
from zerohsi_core.errors import InputError
from zerohsi_core.geometry.camera import Camera
from zerohsi_core.geometry.rotations import matrix_to_quat_wxyz, quat_multiply_wxyz
from zerohsi_core.scene.gaussians import GaussianCloud, rgb_to_sh_dc

POSE_DIM = NUM_BODY_POSE_JOINTS * 3  # Θ flattened: 63
OTHER_DIM = 8  # F_other outputs: quaternion delta (4), log-scale delta (3), opacity-logit delta (1)


class PoseEncoder(nn.Module):
    """Body pose Θ [B, 63] (axis-angle) -> pose code [B, D]: the shared trunk of one F_* network."""

    def __init__(self, hidden: int, code_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(POSE_DIM, hidden), nn.SiLU(), nn.Linear(hidden, code_dim))

    def forward(self, body_pose: Tensor) -> Tensor:
        return self.net(body_pose.reshape(body_pose.shape[0], POSE_DIM))


@dataclass(frozen=True)
class AvatarGeometry:
    """Posed Gaussians of a batch of bodies (world frame) before colour."""

    means: Tensor  # [B, N, 3]
    quats: Tensor  # [B, N, 4] wxyz
    log_scales: Tensor  # [B, N, 3]
    opacity_logits: Tensor  # [B, N]
    frames: Tensor  # [B, N, 3, 3] triangle frame of each Gaussian (columns: tangent, bitangent, normal)
    color_code: Tensor  # [B, D] F_color's pose code
    joints: Tensor  # [B, 55, 3] SMPL-X skeleton joints
    vertices: Tensor  # [B, V, 3] posed mesh


@dataclass(frozen=True)
class AvatarOutput:
    """One Gaussian cloud per body and the colours the colour network gives them (Eq. 6)."""

    clouds: list[GaussianCloud]  # B clouds of N Gaussians (SH DC = base colour)
    colors: Tensor  # [B, N, 3] RGB from F_color for the given view (pass as colors_override)
    joints: Tensor  # [B, 55, 3]
    vertices: Tensor  # [B, V, 3]


class GaussianAvatar(nn.Module):
    """A(r, φ, Θ; T): template Gaussians T on the body mesh, deformed by LBS (root r, φ included) plus
    F_position(Θ) offsets (Eq. 3), F_other(Θ) rotation/scale/opacity deltas (Eq. 4) and F_color(Θ, view)
    colours (Eq. 5). Fresh avatars equal their template: the networks' output layers start at zero."""

    def __init__(self, model: BodyModel, options: AvatarOptions | None = None) -> None:
        super().__init__()
        self.body = model  # not a submodule: its weights are fixed and never saved with the avatar
        self.options = options = options or AvatarOptions()
        rest = model.layer.v_template.detach()  # [V, 3]
        anchors = anchor_gaussians(rest, model.faces, options)
        n, device, dtype = len(anchors.face), model.device, model.dtype
        colors = default_colors(model, anchors, options.appearance).clamp(
            options.color_clamp, 1 - options.color_clamp
        )
        self.register_buffer("face", anchors.face.to(device))  # [N]
        self.register_buffer("bary", anchors.bary.to(device, dtype))  # [N, 3]
        self.register_buffer("rest_area", triangle_areas(rest, model.faces).detach())  # [F]
        offsets = torch.zeros(n, 3, dtype=dtype)
        offsets[:, 2] = options.normal_offset
        identity = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=dtype).expand(n, 4)
        generator = torch.Generator().manual_seed(options.seed)
        features = torch.randn(n, options.feature_dim, generator=generator, dtype=dtype)

        def param(t: Tensor) -> nn.Parameter:
            return nn.Parameter(t.to(device, dtype).clone())

        self.local_offsets = param(offsets)  # [N, 3] triangle frame, metres
        self.local_quats = param(identity)  # [N, 4] wxyz in the triangle frame
        self.log_scales = param(initial_log_scales(anchors, options))  # [N, 3]
        self.opacity_logits = param(torch.full((n,), options.init_opacity).logit())  # [N]
        self.color_logits = param(colors.logit())  # [N, 3]
        self.features = param(features)  # [N, E]
        d, h = options.pose_code_dim, options.pose_hidden
        self.position_encoder = PoseEncoder(h, d)
        self.position_basis = param(torch.zeros(n, d, 3))  # [N, D, 3] zero: no offset at first
        self.other_encoder = PoseEncoder(h, d)
        self.other_basis = param(torch.zeros(n, d, OTHER_DIM))  # [N, D, 8]
        self.color_encoder = PoseEncoder(h, d)
        hc = options.color_hidden
        self.color_feature = nn.Linear(options.feature_dim, hc)
        self.color_pose = nn.Linear(d, hc, bias=False)
        self.color_view = nn.Linear(3, hc, bias=False)
        self.color_out = nn.Linear(hc, 3)
        nn.init.zeros_(self.color_out.weight)
        nn.init.zeros_(self.color_out.bias)
        self.to(device, dtype)
        self._compiled: Callable[..., tuple[Tensor, ...]] | None = None

    @property
    def num_gaussians(self) -> int:
        return int(self.face.shape[0])

    def base_colors(self) -> Tensor:
        """View- and pose-independent template colours [N, 3]."""
        return torch.sigmoid(self.color_logits)

    def deform(self, params: SmplxParams) -> AvatarGeometry:
        """Pose the template: LBS of the mesh (Eq. 6), then F_position (Eq. 3) and F_other (Eq. 4)."""
        body = self.body.forward(params, check_finite=False)  # callers validate their inputs once
        frames, areas = triangle_frames(body.vertices, self.body.faces)  # [B, F, 3, 3], [B, F]
        R = frames[:, self.face]  # [B, N, 3, 3]
        corners = body.vertices[:, self.body.faces[self.face]]  # [B, N, 3, 3]
        base = (corners * self.bary[None, :, :, None]).sum(dim=2)  # [B, N, 3]
        pose = params.body_pose.to(self.bary.device, self.bary.dtype)  # [B, 21, 3]
        delta = torch.einsum("bd,ndk->bnk", self.position_encoder(pose), self.position_basis)  # [B, N, 3]
        means = base + (R @ (self.local_offsets + delta)[..., None])[..., 0]
        other = torch.einsum("bd,ndk->bnk", self.other_encoder(pose), self.other_basis)  # [B, N, 8]
        quats = quat_multiply_wxyz(matrix_to_quat_wxyz(R), self.local_quats + other[..., :4])
        ratio = (areas[:, self.face] / self.rest_area[self.face]).clamp_min(self.options.min_area_ratio)
        log_scales = self.log_scales + other[..., 4:7] + 0.5 * torch.log(ratio)[..., None]
        opacity_logits = self.opacity_logits + other[..., 7]
        return AvatarGeometry(
            means, quats, log_scales, opacity_logits, R, self.color_encoder(pose), body.joints, body.vertices
        )

    def colors(self, geometry: AvatarGeometry, camera_centers: Tensor | None) -> Tensor:
        """F_color(Θ, V(T)) (Eq. 5): RGB [B, C, N, 3] seen from camera centres [B, C, 3] (None: no view
        direction, C = 1). The view direction enters in each Gaussian's triangle frame."""
        per_gaussian = self.color_feature(self.features)  # [N, H]
        hidden = (
            per_gaussian[None, None] + self.color_pose(geometry.color_code)[:, None, None]
        )  # [B, 1, N, H]
        if camera_centers is not None:
            rays = F.normalize(geometry.means[:, None] - camera_centers[:, :, None], dim=-1)  # [B, C, N, 3]
            local = torch.einsum("bnji,bcnj->bcni", geometry.frames, rays)  # R^T ray
            hidden = hidden + self.color_view(local)
        return torch.sigmoid(self.color_logits + self.color_out(F.silu(hidden)))

    def clouds(self, geometry: AvatarGeometry) -> list[GaussianCloud]:
        """One GaussianCloud per body; its SH DC carries the base colours (for renders without override)."""
        sh = rgb_to_sh_dc(self.base_colors())[:, None]  # [N, 1, 3]
        return [
            GaussianCloud(g_means, g_quats, g_scales, g_opacity, sh)
            for g_means, g_quats, g_scales, g_opacity in zip(
                geometry.means, geometry.quats, geometry.log_scales, geometry.opacity_logits, strict=True
            )
        ]

    def forward(self, params: SmplxParams, camera_centers: Tensor | None = None) -> AvatarOutput:
        """Avatars of a batch of bodies; colours seen from one camera centre per body [B, 3] (or None)."""
        geometry = self.deform(params)
        centers = None if camera_centers is None else camera_centers.to(geometry.means)[:, None]
        colors = self.colors(geometry, centers)[:, 0]  # [B, N, 3]
        return AvatarOutput(self.clouds(geometry), colors, geometry.joints, geometry.vertices)

    def posed_gaussians(self, params: SmplxParams, centers: Tensor) -> tuple[Tensor, ...]:
        """Bodies [B], each seen from its camera centre [B, 3]: means, quats, log_scales, opacity_logits
        [B, N, …] and RGB [B, N, 3] — what `forward` computes, as a tuple of tensors that torch.compile
        traces whole."""
        geometry = self.deform(params)
        rgb = self.colors(geometry, centers.to(geometry.means)[:, None])[:, 0]
        return geometry.means, geometry.quats, geometry.log_scales, geometry.opacity_logits, rgb

    def posed(self, params: SmplxParams, centers: Tensor, compiled: bool = False) -> tuple[Tensor, ...]:
        """`posed_gaussians`, through torch.compile when `compiled` (compiled on first use; a new batch
        size compiles again, so callers keep theirs fixed)."""
        if not compiled:
            return self.posed_gaussians(params, centers)
        if self._compiled is None:
            self._compiled = torch.compile(self.posed_gaussians)
        return self._compiled(params, centers)

    def render_entity(
        self, params: SmplxParams, camera: Camera | Sequence[Camera]
    ) -> tuple[GaussianCloud, Tensor]:
        """Cloud and colours of one body for `render(..., colors_override={"human": rgb})`: rgb [N, 3] for a
        camera, [C, N, 3] for a sequence of cameras."""
        if params.batch_size != 1:
            raise InputError(f"render_entity takes one body, got a batch of {params.batch_size}")
        cams = [camera] if isinstance(camera, Camera) else list(camera)
        geometry = self.deform(params)
        centers = torch.stack([cam.center for cam in cams]).to(geometry.means)[None]  # [1, C, 3]
        rgb = self.colors(geometry, centers)[0]  # [C, N, 3]
        return self.clouds(geometry)[0], rgb[0] if isinstance(camera, Camera) else rgb
