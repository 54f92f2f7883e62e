"""The fair protocol: selections read validation rows only (poisoned test labels change nothing chosen)."""

import numpy as np
import pytest

from hsaug import synthetic
from hsaug.config import Config, TrainSettings
from hsaug.experiments import fair, protocols
from hsaug.experiments.budget import authors_split

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def data():
    ds = synthetic.make_scene("paper", n_rows=12, n_cols=12, seed=0)
    split = authors_split(144, seed=0, n_train=80, n_val=30)
    poisoned = ds.copy(deep=True)
    poisoned["target"].values[split["test"]] = poisoned["target"].values[split["test"]][::-1] * 7.0 + 3.0
    settings = TrainSettings(epochs=2, batch_size=16, seeds=(0, 1), split={k: v.tolist() for k, v in split.items()})
    return ds, poisoned, settings


def test_greedy_and_best_single_choose_on_validation_only(data):
    ds, poisoned, settings = data
    kw = dict(candidates=("shift", "flip", "band_erasure"), max_size=2, settings=settings, alpha=0.1, r=0.3,
              progress=False)
    # the paper protocol itself (hsaug reproduce table3/table4); fair.fair_greedy is the same function
    assert fair.fair_greedy is protocols.greedy_combination and fair.fair_best_single is protocols.best_single
    a, b = protocols.greedy_combination(ds, **kw), protocols.greedy_combination(poisoned, **kw)
    assert a["start"] == b["start"]
    assert [r["augmentations"] for r in a["rows"]] == [r["augmentations"] for r in b["rows"]]
    assert [r["val_r2_mean"] for r in a["rows"]] == [r["val_r2_mean"] for r in b["rows"]]
    assert a["steps"] == b["steps"]  # every candidate's validation score, bitwise
    for step, row in zip(a["steps"], a["rows"][1:]):  # each step's choice is its best on validation
        assert "+".join(row["augmentations"]) == max(step, key=lambda c: c["val_r2_mean"])["name"]
    assert [r["r2_mean"] for r in a["rows"]] != [r["r2_mean"] for r in b["rows"]]  # the test part did change
    # the start is the best on validation, not necessarily on test
    comp = fair.fair_comparison(ds, ("shift", "flip", "band_erasure"), settings=settings, alpha=0.1, r=0.3,
                                progress=False)
    rows = [r for r in comp["rows"] if r["name"] != "baseline"]
    assert a["start"] == max(rows, key=lambda r: r["val_r2_mean"])["name"]
    # best_single on the paper's comparison (with ridge/PLS rows) is blind to the test labels too
    pc = protocols.compare_augmentations(poisoned, ("shift", "flip", "band_erasure"), settings=settings, alpha=0.1,
                                         r=0.3, progress=False)
    assert protocols.best_single(pc) == protocols.best_single(comp) == a["start"]
    assert [r["r2_mean"] for r in pc["rows"][:4]] != [r["r2_mean"] for r in comp["rows"]]
    test_only = {"rows": [{k: v for k, v in r.items() if not k.startswith("val_")} for r in comp["rows"]]}
    with pytest.raises(ValueError, match="chooses on validation"):
        protocols.best_single(test_only)
    md = fair.fair_table1_markdown({"hsaug": comp})
    assert md.splitlines()[2].startswith("| baseline |") and md.count("\n") == 5 and "| 0.55 |" in md
    assert fair.fair_greedy_markdown(a).count("\n") == 3
    from hsaug import report

    md = report.markdown({"target": "mine", "paper": False, **a})
    assert "Selection: validation R²" in md and "chosen on validation" in md
    old = {k: v for k, v in a.items() if k != "selection"}  # a result stored before selection on validation
    assert "Selection: mean test R²" in report.markdown({"target": "mine", "paper": False, **old})


def test_select_on_validation_and_authors_ranges(data):
    ds, poisoned, settings = data
    configs = [Config("shift", alpha=a, r=0.3) for a in (0.0, 0.01, 1.0)] + \
        [Config("shift", alpha=0.01, r=0.3, ranges="authors")]
    a = fair.select_on_validation(ds, configs, settings=settings, progress=False)
    b = fair.select_on_validation(poisoned, configs, settings=settings, progress=False)
    assert a["chosen"] == b["chosen"] and a["val_r2"] == b["val_r2"]
    assert a["test_r2_mean"] != b["test_r2_mean"]
    assert a["chosen"] == configs[int(np.argmax(a["val_r2"]))]


def test_no_validation_rows_is_refused(data):
    ds, _, _ = data
    with pytest.raises(ValueError, match="selects on validation"):
        fair.fair_comparison(ds, ("shift",), settings=TrainSettings(epochs=1, val_fraction=0.0), progress=False)
    with pytest.raises(ValueError, match="selects on validation"):
        protocols.greedy_combination(ds, ("shift", "flip"), start="shift", max_size=2,
                                     settings=TrainSettings(epochs=1, val_fraction=0.0), progress=False)


def test_best_single_follows_validation_where_test_disagrees():
    rows = [{"name": "baseline", "val_r2_mean": 0.99, "r2_mean": 0.99},
            {"name": "shift", "val_r2_mean": 0.8, "r2_mean": 0.1},
            {"name": "flip", "val_r2_mean": 0.2, "r2_mean": 0.9},
            {"name": "ridge", "val_r2_mean": float("nan"), "r2_mean": 0.95}]
    assert protocols.best_single({"rows": rows}) == "shift"
