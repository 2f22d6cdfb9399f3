"""Start the ZeroHSI action server and the trajectory player (and RViz on request).

  ros2 launch zerohsi_ros hsi.launch.py [config:=…/hsi.yaml] [profile:=draft] [video_backend:=kling]
      [device:=cuda] [namespace:=robot1] [player:=true] [body_id:=hsi01] [rviz:=true] [use_sim_time:=false]
Empty arguments keep the values of the parameters file.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription

# launch argument -> hsi_server parameter (a zerohsi_core config key); set only when not empty
SERVER_ARGUMENTS = {"profile": "profile", "video_backend": "video.backend", "device": "device"}


def _nodes(context):
    """The nodes, with only the launch arguments that were given as parameter overrides."""
    arg = {name: LaunchConfiguration(name).perform(context) for name in (*SERVER_ARGUMENTS, "namespace")}
    overrides = {param: arg[name] for name, param in SERVER_ARGUMENTS.items() if arg[name]}
    sim_time = {"use_sim_time": LaunchConfiguration("use_sim_time").perform(context).lower() == "true"}
    config = LaunchConfiguration("config").perform(context)
    return [
        Node(
            package="zerohsi_ros",
            executable="hsi_server",
            name="hsi_server",
            namespace=arg["namespace"],
            output="screen",
            emulate_tty=True,
            parameters=[config, overrides, sim_time],
        ),
        Node(
            package="zerohsi_ros",
            executable="trajectory_player",
            name="trajectory_player",
            namespace=arg["namespace"],
            output="screen",
            condition=IfCondition(LaunchConfiguration("player")),
            parameters=[{"body_id": LaunchConfiguration("body_id").perform(context)}, sim_time],
        ),
        Node(
            package="rviz2",
            executable="rviz2",
            name="rviz2",
            namespace=arg["namespace"],
            arguments=["-d", LaunchConfiguration("rviz_config").perform(context)],
            condition=IfCondition(LaunchConfiguration("rviz")),
            parameters=[sim_time],
        ),
    ]


def generate_launch_description() -> LaunchDescription:
    """Launch arguments and the nodes."""
    share = get_package_share_directory("zerohsi_ros")
    arguments = [
        ("config", os.path.join(share, "config", "hsi.yaml"), "ROS parameters file of hsi_server"),
        ("profile", "", "config profile: paper | draft ('' = the file's)"),
        ("video_backend", "", "scripted | file | kling | wan ('' = the file's)"),
        ("device", "", "auto | cpu | cuda | cuda:N ('' = the file's)"),
        ("namespace", "", "namespace of all nodes"),
        ("player", "true", "start the trajectory player"),
        ("body_id", "hsi01", "body id of the player (/humans/bodies/<id>/…, TF body_<id>)"),
        ("rviz", "false", "start RViz"),
        ("rviz_config", os.path.join(share, "config", "zerohsi.rviz"), "RViz configuration"),
        ("use_sim_time", "false", "use /clock"),
    ]
    return LaunchDescription(
        [
            DeclareLaunchArgument(name, default_value=default, description=doc)
            for name, default, doc in arguments
        ]
        + [OpaqueFunction(function=_nodes)]
    )
