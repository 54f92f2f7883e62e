"""A fair protocol: every selection on validation data, the test part read once at the end.

The paper's Tables 3/4 protocol (:func:`hsaug.experiments.protocols.greedy_combination`,
:func:`~hsaug.experiments.protocols.best_single`) picks the best single augmentation and
each greedy step by mean **test** R², and then reports that same test R² — the selection
is fitted to the test set, so the reported gains are biased upwards. Here every choice —
the best single augmentation, each greedy step, a configuration out of a grid (α, r, τ,
loss, augmentation) — is made by mean **validation** R² over seeds; the test R² of the
chosen configurations is read only to be reported. Epoch counts are chosen on validation
by the runner's early stopping (``TrainSettings(patience=…)``) when wanted.

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

from ..augment import build as build_augmentation
from ..config import Config, TrainSettings
from .protocols import PAPER_AUGMENTATIONS
from .runner import protocol_inputs, run_configs

__all__ = ["fair_comparison", "fair_best_single", "fair_greedy", "select_on_validation", "fair_table1_markdown",
           "fair_greedy_markdown"]


def _row(name: str, runs: list[dict], **extra: Any) -> dict:
    def stat(key: str) -> tuple[float, float]:
        v = np.array([r["metrics"][key] for r in runs], dtype=float)
        return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0

    val, val_s = stat("val_r2")
    test, test_s = stat("test_r2")
    return {"name": name, "val_r2_mean": val, "val_r2_std": val_s, "r2_mean": test, "r2_std": test_s,
            "n_runs": len(runs), "runs": [{"seed": r["seed"], "val_r2": r["metrics"]["val_r2"],
                                           "r2": r["metrics"]["test_r2"]} for r in runs], **extra}


def _check_val(settings: TrainSettings, ds: xr.Dataset) -> None:
    if settings.split is not None:
        empty = len(settings.split.get("val", ())) == 0
    else:
        empty = round(ds.sizes["sample"] * settings.val_fraction) == 0
    if empty:
        raise ValueError("a fair protocol selects on validation data; the split has no validation rows "
                         "(set val_fraction > 0 or give split['val'])")


def fair_comparison(
    dataset: xr.Dataset,
    augmentations: Sequence[Any] = PAPER_AUGMENTATIONS,
    *,
    settings: TrainSettings | None = None,
    alpha: float = 0.001,
    r: float = 0.03,
    tau: float = 1.0,
    loss: str = "ball",
    ranges: str = "hsaug",
    results_dir: str | Path | None = None,
    members_per_fit: int | None = None,
    progress: bool = True,
) -> dict:
    """Table 1/2 with validation R² beside test R²: the baseline, then each augmentation, drawing
    from the random ``ranges`` ("hsaug" defaults or "authors", :func:`hsaug.augment.range_sets`)."""
    ds, settings = protocol_inputs(dataset, settings)
    _check_val(settings, ds)
    for a in augmentations:
        build_augmentation(a, ranges=ranges)
    configs = [Config.baseline()] + [Config(augmentation=a, alpha=alpha, r=r, tau=tau, loss=loss, ranges=ranges)
                                     for a in augmentations]
    runs = run_configs(ds, configs, settings, experiment="compare", results_dir=results_dir,
                       members_per_fit=members_per_fit, progress=progress)
    k = len(settings.seeds)
    rows = [_row(c.label, runs[i * k:(i + 1) * k]) for i, c in enumerate(configs)]
    return {"kind": "fair comparison", "rows": rows, "selection": "validation R² (mean over seeds)",
            "protocol": {"alpha": alpha, "r": r, "tau": tau, "loss": loss, "ranges": ranges, "seeds": k,
                         "epochs": settings.epochs, "split": "explicit" if settings.split is not None else
                         f"{1 - settings.val_fraction - settings.test_fraction:g}/{settings.val_fraction:g}/"
                         f"{settings.test_fraction:g} seed {settings.split_seed}"}}


def fair_best_single(comparison: dict) -> str:
    """The augmentation with the highest mean **validation** R² in a :func:`fair_comparison`."""
    rows = [row for row in comparison["rows"] if row["name"] not in ("baseline", "ridge", "pls")]
    if not rows:
        raise ValueError("the comparison has no augmentation rows to choose from")
    if "val_r2_mean" not in rows[0]:
        raise ValueError("fair_best_single needs a fair_comparison (validation R² per row); got a test-only table")
    return max(rows, key=lambda row: row["val_r2_mean"])["name"]


def fair_greedy(
    dataset: xr.Dataset,
    candidates: Sequence[str] = PAPER_AUGMENTATIONS,
    *,
    start: str | None = None,
    comparison: dict | None = None,
    max_size: int = 4,
    settings: TrainSettings | None = None,
    alpha: float = 0.001,
    r: float = 0.03,
    tau: float = 1.0,
    loss: str = "ball",
    ranges: str = "hsaug",
    results_dir: str | Path | None = None,
    members_per_fit: int | None = None,
    progress: bool = True,
) -> dict:
    """Table 3/4, fairly: start from the best single augmentation **on validation**, add at each
    step the candidate whose combination (one drawn per batch) has the highest mean
    validation R²; report validation and test R² of each chosen step (ΔR² on test)."""
    ds, settings = protocol_inputs(dataset, settings)
    common = dict(settings=settings, alpha=alpha, r=r, tau=tau, loss=loss, ranges=ranges, results_dir=results_dir,
                  members_per_fit=members_per_fit, progress=progress)
    if start is None:
        comparison = comparison or fair_comparison(ds, candidates, **common)
        start = fair_best_single(comparison)
    if start not in candidates:
        raise ValueError(f"start must be one of the candidates {list(candidates)}; got {start!r}")
    if not 1 <= max_size <= len(candidates):
        raise ValueError(f"max_size must be in [1, {len(candidates)}]; got {max_size!r}")
    known = {row["name"]: row for row in (comparison or {"rows": []})["rows"]}
    first = known.get(start) or fair_comparison(ds, [start], **common)["rows"][1]
    chosen = [start]
    rows = [{"augmentations": list(chosen), "val_r2_mean": first["val_r2_mean"], "r2_mean": first["r2_mean"],
             "r2_std": first["r2_std"], "delta_r2": None}]
    steps = []
    while len(chosen) < max_size:
        options = ["+".join(chosen + [c]) for c in candidates if c not in chosen]
        step = fair_comparison(ds, options, **common)["rows"][1:]
        steps.append([{k: row[k] for k in ("name", "val_r2_mean", "val_r2_std")} for row in step])
        best = max(step, key=lambda row: row["val_r2_mean"])
        chosen = best["name"].split("+")
        rows.append({"augmentations": list(chosen), "val_r2_mean": best["val_r2_mean"], "r2_mean": best["r2_mean"],
                     "r2_std": best["r2_std"], "delta_r2": best["r2_mean"] - rows[-1]["r2_mean"]})
    return {"kind": "fair greedy", "rows": rows, "steps": steps, "start": start,
            "selection": "validation R² (mean over seeds); test R² reported for the chosen steps only"}


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
    _check_val(settings, ds)
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
