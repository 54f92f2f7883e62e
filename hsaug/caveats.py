"""What a small training comparison can and cannot say: warnings to print beside its table.

:func:`comparison_caveats` reads a :class:`hsaug.training.FitResult` of several
configurations × seeds (the first configuration is the reference, e.g. the baseline) and
returns plain sentences: one seed (no spread to compare against), a gap in mean test R²
within two standard errors (the seed-to-seed spread), members whose validation error was still falling at the
last epochs (undertrained), and fewer epochs than the paper's 1000.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["comparison_caveats", "PAPER_EPOCHS"]

#: Epochs the paper trains for (§4).
PAPER_EPOCHS = 1000


def comparison_caveats(result: Any, *, metric: str = "test_r2", late: float = 0.1) -> list[str]:
    """Warnings about reading ``result``'s comparison (empty when none apply).

    Within the seed spread: |mean − reference mean| ≤ 2 standard errors of that difference,
    2 √(s_a²/n_a + s_b²/n_b) with s the standard deviation over seeds (≈ a 95 % interval
    that holds 0). Undertrained: a member's best validation epoch lies in the last ``late`` share of its
    epochs (its validation error was still falling when training stopped).
    """
    labels = [c.label for c in result.configs]
    values = np.asarray(result.metrics[metric], dtype=float)
    names = list(dict.fromkeys(labels))
    groups = {n: values[[i for i, lab in enumerate(labels) if lab == n]] for n in names}
    seeds = len(set(result.seeds))
    out = []
    if seeds < 2:
        out.append(f"one seed: there is no seed-to-seed spread to compare a gap against; run 3 or more seeds "
                   f"before reading a difference in {metric}.")
    ref = names[0]
    for n in names[1:]:
        a, b = groups[ref], groups[n]
        gap = float(np.nanmean(b) - np.nanmean(a))
        if a.size < 2 or b.size < 2:
            continue
        se = float(np.sqrt(np.nanvar(a, ddof=1) / a.size + np.nanvar(b, ddof=1) / b.size))
        if np.isfinite(se) and abs(gap) <= 2.0 * se:
            out.append(f"{n} vs {ref}: the gap in mean {metric} ({gap:+.4f}) is within the seed spread "
                       f"(2 standard errors: {2.0 * se:.4f}): not a difference these runs can show.")
    trained = np.asarray(result.epochs_trained, dtype=int)
    best = np.asarray(result.best_epoch, dtype=int)
    still = [labels[m] for m in range(len(labels)) if best[m] > trained[m] - max(1, round(late * trained[m]))]
    if still:
        out.append(f"undertrained: the validation error of {', '.join(dict.fromkeys(still))} was still falling "
                   f"in the last {late:.0%} of the epochs; more epochs may change the comparison.")
    epochs = int(trained.max()) if trained.size else 0
    if epochs < PAPER_EPOCHS:
        out.append(f"{epochs} epochs against the paper's {PAPER_EPOCHS}: a quick look, not a reproduction.")
    return out
