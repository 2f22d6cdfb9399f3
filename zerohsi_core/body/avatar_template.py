"""The avatar template T: Gaussians anchored on the body-model triangles and their procedural default
appearance (skin, hair, shirt, trousers, shoes chosen by each triangle's dominant skinning joint)."""

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

from zerohsi_core.body.joints import JOINT_INDEX, JOINT_NAMES, NUM_JOINTS
from zerohsi_core.body.model import BodyModel
from zerohsi_core.errors import ConfigError

RGB = tuple[float, float, float]


@dataclass(frozen=True)
class DefaultAppearance:
    """Colours (RGB in [0, 1]) of the procedural outfit and the baked shading that makes it readable."""

    skin: RGB = (0.87, 0.66, 0.53)
    hair: RGB = (0.22, 0.14, 0.09)
    eyes: RGB = (0.08, 0.06, 0.05)
    shirt: RGB = (0.16, 0.42, 0.78)
    trousers: RGB = (0.22, 0.23, 0.30)
    shoes: RGB = (0.36, 0.20, 0.10)
    light_dir: tuple[float, float, float] = (0.3, 1.0, 0.6)  # body-model frame (y up, front +z)
    ambient: float = 0.62  # shade = ambient + (1 - ambient) * max(0, n . light)
    hair_top: float = 0.35  # head Gaussians whose normalised offset from the head centre has y above this
    hair_back: float = -0.15  # ... or z below this (behind the ears)
    hair_nape: float = -0.6  # ... and y above this belong to the hair


@dataclass(frozen=True)
class AvatarOptions:
    """How the template Gaussians are laid out and how big the pose-dependent networks are (Eq. 3-6)."""

    gaussians_per_face: int = 1  # used when num_gaussians == 0: every triangle gets this many
    num_gaussians: int = 0  # > 0: this many, spread over the triangles by area^area_exponent (stratified)
    area_exponent: float = 0.5  # < 1 puts more Gaussians where the mesh is finer (face, hands)
    seed: int = 0  # barycentric sampling
    normal_offset: float = 0.0  # metres along the triangle normal at initialisation
    init_scale_factor: float = 0.7  # in-plane std = factor * sqrt(surface area per Gaussian)
    normal_scale_ratio: float = 0.3  # std along the normal relative to the in-plane std
    init_opacity: float = 0.95
    min_area_ratio: float = 1e-4  # posed/rest triangle area ratio is clamped to this before the log
    pose_hidden: int = 64  # hidden width of each pose encoder (body pose, 63 values, in)
    pose_code_dim: int = 16  # pose code -> per-Gaussian outputs through a learned low-rank basis
    feature_dim: int = 16  # per-Gaussian feature for the colour network
    color_hidden: int = 32  # hidden width of F_color
    color_clamp: float = 0.02  # base colours are kept in [clamp, 1 - clamp] before their logit
    appearance: DefaultAppearance = field(default_factory=DefaultAppearance)

    def __post_init__(self) -> None:
        if self.num_gaussians < 0 or (self.num_gaussians == 0 and self.gaussians_per_face < 1):
            raise ConfigError(
                "AvatarOptions needs num_gaussians > 0, or num_gaussians = 0 and gaussians_per_face >= 1"
            )
        if self.init_scale_factor <= 0 or self.normal_scale_ratio <= 0 or not 0 < self.init_opacity < 1:
            raise ConfigError("AvatarOptions needs positive scale factors and 0 < init_opacity < 1")
        if min(self.pose_hidden, self.pose_code_dim, self.feature_dim, self.color_hidden) < 1:
            raise ConfigError("AvatarOptions network sizes must be >= 1")


@dataclass(frozen=True)
class Anchors:
    """Where each Gaussian sits on the mesh: triangle, barycentric coordinates, surface area it covers."""

    face: Tensor  # [N] int64 triangle index
    bary: Tensor  # [N, 3] barycentric coordinates (rows sum to 1)
    area: Tensor  # [N] m^2 of rest surface per Gaussian


def triangle_areas(vertices: Tensor, faces: Tensor) -> Tensor:
    """Areas [..., F] of the triangles `faces` [F, 3] of `vertices` [..., V, 3]."""
    tri = vertices[..., faces, :]  # [..., F, 3, 3]
    cross = torch.linalg.cross(tri[..., 1, :] - tri[..., 0, :], tri[..., 2, :] - tri[..., 0, :], dim=-1)
    return 0.5 * torch.linalg.vector_norm(cross, dim=-1)


def triangle_frames(vertices: Tensor, faces: Tensor) -> tuple[Tensor, Tensor]:
    """Per-triangle orthonormal frames [..., F, 3, 3] (columns: first edge, in-plane normal x edge, outward
    normal) and areas [..., F]; a Gaussian's local rotation and offset are expressed in this frame."""
    tri = vertices[..., faces, :]  # [..., F, 3, 3]
    e1, e2 = tri[..., 1, :] - tri[..., 0, :], tri[..., 2, :] - tri[..., 0, :]
    cross = torch.linalg.cross(e1, e2, dim=-1)
    normal = F.normalize(cross, dim=-1)
    tangent = F.normalize(e1, dim=-1)
    bitangent = torch.linalg.cross(normal, tangent, dim=-1)
    return torch.stack([tangent, bitangent, normal], dim=-1), 0.5 * torch.linalg.vector_norm(cross, dim=-1)


def _uniform_bary(n: int, generator: torch.Generator, dtype: torch.dtype) -> Tensor:
    """Barycentric coordinates [n, 3] uniform over a triangle (square-root warp)."""
    u = torch.rand(n, 2, generator=generator, dtype=dtype)
    s = u[:, 0].sqrt()
    return torch.stack([1 - s, s * (1 - u[:, 1]), s * u[:, 1]], dim=-1)


def anchor_gaussians(rest_vertices: Tensor, faces: Tensor, options: AvatarOptions) -> Anchors:
    """Place the template Gaussians on the rest mesh [V, 3] / [F, 3]: k per triangle (centroid for k = 1),
    or `num_gaussians` by stratified sampling of the cumulative triangle weight area^area_exponent."""
    generator = torch.Generator().manual_seed(options.seed)
    dtype = rest_vertices.dtype
    areas = triangle_areas(rest_vertices.detach().cpu(), faces.cpu())  # [F]
    if options.num_gaussians > 0:
        n = options.num_gaussians
        weights = areas.pow(options.area_exponent)  # [F] sampling weight of each triangle
        cumulative = weights.cumsum(0)
        positions = (torch.arange(n, dtype=dtype) + torch.rand(n, generator=generator, dtype=dtype)) / n
        face = torch.searchsorted(cumulative, positions * cumulative[-1]).clamp_max(len(areas) - 1)
        expected = n * weights[face] / cumulative[-1]  # Gaussians expected on each one's triangle
        return Anchors(face, _uniform_bary(n, generator, dtype), areas[face] / expected)
    k = options.gaussians_per_face
    face = torch.arange(len(areas)).repeat_interleave(k)
    if k == 1:
        bary = torch.full((len(areas), 3), 1.0 / 3.0, dtype=dtype)
    else:
        bary = _uniform_bary(len(face), generator, dtype)
    return Anchors(face, bary, areas[face] / k)


def _face_joint(model: BodyModel, anchors: Anchors) -> Tensor:
    """Dominant skinning joint [N] of each Gaussian's triangle (argmax of the summed vertex weights)."""
    weights = model.lbs_weights.detach().cpu()[model.faces.cpu()].sum(dim=1)  # [F, 55]
    return weights.argmax(dim=1)[anchors.face]


def _region_colors(appearance: DefaultAppearance) -> Tensor:
    """Colour [55, 3] of each dominant joint: outfit parts by body segment."""
    region = {name: appearance.skin for name in JOINT_NAMES}  # head, neck, forearms, hands
    for name in ("spine1", "spine2", "spine3", "left_collar", "right_collar"):
        region[name] = appearance.shirt
    for name in ("left_shoulder", "right_shoulder"):  # upper arms: short sleeves
        region[name] = appearance.shirt
    for name in ("pelvis", "left_hip", "right_hip", "left_knee", "right_knee"):
        region[name] = appearance.trousers
    for name in ("left_ankle", "right_ankle", "left_foot", "right_foot"):
        region[name] = appearance.shoes
    for name in ("left_eye_smplhf", "right_eye_smplhf"):
        region[name] = appearance.eyes
    return torch.tensor([region[JOINT_NAMES[j]] for j in range(NUM_JOINTS)])


def default_colors(model: BodyModel, anchors: Anchors, appearance: DefaultAppearance) -> Tensor:
    """Procedural outfit colours [N, 3] with baked soft shading, from the rest mesh (body-model frame)."""
    rest = model.layer.v_template.detach().cpu().float()  # [V, 3]
    faces = model.faces.cpu()
    joint = _face_joint(model, anchors)  # [N]
    colors = _region_colors(appearance)[joint]  # [N, 3]
    positions = (rest[faces[anchors.face]] * anchors.bary[..., None].float()).sum(dim=1)  # [N, 3]
    head = joint == JOINT_INDEX["head"]
    if bool(head.any()):
        lo, hi = positions[head].min(dim=0).values, positions[head].max(dim=0).values
        rel = (positions - 0.5 * (lo + hi)) / (0.5 * (hi - lo)).clamp_min(1e-6)  # [N, 3] ~[-1, 1] in the head
        top = rel[:, 1] > appearance.hair_top
        back = (rel[:, 2] < appearance.hair_back) & (rel[:, 1] > appearance.hair_nape)
        colors[head & (top | back)] = torch.tensor(appearance.hair)
    frames, _ = triangle_frames(rest, faces)
    normals = frames[anchors.face, :, 2]  # [N, 3]
    light = F.normalize(torch.tensor(appearance.light_dir), dim=0)
    shade = appearance.ambient + (1 - appearance.ambient) * (normals @ light).clamp_min(0.0)
    return colors * shade[:, None]


def initial_log_scales(anchors: Anchors, options: AvatarOptions) -> Tensor:
    """Log standard deviations [N, 3] in the triangle frame: in-plane from the area per Gaussian, thin
    along the normal."""
    in_plane = torch.log(options.init_scale_factor * anchors.area.sqrt())  # [N]
    normal = in_plane + math.log(options.normal_scale_ratio)
    return torch.stack([in_plane, in_plane, normal], dim=-1)
