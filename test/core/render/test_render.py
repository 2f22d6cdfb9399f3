"""render(): placement, depth, per-entity masks, background, colour overrides, validation, backends."""

from __future__ import annotations

import math

import pytest
import torch

from zerohsi_core.errors import BackendError, ConfigError, InputError
from zerohsi_core.geometry.camera import Camera
from zerohsi_core.geometry.rotations import axis_angle_to_matrix
from zerohsi_core.geometry.se3 import make_se3
from zerohsi_core.render.colors import sh_colors
from zerohsi_core.render.gsplat_raster import gsplat_module
from zerohsi_core.render.options import RenderOptions
from zerohsi_core.render.render import GaussianBatch, render, render_batch, select_backend
from zerohsi_core.scene.gaussians import GaussianCloud, rgb_to_sh_dc

W, H, F = 32, 24, 50.0


def cloud(means, rgb, scale=0.04, opacity=0.9, dtype=torch.float64) -> GaussianCloud:
    """Isotropic Gaussians of one scale and opacity with view-independent colour."""
    means = torch.as_tensor(means, dtype=dtype).reshape(-1, 3)
    n = means.shape[0]
    rgb = torch.as_tensor(rgb, dtype=dtype).expand(n, 3)
    return GaussianCloud(
        means=means,
        quats=torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=dtype).expand(n, 4),
        log_scales=torch.full((n, 3), math.log(scale), dtype=dtype),
        opacity_logits=torch.full((n,), math.log(opacity / (1 - opacity)), dtype=dtype),
        sh=rgb_to_sh_dc(rgb)[:, None, :],
    )


def wall(x0: float, x1: float, z: float, spacing: float = 0.02) -> torch.Tensor:
    """Grid of points on the plane at depth z spanning x in [x0, x1], y in [-0.4, 0.4]. [N, 3]"""
    xs = torch.arange(x0, x1 + 1e-9, spacing, dtype=torch.float64)
    ys = torch.arange(-0.4, 0.4 + 1e-9, spacing, dtype=torch.float64)
    X, Y = torch.meshgrid(xs, ys, indexing="ij")
    return torch.stack([X.reshape(-1), Y.reshape(-1), torch.full((X.numel(),), z, dtype=torch.float64)], -1)


def test_single_gaussian_lands_at_its_projection(make_camera) -> None:
    # u = f x / z + cx = 50 * 0.1 / 2 + 16 = 18.5 and v = 50 * 0.02 / 2 + 12 = 12.5: centre of pixel (12, 18).
    blob = cloud([0.1, 0.02, 2.0], [0.2, 0.6, 0.4], scale=0.04, opacity=0.8)
    out = render([("blob", blob)], make_camera(W, H, F), RenderOptions(background=(0.0, 0.0, 0.0)))
    alpha = out.alpha[0]
    assert divmod(int(alpha.argmax()), W) == (12, 18)
    assert alpha[12, 18].item() == pytest.approx(0.8, abs=1e-12)  # sigma = 0 at the projected mean
    torch.testing.assert_close(out.rgb[0, 12, 18], 0.8 * torch.tensor([0.2, 0.6, 0.4], dtype=torch.float64))
    covered = alpha > 0
    assert int(covered.sum()) > 9
    torch.testing.assert_close(out.depth[0][covered], torch.full((int(covered.sum()),), 2.0).double())
    assert bool((out.depth[0][~covered] == 0).all())
    # One pixel to the right: alpha = o exp(-0.5 [cov^-1]_xx), cov = s^2 J J^T + eps2d I (EWA + low-pass).
    J = torch.tensor([[F / 2.0, 0.0, -F * 0.1 / 4.0], [0.0, F / 2.0, -F * 0.02 / 4.0]], dtype=torch.float64)
    cov = 0.04**2 * J @ J.T + 0.3 * torch.eye(2, dtype=torch.float64)
    assert alpha[12, 19].item() == pytest.approx(0.8 * math.exp(-0.5 * cov.inverse()[0, 0].item()), rel=1e-9)
    assert alpha[12, 17].item() == pytest.approx(alpha[12, 19].item(), rel=1e-12)
    torch.testing.assert_close(out.masks["blob"], out.alpha)


def test_two_entities_masks_sum_to_alpha_and_follow_occlusion(make_camera) -> None:
    left = cloud(wall(-0.5, 0.05, 2.0), [1.0, 0.0, 0.0], scale=0.02, opacity=0.95)
    right = cloud(wall(-0.05, 0.5, 1.5), [0.0, 0.0, 1.0], scale=0.02, opacity=0.95)
    out = render([("left", left), ("right", right)], make_camera(W, H, F))
    masks = out.masks
    assert set(masks) == {"left", "right"}
    torch.testing.assert_close(masks["left"] + masks["right"], out.alpha, atol=1e-12, rtol=0)
    # Pixel columns: x = -0.3 m at 2 m -> u = 8.5; x = 0.3 m at 1.5 m -> u = 26; x = 0 -> u = 16 (overlap).
    assert masks["left"][0, 12, 8] > 0.99 and masks["right"][0, 12, 8] < 1e-6
    assert masks["right"][0, 12, 26] > 0.99 and masks["left"][0, 12, 26] < 1e-6
    assert masks["right"][0, 12, 16] > 0.99 and masks["left"][0, 12, 16] < 0.01  # the right wall is in front
    assert out.depth[0, 12, 16].item() == pytest.approx(1.5, abs=1e-3)
    assert out.depth[0, 12, 8].item() == pytest.approx(2.0, abs=1e-3)


def test_background_is_composited_behind(make_camera) -> None:
    blob = cloud([[0.1, 0.02, 2.0], [-0.2, 0.0, 3.0]], [0.3, 0.3, 0.3], scale=0.06, opacity=0.7)
    cam = make_camera(W, H, F)
    black = render([("b", blob)], cam, RenderOptions(background=(0.0, 0.0, 0.0)))
    tinted = render([("b", blob)], cam, RenderOptions(background=(0.2, 0.5, 1.0)))
    bg = torch.tensor([0.2, 0.5, 1.0], dtype=torch.float64)
    torch.testing.assert_close(tinted.rgb - black.rgb, (1 - black.alpha)[..., None] * bg)
    empty = black.alpha < 1e-12
    assert 0 < int(empty.sum()) < W * H
    assert bool((tinted.rgb[empty] == bg).all())
    torch.testing.assert_close(tinted.alpha, black.alpha)


def test_colors_override_replaces_sh(make_camera) -> None:
    blobs = cloud(wall(-0.2, 0.2, 2.0, spacing=0.1), [0.9, 0.1, 0.1], scale=0.05, opacity=0.6)
    cams = [make_camera(W, H, F), make_camera(W, H, 40.0)]
    override = torch.tensor([0.2, 0.4, 0.6], dtype=torch.float64).expand(blobs.num, 3)
    options = RenderOptions(background=(1.0, 1.0, 1.0))
    out = render([("wall", blobs)], cams, options, colors_override={"wall": override})
    expected = out.alpha[..., None] * override[0] + (1 - out.alpha[..., None])
    torch.testing.assert_close(out.rgb, expected)
    per_camera = torch.stack([override, 0.5 * override])  # [C, N, 3]
    out2 = render([("wall", blobs)], cams, options, colors_override={"wall": per_camera})
    torch.testing.assert_close(
        out2.rgb[1], out2.alpha[1, ..., None] * 0.5 * override[0] + 1 - out2.alpha[1, ..., None]
    )
    plain = render([("wall", blobs)], cams, options)
    assert (plain.rgb - out.rgb).abs().max() > 0.1


def test_gradients_reach_every_parameter(make_camera) -> None:
    blob = cloud([[0.1, 0.02, 2.0], [-0.1, 0.05, 2.5]], [0.2, 0.6, 0.4], scale=0.05)
    leaves = {k: getattr(blob, k).clone().requires_grad_(True) for k in blob.__dataclass_fields__}
    leaves["log_scales"] = (blob.log_scales + torch.tensor([0.0, 0.5, 1.0])).requires_grad_(True)
    override = torch.full((2, 3), 0.5, dtype=torch.float64, requires_grad=True)
    out = render(
        [("a", GaussianCloud(**leaves)), ("b", cloud([0.0, 0.0, 3.0], [0.1, 0.1, 0.1]))],
        make_camera(W, H, F),
        colors_override={"b": override[:1]},
    )
    (out.rgb.sum() + out.depth.sum() + out.masks["a"].sum()).backward()
    for name, leaf in leaves.items():
        assert leaf.grad is not None and leaf.grad.abs().sum() > 0, name
    assert override.grad is not None and override.grad.abs().sum() > 0


def test_invalid_inputs_raise(make_camera) -> None:
    cam = make_camera(W, H, F)
    good = cloud([0.0, 0.0, 2.0], [0.5, 0.5, 0.5])
    with pytest.raises(InputError, match="at least one"):
        render([], cam)
    bad = cloud([float("nan"), 0.0, 2.0], [0.5, 0.5, 0.5])
    with pytest.raises(InputError, match="NaN"):
        render([("bad", bad)], cam)
    with pytest.raises(InputError, match="unique"):
        render([("a", good), ("a", good)], cam)
    with pytest.raises(InputError, match="move all clouds"):
        render([("a", good), ("b", good.to(dtype=torch.float32))], cam)
    with pytest.raises(InputError, match="move all clouds"):
        render([("a", good), ("b", good.to(device="meta"))], cam)
    with pytest.raises(InputError, match="not among"):
        render([("a", good)], cam, colors_override={"z": torch.ones(1, 3)})
    with pytest.raises(InputError, match="image size"):
        render([("a", good)], [cam, make_camera(W + 2, H, F)])
    with pytest.raises(ConfigError):
        RenderOptions(backend="vulkan")  # type: ignore[arg-type]


def test_backend_selection() -> None:
    assert select_backend("auto", torch.device("cpu"), torch.float32) == "torch"
    assert select_backend("torch", torch.device("cpu"), torch.float64) == "torch"
    with pytest.raises(BackendError, match="CUDA"):
        render(
            [("a", cloud([0.0, 0.0, 2.0], [0.5, 0.5, 0.5], dtype=torch.float32))],
            Camera(torch.eye(3), torch.eye(4), 8, 8),
            RenderOptions(backend="gsplat"),
        )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gsplat_and_torch_agree_on_cuda(make_camera) -> None:
    gsplat_module()
    walls = [
        ("left", cloud(wall(-0.5, 0.05, 2.0), [1.0, 0.2, 0.0], scale=0.02, opacity=0.7, dtype=torch.float32)),
        (
            "right",
            cloud(wall(-0.05, 0.5, 1.5), [0.0, 0.3, 1.0], scale=0.03, opacity=0.5, dtype=torch.float32),
        ),
    ]
    walls = [(n, c.to("cuda")) for n, c in walls]
    cam = make_camera(W, H, F, dtype=torch.float32).to("cuda")
    a = render(walls, cam, RenderOptions(backend="gsplat"))
    b = render(walls, cam, RenderOptions(backend="torch"))
    torch.testing.assert_close(a.rgb, b.rgb, atol=1e-4, rtol=0)
    torch.testing.assert_close(a.alpha, b.alpha, atol=1e-4, rtol=0)
    torch.testing.assert_close(a.masks["left"], b.masks["left"], atol=1e-4, rtol=0)


def _batch_case(make_camera, dtype=torch.float64):
    """Three scenes: a shared wall, a blob that moves per scene with given colours; three camera poses."""
    shared = cloud(wall(-0.5, 0.5, 2.0), [0.2, 0.7, 0.3], scale=0.02, opacity=0.8, dtype=dtype)
    blobs = [
        cloud(wall(x, x + 0.1, 1.2, spacing=0.05), [1.0, 0.0, 0.0], dtype=dtype) for x in (-0.3, 0.0, 0.2)
    ]
    colors = torch.rand(3, blobs[0].num, 3, dtype=dtype, generator=torch.Generator().manual_seed(0))
    base = make_camera(W, H, F, dtype=dtype)
    cams = []
    for dx in (0.0, 0.05, -0.08):
        w2c = base.world_to_cam.clone()
        w2c[0, 3] = dx
        cams.append(Camera(base.K, w2c, W, H))
    return shared, blobs, colors, cams


def test_render_batch_renders_each_scene_from_its_camera(make_camera) -> None:
    """render_batch = render() of each scene alone (shared clouds broadcast, per-scene clouds and colours)."""
    shared, blobs, colors, cams = _batch_case(make_camera)
    out = render_batch([("wall", shared), ("blob", blobs)], cams, colors_override={"blob": colors})
    assert out.rgb.shape == (3, H, W, 3) and set(out.masks) == {"wall", "blob"}
    for b, cam in enumerate(cams):
        one = render([("wall", shared), ("blob", blobs[b])], cam, colors_override={"blob": colors[b]})
        torch.testing.assert_close(out.rgb[b], one.rgb[0], atol=1e-12, rtol=0)
        torch.testing.assert_close(out.depth[b], one.depth[0], atol=1e-12, rtol=0)
        torch.testing.assert_close(out.masks["blob"][b], one.masks["blob"][0], atol=1e-12, rtol=0)
    assert (out.rgb[0] - out.rgb[1]).abs().max() > 0.1  # the scenes really differ
    with pytest.raises(InputError, match="one cloud or 3 clouds"):
        render_batch([("wall", shared), ("blob", blobs[:2])], cams)


def test_a_prepared_batch_renders_as_its_clouds(make_camera) -> None:
    """A GaussianBatch made once (the shared wall activated and coloured for these cameras) renders as the
    cloud it was made from; a batch for another number of cameras is refused."""
    shared, blobs, colors, cams = _batch_case(make_camera)
    centers = torch.stack([cam.center for cam in cams])
    ready = GaussianBatch.of(shared, centers)
    a = render_batch([("wall", shared), ("blob", blobs)], cams, colors_override={"blob": colors})
    b = render_batch([("wall", ready), ("blob", blobs)], cams, colors_override={"blob": colors})
    torch.testing.assert_close(a.rgb, b.rgb, atol=0, rtol=0)
    torch.testing.assert_close(a.masks["wall"], b.masks["wall"], atol=0, rtol=0)
    one = render_batch(
        [("wall", ready.select([2])), ("blob", [blobs[2]])], cams[2:], colors_override={"blob": colors[2:]}
    )
    torch.testing.assert_close(one.rgb[0], a.rgb[2], atol=1e-12, rtol=0)
    with pytest.raises(InputError, match="a GaussianBatch of 1 scenes for 3 cameras"):
        render_batch([("wall", ready.select([0])), ("blob", blobs)], cams)
    with pytest.raises(InputError, match=r"GaussianBatch.opacities has shape \(3, 5\), expected \(3, 4\)"):
        GaussianBatch(
            ready.means[:, :4], ready.quats[:, :4], ready.scales[:, :4], ready.opacities[:, :5], None
        )


def test_a_posed_batch_is_the_cloud_transformed_to_each_pose() -> None:
    """GaussianBatch.posed = GaussianCloud.transformed at each pose, coloured from each camera centre —
    including view-dependent (degree 2) colours, which it gets without rotating the SH bands — and the
    poses receive gradients."""
    gen = torch.Generator().manual_seed(3)
    n = 40
    obj = GaussianCloud(
        means=torch.randn(n, 3, generator=gen, dtype=torch.float64) * 0.2,
        quats=torch.randn(n, 4, generator=gen, dtype=torch.float64),
        log_scales=torch.randn(n, 3, generator=gen, dtype=torch.float64) * 0.1 - 3,
        opacity_logits=torch.randn(n, generator=gen, dtype=torch.float64),
        sh=torch.randn(n, 9, 3, generator=gen, dtype=torch.float64) * 0.3,
    )
    turns = torch.randn(3, 3, generator=gen, dtype=torch.float64)
    poses = make_se3(axis_angle_to_matrix(turns), torch.randn(3, 3, generator=gen, dtype=torch.float64))
    poses.requires_grad_(True)
    centers = torch.randn(3, 3, generator=gen, dtype=torch.float64) * 2
    batch = GaussianBatch.posed(obj, poses, centers)
    for b in range(3):
        moved = obj.transformed(poses[b])
        torch.testing.assert_close(batch.means[b], moved.means, atol=1e-12, rtol=0)
        torch.testing.assert_close(batch.quats[b], moved.quats, atol=1e-12, rtol=0)
        torch.testing.assert_close(batch.scales[b], moved.scales, atol=1e-12, rtol=0)
        torch.testing.assert_close(
            batch.colors[b], sh_colors(moved, centers[b : b + 1])[0], atol=1e-9, rtol=0
        )
    assert (batch.colors[0] - batch.colors[1]).abs().max() > 0.05  # the colours really depend on the view
    batch.colors.sum().backward()
    assert poses.grad is not None and poses.grad[:, :3, :3].abs().sum() > 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_render_batch_through_gsplat_matches_torch(make_camera) -> None:
    shared, blobs, colors, cams = _batch_case(make_camera, torch.float32)
    shared, blobs, colors = shared.to("cuda"), [b.to("cuda") for b in blobs], colors.to("cuda")
    cams = [c.to("cuda") for c in cams]
    outs = [
        render_batch(
            [("wall", shared), ("blob", blobs)], cams, RenderOptions(backend=backend), {"blob": colors}
        )
        for backend in ("gsplat", "torch")
    ]
    torch.testing.assert_close(outs[0].rgb, outs[1].rgb, atol=1e-4, rtol=0)
    torch.testing.assert_close(outs[0].masks["blob"], outs[1].masks["blob"], atol=1e-4, rtol=0)
