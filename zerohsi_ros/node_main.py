"""The shared life cycle of our node executables: init, build the node, spin, clean shutdown."""

from __future__ import annotations

from collections.abc import Callable

import rclpy
from rclpy.executors import Executor, ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node

from zerohsi_core.errors import ZeroHSIError


def run_node(
    name: str,
    make_node: Callable[[], Node],
    make_executor: Callable[[Node], Executor] = lambda _node: SingleThreadedExecutor(),
    args: list[str] | None = None,
) -> int:
    """Spin the node until Ctrl-C or shutdown; exit code 2 (one fatal log line) if it cannot start."""
    rclpy.init(args=args)
    try:
        node = make_node()
    except ZeroHSIError as err:
        rclpy.logging.get_logger(name).fatal(f"cannot start: {err}")
        rclpy.try_shutdown()
        return 2
    executor = make_executor(node)
    executor.add_node(node)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0
