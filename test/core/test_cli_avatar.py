import json

import numpy as np
import torch
from core.body.views import sphere_cameras
from PIL import Image
from typer.testing import CliRunner

from zerohsi_core.body.avatar import GaussianAvatar
from zerohsi_core.body.avatar_io import load_avatar
from zerohsi_core.body.avatar_template import AvatarOptions
from zerohsi_core.body.fit import render_avatar
from zerohsi_core.body.model import load_body_model
from zerohsi_core.body.pose import standing_params
from zerohsi_core.cli_avatar import avatar_app
from zerohsi_core.render.options import RenderOptions


def test_avatar_fit_writes_a_loadable_avatar(tmp_path):
    model = load_body_model()
    avatar = GaussianAvatar(model, AvatarOptions(num_gaussians=300))
    params = standing_params(model, (0.0, 0.0), 0.0)
    cams = sphere_cameras((0.0, 0.0, 0.9), [0.0, 2.0], [0.0, 0.3], size=32)
    (tmp_path / "img").mkdir()
    frames = []
    for i, cam in enumerate(cams):
        with torch.no_grad():
            rgb, _ = render_avatar(avatar, params, cam, RenderOptions(backend="torch"))
        Image.fromarray((rgb.numpy() * 255).round().astype(np.uint8)).save(tmp_path / "img" / f"{i}.png")
        frame = {"image": f"{i}.png", "K": cam.K.tolist(), "world_to_cam": cam.world_to_cam.tolist()}
        frames.append(
            {**frame, "global_orient": params.global_orient[0].tolist(), "transl": params.transl[0].tolist()}
        )
    (tmp_path / "spec.json").write_text(json.dumps({"frames": frames}))
    out = tmp_path / "me.pt"
    args = [str(tmp_path / "img"), str(tmp_path / "spec.json"), "--out", str(out), "--iterations", "2",
            "--gaussians", "300", "--set", "device=cpu"]  # fmt: skip
    result = CliRunner().invoke(avatar_app, args)
    assert result.exit_code == 0, result.output
    loaded = load_avatar(out, model)
    assert loaded.num_gaussians == 300
    assert not torch.equal(loaded.color_logits, avatar.color_logits)  # two Adam steps changed the colours
    assert torch.allclose(loaded.color_logits, avatar.color_logits, atol=0.1)
