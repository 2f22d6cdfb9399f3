"""Scene and object penetration: known depths from a sunk body and from points in a posed box."""

import dataclasses
import math

import numpy as np
import pytest
import torch
from core.metrics.conftest import box_at, floor_scene, standing

from zerohsi_core.errors import InputError
from zerohsi_core.geometry.rotations import axis_angle_to_matrix
from zerohsi_core.geometry.se3 import make_se3
from zerohsi_core.metrics.motion import EvalMotion
from zerohsi_core.metrics.penetration import (
    ground_union,
    object_penetration_cm,
    object_signed_distances,
    scene_penetration,
    scene_signed_distances,
)
from zerohsi_core.metrics.physical import PhysicalOptions, physical_metrics
from zerohsi_core.scene.primitives import box_mesh
from zerohsi_core.scene.sdf import MeshSDF


def test_scene_penetration_of_given_distances() -> None:
    signed = np.array([[0.1, -0.02, 0.0, -0.04], [0.3, 0.2, 0.1, 0.05]])
    pene = scene_penetration(signed)
    assert pene.fraction == pytest.approx(2 / 8)
    assert pene.mean_cm == pytest.approx(3.0)  # mean over the penetrating vertices only
    assert pene.max_cm == pytest.approx(4.0)
    assert scene_penetration(signed, tolerance=0.03).fraction == pytest.approx(1 / 8)
    assert scene_penetration(np.abs(signed)) == scene_penetration(np.ones((2, 4)))
    with pytest.raises(InputError, match=r"\[T, V\]"):
        scene_penetration(np.zeros(4))


def test_body_sunk_5cm_into_the_floor(body) -> None:
    sdf = MeshSDF(floor_scene().mesh)
    raised = body.forward(standing(body, 2, lift=0.001)).vertices  # [2, V, 3] 1 mm above the floor
    assert scene_penetration(scene_signed_distances(sdf, raised)).fraction == 0.0

    upright = body.forward(standing(body, 1)).vertices
    sunk = body.forward(standing(body, 1, lift=-0.05)).vertices
    pene = scene_penetration(scene_signed_distances(sdf, sunk))
    heights = upright[0, :, 2].double()  # soles at z = 0, so a vertex at height h sinks to h - 5 cm
    below = heights < 0.05
    assert pene.max_cm == pytest.approx(5.0, abs=1e-3)
    assert pene.fraction == pytest.approx(float(below.double().mean()), abs=2 / len(heights))
    assert pene.mean_cm == pytest.approx(100 * float((0.05 - heights[below]).mean()), abs=1e-3)
    assert 0.001 < pene.fraction < 0.2  # the feet, not the body


def test_object_penetration_follows_the_pose() -> None:
    sdf = MeshSDF(box_mesh((1.0, 0.4, 0.2)))  # object frame: 1 m long along x
    pose = make_se3(
        axis_angle_to_matrix(torch.tensor([0.0, 0.0, math.pi / 2])), torch.tensor([2.0, 0.0, 0.5])
    )
    # the long axis now runs along world y: the centre is 0.1 m below the top (z = 0.6), the second point
    # 5 cm in from the end at y = 0.5, the third 0.4 m above the top
    points = torch.tensor([[[2.0, 0.0, 0.5], [2.0, 0.45, 0.5], [2.0, 0.0, 1.0]]])
    signed = object_signed_distances(sdf, points, pose[None])  # [1, 3]
    np.testing.assert_allclose(signed[0], [-0.1, -0.05, 0.4], atol=1e-5)
    assert object_penetration_cm(signed) == pytest.approx(7.5, abs=1e-3)  # mean of 10 and 5 cm


def test_object_penetration_averages_frames_with_penetration() -> None:
    signed = np.array([[-0.02, -0.04, 0.1], [0.1, 0.1, 0.1], [-0.01, 0.2, 0.3]])
    assert object_penetration_cm(signed) == pytest.approx((3.0 + 1.0) / 2)
    assert object_penetration_cm(np.full((3, 2), 0.01)) == 0.0
    assert object_penetration_cm(signed, tolerance=0.015) == pytest.approx(3.0)


def test_mesh_box_helper_is_where_it_says() -> None:
    low, high = box_at((2.0, 2.0, 1.0), (0.0, 0.0, -0.5)).bounds()
    np.testing.assert_allclose(low, [-1, -1, -1])
    np.testing.assert_allclose(high, [1, 1, 0])


def test_deep_below_a_thin_floor_is_inside_the_ground(body) -> None:
    thin = floor_scene()
    thin = dataclasses.replace(thin, mesh=box_at((8.0, 8.0, 0.1), (0.0, 0.0, -0.05)))  # a 10 cm slab
    motion = EvalMotion(standing(body, 1, lift=-0.3), torch.zeros(1, 55, 3), None, None, [], ["x"], 10.0)
    solid = physical_metrics(motion, thin, body, PhysicalOptions())
    assert solid["pene_max_cm"] == pytest.approx(30.0, abs=1e-3)  # the soles, 30 cm down
    slab_only = physical_metrics(motion, thin, body, PhysicalOptions(solid_ground=False))
    assert slab_only["pene_max_cm"] <= 5.0 + 1e-3  # at most half the slab: why the ground is solid
    signed = ground_union(np.array([[0.2, -0.01]]), torch.tensor([[[0, 0, -0.05], [0, 0, 0.5]]]), 0.0)
    np.testing.assert_allclose(signed, [[-0.05, -0.01]])
