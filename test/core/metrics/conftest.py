"""Shared builders for the metric tests: the stand-in body, flat-floor scenes, tiny CLIP models, results."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import zerohsi_core  # noqa: F401  (registers torchvision's missing ops before open_clip imports it)
from zerohsi_core.body.model import BodyModel, load_body_model
from zerohsi_core.body.params import SmplxParams
from zerohsi_core.body.pose import standing_params
from zerohsi_core.geometry.camera import Camera, intrinsics_from_fov, look_at
from zerohsi_core.geometry.se3 import make_se3
from zerohsi_core.scene.gaussians import GaussianCloud
from zerohsi_core.scene.mesh import TriMesh
from zerohsi_core.scene.object import SceneObject
from zerohsi_core.scene.primitives import box_mesh
from zerohsi_core.scene.scene import HumanStart, Scene

FLOOR_SIZE = (8.0, 8.0, 1.0)  # a 1 m thick slab whose top face is z = 0


@pytest.fixture(scope="session")
def body() -> BodyModel:
    return load_body_model()


def box_at(size: tuple[float, float, float], center: tuple[float, float, float]) -> TriMesh:
    """A closed box mesh of `size` centred at `center` (world frame)."""
    return box_mesh(size).transformed(make_se3(torch.eye(3, dtype=torch.float64), torch.tensor(center)))


def floor_scene(objects: dict[str, SceneObject] | None = None) -> Scene:
    """A scene that is only a floor slab (top at z = 0) and a few Gaussians."""
    n = 4
    cloud = GaussianCloud(
        means=torch.rand(n, 3, generator=torch.Generator().manual_seed(0)),
        quats=torch.tensor([[1.0, 0.0, 0.0, 0.0]]).repeat(n, 1),
        log_scales=torch.full((n, 3), -3.0),
        opacity_logits=torch.zeros(n),
        sh=torch.full((n, 1, 3), 0.5),
    )
    floor = box_at(FLOOR_SIZE, (0.0, 0.0, -FLOOR_SIZE[2] / 2))
    return Scene("floor", cloud, floor, objects or {}, {}, HumanStart((0.0, 0.0), 0.0))


def box_object(size: tuple[float, float, float], pose: torch.Tensor) -> SceneObject:
    """A box object (mesh centred on its frame) at object-to-world pose [4, 4]."""
    cloud = floor_scene().gaussians
    return SceneObject("box", cloud, box_mesh(size), pose)


def standing(body: BodyModel, frames: int, lift: float = 0.0) -> SmplxParams:
    """A body standing at the origin facing +x for `frames` frames, soles at z = lift."""
    params = standing_params(body, (0.0, 0.0), 0.0, batch=frames)
    return params.replace(transl=params.transl + torch.tensor([0.0, 0.0, lift]))


def camera_at(eye: tuple[float, float, float], target: tuple[float, float, float], size: int = 32) -> Camera:
    """A camera at eye looking at target."""
    w2c = look_at(torch.tensor(eye), torch.tensor(target))
    return Camera(intrinsics_from_fov(60.0, size, size), w2c, size, size)


def fake_sequence(
    body: BodyModel, params: SmplxParams, prompt: str, seed: int, scene_id: str, camera: Camera
) -> SimpleNamespace:
    """A SequenceResult-shaped object of one clip, seen by a fixed camera, that write_result accepts."""
    t, size = params.batch_size, camera.width
    with torch.no_grad():
        joints = body.forward(params).joints
    video = SimpleNamespace(frames=torch.zeros(t, size, size, 3), backend="test")
    clip = SimpleNamespace(
        prompt=prompt, params=params, raw_params=params, joints=joints, raw_joints=joints,
        object_id=None, object_poses=None, cameras=[camera] * t, fps=10.0,
        video=video, human_masks=torch.zeros(t, size, size), object_masks=None, losses={}, errors={},
        timings={},
    )  # fmt: skip
    request = SimpleNamespace(prompts=[prompt], object_id="", seed=seed)
    return SimpleNamespace(request=request, scene_id=scene_id, clips=[clip])


TINY_CLIP = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 8},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def write_tiny_clip(folder: Path, name: str = "zerohsi-tiny-clip", width: int = 32) -> tuple[Path, Path]:
    """A randomly initialised tiny open_clip model: its model-config JSON and its checkpoint file."""
    import open_clip

    spec = json.loads(json.dumps(TINY_CLIP))
    spec["vision_cfg"]["width"] = width
    config = folder / f"{name}.json"
    config.write_text(json.dumps(spec))
    torch.manual_seed(0)
    model = open_clip.CLIP(spec["embed_dim"], spec["vision_cfg"], spec["text_cfg"])
    weights = folder / f"{name}.pt"
    torch.save(model.state_dict(), weights)
    return config, weights


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_tiny_clip(tmp_path_factory.mktemp("clip"))


def as_numpy(x: torch.Tensor) -> np.ndarray:
    return x.detach().cpu().double().numpy()
