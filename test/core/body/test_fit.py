import math

import pytest
import torch
from core.body.views import sphere_cameras

from zerohsi_core.body.avatar import GaussianAvatar
from zerohsi_core.body.avatar_template import AvatarOptions
from zerohsi_core.body.fit import FitOptions, fit_avatar, psnr, render_avatar
from zerohsi_core.body.model import BodyModel
from zerohsi_core.body.params import SmplxParams
from zerohsi_core.body.pose import arms_down_pose, standing_params
from zerohsi_core.errors import Cancelled, InputError
from zerohsi_core.progress import CancelToken, ProgressEvent
from zerohsi_core.render.losses import photometric_loss
from zerohsi_core.render.options import RenderOptions

OPTIONS = AvatarOptions(num_gaussians=4000)
RENDER = RenderOptions(backend="torch")
CENTER = (0.0, 0.0, 0.9)


def _patterned(model: BodyModel) -> GaussianAvatar:
    """The default avatar with a smooth random colour pattern over its rest surface."""
    avatar = GaussianAvatar(model, OPTIONS)
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():
        rest = model.layer.v_template[model.faces[avatar.face]]  # [N, 3, 3]
        points = (rest * avatar.bary[..., None]).sum(dim=1)  # [N, 3]
        freq, phase = 12.0 * torch.randn(3, 3, generator=g), 6.0 * torch.rand(3, generator=g)
        pattern = 0.5 + 0.5 * torch.sin(points @ freq + phase)
        colors = 0.5 * avatar.base_colors() + 0.5 * pattern
        avatar.color_logits.copy_(colors.clamp(0.02, 0.98).logit())
    return avatar


def test_fitting_recovers_a_known_avatar_on_held_out_views(body_model: BodyModel):
    truth = _patterned(body_model)
    params = standing_params(body_model, (0.0, 0.0), 0.0, body_pose=arms_down_pose())
    train = sphere_cameras(
        CENTER, [2 * math.pi * i / 8 for i in range(8)], [0.25 * (-1) ** i for i in range(8)]
    )
    held_out = sphere_cameras(CENTER, [0.7, 3.8], [0.1, -0.05])
    with torch.no_grad():
        images = torch.stack([render_avatar(truth, params, c, RENDER)[0] for c in train])
        targets = torch.stack([render_avatar(truth, params, c, RENDER)[0] for c in held_out])
    fresh = GaussianAvatar(body_model, OPTIONS)

    def held_out_psnr() -> torch.Tensor:
        with torch.no_grad():
            return psnr(torch.stack([render_avatar(fresh, params, c, RENDER)[0] for c in held_out]), targets)

    before = held_out_psnr()
    events: list[ProgressEvent] = []
    report = fit_avatar(
        fresh, images, SmplxParams.cat([params] * 8), train,
        options=FitOptions(iterations=50, backend="torch"), progress=events.append,
    )  # fmt: skip
    after = held_out_psnr()
    assert before.max() < 24.0  # the default colours are far from the pattern
    assert after.min() >= 30.0, after
    assert report.psnr_db >= 30.0 and report.losses[-1] < 0.3 * report.losses[0]
    assert len(events) == 50 and events[-1].progress == 1.0 and events[-1].stage == "avatar_fit"


def test_fit_checks_inputs_and_honours_cancel(body_model: BodyModel):
    avatar = GaussianAvatar(body_model, AvatarOptions(num_gaussians=300))
    params = standing_params(body_model, (0.0, 0.0), 0.0, batch=2)
    cams = sphere_cameras(CENTER, [0.0, 1.0], [0.0, 0.0], size=32)
    images = torch.full((2, 32, 32, 3), 0.5)
    with pytest.raises(InputError, match="one camera per image"):
        fit_avatar(avatar, images, params, cams[:1])
    with pytest.raises(InputError, match="masks"):
        fit_avatar(avatar, images, params, cams, masks=torch.ones(2, 16, 16))
    with pytest.raises(InputError, match="32x32"):
        fit_avatar(avatar, torch.zeros(2, 16, 32, 3), params, cams)
    token = CancelToken()
    token.cancel()
    before = avatar.color_logits.detach().clone()
    with pytest.raises(Cancelled):
        fit_avatar(avatar, images, params, cams, options=FitOptions(iterations=5), cancel=token)
    assert torch.equal(avatar.color_logits, before)


def test_masks_put_the_background_outside_the_person(body_model: BodyModel):
    avatar = GaussianAvatar(body_model, AvatarOptions(num_gaussians=300))
    params = standing_params(body_model, (0.0, 0.0), 0.0)
    cams = sphere_cameras(CENTER, [0.0], [0.0], size=32, distance=4.0)
    with torch.no_grad():
        rgb, alpha = render_avatar(avatar, params, cams[0], RENDER)
    noisy = rgb.clone()
    noisy[alpha < 0.01] = torch.tensor([0.0, 1.0, 0.0])  # a green backdrop the masks remove
    options = FitOptions(iterations=1, lr_color=0.0, lr_opacity=0.0, lr_scale=0.0, lr_offset=0.0,
                         lr_rotation=0.0, lr_feature=0.0, lr_network=0.0, backend="torch")  # fmt: skip
    mask = (alpha >= 0.01).float()[None]  # [1, H, W]
    masked = fit_avatar(avatar, noisy[None], params, cams, masks=mask, options=options)
    unmasked = fit_avatar(avatar, noisy[None], params, cams, options=options)
    assert masked.psnr_db > 30.0 and unmasked.psnr_db < 15.0


def test_photometric_loss_is_l1_plus_dssim():
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(2, 24, 24, 3, generator=g), torch.rand(2, 24, 24, 3, generator=g)
    l1 = (a - b).abs().mean()
    assert torch.isclose(photometric_loss(a, b, 0.0), l1)
    mixed = photometric_loss(a, b, 0.2)
    assert 0.8 * l1 < mixed < 0.8 * l1 + 0.2 * 1.01  # D-SSIM of noise is near 1
    assert photometric_loss(a, a, 0.2) < 1e-6
    assert torch.allclose(psnr(a, a * 0 + a + 0.1), torch.full((2,), 20.0), atol=1e-3)
