"""Scripted motions: prompt parsing, IK, and the ground truth of ten prompts in two scenes (feet on the floor,
pelvis on the seat, hands on the object in contact frames, object resting before it is lifted)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from zerohsi_core.body.model import BodyModel, BodyModelOptions, load_body_model
from zerohsi_core.body.pose import arms_down_pose, standing_params
from zerohsi_core.body.standin import ensure_standin_model
from zerohsi_core.errors import InputError
from zerohsi_core.geometry.rotations import axis_angle_to_matrix
from zerohsi_core.scene.registry import load_scene
from zerohsi_core.scene.scene import Scene
from zerohsi_core.scene.sdf import MeshSDF
from zerohsi_core.video.motion_prompt import motion_for_prompt
from zerohsi_core.video.motion_rig import two_bone_ik
from zerohsi_core.video.motion_sites import over_surface
from zerohsi_core.video.motions import ScriptedMotion, build_motion, motion_context

N_FRAMES, FPS = 51, 10.0
DENSITY = 0.03  # Gaussians are not used here; keeps scene loading fast
FLOOR_TOL = 0.02  # feet and seats: metres
CONTACT_TOL = 0.02  # hands on the object (the bound)
SCENES = ("living_room_lift", "garden_chair", "garden_watering")
OBJECT_IN_PLAY = {"living_room_lift": "box", "garden_chair": "chair", "garden_watering": "watering_can"}
CASES = {  # prompt -> (scene, kind, surface, object, destination)
    "sit on the sofa": ("living_room_lift", "sit_on", "sofa_seat", None, None),
    "The person is lying on the couch.": ("living_room_lift", "lie_on", "sofa_seat", None, None),
    "lean on the table": ("living_room_lift", "lean_on", "table_top", None, None),
    "lift the box": ("living_room_lift", "lift", None, "box", None),
    "carry the box to the table": ("living_room_lift", "carry", None, "box", "table_top"),
    "push the chair": ("garden_chair", "push", None, "chair", None),
    "carry the chair to the wall": ("garden_chair", "carry", None, "chair", "wall_top"),
    "sit down on the bench": ("garden_chair", "sit_on", "bench_seat", None, None),
    "wave hello": ("garden_chair", "wave", None, None, None),
    "pick up the watering can": ("garden_watering", "lift", None, "watering_can", None),
    "walk to the bookshelf": ("living_room_lift", "walk_to", "shelf_top", None, None),
}
BUILT = (  # prompts whose motions are built and checked (the walk is covered by every other motion)
    "sit on the sofa",
    "The person is lying on the couch.",
    "lean on the table",
    "lift the box",
    "carry the box to the table",
    "push the chair",
    "carry the chair to the wall",
    "sit down on the bench",
    "wave hello",
    "pick up the watering can",
)


@pytest.fixture(scope="module")
def model() -> BodyModel:
    return load_body_model(BodyModelOptions(model_path=str(ensure_standin_model())))


@pytest.fixture(scope="module")
def scenes() -> dict[str, Scene]:
    return {scene_id: load_scene(scene_id, density=DENSITY) for scene_id in SCENES}


def _start(model: BodyModel, scene: Scene):
    start = scene.human_start
    return standing_params(model, start.xy, start.yaw, body_pose=arms_down_pose())


@pytest.fixture(scope="module")
def motions(model: BodyModel, scenes: dict[str, Scene]) -> dict[str, ScriptedMotion]:
    built = {}
    for prompt in BUILT:
        scene = scenes[CASES[prompt][0]]
        object_id = OBJECT_IN_PLAY[scene.id]
        spec = motion_for_prompt(prompt, scene, object_id)
        start = _start(model, scene)
        context = motion_context(model, scene, scene.objects[object_id], start.betas[0], seed=3)
        built[prompt] = build_motion(spec, context, start, N_FRAMES, FPS)
    return built


@pytest.mark.parametrize("prompt", sorted(CASES))
def test_prompt_picks_motion_and_targets(prompt: str, scenes: dict[str, Scene]) -> None:
    scene_id, kind, surface, object_id, destination = CASES[prompt]
    spec = motion_for_prompt(prompt, scenes[scene_id], OBJECT_IN_PLAY[scene_id])
    assert spec.kind == kind
    assert (spec.surface.name if spec.surface else None) == surface
    assert spec.object_id == object_id
    assert (spec.destination.name if spec.destination else None) == destination


def test_prompt_prefers_the_named_part_of_a_surface(scenes: dict[str, Scene]) -> None:
    spec = motion_for_prompt("The person is sitting on the sofa back.", scenes["living_room_lift"])
    assert spec.surface is not None and spec.surface.name == "sofa_back"
    spec = motion_for_prompt("lift the box onto the table", scenes["living_room_lift"], "box")
    assert spec.kind == "carry" and spec.destination is not None and spec.destination.name == "table_top"


@pytest.mark.parametrize(
    ("prompt", "object_id", "expected"),
    [
        ("dance with the sofa", None, "supported verbs: carry, push, lift, lie (lie_on), sit (sit_on)"),
        ("sit on the bed", None, "has surfaces: chair_seat, shelf_top, sofa_back, sofa_seat, table_top"),
        ("push it", None, "objects: box"),
        ("lift the guitar", "box", "names guitar, which is not here"),
        ("carry the box to the kitchen", "box", "names no known destination"),
        ("lift the box", "crate", "object 'crate' is not in the scene"),
    ],
)
def test_bad_prompts_say_what_is_supported(
    prompt: str, object_id: str | None, expected: str, scenes: dict[str, Scene]
) -> None:
    with pytest.raises(InputError) as info:
        motion_for_prompt(prompt, scenes["living_room_lift"], object_id)
    assert expected in str(info.value)


def test_two_bone_ik_reaches_targets_and_keeps_end_orientation() -> None:
    generator = torch.Generator().manual_seed(0)
    upper, lower = torch.tensor([0.26, 0.0, 0.0]), torch.tensor([0.25, 0.0, 0.0])
    base = torch.zeros(64, 3)
    direction = torch.nn.functional.normalize(torch.randn(64, 3, generator=generator), dim=-1)
    target = direction * (0.05 + 0.45 * torch.rand(64, 1, generator=generator))  # all reachable
    end_rot = axis_angle_to_matrix(torch.randn(64, 3, generator=generator))
    pole = torch.randn(64, 3, generator=generator)
    parent = torch.eye(3).expand(64, 3, 3)
    r1, r2, r3 = two_bone_ik(
        base, parent, upper, lower, torch.tensor([0.0, 0.0, 1.0]), target, end_rot, pole, 1.0
    )
    middle = base + r1 @ upper
    end = middle + (r1 @ r2) @ lower
    assert torch.allclose(end, target, atol=1e-5)
    assert torch.allclose(r1 @ r2 @ r3, end_rot, atol=1e-5)
    along = (middle * direction).sum(-1, keepdim=True) * direction
    pole_side = pole - (pole * direction).sum(-1, keepdim=True) * direction
    assert ((middle - along) * pole_side).sum(-1).min() >= -1e-6  # the middle joint bends towards the pole


@pytest.mark.parametrize("prompt", BUILT)
def test_motion_is_complete_and_starts_at_the_initial_state(
    prompt: str, motions: dict[str, ScriptedMotion], model: BodyModel, scenes: dict[str, Scene]
) -> None:
    motion = motions[prompt]
    assert motion.num_frames == N_FRAMES and motion.fps == FPS and motion.name == CASES[prompt][1]
    for name in ("global_orient", "transl", "body_pose", "left_hand_pose", "right_hand_pose"):
        assert torch.isfinite(getattr(motion.params, name)).all()
    start = _start(model, scenes[CASES[prompt][0]])
    assert torch.allclose(motion.params.transl[0], start.transl[0], atol=1e-5)
    assert torch.allclose(motion.params.body_pose[0], start.body_pose[0], atol=1e-4)
    assert motion.object_poses is not None and motion.object_poses.shape == (N_FRAMES, 4, 4)
    assert motion.contact_frames.shape == (N_FRAMES,) and motion.foot_contact.shape == (N_FRAMES, 2)


@pytest.mark.parametrize("prompt", BUILT)
def test_planted_feet_are_on_the_floor(
    prompt: str, motions: dict[str, ScriptedMotion], model: BodyModel
) -> None:
    motion = motions[prompt]
    vertices = model.forward(motion.params).vertices.detach()
    planted = 0
    for k, side in enumerate(("left", "right")):
        lowest = vertices[:, model.foot_vertex_ids(side), 2].min(dim=1).values  # [T]
        frames = motion.foot_contact[:, k]
        planted += int(frames.sum())
        assert lowest[frames].abs().max() < FLOOR_TOL, f"{side} foot off the floor while planted"
    assert planted >= N_FRAMES // 2  # feet are planted most of the time (lying lifts them)


@pytest.mark.parametrize(
    ("prompt", "seat"), [("sit on the sofa", "sofa_seat"), ("sit down on the bench", "bench_seat")]
)
def test_sitting_puts_the_buttocks_on_the_seat(
    prompt: str, seat: str, motions: dict[str, ScriptedMotion], model: BodyModel, scenes: dict[str, Scene]
) -> None:
    """Check: in the last frame the lowest pelvis/hip-skinned vertex above the seat rectangle lies within
    2 cm of the seat's height, and the pelvis joint is 5–25 cm above the seat, over the seat."""
    surface = scenes[CASES[prompt][0]].affordances[seat]
    out = model.forward(motions[prompt].params.index(-1))
    dominant = model.lbs_weights.argmax(dim=1)
    buttocks = torch.nonzero(torch.isin(dominant, torch.tensor([0, 1, 2]))).squeeze(1)
    points = out.vertices[0, buttocks].detach().double().numpy()
    over = over_surface(surface, points, 0.05)
    assert over.sum() > 50
    assert abs(points[over, 2].min() - surface.height) < FLOOR_TOL
    pelvis = out.joints[0, 0].detach().double().numpy()
    assert 0.05 < pelvis[2] - surface.height < 0.25
    assert over_surface(surface, pelvis[None], 0.0)[0]


def test_lying_puts_the_back_on_the_surface(
    motions: dict[str, ScriptedMotion], model: BodyModel, scenes: dict[str, Scene]
) -> None:
    surface = scenes["living_room_lift"].affordances["sofa_seat"]
    out = model.forward(motions["The person is lying on the couch."].params.index(-1))
    joints = out.joints[0].detach()
    head, pelvis = joints[15], joints[0]
    assert (head[:2] - pelvis[:2]).norm() > 0.4 and abs(float(head[2] - pelvis[2])) < 0.3  # horizontal body
    assert over_surface(surface, joints[[0, 3, 6, 9]].double().numpy(), 0.0).all()
    vertices = out.vertices[0].detach().double().numpy()
    lowest = vertices[over_surface(surface, vertices, 0.05), 2].min()
    assert abs(lowest - surface.height) < FLOOR_TOL


def test_leaning_puts_both_palms_on_the_table(
    motions: dict[str, ScriptedMotion], model: BodyModel, scenes: dict[str, Scene]
) -> None:
    surface = scenes["living_room_lift"].affordances["table_top"]
    vertices = model.forward(motions["lean on the table"].params.index(-1)).vertices[0].detach()
    for side in ("left", "right"):
        hand = vertices[model.hand_vertex_ids(side)].double().numpy()
        assert abs(hand[:, 2].min() - surface.height) < CONTACT_TOL
        assert over_surface(surface, hand, 0.0).mean() > 0.5


def _hand_distances(motion: ScriptedMotion, model: BodyModel, scene: Scene) -> np.ndarray:
    """[T_contact, 2, 2]: per contact frame and hand, (min |sdf|, min sdf) of its vertices to the object."""
    obj = scene.objects[motion.object_id]
    vertices = model.forward(motion.params).vertices.detach().double().numpy()
    rows = []
    for t in torch.nonzero(motion.contact_frames).squeeze(1).tolist():
        sdf = MeshSDF(obj.mesh.transformed(motion.object_poses[t]))
        row = []
        for side in ("left", "right"):
            d = sdf(vertices[t, model.hand_vertex_ids(side).numpy()])
            row.append((np.abs(d).min(), d.min()))
        rows.append(row)
    return np.asarray(rows)


@pytest.mark.parametrize(
    "prompt",
    ["lift the box", "carry the box to the table", "push the chair", "carry the chair to the wall",
     "pick up the watering can"],
)  # fmt: skip
def test_hands_touch_the_object_in_contact_frames(
    prompt: str, motions: dict[str, ScriptedMotion], model: BodyModel, scenes: dict[str, Scene]
) -> None:
    motion = motions[prompt]
    assert int(motion.contact_frames.sum()) >= 8
    distances = _hand_distances(motion, model, scenes[CASES[prompt][0]])
    assert distances[..., 0].max() <= CONTACT_TOL  # both hands within 2 cm of the surface
    assert distances[..., 1].min() >= -CONTACT_TOL  # and not inside it


@pytest.mark.parametrize(
    "prompt", ["lift the box", "carry the chair to the wall", "pick up the watering can"]
)
def test_object_rests_until_grasped_then_rises(
    prompt: str, motions: dict[str, ScriptedMotion], scenes: dict[str, Scene]
) -> None:
    motion = motions[prompt]
    obj = scenes[CASES[prompt][0]].objects[motion.object_id]
    first_contact = int(torch.nonzero(motion.contact_frames)[0])
    assert first_contact > 5
    for t in range(first_contact):
        assert torch.allclose(motion.object_poses[t], obj.pose, atol=1e-9)
        assert abs(obj.mesh.transformed(motion.object_poses[t]).bounds()[0, 2]) < 1e-3
    bottoms = [obj.mesh.transformed(pose).bounds()[0, 2] for pose in motion.object_poses]
    assert max(bottoms) > 0.4  # lifted (the chair is carried at its seat, the others at the chest)


def test_carried_box_ends_on_the_table_and_pushed_chair_slides(
    motions: dict[str, ScriptedMotion], scenes: dict[str, Scene]
) -> None:
    table = scenes["living_room_lift"].affordances["table_top"]
    carried = motions["carry the box to the table"]
    box = scenes["living_room_lift"].objects["box"].mesh.transformed(carried.object_poses[-1])
    assert abs(box.bounds()[0, 2] - table.height) < 1e-3
    assert over_surface(table, box.vertices, -0.02).all()
    assert not bool(carried.contact_frames[-1])
    pushed = motions["push the chair"]
    chair = scenes["garden_chair"].objects["chair"]
    floors = [chair.mesh.transformed(pose).bounds()[0, 2] for pose in pushed.object_poses]
    assert max(abs(z) for z in floors) < 1e-3  # slides on the floor
    assert float((pushed.object_poses[-1, :2, 3] - chair.pose[:2, 3]).norm()) > 0.3


def test_wave_raises_the_right_hand_above_the_head(
    motions: dict[str, ScriptedMotion], model: BodyModel
) -> None:
    joints = model.forward(motions["wave hello"].params).joints.detach()
    middle = slice(N_FRAMES // 3, 2 * N_FRAMES // 3)
    assert (joints[middle, 21, 2] > joints[middle, 15, 2]).all()  # right wrist above the head
    assert (joints[middle, 20, 2] < joints[middle, 0, 2]).all()  # left hand stays down


def test_seed_varies_timing_but_is_reproducible(model: BodyModel, scenes: dict[str, Scene]) -> None:
    scene = scenes["garden_chair"]
    spec = motion_for_prompt("wave", scene)
    start = _start(model, scene)

    def run(seed: int) -> torch.Tensor:
        context = motion_context(model, scene, None, start.betas[0], seed)
        return build_motion(spec, context, start, 21, FPS).params.body_pose

    first, again, other = run(1), run(1), run(2)
    assert torch.equal(first, again)
    assert (first - other).abs().max() > math.radians(2.0)
