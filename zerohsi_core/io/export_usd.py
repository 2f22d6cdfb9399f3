"""USD export (Isaac Sim, Omniverse, Blender, usdview): a UsdSkel skeleton with a SkelAnimation of the
motion, bound to the body mesh (linear blend skinning), and the object as an animated Xform.

Stage: Z-up, metersPerUnit 1, timeCodesPerSecond = framesPerSecond = the result's fps, one time code per
frame (0 … T−1). Prims: /World/Human (SkelRoot) with Skeleton, Skeleton/Motion (SkelAnimation) and
Body (Mesh, rest shape of the result's betas; SMPL-X pose corrective blend shapes are not exported);
/World/Object (Xform, `xformOp:transform` per frame, attribute `zerohsi:object_id`) when the result has
an object.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pxr import Gf, Sdf, Usd, UsdGeom, UsdSkel, Vt

from zerohsi_core.body.frames import Y_UP_TO_Z_UP
from zerohsi_core.io.export_common import BodyRest, ExportMotion, root_positions, upright_skeleton

HUMAN_PATH = "/World/Human"
SKELETON_PATH = f"{HUMAN_PATH}/Skeleton"
ANIMATION_PATH = f"{SKELETON_PATH}/Motion"
MESH_PATH = f"{HUMAN_PATH}/Body"
OBJECT_PATH = "/World/Object"


@dataclass(frozen=True)
class UsdOptions:
    """Mesh skinning: the strongest `max_influences` joints per vertex are kept (renormalised)."""

    max_influences: int = 4
    include_mesh: bool = True


def joint_paths(rest: BodyRest) -> list[str]:
    """UsdSkel joint paths ("pelvis/left_hip/left_knee", …) in SMPL-X joint order."""
    paths: list[str] = []
    for name, parent in zip(rest.names, rest.parents, strict=True):
        paths.append(name if parent < 0 else f"{paths[parent]}/{name}")
    return paths


def _gf_matrix(matrix: np.ndarray) -> Gf.Matrix4d:
    """A column-vector 4×4 (ours) as Gf's row-vector matrix."""
    return Gf.Matrix4d(np.asarray(matrix, dtype=np.float64).T.tolist())


def _translation_matrices(points: np.ndarray) -> list[Gf.Matrix4d]:
    out = []
    for p in points:
        m = np.eye(4)
        m[:3, 3] = p
        out.append(_gf_matrix(m))
    return out


def skeleton_animation(motion: ExportMotion, rest: BodyRest) -> tuple[np.ndarray, np.ndarray]:
    """Joint-local translations [T, 55, 3] and rotations [T, 55, 4] (w, x, y, z) of the z-up skeleton
    whose rest pose is the model's rest pose turned upright (Y_UP_TO_Z_UP)."""
    xyzw, offsets = upright_skeleton(motion, rest)
    translations = np.tile(offsets, (motion.num_frames, 1, 1))
    translations[:, 0] = root_positions(motion, rest)
    return translations, np.concatenate([xyzw[..., 3:], xyzw[..., :3]], axis=-1)


def _define_stage(path: Path, fps: float, frames: int) -> Usd.Stage:
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    stage.SetTimeCodesPerSecond(fps)
    stage.SetFramesPerSecond(fps)
    stage.SetStartTimeCode(0)
    stage.SetEndTimeCode(frames - 1)
    stage.SetDefaultPrim(UsdGeom.Xform.Define(stage, "/World").GetPrim())
    return stage


def _define_skeleton(stage: Usd.Stage, motion: ExportMotion, rest: BodyRest) -> UsdSkel.Skeleton:
    B = np.array(Y_UP_TO_Z_UP)
    UsdSkel.Root.Define(stage, HUMAN_PATH)
    skel = UsdSkel.Skeleton.Define(stage, SKELETON_PATH)
    paths = joint_paths(rest)
    skel.CreateJointsAttr(Vt.TokenArray(paths))
    skel.CreateJointNamesAttr(Vt.TokenArray(list(rest.names)))
    skel.CreateBindTransformsAttr(Vt.Matrix4dArray(_translation_matrices(rest.joints @ B.T)))
    skel.CreateRestTransformsAttr(Vt.Matrix4dArray(_translation_matrices(rest.offsets() @ B.T)))
    anim = UsdSkel.Animation.Define(stage, ANIMATION_PATH)
    anim.CreateJointsAttr(Vt.TokenArray(paths))
    translations, rotations = skeleton_animation(motion, rest)
    t_attr, r_attr = anim.CreateTranslationsAttr(), anim.CreateRotationsAttr()
    for t in range(motion.num_frames):
        t_attr.Set(Vt.Vec3fArray([Gf.Vec3f(*map(float, v)) for v in translations[t]]), t)
        r_attr.Set(
            Vt.QuatfArray([Gf.Quatf(float(q[0]), Gf.Vec3f(*map(float, q[1:]))) for q in rotations[t]]), t
        )
    anim.CreateScalesAttr(Vt.Vec3hArray([Gf.Vec3h(1.0, 1.0, 1.0)] * len(paths)))
    UsdSkel.BindingAPI.Apply(skel.GetPrim()).CreateAnimationSourceRel().SetTargets([anim.GetPath()])
    return skel


def _define_mesh(stage: Usd.Stage, skel: UsdSkel.Skeleton, rest: BodyRest, influences: int) -> None:
    B = np.array(Y_UP_TO_Z_UP)
    mesh = UsdGeom.Mesh.Define(stage, MESH_PATH)
    mesh.CreatePointsAttr(Vt.Vec3fArray.FromNumpy((rest.vertices @ B.T).astype(np.float32)))
    mesh.CreateFaceVertexCountsAttr(Vt.IntArray([3] * len(rest.faces)))
    mesh.CreateFaceVertexIndicesAttr(Vt.IntArray(rest.faces.reshape(-1).astype(np.int32).tolist()))
    mesh.CreateOrientationAttr(UsdGeom.Tokens.rightHanded)
    top = np.argsort(-rest.weights, axis=1)[:, :influences]  # [V, k]
    weights = np.take_along_axis(rest.weights, top, axis=1)
    weights = weights / np.clip(weights.sum(1, keepdims=True), 1e-12, None)
    binding = UsdSkel.BindingAPI.Apply(mesh.GetPrim())
    binding.CreateSkeletonRel().SetTargets([skel.GetPath()])
    binding.CreateJointIndicesPrimvar(False, influences).Set(Vt.IntArray(top.reshape(-1).tolist()))
    binding.CreateJointWeightsPrimvar(False, influences).Set(
        Vt.FloatArray(weights.reshape(-1).astype(np.float32).tolist())
    )
    binding.CreateGeomBindTransformAttr(Gf.Matrix4d(1.0))


def _define_object(stage: Usd.Stage, motion: ExportMotion) -> None:
    if motion.object_poses is None:
        return
    xform = UsdGeom.Xform.Define(stage, OBJECT_PATH)
    attr = xform.GetPrim().CreateAttribute("zerohsi:object_id", Sdf.ValueTypeNames.String)
    attr.Set(motion.object_id or "")
    op = xform.AddTransformOp()
    for t, pose in enumerate(motion.object_poses):
        op.Set(_gf_matrix(pose), t)


def write_usd(
    motion: ExportMotion, rest: BodyRest, path: str | Path, options: UsdOptions | None = None
) -> Path:
    """Write the stage (.usda text or .usd/.usdc binary, by extension); returns its path."""
    options = options or UsdOptions()
    motion.require_frame_rate("USD")
    path = Path(path)
    if path.exists():
        path.unlink()  # CreateNew refuses an existing layer
    stage = _define_stage(path, motion.fps, motion.num_frames)
    skel = _define_skeleton(stage, motion, rest)
    if options.include_mesh:
        _define_mesh(stage, skel, rest, options.max_influences)
    _define_object(stage, motion)
    stage.GetRootLayer().Save()
    return path
