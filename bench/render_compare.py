"""Compare gsplat's CUDA rasteriser with the pure-torch one on a deterministic scene (images and gradients).

    python bench/render_compare.py [--num 20000] [--size 256] [--torch-device cuda|cpu] [--out result.json]

Renders the same Gaussians (RGB + two entity-mask channels + depth) from two cameras with both
backends, then prints PSNR of RGB over a white background, depth errors in mm where alpha > 0.5, the
largest alpha and mask differences, and the cosine similarity of the gradients of one scalar loss.
Needs only torch and the project's render package (plus gsplat and CUDA for the gsplat side); without
them it says so and runs the torch backend alone.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zerohsi_core.errors import BackendError  # noqa: E402
from zerohsi_core.render.gsplat_raster import gsplat_module, rasterize_gsplat  # noqa: E402
from zerohsi_core.render.options import RenderOptions  # noqa: E402
from zerohsi_core.render.outputs import RasterOutput  # noqa: E402
from zerohsi_core.render.torch_raster import rasterize_torch  # noqa: E402

PARAMS = ("means", "quats", "scales", "opacities", "colors")
FOV_Y_DEG = 60.0
DEPTH_ALPHA = 0.5  # depth errors are measured where both backends' alpha exceeds this


def random_scene(num: int, seed: int) -> dict[str, torch.Tensor]:
    """num Gaussians 1.5-6 m in front of the origin along +z, a few cm across, in two entities (float32)."""
    g = torch.Generator().manual_seed(seed)
    z = 1.5 + 4.5 * torch.rand(num, generator=g)
    xy = (torch.rand(num, 2, generator=g) - 0.5) * 1.3 * z[:, None]
    rgb = torch.rand(num, 3, generator=g)
    entity = (xy[:, 0] > 0).float()[:, None]  # [N, 1]: right half is entity 1
    return {
        "means": torch.cat([xy, z[:, None]], -1),
        "quats": torch.randn(num, 4, generator=g),
        "scales": 0.03 * torch.exp(0.6 * torch.randn(num, 3, generator=g)),
        "opacities": torch.sigmoid(1.0 + torch.randn(num, generator=g)),
        "colors": torch.cat([rgb, 1.0 - entity, entity], -1),  # [N, 5] RGB + entity one-hot
    }


def cameras(size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Two views: the origin looking along +z, and one turned 12 degrees and moved. -> [2,4,4], [2,3,3]"""
    focal = 0.5 * size / math.tan(math.radians(FOV_Y_DEG) / 2)
    K = torch.tensor([[focal, 0.0, size / 2], [0.0, focal, size / 2], [0.0, 0.0, 1.0]])
    a = math.radians(12.0)
    turned = torch.eye(4)
    turned[:3, :3] = torch.tensor(
        [[math.cos(a), 0.0, math.sin(a)], [0.0, 1.0, 0.0], [-math.sin(a), 0.0, math.cos(a)]]
    )
    turned[:3, 3] = torch.tensor([0.3, -0.1, 0.2])
    return torch.stack([torch.eye(4), turned]).to(device), torch.stack([K, K]).to(device)


def run_backend(
    backend: str, scene: dict[str, torch.Tensor], size: int, device: torch.device, seed: int
) -> dict:
    """Forward + backward of one loss on `device`; returns outputs, gradients and timings (CPU tensors)."""
    leaves = {k: v.to(device).clone().requires_grad_(True) for k, v in scene.items()}
    viewmats, Ks = cameras(size, device)
    options = RenderOptions()
    rasterize = rasterize_gsplat if backend == "gsplat" else rasterize_torch
    g = torch.Generator().manual_seed(seed + 1)
    weights = torch.rand(2, size, size, 7, generator=g).to(device)  # rgb, masks, depth sum, alpha

    def step() -> tuple[RasterOutput, float, float]:
        for leaf in leaves.values():
            leaf.grad = None
        sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
        sync()
        t0 = time.perf_counter()
        colors = leaves["colors"].expand(2, -1, -1)
        out = rasterize(*(leaves[k] for k in PARAMS[:4]), colors, viewmats, Ks, size, size, options)
        sync()
        t1 = time.perf_counter()
        stacked = torch.cat([out.features, out.depth_sum[..., None], out.alpha[..., None]], -1)
        (stacked * weights).sum().backward()
        sync()
        return out, t1 - t0, time.perf_counter() - t0

    step()  # warm-up (CUDA kernels, allocator)
    out, fwd, fwd_bwd = min((step() for _ in range(3)), key=lambda r: r[2])
    return {
        "out": RasterOutput(*(t.detach().cpu() for t in (out.features, out.depth_sum, out.alpha))),
        "grads": {k: v.grad.detach().cpu() for k, v in leaves.items()},
        "fwd_s": fwd,
        "fwd_bwd_s": fwd_bwd,
    }


def compare(a: dict, b: dict) -> dict[str, float]:
    """Image, depth and gradient agreement of two backend runs."""
    oa, ob = a["out"], b["out"]
    rgb_a = oa.features[..., :3] + (1 - oa.alpha[..., None])
    rgb_b = ob.features[..., :3] + (1 - ob.alpha[..., None])
    mse = float(((rgb_a - rgb_b) ** 2).mean())
    solid = (oa.alpha > DEPTH_ALPHA) & (ob.alpha > DEPTH_ALPHA)
    depth_err = (oa.depth_sum / oa.alpha - ob.depth_sum / ob.alpha)[solid].abs() * 1000.0
    result = {
        "rgb_psnr_db": float("inf") if mse == 0 else -10.0 * math.log10(mse),
        "depth_median_abs_mm": float(depth_err.median()) if depth_err.numel() else float("nan"),
        "depth_max_abs_mm": float(depth_err.max()) if depth_err.numel() else float("nan"),
        "alpha_max_abs": float((oa.alpha - ob.alpha).abs().max()),
        "mask_max_abs": float((oa.features[..., 3:] - ob.features[..., 3:]).abs().max()),
        "solid_pixels": int(solid.sum()),
    }
    for k in PARAMS:
        ga, gb = a["grads"][k].flatten().double(), b["grads"][k].flatten().double()
        result[f"grad_cos_{k}"] = float(torch.nn.functional.cosine_similarity(ga, gb, dim=0))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num", type=int, default=20000)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--torch-device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    scene = random_scene(args.num, args.seed)
    torch_device = torch.device(args.torch_device)
    report: dict = {"num": args.num, "size": args.size, "cameras": 2, "torch_device": str(torch_device)}
    ours = run_backend("torch", scene, args.size, torch_device, args.seed)
    report["torch"] = {"fwd_s": ours["fwd_s"], "fwd_bwd_s": ours["fwd_bwd_s"]}
    print(
        f"torch ({torch_device}): forward {ours['fwd_s']:.4f} s, forward+backward {ours['fwd_bwd_s']:.4f} s"
    )
    try:
        if not torch.cuda.is_available():
            raise BackendError("no CUDA device")
        gsplat_module()
    except BackendError as exc:
        print(f"skipping gsplat: {exc}")
        report["gsplat"] = None
    else:
        ref = run_backend("gsplat", scene, args.size, torch.device("cuda"), args.seed)
        report["gsplat"] = {"fwd_s": ref["fwd_s"], "fwd_bwd_s": ref["fwd_bwd_s"]}
        print(f"gsplat (cuda): forward {ref['fwd_s']:.4f} s, forward+backward {ref['fwd_bwd_s']:.4f} s")
        report["agreement"] = compare(ref, ours)
        for key, value in report["agreement"].items():
            print(f"  {key:24s} {value:.6g}")
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=2))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
