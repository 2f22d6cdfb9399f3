"""Message ↔ core conversions: SMPL-X states, joints, poses, trajectories. Field copying only; the
rotation maths (axis-angle, quaternions, SE(3)) is zerohsi_core.geometry's."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from builtin_interfaces.msg import Duration, Time
from geometry_msgs.msg import Point, Pose, Quaternion, Transform, TransformStamped, Vector3
from std_msgs.msg import Header
from torch import Tensor
from trajectory_msgs.msg import MultiDOFJointTrajectory, MultiDOFJointTrajectoryPoint

from zerohsi_core.body.joints import JOINT_NAMES, NUM_BODY_POSE_JOINTS, NUM_HAND_JOINTS, NUM_JOINTS
from zerohsi_core.body.params import SmplxParams
from zerohsi_core.errors import InputError
from zerohsi_core.geometry.rotations import (
    axis_angle_to_quat_wxyz,
    matrix_to_quat_wxyz,
    quat_wxyz_to_matrix,
    quat_wxyz_to_xyzw,
    quat_xyzw_to_wxyz,
)
from zerohsi_core.geometry.se3 import make_se3
from zerohsi_ros.msg import ObjectTrajectory, SmplxState, SmplxTrajectory

NANOSECONDS = 1_000_000_000
# SMPL-X rotation fields in skeleton order: [pelvis, body 1..21, jaw, eyes, left hand, right hand].
_ROTATION_FIELDS = (
    "global_orient",
    "body_pose",
    "jaw_pose",
    "leye_pose",
    "reye_pose",
    "left_hand_pose",
    "right_hand_pose",
)
_FIXED_SHAPES = {
    "global_orient": (3,),
    "transl": (3,),
    "body_pose": (NUM_BODY_POSE_JOINTS, 3),
    "left_hand_pose": (NUM_HAND_JOINTS, 3),
    "right_hand_pose": (NUM_HAND_JOINTS, 3),
    "jaw_pose": (3,),
    "leye_pose": (3,),
    "reye_pose": (3,),
}


def duration(seconds: float) -> Duration:
    """builtin_interfaces/Duration of a non-negative number of seconds."""
    nanoseconds = int(round(seconds * NANOSECONDS))
    return Duration(sec=nanoseconds // NANOSECONDS, nanosec=nanoseconds % NANOSECONDS)


def params_to_states(params: SmplxParams) -> list[SmplxState]:
    """SmplxParams [T] → one SmplxState per frame (float32, flattened poses)."""
    arrays = {name: _numpy(getattr(params, name)) for name in (*_FIXED_SHAPES, "betas", "expression")}
    states = []
    for t in range(params.batch_size):
        state = SmplxState()
        for name, values in arrays.items():
            setattr(state, name, values[t].reshape(-1))
        states.append(state)
    return states


def states_to_params(states: Sequence[SmplxState], dtype: torch.dtype = torch.float32) -> SmplxParams:
    """SmplxState[] → SmplxParams [T]; InputError if empty, ragged or non-finite."""
    if not states:
        raise InputError("no SMPL-X states given: need at least one")
    fields = {}
    for name, shape in _FIXED_SHAPES.items():
        fields[name] = torch.as_tensor(np.stack([np.asarray(getattr(s, name)) for s in states])).reshape(
            -1, *shape
        )
    for name in ("betas", "expression"):
        rows = [np.asarray(getattr(s, name), dtype=np.float32) for s in states]
        if len({row.shape for row in rows}) != 1:
            raise InputError(f"SmplxState.{name} has different lengths across frames")
        fields[name] = torch.as_tensor(np.stack(rows))
    return SmplxParams(**{k: v.to(dtype) for k, v in fields.items()}).validate()


def joints_to_points(joints: Tensor) -> list[Point]:
    """Joints [T, J, 3] → T·J points, frame-major."""
    flat = _numpy(joints).reshape(-1, 3).astype(np.float64)
    return [Point(x=float(x), y=float(y), z=float(z)) for x, y, z in flat]


def points_to_joints(points: Sequence[Point], num_joints: int = NUM_JOINTS) -> Tensor:
    """T·J points, frame-major → joints [T, J, 3] (float32)."""
    if len(points) % num_joints:
        raise InputError(f"{len(points)} joint points is not a multiple of {num_joints} joints")
    values = np.array([[p.x, p.y, p.z] for p in points], dtype=np.float32).reshape(-1, num_joints, 3)
    return torch.as_tensor(values)


def matrix_to_pose(matrix: Tensor) -> Pose:
    """Rigid transform [4, 4] → geometry_msgs/Pose (quaternion x, y, z, w)."""
    m = matrix.detach().to(torch.float64).cpu()
    q = quat_wxyz_to_xyzw(matrix_to_quat_wxyz(m[:3, :3])).tolist()  # [4] x, y, z, w
    x, y, z = m[:3, 3].tolist()
    return Pose(position=Point(x=x, y=y, z=z), orientation=Quaternion(x=q[0], y=q[1], z=q[2], w=q[3]))


def pose_to_matrix(pose: Pose, dtype: torch.dtype = torch.float32) -> Tensor:
    """geometry_msgs/Pose → rigid transform [4, 4]; InputError for a zero or non-finite quaternion."""
    o, p = pose.orientation, pose.position
    xyzw = torch.tensor([o.x, o.y, o.z, o.w], dtype=torch.float64)
    translation = torch.tensor([p.x, p.y, p.z], dtype=torch.float64)
    if not bool(torch.isfinite(xyzw).all() and torch.isfinite(translation).all()):
        raise InputError("the pose has NaN or infinite values")
    if float(xyzw.norm()) == 0.0:
        raise InputError("the pose's quaternion is all zeros; identity is (x, y, z, w) = (0, 0, 0, 1)")
    return make_se3(quat_wxyz_to_matrix(quat_xyzw_to_wxyz(xyzw)), translation).to(dtype)


def transform_msg(matrix: Tensor) -> Transform:
    """Rigid transform [4, 4] → geometry_msgs/Transform."""
    pose = matrix_to_pose(matrix)
    p = pose.position
    return Transform(translation=Vector3(x=p.x, y=p.y, z=p.z), rotation=pose.orientation)


def smplx_trajectory(
    params: SmplxParams, joints: Tensor, fps: float, header: Header, body_model: str, gender: str
) -> SmplxTrajectory:
    """SMPL-X parameters [T] and joints [T, 55, 3] → SmplxTrajectory."""
    if joints.shape[0] != params.batch_size:
        raise InputError(f"{params.batch_size} parameter frames but {joints.shape[0]} joint frames")
    return SmplxTrajectory(
        header=header,
        body_model=body_model,
        gender=gender,
        fps=float(fps),
        joint_names=list(JOINT_NAMES),
        states=params_to_states(params),
        joints=joints_to_points(joints),
    )


def trajectory_to_core(msg: SmplxTrajectory) -> tuple[SmplxParams, Tensor]:
    """SmplxTrajectory → (SmplxParams [T], joints [T, J, 3])."""
    params = states_to_params(msg.states)
    joints = points_to_joints(msg.joints, len(msg.joint_names) or NUM_JOINTS)
    if joints.shape[0] != params.batch_size:
        raise InputError(f"{params.batch_size} states but {joints.shape[0]} frames of joints")
    return params, joints


def joint_trajectory(joints: Tensor, fps: float, header: Header) -> MultiDOFJointTrajectory:
    """Joints [T, 55, 3] → MultiDOFJointTrajectory: one transform per joint (position, identity rotation)."""
    frames = _numpy(joints).astype(np.float64)  # [T, J, 3]
    points = []
    for t, frame in enumerate(frames):
        transforms = [
            Transform(translation=Vector3(x=float(x), y=float(y), z=float(z)), rotation=Quaternion(w=1.0))
            for x, y, z in frame
        ]
        points.append(MultiDOFJointTrajectoryPoint(transforms=transforms, time_from_start=duration(t / fps)))
    return MultiDOFJointTrajectory(header=header, joint_names=list(JOINT_NAMES), points=points)


def object_trajectory(object_id: str, poses: Tensor, fps: float, header: Header) -> ObjectTrajectory:
    """Object-to-world poses [T, 4, 4] → ObjectTrajectory."""
    return ObjectTrajectory(
        header=header, object_id=object_id, fps=float(fps), poses=[matrix_to_pose(p) for p in poses]
    )


def object_poses(msg: ObjectTrajectory) -> Tensor:
    """ObjectTrajectory → poses [T, 4, 4] (float32)."""
    return torch.stack([pose_to_matrix(p) for p in msg.poses]) if msg.poses else torch.zeros(0, 4, 4)


def rotation_vectors(params: SmplxParams) -> Tensor:
    """Per-joint axis-angle rotations [T, 55, 3] in skeleton (JOINT_NAMES) order."""
    parts = [getattr(params, name).reshape(params.batch_size, -1, 3) for name in _ROTATION_FIELDS]
    return torch.cat(parts, dim=1)


def body_transforms(
    params: SmplxParams, joints: Tensor, frame: int, parent: str, body_frame: str, stamp: Time
) -> list[TransformStamped]:
    """TF of one frame (REP-155 style): `body_frame` at the pelvis, oriented by global_orient, and one
    frame `<body_frame>_<joint>` per skeleton joint at its position (axes of the parent frame)."""
    position = joints[frame].detach().to(torch.float64).cpu()  # [55, 3]
    orient = quat_wxyz_to_xyzw(
        axis_angle_to_quat_wxyz(params.global_orient[frame].detach().double())
    ).tolist()
    out = [_stamped(parent, body_frame, stamp, position[0].tolist(), orient)]
    for name, xyz in zip(JOINT_NAMES, position.tolist(), strict=True):
        out.append(_stamped(parent, f"{body_frame}_{name}", stamp, xyz, [0.0, 0.0, 0.0, 1.0]))
    return out


def pose_transform(pose: Pose, parent: str, child: str, stamp: Time) -> TransformStamped:
    """A Pose as the TF transform parent → child."""
    p, o = pose.position, pose.orientation
    return _stamped(parent, child, stamp, [p.x, p.y, p.z], [o.x, o.y, o.z, o.w])


def _stamped(
    parent: str, child: str, stamp: Time, xyz: Sequence[float], xyzw: Sequence[float]
) -> TransformStamped:
    msg = TransformStamped()
    msg.header.frame_id, msg.header.stamp, msg.child_frame_id = parent, stamp, child
    msg.transform.translation = Vector3(x=float(xyz[0]), y=float(xyz[1]), z=float(xyz[2]))
    msg.transform.rotation = Quaternion(
        x=float(xyzw[0]), y=float(xyzw[1]), z=float(xyzw[2]), w=float(xyzw[3])
    )
    return msg


def _numpy(t: Tensor) -> np.ndarray:
    return t.detach().to(torch.float32).cpu().numpy()
