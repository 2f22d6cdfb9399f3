"""trajectory_player: replays a synthesised motion in real or sim time (node clock) on
/humans/bodies/<id>/joint_states, TF (REP-155 style frames), the object's PoseStamped + TF, and RViz
markers. Source: the server's latched trajectory topics, or a result directory (`result_dir`)."""

from __future__ import annotations

import importlib

from geometry_msgs.msg import PoseStamped, TransformStamped
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import JointState
from visualization_msgs.msg import MarkerArray

from zerohsi_core.body.joints import JOINT_NAMES
from zerohsi_core.errors import ZeroHSIError
from zerohsi_ros.conversions import body_transforms, matrix_to_pose, pose_transform, rotation_vectors
from zerohsi_ros.markers import skeleton_markers, stamped_header
from zerohsi_ros.msg import ObjectTrajectory, SmplxTrajectory
from zerohsi_ros.node_main import run_node
from zerohsi_ros.playback import Playback, playback_from_message, playback_from_result_dir

LATCHED = QoSProfile(
    depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL, reliability=ReliabilityPolicy.RELIABLE
)
TF_QOS_DEPTH = 100
# JointState names: the axis-angle components of each skeleton joint's local rotation (radians).
AXES = ("rx", "ry", "rz")
JOINT_STATE_NAMES = [f"{joint}_{axis}" for joint in JOINT_NAMES for axis in AXES]
PARAMETERS = {
    "body_id": "hsi01",  # REP-155 body id: topics /humans/bodies/<id>/…, TF frame body_<id>
    "rate": 1.0,  # playback speed (1 = the motion's own fps)
    "loop": True,  # False: play once and hold the last frame
    "frame_id": "",  # "" = the frame of the received trajectory (the server's scene frame)
    "trajectory_topic": "hsi_server/smplx_trajectory",
    "object_topic": "hsi_server/object_trajectory",
    "result_dir": "",  # replay this result directory instead of listening to the server
}


def tf_message_type() -> type | None:
    """tf2_msgs/TFMessage where installed (every ROS install; no PyPI wheel exists)."""
    try:
        return importlib.import_module("tf2_msgs.msg").TFMessage
    except ImportError:
        return None


class TrajectoryPlayer(Node):
    """Plays the latest received (or loaded) motion frame by frame on a timer of the node clock."""

    def __init__(self) -> None:
        super().__init__("trajectory_player")
        for name, default in PARAMETERS.items():
            self.declare_parameter(name, default)
        value = {name: self.get_parameter(name).value for name in PARAMETERS}
        self.body_id, self.rate, self.loop = str(value["body_id"]), float(value["rate"]), bool(value["loop"])
        self.frame_override = str(value["frame_id"])
        body = f"/humans/bodies/{self.body_id}"
        self.joint_pub = self.create_publisher(JointState, f"{body}/joint_states", 10)
        self.marker_pub = self.create_publisher(MarkerArray, "~/markers", 10)
        self.object_pub = self.create_publisher(PoseStamped, "~/object_pose", 10)
        self.tf_type = tf_message_type()
        if self.tf_type is not None:
            self.tf_pub = self.create_publisher(self.tf_type, "/tf", TF_QOS_DEPTH)
        else:
            self.get_logger().warning(
                "tf2_msgs is not installed: transforms go to ~/transforms instead of /tf"
            )
            self.tf_pub = self.create_publisher(TransformStamped, "~/transforms", TF_QOS_DEPTH)
        self.playback: Playback | None = None
        self.frame = 0
        self.timer = None
        self._object_msg: ObjectTrajectory | None = None
        if value["result_dir"]:
            self._start(playback_from_result_dir(value["result_dir"], self.frame_override or "map"))
        else:
            self.create_subscription(SmplxTrajectory, value["trajectory_topic"], self._on_trajectory, LATCHED)
            self.create_subscription(ObjectTrajectory, value["object_topic"], self._on_object, LATCHED)

    def _on_trajectory(self, msg: SmplxTrajectory) -> None:
        try:
            playback = playback_from_message(msg)
        except ZeroHSIError as err:
            self.get_logger().error(f"ignoring trajectory: {err}")
            return
        if self._object_msg is not None and self._object_msg.header.stamp == msg.header.stamp:
            playback = playback.with_object(self._object_msg)
        self._start(playback)

    def _on_object(self, msg: ObjectTrajectory) -> None:
        self._object_msg = msg
        if self.playback is not None and self.playback.object_poses is None:
            self._start(self.playback.with_object(msg))

    def _start(self, playback: Playback) -> None:
        """Replay `playback` from its first frame."""
        self.playback, self.frame = playback, 0
        if self.timer is not None:
            self.destroy_timer(self.timer)
        self.timer = self.create_timer(1.0 / (playback.fps * self.rate), self._tick)
        self.get_logger().info(f"playing {playback.num_frames} frames at {playback.fps * self.rate:g} fps")

    def _tick(self) -> None:
        playback = self.playback
        if playback is None:
            return
        if self.frame >= playback.num_frames:
            if not self.loop:
                self.timer.cancel()
                return
            self.frame = 0
        self.publish_frame(playback, self.frame)
        self.frame += 1

    def publish_frame(self, playback: Playback, t: int) -> None:
        """Joint states, TF, markers and object pose of frame t."""
        stamp = self.get_clock().now().to_msg()
        frame_id = self.frame_override or playback.frame_id
        header = stamped_header(frame_id, stamp)
        rotations = rotation_vectors(playback.params.index(t))[0]  # [55, 3]
        self.joint_pub.publish(
            JointState(header=header, name=JOINT_STATE_NAMES, position=rotations.reshape(-1).tolist())
        )
        transforms = body_transforms(
            playback.params, playback.joints, t, frame_id, f"body_{self.body_id}", stamp
        )
        self.marker_pub.publish(skeleton_markers(playback.joints[t], header, f"body_{self.body_id}"))
        if playback.object_poses is not None:
            pose = matrix_to_pose(playback.object_poses[t])
            self.object_pub.publish(PoseStamped(header=header, pose=pose))
            transforms.append(pose_transform(pose, frame_id, f"object_{playback.object_id}", stamp))
        if self.tf_type is not None:
            self.tf_pub.publish(self.tf_type(transforms=transforms))
        else:
            for transform in transforms:
                self.tf_pub.publish(transform)


def main(args: list[str] | None = None) -> int:
    """Entry point of the `trajectory_player` executable."""
    return run_node("trajectory_player", TrajectoryPlayer, args=args)


if __name__ == "__main__":
    raise SystemExit(main())
