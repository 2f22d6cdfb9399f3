"""Speed of the pure-torch renderer on this machine: forward and forward+backward of render().

    python bench/render_cpu.py [--scene living_room|random] [--threads 2] [--repeats 3]

Renders the procedural living room (its Gaussians subsampled to 50k and 20k, seeded, then all of them)
from one camera behind the human's start, or a random cloud (`--scene random`, 1.5-6 m away, a few cm
across, semi-transparent: a harder case), at 256x256 and 128x128, and prints a table of the best
wall-clock and process CPU times over the repeats (CPU time > wall time when threads run in parallel;
on a loaded machine spinning threads inflate it). The backward loss touches rgb, depth and alpha.
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zerohsi_core.geometry.camera import Camera, intrinsics_from_fov, look_at  # noqa: E402
from zerohsi_core.render.options import RenderOptions  # noqa: E402
from zerohsi_core.render.render import render  # noqa: E402
from zerohsi_core.scene.gaussians import GaussianCloud, rgb_to_sh_dc  # noqa: E402

SIZES = (50_000, 20_000)
RESOLUTIONS = (256, 128)
FOV_Y_DEG = 60.0


def living_room(seed: int) -> tuple[GaussianCloud, Camera]:
    """The procedural living room and a camera 2.5 m behind and above the human's start, looking at it."""
    from zerohsi_core.scene.procedural import build_scene

    scene = build_scene("living_room", seed=seed)
    x, y = scene.human_start.xy
    yaw = scene.human_start.yaw
    eye = torch.tensor([x - 2.5 * math.cos(yaw), y - 2.5 * math.sin(yaw), 1.6])
    w2c = look_at(eye, torch.tensor([x, y, 0.9]))
    return scene.gaussians, Camera(intrinsics_from_fov(FOV_Y_DEG, 1, 1), w2c, 1, 1)


def random_cloud(num: int, seed: int) -> tuple[GaussianCloud, Camera]:
    """num Gaussians 1.5-6 m in front of a camera at the origin looking along world +x."""
    g = torch.Generator().manual_seed(seed)
    depth = 1.5 + 4.5 * torch.rand(num, generator=g)
    lateral = (torch.rand(num, 2, generator=g) - 0.5) * 1.3 * depth[:, None]
    cloud = GaussianCloud(
        means=torch.stack([depth, lateral[:, 0], lateral[:, 1]], -1),
        quats=torch.randn(num, 4, generator=g),
        log_scales=math.log(0.03) + 0.6 * torch.randn(num, 3, generator=g),
        opacity_logits=1.0 + torch.randn(num, generator=g),
        sh=rgb_to_sh_dc(torch.rand(num, 1, 3, generator=g)),
    )
    w2c = look_at(torch.zeros(3), torch.tensor([1.0, 0.0, 0.0]))
    return cloud, Camera(intrinsics_from_fov(FOV_Y_DEG, 1, 1), w2c, 1, 1)


def time_render(cloud: GaussianCloud, camera: Camera, backward: bool, repeats: int) -> tuple[float, float]:
    """Best wall-clock and process CPU seconds of one render (and backward) over `repeats` runs."""
    best_wall = best_cpu = math.inf
    for _ in range(repeats):
        leaves = GaussianCloud(*(t.detach().clone().requires_grad_(backward) for t in vars(cloud).values()))
        wall, cpu = time.perf_counter(), time.process_time()
        with torch.set_grad_enabled(backward):
            out = render([("scene", leaves)], camera, RenderOptions())
            if backward:
                (out.rgb.mean() + out.depth.mean() + out.alpha.mean()).backward()
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return best_wall, best_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scene", choices=("living_room", "random"), default="living_room")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    if args.scene == "living_room":
        full, base_camera = living_room(args.seed)
    print(f"scene: {args.scene}; torch {torch.__version__}, {torch.get_num_threads()} threads")
    header = ("gaussians", "size", "alpha", "fwd wall", "fwd cpu", "f+b wall", "f+b cpu")
    print("{:>9} {:>7} {:>6} | {:>8} {:>8} | {:>8} {:>8}".format(*header))
    sizes = SIZES + ((full.num,) if args.scene == "living_room" else ())
    for num in sizes:
        if args.scene == "living_room":
            keep = torch.randperm(full.num, generator=torch.Generator().manual_seed(args.seed))[:num]
            cloud, camera = full.subset(keep.sort().values), base_camera
        else:
            cloud, camera = random_cloud(num, args.seed)
        for res in RESOLUTIONS:
            cam = camera.with_size(res, res)
            with torch.no_grad():
                alpha = render([("scene", cloud)], cam).alpha.mean().item()  # also the warm-up
            fwd = time_render(cloud, cam, backward=False, repeats=args.repeats)
            both = time_render(cloud, cam, backward=True, repeats=args.repeats)
            print(
                f"{cloud.num:>9} {res:>3}x{res:<3} {alpha:>6.3f} | {fwd[0]:>7.3f}s {fwd[1]:>7.3f}s "
                f"| {both[0]:>7.3f}s {both[1]:>7.3f}s"
            )
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of the process: {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
