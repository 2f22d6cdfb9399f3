"""One hsi_server process serves the whole bad-goal matrix, cancels, a full queue, a short soak and a key
grep; at the end it is still the same process and exits cleanly. Cases are listed in docs/RELIABILITY.md."""

from __future__ import annotations

import math
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")
psutil = pytest.importorskip("psutil")
from action_msgs.msg import GoalStatus  # noqa: E402
from core.test_reliability_data import BAD_SCENES, make_bad_data  # noqa: E402
from core.video.fake_kling import FakeKling, Reply, Script, grey_clip  # noqa: E402
from geometry_msgs.msg import Point, Pose, PoseStamped, Quaternion  # noqa: E402
from rclpy.action import ActionClient  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from zerohsi_ros.action import GenerateInteraction  # noqa: E402
from zerohsi_ros.hsi_server import SPARE_THREADS  # noqa: E402
from zerohsi_ros.msg import SmplxState  # noqa: E402

PARAMS = Path(__file__).with_name("params_tiny.yaml")
ACCESS, SECRET = "AKplantedROSaccess1357", "SKplantedROSsecret2468"
Goal, Result = GenerateInteraction.Goal, GenerateInteraction.Result
CODE_OF = {"AssetError": Result.NOT_FOUND, "InputError": Result.INVALID_GOAL}
CANCEL_LIMIT_S = 1.0
SOAK_GOALS, SOAK_WARMUP = 4, 2  # `make test` size; bench/soak.py runs 50
SOAK_RSS_GROWTH = 0.10
MAX_QUEUED = 1
POOL_THREADS = MAX_QUEUED + SPARE_THREADS  # the executor starts its threads lazily, up to this many


def _command(name: str) -> list[str]:
    exe = shutil.which(name, path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", f"zerohsi_ros.{name}"]


@pytest.fixture(scope="module")
def ros(tmp_path_factory):
    base = tmp_path_factory.mktemp("reliability")
    root, registry = make_bad_data(base)
    out, log = base / "results", base / "server.log"
    fake = FakeKling(ACCESS, SECRET, grey_clip(base / "clip.mp4")).__enter__()
    fake.script = Script(echo_auth=True)
    domain = str(random.randint(1, 100))
    env = dict(
        os.environ,
        ROS_DOMAIN_ID=domain,
        ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
        KLING_ACCESS_KEY=ACCESS,
        KLING_SECRET_KEY=SECRET,
    )
    os.environ.update(ROS_DOMAIN_ID=domain, ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
    params = {
        "paths.output_dir": str(out),
        "paths.data_roots": f"['{root}']",
        "scene.registry": str(registry),
        "max_queued_goals": str(MAX_QUEUED),
        "video.kling_base_url": fake.url,
        "video.kling_max_retries": "0",
        "video.kling_poll_interval_s": "5.0",
        "video.kling_read_timeout_s": "0.5",
    }
    args = [a for key, value in params.items() for a in ("-p", f"{key}:={value}")]
    with log.open("w") as sink:
        server = subprocess.Popen(
            [*_command("hsi_server"), "--ros-args", "--params-file", str(PARAMS), *args],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    rclpy.init()
    node = rclpy.create_node("zerohsi_reliability_client")
    action = ActionClient(node, GenerateInteraction, "/hsi_server/generate_interaction")
    assert action.wait_for_server(timeout_sec=60.0), log.read_text()
    state = {"node": node, "action": action, "out": out, "log": log, "fake": fake, "server": server}
    state["pid"], state["messages"] = server.pid, []
    yield state
    node.destroy_node()
    rclpy.shutdown()
    assert server.poll() is None and server.pid == state["pid"], "the server process died during the tests"
    server.send_signal(signal.SIGINT)
    assert server.wait(timeout=20) == 0
    fake.__exit__(None, None, None)


def _wait(node, future, timeout=60.0):
    rclpy.spin_until_future_complete(node, future, timeout_sec=timeout)
    assert future.done(), "timed out"
    return future.result()


def _send(ros, goal: Goal, feedback: list | None = None):
    callback = (lambda m: feedback.append(m.feedback)) if feedback is not None else None
    handle = _wait(ros["node"], ros["action"].send_goal_async(goal, feedback_callback=callback))
    assert handle.accepted
    return handle


def _run(ros, goal: Goal, timeout: float = 90.0):
    answer = _wait(ros["node"], _send(ros, goal).get_result_async(), timeout)
    ros["messages"].append(answer.result.message)
    return answer


def _pose(x=0.85, y=-1.4, q=(0.0, 0.0, 0.0, 1.0), frame="map") -> PoseStamped:
    orientation = Quaternion(x=q[0], y=q[1], z=q[2], w=q[3])
    return PoseStamped(
        header=Header(frame_id=frame), pose=Pose(position=Point(x=x, y=y), orientation=orientation)
    )


def _state(**values) -> SmplxState:
    state = SmplxState(betas=[0.0] * 10, expression=[0.0] * 10)
    state.transl = [0.0, 0.0, 0.95]
    for name, value in values.items():
        setattr(state, name, value)
    return state


SIT = ["sit on the sofa"]
LIFT = {"scene_id": "living_room_lift", "object_id": "box", "prompts": ["lift the box"]}
MATRIX: dict[str, tuple[Goal, int, str]] = {
    **{
        f"scene_{sid}": (Goal(scene_id=sid, prompts=SIT), CODE_OF[kind], words)
        for sid, (kind, words) in BAD_SCENES.items()
    },
    "scene_ply_escape": (Goal(scene_ply="../../etc/passwd", prompts=SIT), Result.INVALID_GOAL, "outside"),
    "scene_ply_missing": (Goal(scene_ply="nope.ply", prompts=SIT), Result.NOT_FOUND, "does not exist"),
    "unknown_scene": (Goal(scene_id="atlantis", prompts=SIT), Result.NOT_FOUND, "atlantis"),
    "unknown_object": (
        Goal(scene_id="living_room", object_id="piano", prompts=SIT),
        Result.INVALID_GOAL,
        "not in scene",
    ),
    "unknown_video_backend": (Goal(prompts=SIT, video_backend="nope"), Result.BACKEND_ERROR, "nope"),
    "unknown_segment_backend": (Goal(prompts=SIT, segment_backend="nope"), Result.BACKEND_ERROR, "nope"),
    "unknown_profile": (Goal(prompts=SIT, profile="fast"), Result.INVALID_GOAL, "unknown profile"),
    "pose_nan": (Goal(**LIFT, object_pose=_pose(x=math.nan)), Result.INVALID_GOAL, "NaN"),
    "pose_zero_quaternion": (
        Goal(**LIFT, object_pose=_pose(q=(0.0, 0.0, 0.0, 0.0))),
        Result.INVALID_GOAL,
        "all zeros",
    ),
    "pose_far_away": (Goal(**LIFT, object_pose=_pose(x=300.0)), Result.INVALID_GOAL, "outside scene"),
    "pose_other_frame": (Goal(**LIFT, object_pose=_pose(frame="odom")), Result.INVALID_GOAL, "odom"),
    "initial_nan": (
        Goal(prompts=SIT, use_initial_state=True, initial_state=_state(transl=[math.nan, 0.0, 1.0])),
        Result.INVALID_GOAL,
        "NaN",
    ),
    "initial_wrong_betas": (
        Goal(prompts=SIT, use_initial_state=True, initial_state=_state(betas=[0.0] * 3)),
        Result.INVALID_GOAL,
        "3 betas",
    ),
    "initial_far_away": (
        Goal(prompts=SIT, use_initial_state=True, initial_state=_state(transl=[0.0, 800.0, 1.0])),
        Result.INVALID_GOAL,
        "initial human position",
    ),
    "no_prompt": (Goal(prompts=[]), Result.INVALID_GOAL, "prompts"),
    "blank_prompt": (Goal(prompts=["  "]), Result.INVALID_GOAL, "prompts"),
    "prompt_10kB": (Goal(prompts=["sit " * 2500]), Result.INVALID_GOAL, "at most 2000"),
    "frames_1": (Goal(prompts=SIT, num_frames=1), Result.INVALID_GOAL, "num_frames"),
    "frames_1e6": (Goal(prompts=SIT, num_frames=10**6), Result.INVALID_GOAL, "1000000"),
}
KLING: dict[str, tuple[list[Reply], str]] = {
    "401": ([Reply(401, {"code": 1002, "message": "bad token"})], "authentication failed"),
    "429": ([Reply(429, {"code": 1302, "message": "slow down"})], "rate limit"),
    "500": ([Reply(500, {"code": 5000, "message": "oops"})], "KLING server error"),
    "timeout": ([Reply(200, {"code": 0}, delay_s=1.0)], "ReadTimeout"),
    "garbage_body": ([Reply(200, b"<html>")], "HTTP 200"),
}


def test_bad_goal_matrix_aborts_each_with_its_code(ros) -> None:
    failures = []
    for case, (goal, code, words) in MATRIX.items():
        answer = _run(ros, goal)
        result = answer.result
        if (
            answer.status != GoalStatus.STATUS_ABORTED
            or result.error_code != code
            or words not in result.message
        ):
            failures.append((case, answer.status, result.error_code, result.message))
    for case, (replies, words) in KLING.items():
        ros["fake"].script = Script(echo_auth=True, create=list(replies))
        result = _run(ros, Goal(prompts=SIT, video_backend="kling")).result
        if result.error_code != Result.BACKEND_ERROR or words not in result.message:
            failures.append((f"kling_{case}", result.error_code, result.message))
    assert not failures
    assert not list(ros["out"].glob("*")), "a failed goal left a result directory"


def _cancel_when(ros, goal: Goal, stage: str) -> float:
    feedback: list = []
    handle = _send(ros, goal, feedback)
    deadline = time.monotonic() + 60
    while not any(f.stage == stage for f in feedback) and time.monotonic() < deadline:
        rclpy.spin_once(ros["node"], timeout_sec=0.01)
    start = time.monotonic()
    _wait(ros["node"], handle.cancel_goal_async())
    answer = _wait(ros["node"], handle.get_result_async())
    assert answer.status == GoalStatus.STATUS_CANCELED and answer.result.error_code == Result.CANCELED
    return time.monotonic() - start


def test_cancel_while_waiting_for_video_and_while_optimising(ros) -> None:
    ros["fake"].script = Script(echo_auth=True, statuses=["processing"])  # a task that never finishes
    before = set(ros["out"].glob("*"))
    assert _cancel_when(ros, Goal(prompts=SIT, video_backend="kling"), "video") < CANCEL_LIMIT_S
    assert _cancel_when(ros, Goal(prompts=SIT, num_frames=12), "hsi") < CANCEL_LIMIT_S
    assert set(ros["out"].glob("*")) == before and not list(ros["out"].glob(".*")), "partial result left"


def test_a_full_queue_aborts_with_the_reason(ros) -> None:
    ros["fake"].script = Script(echo_auth=True, statuses=["processing"])
    running = _send(ros, Goal(prompts=SIT, video_backend="kling"), [])
    queued_feedback: list = []
    queued = _send(ros, Goal(prompts=SIT), queued_feedback)
    busy = _wait(ros["node"], _send(ros, Goal(prompts=SIT)).get_result_async())
    assert busy.status == GoalStatus.STATUS_ABORTED and busy.result.error_code == Result.BACKEND_ERROR
    assert "server busy" in busy.result.message and "max_queued_goals=1" in busy.result.message
    deadline = time.monotonic() + 10
    while not queued_feedback and time.monotonic() < deadline:
        rclpy.spin_once(ros["node"], timeout_sec=0.05)
    assert queued_feedback and queued_feedback[0].stage == "queued"
    for handle in (queued, running):
        _wait(ros["node"], handle.cancel_goal_async())
        assert _wait(ros["node"], handle.get_result_async()).status == GoalStatus.STATUS_CANCELED


def test_soak_sequential_goals_without_leaks(ros) -> None:
    process = psutil.Process(ros["pid"])
    samples = []
    for index in range(SOAK_GOALS):
        answer = _run(ros, Goal(scene_id="living_room", prompts=SIT, seed=index))
        assert answer.status == GoalStatus.STATUS_SUCCEEDED, answer.result.message
        samples.append((process.memory_info().rss, process.num_threads(), process.num_fds()))
    rss, threads, fds = (np.array(column) for column in zip(*samples, strict=True))
    base = SOAK_WARMUP - 1
    assert rss[base:].max() <= rss[base] * (1 + SOAK_RSS_GROWTH), rss.tolist()
    assert threads.max() <= threads[0] + POOL_THREADS and fds[base:].max() <= fds[base], (threads, fds)
    assert len(list(ros["out"].glob("*"))) == SOAK_GOALS


def test_planted_keys_appear_in_no_output(ros) -> None:
    ros["fake"].script = Script(echo_auth=True)  # a hostile server quoting our Authorization header back
    _run(ros, Goal(prompts=SIT, video_backend="kling"))  # succeeds at the API, fails at segmentation
    texts = [ros["log"].read_text(), *ros["messages"]]
    texts += [p.read_bytes().decode("latin-1") for p in ros["out"].rglob("*") if p.is_file()]
    for secret in (ACCESS, SECRET, "Bearer eyJ"):
        assert not [t[:200] for t in texts if secret in t], secret
    assert ros["fake"].count("POST", "/v1") >= 1
