"""From per-frame world targets to SMPL-X parameters: root placement and two-bone IK for legs and arms.

A `MotionTrack` says where the pelvis is, how the root is turned and tilted, the preset pose of every
joint, where the ankles and palms should be and how feet and hands are oriented. `realize` places the
root (world-frame convention of `body.pose`: φ = R_z(yaw) · R_y(pitch) · Y_UP_TO_Z_UP, r = pelvis − J₀),
solves legs and arms analytically in the posed skeleton, blends them with the presets by per-frame
weights and grounds the planted feet on z = 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from smplx.lbs import batch_rigid_transform, batch_rodrigues, blend_shapes
from torch import Tensor

from zerohsi_core.body.frames import y_up_to_z_up
from zerohsi_core.body.joints import JOINT_INDEX, PARENTS
from zerohsi_core.body.model import BodyModel, BodyOutput
from zerohsi_core.body.params import SmplxParams
from zerohsi_core.body.pose import yaw_matrix
from zerohsi_core.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle

SIDES = ("left", "right")
SIDE_SIGN = {"left": 1.0, "right": -1.0}  # model +x is the body's left
PALM_REST = (0.0, -1.0, 0.0)  # palm normal of both hands in the T-pose (palms down), model frame
LEG_BEND_REST = (0.0, 0.0, -1.0)  # the shin folds backwards (model −z) when the knee flexes
ARM_BEND_REST = (0.0, 0.0, 1.0)  # the forearm folds forwards (model +z) when the elbow flexes
BUTTOCK_JOINTS = ("pelvis", "left_hip", "right_hip")
BACK_JOINTS = ("pelvis", "spine1", "spine2", "spine3")
CURLED_FINGERS = ("index", "middle", "pinky", "ring")
FINGER_CURL_AXIS = (0.0, 0.0, -1.0)  # left fingers curl towards the palm about model −z (right: +z)
ARM_POLE = (0.6, -0.7, -0.4)  # elbows point down, outwards and back (chest frame, left arm; x mirrored)
MIRROR = torch.tensor([1.0, -1.0, -1.0])  # axis-angle of a left-side joint → its right-side mirror
LENGTH_EPS = 1e-6
MIN_FOLD = 1e-3  # metres: a limb folds no tighter than |l1 − l2| plus this


@dataclass(frozen=True)
class RigOptions:
    """Tuning of the IK: reach margin, palm-contact refinement, relaxed finger curl."""

    reach_margin: float = 0.995  # targets beyond this fraction of the limb length are pulled in
    palm_iterations: int = 3  # at most this many solves to remove the palm error of pose correctives...
    palm_tolerance: float = 1e-4  # ...stopping once it is below this (metres)
    finger_curl_deg: float = 12.0  # per finger joint of a hand that touches nothing
    palm_radius: float = 0.02  # palm-centre vertex: lowest on the palm side within this of the centre
    sole_height: float = 0.03  # foot vertices this close to the rest pose's lowest one form the sole


@dataclass(frozen=True)
class RigGeometry:
    """Rest-pose facts of one body shape that the IK and the motions need (model frame, metres)."""

    joints: Tensor  # [55, 3] rest joints
    palm_vertex: tuple[int, int]  # palm-centre vertex of the left and right hand
    palm_offset: Tensor  # [2, 3] palm vertex − wrist joint, rest
    ankle_height: Tensor  # [2] ankle joint above the sole when the foot is flat
    foot_vertices: tuple[Tensor, Tensor]  # [K] vertex ids of each sole (the lowest part of the foot)
    thigh_vertices: tuple[Tensor, Tensor]  # [K] vertices dominated by each hip joint
    buttock_vertices: Tensor  # [K] vertices dominated by the pelvis and hips
    back_vertices: Tensor  # [K] vertices dominated by the pelvis and spine

    @property
    def standing_pelvis_height(self) -> float:
        """Pelvis above the soles in the rest pose."""
        return float(self.joints[0, 1] - self.joints[JOINT_INDEX["left_ankle"], 1] + self.ankle_height[0])

    def bone(self, parent: str, child: str) -> Tensor:
        """Rest vector [3] from one joint to another."""
        return self.joints[JOINT_INDEX[child]] - self.joints[JOINT_INDEX[parent]]

    def limb_length(self, kind: str) -> float:
        """Total length of both arm bones (shoulder→wrist) or leg bones (hip→ankle)."""
        a, b, c = (
            ("left_shoulder", "left_elbow", "left_wrist")
            if kind == "arm"
            else ("left_hip", "left_knee", "left_ankle")
        )
        return float(self.bone(a, b).norm() + self.bone(b, c).norm())


def rig_geometry(model: BodyModel, betas: Tensor, options: RigOptions | None = None) -> RigGeometry:
    """Measure the rest skeleton, palm centres, ankle heights and vertex groups of shape `betas` [nb]."""
    options = options or RigOptions()
    params = model.zeros(1).replace(betas=betas.reshape(1, -1).to(model.device, model.dtype))
    with torch.no_grad():
        out = model.forward(params)
    verts, joints = out.vertices[0], out.joints[0]  # [V, 3], [55, 3]
    dominant = model.lbs_weights.argmax(dim=1)  # [V]
    palms, offsets, ankles, feet = [], [], [], []
    for side in SIDES:
        wrist = JOINT_INDEX[f"{side}_wrist"]
        hand = torch.nonzero(dominant == wrist).squeeze(1)  # the palm's vertices
        centre = verts[hand].mean(0)
        near = (verts[hand][:, [0, 2]] - centre[[0, 2]]).norm(dim=1) < options.palm_radius
        pool = hand[near] if bool(near.any()) else hand
        palm = int(pool[verts[pool, 1].argmin()])  # the palm side is model −y
        palms.append(palm)
        offsets.append(verts[palm] - joints[wrist])
        foot_ids = model.foot_vertex_ids(side)  # type: ignore[arg-type]
        sole = verts[foot_ids, 1] < verts[foot_ids, 1].min() + options.sole_height
        feet.append(foot_ids[sole])
        ankles.append(joints[JOINT_INDEX[f"{side}_ankle"], 1] - verts[foot_ids, 1].min())

    def group(names: tuple[str, ...]) -> Tensor:
        ids = torch.tensor([JOINT_INDEX[n] for n in names], device=dominant.device)
        return torch.nonzero(torch.isin(dominant, ids)).squeeze(1)

    return RigGeometry(
        joints=joints.detach(),
        palm_vertex=(palms[0], palms[1]),
        palm_offset=torch.stack(offsets).detach(),
        ankle_height=torch.stack(ankles).detach(),
        foot_vertices=(feet[0], feet[1]),
        thigh_vertices=(group(("left_hip",)), group(("right_hip",))),
        buttock_vertices=group(BUTTOCK_JOINTS),
        back_vertices=group(BACK_JOINTS),
    )


@dataclass(frozen=True)
class MotionTrack:
    """Per-frame targets of a motion in the z-up world (metres, radians); T frames."""

    pelvis: Tensor  # [T, 3] pelvis joint position
    yaw: Tensor  # [T] heading, 0 = facing +x
    pitch: Tensor  # [T] tilt of the root about the body's left axis; +: forwards, −π/2: lying on the back
    body_pose: Tensor  # [T, 21, 3] preset pose of every joint (IK replaces legs/arms by its weights)
    feet: Tensor  # [T, 2, 3] ankle targets (left, right)
    foot_yaw: Tensor  # [T, 2] heading of each flat foot
    leg_ik: Tensor  # [T] weight of the leg IK against the preset legs
    knee_out: Tensor  # [T] knees turned outwards from straight ahead (radians, squats)
    hands: Tensor  # [T, 2, 3] palm-centre targets
    palm_normal: Tensor  # [T, 2, 3] unit direction the palms face (into the touched surface)
    finger_dir: Tensor  # [T, 2, 3] unit direction the fingers point
    arm_ik: Tensor  # [T, 2] weight of the arm IK against the preset arms
    grounded: Tensor  # [T] bool: shift the body so that the planted feet touch z = 0
    foot_contact: Tensor  # [T, 2] bool: foot planted

    @property
    def num_frames(self) -> int:
        return int(self.pelvis.shape[0])


def root_rotation(yaw: Tensor, pitch: Tensor) -> Tensor:
    """World rotation [T, 3, 3] of the root: R_z(yaw) · R_y(pitch) · Y_UP_TO_Z_UP."""
    c, s = torch.cos(pitch), torch.sin(pitch)
    zero, one = torch.zeros_like(pitch), torch.ones_like(pitch)
    tilt = torch.stack([c, zero, s, zero, one, zero, -s, zero, c], dim=-1).unflatten(-1, (3, 3))
    return yaw_matrix(yaw) @ tilt @ y_up_to_z_up(yaw.dtype, yaw.device)


def blend_rotations(a: Tensor, b: Tensor, weight: Tensor) -> Tensor:
    """Geodesic blend of rotations a, b [T, 3, 3] by weight [T] (0 → a, 1 → b)."""
    delta = matrix_to_axis_angle(a.transpose(-1, -2) @ b)  # [T, 3]
    return a @ axis_angle_to_matrix(delta * weight[:, None])


def frame_rotation(
    primary: Tensor, secondary: Tensor, rest_primary: Tensor, rest_secondary: Tensor
) -> Tensor:
    """Rotation [T,3,3] taking the rest frame (primary, secondary ⟂) to the target frame (Gram–Schmidt)."""

    def frame(p: Tensor, s: Tensor) -> Tensor:
        p = F.normalize(p, dim=-1)
        s = F.normalize(s - (s * p).sum(-1, keepdim=True) * p, dim=-1)
        return torch.stack([p, s, torch.linalg.cross(p, s, dim=-1)], dim=-1)  # columns

    rest = frame(rest_primary.expand_as(primary), rest_secondary.expand_as(primary))
    return frame(primary, secondary) @ rest.transpose(-1, -2)


def two_bone_ik(
    base: Tensor,  # [T, 3] world position of the first joint
    parent_rot: Tensor,  # [T, 3, 3] world rotation of its parent
    upper: Tensor,  # [3] rest bone first → middle joint
    lower: Tensor,  # [3] rest bone middle → end joint
    bend_rest: Tensor,  # [3] rest direction the lower bone folds towards
    target: Tensor,  # [T, 3] end joint target
    end_rot: Tensor,  # [T, 3, 3] world rotation wanted for the end joint
    pole: Tensor,  # [T, 3] direction the middle joint should point to
    margin: float,
) -> tuple[Tensor, Tensor, Tensor]:
    """Local rotations [T, 3, 3] of the three joints of a limb that put the end joint on the target."""
    l1, l2 = upper.norm(), lower.norm()
    offset = target - base
    dist = offset.norm(dim=-1, keepdim=True).clamp(min=LENGTH_EPS)
    direction = offset / dist
    dist = dist.clamp(min=float((l1 - l2).abs()) + MIN_FOLD, max=float(l1 + l2) * margin)
    along = (l1**2 - l2**2 + dist**2) / (2 * dist)
    height = (l1**2 - along**2).clamp(min=0.0).sqrt()
    side = pole - (pole * direction).sum(-1, keepdim=True) * direction
    fallback = torch.linalg.cross(direction, torch.roll(direction, 1, dims=-1), dim=-1)
    side = torch.where(side.norm(dim=-1, keepdim=True) < LENGTH_EPS, fallback, side)
    side = F.normalize(side, dim=-1)
    middle = base + along * direction + height * side  # [T, 3]
    end = base + dist * direction
    upper_rot = frame_rotation(middle - base, -side, upper, bend_rest)
    lower_now = upper_rot @ lower  # where the lower bone points without a middle rotation
    lower_rot = _align(lower_now, end - middle) @ upper_rot
    local_upper = parent_rot.transpose(-1, -2) @ upper_rot
    local_middle = upper_rot.transpose(-1, -2) @ lower_rot
    local_end = lower_rot.transpose(-1, -2) @ end_rot
    return local_upper, local_middle, local_end


def _align(a: Tensor, b: Tensor) -> Tensor:
    """Smallest rotation [T, 3, 3] turning direction a [T, 3] onto direction b [T, 3]."""
    a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
    axis = torch.linalg.cross(a, b, dim=-1)
    angle = torch.atan2(axis.norm(dim=-1), (a * b).sum(-1))
    return axis_angle_to_matrix(F.normalize(axis, dim=-1) * angle[:, None])


class Rig:
    """Realises `MotionTrack`s for one body model and shape; IK runs on the skeleton and a few vertices."""

    def __init__(self, model: BodyModel, betas: Tensor, options: RigOptions | None = None) -> None:
        self.model, self.options = model, options or RigOptions()
        self.betas = betas.reshape(1, -1).to(model.device, model.dtype)  # [1, nb]
        self.geometry = rig_geometry(model, self.betas[0], self.options)
        layer = model.layer
        expression = torch.zeros(1, model.num_expression, dtype=model.dtype, device=model.device)
        dirs = torch.cat([layer.shapedirs, layer.expr_dirs], dim=-1)
        self._correctives = bool(layer.posedirs.abs().max() > 0)  # the stand-in has none
        shape = torch.cat([self.betas, expression], dim=1)
        self._shaped = (layer.v_template + blend_shapes(shape, dirs))[0]  # [V, 3]

    def forward(self, params: SmplxParams) -> BodyOutput:
        """The body model's full forward pass, without gradients."""
        with torch.no_grad():
            return self.model.forward(params)

    def _full_pose(self, params: SmplxParams) -> Tensor:
        """Axis-angle of all 55 joints [T, 55, 3] in the model's order, mean pose added."""
        parts = [params.global_orient[:, None], params.body_pose, params.jaw_pose[:, None]]
        parts += [
            params.leye_pose[:, None],
            params.reye_pose[:, None],
            params.left_hand_pose,
            params.right_hand_pose,
        ]
        full = torch.cat(parts, dim=1)
        return full + self.model.layer.pose_mean.reshape(1, -1, 3)

    def skeleton(self, params: SmplxParams) -> tuple[Tensor, Tensor, Tensor]:
        """Posed joints [T, 55, 3], their world rotations [T, 55, 3, 3] and the per-joint skinning
        transforms [T, 55, 4, 4] of the rig's shape (no vertices: cheap)."""
        T = params.batch_size
        rot = batch_rodrigues(self._full_pose(params).reshape(-1, 3)).reshape(T, -1, 3, 3)
        rest = self.geometry.joints.expand(T, -1, -1)
        with torch.no_grad():
            joints, transforms = batch_rigid_transform(rot, rest, self.model.layer.parents)
        transforms = transforms.clone()
        transforms[:, :, :3, 3] += params.transl[:, None]
        return joints + params.transl[:, None], transforms[..., :3, :3], transforms

    def points(self, params: SmplxParams, ids: Tensor) -> Tensor:
        """Posed positions [T, K, 3] of the vertices `ids` [K] (blend skinning with pose correctives)."""
        layer, T = self.model.layer, params.batch_size
        _, _, transforms = self.skeleton(params)
        rest = self._shaped[ids].expand(T, -1, -1)  # [T, K, 3]
        if self._correctives:
            local = batch_rodrigues(self._full_pose(params)[:, 1:].reshape(-1, 3)).reshape(T, -1, 3, 3)
            columns = (ids[:, None] * 3 + torch.arange(3)).reshape(-1)
            eye = torch.eye(3, dtype=local.dtype)
            rest = rest + ((local - eye).reshape(T, -1) @ layer.posedirs[:, columns]).reshape(T, -1, 3)
        per_vertex = (layer.lbs_weights[ids] @ transforms.reshape(T, -1, 16)).reshape(T, -1, 4, 4)
        return (per_vertex[..., :3, :3] @ rest[..., None])[..., 0] + per_vertex[..., :3, 3]

    def realize(self, track: MotionTrack) -> SmplxParams:
        """SMPL-X parameters [T] following the track: root, leg IK, grounding, arm IK (see module doc)."""
        T, dtype = track.num_frames, self.model.dtype
        root = root_rotation(track.yaw, track.pitch)
        relaxed = self._hand_pose(T)
        hand_weight = 1.0 - track.arm_ik  # [T, 2]: hands that touch something are flat
        params = self.model.zeros(T).replace(
            betas=self.betas.expand(T, -1),
            global_orient=matrix_to_axis_angle(root),
            transl=track.pelvis - self.geometry.joints[0],
            body_pose=track.body_pose.clone(),
            left_hand_pose=relaxed * hand_weight[:, 0, None, None],
            right_hand_pose=relaxed * MIRROR * hand_weight[:, 1, None, None],
        )
        params = self._ground(self._solve_legs(params, track, root), track)
        return self._solve_arms(params, track).to(dtype=dtype)

    def _hand_pose(self, T: int) -> Tensor:
        """Relaxed finger curl [T, 15, 3] of the left hand (mirrored for the right by the axis sign)."""
        pose = torch.zeros(T, 15, 3, dtype=self.model.dtype, device=self.model.device)
        angle = torch.deg2rad(torch.tensor(self.options.finger_curl_deg, dtype=self.model.dtype))
        first = JOINT_INDEX["left_index1"]
        for name in JOINT_INDEX:
            if name.startswith("left_") and name[5:-1] in CURLED_FINGERS:
                pose[:, JOINT_INDEX[name] - first] = torch.tensor(FINGER_CURL_AXIS, dtype=pose.dtype) * angle
        return pose

    def _solve_legs(self, params: SmplxParams, track: MotionTrack, root: Tensor) -> SmplxParams:
        joints, _, _ = self.skeleton(params)
        pose, rest = params.body_pose.clone(), self.geometry.joints
        bend = torch.tensor(LEG_BEND_REST, dtype=root.dtype)
        for k, side in enumerate(SIDES):
            hip, knee, ankle = (JOINT_INDEX[f"{side}_{j}"] for j in ("hip", "knee", "ankle"))
            pole = yaw_matrix(track.yaw + track.knee_out * SIDE_SIGN[side])[
                :, :, 0
            ]  # knees ahead, turned out
            foot_rot = yaw_matrix(track.foot_yaw[:, k]) @ y_up_to_z_up(root.dtype, root.device)
            bones = (rest[knee] - rest[hip], rest[ankle] - rest[knee])
            target, margin = track.feet[:, k], self.options.reach_margin
            locals_ = two_bone_ik(joints[:, hip], root, *bones, bend, target, foot_rot, pole, margin)
            for joint, local in zip((hip, knee, ankle), locals_, strict=True):
                preset = axis_angle_to_matrix(pose[:, joint - 1])
                pose[:, joint - 1] = matrix_to_axis_angle(blend_rotations(preset, local, track.leg_ik))
        return params.replace(body_pose=pose)

    def _ground(self, params: SmplxParams, track: MotionTrack) -> SmplxParams:
        """Shift grounded frames vertically so the lowest vertex of the planted feet is on z = 0."""
        feet = self.geometry.foot_vertices
        lows = self.points(params, torch.cat(feet))[..., 2]  # [T, K0 + K1]
        lows = torch.stack([lows[:, : len(feet[0])].min(1).values, lows[:, len(feet[0]) :].min(1).values], 1)
        planted = torch.where(track.foot_contact, lows, torch.full_like(lows, float("inf"))).min(dim=1).values
        shift = torch.where(track.grounded & torch.isfinite(planted), -planted, torch.zeros_like(planted))
        return params.replace(transl=params.transl + shift[:, None] * torch.tensor([0.0, 0.0, 1.0]))

    def _solve_arms(self, params: SmplxParams, track: MotionTrack) -> SmplxParams:
        """Arm IK putting the palm-centre vertices on the hand targets; later passes remove the residual
        that pose correctives leave in frames where the IK has full weight."""
        rest = self.geometry.joints
        joints, rotations, _ = self.skeleton(params)  # the arms do not move the shoulders
        correction = torch.zeros_like(track.hands)  # [T, 2, 3]
        full = (track.arm_ik >= 1.0)[..., None]  # [T, 2, 1]
        active = [k for k in range(len(SIDES)) if bool((track.arm_ik[:, k] > 0).any())]
        palm_ids = torch.tensor(self.geometry.palm_vertex)
        for _ in range(max(1, self.options.palm_iterations) if active else 0):
            pose = params.body_pose.clone()
            for k in active:
                side, sign = SIDES[k], SIDE_SIGN[SIDES[k]]
                shoulder, elbow, wrist = (JOINT_INDEX[f"{side}_{j}"] for j in ("shoulder", "elbow", "wrist"))
                rest_finger = torch.tensor([sign, 0.0, 0.0], dtype=rest.dtype)
                rest_palm = torch.tensor(PALM_REST, dtype=rest.dtype)
                hand_rot = frame_rotation(
                    track.finger_dir[:, k], track.palm_normal[:, k], rest_finger, rest_palm
                )
                goal = track.hands[:, k] - hand_rot @ self.geometry.palm_offset[k] + correction[:, k]
                pole = rotations[:, JOINT_INDEX["spine3"]] @ (
                    torch.tensor(ARM_POLE) * torch.tensor([sign, 1.0, 1.0])
                )
                bones = (rest[elbow] - rest[shoulder], rest[wrist] - rest[elbow])
                bend = torch.tensor(ARM_BEND_REST, dtype=rest.dtype)
                base, parent = joints[:, shoulder], rotations[:, PARENTS[shoulder]]
                margin = self.options.reach_margin
                locals_ = two_bone_ik(base, parent, *bones, bend, goal, hand_rot, pole, margin)
                for joint, local in zip((shoulder, elbow, wrist), locals_, strict=True):
                    preset = axis_angle_to_matrix(track.body_pose[:, joint - 1])
                    blended = blend_rotations(preset, local, track.arm_ik[:, k])
                    pose[:, joint - 1] = matrix_to_axis_angle(blended)
            params = params.replace(body_pose=pose)
            palms = self.points(params, palm_ids)  # [T, 2, 3]
            residual = torch.where(full, track.hands - palms, torch.zeros_like(palms))
            if float(residual.abs().max()) < self.options.palm_tolerance:
                break
            correction = correction + residual
        return params
