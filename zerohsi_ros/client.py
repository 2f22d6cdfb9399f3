"""`zerohsi_ros` console client: list scenes, or send a GenerateInteraction goal with a progress bar.

zerohsi_ros scenes [--scene living_room_lift]
zerohsi_ros request --scene living_room --prompt "sit on the sofa" [--prompt …] [--frames 12]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

import rclpy
from action_msgs.msg import GoalStatus
from rclpy.action import ActionClient
from rclpy.node import Node
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from zerohsi_ros.action import GenerateInteraction
from zerohsi_ros.srv import ListScenes

STATUS_NAMES = {
    GoalStatus.STATUS_SUCCEEDED: "succeeded",
    GoalStatus.STATUS_ABORTED: "aborted",
    GoalStatus.STATUS_CANCELED: "canceled",
}


@dataclass(frozen=True)
class ClientOptions:
    """Where the server is and how long to wait for it."""

    server: str = "/hsi_server"  # node name (with namespace) of the hsi_server
    timeout_s: float = 20.0  # wait for the server to appear


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command line of the client."""
    parser = argparse.ArgumentParser(prog="zerohsi_ros", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--server", default=ClientOptions.server, help="hsi_server node (default %(default)s)"
    )
    parser.add_argument(
        "--timeout", type=float, default=ClientOptions.timeout_s, help="seconds to wait for it"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    scenes = sub.add_parser("scenes", help="list scene ids (with --scene: its objects and surfaces)")
    scenes.add_argument("--scene", default="")
    req = sub.add_parser("request", help="send a goal and wait for the result")
    req.add_argument("--scene", default="", help="scene id ('' = the server's default)")
    req.add_argument("--prompt", action="append", required=True, help="text prompt; repeat to chain clips")
    req.add_argument("--object", default="", help="movable object id of the scene")
    req.add_argument("--frames", type=int, default=0, help="frames per clip (0 = configured)")
    req.add_argument("--seed", type=int, default=0)
    req.add_argument("--video-backend", default="")
    req.add_argument("--segment-backend", default="")
    req.add_argument("--profile", default="")
    return parser.parse_args(argv)


def list_scenes(node: Node, options: ClientOptions, scene_id: str, console: Console) -> int:
    """Call <server>/list_scenes and print the answer."""
    client = node.create_client(ListScenes, f"{options.server}/list_scenes")
    if not client.wait_for_service(timeout_sec=options.timeout_s):
        console.print(f"[red]no service {options.server}/list_scenes")
        return 1
    future = client.call_async(ListScenes.Request(scene_id=scene_id))
    rclpy.spin_until_future_complete(node, future, timeout_sec=options.timeout_s)
    answer = future.result()
    if answer is None or not answer.success:
        console.print(f"[red]{answer.message if answer else 'no answer'}")
        return 1
    console.print("scenes: " + ", ".join(answer.scene_ids))
    for oid, pose in zip(answer.object_ids, answer.object_poses, strict=True):
        p = pose.position
        console.print(f"  object {oid} at ({p.x:.2f}, {p.y:.2f}, {p.z:.2f})")
    if answer.affordances:
        console.print("  surfaces: " + ", ".join(answer.affordances))
    return 0


def request(node: Node, options: ClientOptions, args: argparse.Namespace, console: Console) -> int:
    """Send one goal, show its feedback as a progress bar, print the result."""
    client = ActionClient(node, GenerateInteraction, f"{options.server}/generate_interaction")
    if not client.wait_for_server(timeout_sec=options.timeout_s):
        console.print(f"[red]no action server {options.server}/generate_interaction")
        return 1
    goal = GenerateInteraction.Goal(
        scene_id=args.scene,
        object_id=args.object,
        prompts=args.prompt,
        num_frames=args.frames,
        seed=args.seed,
        video_backend=args.video_backend,
        segment_backend=args.segment_backend,
        profile=args.profile,
    )
    columns = (TextColumn("{task.description:<14}"), BarColumn(), TextColumn("{task.fields[info]}"))
    with Progress(*columns, TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("waiting", total=1.0, info="")

        def on_feedback(msg: GenerateInteraction.Impl.FeedbackMessage) -> None:
            f = msg.feedback
            info = f"clip {f.clip} frame {f.frame} it {f.iteration} loss {f.loss:.4g}"
            bar.update(task, completed=f.progress, description=f.stage, info=info)

        sent = client.send_goal_async(goal, feedback_callback=on_feedback)
        rclpy.spin_until_future_complete(node, sent)
        handle = sent.result()
        if handle is None or not handle.accepted:
            console.print("[red]goal rejected (server busy?)")
            return 1
        try:
            done = handle.get_result_async()
            rclpy.spin_until_future_complete(node, done)
        except KeyboardInterrupt:
            rclpy.spin_until_future_complete(node, handle.cancel_goal_async(), timeout_sec=options.timeout_s)
            done = handle.get_result_async()
            rclpy.spin_until_future_complete(node, done, timeout_sec=options.timeout_s)
    answer = done.result()
    print_result(answer.status, answer.result, console)
    return 0 if answer.status == GoalStatus.STATUS_SUCCEEDED else 1


def print_result(status: int, result: GenerateInteraction.Result, console: Console) -> None:
    """Status, message, trajectory sizes, metrics and result directory."""
    console.print(f"{STATUS_NAMES.get(status, status)} (error_code {result.error_code}): {result.message}")
    traj = result.smplx_trajectory
    if traj.states:
        console.print(
            f"smplx_trajectory: {len(traj.states)} frames at {traj.fps:g} fps in {traj.header.frame_id!r}"
        )
    obj = result.object_trajectory
    if obj.poses:
        console.print(f"object_trajectory: {obj.object_id}, {len(obj.poses)} poses")
    if result.metrics:
        table = Table("metric", "value")
        for kv in result.metrics:
            table.add_row(kv.key, kv.value)
        console.print(table)
    if result.result_dir:
        console.print(f"result directory: {result.result_dir}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `zerohsi_ros` console script."""
    args = parse_args(argv)
    options = ClientOptions(server=args.server.rstrip("/"), timeout_s=args.timeout)
    console = Console()
    rclpy.init()
    node = rclpy.create_node("zerohsi_ros_client")
    try:
        if args.command == "scenes":
            return list_scenes(node, options, args.scene, console)
        return request(node, options, args, console)
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    raise SystemExit(main())
