"""Crop cameras render exactly a window of the full image; culling keeps every Gaussian that reaches it."""

import torch

from zerohsi_core.geometry.camera import Camera, intrinsics_from_fov, look_at
from zerohsi_core.render.crop import Crop, box_of, crop_around, crop_camera, cull
from zerohsi_core.render.options import RenderOptions
from zerohsi_core.render.render import render
from zerohsi_core.scene.gaussians import GaussianCloud, rgb_to_sh_dc


def _cloud(n: int = 600) -> GaussianCloud:
    g = torch.Generator().manual_seed(0)
    means = torch.rand(n, 3, generator=g) * torch.tensor([2.0, 3.0, 1.5]) - torch.tensor([1.0, 1.5, 0.0])
    quats = torch.randn(n, 4, generator=g)
    log_scales = torch.log(0.02 + 0.08 * torch.rand(n, 3, generator=g))
    opacity = torch.randn(n, generator=g)
    sh = rgb_to_sh_dc(torch.rand(n, 3, generator=g))[:, None]
    return GaussianCloud(means, quats, log_scales, opacity, sh)


def test_window_render_equals_the_full_render_and_culling_is_lossless() -> None:
    size = 80
    camera = Camera(
        intrinsics_from_fov(60.0, size, size), look_at([3.0, 0.4, 1.2], [0.0, 0.0, 0.7]), size, size
    )
    options = RenderOptions(backend="torch")
    cloud = _cloud()
    full = render([("scene", cloud)], camera, options)
    window = Crop(21, 13, 30, 41, size, size)
    view = crop_camera(camera, window)
    kept = cull(cloud, view, options)
    part = render([("scene", kept)], view, options)
    rows, cols = window.slices
    assert len(kept) < 0.8 * len(cloud)  # most of the cloud cannot reach the window
    whole = render([("scene", cloud)], view, options)
    assert torch.equal(part.rgb, whole.rgb) and torch.equal(part.alpha, whole.alpha)  # culling is lossless
    # gsplat's projection clamps x/z to 1.3× the (window's) field of view, so Gaussians centred far outside
    # the window splat very slightly differently: 1e-4 at most, on a few edge pixels.
    assert (part.rgb[0] - full.rgb[0, rows, cols]).abs().max() < 2e-4
    assert (part.depth[0] - full.depth[0, rows, cols]).abs().max() < 1e-3


def test_crop_around_boxes_grows_clips_and_falls_back_to_the_full_image() -> None:
    mask = torch.zeros(100, 120)
    mask[40:60, 50:70] = 1.0
    assert box_of(mask) == (50, 40, 69, 59)
    window = crop_around([box_of(mask), (60, 45, 80, 50)], 120, 100, margin=0.5, min_pixels=4)
    assert (window.x0, window.y0, window.width, window.height) == (34, 30, 63, 40)
    edge = crop_around([(0, 0, 10, 10)], 120, 100, margin=0.0, min_pixels=8)
    assert (edge.x0, edge.y0, edge.width, edge.height) == (0, 0, 19, 19)
    assert crop_around([None], 120, 100, 0.25, 48).is_full


def test_resized_keeps_the_centre_and_stays_inside() -> None:
    crop = Crop(10, 20, 30, 40, 100, 80)
    grown = crop.resized(50, 60)
    assert (grown.x0, grown.y0, grown.width, grown.height) == (0, 10, 50, 60)  # about the same centre
    assert crop.resized(30, 40) == crop
    edge = Crop(90, 70, 10, 10, 100, 80).resized(20, 20)
    assert (edge.x0, edge.y0) == (80, 60)  # shifted back inside the image
    assert Crop(0, 0, 10, 10, 100, 80).resized(200, 200) == Crop.whole(100, 80)
