"""Cameras: intrinsics, look-at (OpenCV axes, z-up world), projection round trips, resizing, orbits."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from zerohsi_core.errors import InputError
from zerohsi_core.geometry import Camera, intrinsics_from_fov, look_at, orbit_cameras

PROPERTY = settings(max_examples=50, deadline=None, derandomize=True)
TOL = {torch.float32: 2e-4, torch.float64: 1e-10}

seeds = st.integers(0, 2**32 - 1)
dtypes = st.sampled_from([torch.float32, torch.float64])


def _random_camera(gen: torch.Generator, dtype: torch.dtype) -> Camera:
    eye = torch.randn(3, generator=gen, dtype=torch.float64) * 4
    target = torch.randn(3, generator=gen, dtype=torch.float64)
    fov = 20 + 100 * torch.rand((), generator=gen).item()
    K = intrinsics_from_fov(fov, 320, 240, dtype=dtype)
    return Camera(K, look_at(eye, target).to(dtype), 320, 240)


def test_intrinsics_known_value() -> None:
    K = intrinsics_from_fov(90.0, 200, 100, dtype=torch.float64)
    expected = torch.tensor([[50.0, 0, 100], [0, 50, 50], [0, 0, 1]], dtype=torch.float64)
    torch.testing.assert_close(K, expected)
    with pytest.raises(InputError, match="fov_y_deg"):
        intrinsics_from_fov(180.0, 200, 100)


def test_look_at_known_case() -> None:
    # From −2 on the world x axis towards the origin: camera z = world +x, right = world −y, down = world −z.
    T = look_at(torch.tensor([-2.0, 0.0, 0.0], dtype=torch.float64), torch.zeros(3, dtype=torch.float64))
    expected = torch.tensor(
        [[0.0, -1, 0, 0], [0, 0, -1, 0], [1, 0, 0, 2], [0, 0, 0, 1]],
        dtype=torch.float64,
    )
    torch.testing.assert_close(T, expected)


@PROPERTY
@given(seeds, dtypes)
def test_look_at_is_right_handed_looks_at_target_with_z_up(seed, dtype) -> None:
    gen = torch.Generator().manual_seed(seed)
    eye = (torch.randn(4, 3, generator=gen, dtype=torch.float64) * 3).to(dtype)
    target = torch.randn(4, 3, generator=gen, dtype=torch.float64).to(dtype)
    T = look_at(eye, target)  # [4, 4, 4]
    R = T[:, :3, :3]
    torch.testing.assert_close(
        R @ R.transpose(-1, -2), torch.eye(3, dtype=dtype).expand(4, 3, 3), atol=TOL[dtype], rtol=0
    )
    torch.testing.assert_close(torch.linalg.det(R), torch.ones(4, dtype=dtype), atol=TOL[dtype], rtol=0)
    K = intrinsics_from_fov(60.0, 64, 48, dtype=dtype)
    for i in range(4):
        cam = Camera(K, T[i], 64, 48)
        torch.testing.assert_close(cam.center, eye[i], atol=TOL[dtype] * 10, rtol=0)
        uv, depth = cam.project(target[i])
        torch.testing.assert_close(uv, K[:2, 2], atol=TOL[dtype] * 100, rtol=0)
        torch.testing.assert_close(depth, (target[i] - eye[i]).norm(), atol=TOL[dtype] * 10, rtol=0)
        # World +z is image up (smaller v) and the camera x axis is horizontal.
        above, _ = cam.project(target[i] + torch.tensor([0.0, 0.0, 0.1], dtype=dtype))
        assert above[1] < uv[1]
        assert abs(R[i, 0, 2].item()) < TOL[dtype]


def test_look_at_straight_down_picks_another_up() -> None:
    eyes = torch.tensor([[0.0, 0.0, 5.0], [1.0, 2.0, 3.0], [0.5, -0.5, 9.0]], dtype=torch.float64)
    targets = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.5, -0.5, -1.0]], dtype=torch.float64)
    T = look_at(eyes, targets)
    assert torch.isfinite(T).all()
    R = T[:, :3, :3]
    torch.testing.assert_close(torch.linalg.det(R), torch.ones(3, dtype=torch.float64))
    torch.testing.assert_close(R[0, 2], torch.tensor([0.0, 0, -1], dtype=torch.float64))
    # Straight down, image up (−y camera) falls on world +x.
    torch.testing.assert_close(-R[0, 1], torch.tensor([1.0, 0, 0], dtype=torch.float64))
    K = intrinsics_from_fov(60.0, 64, 48, dtype=torch.float64)
    for i in (0, 2):
        uv, depth = Camera(K, T[i], 64, 48).project(targets[i])
        torch.testing.assert_close(uv, K[:2, 2])
        torch.testing.assert_close(depth, (targets[i] - eyes[i]).norm())
    with pytest.raises(InputError, match="coincide"):
        look_at([1.0, 1.0, 1.0], [1.0, 1.0, 1.0])


@PROPERTY
@given(seeds, dtypes)
def test_project_unproject_round_trip(seed, dtype) -> None:
    gen = torch.Generator().manual_seed(seed)
    cam = _random_camera(gen, dtype)
    uv = (torch.rand(50, 2, generator=gen, dtype=torch.float64) * torch.tensor([320.0, 240.0])).to(dtype)
    depth = (0.1 + 10 * torch.rand(50, generator=gen, dtype=torch.float64)).to(dtype)
    points = cam.unproject(uv, depth)  # [50, 3]
    uv_back, depth_back = cam.project(points)
    torch.testing.assert_close(uv_back, uv, atol=TOL[dtype] * 50, rtol=0)
    torch.testing.assert_close(depth_back, depth, atol=TOL[dtype] * 10, rtol=0)
    # And world -> pixels -> world, batched over two leading dims.
    world = (torch.randn(2, 25, 3, generator=gen, dtype=torch.float64)).to(dtype)
    uv_w, depth_w = cam.project(world)
    assert uv_w.shape == (2, 25, 2) and depth_w.shape == (2, 25)
    torch.testing.assert_close(cam.unproject(uv_w, depth_w), world, atol=TOL[dtype] * 10, rtol=0)


def test_project_known_pixel_and_negative_depth_behind() -> None:
    K = intrinsics_from_fov(90.0, 200, 100, dtype=torch.float64)  # f = 50
    cam = Camera(K, look_at([-2.0, 0.0, 0.0], [0.0, 0.0, 0.0]).double(), 200, 100)
    # 1 m left-of-centre is world +y; at depth 2 it lands 25 px left of cx; 0.5 m up is 12.5 px up.
    uv, depth = cam.project(torch.tensor([[0.0, 1.0, 0.5], [-3.0, 0.0, 0.0]], dtype=torch.float64))
    torch.testing.assert_close(uv[0], torch.tensor([75.0, 37.5], dtype=torch.float64))
    torch.testing.assert_close(depth, torch.tensor([2.0, -1.0], dtype=torch.float64))


def test_with_size_scales_pixels_and_to_converts() -> None:
    cam = _random_camera(torch.Generator().manual_seed(3), torch.float64)
    small = cam.with_size(160, 60)
    K = small.K
    torch.testing.assert_close(K[0], cam.K[0] / 2)
    torch.testing.assert_close(K[1], cam.K[1] / 4)
    points = torch.randn(10, 3, dtype=torch.float64)
    uv, depth = cam.project(points)
    uv_small, depth_small = small.project(points)
    torch.testing.assert_close(uv_small, uv / torch.tensor([2.0, 4.0], dtype=torch.float64))
    torch.testing.assert_close(depth_small, depth)
    as32 = cam.to("cpu", torch.float32)
    assert as32.K.dtype == torch.float32 and as32.world_to_cam.dtype == torch.float32
    assert (as32.width, as32.height) == (320, 240)


def test_project_is_differentiable() -> None:
    cam = _random_camera(torch.Generator().manual_seed(5), torch.float64)
    points = cam.unproject(
        torch.tensor([[100.0, 80.0], [10.0, 200.0]], dtype=torch.float64),
        torch.tensor([2.0, 5.0], dtype=torch.float64),
    )
    assert torch.autograd.gradcheck(lambda p: cam.project(p)[0], (points.requires_grad_(),))


def test_orbit_cameras_ring() -> None:
    center = torch.tensor([1.0, -2.0, 0.8], dtype=torch.float64)
    cams = orbit_cameras(center, 2.0, 0.5, 6, 50.0, 96, 64)
    assert len(cams) == 6 and all((c.width, c.height) == (96, 64) for c in cams)
    for k, cam in enumerate(cams):
        azimuth = 2 * math.pi * k / 6
        expected = center + torch.tensor(
            [2 * math.cos(azimuth), 2 * math.sin(azimuth), 0.5], dtype=torch.float64
        )
        torch.testing.assert_close(cam.center, expected)
        uv, depth = cam.project(center)
        torch.testing.assert_close(uv, torch.tensor([48.0, 32.0], dtype=torch.float64))
        torch.testing.assert_close(depth, torch.tensor(math.hypot(2.0, 0.5), dtype=torch.float64))
    overhead = orbit_cameras([0.0, 0.0, 0.0], 0.0, 3.0, 2, 60.0, 32, 32)
    assert all(torch.isfinite(c.world_to_cam).all() for c in overhead)
    with pytest.raises(InputError, match="n >= 1"):
        orbit_cameras([0.0, 0.0, 0.0], 1.0, 0.0, 0, 60.0, 32, 32)


def test_camera_validates_its_fields() -> None:
    with pytest.raises(InputError, match="K \\[3, 3\\]"):
        Camera(torch.eye(4), torch.eye(4), 10, 10)
    with pytest.raises(InputError, match="positive"):
        Camera(torch.eye(3), torch.eye(4), 0, 10)
    with pytest.raises(InputError, match="dtype and device"):
        Camera(torch.eye(3, dtype=torch.float64), torch.eye(4), 10, 10)
