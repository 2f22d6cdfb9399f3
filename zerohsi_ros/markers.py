"""RViz markers of a body frame: skeleton lines (joint → parent) and joint spheres."""

from __future__ import annotations

from dataclasses import dataclass

from builtin_interfaces.msg import Time
from geometry_msgs.msg import Point
from std_msgs.msg import ColorRGBA, Header
from torch import Tensor
from visualization_msgs.msg import Marker, MarkerArray

from zerohsi_core.body.joints import PARENTS


@dataclass(frozen=True)
class MarkerStyle:
    """Sizes (metres) and colours of the skeleton markers."""

    line_width: float = 0.02
    joint_diameter: float = 0.04
    line_rgba: tuple[float, float, float, float] = (0.1, 0.5, 0.9, 1.0)
    joint_rgba: tuple[float, float, float, float] = (0.9, 0.4, 0.1, 1.0)


def skeleton_markers(
    joints: Tensor, header: Header, ns: str, style: MarkerStyle = MarkerStyle()
) -> MarkerArray:
    """Markers of one frame's joints [55, 3]: a LINE_LIST of bones and a SPHERE_LIST of joints."""
    points = [Point(x=x, y=y, z=z) for x, y, z in joints.detach().double().cpu().tolist()]
    bones = Marker(header=header, ns=ns, id=0, type=Marker.LINE_LIST, action=Marker.ADD)
    bones.pose.orientation.w = 1.0
    bones.scale.x = style.line_width
    bones.color = ColorRGBA(
        r=style.line_rgba[0], g=style.line_rgba[1], b=style.line_rgba[2], a=style.line_rgba[3]
    )
    bones.points = [p for j, parent in enumerate(PARENTS) if parent >= 0 for p in (points[parent], points[j])]
    spheres = Marker(header=header, ns=ns, id=1, type=Marker.SPHERE_LIST, action=Marker.ADD)
    spheres.pose.orientation.w = 1.0
    spheres.scale.x = spheres.scale.y = spheres.scale.z = style.joint_diameter
    spheres.color = ColorRGBA(
        r=style.joint_rgba[0], g=style.joint_rgba[1], b=style.joint_rgba[2], a=style.joint_rgba[3]
    )
    spheres.points = points
    return MarkerArray(markers=[bones, spheres])


def stamped_header(frame_id: str, stamp: Time) -> Header:
    """A std_msgs/Header."""
    return Header(frame_id=frame_id, stamp=stamp)
