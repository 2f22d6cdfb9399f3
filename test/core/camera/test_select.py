"""View selection (App. C.3): candidate array, sphere centre, joint visibility, choice and tie-breaks."""

from __future__ import annotations

import math

import pytest
import torch

from zerohsi_core.body.frames import model_to_world
from zerohsi_core.body.joints import JOINT_INDEX, NUM_BODY_JOINTS, PARENTS
from zerohsi_core.body.model import load_body_model
from zerohsi_core.camera.select import (
    ViewOptions,
    azimuth_offsets_deg,
    best_candidate,
    candidate_views,
    select_view,
    view_centre,
    view_options_from_config,
    visible_joints,
)
from zerohsi_core.config import load_config
from zerohsi_core.errors import Cancelled, ConfigError, InputError
from zerohsi_core.geometry.camera import Camera, intrinsics_from_fov, look_at
from zerohsi_core.progress import CancelToken
from zerohsi_core.render.options import RenderOptions
from zerohsi_core.render.outputs import RenderOutput
from zerohsi_core.scene import load_scene
from zerohsi_core.scene.gaussians import GaussianCloud, rgb_to_sh_dc

SIZE = 64
FLOOR_SIZE = 96  # at 64 px a foot joint 2 cm above the floor shares its pixel with the floor
OPAQUE_LOGIT = 6.0  # opacity 0.9975
LEGS = tuple(
    JOINT_INDEX[f"{side}_{part}"] for side in ("left", "right") for part in ("knee", "ankle", "foot")
)
RENDER = RenderOptions()


def blobs(means: torch.Tensor, sigma: float, rgb: tuple[float, float, float]) -> GaussianCloud:
    """Opaque isotropic Gaussians of one colour at means [N, 3]."""
    n = means.shape[0]
    return GaussianCloud(
        means=means,
        quats=torch.tensor([[1.0, 0.0, 0.0, 0.0]]).repeat(n, 1),
        log_scales=torch.full((n, 3), math.log(sigma)),
        opacity_logits=torch.full((n,), OPAQUE_LOGIT),
        sh=rgb_to_sh_dc(torch.tensor(rgb).expand(n, 3))[:, None].clone(),
    )


@pytest.fixture(scope="module")
def rest_body() -> tuple[torch.Tensor, float]:
    """Stand-in rest-pose (T-pose) joints [55, 3] in the world frame (facing +x) and the sole height."""
    model = load_body_model()
    out = model(model.zeros(1))
    return model_to_world(out.joints[0]), float(model_to_world(out.vertices[0])[:, 2].min())


def standing_human(
    rest: tuple[torch.Tensor, float], xy: tuple[float, float], yaw: float
) -> tuple[torch.Tensor, GaussianCloud]:
    """World joints [55, 3] of a T-pose on z = 0, pelvis over xy, facing yaw; Gaussians along the bones."""
    joints, sole = rest
    c, s = math.cos(yaw), math.sin(yaw)
    R = torch.tensor([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    joints = joints @ R.T
    joints = joints + torch.tensor([xy[0] - joints[0, 0], xy[1] - joints[0, 1], -sole])
    points = [joints[:NUM_BODY_JOINTS]]
    for k in range(1, NUM_BODY_JOINTS):
        a, b = joints[PARENTS[k]], joints[k]
        steps = torch.linspace(0.0, 1.0, max(2, int((b - a).norm() / 0.03)))[:, None]
        points.append(a + (b - a) * steps)
    return joints, blobs(torch.cat(points), 0.05, (0.8, 0.5, 0.4))


def floor(half: float = 1.2) -> GaussianCloud:
    """Flat floor Gaussians on z = 0 over [-half, half]²."""
    grid = torch.arange(-half, half, 0.05)
    xy = torch.stack(torch.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2)
    cloud = blobs(torch.cat([xy, torch.zeros(len(xy), 1)], -1), 0.03, (0.6, 0.6, 0.6))
    return GaussianCloud(
        cloud.means, cloud.quats, torch.log(torch.tensor([0.03, 0.03, 0.003])).expand(len(xy), 3).clone(),
        cloud.opacity_logits, cloud.sh,
    )  # fmt: skip


def wall(x: tuple[float, float], y: float, top: float) -> GaussianCloud:
    """An opaque vertical wall in the plane y = `y`, from x[0] to x[1] and z = 0 to `top`."""
    xs, zs = torch.arange(x[0], x[1], 0.05), torch.arange(0.0, top, 0.05)
    grid = torch.stack(torch.meshgrid(xs, zs, indexing="ij"), -1).reshape(-1, 2)
    return blobs(torch.stack([grid[:, 0], torch.full_like(grid[:, 0], y), grid[:, 1]], -1), 0.04, (0.2,) * 3)


def ring(centre: torch.Tensor, radius: float, top: float) -> GaussianCloud:
    """An opaque cylindrical fence of `radius` around centre xy, from z = 0 to `top`."""
    angles = torch.arange(0.0, 2 * math.pi, 0.04 / radius)
    zs = torch.arange(0.0, top, 0.04)
    a, z = (g.reshape(-1) for g in torch.meshgrid(angles, zs, indexing="ij"))
    means = torch.stack([centre[0] + radius * torch.cos(a), centre[1] + radius * torch.sin(a), z], -1)
    return blobs(means, 0.03, (0.2,) * 3)


def small_options(**changes: object) -> ViewOptions:
    base = dict(
        radii=(2.5,), elevations_deg=(0.0,), num_azimuth=8, width=FLOOR_SIZE, height=FLOOR_SIZE, batch=4
    )
    return ViewOptions(**{**base, **changes})


def test_options_from_config_take_view_and_render_fov() -> None:
    cfg = load_config(profile="draft", overrides={"render.fov_deg": 50.0, "view.depth_eps": 0.03})
    options = view_options_from_config(cfg)
    assert (options.radii, options.num_azimuth, options.elevations_deg) == ((3.0,), 6, (0.0, 15.0, 30.0))
    assert (options.width, options.height, options.fov_deg, options.depth_eps) == (96, 96, 50.0, 0.03)
    assert options.centre_height_offset == 0.1 and options.min_offset_from_front_deg == 20.0


def test_azimuths_keep_the_facing_hemisphere_without_the_front() -> None:
    assert azimuth_offsets_deg(ViewOptions()) == (-90.0, -60.0, -30.0, 30.0, 60.0, 90.0)
    assert azimuth_offsets_deg(ViewOptions(num_azimuth=6)) == (-60.0, 60.0)
    assert azimuth_offsets_deg(ViewOptions(num_azimuth=8, min_offset_from_front_deg=50.0)) == (-90.0, 90.0)
    assert azimuth_offsets_deg(ViewOptions(num_azimuth=24, min_offset_from_front_deg=0.0))[5:8] == (
        -15.0,
        0.0,
        15.0,
    )
    with pytest.raises(ConfigError, match="num_azimuth"):
        ViewOptions(num_azimuth=3)


def test_candidates_lie_on_the_shells_facing_hemisphere_and_look_at_the_centre() -> None:
    options = ViewOptions(radii=(2.0, 3.0), elevations_deg=(0.0, 30.0), width=SIZE, height=SIZE)
    centre = torch.tensor([1.0, -2.0, 1.05])
    facing = math.radians(135.0)
    views = candidate_views(centre, facing, options)
    assert len(views.cameras) == 2 * 2 * 6
    heading = torch.tensor([math.cos(facing), math.sin(facing)])
    for cam, radius, elevation, offset in zip(
        views.cameras, views.radii, views.elevations_deg, views.azimuth_offsets_deg, strict=True
    ):
        rel = cam.center - centre
        assert float(rel.norm()) == pytest.approx(float(radius), abs=1e-5)
        assert math.degrees(math.asin(float(rel[2] / radius))) == pytest.approx(float(elevation), abs=1e-3)
        angle = math.degrees(math.acos(float(rel[:2] @ heading / rel[:2].norm())))
        assert 20.0 - 1e-3 <= angle <= 90.0 + 1e-3  # facing hemisphere, never frontal
        assert angle == pytest.approx(abs(float(offset)), abs=1e-3)
        side = float(heading[0] * rel[1] - heading[1] * rel[0])  # > 0: the human's left
        assert math.copysign(1.0, side) == math.copysign(1.0, float(offset))
        uv, depth = cam.project(centre)
        assert uv.tolist() == pytest.approx([SIZE / 2, SIZE / 2], abs=1e-3) and float(depth) > 0
        assert float(cam.world_to_cam[1, 2]) < 0  # image down is world down: z-up look-at


def test_static_centre_is_above_the_pelvis() -> None:
    joints = torch.zeros(55, 3)
    joints[0] = torch.tensor([0.4, -1.2, 0.93])
    centre = view_centre(joints, 0.7, None, ViewOptions())
    assert centre.tolist() == pytest.approx([0.4, -1.2, 1.03])


def test_dynamic_centre_moves_half_way_to_the_furthest_object_projection() -> None:
    joints = torch.zeros(55, 3)
    joints[0] = torch.tensor([1.0, 2.0, 0.9])
    ahead = torch.tensor([[1.3, 2.5, 0.2], [0.2, 3.2, 0.0], [1.8, 2.9, 1.0]])  # furthest along +y: 1.2 m
    facing = torch.tensor([0.0, 3.0])  # +y, not normalised
    assert view_centre(joints, facing, ahead, ViewOptions()).tolist() == pytest.approx([1.0, 2.6, 1.0])
    assert view_centre(joints, math.pi / 2, ahead, ViewOptions()).tolist() == pytest.approx([1.0, 2.6, 1.0])
    diagonal = torch.tensor([1.0, 1.0])  # projection of (2, 3) on the 45° ray: √2 m ahead
    expected = [1.0 + 0.5, 2.0 + 0.5, 1.0]
    assert view_centre(
        joints, diagonal, torch.tensor([[2.0, 3.0, 0.5]]), ViewOptions()
    ).tolist() == pytest.approx(expected)
    behind = torch.tensor([[1.0, 1.0, 0.0], [3.0, 1.9, 0.0]])  # projections −1.0 and −0.1: no shift
    assert view_centre(joints, facing, behind, ViewOptions()).tolist() == pytest.approx([1.0, 2.0, 1.0])


def test_visibility_rule_on_hand_made_depth_maps() -> None:
    """Exact per-joint rule: in front, inside the image, on the human (alpha) and |D − D_H| < ε."""
    K = intrinsics_from_fov(90.0, 8, 8)  # focal 4 px, principal point (4, 4)
    cam = Camera(K, look_at((0.0, 0.0, 0.0), (1.0, 0.0, 0.0)), 8, 8)  # looks along world +x
    full_depth, human_depth, human_alpha = (
        torch.full((1, 8, 8), 3.0),
        torch.full((1, 8, 8), 3.02),
        torch.ones(1, 8, 8),
    )
    full_depth[0, 4, 6] = 2.0  # occluder over pixel (row 4, col 6)
    human_alpha[0, 4, 2] = 0.3  # off the body at pixel (row 4, col 2)
    full = RenderOutput(torch.zeros(1, 8, 8, 3), full_depth, torch.ones(1, 8, 8), {})
    alone = RenderOutput(torch.zeros(1, 8, 8, 3), human_depth, human_alpha, {})
    joints = torch.tensor(
        [
            [3.0, 0.0, 0.0],  # centre pixel (4, 4): visible
            [3.0, -1.5, 0.0],  # u = 4 + 4·1.5/3 = 6: occluded
            [3.0, 1.5, 0.0],  # u = 2: human alpha 0.3, not on the body
            [3.0, -3.1, 0.0],  # u = 8.13: right of the image
            [-3.0, 0.0, 0.0],  # behind the camera
            [3.0, 0.74, 0.74],  # u = v = 3.01: pixel (3, 3), visible
        ]
    )
    visible = visible_joints(full, alone, [cam], joints, ViewOptions(), near=0.01)
    assert visible.tolist() == [[True, False, False, False, False, True]]
    strict = visible_joints(full, alone, [cam], joints, ViewOptions(depth_eps=0.01), near=0.01)
    assert strict.tolist() == [[False] * 6]


def test_ties_go_to_the_equator_then_the_nearest_shell_then_the_smallest_offset() -> None:
    scores = torch.tensor([21, 22, 22, 22, 22, 22, 22])
    elevations = torch.tensor([0.0, 30.0, -15.0, 15.0, 15.0, 15.0, 15.0])
    radii = torch.tensor([2.5, 2.5, 3.0, 3.0, 2.5, 2.5, 2.5])
    offsets = torch.tensor([30.0, 30.0, 60.0, 30.0, 90.0, -60.0, 60.0])
    assert best_candidate(scores, elevations, radii, offsets) == 5  # |15°|, 2.5 m, |−60°| before 60°
    assert best_candidate(scores[:4], elevations[:4], radii[:4], offsets[:4]) == 3  # |−15°| = 15°: offset 30°


def test_lower_body_fence_hides_exactly_the_leg_joints(rest_body: tuple[torch.Tensor, float]) -> None:
    joints, human = standing_human(rest_body, (0.2, -0.3), 0.4)
    scene = [("floor", floor()), ("fence", ring(joints[0], 0.45, 0.7))]
    selection = select_view(scene, human, None, joints, 0.4, None, small_options(), RENDER, "cpu")
    expected = torch.ones(NUM_BODY_JOINTS, dtype=torch.bool)
    expected[list(LEGS)] = False
    assert selection.scores.tolist() == [16] * 4 and selection.score == 16
    assert torch.equal(selection.visible, expected.expand(4, -1))
    open_scene = [("floor", floor())]
    unfenced = select_view(open_scene, human, None, joints, 0.4, None, small_options(), RENDER, "cpu")
    assert unfenced.scores.tolist() == [22] * 4


def test_open_floor_tie_resolves_to_the_lowest_elevation(rest_body: tuple[torch.Tensor, float]) -> None:
    joints, human = standing_human(rest_body, (0.0, 0.0), 0.0)
    options = small_options(radii=(3.0, 2.5), elevations_deg=(30.0, 0.0), num_azimuth=4, batch=4)
    events = []
    selection = select_view(
        [("floor", floor())], human, None, joints, 0.0, None, options, RENDER, "cpu", events.append
    )
    assert selection.scores.tolist() == [22] * 8
    assert (selection.score, float(selection.elevations_deg[selection.index])) == (22, 0.0)
    assert float(selection.radii[selection.index]) == 2.5
    assert selection.index == 6  # (3.0 m, 30°), (3.0 m, 0°), (2.5 m, 30°), (2.5 m, 0°) × offsets (−90°, 90°)
    assert torch.equal(selection.camera.world_to_cam, selection.cameras[6].world_to_cam)
    assert [e.progress for e in events] == [0.5, 1.0]


def test_dynamic_scene_cameras_look_at_the_shifted_centre(rest_body: tuple[torch.Tensor, float]) -> None:
    joints, human = standing_human(rest_body, (0.0, 0.0), 0.0)
    box = torch.tensor([[0.8, 0.1, 0.3], [1.0, -0.1, 0.5]])  # 1 m ahead (+x) at most
    scene = [("floor", floor()), ("box", blobs(box, 0.1, (0.5, 0.3, 0.1)))]
    options = small_options(num_azimuth=4)
    selection = select_view(scene, human, None, joints, 0.0, box, options, RENDER, "cpu")
    assert selection.centre.tolist() == pytest.approx([0.5, 0.0, float(joints[0, 2]) + 0.1], abs=1e-6)
    for camera in selection.cameras:
        uv, _ = camera.project(selection.centre)
        assert uv.tolist() == pytest.approx([FLOOR_SIZE / 2] * 2, abs=1e-3)
        assert float((camera.center - selection.centre).norm()) == pytest.approx(2.5, abs=1e-5)
    assert selection.scores.tolist() == [22, 22]


@pytest.fixture(scope="module")
def room() -> GaussianCloud:
    return load_scene("living_room", density=0.1).gaussians


def test_demo_scene_occluder_sends_the_camera_to_the_open_side(
    rest_body: tuple[torch.Tensor, float], room: GaussianCloud
) -> None:
    """Living room, human facing the open side (−x); a wall on the human's right (+y), beside and ahead."""
    joints, human = standing_human(rest_body, (0.0, -0.1), math.pi)
    options = small_options(radii=(2.2,), elevations_deg=(0.0, 20.0), width=SIZE, height=SIZE, batch=8)
    scene = [("scene", room), ("wall", wall((-2.5, 0.5), 0.9, 2.4))]
    blocked = select_view(scene, human, None, joints, math.pi, None, options, RENDER, "cpu")
    right = blocked.azimuth_offsets_deg < 0  # cameras on the human's right, behind the wall
    assert int(blocked.scores[right].max()) <= 2
    assert blocked.score >= 20 and float(blocked.azimuth_offsets_deg[blocked.index]) > 0
    assert float(blocked.camera.center[1]) < float(joints[0, 1])  # on the −y (open) side
    free = select_view([("scene", room)], human, None, joints, math.pi, None, options, RENDER, "cpu")
    best = free.scores == free.score
    assert free.score >= 20 and bool((best & (free.elevations_deg == 20.0)).any())  # a tie across elevations
    assert float(free.elevations_deg[free.index]) == 0.0


def test_inputs_are_checked_and_cancel_stops(rest_body: tuple[torch.Tensor, float]) -> None:
    joints, human = standing_human(rest_body, (0.0, 0.0), 0.0)
    options = small_options(num_azimuth=4)
    args = (None, joints, 0.0, None, options, RENDER, "cpu")
    with pytest.raises(InputError, match="reserved"):
        select_view([("human", floor())], human, *args)
    with pytest.raises(InputError, match="joints"):
        select_view([("floor", floor())], human, None, joints[:10], 0.0, None, options, RENDER, "cpu")
    with pytest.raises(InputError, match="human_colors"):
        select_view([("floor", floor())], human, torch.ones(3, 3), *args[1:])
    with pytest.raises(InputError, match="facing"):
        select_view([("floor", floor())], human, None, joints, torch.zeros(2), None, options, RENDER, "cpu")
    with pytest.raises(InputError, match="object_points"):
        select_view([("floor", floor())], human, None, joints, 0.0, torch.zeros(0, 3), options, RENDER, "cpu")
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        select_view([("floor", floor())], human, None, *args[1:], cancel=token)
