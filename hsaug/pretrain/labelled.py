"""The labelled side of the downstream uses: reading data and split, :class:`FineTuned`, and
the validation/test metrics (test rows predicted once, at the end)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..losses import LabelScaling
from ..metrics import mae, r2_score
from ..models import MLPEnsemble

__all__ = ["FineTuned", "load_labelled", "r2_per_member", "final_metrics"]


def load_labelled(data: Any, target: Any, wavelength: Any, split: Any
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict[str, np.ndarray]]:
    """Spectra (N, B), targets (N, s), wavelength (B,) and the split's train/val/test row arrays, checked."""
    from ..training import load_training_data

    x, y, wl, _ = load_training_data(data, target, wavelength)
    if not isinstance(split, dict) or "train" not in split:
        raise ValueError(f"split must be a dict with 'train' (and 'val', 'test') row indices; got {split!r}")
    parts = {k: np.asarray(split.get(k, []), dtype=np.int64).ravel() for k in ("train", "val", "test")}
    for k, v in parts.items():
        if v.size and (v.min() < 0 or v.max() >= x.shape[0]):
            raise ValueError(f"split[{k!r}] must hold row indices in 0 … {x.shape[0] - 1}")
    if parts["train"].size < 2:
        raise ValueError(f"split['train'] must hold at least 2 rows; got {parts['train'].size}")
    return x, y, wl.float(), parts


def r2_per_member(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """R² (uniform over outputs) of y (N, s) against pred (..., N, s), one score per leading index, float64."""
    return np.asarray(r2_score(y, pred), dtype=np.float64)


@dataclass
class FineTuned:
    """Few-label results, per member (seed): ``metrics`` {"val_r2", "test_r2", "test_mae"} (M,),
    ``predictions`` (M, N_test, s) in the data's units, ``history["val_r2"]`` (M, epochs),
    ``best_epoch`` (M,), the fitted ``model`` (None for a linear probe), ``scaling``,
    ``settings`` and ``seconds``."""

    metrics: dict[str, np.ndarray]
    predictions: np.ndarray
    history: dict[str, np.ndarray]
    best_epoch: np.ndarray
    model: MLPEnsemble | None
    scaling: LabelScaling
    settings: dict[str, Any]
    seconds: float = 0.0


def final_metrics(y: torch.Tensor, parts: dict, predict: Any) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Validation and test metrics, the test rows predicted once, here, at the end."""
    out = {}
    yn = y.double().numpy()
    for part in ("val", "test"):
        rows = parts[part]
        if rows.size:
            pred = predict(rows)
            out[f"{part}_r2"] = r2_per_member(yn[rows], pred)
            if part == "test":
                out["test_mae"] = np.asarray(mae(yn[rows], pred), dtype=np.float64)
                test_pred = pred
    if not parts["test"].size:
        test_pred = np.zeros((0,))
    return out, test_pred
