"""Write the scripted motions of the accuracy cases (and the GPU clip) into the cache, to copy to another
machine (so that their writing stays out of its timings): `python bench/write_motions.py DEST [--frames 51]`
copies them to DEST/motions; there, point ZEROHSI_CACHE at a folder holding that `motions/` and the
benchmarks replay them (video/motion_cache.py).
The first clip of each case is written (a chained clip starts from a reconstruction, known only there)."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from zerohsi_core.bench_accuracy import CASES
from zerohsi_core.config import load_config
from zerohsi_core.pipeline import InteractionRequest, Pipeline
from zerohsi_core.video.motion_cache import motion_path
from zerohsi_core.video.scripted import ScriptContext, ScriptedVideoGenerator, build_scripted_generator

GPU_CLIP = ("living_room", "The person is sitting on the sofa.", "")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--frames", type=int, default=51)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    cfg = load_config(profile="paper", overrides=["body.avatar_gaussians=1000", "device=cpu"])
    pipeline = Pipeline(cfg, "cpu")
    generator: ScriptedVideoGenerator = build_scripted_generator(cfg)
    (args.dest / "motions").mkdir(parents=True, exist_ok=True)
    jobs = [(c.scene, c.prompts[0], c.object_id) for c in CASES] + [GPU_CLIP]
    for scene_id, prompt, object_id in jobs:
        scene = pipeline.load_scene(scene_id)
        obj = pipeline._object(scene, InteractionRequest([prompt], scene_id, object_id))
        initial = pipeline.default_human(scene)
        context = ScriptContext(scene, obj.id if obj else None, None, initial, None, pipeline.avatar)
        motion, key = generator.bind(context).motion_and_key(prompt, args.seed, args.frames)
        shutil.copy(motion_path(key), args.dest / "motions")
        print(f"{scene_id:>18} {prompt!r}: {motion.name}, {motion.num_frames} frames -> {key}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
