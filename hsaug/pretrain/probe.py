"""The linear (ridge) probe on frozen pretrained features, batched closed form over members."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ..losses import LabelScaling, check_positive
from .common import features
from .labelled import FineTuned, final_metrics, load_labelled, r2_per_member
from .loop import Pretrained

__all__ = ["linear_probe"]


def linear_probe(
    pre: Pretrained,
    data: Any,
    target: Any = None,
    wavelength: Any = None,
    *,
    split: dict[str, Any],
    lambdas: Sequence[float] = tuple(10.0 ** k for k in range(-4, 5)),
) -> FineTuned:
    """Ridge regression on the frozen features of every member of ``pre`` (batched closed form).

    Features standardised by their training mean and std; ridge penalty λ·n_train on the
    coefficients (intercept free), chosen per member by validation R² from ``lambdas`` (by
    training R² when there is no validation part). The test rows are predicted once, at the end.
    """
    t0 = time.perf_counter()
    x, y, _, parts = load_labelled(data, target, wavelength, split)
    lam = torch.as_tensor([float(check_positive(v, "lambdas", "ridge penalties")) for v in lambdas],
                          dtype=torch.float64)
    scaling = LabelScaling.fit(y[parts["train"]])
    model = pre.model
    dev = model.raw[0].device
    with torch.no_grad():
        f = features(model, x.to(dev)).double().cpu()  # (M, N, d)
    tr = torch.as_tensor(parts["train"])
    mu, sd = f[:, tr].mean(1, keepdim=True), f[:, tr].std(1, keepdim=True).clamp_min(1e-8)
    fz = (f - mu) / sd
    ys = scaling(y).double()
    ym = ys[tr].mean(0)
    ft, yt = fz[:, tr], ys[tr] - ym
    g = ft.transpose(1, 2) @ ft  # (M, d, d)
    rhs = ft.transpose(1, 2) @ yt  # (M, d, s)
    eye = torch.eye(g.shape[-1], dtype=torch.float64)
    w = torch.linalg.solve(g[None] + lam[:, None, None, None] * tr.numel() * eye, rhs[None])  # (L, M, d, s)
    sel_rows = parts["val"] if parts["val"].size else parts["train"]
    sel = torch.as_tensor(sel_rows)
    pred_sel = scaling.inverse(fz[None, :, sel] @ w + ym).numpy()  # (L, M, n, s)
    score = r2_per_member(y[sel_rows].double().numpy(), pred_sel)  # (L, M)
    best = score.argmax(axis=0)
    wb = w[torch.as_tensor(best), torch.arange(w.shape[1])]  # (M, d, s)

    def predict(rows: np.ndarray) -> np.ndarray:
        return scaling.inverse(fz[:, torch.as_tensor(rows)] @ wb + ym).numpy()

    metrics, test_pred = final_metrics(y, parts, predict)
    metrics["lambda"] = lam[torch.as_tensor(best)].numpy()
    return FineTuned(metrics, test_pred, {}, np.zeros(len(pre.seeds), dtype=np.int64), None, scaling,
                     {"probe": "ridge on standardised frozen features", "lambdas": lam.tolist(),
                      "selection": "validation R²" if parts["val"].size else "training R²"},
                     time.perf_counter() - t0)
