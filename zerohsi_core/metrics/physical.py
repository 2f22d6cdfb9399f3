"""Physical plausibility of a sequence (Sec. 4.1): scene penetration, foot sliding, hand–object contact
and object penetration, from the posed SMPL-X vertices and the signed distance fields of the scene and
object meshes. `physical_metrics` is what the accuracy benchmark and `zerohsi eval` call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from zerohsi_core.body.model import BodyModel
from zerohsi_core.config import Config
from zerohsi_core.errors import InputError
from zerohsi_core.metrics.contact import contact_ratio
from zerohsi_core.metrics.foot import foot_sliding
from zerohsi_core.metrics.motion import EvalMotion, as_motion
from zerohsi_core.metrics.penetration import (
    ground_union,
    object_penetration_cm,
    object_signed_distances,
    scene_penetration,
    scene_signed_distances,
)
from zerohsi_core.scene.scene import Scene
from zerohsi_core.scene.sdf import MeshSDF


@dataclass(frozen=True)
class PhysicalOptions:
    """Thresholds of the physical metrics (config section `metrics`; EVALUATION.md)."""

    contact_threshold: float = 0.02  # m: a hand vertex this close to the object is in contact
    foot_contact_height: float = 0.05  # m: H of the foot-sliding weight (2 − 2^(h/H))
    floor_height: float = 0.0  # m: the scenes' floor is z = 0
    # Everything below the floor is solid ground. The scene meshes' floor is a thin slab (10 cm in the
    # procedural scenes): its signed distance would measure a vertex more than half its thickness down to
    # the slab's underside, and one below the slab as outside.
    solid_ground: bool = True
    # m: shallower penetration is not counted; 0.1 mm absorbs the float32 noise of a body resting on a
    # surface (float32 rounding puts some soles just below z = 0). CHOIS counts object penetration > 4 cm.
    penetration_tolerance: float = 1e-4
    batch: int = 64  # frames posed per body-model call

    @classmethod
    def from_config(cls, cfg: Config) -> PhysicalOptions:
        """Options from config section `metrics`."""
        m = cfg.metrics
        return cls(contact_threshold=m.contact_threshold, foot_contact_height=m.foot_contact_height)


@torch.no_grad()
def posed_vertices(body: BodyModel, motion: EvalMotion, batch: int) -> torch.Tensor:
    """Body vertices of every frame, world frame. -> [T, V, 3]"""
    chunks = []
    for start in range(0, motion.num_frames, batch):
        part = motion.params.index(slice(start, start + batch)).to(body.device, body.dtype)
        chunks.append(body.forward(part).vertices.cpu())
    return torch.cat(chunks)


def object_metrics(
    vertices: torch.Tensor, hand_ids: torch.Tensor, motion: EvalMotion, scene: Scene, opts: PhysicalOptions
) -> dict[str, float]:
    """Cont. and Pene_obj of a motion with an object. vertices [T, V, 3], hand_ids [H]"""
    if motion.object_id not in scene.objects:
        raise InputError(
            f"object {motion.object_id!r} is not in scene {scene.id!r}; objects: {sorted(scene.objects)}"
        )
    if motion.object_poses is None:
        raise InputError(f"the motion names object {motion.object_id!r} but carries no object poses")
    sdf = MeshSDF(scene.objects[motion.object_id].mesh)
    signed = object_signed_distances(sdf, vertices, motion.object_poses)  # [T, V]
    return {
        "contact": contact_ratio(signed[:, hand_ids.cpu().numpy()], opts.contact_threshold),
        "pene_obj_cm": object_penetration_cm(signed, opts.penetration_tolerance),
    }


def physical_metrics(
    sequence_or_result: Any, scene: Scene, body_model: BodyModel, cfg: Config | PhysicalOptions
) -> dict[str, float]:
    """Pene_%scene (fraction), Pene_mean/Pene_max (cm), FS (mm/frame; T >= 2) and, with an object, Cont.
    and Pene_obj (cm) of a SequenceResult, ClipResult or EvalMotion in `scene` (Sec. 4.1)."""
    opts = cfg if isinstance(cfg, PhysicalOptions) else PhysicalOptions.from_config(cfg)
    motion = as_motion(sequence_or_result)
    vertices = posed_vertices(body_model, motion, opts.batch)  # [T, V, 3]
    signed = scene_signed_distances(MeshSDF(scene.mesh), vertices)  # [T, V]
    if opts.solid_ground:
        signed = ground_union(signed, vertices, opts.floor_height)
    pene = scene_penetration(signed, opts.penetration_tolerance)
    feet = [body_model.foot_vertex_ids(side).cpu() for side in ("left", "right")]
    out = {"pene_scene": pene.fraction, "pene_mean_cm": pene.mean_cm, "pene_max_cm": pene.max_cm}
    if motion.num_frames >= 2:  # sliding needs a next frame
        out["foot_sliding_mm"] = foot_sliding(vertices, feet, opts.foot_contact_height, opts.floor_height)
    if motion.object_id:
        out.update(object_metrics(vertices, body_model.hand_vertex_ids().cpu(), motion, scene, opts))
    return out
