"""glTF export: the .glb reads back with pygltflib, has 55 joint nodes, one key per frame at 1 / fps, and
forward kinematics of the parsed node tree (root node's z-up → y-up turn included) puts the joints where
the body model put them."""

import numpy as np
import pygltflib as gl
import pytest
import typer
from core.io.export_result import FPS, make_result
from scipy.spatial.transform import Rotation
from typer.testing import CliRunner

from zerohsi_core.body.joints import NUM_JOINTS
from zerohsi_core.cli_export import register
from zerohsi_core.errors import InputError
from zerohsi_core.io.export_common import BodyRest, ExportMotion, body_rest, load_motion
from zerohsi_core.io.export_formats import export_result
from zerohsi_core.io.export_gltf import (
    OBJECT_NODE_NAME,
    ROOT_NAME,
    GltfOptions,
    cube_mesh,
    skin_weights,
    vertex_normals,
    write_gltf,
)

FRAMES = 5
_DTYPES = {gl.FLOAT: np.float32, gl.UNSIGNED_BYTE: np.uint8, gl.UNSIGNED_SHORT: np.uint16,
           gl.UNSIGNED_INT: np.uint32}  # fmt: skip
_WIDTHS = {gl.SCALAR: 1, gl.VEC3: 3, gl.VEC4: 4, gl.MAT4: 16}


def read_accessor(gltf: gl.GLTF2, index: int) -> np.ndarray:
    """An accessor's data as [count, width] (tightly packed bufferViews, as the writer makes them)."""
    acc = gltf.accessors[index]
    view = gltf.bufferViews[acc.bufferView]
    blob = gltf.binary_blob()
    start = view.byteOffset + (acc.byteOffset or 0)
    data = np.frombuffer(blob[start : start + view.byteLength], dtype=_DTYPES[acc.componentType])
    return data.reshape(acc.count, _WIDTHS[acc.type])


def local_matrix(translation, rotation_xyzw) -> np.ndarray:
    m = np.eye(4)
    if rotation_xyzw is not None:
        m[:3, :3] = Rotation.from_quat(rotation_xyzw).as_matrix()
    if translation is not None:
        m[:3, 3] = translation
    return m


def animated_globals(gltf: gl.GLTF2, frame: int) -> dict[int, np.ndarray]:
    """Global 4×4 of every node at a keyframe: rest TRS overridden by the animation's key values."""
    trs = {i: [n.translation, n.rotation] for i, n in enumerate(gltf.nodes)}
    anim = gltf.animations[0]
    for ch in anim.channels:
        values = read_accessor(gltf, anim.samplers[ch.sampler].output)[frame]
        trs[ch.target.node][0 if ch.target.path == gl.TRANSLATION else 1] = values
    out: dict[int, np.ndarray] = {}

    def visit(node: int, parent: np.ndarray) -> None:
        out[node] = parent @ local_matrix(*trs[node])
        for child in gltf.nodes[node].children or []:
            visit(child, out[node])

    for root in gltf.scenes[gltf.scene].nodes:
        visit(root, np.eye(4))
    return out


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[ExportMotion, BodyRest, gl.GLTF2]:
    folder = tmp_path_factory.mktemp("gltf")
    motion = load_motion(make_result(folder / "res", frames=FRAMES))
    rest = body_rest(motion)
    path = write_gltf(motion, rest, folder / "motion.glb")
    assert path.read_bytes()[:4] == b"glTF"
    return motion, rest, gl.GLTF2().load_binary(str(path))


@pytest.fixture(scope="module")
def result_dir(exported, tmp_path_factory):
    return make_result(tmp_path_factory.mktemp("gltf_result") / "res", frames=FRAMES)


def test_counts_and_times(exported) -> None:
    motion, rest, gltf = exported
    skin = gltf.skins[0]
    assert len(skin.joints) == NUM_JOINTS == 55
    assert [gltf.nodes[j].name for j in skin.joints[:5]] == list(rest.names[:5])
    prim = gltf.meshes[gltf.nodes[[n.name for n in gltf.nodes].index("body")].mesh].primitives[0]
    assert gltf.accessors[prim.attributes.POSITION].count == len(rest.vertices)
    assert gltf.accessors[prim.indices].count == 3 * len(rest.faces)
    weights = read_accessor(gltf, prim.attributes.WEIGHTS_0)
    assert np.allclose(weights.sum(1), 1.0, atol=1e-6)
    assert read_accessor(gltf, prim.attributes.JOINTS_0).max() < NUM_JOINTS
    anim = gltf.animations[0]
    assert len(anim.channels) == NUM_JOINTS + 1 + 2  # rotations, root translation, object pose
    times = read_accessor(gltf, anim.samplers[0].input)[:, 0]
    assert np.allclose(times, np.arange(FRAMES) / FPS, atol=1e-7) and len(times) == motion.num_frames
    assert gltf.accessors[anim.samplers[0].input].max == [pytest.approx((FRAMES - 1) / FPS)]
    assert all(gltf.accessors[s.output].count == FRAMES for s in anim.samplers)
    assert all(s.interpolation == gl.ANIM_LINEAR for s in anim.samplers)


def test_forward_kinematics_reproduces_the_joints(exported) -> None:
    motion, _, gltf = exported
    assert gltf.nodes[gltf.scenes[0].nodes[0]].name == ROOT_NAME
    yup_to_zup = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])  # inverse of glTF's −90° about x
    joints = gltf.skins[0].joints
    for t in (0, 2, FRAMES - 1):
        glob = animated_globals(gltf, t)
        positions = np.stack([glob[j][:3, 3] for j in joints]) @ yup_to_zup.T  # [55, 3] world
        assert np.abs(positions - motion.joints[t]).max() < 1e-3, t  # ≤ 1 mm
        up = np.stack([glob[j][:3, 3] for j in joints])[:, 1]
        assert np.allclose(up, motion.joints[t][:, 2], atol=1e-3)  # glTF +y is world up


def test_skin_binds_rest_mesh_and_object_follows(exported) -> None:
    motion, rest, gltf = exported
    skin = gltf.skins[0]
    inverse_bind = read_accessor(gltf, skin.inverseBindMatrices).reshape(-1, 4, 4).transpose(0, 2, 1)
    rest_globals = {0: np.eye(4)}
    for j, n in enumerate(skin.joints):  # rest pose without the root turn: IBM · bind = identity
        parent = rest.parents[j]
        rest_globals[n] = (rest_globals[skin.joints[parent]] if parent >= 0 else np.eye(4)) @ local_matrix(
            gltf.nodes[n].translation, gltf.nodes[n].rotation
        )
        assert np.allclose(inverse_bind[j] @ rest_globals[n], np.eye(4), atol=1e-5)
    obj = [n.name for n in gltf.nodes].index(OBJECT_NODE_NAME)
    assert gltf.nodes[obj].extras == {"zerohsi_object_id": "box"}
    zup_to_yup = np.eye(4)
    zup_to_yup[1:3, 1:3] = [[0, 1], [-1, 0]]
    for t in (0, FRAMES - 1):
        world = animated_globals(gltf, t)[obj]
        assert np.abs(world - zup_to_yup @ motion.object_poses[t]).max() < 1e-5


def test_helpers_and_registry(exported, result_dir, tmp_path) -> None:
    corners, faces = cube_mesh(2.0)
    normals = vertex_normals(corners, faces)
    assert np.linalg.det(corners[faces]).sum() / 6.0 == pytest.approx(8.0)  # closed, wound outwards
    assert np.all(np.sum(normals * corners, axis=1) > 0.5) and np.allclose(np.linalg.norm(normals, axis=1), 1)
    idx, w = skin_weights(np.array([[0.1, 0.5, 0.3, 0.05, 0.05]]), 2)
    assert idx[0, :2].tolist() == [1, 2] and np.allclose(w[0], [0.625, 0.375, 0.0, 0.0])
    with pytest.raises(InputError, match="1 to 4"):
        skin_weights(np.ones((1, 5)), 5)
    motion, rest, _ = exported
    no_mesh = gl.GLTF2().load_binary(
        str(write_gltf(motion, rest, tmp_path / "m.glb", GltfOptions(include_mesh=False)))
    )
    assert [m.name for m in no_mesh.meshes] == [OBJECT_NODE_NAME] and not no_mesh.skins
    written = export_result(result_dir, ["glb"], tmp_path / "out")
    assert written["glb"].name == "motion.glb" and written["glb"].stat().st_size > 0
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # a second command keeps `export` a named subcommand
    run = CliRunner().invoke(
        app, ["export", str(result_dir), "--format", "glb", "--out", str(tmp_path / "c")]
    )
    assert run.exit_code == 0, run.output
    assert (tmp_path / "c" / "motion.glb").read_bytes()[:4] == b"glTF"
