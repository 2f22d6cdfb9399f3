"""Geometry in torch: rotations, rigid transforms and pinhole cameras (z-up world, metres, REP-103)."""

from zerohsi_core.geometry.camera import Camera, intrinsics_from_fov, look_at, orbit_cameras
from zerohsi_core.geometry.rotations import (
    axis_angle_to_matrix,
    axis_angle_to_quat_wxyz,
    matrix_to_axis_angle,
    matrix_to_quat_wxyz,
    matrix_to_rot6d,
    quat_multiply_wxyz,
    quat_wxyz_to_axis_angle,
    quat_wxyz_to_matrix,
    quat_wxyz_to_xyzw,
    quat_xyzw_to_wxyz,
    rot6d_to_matrix,
    skew,
)
from zerohsi_core.geometry.se3 import (
    make_se3,
    se3_compose,
    se3_exp,
    se3_from_rot6d,
    se3_inverse,
    se3_log,
    transform_points,
)

__all__ = [
    "Camera",
    "axis_angle_to_matrix",
    "axis_angle_to_quat_wxyz",
    "intrinsics_from_fov",
    "look_at",
    "make_se3",
    "matrix_to_axis_angle",
    "matrix_to_quat_wxyz",
    "matrix_to_rot6d",
    "orbit_cameras",
    "quat_multiply_wxyz",
    "quat_wxyz_to_axis_angle",
    "quat_wxyz_to_matrix",
    "quat_wxyz_to_xyzw",
    "quat_xyzw_to_wxyz",
    "rot6d_to_matrix",
    "se3_compose",
    "se3_exp",
    "se3_from_rot6d",
    "se3_inverse",
    "se3_log",
    "skew",
    "transform_points",
]
