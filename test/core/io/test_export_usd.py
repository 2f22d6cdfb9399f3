"""USD export: the stage opens with pxr, has 55 joints, one time code per frame, and UsdSkel's own
evaluation of the animation puts the joints where the body model put them."""

import numpy as np
import pytest
from core.io.export_result import make_result
from pxr import Usd, UsdGeom, UsdSkel

from zerohsi_core.io.export_common import ExportMotion, body_rest, load_motion
from zerohsi_core.io.export_usd import (
    ANIMATION_PATH,
    HUMAN_PATH,
    MESH_PATH,
    OBJECT_PATH,
    SKELETON_PATH,
    UsdOptions,
    write_usd,
)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[ExportMotion, Usd.Stage]:
    folder = tmp_path_factory.mktemp("usd")
    motion = load_motion(make_result(folder / "res", frames=5))
    path = write_usd(motion, body_rest(motion), folder / "motion.usda")
    return motion, Usd.Stage.Open(str(path))


def test_stage_metadata(exported) -> None:
    motion, stage = exported
    assert UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.z
    assert UsdGeom.GetStageMetersPerUnit(stage) == 1.0
    assert stage.GetTimeCodesPerSecond() == 10.0
    assert (stage.GetStartTimeCode(), stage.GetEndTimeCode()) == (0.0, 4.0)
    anim = UsdSkel.Animation(stage.GetPrimAtPath(ANIMATION_PATH))
    assert anim.GetRotationsAttr().GetTimeSamples() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert len(anim.GetJointsAttr().Get()) == 55
    pelvis = np.array(anim.GetTranslationsAttr().Get(3))[0]
    assert np.abs(pelvis - motion.joints[3, 0]).max() < 1e-5  # the root is placed at the world pelvis


def test_skeleton_evaluates_to_the_body_joints(exported) -> None:
    motion, stage = exported
    cache = UsdSkel.Cache()
    cache.Populate(UsdSkel.Root(stage.GetPrimAtPath(HUMAN_PATH)), Usd.TraverseInstanceProxies())
    query = cache.GetSkelQuery(UsdSkel.Skeleton(stage.GetPrimAtPath(SKELETON_PATH)))
    assert len(query.GetJointOrder()) == 55 and query.GetJointOrder()[4] == "pelvis/left_hip/left_knee"
    for t in range(motion.num_frames):
        joints = np.array(query.ComputeJointSkelTransforms(t))[:, 3, :3]  # row-vector matrices
        assert np.abs(joints - motion.joints[t]).max() < 1e-3, t  # ≤ 1 mm


def test_mesh_binding_and_object(exported) -> None:
    motion, stage = exported
    rest = body_rest(motion)
    mesh = UsdGeom.Mesh(stage.GetPrimAtPath(MESH_PATH))
    assert len(mesh.GetPointsAttr().Get()) == len(rest.vertices)
    assert len(mesh.GetFaceVertexIndicesAttr().Get()) == 3 * len(rest.faces)
    binding = UsdSkel.BindingAPI(mesh.GetPrim())
    weights = np.array(binding.GetJointWeightsPrimvar().Get()).reshape(-1, UsdOptions().max_influences)
    assert np.allclose(weights.sum(1), 1.0, atol=1e-5)
    cache = UsdSkel.Cache()
    cache.Populate(UsdSkel.Root(stage.GetPrimAtPath(HUMAN_PATH)), Usd.TraverseInstanceProxies())
    assert cache.GetSkinningQuery(mesh.GetPrim())  # the mesh is skinned by the skeleton
    xform = UsdGeom.Xformable(stage.GetPrimAtPath(OBJECT_PATH))
    assert stage.GetPrimAtPath(OBJECT_PATH).GetAttribute("zerohsi:object_id").Get() == "box"
    for t in (0, 4):
        world = np.array(xform.ComputeLocalToWorldTransform(t)).T  # back to column vectors
        assert np.abs(world - motion.object_poses[t]).max() < 1e-6
