"""Building blocks of procedural scenes: textured primitive parts, layouts, and their Gaussians and meshes.

A part's Gaussians are flat splats on its surface (stratified samples, oriented along the surface,
thin along the normal); its mesh is the closed primitive, so a layout's mesh is a union of closed parts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from zerohsi_core.geometry.rotations import axis_angle_to_matrix, matrix_to_quat_wxyz
from zerohsi_core.scene.gaussians import GaussianCloud, rgb_to_sh_dc
from zerohsi_core.scene.mesh import TriMesh
from zerohsi_core.scene.primitives import (
    BOX_FACES,
    CYLINDER_FACES,
    SurfaceSamples,
    box_contains,
    box_mesh,
    cylinder_contains,
    cylinder_mesh,
    sample_box,
    sample_cylinder,
)
from zerohsi_core.scene.scene import HumanStart, Surface
from zerohsi_core.scene.textures import Texture


@dataclass(frozen=True)
class Part:
    """A textured primitive: box (size = extents) or z-axis cylinder (size = (diameter, diameter, height))."""

    kind: Literal["box", "cylinder"]
    size: tuple[float, float, float]
    texture: Texture
    center: tuple[float, float, float] = (0.0, 0.0, 0.0)
    rotation: tuple[float, float, float] = (0.0, 0.0, 0.0)  # axis-angle, radians
    faces: tuple[str, ...] | None = None  # faces given Gaussians; None = all (hidden ones may be left out)

    def __post_init__(self) -> None:
        for name in ("size", "center", "rotation"):
            object.__setattr__(self, name, tuple(float(x) for x in getattr(self, name)))

    @staticmethod
    def box(
        lo: tuple[float, float, float],
        hi: tuple[float, float, float],
        texture: Texture,
        faces: tuple[str, ...] | None = None,
    ) -> Part:
        """Axis-aligned box between two corners."""
        size = tuple(float(b - a) for a, b in zip(lo, hi, strict=True))
        center = tuple(0.5 * float(a + b) for a, b in zip(lo, hi, strict=True))
        return Part("box", size, texture, center, faces=faces)

    def pose(self) -> np.ndarray:
        """Primitive-to-parent transform. [4, 4]"""
        T = np.eye(4)
        T[:3, :3] = axis_angle_to_matrix(torch.tensor(self.rotation, dtype=torch.float64)).numpy()
        T[:3, 3] = self.center
        return T


@dataclass(frozen=True)
class Layout:
    """A scene or object design: parts, annotations and default object placements."""

    parts: tuple[Part, ...]
    affordances: tuple[Surface, ...] = ()
    human_start: HumanStart = HumanStart((0.0, 0.0), 0.0)
    objects: tuple[tuple[str, tuple[float, ...]], ...] = ()  # (object id, [x, y, z, qx, qy, qz, qw])


@dataclass(frozen=True)
class SplatOptions:
    """How surface samples become Gaussians; density 1.0 gives ~150k Gaussians in the living room."""

    gaussians_per_m2: float = 1800.0  # at density 1.0
    object_density_factor: float = 4.0  # movable objects are seen up close: denser than the scene
    tangent_sigma: float = 0.55  # sigma along the surface, as a fraction of the sample cell
    normal_sigma: float = 0.08  # sigma along the normal, as a fraction of the shorter cell side
    opacity: float = 0.95
    cylinder_segments: int = 32
    hidden_offset_m: float = 0.002  # a splat is hidden (dropped) if this far out along its normal is solid


def _samples(part: Part, rng: np.random.Generator, spacing: float) -> SurfaceSamples:
    if part.kind == "box":
        samples = sample_box(rng, part.size, spacing, part.faces or BOX_FACES)
    else:
        samples = sample_cylinder(rng, part.size, spacing, part.faces or CYLINDER_FACES)
    return samples.transformed(part.pose())


def _part_mesh(part: Part, options: SplatOptions) -> TriMesh:
    mesh = box_mesh(part.size) if part.kind == "box" else cylinder_mesh(part.size, options.cylinder_segments)
    return mesh.transformed(part.pose())


def _splats(samples: SurfaceSamples, rgb: np.ndarray, options: SplatOptions) -> GaussianCloud:
    """Flat Gaussians on the surface: frame columns (u, v, n), thin along n. -> float32 cloud."""
    n = len(samples.points)
    thickness = options.normal_sigma * samples.extents.min(axis=1, keepdims=True)  # [N, 1]
    scales = np.concatenate([options.tangent_sigma * samples.extents, thickness], axis=1)  # [N, 3]
    logit = float(np.log(options.opacity / (1.0 - options.opacity)))
    return GaussianCloud(
        means=torch.from_numpy(samples.points).float(),
        quats=matrix_to_quat_wxyz(torch.from_numpy(samples.frames).float()),  # float32: 6x faster
        log_scales=torch.from_numpy(np.log(scales)).float(),
        opacity_logits=torch.full((n,), logit, dtype=torch.float32),
        sh=rgb_to_sh_dc(torch.from_numpy(rgb)).float()[:, None, :],
    )


def _hidden(parts: tuple[Part, ...], samples: list[SurfaceSamples], offset: float) -> list[np.ndarray]:
    """Per part, which samples are covered by another part (a point just outside them is inside it)."""
    probes = [p.points + offset * p.frames[:, :, 2] for p in samples]  # [N_i, 3] each
    hidden = [np.zeros(len(p), dtype=bool) for p in probes]
    for j, part in enumerate(parts):
        T = part.pose()
        reach = 0.5 * np.linalg.norm(part.size)  # bounding-sphere radius around the part's centre
        contains = box_contains if part.kind == "box" else cylinder_contains
        for i, probe in enumerate(probes):
            if i == j:
                continue
            near = np.flatnonzero(np.linalg.norm(probe - T[:3, 3], axis=1) < reach)
            local = (probe[near] - T[:3, 3]) @ T[:3, :3]  # into the part's frame
            hidden[i][near[contains(part.size, local)]] = True
    return hidden


def generate(
    layout: Layout, seed: int, gaussians_per_m2: float, options: SplatOptions
) -> tuple[GaussianCloud, TriMesh]:
    """Gaussians and the union mesh of a layout; each part draws from its own seeded stream.

    Splats covered by another part (the floor under the sofa, faces inside a joint) are dropped.
    """
    spacing = 1.0 / np.sqrt(gaussians_per_m2)
    samples, colors, meshes = [], [], []
    for index, part in enumerate(layout.parts):
        rng = np.random.default_rng((seed, index))
        part_samples = _samples(part, rng, spacing)
        samples.append(part_samples)
        colors.append(part.texture(part_samples.points, rng))
        mesh = _part_mesh(part, options)
        vertex_rgb = part.texture(mesh.vertices, rng)
        meshes.append(dataclasses.replace(mesh, colors=np.round(255.0 * vertex_rgb).astype(np.uint8)))
    hidden = np.concatenate(_hidden(layout.parts, samples, options.hidden_offset_m))
    visible = SurfaceSamples.concat(samples).subset(~hidden)
    cloud = _splats(visible, np.concatenate(colors)[~hidden], options)
    return cloud, TriMesh.merge(meshes)
