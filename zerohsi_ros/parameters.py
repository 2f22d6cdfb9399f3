"""ROS parameters ↔ zerohsi_core.config: every config key is a parameter with the same dotted name.

Values given to the node (parameters file, `-p`, launch) rank like the CLI's config file: the profile's
overrides go on top of them, and the `overrides` parameter (["render.width=256", …]) on top of all.
"""

from __future__ import annotations

import array
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node

from zerohsi_core.config import PROFILES, Config, apply_overrides, flatten, parse_overrides, to_dict
from zerohsi_core.errors import ConfigError


@dataclass(frozen=True)
class ServerOptions:
    """Node settings that are not part of the core config."""

    frame_id: str = "map"  # the scene frame (REP-103: z-up, metres)
    queue_goals: bool = True  # False: reject a goal while another runs
    max_queued_goals: int = 4  # goals waiting beyond this are rejected
    write_results: bool = True  # write a result directory under paths.output_dir
    overrides: tuple[str, ...] = ()  # "key=value" config overrides applied last


NODE_PARAMETERS = {
    "frame_id": ServerOptions.frame_id,
    "queue_goals": ServerOptions.queue_goals,
    "max_queued_goals": ServerOptions.max_queued_goals,
    "write_results": ServerOptions.write_results,
    "overrides": [""],
}
_ROS_OWNED_PREFIXES = ("use_sim_time", "qos_overrides.", "start_type_description_service")


def declare_parameters(node: Node) -> dict[str, Any]:
    """Declare the node's and every config parameter; returns the values that were given explicitly."""
    given = {name: _plain(p.value) for name, p in node.get_parameters_by_prefix("").items()}
    defaults = {**NODE_PARAMETERS, **flatten(to_dict(Config()))}
    for name, default in defaults.items():
        if not node.has_parameter(name):
            node.declare_parameter(name, default, ParameterDescriptor(dynamic_typing=True))
    return {k: v for k, v in given.items() if not k.startswith(_ROS_OWNED_PREFIXES)}


def server_options(node: Node) -> ServerOptions:
    """The node-only settings from the declared parameters."""
    value = {name: _plain(node.get_parameter(name).value) for name in NODE_PARAMETERS}
    return ServerOptions(
        frame_id=str(value["frame_id"]),
        queue_goals=bool(value["queue_goals"]),
        max_queued_goals=int(value["max_queued_goals"]),
        write_results=bool(value["write_results"]),
        overrides=tuple(item for item in value["overrides"] or () if item),
    )


def build_config(given: Mapping[str, Any], options: ServerOptions, **goal: str) -> Config:
    """Config from explicit parameters ← profile ← `overrides` ← per-goal settings (profile, backends).

    `goal` takes profile, video_backend, segment_backend; empty strings keep the configured value.
    """
    values = {k: v for k, v in given.items() if k not in NODE_PARAMETERS}
    extra = parse_overrides(list(options.overrides))
    name = goal.get("profile") or extra.get("profile") or values.get("profile") or "paper"
    if name not in PROFILES:
        raise ConfigError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)}")
    backends = {
        key: goal[arg]
        for key, arg in (("video.backend", "video_backend"), ("segment.backend", "segment_backend"))
        if goal.get(arg)
    }
    return apply_overrides(Config(), {**values, **PROFILES[name], **extra, **backends, "profile": name})


def _plain(value: Any) -> Any:
    """rclpy gives arrays as array.array or tuples: plain lists for the config checks."""
    return list(value) if isinstance(value, array.array | tuple) else value
