"""The human: SMPL-X access (real files or the procedural stand-in in the same format), the 55-joint
skeleton, SMPL-X parameters, body-model frames and the VPoser v2 pose prior."""

from zerohsi_core.body.frames import Y_UP_TO_Z_UP, model_to_world, world_to_model
from zerohsi_core.body.joints import BODY_JOINT_NAMES, JOINT_NAMES, NUM_BODY_JOINTS, NUM_JOINTS, PARENTS
from zerohsi_core.body.model import BodyModel, BodyModelOptions, BodyOutput, load_body_model
from zerohsi_core.body.params import SmplxParams
from zerohsi_core.body.prior import VPoser, VPoserDecoded, load_vposer, save_vposer_checkpoint
from zerohsi_core.body.standin import ensure_standin_model

__all__ = [
    "BODY_JOINT_NAMES",
    "JOINT_NAMES",
    "NUM_BODY_JOINTS",
    "NUM_JOINTS",
    "PARENTS",
    "Y_UP_TO_Z_UP",
    "BodyModel",
    "BodyModelOptions",
    "BodyOutput",
    "SmplxParams",
    "VPoser",
    "VPoserDecoded",
    "ensure_standin_model",
    "load_body_model",
    "load_vposer",
    "model_to_world",
    "save_vposer_checkpoint",
    "world_to_model",
]
