"""Contrastive losses: checked by hand, against plain loops, batched over members, in degenerate cases."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hsaug.losses import (
    LOSSES,
    LabelScaling,
    ball_mask,
    contrastive_loss,
    loss_names,
    positives_per_anchor,
    similarity,
)


pytestmark = pytest.mark.usefixtures("one_thread")


# -- plain-loop references, written from the formulas (not from the implementation) -------------------
def _sim(f, tau):
    f = np.asarray(f, float)
    fn = f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)
    return fn @ fn.T / tau


def _dist(y):
    y = np.asarray(y, float)
    y2 = np.concatenate([y, y])
    return np.linalg.norm(y2[:, None] - y2[None], axis=-1)


def ref_ball(f, y, r, tau):
    s, d = _sim(f, tau), _dist(y)
    n2 = len(s)
    total = 0.0
    for i in range(n2):
        negs = [k for k in range(n2) if d[i, k] > r]
        if not negs:
            continue  # no negative: the anchor is skipped
        den = np.log(np.sum(np.exp(s[i, negs])))
        total += sum(s[i, j] - den for j in range(n2) if j != i and d[i, j] <= r)
    return -total / (n2 // 2)


def ref_supcon(f, y, r, tau):
    s, d = _sim(f, tau), _dist(y)
    n2 = len(s)
    per = []
    for i in range(n2):
        pos = [j for j in range(n2) if j != i and d[i, j] <= r]
        den = np.log(sum(np.exp(s[i, k]) for k in range(n2) if k != i))
        per.append(np.mean([s[i, j] - den for j in pos]))
    return -np.mean(per)


def ref_bce(f, y, r, tau):
    s, d = _sim(f, tau), _dist(y)
    n2 = len(s)
    vals = []
    for i in range(n2):
        for j in range(i + 1, n2):
            t = 1.0 if d[i, j] <= r else 0.0
            p = 1 / (1 + np.exp(-s[i, j]))
            vals.append(-(t * np.log(p) + (1 - t) * np.log(1 - p)))
    return np.mean(vals)


def ref_rnc(f, y, r, tau):
    s, d = _sim(f, tau), _dist(y)
    n2 = len(s)
    total = 0.0
    for i in range(n2):
        for j in range(n2):
            if j == i:
                continue
            ks = [k for k in range(n2) if k != i and d[i, k] >= d[i, j]]
            total += s[i, j] - np.log(np.sum(np.exp(s[i, ks])))
    return -total / (n2 * (n2 - 1))


def ref_bce_authors(f, y, r, tau):
    """The authors' ContrastiveLoss.forward (contrast_learn.py), re-typed step by step."""
    features = torch.nn.functional.normalize(torch.as_tensor(f, dtype=torch.float64), dim=1)
    similarities = torch.triu(features @ features.T / tau, diagonal=1)
    output = torch.as_tensor(np.concatenate([y, y]), dtype=torch.float64)
    mask = torch.triu(torch.cdist(output, output, p=2) <= r, diagonal=1)
    return float(torch.nn.BCEWithLogitsLoss()(similarities, mask.double()))


REFS = {"ball": ref_ball, "supcon": ref_supcon, "bce": ref_bce, "rnc": ref_rnc, "bce_authors": ref_bce_authors}


def test_names_and_default():
    assert loss_names() == ["ball", "supcon", "bce", "rnc", "bce_authors"]
    assert set(REFS) == set(LOSSES)


@pytest.mark.parametrize("n", [2, 5, 32])
def test_bce_authors_is_affine_in_bce(n):
    """Their mean over (2N)² entries = (P·ours + ((2N)² − P)·log 2)/(2N)², P = N(2N − 1):
    for N = 32, 0.492 × ours + 0.352 (the relation the docs state)."""
    g = torch.Generator().manual_seed(n)
    f = torch.randn(2 * n, 6, generator=g)
    y = torch.rand(n, 2, generator=g)
    ours = float(contrastive_loss(f, y, r=0.3, loss="bce"))
    theirs = float(contrastive_loss(f, y, r=0.3, loss="bce_authors"))
    assert theirs == pytest.approx(ref_bce_authors(f.numpy(), y.numpy(), 0.3, 1.0), rel=1e-5)
    p, n2 = n * (2 * n - 1), 4 * n * n
    assert theirs == pytest.approx(p / n2 * ours + (n2 - p) / n2 * math.log(2), rel=1e-6)
    if n == 32:
        assert round(p / n2, 3) == 0.492 and round((n2 - p) / n2 * math.log(2), 3) == 0.352


def test_ball_tiny_case_by_hand():
    # N = 2: samples 0 and 1 far apart in label, so each anchor's only positive is its own view.
    # features: f0 = e1, f1 = e2, views f0~ = e1, f1~ = (e1 + e2)/sqrt2; tau = 1.
    f = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = torch.tensor([[0.0], [1.0]])
    c = 1 / math.sqrt(2)
    # s(0,1)=0, s(0,2)=1, s(0,3)=c, s(1,2)=0, s(1,3)=c, s(2,3)=c
    # anchor 0: pos {2}, neg {1,3}: s02 − log(e^0 + e^c);  anchor 2: pos {0}, neg {1,3}: 1 − log(e^0 + e^c)
    # anchor 1: pos {3}, neg {0,2}: c − log(2);            anchor 3: pos {1}, neg {0,2}: c − log(2 e^c)
    total = (1 - math.log(1 + math.exp(c))) * 2 + (c - math.log(2)) + (c - math.log(2 * math.exp(c)))
    expected = -total / 2
    got = contrastive_loss(f, y, r=0.5, tau=1.0)
    assert float(got) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("name", list(REFS))
@pytest.mark.parametrize("tau", [1.0, 0.1])
def test_losses_match_plain_loops(name, tau):
    g = torch.Generator().manual_seed(3)
    n = 7
    f = torch.randn(2 * n, 5, generator=g)
    y = torch.rand(n, 3, generator=g)
    y[2] = y[0]  # exact label ties
    y[4] = y[0] + 0.05
    got = contrastive_loss(f, y, r=0.2, tau=tau, loss=name)
    assert float(got) == pytest.approx(REFS[name](f.numpy(), y.numpy(), 0.2, tau), rel=2e-5, abs=1e-6)


@pytest.mark.parametrize("name", list(REFS))
def test_batched_members_equal_separate_calls(name):
    g = torch.Generator().manual_seed(0)
    m, n = 4, 6
    f = torch.randn(m, 2 * n, 8, generator=g)
    y = torch.rand(m, n, 2, generator=g)
    r = torch.tensor([0.1, 0.3, 0.5, 2.0])
    tau = torch.tensor([1.0, 0.5, 0.2, 1.0])
    got = contrastive_loss(f, y, r=r, tau=tau, loss=name)
    assert got.shape == (m,)
    for k in range(m):
        one = contrastive_loss(f[k], y[k], r=float(r[k]), tau=float(tau[k]), loss=name)
        assert float(got[k]) == pytest.approx(float(one), rel=1e-6, abs=1e-7)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), name=st.sampled_from(list(REFS)), n=st.integers(1, 9))
def test_invariant_to_batch_order(seed, name, n):
    g = torch.Generator().manual_seed(seed)
    f = torch.randn(2 * n, 4, generator=g)
    y = torch.rand(n, 2, generator=g)
    perm = torch.randperm(n, generator=g)
    f_perm = torch.cat([f[:n][perm], f[n:][perm]])  # permute samples and their views alike
    a = contrastive_loss(f, y, r=0.3, tau=0.5, loss=name)
    b = contrastive_loss(f_perm, y[perm], r=0.3, tau=0.5, loss=name)
    assert float(a) == pytest.approx(float(b), rel=1e-5, abs=1e-6)


def _value_and_grad(f, y, **kw):
    f = f.clone().requires_grad_(True)
    loss = contrastive_loss(f, y, **kw)
    loss.backward()
    return loss.detach(), f.grad


@pytest.mark.parametrize("name", list(REFS))
def test_no_negative_at_all_is_finite(name):
    # every label equal: each anchor's ball holds the whole batch, eq. (8)'s denominator is empty
    f = torch.randn(8, 3, generator=torch.Generator().manual_seed(1))
    y = torch.full((4, 2), 0.5)
    loss, grad = _value_and_grad(f, y, r=0.03, loss=name)
    assert torch.isfinite(loss) and torch.isfinite(grad).all()
    if name == "ball":  # every anchor skipped
        assert float(loss) == 0.0 and float(grad.abs().max()) == 0.0


@pytest.mark.parametrize("name", list(REFS))
def test_only_own_view_as_positive_is_finite(name):
    f = torch.randn(10, 3, generator=torch.Generator().manual_seed(2))
    y = torch.arange(5.0)[:, None]  # labels 1 apart, r = 0.03: no positive but the own view
    assert int(ball_mask(y, 0.03).sum()) == 10 * 2  # diagonal + own view, nothing else
    loss, grad = _value_and_grad(f, y, r=0.03, loss=name)
    assert torch.isfinite(loss) and torch.isfinite(grad).all() and grad.abs().sum() > 0


@pytest.mark.parametrize("name", list(REFS))
@pytest.mark.parametrize("case", ["single sample", "zero features", "tiny tau", "some anchors without negative"])
def test_degenerate_cases_stay_finite(name, case):
    g = torch.Generator().manual_seed(4)
    f, y, tau = torch.randn(8, 3, generator=g), torch.rand(4, 1, generator=g), 1.0
    if case == "single sample":
        f, y = f[:2], y[:1]
    elif case == "zero features":
        f = torch.zeros(8, 3)
    elif case == "tiny tau":
        tau = 0.01
    else:  # with r = 0.45 the middle label 0.3 has every other sample in its ball
        y = torch.tensor([[0.0], [0.0], [0.3], [0.6]])
    loss, grad = _value_and_grad(f, y, r=0.45, tau=tau, loss=name)
    assert torch.isfinite(loss) and torch.isfinite(grad).all()


def test_ball_skips_only_anchors_without_negatives():
    f = torch.randn(8, 3, generator=torch.Generator().manual_seed(5))
    y = torch.tensor([[0.0], [0.0], [0.3], [0.6]])
    # r = 0.45: sample 2 (label 0.3) and its view have no negative and are skipped; the others count
    inside = ball_mask(y, 0.45)
    assert (~inside).any(1).tolist() == [True, True, False, True] * 2
    got = contrastive_loss(f, y, r=0.45, loss="ball")
    assert float(got) == pytest.approx(ref_ball(f.numpy(), y.numpy(), 0.45, 1.0), rel=1e-5)
    # a skipped anchor still takes part as a positive or negative of the other anchors
    f2 = f.clone().requires_grad_(True)
    contrastive_loss(f2, y, r=0.45, loss="ball").backward()
    assert float(f2.grad[[2, 6]].abs().max()) > 0  # still a negative/positive of the others


def test_labels_may_be_given_for_all_2n_rows():
    g = torch.Generator().manual_seed(6)
    f, y = torch.randn(6, 4, generator=g), torch.rand(3, 2, generator=g)
    for name in REFS:
        a = contrastive_loss(f, y, r=0.4, loss=name)
        b = contrastive_loss(f, torch.cat([y, y]), r=0.4, loss=name)
        assert float(a) == pytest.approx(float(b), rel=1e-6)


def test_similarity_and_ball_mask():
    f = torch.tensor([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0], [0.0, 0.0]])
    s = similarity(f, 0.5)
    assert torch.allclose(s[:3, :3], torch.tensor([[2.0, 0, -2], [0, 2, 0], [-2, 0, 2]]))
    assert torch.equal(s[3], torch.zeros(4))  # a zero vector: similarity 0, not NaN
    mask = ball_mask(torch.tensor([[0.0, 0.0], [0.3, 0.4]]), 0.5)  # distance exactly 0.5
    assert mask.shape == (4, 4) and bool(mask.all())
    assert not ball_mask(torch.tensor([[0.0, 0.0], [0.3, 0.4]]), 0.49)[0, 1]


def test_label_scaling():
    y = torch.tensor([[0.0, 10.0, 5.0], [2.0, 30.0, 5.0], [1.0, 20.0, 5.0]])
    sc = LabelScaling.fit(y)
    z = sc(y)
    assert torch.allclose(z[:, :2].min(0).values, torch.zeros(2))
    assert torch.allclose(z[:, :2].max(0).values, torch.ones(2))
    assert torch.equal(z[:, 2], torch.zeros(3))  # constant output: span 1, no division by zero
    assert torch.allclose(sc.inverse(z), y)
    assert sc.to_dict() == {"low": [0.0, 10.0, 5.0], "span": [2.0, 20.0, 1.0]}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"r": 0.0}, "r .*> 0"),
        ({"r": -1.0}, "r .*> 0"),
        ({"tau": 0.0}, "tau .*> 0"),
        ({"tau": float("nan")}, "tau"),
        ({"loss": "triplet"}, "loss must be one of"),
        ({"r": torch.tensor([0.1, 0.2])}, "per-member"),
    ],
)
def test_bad_arguments(kwargs, match):
    f, y = torch.randn(4, 3), torch.rand(2, 1)
    with pytest.raises(ValueError, match=match):
        contrastive_loss(f, y, **kwargs)


def test_bad_shapes_and_values():
    with pytest.raises(ValueError, match="2N rows"):
        contrastive_loss(torch.randn(5, 3), torch.rand(5, 1))
    with pytest.raises(ValueError, match="labels must have"):
        contrastive_loss(torch.randn(4, 3), torch.rand(3, 1))
    with pytest.raises(ValueError, match="labels must have shape"):
        contrastive_loss(torch.randn(2, 4, 3), torch.rand(3, 2, 1))
    with pytest.raises(ValueError, match="finite"):
        contrastive_loss(torch.randn(4, 3), torch.tensor([[float("nan")], [0.0]]))
    with pytest.raises(ValueError, match="one value per member"):
        contrastive_loss(torch.randn(2, 4, 3), torch.rand(2, 2, 1), r=torch.tensor([0.1, 0.2, 0.3]))


def test_positives_per_anchor_counts_other_samples_in_the_ball():
    # labels 0, 0.1, 0.2, …, 0.9 (already in [0, 1]); one batch holding them all
    y = np.arange(10) / 10
    table = positives_per_anchor(y, radii=(0.05, 0.15, 2.0), batch_size=10, n_batches=1)
    assert list(table.index) == [0.05, 0.15, 2.0]
    assert table.loc[0.05, "other samples in the ball"] == 0.0
    assert table.loc[0.05, "share with only own view"] == 1.0
    assert table.loc[0.15, "other samples in the ball"] == pytest.approx(18 / 10)  # 2 neighbours, 1 at each end
    assert table.loc[0.15, "positives besides own view"] == pytest.approx(36 / 10)
    assert table.loc[2.0, "share without negative"] == 1.0
    # Dirichlet(1) abundances and r = 0.03: in batches of 32 almost every anchor has only its view
    ab = np.random.default_rng(0).dirichlet(np.ones(4), 2000)
    small = positives_per_anchor(ab, radii=0.03, batch_size=32, n_batches=50)
    assert small.loc[0.03, "share with only own view"] > 0.95
    with pytest.raises(ValueError, match="batch_size"):
        positives_per_anchor(y, batch_size=11)
    with pytest.raises(ValueError, match="radii"):
        positives_per_anchor(y, radii=(0.1, -1.0), batch_size=10)
