"""MCAP export: read back with mcap_ros2, message counts per topic and the decoded content match."""

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from core.io.export_result import make_result
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory

from zerohsi_core.body.joints import JOINT_NAMES
from zerohsi_core.io.export_common import ExportMotion, load_motion
from zerohsi_core.io.export_mcap import MSG_DEFINITIONS, McapOptions, write_mcap

MSG_DIR = Path(__file__).resolve().parents[3] / "msg"
FRAMES = 4


def decoded(path: Path) -> list[tuple[str, int, object]]:
    """(topic, log time ns, decoded message) of every message, in log-time order."""
    with path.open("rb") as stream:
        reader = make_reader(stream, decoder_factories=[DecoderFactory()])
        return [(c.topic, m.log_time, msg) for _, c, m, msg in reader.iter_decoded_messages()]


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[ExportMotion, Path]:
    folder = tmp_path_factory.mktemp("mcap")
    motion = load_motion(make_result(folder / "res", frames=FRAMES))
    return motion, write_mcap(motion, folder / "motion.mcap", McapOptions(start_ns=5_000_000_000))


def test_counts_schemas_and_times(exported) -> None:
    _, path = exported
    messages = decoded(path)
    assert Counter(topic for topic, _, _ in messages) == {
        "/hsi_server/smplx_trajectory": 1, "/hsi_server/object_trajectory": 1, "/tf": FRAMES,
        "/trajectory_player/object_pose": FRAMES,
    }  # fmt: skip
    tf_times = [ns for topic, ns, _ in messages if topic == "/tf"]
    assert tf_times == [5_000_000_000 + t * 100_000_000 for t in range(FRAMES)]
    with path.open("rb") as stream:
        summary = make_reader(stream).get_summary()
    names = {s.name for s in summary.schemas.values()}
    assert names == {"zerohsi_ros/msg/SmplxTrajectory", "zerohsi_ros/msg/ObjectTrajectory",
                     "tf2_msgs/msg/TFMessage", "geometry_msgs/msg/PoseStamped"}  # fmt: skip
    assert {s.encoding for s in summary.schemas.values()} == {"ros2msg"}
    assert {c.message_encoding for c in summary.channels.values()} == {"cdr"}


def test_decoded_content(exported) -> None:
    motion, path = exported
    by_topic: dict[str, list] = {}
    for topic, _, msg in decoded(path):
        by_topic.setdefault(topic, []).append(msg)
    traj = by_topic["/hsi_server/smplx_trajectory"][0]
    assert (traj.header.frame_id, traj.body_model, traj.gender, traj.fps) == (
        "map",
        "standin",
        "neutral",
        10.0,
    )
    assert list(traj.joint_names) == list(JOINT_NAMES) and len(traj.states) == FRAMES
    assert np.allclose(traj.states[2].body_pose, motion.poses[2, 1:22].reshape(-1), atol=1e-6)
    assert np.allclose(traj.states[2].right_hand_pose, motion.poses[2, 40:].reshape(-1), atol=1e-6)
    assert np.allclose([[p.x, p.y, p.z] for p in traj.joints], motion.joints.reshape(-1, 3), atol=1e-6)
    tf = by_topic["/tf"][3].transforms
    assert len(tf) == 1 + 55 + 1 and tf[0].child_frame_id == "body_hsi01"
    knee = next(x for x in tf if x.child_frame_id == "body_hsi01_left_knee").transform.translation
    assert np.allclose([knee.x, knee.y, knee.z], motion.joints[3, 4])
    pose = by_topic["/trajectory_player/object_pose"][1].pose
    assert np.allclose([pose.position.x, pose.position.y, pose.position.z], motion.object_poses[1, :3, 3])
    half = np.arctan2(pose.orientation.z, pose.orientation.w)  # rotation about z by 2 * half
    assert 2 * half == pytest.approx(np.arctan2(motion.object_poses[1, 1, 0], motion.object_poses[1, 0, 0]))
    assert len(by_topic["/hsi_server/object_trajectory"][0].poses) == FRAMES


def _strip(text: str) -> str:
    lines = (re.sub(r"#.*", "", line).strip() for line in text.splitlines())
    return "\n".join(re.sub(r"\s+", " ", line) for line in lines if line)


@pytest.mark.parametrize("name", ["SmplxState", "SmplxTrajectory", "ObjectTrajectory"])
def test_embedded_definitions_match_msg_files(name: str) -> None:
    assert _strip(MSG_DEFINITIONS[f"zerohsi_ros/{name}"]) == _strip((MSG_DIR / f"{name}.msg").read_text())
