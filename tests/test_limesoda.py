"""The LimeSoDa table: folds respected, selection inside the outer training part, counts."""

import numpy as np
import pytest

from hsaug.experiments import limesoda as lt

pytestmark = pytest.mark.usefixtures("one_thread")


def test_published_numbers_and_counts():
    ref = lt.published()
    assert len(ref) == 30 and ref[("SSP.460", "SOC")]["CatBoost"] == pytest.approx(0.4607)
    assert "ERa" in ref[("SL.125", "Clay")]["sensors"]
    best = max(ref[("CV.98", "Clay")][k] for k in lt.PUBLISHED)  # 0.8812 (SVR)
    fake = {"rows": [{"set": "CV.98", "target": "Clay", "n": 98, "pls": best + 0.05, "ridge": best - 0.01,
                      "mlp": best - 0.5}]}
    assert lt.compare(fake, ref) == {"pls": {"wins": 1, "ties": 0, "losses": 0},
                                     "ridge": {"wins": 0, "ties": 1, "losses": 0},
                                     "mlp": {"wins": 0, "ties": 0, "losses": 1}}
    md = lt.to_markdown(fake, ref)
    assert "| CV.98 | Clay | 98 | **0.931** |" in md and "| pls | 1 | 0 | 0 |" in md


def test_outer_test_fold_labels_never_reach_its_predictions(monkeypatch):
    x, y, wl, targets, folds = lt._prepare("MG.44")
    assert x.shape[0] == 44 and targets == ["SOC", "pH", "Clay"] and np.ptp(np.diff(wl)) < 1e-9
    for method in ("pls", "ridge"):
        a = lt._linear(x, y[:, 0], folds, method)
        poisoned = y[:, 0].copy()
        poisoned[folds == 3] = 1e6  # fold 3's labels: only its own predictions may not see them
        b = lt._linear(x, poisoned, folds, method)
        np.testing.assert_array_equal(a[folds == 3], b[folds == 3])
    oof, chosen, _, members = lt._mlp_members(x, y, wl, folds, [(0.0, 0.03)], epochs=2, device="cpu", aug=None,
                                             mse_on_views=False)
    poisoned = y.copy()
    poisoned[folds == 3] = 1e6
    oof2, chosen2, _, _ = lt._mlp_members(x, poisoned, wl, folds, [(0.0, 0.03)], epochs=2, device="cpu",
                                          aug=None, mse_on_views=False)
    np.testing.assert_array_equal(oof[:, folds == 3], oof2[:, folds == 3])
    assert members == 3 * 10 * 6 and oof.shape == (3, 44)
    assert [c for c in chosen if c["fold"] == 3] == [c for c in chosen2 if c["fold"] == 3]


def test_a_tiny_table_runs():
    r = lt.limesoda_table(["MG.44"], methods=("ridge", "pretrain"), pretrain_epochs=1, progress=False)
    assert [row["target"] for row in r["rows"]] == ["SOC", "pH", "Clay"]
    assert all(np.isfinite(row["ridge"]) and np.isfinite(row["pretrain"]) for row in r["rows"])
    with pytest.raises(ValueError, match="methods must be drawn"):
        lt.limesoda_table(["MG.44"], methods=("catboost",))


def test_cli_accepts_the_limesoda_target_and_the_old_hard_preset():
    from hsaug.cli import _parser

    args = _parser().parse_args(["reproduce", "limesoda", "--quick", "--preset", "hard-v1"])
    assert args.target == "limesoda" and args.preset == "hard-v1"
