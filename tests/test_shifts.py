"""Shifts the model never saw: the table marks each nuisance's kind and pairs methods by seed."""

import pytest

from hsaug import nuisances, synthetic
from hsaug.config import TrainSettings
from hsaug.experiments.shifts import shift_methods, shifts, shifts_markdown

pytestmark = pytest.mark.usefixtures("one_thread")


def test_shifts_table_on_a_tiny_scene(tmp_path):
    ds = synthetic.make_scene("hard", n_rows=10, n_cols=10, seed=0)
    res = shifts(ds, settings=TrainSettings(epochs=1, batch_size=16, seeds=(0, 1)), results_dir=tmp_path,
                 progress=False)
    assert [str(m) for m in res["method"].values] == [c.name for c in shift_methods()] + ["ridge", "pls"]
    md = shifts_markdown(res)
    assert md.count("\n") == 2 + len(nuisances.names())  # header, rule, clean + one row per nuisance
    assert "| `water_vapour` | **no** | 4 cm |" in md and "| `illumination` | yes | 75 deg |" in md
    assert "| `clean` | – | 0 |" in md
