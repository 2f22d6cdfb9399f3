"""SMPL-X access through `smplx`: load real SMPL-X files or the stand-in, batched forward, vertex groups."""

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import smplx
import torch
from smplx.lbs import batch_rodrigues, blend_shapes, vertices2joints
from torch import Tensor

from zerohsi_core.body.joints import HEAD_JOINTS, NUM_JOINTS, SideOrBoth, foot_joints, hand_joints
from zerohsi_core.body.params import SmplxParams
from zerohsi_core.body.standin import ensure_standin_model
from zerohsi_core.errors import AssetError, ConfigError, InputError

SMPLX_URL = "https://smpl-x.is.tue.mpg.de"
GENDERS = ("neutral", "male", "female")


@dataclass(frozen=True)
class BodyModelOptions:
    """Which body model to load (config section `body`). `model_path`: the folder with SMPLX_*.npz, its
    parent, or one file; None or "" = the procedural stand-in."""

    model_path: str | None = None
    model_type: Literal["smplx"] = "smplx"
    gender: Literal["neutral", "male", "female"] = "neutral"
    num_betas: int = 10
    num_expression: int = 10
    use_pca: bool = False  # load the hand PCA basis (see BodyModel.hand_pose_from_pca)
    num_pca_comps: int = 12
    flat_hand_mean: bool = True  # False adds the model's mean hand pose to every hand pose
    ext: Literal["npz", "pkl"] = "npz"


@dataclass(frozen=True)
class BodyOutput:
    """Posed bodies, metres, in the frame the parameters place them (the z-up world for pipeline params)."""

    vertices: Tensor  # [B, V, 3]
    joints: Tensor  # [B, 55, 3] skeleton joints only
    faces: Tensor  # [F, 3] int64
    joint_transforms: (
        Tensor  # [B, 55, 4, 4] rest-shaped -> posed rigid transform of each joint, transl included
    )
    shaped_vertices: Tensor  # [B, V, 3] rest pose with betas and expression applied


def _missing_model_error(where: str) -> AssetError:
    return AssetError(
        f"SMPL-X model not found: {where}. Set the config key `body.model_path` to the folder that holds "
        f"SMPLX_NEUTRAL.npz / SMPLX_MALE.npz / SMPLX_FEMALE.npz (register and download 'SMPL-X v1.1 "
        f"(NPZ+PKL)' from {SMPLX_URL}), or leave it empty to use the procedural stand-in model."
    )


def resolve_model_file(options: BodyModelOptions) -> Path:
    """The SMPL-X file the options point at: the file itself, `<dir>/SMPLX_<GENDER>.<ext>` or
    `<dir>/smplx/SMPLX_<GENDER>.<ext>`; the stand-in when `model_path` is None or empty."""
    if options.model_type != "smplx":
        raise ConfigError(f"body.model_type must be 'smplx', got {options.model_type!r}")
    if options.gender not in GENDERS:
        raise ConfigError(f"body.gender must be one of {GENDERS}, got {options.gender!r}")
    name = f"SMPLX_{options.gender.upper()}.{options.ext}"
    if not options.model_path:
        return ensure_standin_model() / f"SMPLX_{options.gender.upper()}.npz"
    path = Path(options.model_path).expanduser()
    if path.is_file():
        return path
    candidates = [path / name, path / "smplx" / name]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise _missing_model_error(f"none of {', '.join(str(c) for c in candidates)} exists")


class BodyModel:
    """A loaded SMPL-X model (real or stand-in) on one device; forward takes `SmplxParams` of any batch."""

    def __init__(self, layer: smplx.SMPLX, path: Path, options: BodyModelOptions) -> None:
        self.layer = layer  # the underlying smplx.SMPLX module (its own parameters are unused)
        self.path = path
        self.options = options
        self.faces = layer.faces_tensor  # [F, 3]
        self._dominant = layer.lbs_weights.argmax(dim=1)  # [V]

    @property
    def device(self) -> torch.device:
        return self.layer.v_template.device

    @property
    def dtype(self) -> torch.dtype:
        return self.layer.v_template.dtype

    @property
    def num_vertices(self) -> int:
        return int(self.layer.v_template.shape[0])

    @property
    def num_betas(self) -> int:
        return int(self.layer.num_betas)

    @property
    def num_expression(self) -> int:
        return int(self.layer.num_expression_coeffs)

    @property
    def parents(self) -> Tensor:
        return self.layer.parents  # [55], -1 at the root

    @property
    def lbs_weights(self) -> Tensor:
        return self.layer.lbs_weights  # [V, 55]

    def zeros(self, batch: int) -> SmplxParams:
        """Rest-pose parameters sized for this model."""
        return SmplxParams.zeros(batch, self.num_betas, self.num_expression, self.dtype, self.device)

    def forward(self, params: SmplxParams, check_finite: bool = True) -> BodyOutput:
        """Linear blend skinning of the batch (SMPL-X, as `smplx.SMPLX.forward` computes it). Optimisation
        loops pass check_finite=False (the finiteness test syncs the device once per field)."""
        params.validate(finite=check_finite)
        if (params.num_betas, params.num_expression) != (self.num_betas, self.num_expression):
            raise InputError(
                f"params carry {params.num_betas} betas / {params.num_expression} expression coefficients; "
                f"the model uses {self.num_betas} / {self.num_expression} "
                "(config keys body.num_betas, body.num_expression)"
            )
        p = params.to(self.device, self.dtype)
        b = p.batch_size
        layer = self.layer
        full_pose = torch.cat(
            [p.global_orient[:, None], p.body_pose, p.jaw_pose[:, None], p.leye_pose[:, None],
             p.reye_pose[:, None], p.left_hand_pose, p.right_hand_pose], dim=1,
        ).reshape(b, -1) + layer.pose_mean  # fmt: skip
        shape = torch.cat([p.betas, p.expression], dim=1)  # [B, nb + ne]
        shaped = layer.v_template + blend_shapes(shape, torch.cat([layer.shapedirs, layer.expr_dirs], dim=-1))
        rest_joints = vertices2joints(layer.J_regressor, shaped)  # [B, 55, 3]
        rot = batch_rodrigues(full_pose.reshape(-1, 3)).reshape(b, NUM_JOINTS, 3, 3)
        eye = torch.eye(3, dtype=self.dtype, device=self.device)
        pose_offsets = ((rot[:, 1:] - eye).reshape(b, -1) @ layer.posedirs).reshape(b, -1, 3)
        joints, transforms = self._chain(rot, rest_joints)
        top = torch.cat([transforms[..., :3, :3], transforms[..., :3, 3:] + p.transl[:, None, :, None]], -1)
        transforms = torch.cat([top, transforms[..., 3:, :]], dim=-2)  # [B, J, 4, 4], translated
        per_vertex = torch.einsum("vj,bjrc->bvrc", layer.lbs_weights, transforms)  # [B, V, 4, 4]
        posed = shaped + pose_offsets
        vertices = (per_vertex[..., :3, :3] @ posed[..., None])[..., 0] + per_vertex[..., :3, 3]
        return BodyOutput(vertices, joints + p.transl[:, None], self.faces, transforms, shaped)

    __call__ = forward

    def _chain(self, rot: Tensor, rest_joints: Tensor) -> tuple[Tensor, Tensor]:
        """Forward kinematics one tree level at a time (a dozen batched products instead of 54 serial
        ones): posed joints [B, J, 3] and skinning transforms [B, J, 4, 4] (world ∘ rest⁻¹), as smplx's
        `batch_rigid_transform` computes them."""
        parents = self.parents
        b, j = rot.shape[:2]
        offsets = torch.cat([rest_joints[:, :1], rest_joints[:, 1:] - rest_joints[:, parents[1:]]], dim=1)
        local = torch.cat([rot, offsets[..., None]], dim=-1)  # [B, J, 3, 4]
        bottom = torch.zeros(b, j, 1, 4, dtype=rot.dtype, device=rot.device)
        bottom[..., 3] = 1.0
        local = torch.cat([local, bottom], dim=-2)  # [B, J, 4, 4]
        world = local
        for level in self._levels:
            world = world.index_copy(1, level, world[:, parents[level]] @ local[:, level])
        joints = world[..., :3, 3]
        shift = (world[..., :3, :3] @ rest_joints[..., None])[..., 0]  # R_world · rest joint
        skinning = torch.cat([world[..., :3, :3], (joints - shift)[..., None]], dim=-1)
        return joints, torch.cat([skinning, world[..., 3:, :]], dim=-2)

    @functools.cached_property
    def _levels(self) -> list[Tensor]:
        """Joint indices [K] per depth of the kinematic tree below the root."""
        parents = self.parents.tolist()
        depth = [0] * len(parents)
        for joint in range(1, len(parents)):  # smplx orders parents before children
            depth[joint] = depth[parents[joint]] + 1
        return [
            torch.tensor([k for k, d in enumerate(depth) if d == level], device=self.device)
            for level in range(1, max(depth) + 1)
        ]

    def hand_pose_from_pca(self, coeffs: Tensor, side: Literal["left", "right"]) -> Tensor:
        """Hand pose [B, 15, 3] from PCA coefficients [B, K] (needs `use_pca`)."""
        if not self.options.use_pca:
            raise ConfigError("hand PCA needs body.use_pca: true")
        comps = self.layer.left_hand_components if side == "left" else self.layer.right_hand_components
        return (coeffs @ comps[: coeffs.shape[-1]]).reshape(-1, 15, 3)

    def _vertices_of(self, joints: tuple[int, ...]) -> Tensor:
        mask = torch.isin(self._dominant, torch.tensor(joints, device=self.device))
        return torch.nonzero(mask).squeeze(1)

    def hand_vertex_ids(self, side: SideOrBoth = "both") -> Tensor:
        """Vertices [K] whose dominant skinning joint is a wrist or finger joint of `side`."""
        return self._vertices_of(hand_joints(side))

    def head_vertex_ids(self) -> Tensor:
        """Vertices [K] dominated by the head, jaw or eye joints."""
        return self._vertices_of(HEAD_JOINTS)

    def foot_vertex_ids(self, side: SideOrBoth = "both") -> Tensor:
        """Vertices [K] dominated by an ankle or foot joint of `side`."""
        return self._vertices_of(foot_joints(side))


def load_body_model(
    options: BodyModelOptions | None = None,
    batch_size: int = 1,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> BodyModel:
    """Load SMPL-X (or the stand-in when `options.model_path` is empty) through `smplx.create`."""
    options = options or BodyModelOptions()
    path = resolve_model_file(options)
    try:
        layer = smplx.create(
            str(path), model_type="smplx", gender=options.gender, num_betas=options.num_betas,
            num_expression_coeffs=options.num_expression, use_pca=options.use_pca,
            num_pca_comps=options.num_pca_comps, flat_hand_mean=options.flat_hand_mean,
            batch_size=batch_size, dtype=dtype, ext=path.suffix.lstrip(".") or options.ext,
        )  # fmt: skip
    except (KeyError, AttributeError, ValueError, OSError, ModuleNotFoundError) as exc:
        raise AssetError(
            f"cannot load the SMPL-X model {path} ({type(exc).__name__}: {exc}); `body.model_path` must "
            f"point at SMPL-X v1.1 files from {SMPLX_URL} (the .npz variant needs no chumpy)"
        ) from exc
    return BodyModel(layer.to(device), path, options)
