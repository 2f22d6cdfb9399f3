"""glTF export (web viewers, three.js, Blender, game engines): one binary .glb with the skinned body mesh,
a 55-joint skin, one animation (per-joint rotations, root translation, the object's pose) and the object
as an animated node carrying a small cube.

Axes: glTF is y-up, metres. The data stay in our z-up world frame (as in the USD export) under a root
node `zup_to_yup` whose rotation is −90° about x (world (x, y, z) → glTF (x, z, −y)). Nodes:
`zup_to_yup` → `pelvis` → … (one node per SMPL-X joint, rest translations = rest offsets of the result's
body) and `zup_to_yup` → `object` (extras: `zerohsi_object_id`); `body` (the skinned mesh) sits at the
scene root with an identity transform (the spec ignores a skinned mesh node's transform, three.js
applies it). Keyframe times are frame / fps, LINEAR interpolation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pygltflib as gl
from scipy.spatial.transform import Rotation

from zerohsi_core.body.frames import Y_UP_TO_Z_UP
from zerohsi_core.errors import InputError
from zerohsi_core.io.export_common import BodyRest, ExportMotion, root_positions, upright_skeleton

ROOT_NAME = "zup_to_yup"
MESH_NODE_NAME = "body"
OBJECT_NODE_NAME = "object"
ANIMATION_NAME = "interaction"
ZUP_TO_YUP_XYZW = (-float(np.sqrt(0.5)), 0.0, 0.0, float(np.sqrt(0.5)))
"""Rotation of the root node: −90° about x, turning the z-up world into glTF's y-up."""
ALIGN = 4  # bytes; every bufferView starts on a 4-byte boundary (glTF vertex-attribute rule)
_TYPES = {1: gl.SCALAR, 3: gl.VEC3, 4: gl.VEC4, 16: gl.MAT4}
_COMPONENTS = {
    np.dtype(np.float32): gl.FLOAT,
    np.dtype(np.uint8): gl.UNSIGNED_BYTE,
    np.dtype(np.uint16): gl.UNSIGNED_SHORT,
    np.dtype(np.uint32): gl.UNSIGNED_INT,
}


@dataclass(frozen=True)
class GltfOptions:
    """Mesh skinning keeps the strongest `max_influences` (≤ 4, one JOINTS_0/WEIGHTS_0 set) joints per
    vertex, renormalised; the object is drawn as a cube of `object_cube_size` metres."""

    max_influences: int = 4
    include_mesh: bool = True
    include_normals: bool = True
    object_cube_size: float = 0.1


class _Blob:
    """Accumulates the binary chunk: one bufferView and one accessor per array."""

    def __init__(self, gltf: gl.GLTF2) -> None:
        self.gltf = gltf
        self.data = bytearray()

    def add(self, array: np.ndarray, target: int | None = None, bounds: bool = False) -> int:
        """Append array [N, k] (or [N] / [N, 4, 4]) and return its accessor index."""
        array = np.ascontiguousarray(array)
        count = len(array)
        width = int(np.prod(array.shape[1:], dtype=int))
        self.data += b"\0" * (-len(self.data) % ALIGN)
        offset = len(self.data)
        self.data += array.tobytes()
        self.gltf.bufferViews.append(
            gl.BufferView(buffer=0, byteOffset=offset, byteLength=array.nbytes, target=target)
        )
        flat = array.reshape(count, width)
        accessor = gl.Accessor(
            bufferView=len(self.gltf.bufferViews) - 1,
            componentType=_COMPONENTS[array.dtype],
            count=count,
            type=_TYPES[width],
            min=flat.min(0).tolist() if bounds else None,
            max=flat.max(0).tolist() if bounds else None,
        )
        self.gltf.accessors.append(accessor)
        return len(self.gltf.accessors) - 1


def skeleton_animation(motion: ExportMotion, rest: BodyRest) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Z-up skeleton (the USD export's): rest translations [55, 3] (root: rest pelvis), root positions
    [T, 3] and joint-local rotations [T, 55, 4] as glTF quaternions (x, y, z, w)."""
    xyzw, offsets = upright_skeleton(motion, rest)
    return offsets, root_positions(motion, rest), continuous_quaternions(xyzw)


def continuous_quaternions(quats: np.ndarray) -> np.ndarray:
    """Flip signs along time so consecutive keys [T, ..., 4] lie in one hemisphere (interpolation takes
    the short way in engines that lerp components)."""
    out = quats.copy()
    for t in range(1, len(out)):
        flip = np.sum(out[t] * out[t - 1], axis=-1, keepdims=True) < 0
        out[t] = np.where(flip, -out[t], out[t])
    return out


def skin_weights(weights: np.ndarray, influences: int) -> tuple[np.ndarray, np.ndarray]:
    """The strongest `influences` joints per vertex, padded to 4: indices [V, 4], weights [V, 4] (sum 1)."""
    if not 1 <= influences <= 4:
        raise InputError(f"glTF keeps 1 to 4 joint influences per vertex (JOINTS_0), got {influences}")
    top = np.argsort(-weights, axis=1)[:, :4]  # [V, 4]
    kept = np.take_along_axis(weights, top, axis=1)
    kept[:, influences:] = 0.0
    kept = kept / np.clip(kept.sum(1, keepdims=True), 1e-12, None)
    return top, kept


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Unit area-weighted vertex normals [V, 3] of a triangle mesh."""
    tri = vertices[faces]  # [F, 3, 3]
    face_n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])  # [F, 3]
    normals = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(normals, faces[:, k], face_n)
    return normals / np.clip(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12, None)


def cube_mesh(size: float) -> tuple[np.ndarray, np.ndarray]:
    """Corners [8, 3] and outward-wound triangles [12, 3] of a cube centred on the origin."""
    corners = (np.array(np.meshgrid([0, 1], [0, 1], [0, 1], indexing="ij")).reshape(3, -1).T - 0.5) * size
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    return corners, np.array([t for a, b, c, d in quads for t in ((a, b, c), (a, c, d))])


def _index_array(faces: np.ndarray, vertex_count: int) -> np.ndarray:
    dtype = np.uint16 if vertex_count < np.iinfo(np.uint16).max else np.uint32
    return faces.reshape(-1).astype(dtype)


def _add_joints(gltf: gl.GLTF2, rest: BodyRest, rest_t: np.ndarray) -> list[int]:
    """One node per joint (parents precede children); returns the node index of each joint."""
    nodes = []
    for j, (name, parent) in enumerate(zip(rest.names, rest.parents, strict=True)):
        gltf.nodes.append(gl.Node(name=name, translation=rest_t[j].tolist(), children=[]))
        nodes.append(len(gltf.nodes) - 1)
        if parent >= 0:
            gltf.nodes[nodes[parent]].children.append(nodes[-1])
    for n in nodes:
        gltf.nodes[n].children = gltf.nodes[n].children or None
    return nodes


def _add_body(gltf: gl.GLTF2, blob: _Blob, rest: BodyRest, joints: list[int], options: GltfOptions) -> int:
    """The skinned body mesh and its skin; returns the mesh node's index."""
    B = np.array(Y_UP_TO_Z_UP)
    bind = rest.joints @ B.T  # [55, 3] z-up rest joints
    inverse_bind = np.tile(np.eye(4, dtype=np.float32), (len(bind), 1, 1))
    inverse_bind[:, :3, 3] = -bind
    ibm = blob.add(inverse_bind.transpose(0, 2, 1).copy())  # glTF matrices are column-major
    gltf.skins.append(gl.Skin(joints=joints, skeleton=joints[0], inverseBindMatrices=ibm))
    vertices = (rest.vertices @ B.T).astype(np.float32)  # [V, 3]
    top, weights = skin_weights(rest.weights, options.max_influences)
    index_type = np.uint8 if len(joints) <= np.iinfo(np.uint8).max else np.uint16
    attributes = gl.Attributes(
        POSITION=blob.add(vertices, gl.ARRAY_BUFFER, bounds=True),
        JOINTS_0=blob.add(top.astype(index_type), gl.ARRAY_BUFFER),
        WEIGHTS_0=blob.add(weights.astype(np.float32), gl.ARRAY_BUFFER),
    )
    if options.include_normals:
        normals = vertex_normals(vertices.astype(np.float64), rest.faces).astype(np.float32)
        attributes.NORMAL = blob.add(normals, gl.ARRAY_BUFFER)
    indices = blob.add(_index_array(rest.faces, len(vertices)), gl.ELEMENT_ARRAY_BUFFER)
    gltf.meshes.append(
        gl.Mesh(name=MESH_NODE_NAME, primitives=[gl.Primitive(attributes=attributes, indices=indices)])
    )
    gltf.nodes.append(gl.Node(name=MESH_NODE_NAME, mesh=len(gltf.meshes) - 1, skin=0))
    return len(gltf.nodes) - 1


def _add_object(gltf: gl.GLTF2, blob: _Blob, motion: ExportMotion, options: GltfOptions) -> int:
    """The object as a node with a cube mesh, placed at its first pose; returns the node index."""
    corners, faces = cube_mesh(options.object_cube_size)
    position = blob.add(corners.astype(np.float32), gl.ARRAY_BUFFER, bounds=True)
    indices = blob.add(_index_array(faces, len(corners)), gl.ELEMENT_ARRAY_BUFFER)
    prim = gl.Primitive(attributes=gl.Attributes(POSITION=position), indices=indices)
    gltf.meshes.append(gl.Mesh(name=OBJECT_NODE_NAME, primitives=[prim]))
    pose = motion.object_poses[0]
    gltf.nodes.append(
        gl.Node(
            name=OBJECT_NODE_NAME,
            mesh=len(gltf.meshes) - 1,
            translation=pose[:3, 3].tolist(),
            rotation=Rotation.from_matrix(pose[:3, :3]).as_quat().tolist(),
            extras={"zerohsi_object_id": motion.object_id or ""},
        )
    )
    return len(gltf.nodes) - 1


def _channel(gltf: gl.GLTF2, blob: _Blob, times: int, node: int, path: str, values: np.ndarray) -> None:
    """Append a LINEAR sampler over `times` and the channel driving node.path with values [T, k]."""
    anim = gltf.animations[0]
    output = blob.add(values.astype(np.float32))
    anim.samplers.append(gl.AnimationSampler(input=times, output=output, interpolation=gl.ANIM_LINEAR))
    target = gl.AnimationChannelTarget(node=node, path=path)
    anim.channels.append(gl.AnimationChannel(sampler=len(anim.samplers) - 1, target=target))


def write_gltf(
    motion: ExportMotion, rest: BodyRest, path: str | Path, options: GltfOptions | None = None
) -> Path:
    """Write the binary glTF (.glb) of the motion; returns its path."""
    options = options or GltfOptions()
    motion.require_frame_rate("glTF")
    gltf = gl.GLTF2(asset=gl.Asset(generator="zerohsi_core.io.export_gltf"))
    blob = _Blob(gltf)
    rest_t, root, rotations = skeleton_animation(motion, rest)
    gltf.nodes.append(gl.Node(name=ROOT_NAME, rotation=list(ZUP_TO_YUP_XYZW), children=[]))
    joints = _add_joints(gltf, rest, rest_t)
    gltf.nodes[0].children.append(joints[0])
    scene_nodes = [0]
    if options.include_mesh:
        scene_nodes.append(_add_body(gltf, blob, rest, joints, options))
    times = blob.add((np.arange(motion.num_frames) / motion.fps).astype(np.float32), bounds=True)
    gltf.animations.append(gl.Animation(name=ANIMATION_NAME, samplers=[], channels=[]))
    _channel(gltf, blob, times, joints[0], gl.TRANSLATION, root)
    for j, node in enumerate(joints):
        _channel(gltf, blob, times, node, gl.ROTATION, rotations[:, j])
    if motion.object_poses is not None:
        obj = _add_object(gltf, blob, motion, options)
        gltf.nodes[0].children.append(obj)
        poses = motion.object_poses
        _channel(gltf, blob, times, obj, gl.TRANSLATION, poses[:, :3, 3])
        _channel(
            gltf,
            blob,
            times,
            obj,
            gl.ROTATION,
            continuous_quaternions(Rotation.from_matrix(poses[:, :3, :3]).as_quat()),
        )
    gltf.scenes.append(gl.Scene(nodes=scene_nodes))
    gltf.scene = 0
    gltf.buffers.append(gl.Buffer(byteLength=len(blob.data)))
    gltf.set_binary_blob(bytes(blob.data))
    path = Path(path)
    gltf.save_binary(str(path))
    return path
