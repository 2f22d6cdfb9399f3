"""Config overrides that make a whole clip run in seconds on 2 CPU cores (end-to-end pipeline tests)."""

TINY = [
    "render.width=48",
    "render.height=48",
    "view.width=32",
    "view.height=32",
    "scene.density=0.05",
    "body.avatar_gaussians=800",
    "video.num_frames=3",
    "tracking.iters=2",
    "hsi.iters=3",
    "hsi.warmup_iters=1",
    "refine.iters=3",
]
