"""MCAP export with ROS 2 messages (`ros2 bag play`, Foxglove), written without rclpy.

Topics (ros2msg schemas, CDR encoding, the `ros2` profile of MCAP):
  /hsi_server/smplx_trajectory    zerohsi_ros/msg/SmplxTrajectory, once at the start (what the server
                                  latches; `trajectory_player` subscribes to it)
  /hsi_server/object_trajectory   zerohsi_ros/msg/ObjectTrajectory, once, when the result has an object
  /tf                             tf2_msgs/msg/TFMessage per frame: `body_<id>` at the pelvis (oriented by
                                  global_orient), `body_<id>_<joint>` per SMPL-X joint, `object_<id>`
  /trajectory_player/object_pose  geometry_msgs/msg/PoseStamped per frame, when the result has an object
Message times are `start_ns + t / fps` seconds; every frame is in `frame_id` (z-up, metres, REP-103).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from mcap.writer import CompressionType
from mcap_ros2.writer import Writer
from scipy.spatial.transform import Rotation

from zerohsi_core.body.joints import JOINT_NAMES
from zerohsi_core.io.export_common import ExportMotion

SEPARATOR = "=" * 80
NS_PER_S = 1_000_000_000

MSG_DEFINITIONS: dict[str, str] = {
    "builtin_interfaces/Time": "int32 sec\nuint32 nanosec",
    "std_msgs/Header": "builtin_interfaces/Time stamp\nstring frame_id",
    "geometry_msgs/Point": "float64 x\nfloat64 y\nfloat64 z",
    "geometry_msgs/Vector3": "float64 x\nfloat64 y\nfloat64 z",
    "geometry_msgs/Quaternion": "float64 x\nfloat64 y\nfloat64 z\nfloat64 w",
    "geometry_msgs/Pose": "geometry_msgs/Point position\ngeometry_msgs/Quaternion orientation",
    "geometry_msgs/PoseStamped": "std_msgs/Header header\ngeometry_msgs/Pose pose",
    "geometry_msgs/Transform": "geometry_msgs/Vector3 translation\ngeometry_msgs/Quaternion rotation",
    "geometry_msgs/TransformStamped": (
        "std_msgs/Header header\nstring child_frame_id\ngeometry_msgs/Transform transform"
    ),
    "tf2_msgs/TFMessage": "geometry_msgs/TransformStamped[] transforms",
    "zerohsi_ros/SmplxState": (
        "float32[] betas\nfloat32[3] global_orient\nfloat32[3] transl\nfloat32[63] body_pose\n"
        "float32[45] left_hand_pose\nfloat32[45] right_hand_pose\nfloat32[3] jaw_pose\n"
        "float32[3] leye_pose\nfloat32[3] reye_pose\nfloat32[] expression"
    ),
    "zerohsi_ros/SmplxTrajectory": (
        "std_msgs/Header header\nstring body_model\nstring gender\nfloat32 fps\nstring[] joint_names\n"
        "SmplxState[] states\ngeometry_msgs/Point[] joints"
    ),
    "zerohsi_ros/ObjectTrajectory": (
        "std_msgs/Header header\nstring object_id\nfloat32 fps\ngeometry_msgs/Pose[] poses"
    ),
}
"""The .msg texts (comments dropped) of every type the export writes; the zerohsi_ros ones equal msg/*.msg
(a test keeps them in step)."""

_DEPENDENCIES: dict[str, tuple[str, ...]] = {
    "geometry_msgs/PoseStamped": (
        "std_msgs/Header", "builtin_interfaces/Time", "geometry_msgs/Pose", "geometry_msgs/Point",
        "geometry_msgs/Quaternion",
    ),
    "tf2_msgs/TFMessage": (
        "geometry_msgs/TransformStamped", "std_msgs/Header", "builtin_interfaces/Time",
        "geometry_msgs/Transform", "geometry_msgs/Vector3", "geometry_msgs/Quaternion",
    ),
    "zerohsi_ros/SmplxTrajectory": (
        "std_msgs/Header", "builtin_interfaces/Time", "zerohsi_ros/SmplxState", "geometry_msgs/Point",
    ),
    "zerohsi_ros/ObjectTrajectory": (
        "std_msgs/Header", "builtin_interfaces/Time", "geometry_msgs/Pose", "geometry_msgs/Point",
        "geometry_msgs/Quaternion",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class McapOptions:
    """Frame names, topics and the time of frame 0 (nanoseconds since the Unix epoch)."""

    frame_id: str = "map"
    body_id: str = "hsi01"  # REP-155 body id, as trajectory_player uses it
    start_ns: int = 0
    trajectory_topic: str = "/hsi_server/smplx_trajectory"
    object_trajectory_topic: str = "/hsi_server/object_trajectory"
    tf_topic: str = "/tf"
    object_pose_topic: str = "/trajectory_player/object_pose"


def schema_text(datatype: str) -> str:
    """The ros2msg schema of `datatype` ("pkg/Type"): its definition, then each dependency after a
    separator line and `MSG: pkg/Type` (the concatenated form rosbag2 writes)."""
    parts = [MSG_DEFINITIONS[datatype]]
    for dep in _DEPENDENCIES.get(datatype, ()):
        parts.append(f"{SEPARATOR}\nMSG: {dep}\n{MSG_DEFINITIONS[dep]}")
    return "\n".join(parts) + "\n"


def _stamp(ns: int) -> dict[str, int]:
    return {"sec": ns // NS_PER_S, "nanosec": ns % NS_PER_S}


def _pose(matrix: np.ndarray) -> dict[str, Any]:
    x, y, z, w = Rotation.from_matrix(matrix[:3, :3]).as_quat()
    p = matrix[:3, 3]
    return {
        "position": {"x": float(p[0]), "y": float(p[1]), "z": float(p[2])},
        "orientation": {"x": float(x), "y": float(y), "z": float(z), "w": float(w)},
    }


def _transform(header: dict[str, Any], child: str, xyz: np.ndarray, xyzw: np.ndarray) -> dict[str, Any]:
    return {
        "header": header,
        "child_frame_id": child,
        "transform": {
            "translation": dict(zip("xyz", map(float, xyz), strict=True)),
            "rotation": dict(zip("xyzw", map(float, xyzw), strict=True)),
        },
    }


def _floats(values: np.ndarray) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype=np.float32).reshape(-1)]


def smplx_trajectory_message(motion: ExportMotion, header: dict[str, Any]) -> dict[str, Any]:
    """SmplxTrajectory as a message dict (same fields as zerohsi_ros.conversions.smplx_trajectory)."""
    parts = {"global_orient": 0, "body_pose": slice(1, 22), "jaw_pose": 22, "leye_pose": 23,
             "reye_pose": 24, "left_hand_pose": slice(25, 40), "right_hand_pose": slice(40, 55)}  # fmt: skip
    states = [
        {"betas": _floats(motion.betas), "transl": _floats(motion.trans[t]), "expression": []}
        | {name: _floats(motion.poses[t, rows]) for name, rows in parts.items()}
        for t in range(motion.num_frames)
    ]
    points = [{"x": float(x), "y": float(y), "z": float(z)} for x, y, z in motion.joints.reshape(-1, 3)]
    return {
        "header": header, "body_model": motion.body_model, "gender": motion.gender, "fps": float(motion.fps),
        "joint_names": list(JOINT_NAMES), "states": states, "joints": points,
    }  # fmt: skip


def frame_transforms(
    motion: ExportMotion, t: int, header: dict[str, Any], options: McapOptions
) -> list[dict]:
    """TF of frame t: the body frame at the pelvis, one frame per joint, and the object."""
    body = f"body_{options.body_id}"
    orient = Rotation.from_rotvec(motion.poses[t, 0]).as_quat()
    identity = np.array([0.0, 0.0, 0.0, 1.0])
    out = [_transform(header, body, motion.joints[t, 0], orient)]
    out += [
        _transform(header, f"{body}_{n}", motion.joints[t, j], identity) for j, n in enumerate(JOINT_NAMES)
    ]
    if motion.object_poses is not None:
        pose = motion.object_poses[t]
        xyzw = Rotation.from_matrix(pose[:3, :3]).as_quat()
        out.append(_transform(header, f"object_{motion.object_id or 'object'}", pose[:3, 3], xyzw))
    return out


def write_mcap(motion: ExportMotion, path: str | Path, options: McapOptions | None = None) -> Path:
    """Write the MCAP file (uncompressed chunks: readable without zstd/lz4); returns its path."""
    options = options or McapOptions()
    motion.require_frame_rate("MCAP")
    path = Path(path)
    with path.open("wb") as stream:
        writer = Writer(stream, compression=CompressionType.NONE)
        schemas = {
            name: writer.register_msgdef(name.replace("/", "/msg/"), schema_text(name))
            for name in _DEPENDENCIES
        }
        start = {"stamp": _stamp(options.start_ns), "frame_id": options.frame_id}
        writer.write_message(
            options.trajectory_topic, schemas["zerohsi_ros/SmplxTrajectory"],
            smplx_trajectory_message(motion, start), options.start_ns,
        )  # fmt: skip
        if motion.object_poses is not None:
            trajectory = {"header": start, "object_id": motion.object_id or "", "fps": float(motion.fps),
                          "poses": [_pose(p) for p in motion.object_poses]}  # fmt: skip
            writer.write_message(
                options.object_trajectory_topic, schemas["zerohsi_ros/ObjectTrajectory"], trajectory,
                options.start_ns,
            )  # fmt: skip
        for t in range(motion.num_frames):
            ns = options.start_ns + round(t * NS_PER_S / motion.fps)
            header = {"stamp": _stamp(ns), "frame_id": options.frame_id}
            tf = {"transforms": frame_transforms(motion, t, header, options)}
            writer.write_message(options.tf_topic, schemas["tf2_msgs/TFMessage"], tf, ns, sequence=t)
            if motion.object_poses is not None:
                stamped = {"header": header, "pose": _pose(motion.object_poses[t])}
                writer.write_message(
                    options.object_pose_topic, schemas["geometry_msgs/PoseStamped"], stamped, ns, sequence=t
                )
        writer.finish()
    return path
