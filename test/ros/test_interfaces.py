"""The generated ROS 2 interfaces import beside the hand-written zerohsi_ros code and carry our fields."""

import pytest

pytest.importorskip("rclpy")

from zerohsi_ros.action import GenerateInteraction  # noqa: E402
from zerohsi_ros.msg import ObjectTrajectory, SmplxState, SmplxTrajectory  # noqa: E402


def test_smplx_state_has_fixed_size_pose_arrays() -> None:
    state = SmplxState()
    assert len(state.body_pose) == 63 and len(state.left_hand_pose) == 45 and len(state.transl) == 3
    assert state.body_pose.dtype.name == "float32"


def test_action_goal_result_feedback_fields() -> None:
    goal = GenerateInteraction.Goal(scene_id="living_room", prompts=["sit on the sofa"], seed=3)
    assert goal.prompts == ["sit on the sofa"] and goal.num_frames == 0
    result = GenerateInteraction.Result(error_code=GenerateInteraction.Result.NOT_FOUND, message="x")
    assert result.error_code == 2
    traj = SmplxTrajectory(fps=10.0, states=[SmplxState()])
    assert traj.header.frame_id == "" and len(traj.states) == 1
    assert ObjectTrajectory(object_id="box").poses == []
    assert GenerateInteraction.Feedback(stage="hsi", progress=0.5).stage == "hsi"


def test_generated_modules_live_in_the_hand_written_package() -> None:
    import zerohsi_ros

    assert "hand-written" in (zerohsi_ros.__doc__ or "")
