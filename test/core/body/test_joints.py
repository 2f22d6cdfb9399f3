import smplx.joint_names

from zerohsi_core.body.joints import (
    BODY_JOINT_NAMES,
    HEAD_JOINTS,
    JOINT_NAMES,
    NUM_BODY_JOINTS,
    PARENTS,
    arm_joints,
    descendants,
    foot_joints,
    hand_joints,
    joint_index,
)

# SMPL-X v1.1 kintree_table[0] (root first, -1 for the pelvis)
SMPLX_PARENTS = (
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 15, 15, 15,
    20, 25, 26, 20, 28, 29, 20, 31, 32, 20, 34, 35, 20, 37, 38,
    21, 40, 41, 21, 43, 44, 21, 46, 47, 21, 49, 50, 21, 52, 53,
)  # fmt: skip


def test_names_match_smplx_order():
    assert tuple(smplx.joint_names.JOINT_NAMES[:55]) == JOINT_NAMES
    assert BODY_JOINT_NAMES[-1] == "right_wrist" and NUM_BODY_JOINTS == 22


def test_parents_are_smplx_kintree():
    assert PARENTS == SMPLX_PARENTS


def test_groups():
    assert [JOINT_NAMES[j] for j in foot_joints("left")] == ["left_ankle", "left_foot"]
    assert len(hand_joints("both")) == 32 and JOINT_NAMES[hand_joints("right")[0]] == "right_wrist"
    assert {JOINT_NAMES[j] for j in HEAD_JOINTS} == {"head", "jaw", "left_eye_smplhf", "right_eye_smplhf"}
    assert set(descendants(joint_index("left_elbow"))) == {joint_index("left_elbow")} | set(
        hand_joints("left")
    )
    assert set(arm_joints("right")) == set(descendants(joint_index("right_collar")))
