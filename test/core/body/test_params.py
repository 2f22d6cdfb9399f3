import pytest
import torch

from zerohsi_core.body.params import SmplxParams
from zerohsi_core.errors import InputError


def test_zeros_shapes_and_validate():
    p = SmplxParams.zeros(4, num_betas=16, num_expression=5).validate()
    assert p.body_pose.shape == (4, 21, 3) and p.left_hand_pose.shape == (4, 15, 3)
    assert p.betas.shape == (4, 16) and p.expression.shape == (4, 5) and p.batch_size == 4


def test_validate_catches_nan_inf_shape_and_dtype():
    p = SmplxParams.zeros(3)
    bad_pose = p.body_pose.clone()
    bad_pose[1, 4, 2] = float("nan")
    with pytest.raises(InputError, match="body_pose.*NaN"):
        p.replace(body_pose=bad_pose).validate()
    with pytest.raises(InputError, match="transl"):
        p.replace(transl=torch.full((3, 3), float("inf"))).validate()
    with pytest.raises(InputError, match=r"jaw_pose must have shape \(3, 3\)"):
        p.replace(jaw_pose=torch.zeros(2, 3)).validate()
    with pytest.raises(InputError, match="dtype"):
        p.replace(betas=torch.zeros(3, 10, dtype=torch.float64)).validate()


def test_index_cat_to():
    g = torch.Generator().manual_seed(0)
    p = SmplxParams.zeros(5).replace(transl=torch.randn(5, 3, generator=g))
    one = p.index(2)
    assert one.batch_size == 1 and torch.equal(one.transl[0], p.transl[2])
    assert torch.equal(p.index(-1).transl[0], p.transl[4])
    picked = p.index([4, 0])
    assert torch.equal(picked.transl, p.transl[[4, 0]])
    joined = SmplxParams.cat([p.index(slice(0, 2)), p.index(slice(2, 5))])
    assert torch.equal(joined.transl, p.transl)
    assert p.to(dtype=torch.float64).body_pose.dtype == torch.float64
    with pytest.raises(InputError):
        SmplxParams.cat([])
