"""Initial camera view selection (App. C.3): a camera array on concentric sphere shells around the human,
each candidate scored by the number of body joints that the scene does not occlude.

All candidates look at one centre at pelvis height + 0.1 m (z-up world). They sit on spheres of several
radii, at several elevations above the centre's horizontal (equatorial) plane and at azimuths in the
hemisphere the human faces, except near-frontal ones. A candidate renders the depth of the whole scene
with the human, D, and of the human alone, D_H; a body joint counts as visible when its pixel lies on the
human and |D − D_H| < ε there.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from zerohsi_core.body.joints import NUM_BODY_JOINTS
from zerohsi_core.config import Config
from zerohsi_core.errors import ConfigError, InputError
from zerohsi_core.geometry.camera import Camera, intrinsics_from_fov, look_at
from zerohsi_core.progress import CancelToken, ProgressCallback, ProgressEvent, check, report
from zerohsi_core.render.options import RenderOptions
from zerohsi_core.render.outputs import RenderOutput
from zerohsi_core.render.render import render
from zerohsi_core.scene.gaussians import GaussianCloud

STAGE = "view"
HUMAN = "human"  # entity name of the human in the renders
HEMISPHERE_DEG = 90.0  # the facing hemisphere: |azimuth offset from the facing direction| <= 90°
ANGLE_TOL_DEG = 1e-6  # float slack on the hemisphere and frontal limits


@dataclass(frozen=True)
class ViewOptions:
    """The candidate camera array and the visibility test (config section `view`; fov from `render`).

    Azimuths: `num_azimuth` evenly spaced around the full circle, the first one straight ahead of the human;
    kept are those with min_offset_from_front_deg <= |offset| <= 90° (12 and 20° give ±30, ±60, ±90).
    """

    radii: tuple[float, ...] = (2.5, 3.0, 3.5)  # metres, the sphere shells around the centre
    num_azimuth: int = 12  # azimuths around the full circle, before the hemisphere and frontal cuts
    elevations_deg: tuple[float, ...] = (0.0, 15.0, 30.0)  # above the centre's horizontal plane
    min_offset_from_front_deg: float = 20.0  # "no direct frontal view"
    centre_height_offset: float = 0.1  # metres: centre z = pelvis z + this
    depth_eps: float = 0.05  # ε in metres: a joint pixel is unoccluded when |D − D_H| < ε
    human_alpha_min: float = 0.5  # and the human-only alpha there exceeds this (the joint lies on the body)
    width: int = 256
    height: int = 256
    fov_deg: float = 60.0  # vertical field of view
    batch: int = 8  # candidate cameras per render call

    def __post_init__(self) -> None:
        object.__setattr__(self, "radii", tuple(float(r) for r in self.radii))
        object.__setattr__(self, "elevations_deg", tuple(float(e) for e in self.elevations_deg))
        if not self.radii or min(self.radii) <= 0.0:
            raise ConfigError(f"view.radii must be a non-empty list of positive metres, got {self.radii}")
        if not self.elevations_deg or max(abs(e) for e in self.elevations_deg) > 90.0:
            raise ConfigError(
                f"view.elevations_deg must be non-empty, within ±90°, got {self.elevations_deg}"
            )
        if min(self.num_azimuth, self.width, self.height, self.batch) < 1:
            raise ConfigError("view.num_azimuth, view.width, view.height and view.batch must be >= 1")
        if self.depth_eps <= 0.0 or not 0.0 <= self.human_alpha_min < 1.0:
            raise ConfigError(
                f"view.depth_eps must be > 0 (got {self.depth_eps}) and human_alpha_min in [0, 1) "
                f"(got {self.human_alpha_min})"
            )
        if not 0.0 < self.fov_deg < 180.0:
            raise ConfigError(f"render.fov_deg must lie in (0, 180) degrees, got {self.fov_deg}")
        if not azimuth_offsets_deg(self):
            raise ConfigError(
                f"view.num_azimuth={self.num_azimuth} with view.min_offset_from_front_deg="
                f"{self.min_offset_from_front_deg} leaves no azimuth in the facing hemisphere; use "
                "num_azimuth >= 4 and min_offset_from_front_deg <= 90"
            )


def view_options_from_config(cfg: Config) -> ViewOptions:
    """ViewOptions from the `view` section and the field of view of `render`."""
    view = cfg.view
    return ViewOptions(
        radii=tuple(view.radii),
        num_azimuth=view.num_azimuth,
        elevations_deg=tuple(view.elevations_deg),
        min_offset_from_front_deg=view.min_offset_from_front_deg,
        centre_height_offset=view.centre_height_offset,
        depth_eps=view.depth_eps,
        width=view.width,
        height=view.height,
        fov_deg=cfg.render.fov_deg,
        batch=view.batch,
    )


@dataclass(frozen=True, eq=False)
class ViewSelection:
    """The chosen camera and, for debugging, every candidate with its score (App. C.3).

    Per-candidate tensors are on the CPU, in candidate order (radius, then elevation, then azimuth offset).
    """

    camera: Camera  # the chosen view, on the device of the call
    index: int  # position of the chosen view among the candidates
    score: int  # visible body joints of the chosen view (at most 22)
    centre: Tensor  # [3] world point every candidate looks at
    facing_yaw_deg: float  # heading of the human, counter-clockwise from world +x
    cameras: tuple[Camera, ...]  # the K candidates
    scores: Tensor  # [K] int64 visible body joints
    visible: Tensor  # [K, 22] bool, per candidate and body joint
    radii: Tensor  # [K] metres
    elevations_deg: Tensor  # [K]
    azimuth_offsets_deg: Tensor  # [K] from the facing direction, counter-clockwise (+ = the human's left)


def azimuth_offsets_deg(options: ViewOptions) -> tuple[float, ...]:
    """Azimuth offsets (degrees, ascending) from the facing direction kept on every ring of the array."""
    step = 360.0 / options.num_azimuth
    wrapped = (k * step - 360.0 if k * step > 180.0 else k * step for k in range(options.num_azimuth))
    low, high = options.min_offset_from_front_deg - ANGLE_TOL_DEG, HEMISPHERE_DEG + ANGLE_TOL_DEG
    return tuple(sorted(a for a in wrapped if low <= abs(a) <= high))


def facing_yaw(facing: Tensor | float) -> float:
    """Heading in radians of a facing direction given as a yaw (radians) or an xy vector [2]."""
    if isinstance(facing, Tensor) and facing.numel() != 1:
        if tuple(facing.shape) != (2,):
            raise InputError(f"facing must be a yaw or an xy direction [2], got shape {tuple(facing.shape)}")
        x, y = (float(v) for v in facing.detach().cpu())
        if not (math.isfinite(x) and math.isfinite(y)) or math.hypot(x, y) == 0.0:
            raise InputError(f"facing direction must be finite and non-zero, got ({x}, {y})")
        return math.atan2(y, x)
    yaw = float(facing)
    if not math.isfinite(yaw):
        raise InputError(f"facing yaw must be finite, got {yaw}")
    return yaw


def view_centre(
    joints: Tensor, facing: Tensor | float, object_points: Tensor | None, options: ViewOptions
) -> Tensor:
    """The sphere centre c [3] (App. C.3): c_z = pelvis z + offset; c_xy = pelvis xy (static scenes), or
    the midpoint of the pelvis xy and the furthest projection of the object particles on the facing ray."""
    pelvis = joints[0]  # [3]
    xy = pelvis[:2]
    if object_points is not None:
        yaw = facing_yaw(facing)
        direction = torch.tensor([math.cos(yaw), math.sin(yaw)], dtype=joints.dtype, device=joints.device)
        along = (object_points[:, :2].to(joints) - xy) @ direction  # [M] signed distance along the ray
        xy = xy + 0.5 * along.max().clamp_min(0.0) * direction
    return torch.cat([xy, pelvis[2:] + options.centre_height_offset])


@dataclass(frozen=True, eq=False)
class CandidateViews:
    """The camera array of one centre, in the order radius, elevation, azimuth offset."""

    cameras: tuple[Camera, ...]  # K
    radii: Tensor  # [K] metres
    elevations_deg: Tensor  # [K]
    azimuth_offsets_deg: Tensor  # [K]


def candidate_views(centre: Tensor, yaw: float, options: ViewOptions) -> CandidateViews:
    """Cameras on the sphere shells around `centre` [3], all looking at it (image up = world +z)."""
    grid = list(itertools.product(options.radii, options.elevations_deg, azimuth_offsets_deg(options)))
    radii, elevations, offsets = torch.tensor(grid, dtype=centre.dtype, device=centre.device).unbind(
        -1
    )  # [K]
    elev, azim = torch.deg2rad(elevations), yaw + torch.deg2rad(offsets)
    direction = torch.stack(
        [torch.cos(elev) * torch.cos(azim), torch.cos(elev) * torch.sin(azim), torch.sin(elev)], dim=-1
    )  # [K, 3]
    eyes = centre + radii[:, None] * direction
    world_to_cam = look_at(eyes, centre.expand_as(eyes))  # [K, 4, 4]
    K = intrinsics_from_fov(options.fov_deg, options.width, options.height, centre.dtype, centre.device)
    cameras = tuple(Camera(K, w2c, options.width, options.height) for w2c in world_to_cam)
    return CandidateViews(cameras, radii.cpu(), elevations.cpu(), offsets.cpu())


def visible_joints(
    full: RenderOutput,
    human_only: RenderOutput,
    cameras: Sequence[Camera],
    joints: Tensor,
    options: ViewOptions,
    near: float,
) -> Tensor:
    """Visibility [C, J] of joints [J, 3] (App. C.3): in front of the camera (z > near), inside the image,
    and at their nearest pixel the human-only alpha > human_alpha_min and |D − D_H| < ε."""
    world_to_cam = torch.stack([cam.world_to_cam for cam in cameras]).to(joints)  # [C, 4, 4]
    Ks = torch.stack([cam.K for cam in cameras]).to(joints)  # [C, 3, 3]
    p_cam = torch.einsum("cij,nj->cni", world_to_cam[:, :3, :3], joints) + world_to_cam[:, None, :3, 3]
    z = p_cam[..., 2]  # [C, J]
    in_front = z > near
    uv = (
        torch.einsum("cij,cnj->cni", Ks[:, :2], p_cam) / torch.where(in_front, z, 1.0)[..., None]
    )  # [C, J, 2]
    col, row = torch.floor(uv).unbind(-1)  # pixel (row, col) covers [col, col+1) × [row, row+1)
    height, width = full.depth.shape[1:]
    inside = in_front & (col >= 0) & (col < width) & (row >= 0) & (row < height)
    cam = torch.arange(len(cameras), device=joints.device)[:, None]  # [C, 1]
    row_i = row.clamp(0, height - 1).long()
    col_i = col.clamp(0, width - 1).long()
    depth_gap = (full.depth[cam, row_i, col_i] - human_only.depth[cam, row_i, col_i]).abs()  # [C, J]
    on_body = human_only.alpha[cam, row_i, col_i] > options.human_alpha_min
    return inside & on_body & (depth_gap < options.depth_eps)


def best_candidate(scores: Tensor, elevations_deg: Tensor, radii: Tensor, azimuth_offsets_deg: Tensor) -> int:
    """Index of the most visible joints; ties go to the smallest |elevation| (closest to the equatorial
    plane, App. C.3), then the smaller radius, then the smaller |azimuth offset|, then the first candidate."""
    keys = zip(
        (-scores).tolist(),
        elevations_deg.abs().tolist(),
        radii.tolist(),
        azimuth_offsets_deg.abs().tolist(),
        strict=True,
    )
    return min(enumerate(keys), key=lambda item: (item[1], item[0]))[0]


def _validate(
    scene_entities: Sequence[tuple[str, GaussianCloud]],
    human: GaussianCloud,
    human_colors: Tensor | None,
    joints: Tensor,
    object_points: Tensor | None,
) -> None:
    """InputError for a clashing entity name, wrong shapes or non-finite joints and object points."""
    if any(name == HUMAN for name, _ in scene_entities):
        raise InputError(
            f"scene entity name {HUMAN!r} is reserved for the human in view selection; rename it"
        )
    if joints.ndim != 2 or joints.shape[0] < NUM_BODY_JOINTS or joints.shape[1] != 3:
        raise InputError(
            f"joints must be [J, 3] world positions with J >= {NUM_BODY_JOINTS}, got {joints.shape}"
        )
    if not bool(torch.isfinite(joints).all()):
        raise InputError("joints contain NaN or infinite values")
    if human_colors is not None and tuple(human_colors.shape) != (human.num, 3):
        raise InputError(f"human_colors must be [{human.num}, 3] RGB, got {tuple(human_colors.shape)}")
    if object_points is not None and (
        object_points.ndim != 2 or object_points.shape[0] == 0 or object_points.shape[1] != 3
    ):
        raise InputError(
            f"object_points must be [M, 3] with M >= 1 (None for static scenes), got "
            f"{tuple(object_points.shape)}"
        )
    if object_points is not None and not bool(torch.isfinite(object_points).all()):
        raise InputError("object_points contain NaN or infinite values")


def select_view(
    scene_entities: Sequence[tuple[str, GaussianCloud]],
    human: GaussianCloud,
    human_colors: Tensor | None,
    joints: Tensor,
    facing: Tensor | float,
    object_points: Tensor | None,
    options: ViewOptions,
    render_options: RenderOptions,
    device: torch.device | str,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> ViewSelection:
    """Pick the initial camera T_0 (App. C.3) that sees the most of the first 22 joints [55, 3] (world).

    scene_entities: the scene and any objects (world Gaussians); human: the posed avatar, human_colors
    [N, 3] its RGB override or None for its SH colours; facing: yaw in radians or an xy direction [2];
    object_points [M, 3]: the movable object's Gaussian centres (dynamic scenes) or None (static).
    """
    _validate(scene_entities, human, human_colors, joints, object_points)
    device = torch.device(device)
    dtype = human.means.dtype
    human = human.to(device)
    scene = [(name, cloud.to(device, dtype)) for name, cloud in scene_entities]
    overrides = {} if human_colors is None else {HUMAN: human_colors.to(device, dtype)}
    joints = joints.to(device, dtype)
    points = None if object_points is None else object_points.to(device, dtype)
    yaw = facing_yaw(facing)
    centre = view_centre(joints, yaw, points, options)
    candidates = candidate_views(centre, yaw, options)
    body = joints[:NUM_BODY_JOINTS]  # [22, 3]
    total, visible = len(candidates.cameras), []
    with torch.no_grad():
        for start in range(0, total, options.batch):
            check(cancel)
            cameras = candidates.cameras[start : start + options.batch]
            full = render([*scene, (HUMAN, human)], cameras, render_options, overrides)
            alone = render([(HUMAN, human)], cameras, render_options, overrides)
            visible.append(visible_joints(full, alone, cameras, body, options, render_options.near).cpu())
            done = start + len(cameras)
            report(progress, ProgressEvent(STAGE, done / total, message=f"{done}/{total} candidate views"))
    seen = torch.cat(visible)  # [K, 22]
    scores = seen.sum(dim=1)  # [K]
    index = best_candidate(
        scores, candidates.elevations_deg, candidates.radii, candidates.azimuth_offsets_deg
    )
    return ViewSelection(
        camera=candidates.cameras[index],
        index=index,
        score=int(scores[index]),
        centre=centre.cpu(),
        facing_yaw_deg=math.degrees(yaw),
        cameras=candidates.cameras,
        scores=scores,
        visible=seen,
        radii=candidates.radii,
        elevations_deg=candidates.elevations_deg,
        azimuth_offsets_deg=candidates.azimuth_offsets_deg,
    )
