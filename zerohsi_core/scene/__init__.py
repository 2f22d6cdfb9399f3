"""Scenes: Gaussian clouds (3DGS PLY), meshes and SDF, rigid objects, procedural demo scenes, registry."""

from zerohsi_core.scene.gaussians import GaussianCloud, rgb_to_sh_dc, sh_dc_to_rgb
from zerohsi_core.scene.mesh import TriMesh, read_mesh, write_mesh
from zerohsi_core.scene.object import SceneObject, as_rigid_pose, pose_from_xyz_quat
from zerohsi_core.scene.ply import read_gaussian_ply, write_gaussian_ply
from zerohsi_core.scene.procedural import (
    build_object,
    build_scene,
    procedural_object_names,
    procedural_scene_names,
)
from zerohsi_core.scene.registry import list_scenes, load_object, load_scene, resolve_data_path
from zerohsi_core.scene.scene import HumanStart, Scene, Surface
from zerohsi_core.scene.sdf import MeshSDF, SdfOptions

__all__ = [
    "GaussianCloud",
    "HumanStart",
    "MeshSDF",
    "Scene",
    "SceneObject",
    "SdfOptions",
    "Surface",
    "TriMesh",
    "as_rigid_pose",
    "build_object",
    "build_scene",
    "list_scenes",
    "load_object",
    "load_scene",
    "pose_from_xyz_quat",
    "procedural_object_names",
    "procedural_scene_names",
    "read_gaussian_ply",
    "read_mesh",
    "resolve_data_path",
    "rgb_to_sh_dc",
    "sh_dc_to_rgb",
    "write_gaussian_ply",
    "write_mesh",
]
