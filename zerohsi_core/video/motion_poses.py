"""Preset body poses of the scripted motions (joint angles on the SMPL-X model axes) and the posture
that brings the hands down to a given height (lean of the trunk, lowering of the pelvis)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor

from zerohsi_core.body.joints import JOINT_INDEX, NUM_BODY_POSE_JOINTS
from zerohsi_core.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from zerohsi_core.video.motion_rig import PALM_REST, Rig, frame_rotation, root_rotation

Angles = Mapping[str, tuple[float, float, float]]  # joint name -> axis-angle in degrees (model axes)

# Arms hang by the sides with a slight elbow bend; model axes: x = body's left, y = up, z = front.
STANDING: Angles = {
    "left_shoulder": (0.0, 0.0, -72.0),
    "right_shoulder": (0.0, 0.0, 72.0),
    "left_elbow": (0.0, -12.0, 0.0),
    "right_elbow": (0.0, 12.0, 0.0),
}
SEATED_LEGS: Angles = {  # hips and knees at right angles (used where the legs are not solved by IK)
    "left_hip": (-90.0, 0.0, 0.0),
    "right_hip": (-90.0, 0.0, 0.0),
    "left_knee": (90.0, 0.0, 0.0),
    "right_knee": (90.0, 0.0, 0.0),
}
LYING: Angles = {  # on the back, knees raised a little, head lifted as if on a cushion
    "left_hip": (-30.0, 0.0, 4.0),
    "right_hip": (-30.0, 0.0, -4.0),
    "left_knee": (55.0, 0.0, 0.0),
    "right_knee": (55.0, 0.0, 0.0),
    "neck": (20.0, 0.0, 0.0),
    "left_shoulder": (0.0, 0.0, -78.0),
    "right_shoulder": (0.0, 0.0, 78.0),
    "left_elbow": (0.0, -20.0, 0.0),
    "right_elbow": (0.0, 20.0, 0.0),
}
SPINE_SHARE = {"spine1": 0.35, "spine2": 0.35, "spine3": 0.3}  # how a trunk bend spreads over the spine
NECK_COUNTER = 0.4  # the neck undoes this share of a forward bend, so the head looks ahead


@dataclass(frozen=True)
class PostureOptions:
    """Limits and shares of the reaching posture."""

    arm_reach: float = 0.96  # shoulder-to-wrist distance at most this share of the arm's length...
    min_arm_reach: float = 0.55  # ...and at least this share (arms not folded up)
    grid: int = 16  # lean and pelvis-height samples of the posture search
    squat_effort: float = 1.5  # cost of a full squat relative to the full lean
    squat_setback: float = 0.3  # pelvis moves back by this share of its lowering
    max_lean_deg: float = 75.0  # most forward bend of the trunk
    root_share: float = 0.55  # share of a bend taken at the hips (root tilt); the rest is the spine
    min_pelvis_height: float = 0.38  # deepest squat, pelvis above the floor
    balance_shift: float = 0.35  # the pelvis moves back by this share of the shoulders' forward lean
    squat_knee_out_deg: float = 25.0  # knees turn outwards in a squat
    arm_swing_deg_per_m: float = 70.0  # shoulder swing per metre of the opposite foot's offset, walking


def pose_from_angles(angles: Angles, batch: int = 1, dtype: torch.dtype = torch.float32) -> Tensor:
    """Body pose [batch, 21, 3] (axis-angle, radians) from joint angles in degrees."""
    pose = torch.zeros(batch, NUM_BODY_POSE_JOINTS, 3, dtype=dtype)
    for name, value in angles.items():
        pose[:, JOINT_INDEX[name] - 1] = torch.deg2rad(torch.tensor(value, dtype=dtype))
    return pose


def merged(*parts: Angles) -> dict[str, tuple[float, float, float]]:
    """Joint angles of several presets, later ones winning."""
    out: dict[str, tuple[float, float, float]] = {}
    for part in parts:
        out.update(part)
    return out


def bend(angle_deg: float, options: PostureOptions) -> dict[str, tuple[float, float, float]]:
    """Spine angles of a forward bend whose non-root share is `angle_deg · (1 − root_share)`."""
    spine = angle_deg * (1.0 - options.root_share)
    angles = {name: (share * spine, 0.0, 0.0) for name, share in SPINE_SHARE.items()}
    angles["neck"] = (-NECK_COUNTER * angle_deg, 0.0, 0.0)
    return angles


@dataclass(frozen=True)
class Posture:
    """A reaching posture: trunk lean, pelvis height, pelvis set-back behind the feet, knees turned out."""

    lean: float  # radians, whole trunk (root tilt + spine)
    pelvis_height: float
    setback: float  # pelvis behind the feet, metres
    knee_out: float  # radians


@dataclass(frozen=True)
class Reach:
    """Palm targets in the frame of the feet (origin between the feet on the floor, facing +x)."""

    palms: Tensor  # [2, 3] left, right
    normals: Tensor  # [2, 3] direction each palm faces
    fingers: Tensor  # [2, 3] direction the fingers point

    @classmethod
    def symmetric(cls, ahead: float, half_span: float, height: float, normal: str, fingers: str) -> Reach:
        """Both palms `ahead` of the feet, `half_span` to either side at `height`; normal/fingers: "in"
        (towards each other), "down", "forward" or "up"."""
        axes = {"down": (0.0, 0.0, -1.0), "forward": (1.0, 0.0, 0.0), "up": (0.0, 0.0, 1.0)}

        def pair(kind: str) -> Tensor:
            if kind == "in":
                return torch.tensor([[0.0, -1.0, 0.0], [0.0, 1.0, 0.0]])
            return torch.tensor([axes[kind]] * 2)

        palms = torch.tensor([[ahead, half_span, height], [ahead, -half_span, height]])
        return cls(palms, pair(normal), pair(fingers))


def reach_posture(reach: Reach, rig: Rig, options: PostureOptions) -> Posture:
    """The least effortful posture (leaning the trunk costs less than squatting) whose wrists reach the palm
    targets comfortably: a grid over lean and pelvis height, evaluated on the body (legs play no part)."""
    g = rig.geometry
    standing = g.standing_pelvis_height
    leans = torch.linspace(0.0, options.max_lean_deg, options.grid)
    heights = torch.linspace(standing, options.min_pelvis_height, options.grid)
    lean, pelvis = (x.reshape(-1) for x in torch.meshgrid(leans, heights, indexing="ij"))  # [N]
    trunk = float(g.bone("pelvis", "spine3").norm())
    setback = options.balance_shift * trunk * torch.sin(torch.deg2rad(lean)) + options.squat_setback * (
        standing - pelvis
    )
    per_degree = pose_from_angles(bend(1.0, options))  # a bend is linear in its angle
    pose = pose_from_angles(STANDING) + lean[:, None, None] * per_degree  # [N, 21, 3]
    root = root_rotation(torch.zeros_like(lean), torch.deg2rad(lean * options.root_share))
    params = rig.model.zeros(len(lean)).replace(
        betas=rig.betas.expand(len(lean), -1),
        global_orient=matrix_to_axis_angle(root),
        transl=torch.stack([-setback, torch.zeros_like(lean), pelvis], dim=-1) - g.joints[0],
        body_pose=pose,
    )
    joints, _, _ = rig.skeleton(params)
    shoulders = joints[:, [JOINT_INDEX["left_shoulder"], JOINT_INDEX["right_shoulder"]]]  # [N, 2, 3]
    rest_fingers = torch.tensor([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]])
    hand_rot = frame_rotation(
        reach.fingers, reach.normals, rest_fingers, torch.tensor(PALM_REST).expand(2, 3)
    )
    wrists = reach.palms - (hand_rot @ g.palm_offset[..., None])[..., 0]  # [2, 3]
    distance = (wrists - shoulders).norm(dim=-1).max(dim=1).values  # [N]
    arm = g.limb_length("arm")
    feasible = (distance <= options.arm_reach * arm) & (distance >= options.min_arm_reach * arm)
    squat = (standing - pelvis) / (standing - options.min_pelvis_height)
    effort = lean / options.max_lean_deg + options.squat_effort * squat
    i = int(torch.where(feasible, effort, 1e3 + (distance - options.arm_reach * arm).abs()).argmin())
    return Posture(
        lean=math.radians(float(lean[i])),
        pelvis_height=float(pelvis[i]),
        setback=float(setback[i]),
        knee_out=math.radians(options.squat_knee_out_deg) * float(squat[i]),
    )


def with_arm_swing(pose: Tensor, swing: Tensor, options: PostureOptions) -> Tensor:
    """Pose [T, 21, 3] with the shoulders swung forwards by swing [T, 2] (metres of the opposite foot's
    forward offset; positive = that arm forwards), as in walking."""
    pose = pose.clone()
    scale = math.radians(options.arm_swing_deg_per_m)
    for k, side in enumerate(("left", "right")):
        i = JOINT_INDEX[f"{side}_shoulder"] - 1
        angle = -swing[:, k] * scale  # forwards is a rotation about model −x for a hanging arm
        axis = torch.stack([angle, torch.zeros_like(angle), torch.zeros_like(angle)], dim=-1)
        pose[:, i] = matrix_to_axis_angle(axis_angle_to_matrix(axis) @ axis_angle_to_matrix(pose[:, i]))
    return pose
