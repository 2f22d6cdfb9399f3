"""The SMPL-X skeleton: 55 named joints, their kinematic parents and the joint groups the losses use."""

from typing import Literal

Side = Literal["left", "right"]
SideOrBoth = Literal["left", "right", "both"]

_FINGERS = ("index", "middle", "pinky", "ring", "thumb")


def _hand_joint_names(side: Side) -> tuple[str, ...]:
    return tuple(f"{side}_{finger}{k}" for finger in _FINGERS for k in (1, 2, 3))


JOINT_NAMES: tuple[str, ...] = (
    "pelvis",
    "left_hip",
    "right_hip",
    "spine1",
    "left_knee",
    "right_knee",
    "spine2",
    "left_ankle",
    "right_ankle",
    "spine3",
    "left_foot",
    "right_foot",
    "neck",
    "left_collar",
    "right_collar",
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "jaw",
    "left_eye_smplhf",
    "right_eye_smplhf",
    *_hand_joint_names("left"),
    *_hand_joint_names("right"),
)
"""SMPL-X skeleton joints in model order (`smplx.joint_names.JOINT_NAMES[:55]`)."""

NUM_JOINTS = len(JOINT_NAMES)  # 55
NUM_BODY_JOINTS = 22  # pelvis + 21 body joints: the paper's "first 22 SMPL-X joints"
NUM_BODY_POSE_JOINTS = NUM_BODY_JOINTS - 1  # body_pose excludes the root (smplx NUM_BODY_JOINTS)
NUM_HAND_JOINTS = 15
BODY_JOINT_NAMES: tuple[str, ...] = JOINT_NAMES[:NUM_BODY_JOINTS]

JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(JOINT_NAMES)}

_PARENT_NAMES: dict[str, str] = {
    "left_hip": "pelvis",
    "right_hip": "pelvis",
    "spine1": "pelvis",
    "left_knee": "left_hip",
    "right_knee": "right_hip",
    "spine2": "spine1",
    "left_ankle": "left_knee",
    "right_ankle": "right_knee",
    "spine3": "spine2",
    "left_foot": "left_ankle",
    "right_foot": "right_ankle",
    "neck": "spine3",
    "left_collar": "spine3",
    "right_collar": "spine3",
    "head": "neck",
    "left_shoulder": "left_collar",
    "right_shoulder": "right_collar",
    "left_elbow": "left_shoulder",
    "right_elbow": "right_shoulder",
    "left_wrist": "left_elbow",
    "right_wrist": "right_elbow",
    "jaw": "head",
    "left_eye_smplhf": "head",
    "right_eye_smplhf": "head",
}
for _side in ("left", "right"):
    for _finger in _FINGERS:
        _PARENT_NAMES[f"{_side}_{_finger}1"] = f"{_side}_wrist"
        _PARENT_NAMES[f"{_side}_{_finger}2"] = f"{_side}_{_finger}1"
        _PARENT_NAMES[f"{_side}_{_finger}3"] = f"{_side}_{_finger}2"

PARENTS: tuple[int, ...] = tuple(
    -1 if name == "pelvis" else JOINT_INDEX[_PARENT_NAMES[name]] for name in JOINT_NAMES
)
"""Parent index of every joint (-1 for the pelvis); the first row of SMPL-X's `kintree_table`."""


def joint_index(name: str) -> int:
    """Index of a joint by its SMPL-X name; KeyError lists nothing else to keep it short."""
    return JOINT_INDEX[name]


def _sides(side: SideOrBoth) -> tuple[Side, ...]:
    if side not in ("left", "right", "both"):
        raise ValueError(f"side must be 'left', 'right' or 'both', got {side!r}")
    return ("left", "right") if side == "both" else (side,)


def hand_joints(side: SideOrBoth = "both") -> tuple[int, ...]:
    """Wrist and the 15 finger joints of one or both hands."""
    return tuple(JOINT_INDEX[name] for s in _sides(side) for name in (f"{s}_wrist", *_hand_joint_names(s)))


def foot_joints(side: SideOrBoth = "both") -> tuple[int, ...]:
    """Ankle and foot (toe base) joints of one or both legs."""
    return tuple(JOINT_INDEX[f"{s}_{part}"] for s in _sides(side) for part in ("ankle", "foot"))


def arm_joints(side: Side) -> tuple[int, ...]:
    """Collar, shoulder, elbow, and the hand joints of one side."""
    names = (f"{side}_collar", f"{side}_shoulder", f"{side}_elbow")
    return tuple(JOINT_INDEX[n] for n in names) + hand_joints(side)


HEAD_JOINTS: tuple[int, ...] = tuple(
    JOINT_INDEX[n] for n in ("head", "jaw", "left_eye_smplhf", "right_eye_smplhf")
)


def descendants(joint: int) -> tuple[int, ...]:
    """The joint and every joint below it in the kinematic tree."""
    found = [joint]
    for j in range(joint + 1, NUM_JOINTS):
        if PARENTS[j] in found:
            found.append(j)
    return tuple(found)
