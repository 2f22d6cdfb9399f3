"""3DGS PLY files: bit-exact round trips, other tools' layouts, channel-major f_rest, and every error."""

from pathlib import Path

import numpy as np
import pytest
import torch
from plyfile import PlyData, PlyElement

from zerohsi_core.errors import AssetError
from zerohsi_core.scene.gaussians import GaussianCloud
from zerohsi_core.scene.ply import read_gaussian_ply, write_gaussian_ply

FIELDS = ("means", "quats", "log_scales", "opacity_logits", "sh")
REQUIRED = ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2"]
REQUIRED += ["rot_0", "rot_1", "rot_2", "rot_3"]


def random_cloud(n: int, degree: int, seed: int = 0) -> GaussianCloud:
    g = torch.Generator().manual_seed(seed)
    k = (degree + 1) ** 2
    return GaussianCloud(
        torch.randn(n, 3, generator=g),
        torch.randn(n, 4, generator=g),
        torch.randn(n, 3, generator=g),
        torch.randn(n, generator=g),
        torch.randn(n, k, 3, generator=g),
    )


def write_table(path: Path, columns: dict[str, np.ndarray], text: bool = False, dtype: str = "<f4") -> None:
    table = np.empty(len(next(iter(columns.values()))), dtype=[(name, dtype) for name in columns])
    for name, values in columns.items():
        table[name] = values
    PlyData([PlyElement.describe(table, "vertex")], text=text).write(str(path))


def reference_columns(cloud: GaussianCloud) -> dict[str, np.ndarray]:
    """Columns as the 3DGS reference code lays them out (f_rest channel-major)."""
    n, k = cloud.num, cloud.sh.shape[1]
    cols = {name: cloud.means[:, i].numpy() for i, name in enumerate("xyz")}
    cols |= {f"f_dc_{c}": cloud.sh[:, 0, c].numpy() for c in range(3)}
    rest = cloud.sh[:, 1:, :].transpose(1, 2).reshape(n, -1).numpy()
    cols |= {f"f_rest_{i}": rest[:, i] for i in range(3 * (k - 1))}
    cols["opacity"] = cloud.opacity_logits.numpy()
    cols |= {f"scale_{i}": cloud.log_scales[:, i].numpy() for i in range(3)}
    cols |= {f"rot_{i}": cloud.quats[:, i].numpy() for i in range(4)}
    return cols


@pytest.mark.parametrize("degree", [0, 1, 2, 3])
def test_round_trip_is_bit_exact(tmp_path: Path, degree: int) -> None:
    cloud = random_cloud(123, degree, seed=degree)
    write_gaussian_ply(tmp_path / "c.ply", cloud)
    back = read_gaussian_ply(tmp_path / "c.ply")
    assert back.sh_degree == degree
    for field in FIELDS:
        assert torch.equal(getattr(back, field), getattr(cloud, field)), field
    header = PlyData.read(str(tmp_path / "c.ply"))
    names = [p.name for p in header["vertex"].properties]
    k_rest = 3 * ((degree + 1) ** 2 - 1)
    assert names[:9] == ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
    assert names[9 : 9 + k_rest] == [f"f_rest_{i}" for i in range(k_rest)]
    assert names[9 + k_rest :] == [
        "opacity",
        "scale_0",
        "scale_1",
        "scale_2",
        "rot_0",
        "rot_1",
        "rot_2",
        "rot_3",
    ]
    assert header.byte_order == "<" and not header.text


def test_f_rest_is_channel_major(tmp_path: Path) -> None:
    # Degree 1: 9 f_rest values; 3DGS stores R coefficients 1..3, then G 1..3, then B 1..3.
    cols = {name: np.zeros(1, dtype=np.float32) for name in REQUIRED}
    cols |= {f"f_rest_{i}": np.array([float(i)], dtype=np.float32) for i in range(9)}
    write_table(tmp_path / "hand.ply", cols)
    sh = read_gaussian_ply(tmp_path / "hand.ply").sh
    expected = torch.tensor([[0.0, 3.0, 6.0], [1.0, 4.0, 7.0], [2.0, 5.0, 8.0]])  # [coefficient, channel]
    assert torch.equal(sh[0, 1:], expected)
    write_gaussian_ply(tmp_path / "again.ply", read_gaussian_ply(tmp_path / "hand.ply"))
    again = PlyData.read(str(tmp_path / "again.ply"))["vertex"]
    assert [float(again[f"f_rest_{i}"][0]) for i in range(9)] == [float(i) for i in range(9)]


@pytest.mark.parametrize("text", [False, True])
def test_other_property_order_and_extra_properties(tmp_path: Path, text: bool) -> None:
    cloud = random_cloud(20, 2, seed=5)
    cols = reference_columns(cloud)
    order = np.random.default_rng(0).permutation(len(cols))
    names = list(cols)
    shuffled = {names[i]: cols[names[i]] for i in order}
    assert list(shuffled)[:3] != ["x", "y", "z"]
    shuffled["red"] = np.arange(20, dtype=np.float32)  # extra properties are ignored
    shuffled["confidence"] = np.ones(20, dtype=np.float32)
    write_table(tmp_path / "other.ply", shuffled, text=text)
    back = read_gaussian_ply(tmp_path / "other.ply")
    for field in FIELDS:
        assert torch.equal(getattr(back, field), getattr(cloud, field)), field


def test_double_precision_properties_are_read(tmp_path: Path) -> None:
    cloud = random_cloud(6, 0)
    write_table(tmp_path / "f64.ply", reference_columns(cloud), dtype="<f8")
    torch.testing.assert_close(read_gaussian_ply(tmp_path / "f64.ply").means, cloud.means, rtol=0, atol=0)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AssetError, match="nope.ply.*does not exist"):
        read_gaussian_ply(tmp_path / "nope.ply")


def test_not_a_ply(tmp_path: Path) -> None:
    (tmp_path / "fake.ply").write_text("hello, I am not a PLY file\n")
    with pytest.raises(AssetError, match="fake.ply.*not a valid PLY"):
        read_gaussian_ply(tmp_path / "fake.ply")


@pytest.mark.parametrize("text", [False, True])
def test_truncated(tmp_path: Path, text: bool) -> None:
    write_table(tmp_path / "full.ply", reference_columns(random_cloud(50, 1)), text=text)
    data = (tmp_path / "full.ply").read_bytes()
    (tmp_path / "cut.ply").write_bytes(data[: len(data) - 200])
    with pytest.raises(AssetError, match="cut.ply"):
        read_gaussian_ply(tmp_path / "cut.ply")


def test_truncated_binary_says_truncated(tmp_path: Path) -> None:
    write_gaussian_ply(tmp_path / "full.ply", random_cloud(50, 1))
    data = (tmp_path / "full.ply").read_bytes()
    (tmp_path / "cut.ply").write_bytes(data[:-7])
    with pytest.raises(AssetError, match="cut.ply is truncated"):
        read_gaussian_ply(tmp_path / "cut.ply")


def test_missing_required_properties(tmp_path: Path) -> None:
    cols = reference_columns(random_cloud(3, 0))
    del cols["rot_3"], cols["opacity"]
    write_table(tmp_path / "partial.ply", cols)
    with pytest.raises(AssetError, match=r"partial.ply lacks vertex properties \['opacity', 'rot_3'\]"):
        read_gaussian_ply(tmp_path / "partial.ply")


def test_zero_vertices(tmp_path: Path) -> None:
    write_table(tmp_path / "empty.ply", {name: np.zeros(0, dtype=np.float32) for name in REQUIRED})
    with pytest.raises(AssetError, match="empty.ply has zero vertices"):
        read_gaussian_ply(tmp_path / "empty.ply")


def test_non_finite_values_are_counted(tmp_path: Path) -> None:
    cols = reference_columns(random_cloud(10, 0))
    cols["x"][2] = np.nan
    cols["scale_1"][7] = np.inf
    cols["rot_0"][7] = -np.inf
    write_table(tmp_path / "nan.ply", cols)
    with pytest.raises(AssetError, match="nan.ply: 2 of 10 Gaussians have NaN/inf values .first at index 2"):
        read_gaussian_ply(tmp_path / "nan.ply")


def test_unsupported_f_rest_count(tmp_path: Path) -> None:
    cols = reference_columns(random_cloud(4, 0))
    cols |= {f"f_rest_{i}": np.zeros(4, dtype=np.float32) for i in range(6)}
    write_table(tmp_path / "rest6.ply", cols)
    with pytest.raises(AssetError, match="rest6.ply has 6 f_rest"):
        read_gaussian_ply(tmp_path / "rest6.ply")


def test_no_vertex_element(tmp_path: Path) -> None:
    table = np.zeros(3, dtype=[("a", "<f4")])
    PlyData([PlyElement.describe(table, "point")]).write(str(tmp_path / "points.ply"))
    with pytest.raises(AssetError, match="no 'vertex' element"):
        read_gaussian_ply(tmp_path / "points.ply")
