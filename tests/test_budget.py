"""Training-budget study and the authors' split."""

import numpy as np
import pytest

from hsaug import synthetic
from hsaug.experiments.budget import authors_split, budget_markdown, budget_study, paired

pytestmark = pytest.mark.usefixtures("one_thread")


def test_authors_split_is_500_500_9000_and_disjoint():
    s = authors_split()
    assert {k: v.size for k, v in s.items()} == {"train": 500, "val": 500, "test": 9000}
    allrows = np.concatenate(list(s.values()))
    assert np.unique(allrows).size == 10_000
    assert not np.array_equal(authors_split(seed=1)["train"], s["train"])
    with pytest.raises(ValueError, match="leave test pixels"):
        authors_split(1000, n_train=600, n_val=400)


def test_budget_study_shapes_checkpoints_and_pairing():
    ds = synthetic.make_scene("paper", n_rows=10, n_cols=10, seed=0)
    cfgs = {"baseline": (None, 0.0, 0.03, False), "twin": (None, 0.0, 0.03, False),
            "shift": ("shift", 0.01, 0.3, False)}
    r = budget_study(ds, sizes=(20, 60), checkpoints=(1, 3), seeds=(0, 1), configs=cfgs, progress=False)
    assert r["test_r2"].shape == (2, 2, 3, 2) and np.isfinite(r["test_r2"]).all()
    # same seed, same configuration: identical runs, a paired difference of exactly 0
    np.testing.assert_array_equal(r["test_r2"][:, :, 0], r["test_r2"][:, :, 1])
    m, h = paired(r["test_r2"][0, 1, 1], r["test_r2"][0, 1, 0])
    assert m == 0 and h == 0
    assert "| 60 | 3 |" in budget_markdown(r)
    with pytest.raises(ValueError, match="sizes must be"):
        budget_study(ds, sizes=(1000,), configs=cfgs, progress=False)
