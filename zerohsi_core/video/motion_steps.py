"""Building blocks shared by the motion builders: headings, ground frames, edge points, the bend-down and
stand-up phases and palm keys on contact points."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from zerohsi_core.video.motion_poses import STANDING, Angles, Posture, bend, merged, pose_from_angles
from zerohsi_core.video.motion_script import HandKey, MotionScript
from zerohsi_core.video.motion_sites import Contacts, Edge
from zerohsi_core.video.motions import MotionContext

DOWN = (0.0, 0.0, -1.0)


def unit(v: np.ndarray) -> np.ndarray:
    """v [n] scaled to length 1."""
    return v / max(float(np.linalg.norm(v)), 1e-9)


def heading(v: np.ndarray) -> float:
    """Heading (radians from +x) of a horizontal direction [2]."""
    return math.atan2(float(v[1]), float(v[0]))


def edge_point(edge: Edge, xy: np.ndarray, margin: float) -> np.ndarray:
    """Point [2] of the edge nearest to xy, at least `margin` from the edge's ends."""
    reach = max(0.5 * edge.length - margin, 0.0)
    along = float(np.clip((xy - edge.mid[:2]) @ edge.along, -reach, reach))
    return edge.mid[:2] + along * edge.along


def body_frame(xy: np.ndarray | Tensor, yaw: float) -> Tensor:
    """Ground frame [4, 4] float64 at xy facing yaw (the frame attached objects and body hands move in)."""
    frame = torch.eye(4, dtype=torch.float64)
    c, s = math.cos(yaw), math.sin(yaw)
    frame[:2, :2] = torch.tensor([[c, -s], [s, c]], dtype=torch.float64)
    frame[:2, 3] = torch.as_tensor(np.asarray(xy, dtype=np.float64)[:2])
    return frame


def translation(offset: np.ndarray | Tensor) -> Tensor:
    """Pure translation [4, 4] float64 by offset [3]."""
    frame = torch.eye(4, dtype=torch.float64)
    frame[:3, 3] = torch.as_tensor(np.asarray(offset, dtype=np.float64))
    return frame


def pose_of(angles: Angles) -> Tensor:
    """Body pose [21, 3] of joint angles in degrees."""
    return pose_from_angles(angles)[0]


def bend_to(
    ctx: MotionContext,
    s: MotionScript,
    feet: np.ndarray,
    facing: np.ndarray,
    posture: Posture,
    duration: float,
) -> None:
    """Bend and squat into `posture` over `duration`, the pelvis set back from the feet."""
    pelvis = torch.tensor([*(feet - posture.setback * facing), posture.pelvis_height], dtype=torch.float32)
    lean = math.degrees(posture.lean)
    share = ctx.options.script.posture.root_share
    pose = pose_of(merged(STANDING, bend(lean, ctx.options.script.posture)))
    s.move(duration, pelvis=pelvis, pitch=math.radians(lean * share), pose=pose, knee_out=posture.knee_out)


def stand_up(s: MotionScript, feet: np.ndarray, duration: float) -> None:
    """Straighten up over `duration` with the pelvis above `feet` [2]."""
    pelvis = torch.tensor([*feet, s.rig.geometry.standing_pelvis_height], dtype=torch.float32)
    s.move(duration, pelvis=pelvis, pitch=0.0, pose=pose_of(STANDING), knee_out=0.0)


def hand_key(contacts: Contacts, fingers: np.ndarray, to_object: Tensor) -> HandKey:
    """Palms on the contacts (world), facing into the surface, fingers along `fingers` [3], expressed in the
    object's frame (`to_object`: world → object [4, 4]) so that they move with it."""
    points = torch.as_tensor(contacts.points, dtype=torch.float64)
    normals = -torch.as_tensor(contacts.normals, dtype=torch.float64)
    finger = torch.as_tensor(np.stack([fingers, fingers]), dtype=torch.float64)
    R, t = to_object[:3, :3], to_object[:3, 3]
    return HandKey((points @ R.T + t).float(), (normals @ R.T).float(), (finger @ R.T).float(), "object")
