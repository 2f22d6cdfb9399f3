import torch

from zerohsi_core.body.frames import model_to_world, world_to_model, y_up_to_z_up


def test_axes_map_to_rep103():
    front, left, up = torch.eye(3)[2], torch.eye(3)[0], torch.eye(3)[1]  # model +z, +x, +y
    assert torch.equal(model_to_world(torch.stack([front, left, up])), torch.eye(3))
    r = y_up_to_z_up(torch.float64)
    assert torch.allclose(r @ r.T, torch.eye(3, dtype=torch.float64)) and torch.det(r) == 1.0


def test_round_trip():
    p = torch.randn(4, 7, 3, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(world_to_model(model_to_world(p)), p, atol=1e-6)
