"""Statistics of results over seeds: Student-t intervals, robustness summaries and paired
effects. numpy, scipy and pandas only — no training code — so plots and reports use it."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

__all__ = ["t_half_width", "robustness_summary", "robustness_effects"]


def t_half_width(values: np.ndarray, confidence: float) -> np.ndarray:
    """Half-width of the Student-t interval of the mean over the last axis (NaN for 1 value)."""
    from scipy import stats

    n = values.shape[-1]
    if n < 2:
        return np.full(values.shape[:-1], np.nan)
    std = np.where(np.ptp(values, axis=-1) == 0, 0.0, values.std(axis=-1, ddof=1))  # exact 0, not 1e-17
    return float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / np.sqrt(n)


def robustness_effects(result: xr.Dataset, method: str, reference: str = "mlp", *,
                       confidence: float = 0.95) -> Any:
    """How much ``method`` beats ``reference`` in R², seed by seed (same splits, seeds and
    perturbed test sets): a DataFrame per (train_size, nuisance, strength) with the mean
    paired difference, its ``confidence`` interval (Student t) and whether it excludes 0."""
    import pandas as pd

    methods = [str(m) for m in result["method"].values]
    for name in (method, reference):
        if name not in methods:
            raise ValueError(f"method {name!r} is not in this result; it has {methods}")
    r2 = result["r2"].transpose("method", "train_size", "cell", "seed").values
    diff = r2[methods.index(method)] - r2[methods.index(reference)]  # (train_size, cell, seed)
    mean, half = diff.mean(-1), t_half_width(diff, confidence)
    rows = []
    for k, size in enumerate(result["train_size"].values):
        for c in range(result.sizes["cell"]):
            rows.append({"train_size": int(size), "nuisance": str(result["nuisance"].values[c]),
                         "strength": float(result["strength"].values[c]), "delta_r2": float(mean[k, c]),
                         "ci": float(half[k, c]),
                         "significant": bool(abs(mean[k, c]) > half[k, c]) if np.isfinite(half[k, c]) else False})
    return pd.DataFrame(rows)


def robustness_summary(result: xr.Dataset, *, confidence: float = 0.95) -> Any:
    """A pandas DataFrame, one row per (method, train_size, nuisance, strength): mean R²
    and MAE over seeds and the half-width of the ``confidence`` interval of the mean R²
    (Student t over seeds; 0 where every seed gives the same score, e.g. a linear model
    under a deterministic nuisance)."""
    import pandas as pd

    n = result.sizes["seed"]
    r2 = result["r2"].transpose("method", "train_size", "cell", "seed").values
    mean, half = r2.mean(-1), t_half_width(r2, confidence)
    mae_mean = result["mae"].transpose("method", "train_size", "cell", "seed").values.mean(-1)
    rows = []
    for i, method in enumerate(result["method"].values):
        for k, size in enumerate(result["train_size"].values):
            for c in range(result.sizes["cell"]):
                rows.append({"method": str(method), "train_size": int(size),
                             "nuisance": str(result["nuisance"].values[c]),
                             "strength": float(result["strength"].values[c]),
                             "r2_mean": float(mean[i, k, c]), "r2_ci": float(half[i, k, c]),
                             "mae_mean": float(mae_mean[i, k, c]), "n_seeds": n})
    return pd.DataFrame(rows)
