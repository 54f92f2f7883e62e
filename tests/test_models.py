"""The regressor and its batched ensemble: shapes, initialisation per seed, members, bad input."""

import pytest
import torch
from torch import nn

from hsaug.models import ALIGN, MLPEnsemble, Regressor


pytestmark = pytest.mark.usefixtures("one_thread")


def test_shapes_and_default_architecture():
    ens = MLPEnsemble(50, 4, 3, init=[0, 1, 2])
    assert ens.dims == (50, 128, 64, 32, 16, 4)
    assert [tuple(w.shape) for w in ens.weights] == [(3, 50, 128), (3, 128, 64), (3, 64, 32), (3, 32, 16), (3, 16, 4)]
    assert [tuple(b.shape) for b in ens.biases] == [(3, 1, 128), (3, 1, 64), (3, 1, 32), (3, 1, 16), (3, 1, 4)]
    x = torch.rand(3, 7, 50)
    f, p = ens(x)
    assert f.shape == (3, 7, 32) and p.shape == (3, 7, 4)
    assert (f < 0).any(), "features are taken before the ReLU"
    f2, p2 = ens(x[0])  # one batch for every member
    assert f2.shape == (3, 7, 32)
    assert torch.equal(p2[1], ens(x[0].expand(3, 7, 50).contiguous())[1][1])


def test_configurable_widths():
    ens = MLPEnsemble(10, 1, 2, feature_widths=(20, 8), head_widths=(), init=[0, 1])
    assert ens.dims == (10, 20, 8, 1) and ens.n_features == 8
    f, p = ens(torch.rand(2, 5, 10))
    assert f.shape == (2, 5, 8) and p.shape == (2, 5, 1)


def test_initialisation_depends_only_on_the_members_seed():
    alone = MLPEnsemble(30, 4, 1, init=[7])
    inside = MLPEnsemble(30, 4, 3, init=[3, 7, 11])
    for a, b in zip(alone.parameters(), inside.parameters()):
        assert torch.equal(a[0], b[1])
    other = MLPEnsemble(30, 4, 1, init=[8])
    assert not torch.equal(alone.weights[0], other.weights[0])
    bound = 1 / 30 ** 0.5  # nn.Linear's default U(±1/sqrt(fan_in))
    top = float(alone.weights[0].detach().abs().max())
    assert 0.9 * bound < top <= bound


def test_padded_storage_keeps_members_aligned():
    ens = MLPEnsemble(30, 4, 2, init=[0, 1])
    for raw in ens.parameters():
        assert raw[0].numel() % ALIGN == 0  # every member's block fills whole vector lanes
    # the padding never reaches the computation and gets no gradient
    f, p = ens(torch.rand(2, 3, 30))
    p.sum().backward()
    last_bias = list(ens.parameters())[-1]
    assert last_bias.shape == (2, ALIGN) and torch.equal(last_bias.grad[:, 4:], torch.zeros(2, ALIGN - 4))


def test_member_is_a_plain_regressor_with_the_same_outputs():
    ens = MLPEnsemble(20, 3, 2, init=[0, 1])
    reg = ens.member(1)
    assert isinstance(reg, Regressor) and isinstance(reg.feature_extractor, nn.Sequential)
    x = torch.rand(6, 20)
    f, p = reg(x)
    fe, pe = ens(x)
    assert torch.allclose(f, fe[1], atol=1e-6) and torch.allclose(p, pe[1], atol=1e-6)
    seeded = Regressor(20, 3, seed=1)
    assert torch.allclose(seeded(x)[1], pe[1], atol=1e-6)


def test_select_and_concat():
    ens = MLPEnsemble(12, 2, 3, init=[0, 1, 2])
    x = torch.rand(4, 12)
    sel = ens.select([2, 0])
    assert sel.n_members == 2 and torch.equal(sel(x)[1], ens(x)[1][[2, 0]])
    both = MLPEnsemble.concat([ens, sel])
    assert both.n_members == 5 and torch.equal(both(x)[1][3], ens(x)[1][2])
    assert ens.predict(torch.rand(9, 12), chunk=4).shape == (3, 9, 2)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_bands": 0}, "n_bands"),
        ({"n_members": 1.5}, "n_members"),
        ({"feature_widths": ()}, "feature_widths"),
        ({"feature_widths": (64, -1)}, "feature_widths"),
        ({"head_widths": "16"}, "head_widths"),
        ({"init": [1, 2]}, "one seed or generator per member"),
    ],
)
def test_bad_arguments(kwargs, match):
    args = {"n_bands": 10, "n_outputs": 2, "n_members": 3}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        MLPEnsemble(args.pop("n_bands"), args.pop("n_outputs"), args.pop("n_members"), **args)


def test_bad_member_indices():
    ens = MLPEnsemble(10, 2, 2, init=[0, 1])
    with pytest.raises(ValueError, match="member"):
        ens.member(2)
    with pytest.raises(ValueError, match="members"):
        ens.select([0, 5])
    with pytest.raises(ValueError, match="architecture"):
        MLPEnsemble.concat([ens, MLPEnsemble(11, 2, 1, init=[0])])
