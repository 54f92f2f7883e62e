"""Caveats printed beside a training comparison: seed spread, undertraining, few epochs."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from hsaug.caveats import comparison_caveats


def _result(r2, labels, seeds, trained, best):
    return SimpleNamespace(configs=[SimpleNamespace(label=lab) for lab in labels], seeds=seeds,
                           metrics={"test_r2": np.asarray(r2, dtype=float)},
                           epochs_trained=np.asarray(trained), best_epoch=np.asarray(best))


def test_a_gap_within_the_seed_spread_and_undertraining_are_said():
    res = _result([0.80, 0.90, 0.84, 0.88], ["baseline", "baseline", "shift", "shift"], [0, 1, 0, 1],
                  [30, 30, 30, 30], [12, 30, 15, 29])
    notes = comparison_caveats(res)
    assert any("within the seed spread" in n and "shift vs baseline" in n for n in notes)
    assert any(n.startswith("undertrained") and "baseline, shift" in n for n in notes)
    assert any("paper's 1000" in n for n in notes)


def test_one_seed_and_a_clear_gap():
    one = comparison_caveats(_result([0.5, 0.9], ["baseline", "shift"], [0, 0], [1000, 1000], [400, 500]))
    assert one == ["one seed: there is no seed-to-seed spread to compare a gap against; run 3 or more seeds "
                   "before reading a difference in test_r2."]
    clear = comparison_caveats(_result([0.50, 0.51, 0.90, 0.91], ["b", "b", "s", "s"], [0, 1, 0, 1],
                                       [1000] * 4, [400] * 4))
    assert clear == []
