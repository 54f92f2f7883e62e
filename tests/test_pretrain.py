"""Self-supervised pretraining, probes and fine-tuning: losses by hand, repeatable, batched, no test leakage."""

import numpy as np
import pytest
import torch

from hsaug import pretrain as P
from hsaug import synthetic
from hsaug.splits import split_indices

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def scene():
    return synthetic.make_scene("paper", n_rows=12, n_cols=12, seed=0)


@pytest.fixture(scope="module")
def split():
    sp = split_indices(144, 0.2, 0.3, 0)
    sp["train"] = sp["train"][:30]
    return sp


def ref_nt_xent(z, tau):
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    s = z @ z.T / tau
    n2 = len(z)
    out = []
    for i in range(n2):
        j = (i + n2 // 2) % n2
        den = np.log(sum(np.exp(s[i, k]) for k in range(n2) if k != i))
        out.append(-(s[i, j] - den))
    return np.mean(out)


def ref_vicreg(a, b):
    inv = np.mean((a - b) ** 2)

    def vc(z):
        zc = z - z.mean(0)
        std = np.sqrt(zc.var(0, ddof=1) + 1e-4)
        cov = zc.T @ zc / (len(z) - 1)
        return np.mean(np.maximum(0, 1 - std)), (np.sum(cov ** 2) - np.sum(np.diag(cov) ** 2)) / z.shape[1]

    (v1, c1), (v2, c2) = vc(a), vc(b)
    return 25 * inv + 25 * (v1 + v2) + (c1 + c2)


def test_losses_match_plain_loops_and_are_batched():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(3, 10, 6, generator=g, dtype=torch.float64)
    got = P.nt_xent(z, 0.5)
    vic = P.vicreg_loss(z[:, :5], z[:, 5:])
    for m in range(3):
        assert float(got[m]) == pytest.approx(ref_nt_xent(z[m].numpy(), 0.5), rel=1e-9)
        assert float(vic[m]) == pytest.approx(ref_vicreg(z[m, :5].numpy(), z[m, 5:].numpy()), rel=1e-9)
    # identical views of well-separated points: NT-Xent small, VICReg invariance 0
    e = torch.eye(4, dtype=torch.float64)[None]
    assert float(P.nt_xent(torch.cat([e, e], 1), 0.1)) < 1e-3


def _all_params(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


@pytest.mark.parametrize("method", P.METHODS)
def test_pretrain_then_finetune_is_bitwise_repeatable(scene, split, method):
    def run():
        pre = P.pretrain(scene, method=method, seeds=[3, 4], epochs=2, batch_size=32)
        ft = P.finetune(pre, scene, split=split, epochs=3, alpha=0.01, unlabelled=scene["spectra"].values,
                        ssl_weight=0.1, ssl_batch=16)
        return pre, ft

    (p1, f1), (p2, f2) = run(), run()
    assert torch.equal(_all_params(p1.model), _all_params(p2.model))
    assert torch.equal(_all_params(f1.model), _all_params(f2.model))
    np.testing.assert_array_equal(f1.predictions, f2.predictions)
    assert np.isfinite(p1.history["loss"]).all() and p1.history["loss"].shape == (2, 2)
    # pretraining changed the feature extractor and fine-tuning started from it
    fresh = P.finetune(None, scene, split=split, seeds=[3, 4], epochs=3)
    assert not np.array_equal(fresh.predictions, f1.predictions)


def test_members_do_not_depend_on_each_other(scene):
    both = P.pretrain(scene, seeds=[0, 1], epochs=2, batch_size=32)
    alone = P.pretrain(scene, seeds=[1], epochs=2, batch_size=32)
    torch.testing.assert_close(both.model.select([1]).raw[0], alone.model.raw[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(both.history["loss"][1], alone.history["loss"][0], rtol=1e-5)


def test_selection_never_reads_test_labels(scene, split):
    pre = P.pretrain(scene, seeds=[0, 1], epochs=1, batch_size=32)
    poisoned = scene.copy(deep=True)
    poisoned["target"].values[split["test"]] = 1e6
    for fn in (lambda d: P.linear_probe(pre, d, split=split),
               lambda d: P.finetune(pre, d, split=split, epochs=4)):
        a, b = fn(scene), fn(poisoned)
        np.testing.assert_array_equal(a.metrics["val_r2"], b.metrics["val_r2"])
        np.testing.assert_array_equal(a.predictions, b.predictions)  # same model chosen, same test predictions
        np.testing.assert_array_equal(a.best_epoch, b.best_epoch)
        assert not np.array_equal(a.metrics["test_r2"], b.metrics["test_r2"])


def test_linear_probe_and_frozen_head(scene, split):
    pre = P.pretrain(scene, method="vicreg", seeds=[0], epochs=1, batch_size=32)
    lp = P.linear_probe(pre, scene, split=split)
    assert lp.predictions.shape == (1, split["test"].size, 4) and np.isfinite(lp.metrics["test_r2"]).all()
    frozen = P.finetune(pre, scene, split=split, epochs=2, freeze=True)
    n_feat = 2 * len(frozen.model.feature_widths)
    for i in range(n_feat):  # the feature extractor did not move
        assert torch.equal(frozen.model.raw[i], pre.model.raw[i])


def test_bad_arguments(scene, split):
    with pytest.raises(ValueError, match="method must be one of"):
        P.pretrain(scene, method="byol")
    with pytest.raises(ValueError, match="batch_size must be from 2"):
        P.pretrain(scene, batch_size=1)
    with pytest.raises(ValueError, match="needs unlabelled spectra"):
        P.finetune(None, scene, split=split, ssl_weight=0.5)
    with pytest.raises(ValueError, match="seeds must match"):
        P.finetune(P.pretrain(scene, seeds=[0], epochs=1, batch_size=32), scene, split=split, seeds=[1])
    with pytest.raises(ValueError, match="split must be a dict"):
        P.finetune(None, scene, split=[1, 2])
