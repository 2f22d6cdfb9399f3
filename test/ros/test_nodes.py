"""hsi_server and trajectory_player as separate processes (their executables, a params file, a private
DDS domain), driven from this test process: scenes, a goal, topics, the player, cancel, a bad goal."""

import math
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

rclpy = pytest.importorskip("rclpy")
from action_msgs.msg import GoalStatus  # noqa: E402
from geometry_msgs.msg import TransformStamped  # noqa: E402
from rclpy.action import ActionClient  # noqa: E402
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402
from trajectory_msgs.msg import MultiDOFJointTrajectory  # noqa: E402
from visualization_msgs.msg import MarkerArray  # noqa: E402

from zerohsi_ros.action import GenerateInteraction  # noqa: E402
from zerohsi_ros.msg import SmplxTrajectory  # noqa: E402
from zerohsi_ros.srv import ListScenes  # noqa: E402
from zerohsi_ros.trajectory_player import tf_message_type  # noqa: E402

PARAMS = Path(__file__).with_name("params_tiny.yaml")
LATCHED = QoSProfile(
    depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL, reliability=ReliabilityPolicy.RELIABLE
)
FRAMES = 4
Result = GenerateInteraction.Result


def _command(name: str) -> list[str]:
    exe = shutil.which(name, path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", f"zerohsi_ros.{name}"]


@pytest.fixture(scope="module")
def ros(tmp_path_factory):
    env = dict(
        os.environ, ROS_DOMAIN_ID=str(random.randint(1, 100)), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST"
    )
    os.environ.update(ROS_DOMAIN_ID=env["ROS_DOMAIN_ID"], ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
    out = tmp_path_factory.mktemp("results")
    server = subprocess.Popen(
        [
            *_command("hsi_server"),
            "--ros-args",
            "--params-file",
            str(PARAMS),
            "-p",
            f"paths.output_dir:={out}",
        ],
        env=env,
    )
    player = subprocess.Popen(
        [*_command("trajectory_player"), "--ros-args", "-p", "body_id:=t1", "-p", "rate:=5.0"], env=env
    )
    rclpy.init()
    node = rclpy.create_node("zerohsi_test_client")
    action = ActionClient(node, GenerateInteraction, "/hsi_server/generate_interaction")
    assert action.wait_for_server(timeout_sec=60.0), "no /hsi_server/generate_interaction"
    yield node, action, out
    node.destroy_node()
    rclpy.shutdown()
    for proc in (server, player):
        proc.send_signal(signal.SIGINT)
    assert server.wait(timeout=20) == 0 and player.wait(timeout=20) == 0


def _wait(node, future, timeout=60.0):
    rclpy.spin_until_future_complete(node, future, timeout_sec=timeout)
    assert future.done(), "timed out"
    return future.result()


def _spin_until(node, condition, timeout=20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
    assert condition(), "timed out"


def _list_scenes(node, scene_id=""):
    client = node.create_client(ListScenes, "/hsi_server/list_scenes")
    assert client.wait_for_service(timeout_sec=20.0)
    answer = _wait(node, client.call_async(ListScenes.Request(scene_id=scene_id)))
    node.destroy_client(client)
    return answer


def test_discover_scenes(ros):
    node, _, _ = ros
    answer = _list_scenes(node)
    assert answer.success and {"living_room", "living_room_lift", "garden"} <= set(answer.scene_ids)
    lift = _list_scenes(node, "living_room_lift")
    assert lift.object_ids == ["box"] and lift.object_poses[0].position.x == pytest.approx(0.85)
    assert "sofa_seat" in lift.affordances
    missing = _list_scenes(node, "atlantis")
    assert not missing.success and "atlantis" in missing.message


def test_goal_succeeds_with_feedback_topics_and_player(ros):
    node, action, out = ros
    got: dict[str, list] = {"smplx": [], "joints": [], "states": [], "markers": [], "tf": []}
    node.create_subscription(SmplxTrajectory, "/hsi_server/smplx_trajectory", got["smplx"].append, LATCHED)
    node.create_subscription(
        MultiDOFJointTrajectory, "/hsi_server/joint_trajectory", got["joints"].append, LATCHED
    )
    node.create_subscription(JointState, "/humans/bodies/t1/joint_states", got["states"].append, 10)
    node.create_subscription(MarkerArray, "/trajectory_player/markers", got["markers"].append, 10)
    tf_type = tf_message_type()
    if tf_type is not None:
        node.create_subscription(tf_type, "/tf", lambda m: got["tf"].extend(m.transforms), 100)
    else:
        node.create_subscription(TransformStamped, "/trajectory_player/transforms", got["tf"].append, 100)
    feedback = []
    goal = GenerateInteraction.Goal(
        scene_id="living_room", prompts=["sit on the sofa"], num_frames=FRAMES, seed=1
    )
    handle = _wait(
        node, action.send_goal_async(goal, feedback_callback=lambda m: feedback.append(m.feedback))
    )
    assert handle.accepted
    answer = _wait(node, handle.get_result_async(), timeout=90.0)
    assert answer.status == GoalStatus.STATUS_SUCCEEDED, answer.result.message
    result = answer.result
    assert result.error_code == Result.OK
    assert {f.stage for f in feedback} >= {"view_selection", "video", "tracking", "hsi", "refinement"}
    assert feedback[-1].progress == pytest.approx(1.0) and min(f.progress for f in feedback) >= 0.0
    points = result.joint_trajectory.points
    assert len(points) == FRAMES and all(len(p.transforms) == 55 for p in points)
    coords = [
        v for p in points for t in p.transforms for v in (t.translation.x, t.translation.y, t.translation.z)
    ]
    assert all(math.isfinite(v) for v in coords) and max(abs(v) for v in coords) < 10.0
    assert len(result.smplx_trajectory.states) == FRAMES and result.smplx_trajectory.header.frame_id == "map"
    metrics = {kv.key: float(kv.value) for kv in result.metrics}
    assert metrics["frames"] == FRAMES and "mpjpe_mm" in metrics
    assert Path(result.result_dir).parent == out and (Path(result.result_dir) / "motion.npz").is_file()

    _spin_until(
        node, lambda: got["smplx"] and got["joints"] and got["states"] and got["markers"] and got["tf"]
    )
    assert len(got["smplx"][-1].states) == FRAMES and len(got["joints"][-1].points) == FRAMES
    state = got["states"][-1]
    assert len(state.name) == 165 and state.name[0] == "pelvis_rx" and state.header.frame_id == "map"
    _spin_until(
        node,
        lambda: {"body_t1", "body_t1_pelvis", "body_t1_right_wrist"} <= {t.child_frame_id for t in got["tf"]},
    )
    pelvis = next(t for t in got["tf"] if t.child_frame_id == "body_t1_pelvis")
    assert pelvis.header.frame_id == "map"
    pelvis_xs = [p.transforms[0].translation.x for p in points]  # the player replays the result's frames
    assert any(abs(pelvis.transform.translation.x - x) < 1e-4 for x in pelvis_xs)
    assert len(got["markers"][-1].markers[0].points) == 2 * 54  # one line per bone


def test_cancel_mid_optimisation(ros):
    node, action, _ = ros
    feedback = []
    goal = GenerateInteraction.Goal(scene_id="living_room", prompts=["sit on the sofa"], num_frames=40)
    handle = _wait(
        node, action.send_goal_async(goal, feedback_callback=lambda m: feedback.append(m.feedback))
    )
    _spin_until(node, lambda: any(f.stage in ("tracking", "hsi") for f in feedback), timeout=60.0)
    canceled_at = time.monotonic()
    assert _wait(node, handle.cancel_goal_async()).return_code == 0
    answer = _wait(node, handle.get_result_async())
    assert answer.status == GoalStatus.STATUS_CANCELED and answer.result.error_code == Result.CANCELED
    assert time.monotonic() - canceled_at < 10.0
    assert not answer.result.joint_trajectory.points


def test_bad_goals_abort_and_the_server_keeps_serving(ros):
    node, action, _ = ros
    for goal, code in (
        (GenerateInteraction.Goal(scene_id="atlantis", prompts=["sit"]), Result.NOT_FOUND),
        (GenerateInteraction.Goal(scene_id="living_room", prompts=[]), Result.INVALID_GOAL),
        (
            GenerateInteraction.Goal(scene_id="living_room", prompts=["x"], video_backend="nope"),
            Result.BACKEND_ERROR,
        ),
    ):
        handle = _wait(node, action.send_goal_async(goal))
        answer = _wait(node, handle.get_result_async())
        assert answer.status == GoalStatus.STATUS_ABORTED and answer.result.error_code == code
        assert answer.result.message
        if code == Result.NOT_FOUND:
            assert "atlantis" in answer.result.message and "living_room" in answer.result.message
    assert _list_scenes(node).success


def test_invalid_parameters_stop_the_server_at_start_up():
    proc = subprocess.run(
        [*_command("hsi_server"), "--ros-args", "-p", "render.widht:=64", "-p", "profile:=draft"],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, ROS_DOMAIN_ID=str(random.randint(101, 200))),
    )
    assert proc.returncode == 2 and "render.widht" in proc.stderr + proc.stdout
