"""The fair protocol: selections read validation rows only (poisoned test labels change nothing chosen)."""

import numpy as np
import pytest

from hsaug import synthetic
from hsaug.config import Config, TrainSettings
from hsaug.experiments import fair
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
    a, b = fair.fair_greedy(ds, **kw), fair.fair_greedy(poisoned, **kw)
    assert a["start"] == b["start"]
    assert [r["augmentations"] for r in a["rows"]] == [r["augmentations"] for r in b["rows"]]
    assert [r["val_r2_mean"] for r in a["rows"]] == [r["val_r2_mean"] for r in b["rows"]]
    assert a["steps"] == b["steps"]  # every candidate's validation score, bitwise
    assert [r["r2_mean"] for r in a["rows"]] != [r["r2_mean"] for r in b["rows"]]  # the test part did change
    # the start is the best on validation, not necessarily on test
    comp = fair.fair_comparison(ds, ("shift", "flip", "band_erasure"), settings=settings, alpha=0.1, r=0.3,
                                progress=False)
    rows = [r for r in comp["rows"] if r["name"] != "baseline"]
    assert a["start"] == max(rows, key=lambda r: r["val_r2_mean"])["name"]
    md = fair.fair_table1_markdown({"hsaug": comp})
    assert md.splitlines()[2].startswith("| baseline |") and md.count("\n") == 5 and "| 0.55 |" in md
    assert fair.fair_greedy_markdown(a).count("\n") == 3


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
