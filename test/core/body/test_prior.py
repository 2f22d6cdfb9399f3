from pathlib import Path

import pytest
import torch

from zerohsi_core.body.prior import VPoser, VPoserOptions, load_vposer, save_vposer_checkpoint
from zerohsi_core.errors import AssetError
from zerohsi_core.geometry.rotations import axis_angle_to_matrix

# State dict of human_body_prior's VPoser v2 (V02_05 snapshots, inside Lightning's `state_dict`).
_BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
OFFICIAL_KEYS = [
    f"vp_model.{k}"
    for k in (
        *(f"encoder_net.1.{p}" for p in _BN),
        "encoder_net.2.weight", "encoder_net.2.bias",
        *(f"encoder_net.4.{p}" for p in _BN),
        "encoder_net.6.weight", "encoder_net.6.bias", "encoder_net.7.weight", "encoder_net.7.bias",
        "encoder_net.8.mu.weight", "encoder_net.8.mu.bias", "encoder_net.8.logvar.weight",
        "encoder_net.8.logvar.bias", "decoder_net.0.weight", "decoder_net.0.bias", "decoder_net.3.weight",
        "decoder_net.3.bias", "decoder_net.5.weight", "decoder_net.5.bias",
    )
]  # fmt: skip


def _random_vposer(seed: int = 0) -> VPoser:
    torch.manual_seed(seed)
    model = VPoser()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.normal_()
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
    return model.eval()


def test_official_layout_round_trip(tmp_path: Path):
    model = _random_vposer()
    ckpt = save_vposer_checkpoint(
        model, tmp_path / "V02_05" / "snapshots" / "V02_05_epoch=08_val_loss=0.03.ckpt"
    )
    raw = torch.load(ckpt, weights_only=True)
    assert list(raw["state_dict"]) == OFFICIAL_KEYS
    assert raw["state_dict"]["vp_model.decoder_net.5.weight"].shape == (126, 512)
    for path in (ckpt, tmp_path / "V02_05"):  # the file, or the official experiment folder
        loaded = load_vposer(path)
        pose = 0.3 * torch.randn(4, 21, 3)
        z = torch.randn(4, 32)
        assert torch.equal(loaded.encode(pose).mean, model.encode(pose).mean)
        assert torch.equal(loaded.decode(z).pose_body_matrot, model.decode(z).pose_body_matrot)
        assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())


def test_decode_encode_shapes_dtypes_and_rotations():
    model = _random_vposer(1)
    q = model.encode(0.2 * torch.randn(6, 63))
    assert q.mean.shape == (6, 32) and bool((q.scale > 0).all())
    out = model.decode(q.mean)
    assert out.pose_body.shape == (6, 21, 3) and out.pose_body_matrot.shape == (6, 21, 9)
    assert out.pose_body.dtype == out.pose_body_matrot.dtype == torch.float32
    r = out.pose_body_matrot.reshape(6, 21, 3, 3)
    assert torch.allclose(r @ r.transpose(-1, -2), torch.eye(3).expand(6, 21, 3, 3), atol=1e-5)
    assert torch.allclose(torch.linalg.det(r), torch.ones(6, 21), atol=1e-5)
    assert torch.allclose(
        axis_angle_to_matrix(out.pose_body), r, atol=1e-4
    )  # axis-angle agrees with matrices
    assert model(torch.zeros(2, 21, 3)).pose_body.shape == (2, 21, 3)


def test_decoder_reads_6d_as_vposer_does():
    model = VPoser(VPoserOptions(latent_dim=4, num_neurons=8))
    last = model.decoder_net[5]
    with torch.no_grad():
        for layer in (model.decoder_net[0], model.decoder_net[3], last):
            layer.weight.zero_()
            layer.bias.zero_()
        # 6D = [R00, R01, R10, R11, R20, R21]: columns (0, 1, 0) and (-1, 0, 0) -> a 90° turn about z
        last.bias.copy_(torch.tensor([0.0, -1.0, 1.0, 0.0, 0.0, 0.0]).repeat(21))
    r = model.decode(torch.zeros(1, 4)).pose_body_matrot.reshape(21, 3, 3)
    expected = torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert torch.allclose(r, expected.expand(21, 3, 3), atol=1e-6)
    assert torch.allclose(
        model.decode(torch.zeros(1, 4)).pose_body[0, 0], torch.tensor([0.0, 0.0, torch.pi / 2])
    )


def test_gradients_reach_z(tmp_path: Path):
    model = load_vposer(save_vposer_checkpoint(_random_vposer(2), tmp_path / "v.ckpt"))
    z = torch.zeros(3, 32, requires_grad=True)
    target = 0.3 * torch.randn(3, 21, 3)
    loss = (model.decode(z).pose_body - target).square().mean()
    loss.backward()
    assert z.grad is not None and z.grad.abs().sum() > 0


class CallbackState:
    """Like a Lightning callback class pickled into a checkpoint (not loadable with weights_only)."""

    def __init__(self) -> None:
        self.best = torch.tensor(0.5)


def test_lightning_checkpoint_with_pickled_objects_loads(tmp_path: Path):
    model = _random_vposer(3)
    state = {"vp_model." + k: v for k, v in model.state_dict().items()}
    state["bm_train.v_template"] = torch.zeros(3)  # other trainer members are ignored
    path = tmp_path / "lightning.ckpt"
    torch.save({"state_dict": state, "callbacks": {CallbackState: {"score": torch.tensor(1.0)}}}, path)
    z = torch.randn(2, 32)
    assert torch.equal(load_vposer(path).decode(z).pose_body_matrot, model.decode(z).pose_body_matrot)


def test_missing_or_wrong_checkpoint_names_the_config_key(tmp_path: Path):
    with pytest.raises(AssetError, match=r"body\.vposer_path"):
        load_vposer(tmp_path / "V02_05")
    with pytest.raises(AssetError, match=r"body\.vposer_path is empty"):
        load_vposer("")
    torch.save({"state_dict": {"model.weight": torch.zeros(2)}}, tmp_path / "other.ckpt")
    with pytest.raises(AssetError, match="VPoser v2"):
        load_vposer(tmp_path / "other.ckpt")
