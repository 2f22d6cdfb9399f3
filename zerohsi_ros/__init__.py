"""zerohsi_ros: the ROS 2 layer over zerohsi_core (hand-written nodes), plus the rosidl-generated
`zerohsi_ros.msg` and `zerohsi_ros.action` modules that the build installs into this package."""
