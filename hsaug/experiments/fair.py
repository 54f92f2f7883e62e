"""A fair protocol: every selection on validation data, the test part read once at the end.

The paper's Tables 3/4 protocol (:func:`hsaug.experiments.protocols.greedy_combination`,
:func:`~hsaug.experiments.protocols.best_single`) chooses the best single augmentation and
each greedy step by mean **validation** R² over seeds; the test R² of the chosen
configurations is read only to be reported. This module keeps the earlier names of that one
implementation (:func:`fair_comparison`, :func:`fair_best_single`, :func:`fair_greedy`), adds
:func:`select_on_validation` (any grid of :class:`~hsaug.config.Config`: α, r, τ, loss,
augmentation) and markdown tables with validation R² beside test R². Epoch counts are
chosen on validation by the runner's early stopping (``TrainSettings(patience=…)``) when wanted.

Every function trains through :func:`hsaug.experiments.runner.run_configs` (batched,
resumable, stored runs reused), with the same seeds for every configuration (paired).
Use :func:`hsaug.experiments.budget.authors_split` as ``TrainSettings(split=…)`` for the authors' split.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..config import Config, TrainSettings
from .protocols import PAPER_AUGMENTATIONS, best_single, check_validation, compare_augmentations, greedy_combination
from .runner import protocol_inputs, run_configs

__all__ = ["fair_comparison", "fair_best_single", "fair_greedy", "select_on_validation", "fair_table1_markdown",
           "fair_greedy_markdown"]

#: The paper protocol's :func:`~hsaug.experiments.protocols.best_single` (chooses on validation).
fair_best_single = best_single
#: The paper protocol's :func:`~hsaug.experiments.protocols.greedy_combination` (chooses on validation).
fair_greedy = greedy_combination


def fair_comparison(
    dataset: xr.Dataset,
    augmentations: Sequence[Any] = PAPER_AUGMENTATIONS,
    *,
    settings: TrainSettings | None = None,
    **kwargs: Any,
) -> dict:
    """Table 1/2 with validation R² beside test R², without ridge/PLS rows: the baseline, then each
    augmentation (:func:`~hsaug.experiments.protocols.compare_augmentations`, same keywords);
    a split without validation rows is refused."""
    ds, settings = protocol_inputs(dataset, settings)
    check_validation(settings, ds)
    return compare_augmentations(ds, augmentations, settings=settings, baselines=(), **kwargs)


def select_on_validation(
    dataset: xr.Dataset,
    configs: Sequence[Config],
    *,
    settings: TrainSettings | None = None,
    experiment: str = "select",
    results_dir: str | Path | None = None,
    progress: bool = True,
) -> dict:
    """Train every configuration (α, r, τ, loss, augmentation … any :class:`Config`) and choose the
    one with the highest mean validation R²; its test R² is the only test number returned."""
    ds, settings = protocol_inputs(dataset, settings)
    check_validation(settings, ds)
    if not configs:
        raise ValueError("configs must hold at least one configuration; got none")
    runs = run_configs(ds, list(configs), settings, experiment=experiment, results_dir=results_dir,
                       progress=progress)
    k = len(settings.seeds)
    val = [float(np.mean([r["metrics"]["val_r2"] for r in runs[i * k:(i + 1) * k]])) for i in range(len(configs))]
    best = int(np.argmax(val))
    chosen = runs[best * k:(best + 1) * k]
    return {"chosen": configs[best], "val_r2": val, "test_r2_mean": float(np.mean([r["metrics"]["test_r2"] for r in chosen])),
            "test_r2": [r["metrics"]["test_r2"] for r in chosen], "selection": "validation R² (mean over seeds)"}


def _paired(row: dict, base: dict) -> tuple[float, float]:
    from ..stats import t_half_width

    by_seed = {r["seed"]: r["r2"] for r in base["runs"]}
    d = np.array([r["r2"] - by_seed[r["seed"]] for r in row["runs"] if r["seed"] in by_seed])
    return float(d.mean()), float(t_half_width(d, 0.95)) if d.size > 1 else float("nan")


def fair_table1_markdown(comparisons: dict[str, dict]) -> str:
    """Table 1 from :func:`fair_comparison` results keyed by range set: validation R², test R²
    and the paired test ΔR² against the baseline (± 95 % t over seeds), beside the paper's."""
    from ..paper import TABLES

    paper = {k: v[0] for k, v in TABLES["table1"]["rows"].items()}  # name -> R² mean
    sets = list(comparisons)
    head = ["method"] + [h for s in sets for h in (f"val R² ({s})", f"test R² ({s})", f"Δ test vs baseline ({s})")]
    head.append("R² (paper)")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    rows = {s: comparisons[s]["rows"] for s in sets}  # same configurations in the same order
    if len({len(r) for r in rows.values()}) != 1:
        raise ValueError("comparisons must hold the same rows (one comparison per range set)")
    for i, first in enumerate(rows[sets[0]]):
        name = first["name"]
        cells = [name]
        for s in sets:
            row, base = rows[s][i], rows[s][0]
            cells += [f"{row['val_r2_mean']:.4f}", f"{row['r2_mean']:.4f} ± {row['r2_std']:.4f}"]
            if i == 0:
                cells.append("–")
            else:
                m, h = _paired(row, base)
                txt = f"{m:+.4f} ± {h:.4f}"
                cells.append(f"**{txt}**" if abs(m) > h else txt)
        ref = paper.get(name)
        cells.append("–" if ref is None else f"{ref:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def fair_greedy_markdown(greedy: dict) -> str:
    """Table 3/4 from :func:`fair_greedy`: each step chosen on validation, its test R² and ΔR²."""
    lines = ["| step | augmentations (chosen on validation) | val R² | test R² | ΔR² (test) |", "|---|---|---|---|---|"]
    for i, row in enumerate(greedy["rows"], 1):
        d = "–" if row["delta_r2"] is None else f"{row['delta_r2']:+.4f}"
        lines.append(f"| {i} | {' + '.join(row['augmentations'])} | {row['val_r2_mean']:.4f} | "
                     f"{row['r2_mean']:.4f} ± {row['r2_std']:.4f} | {d} |")
    return "\n".join(lines)
