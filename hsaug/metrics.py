"""Regression metrics on (N, s) targets and (..., N, s) predictions, in float64.

``r2_score`` as scikit-learn's (uniform average over outputs), ``mae`` over all elements,
``mae_summed`` the authors' MAE (summed over outputs). Several models' predictions are
scored at once: a leading (...) axis gives (...) scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["r2_score", "mae", "mae_summed", "regression_metrics", "METRICS"]

#: The metric names of :func:`regression_metrics` (results carry ``test_`` / ``val_`` + each).
METRICS = ("r2", "mae", "mae_summed")


def _np64(a: Any) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def _pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t, p = _np64(y_true), _np64(y_pred)
    if t.ndim == 1:
        t = t[:, None]
    if p.ndim == 1:
        p = p[:, None]
    if t.ndim != 2 or p.shape[-2:] != t.shape:
        raise ValueError(
            f"y_pred must have shape (..., N, s) matching y_true (N, s) = {t.shape}; got {p.shape}"
        )
    return t, p


def r2_score(y_true: Any, y_pred: Any) -> Any:
    """R², uniform average over outputs (as scikit-learn's ``r2_score``).

    ``y_true`` (N, s) or (N,); ``y_pred`` the same or (..., N, s) for several models,
    giving (...) scores. An output constant in ``y_true`` scores 1 if predicted exactly,
    else 0 (scikit-learn's ``force_finite``). Computed in float64.
    """
    t, p = _pair(y_true, y_pred)
    ss_res = ((t - p) ** 2).sum(axis=-2)
    ss_tot = ((t - t.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), np.where(ss_res == 0, 1.0, 0.0))
    return r2.mean(axis=-1)[()]


def mae(y_true: Any, y_pred: Any) -> Any:
    """Mean absolute error over all elements (samples and outputs), in the data's units."""
    t, p = _pair(y_true, y_pred)
    return np.abs(t - p).mean(axis=(-1, -2))[()]


def mae_summed(y_true: Any, y_pred: Any) -> Any:
    """The authors' MAE: |error| summed over the outputs, averaged over samples (= s · :func:`mae`)."""
    t, p = _pair(y_true, y_pred)
    return np.abs(t - p).sum(axis=-1).mean(axis=-1)[()]


def regression_metrics(y_true: Any, y_pred: Any) -> dict[str, Any]:
    """``{"r2", "mae", "mae_summed"}`` for (N, s) targets and (..., N, s) predictions."""
    return {"r2": r2_score(y_true, y_pred), "mae": mae(y_true, y_pred), "mae_summed": mae_summed(y_true, y_pred)}

