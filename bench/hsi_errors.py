"""Where the body error of the HSI chain comes from (#6): per-frame errors of whole chains under config
variants, and single frames fitted from the true previous frame.

    python bench/hsi_errors.py --set speed.frames_in_flight=6 --chains ";hsi.velocity_init=1"
    python bench/hsi_errors.py --oracle 4,8,11,12,14,24,26,40 --chains -

One scripted clip (paper profile, 1024², stand-in body) is made once. For each chain (a comma-separated set
of dotted overrides, empty for the defaults; chains separated by ";"; "-" for none) it prints per frame the
raw MPJPE of the 22 body joints, the global-orientation error (degrees) and the root error, and L_rgb at the
estimate against L_rgb at the truth. --oracle fits each listed frame t alone from the true state of t−1 (the
paper's schedule, one frame in flight): how far one frame's optimisation gets when nothing before it went
wrong.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import sys
import time

import torch
from torch import Tensor

from zerohsi_core.body.joints import NUM_BODY_JOINTS
from zerohsi_core.body.params import SmplxParams
from zerohsi_core.config import load_config
from zerohsi_core.metrics.truth import axis_angle_distance_deg
from zerohsi_core.optimize.hsi import HsiOptions, HsiTargets, _SceneRenderer, optimize_clip
from zerohsi_core.pipeline import Pipeline
from zerohsi_core.render.losses import photometric_loss


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--frames", type=int, default=51)
    parser.add_argument("--scene", default="living_room")
    parser.add_argument("--prompt", default="The person is sitting on the sofa.")
    parser.add_argument("--chains", default="", help="';'-separated override sets ('-': no chain)")
    parser.add_argument("--oracle", default="", help="comma-separated frames fitted from the true t−1")
    parser.add_argument("--set", action="append", default=[], help="overrides for every run")
    return parser.parse_args(argv)


def joint_errors_mm(joints: Tensor, truth: Tensor) -> Tensor:
    """[T, 22] distances of the body joints, millimetres."""
    return 1000 * torch.linalg.norm(joints[:, :NUM_BODY_JOINTS] - truth[:, :NUM_BODY_JOINTS], dim=-1)


def row(name: str, values: Tensor) -> str:
    return f"  {name:<16}" + " ".join(f"{float(v):.0f}" for v in values)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    overrides = [f"render.width={args.size}", f"render.height={args.size}", f"video.num_frames={args.frames}"]
    overrides += args.set
    cfg = load_config(profile="paper", overrides=overrides)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    pipeline = Pipeline(cfg, device)
    scene = pipeline.load_scene(args.scene)
    inputs = pipeline.prepare_clip(
        scene, None, pipeline.default_human(scene), args.prompt, cfg.seed, args.frames
    )
    truth = inputs.video.meta["ground_truth"]
    true_params = truth.params.to(device, pipeline.body.dtype)
    true_joints = truth.joints.to(device)
    camera = truth.camera
    avatar_state = copy.deepcopy(pipeline.avatar.state_dict())  # HSI fine-tunes the colour network
    draw = _SceneRenderer(pipeline.avatar, inputs.static, None, pipeline.render_options)

    def loss_at(params: SmplxParams, t: int) -> float:
        with torch.no_grad():
            out = draw(params.index(slice(t, t + 1)), None, [camera])
            return float(photometric_loss(out.rgb, inputs.frames[t : t + 1], cfg.hsi.lambda_ssim))

    motion = joint_errors_mm(true_joints[1:], true_joints[:-1]).mean(-1)
    print(row("motion mm/frame", motion), flush=True)
    for chain in [] if args.chains == "-" else args.chains.split(";"):
        pipeline.avatar.load_state_dict(avatar_state)
        pipeline.cfg = load_config(profile="paper", overrides=[*overrides, *filter(None, chain.split(","))])
        start = time.perf_counter()
        result = pipeline.reconstruct(inputs)
        pipeline.avatar.load_state_dict(avatar_state)
        print(
            f"chain [{chain}] {time.perf_counter() - start:.0f} s: "
            + ", ".join(f"{k} {v:.2f}" for k, v in result.errors.items())
        )
        print(row("raw MPJPE mm", joint_errors_mm(result.raw_joints, true_joints).mean(-1)))
        print(
            row(
                "orientation °",
                axis_angle_distance_deg(result.raw_params.global_orient, true_params.global_orient),
            )
        )
        print(row("root mm", joint_errors_mm(result.raw_joints, true_joints)[:, 0]))
        every = max(1, args.frames // 5)
        print(
            "  L_rgb estimate / truth: "
            + ", ".join(
                f"t={t} {loss_at(result.raw_params, t):.5f} / {loss_at(true_params, t):.5f}"
                for t in range(every, args.frames, every)
            ),
            flush=True,
        )
    single = dataclasses.replace(HsiOptions.from_config(cfg), frames_in_flight=1)
    errors = []
    for t in (int(x) for x in filter(None, args.oracle.split(","))):
        pipeline.avatar.load_state_dict(avatar_state)
        pair = [t - 1, t]
        targets = HsiTargets(inputs.frames[pair], inputs.human_masks[pair], None, [camera, camera])
        fitted = optimize_clip(
            pipeline.avatar,
            inputs.static,
            targets,
            true_params.index(slice(t - 1, t)),
            options=single,
            render_options=pipeline.render_options,
        )
        with torch.no_grad():
            joints = pipeline.body.forward(fitted.params).joints
        error = joint_errors_mm(joints[1:], true_joints[t : t + 1])[0]
        errors.append(float(error.mean()))
        print(
            f"oracle t={t}: from the true t−1 ({float(motion[t - 1]):.1f} mm away) to {errors[-1]:.1f} mm, "
            f"worst joint {int(error.argmax())} {float(error.max()):.0f} mm",
            flush=True,
        )
    pipeline.avatar.load_state_dict(avatar_state)
    if errors:
        print(f"oracle mean {sum(errors) / len(errors):.1f} mm over {len(errors)} frames")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
