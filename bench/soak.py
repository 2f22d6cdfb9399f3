"""Soak: many sequential small goals against one hsi_server process; memory, threads and file descriptors.

    python bench/soak.py [--goals 50] [--frames 3] [--out outputs/bench/soak.json]

Starts hsi_server (test/ros/params_tiny.yaml, a private DDS domain, results in a temporary folder), sends
the goals one after another ("sit on the sofa" in the living room, seed = goal index), and after each
records the server's RSS, thread count and open file descriptors (psutil). Prints a table, writes JSON,
and exits 1 unless every goal succeeded, RSS grew ≤ 10% after the 5th goal, fds did not grow, and
threads grew by no more than the executor's lazily started pool.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil
import rclpy
from action_msgs.msg import GoalStatus
from rclpy.action import ActionClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from zerohsi_ros.action import GenerateInteraction  # noqa: E402
from zerohsi_ros.hsi_server import SPARE_THREADS  # noqa: E402
from zerohsi_ros.parameters import ServerOptions  # noqa: E402

PARAMS = ROOT / "test" / "ros" / "params_tiny.yaml"
BASELINE_GOAL = 5  # growth is measured against the state after this goal (warm caches)
MAX_RSS_GROWTH = 0.10
SERVER_START_S = 60.0
GOAL_TIMEOUT_S = 300.0
# rclpy's executor starts its worker threads lazily, up to this many: growth within it is not a leak
POOL_THREADS = ServerOptions.max_queued_goals + SPARE_THREADS


@dataclass(frozen=True)
class Sample:
    """The server process after one goal."""

    goal: int
    seconds: float
    rss_mb: float
    threads: int
    fds: int


def _server(out: Path, env: dict[str, str]) -> subprocess.Popen:
    exe = shutil.which("hsi_server", path=str(Path(sys.executable).parent))
    command = [exe] if exe else [sys.executable, "-m", "zerohsi_ros.hsi_server"]
    args = ["--ros-args", "--params-file", str(PARAMS), "-p", f"paths.output_dir:={out}"]
    return subprocess.Popen([*command, *args], env=env, stdout=subprocess.DEVNULL)


def _wait(node, future, timeout: float):
    rclpy.spin_until_future_complete(node, future, timeout_sec=timeout)
    if not future.done():
        raise TimeoutError("no answer from hsi_server")
    return future.result()


def soak(goals: int, frames: int) -> tuple[list[Sample], int]:
    """Run the goals; the samples and how many goals succeeded."""
    domain = str(random.randint(1, 100))
    env = dict(os.environ, ROS_DOMAIN_ID=domain, ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
    os.environ.update(ROS_DOMAIN_ID=domain, ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
    samples, succeeded = [], 0
    with tempfile.TemporaryDirectory(prefix="zerohsi-soak-") as out:
        server = _server(Path(out), env)
        rclpy.init()
        node = rclpy.create_node("zerohsi_soak")
        try:
            action = ActionClient(node, GenerateInteraction, "/hsi_server/generate_interaction")
            if not action.wait_for_server(timeout_sec=SERVER_START_S):
                raise RuntimeError("hsi_server did not start")
            process = psutil.Process(server.pid)
            for index in range(goals):
                goal = GenerateInteraction.Goal(
                    scene_id="living_room", prompts=["sit on the sofa"], num_frames=frames, seed=index
                )
                start = time.monotonic()
                handle = _wait(node, action.send_goal_async(goal), GOAL_TIMEOUT_S)
                answer = _wait(node, handle.get_result_async(), GOAL_TIMEOUT_S)
                succeeded += answer.status == GoalStatus.STATUS_SUCCEEDED
                rss = process.memory_info().rss / 2**20
                sample = Sample(
                    index + 1, time.monotonic() - start, rss, process.num_threads(), process.num_fds()
                )
                samples.append(sample)
                print(f"{sample.goal:4d} {sample.seconds:6.2f} s {rss:8.1f} MB {sample.threads:4d} threads "
                      f"{sample.fds:4d} fds", flush=True)  # fmt: skip
        finally:
            node.destroy_node()
            rclpy.shutdown()
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)
    return samples, succeeded


def verdict(samples: list[Sample], succeeded: int) -> dict[str, object]:
    """Growth after the baseline goal and whether the soak passes."""
    base = samples[min(BASELINE_GOAL, len(samples)) - 1]
    later = samples[base.goal - 1 :]
    growth = max(s.rss_mb for s in later) / base.rss_mb - 1.0
    return {
        "goals": len(samples),
        "succeeded": succeeded,
        "rss_baseline_mb": base.rss_mb,
        "rss_max_after_baseline_mb": max(s.rss_mb for s in later),
        "rss_growth": growth,
        "thread_growth_from_first_goal": max(s.threads for s in samples) - samples[0].threads,
        "thread_pool_bound": POOL_THREADS,
        "fd_growth": max(s.fds for s in later) - base.fds,
        "mean_goal_s": sum(s.seconds for s in samples) / len(samples),
        "passed": succeeded == len(samples)
        and growth <= MAX_RSS_GROWTH
        and max(s.threads for s in samples) <= samples[0].threads + POOL_THREADS
        and max(s.fds for s in later) <= base.fds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--goals", type=int, default=50)
    parser.add_argument("--frames", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "bench" / "soak.json")
    args = parser.parse_args()
    samples, succeeded = soak(args.goals, args.frames)
    summary = verdict(samples, succeeded)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "samples": [asdict(s) for s in samples]}, indent=2))
    print(json.dumps(summary, indent=2))
    return 0 if summary["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
