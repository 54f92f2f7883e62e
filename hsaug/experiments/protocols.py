"""The paper's protocols: augmentation comparison (Tables 1–2), greedy combination
(Tables 3–4), error distributions (Fig. 3), and an α × r sweep for when the gains do not show.

Selection is fair: the best single augmentation and every greedy step are chosen by mean
**validation** R² over seeds; the test R² of the chosen configurations is only reported
(the paper chose on test; see docs/reproduction.md).

Each builds its configurations, trains them through :func:`hsaug.experiments.runner.run_configs`
(stored and resumable) with one :class:`hsaug.config.TrainSettings`, and summarises. Results
are plain dicts in the schema :mod:`hsaug.report` renders::

    {"kind": "comparison", "rows": [{"name", "val_r2_mean", "val_r2_std", "r2_mean", "r2_std",
      "mae_mean", "mae_std", "mae_summed_mean", "n_runs", "runs": [...]}, ...], "protocol": {...}}
    {"kind": "greedy", "rows": [{"augmentations", "val_r2_mean", "r2_mean", "r2_std", "delta_r2"}, ...],
      "steps": [validation R² of the candidates at each step], "start", "selection"}

``r2_*`` / ``mae_*`` are test metrics, ``val_r2_*`` validation R² (NaN without validation rows).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .. import augment
from ..baselines import fit_baselines
from ..config import Config, TrainSettings
from ..splits import resolve_split
from ..store import ResultStore
from .runner import dataset_fingerprint, protocol_inputs, run_configs

__all__ = ["PAPER_AUGMENTATIONS", "SELECTION", "compare_augmentations", "best_single", "greedy_combination",
           "check_validation", "error_distribution", "sweep"]

#: How the greedy protocol and :func:`best_single` choose, as reports state it.
SELECTION = "validation R² (mean over seeds); test R² reported for the chosen configurations only"

#: The paper's eight augmentations, in Table 1's order.
PAPER_AUGMENTATIONS = ("band_erasure", "band_permutation", "nearest_neighbor", "scattering", "atmospheric",
                       "flip", "elastic", "shift")


def _summarise(name: str, runs: list[dict], **extra: Any) -> dict:
    def stat(metric: str) -> tuple[float, float]:
        v = np.array([r["metrics"][metric] for r in runs], dtype=float)
        return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0

    val, vals = stat("val_r2")
    r2, r2s = stat("test_r2")
    mae, maes = stat("test_mae")
    maes_sum, _ = stat("test_mae_summed")
    return {"name": name, "val_r2_mean": val, "val_r2_std": vals, "r2_mean": r2, "r2_std": r2s,
            "mae_mean": mae, "mae_std": maes, "mae_summed_mean": maes_sum, "n_runs": len(runs),
            "runs": [{"seed": r["seed"], "val_r2": r["metrics"]["val_r2"], "r2": r["metrics"]["test_r2"],
                      "mae": r["metrics"]["test_mae"], "epochs_trained": r.get("epochs_trained")} for r in runs],
            **extra}


def check_validation(settings: TrainSettings, ds: xr.Dataset) -> None:
    """Refuse a split without validation rows: selections are made on validation data only."""
    if settings.split is not None:
        empty = len(settings.split.get("val", ())) == 0
    else:
        empty = round(ds.sizes["sample"] * settings.val_fraction) == 0
    if empty:
        raise ValueError("a fair protocol selects on validation data; the split has no validation rows "
                         "(set val_fraction > 0 or give split['val'])")


def _baseline_rows(ds: xr.Dataset, methods: Sequence[str], settings: TrainSettings, results_dir: Any) -> list[dict]:
    if not methods:
        return []
    store = ResultStore(results_dir, "baselines")
    split = {k: settings.run_key.get(k) for k in ("val_fraction", "test_fraction", "split_seed", "split")}
    key = {"dataset": dataset_fingerprint(ds), "methods": list(methods), **split}
    res = store.get(key)
    if res is None:
        res = fit_baselines(ds, methods=methods, settings=settings)
        res = {m: {k: v for k, v in r.items() if k not in ("predictions", "estimator")} for m, r in res.items()}
        store.put(key, res)
    return [{"name": m, "r2_mean": r["test_r2"], "r2_std": None, "mae_mean": r["test_mae"], "mae_std": None,
             "mae_summed_mean": r["test_mae_summed"], "n_runs": 1, "params": r["params"]}
            for m, r in res.items()]


def _protocol(ds: xr.Dataset, settings: TrainSettings, cfg: dict) -> dict:
    return {"n_samples": int(ds.sizes["sample"]), "n_bands": int(ds.sizes["wavelength"]),
            "outputs": [str(o) for o in ds["output"].values], "seeds": len(settings.seeds),
            **{k: getattr(settings, k) for k in ("epochs", "batch_size", "lr", "patience")}, **cfg}


def compare_augmentations(
    dataset: xr.Dataset,
    augmentations: Sequence[Any] = PAPER_AUGMENTATIONS,
    *,
    settings: TrainSettings | None = None,
    alpha: float = 0.001,
    r: float = 0.03,
    tau: float = 1.0,
    loss: str = "ball",
    ranges: str = "hsaug",
    baselines: Sequence[str] = ("ridge", "pls"),
    results_dir: str | Path | None = None,
    members_per_fit: int | None = None,
    progress: bool = True,
    on_fit: Callable[[list[dict]], None] | None = None,
) -> dict:
    """Table 1/2 protocol: the MLP without contrastive loss, then MSE + α·contrastive with
    each augmentation (random ``ranges``: "hsaug" or "authors", :func:`hsaug.augment.range_sets`);
    mean ± std over seeds of validation R², test R² and MAE (data units), plus ridge and PLS
    on the same split. All (configuration, seed) runs train as one batched
    ensemble unless ``members_per_fit`` cuts it into smaller, separately stored ones;
    ``on_fit(runs)`` is called after each ensemble is stored.
    """
    ds, settings = protocol_inputs(dataset, settings)
    seed_list = list(settings.seeds)
    for a in augmentations:
        augment.build(a, ranges=ranges)  # unknown names fail here, before any training
    configs = [Config.baseline()] + [Config(augmentation=a, alpha=alpha, r=r, tau=tau, loss=loss, ranges=ranges)
                                     for a in augmentations]
    runs = run_configs(ds, configs, settings, experiment="compare", results_dir=results_dir,
                       members_per_fit=members_per_fit, progress=progress, on_fit=on_fit)
    rows = []
    for i, cfg in enumerate(configs):
        rows.append(_summarise(cfg.label, runs[i * len(seed_list):(i + 1) * len(seed_list)]))
    rows += _baseline_rows(ds, baselines, settings, results_dir)
    units = ds["target"].attrs.get("units", "")
    return {"kind": "comparison", "rows": rows, "mae_unit": units if isinstance(units, str) else ", ".join(units),
            "protocol": _protocol(ds, settings, {"alpha": alpha, "r": r, "tau": tau, "loss": loss, "ranges": ranges})}


def best_single(comparison: dict) -> str:
    """The contrastive augmentation with the highest mean **validation** R² in a comparison
    (its test R² plays no part)."""
    rows = [row for row in comparison["rows"] if row["name"] not in ("baseline", "ridge", "pls")]
    if not rows:
        raise ValueError("the comparison has no augmentation rows to start a greedy combination from")
    bad = [row["name"] for row in rows if not np.isfinite(row.get("val_r2_mean", np.nan))]
    if bad:
        raise ValueError(f"best_single chooses on validation R²; the comparison has none for {bad} "
                         "(re-run it with validation rows: val_fraction > 0 or split['val'])")
    return max(rows, key=lambda row: row["val_r2_mean"])["name"]


def greedy_combination(
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
    """Table 3/4 protocol: start from the best single augmentation, then at each step add
    the candidate whose combination (one member drawn per batch, the authors' loop)
    gives the highest mean **validation** R²; record validation R², test R² and test ΔR²
    of each chosen step, up to ``max_size``. The test rows never enter a choice.

    ``start`` defaults to the best of ``comparison`` on validation (run with the same
    settings when not given; stored runs are reused). ΔR² is reported as measured,
    negative included. A split without validation rows is refused.
    """
    ds, settings = protocol_inputs(dataset, settings)
    check_validation(settings, ds)
    common = dict(settings=settings, alpha=alpha, r=r, tau=tau, loss=loss, ranges=ranges, results_dir=results_dir,
                  members_per_fit=members_per_fit, progress=progress)
    if start is None:
        if comparison is None:
            comparison = compare_augmentations(ds, candidates, baselines=(), **common)
        start = best_single(comparison)
    if start not in candidates:
        raise ValueError(f"start must be one of the candidates {list(candidates)}; got {start!r}")
    if not 1 <= max_size <= len(candidates):
        raise ValueError(f"max_size must be in [1, {len(candidates)}]; got {max_size!r}")
    chosen = [start]
    known = {row["name"]: row for row in (comparison or {"rows": []})["rows"]}
    first = known.get(start)
    if first is None or "val_r2_mean" not in first:  # an older comparison without validation R²
        first = compare_augmentations(ds, [start], baselines=(), **common)["rows"][1]
    rows = [{"augmentations": list(chosen), "val_r2_mean": first["val_r2_mean"], "r2_mean": first["r2_mean"],
             "r2_std": first["r2_std"], "delta_r2": None}]
    steps = []
    while len(chosen) < max_size:
        options = ["+".join(chosen + [c]) for c in candidates if c not in chosen]
        step = compare_augmentations(ds, options, baselines=(), **common)["rows"][1:]
        # what a step's choice sees: validation scores only (test numbers are kept for the chosen row)
        steps.append([{k: row[k] for k in ("name", "val_r2_mean", "val_r2_std")} for row in step])
        best = max(step, key=lambda row: row["val_r2_mean"])
        chosen = best["name"].split("+")
        rows.append({"augmentations": list(chosen), "val_r2_mean": best["val_r2_mean"], "r2_mean": best["r2_mean"],
                     "r2_std": best["r2_std"], "delta_r2": best["r2_mean"] - rows[-1]["r2_mean"]})
    return {"kind": "greedy", "rows": rows, "steps": steps, "start": start, "selection": SELECTION,
            "protocol": _protocol(ds, settings, {"alpha": alpha, "r": r, "tau": tau, "loss": loss, "ranges": ranges,
                                                 "start": start, "selection": "validation"})}


def error_distribution(
    dataset: xr.Dataset,
    augmentation: Any = "shift",
    *,
    settings: TrainSettings | None = None,
    alpha: float = 0.001,
    r: float = 0.03,
    tau: float = 1.0,
    loss: str = "ball",
    results_dir: str | Path | None = None,
    progress: bool = True,
) -> xr.Dataset:
    """Fig. 3's data: test-set prediction errors (prediction − target, data units) of the
    MLP without and with the contrastive term, for the same seeds and split.

    Returns a Dataset with ``error`` (method, seed, test_sample, output), ``target``
    (test_sample, output) and per-method ``mean_error`` / ``mean_abs_error`` (method, output).
    """
    ds, settings = protocol_inputs(dataset, settings)
    seed_list = list(settings.seeds)
    configs = [Config.baseline(), Config(augmentation=augmentation, alpha=alpha, r=r, tau=tau, loss=loss)]
    runs = run_configs(ds, configs, settings, experiment="errors", results_dir=results_dir, progress=progress,
                       keep_predictions=True)
    split = resolve_split(ds.sizes["sample"], settings.split, settings.val_fraction, settings.test_fraction,
                          settings.split_seed)["test"]
    target = ds["target"].values[split]
    pred = np.array([run["predictions"] for run in runs], dtype=float).reshape(
        len(configs), len(seed_list), len(split), -1)
    err = pred - target[None, None]
    methods = ["baseline", f"contrastive + {configs[1].label}"]
    out = xr.Dataset(
        {"error": (("method", "seed", "test_sample", "output"), err),
         "target": (("test_sample", "output"), target)},
        coords={"method": methods, "seed": seed_list, "test_sample": split, "output": ds["output"].values},
        attrs={"augmentation": configs[1].label, "alpha": alpha, "r": r, "tau": tau, "loss": loss,
               **{k: str(v) for k, v in settings.run_key.items()}},
    )
    out["mean_error"] = out["error"].mean(("seed", "test_sample"))
    out["mean_abs_error"] = abs(out["error"]).mean(("seed", "test_sample"))
    return out


def sweep(
    dataset: xr.Dataset,
    augmentation: Any = "shift",
    *,
    alphas: Sequence[float] = (0.0, 0.001, 0.01, 0.1, 1.0),
    rs: Sequence[float] = (0.01, 0.03, 0.1, 0.3),
    settings: TrainSettings | None = None,
    tau: float = 1.0,
    loss: str = "ball",
    results_dir: str | Path | None = None,
    members_per_fit: int | None = None,
    progress: bool = True,
) -> xr.Dataset:
    """Test R² over a grid of α (eq. 9) and r (eq. 7) for one augmentation, mean and std
    over seeds: ``r2_mean`` / ``r2_std`` (alpha, r). α = 0 is the MLP without the
    contrastive term (then r plays no role and one run per seed serves the whole row)."""
    ds, settings = protocol_inputs(dataset, settings)
    seed_list = list(settings.seeds)
    configs, index = [], {}
    for a in alphas:
        for radius in rs:
            cfg = Config.baseline() if a == 0 else Config(augmentation=augmentation, alpha=a, r=radius, tau=tau,
                                                          loss=loss)
            if cfg not in index:
                index[cfg] = len(configs)
                configs.append(cfg)
    runs = run_configs(ds, configs, settings, experiment="sweep", results_dir=results_dir,
                       members_per_fit=members_per_fit, progress=progress)
    r2 = np.array([r["metrics"]["test_r2"] for r in runs]).reshape(len(configs), len(seed_list))
    grid = np.empty((len(alphas), len(rs), len(seed_list)))
    for i, a in enumerate(alphas):
        for j, radius in enumerate(rs):
            cfg = Config.baseline() if a == 0 else Config(augmentation=augmentation, alpha=a, r=radius, tau=tau,
                                                          loss=loss)
            grid[i, j] = r2[index[cfg]]
    return xr.Dataset(
        {"r2": (("alpha", "r", "seed"), grid),
         "r2_mean": (("alpha", "r"), grid.mean(-1)),
         "r2_std": (("alpha", "r"), grid.std(-1, ddof=1) if len(seed_list) > 1 else np.zeros(grid.shape[:2]))},
        coords={"alpha": list(alphas), "r": list(rs), "seed": seed_list},
        attrs={"augmentation": str(augmentation), "tau": tau, "loss": loss,
               **{k: str(v) for k, v in settings.run_key.items()}},
    )
