"""Message ↔ core conversions round-trip exactly (float32 fields) or to rounding (poses); no ROS processes."""

import math

import pytest

pytest.importorskip("rclpy")

import torch  # noqa: E402
from geometry_msgs.msg import Point, Pose, Quaternion  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from zerohsi_core.body.joints import JOINT_INDEX, JOINT_NAMES  # noqa: E402
from zerohsi_core.body.params import SmplxParams  # noqa: E402
from zerohsi_core.errors import InputError  # noqa: E402
from zerohsi_core.geometry.rotations import axis_angle_to_matrix  # noqa: E402
from zerohsi_core.geometry.se3 import make_se3  # noqa: E402
from zerohsi_core.progress import ProgressEvent  # noqa: E402
from zerohsi_ros.conversions import (  # noqa: E402
    duration,
    joint_trajectory,
    joints_to_points,
    matrix_to_pose,
    params_to_states,
    points_to_joints,
    pose_to_matrix,
    rotation_vectors,
    smplx_trajectory,
    states_to_params,
    trajectory_to_core,
)
from zerohsi_ros.feedback import ProgressTracker  # noqa: E402

SETTINGS = settings(max_examples=25, deadline=None)
finite = st.floats(-10.0, 10.0, allow_nan=False, width=32)


def random_params(frames: int, seed: int, num_betas: int = 10, num_expression: int = 10) -> SmplxParams:
    g = torch.Generator().manual_seed(seed)
    zeros = SmplxParams.zeros(frames, num_betas, num_expression)
    return zeros._map(lambda t: torch.randn(t.shape, generator=g))


def assert_params_equal(a: SmplxParams, b: SmplxParams) -> None:
    for name in a.__dataclass_fields__:
        assert torch.equal(getattr(a, name), getattr(b, name)), name


@SETTINGS
@given(
    frames=st.integers(1, 6), seed=st.integers(0, 2**16), betas=st.integers(1, 16), expr=st.integers(0, 12)
)
def test_params_states_round_trip(frames: int, seed: int, betas: int, expr: int) -> None:
    params = random_params(frames, seed, betas, expr)
    states = params_to_states(params)
    assert len(states) == frames and len(states[0].body_pose) == 63 and len(states[0].betas) == betas
    assert_params_equal(states_to_params(states), params)


@SETTINGS
@given(values=st.lists(st.tuples(finite, finite, finite), min_size=55, max_size=3 * 55))
def test_joints_points_round_trip(values: list[tuple[float, float, float]]) -> None:
    frames = len(values) // 55
    joints = torch.tensor(values[: frames * 55], dtype=torch.float32).reshape(frames, 55, 3)
    points = joints_to_points(joints)
    assert len(points) == frames * 55 and points[-1].z == float(joints[-1, -1, 2])
    assert torch.equal(points_to_joints(points), joints)


@SETTINGS
@given(axis_angle=st.tuples(finite, finite, finite), t=st.tuples(finite, finite, finite))
def test_matrix_pose_matrix(axis_angle: tuple[float, float, float], t: tuple[float, float, float]) -> None:
    rot = axis_angle_to_matrix(torch.tensor(axis_angle, dtype=torch.float64))
    matrix = make_se3(rot, torch.tensor(t, dtype=torch.float64))
    pose = matrix_to_pose(matrix)
    q = pose.orientation
    assert math.isclose(q.x**2 + q.y**2 + q.z**2 + q.w**2, 1.0, rel_tol=1e-9) and q.w >= 0
    assert torch.allclose(pose_to_matrix(pose, torch.float64), matrix, atol=1e-9)


@SETTINGS
@given(q=st.tuples(finite, finite, finite, finite).filter(lambda q: sum(v * v for v in q) > 1e-3))
def test_pose_matrix_pose_normalises(q: tuple[float, float, float, float]) -> None:
    pose = Pose(position=Point(x=1.0, y=-2.0, z=0.5), orientation=Quaternion(x=q[0], y=q[1], z=q[2], w=q[3]))
    back = matrix_to_pose(pose_to_matrix(pose, torch.float64))
    b = back.orientation
    dot = (b.x * q[0] + b.y * q[1] + b.z * q[2] + b.w * q[3]) / math.sqrt(sum(v * v for v in q))
    assert abs(dot) == pytest.approx(1.0, abs=1e-6) and b.w >= 0  # the same rotation, w >= 0
    assert (back.position.x, back.position.y, back.position.z) == (1.0, -2.0, 0.5)


def test_ros_quaternion_order_is_xyzw() -> None:
    pose = matrix_to_pose(
        make_se3(axis_angle_to_matrix(torch.tensor([0.0, 0.0, math.pi / 2])), torch.zeros(3))
    )
    assert pose.orientation.z == pytest.approx(math.sqrt(0.5)) and pose.orientation.w == pytest.approx(
        math.sqrt(0.5)
    )
    assert pose.orientation.x == 0.0


def test_bad_poses_and_states_raise_input_error() -> None:
    with pytest.raises(InputError, match="all zeros"):
        pose_to_matrix(Pose(orientation=Quaternion(x=0.0, y=0.0, z=0.0, w=0.0)))
    with pytest.raises(InputError, match="NaN"):
        pose_to_matrix(Pose(position=Point(x=float("nan"))))
    states = params_to_states(random_params(2, 0))
    states[1].transl[0] = float("inf")
    with pytest.raises(InputError, match="transl"):
        states_to_params(states)
    with pytest.raises(InputError, match="multiple of 55"):
        points_to_joints([Point()] * 54)


def test_trajectory_round_trip_and_joint_trajectory_timing() -> None:
    params, joints = random_params(4, 1), torch.randn(4, 55, 3)
    header = Header(frame_id="map")
    msg = smplx_trajectory(params, joints, 10.0, header, "standin", "neutral")
    assert msg.joint_names == list(JOINT_NAMES) and len(msg.joints) == 4 * 55
    back_params, back_joints = trajectory_to_core(msg)
    assert_params_equal(back_params, params) and torch.equal(back_joints, joints)
    traj = joint_trajectory(joints, 4.0, header)
    assert len(traj.points) == 4 and len(traj.points[3].transforms) == 55
    assert (traj.points[3].time_from_start.sec, traj.points[3].time_from_start.nanosec) == (0, 750_000_000)
    assert traj.points[2].transforms[7].translation.y == pytest.approx(float(joints[2, 7, 1]))


def test_duration_and_rotation_vector_order() -> None:
    assert (duration(2.25).sec, duration(2.25).nanosec) == (2, 250_000_000)
    params = random_params(2, 3)
    rot = rotation_vectors(params)  # [2, 55, 3]
    assert rot.shape == (2, 55, 3)
    assert torch.equal(rot[:, 0], params.global_orient) and torch.equal(rot[:, 1:22], params.body_pose)
    assert torch.equal(rot[:, JOINT_INDEX["jaw"]], params.jaw_pose)
    assert torch.equal(rot[:, JOINT_INDEX["left_index1"]], params.left_hand_pose[:, 0])
    assert torch.equal(rot[:, -1], params.right_hand_pose[:, -1])


def test_progress_spans_chained_clips() -> None:
    tracker = ProgressTracker(num_clips=2)
    stages = ["view", "video", "segment", "tracking", "hsi", "refinement"]
    values = [
        tracker.feedback(ProgressEvent(s, p)).progress for _ in range(2) for s in stages for p in (0.0, 1.0)
    ]
    assert values[0] == 0.0 and values[-1] == pytest.approx(1.0)
    assert values[11] == pytest.approx(0.5) and all(b >= a for a, b in zip(values, values[1:], strict=False))
    assert tracker.feedback(ProgressEvent("hsi", 0.5, frame=3, iteration=7, loss=0.25)).clip == 1
