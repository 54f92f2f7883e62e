"""Linear baselines (ridge, PLS) on the same split as :func:`hsaug.training.fit`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .config import TrainSettings
from .metrics import METRICS, r2_score, regression_metrics
from .splits import resolve_split
from .training import load_training_data

__all__ = ["fit_baselines", "RIDGE_ALPHAS", "PLS_COMPONENTS"]

RIDGE_ALPHAS = tuple(10.0 ** k for k in range(-6, 4))
PLS_COMPONENTS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30)


def fit_baselines(
    data: Any,
    target: Any = None,
    wavelength: Any = None,
    *,
    methods: Sequence[str] = ("ridge", "pls"),
    settings: TrainSettings | None = None,
    **overrides: Any,
) -> dict[str, dict[str, Any]]:
    """Ridge and PLS regression (scikit-learn) on the same split as :func:`hsaug.training.fit`.

    The split is that of ``settings`` (:class:`hsaug.config.TrainSettings`, with any of its
    fields in ``overrides``, e.g. ``split=``); the other settings play no role here.

    Ridge: spectra standardised per band, ``alpha`` chosen from ``RIDGE_ALPHAS``; PLS
    (``scale=True``): ``n_components`` from ``PLS_COMPONENTS`` (≤ bands, < training rows).
    Each is chosen by validation R² (by training R² when there is no validation set),
    fitted on the training rows only. Returns ``{method: {"params", "test_r2", "test_mae",
    "test_mae_summed", "val_r2", …, "predictions" (N_test, s), "estimator"}}``, metrics as in
    :func:`fit`; ``estimator`` is the fitted scikit-learn model (``.predict(x)``, x (N, B) float64).
    """
    from sklearn.cross_decomposition import PLSRegression
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    known = ("ridge", "pls")
    if isinstance(methods, str) or any(m not in known for m in methods):
        raise ValueError(f"methods must be a list drawn from {list(known)}; got {methods!r}")
    settings = TrainSettings.build(settings, **overrides)
    x, y, _, _ = load_training_data(data, target, wavelength)
    parts = resolve_split(x.shape[0], settings.split, settings.val_fraction, settings.test_fraction,
                          settings.split_seed)
    xn, yn = x.double().numpy(), y.double().numpy()
    tr, va, te = parts["train"], parts["val"], parts["test"]
    sel_x, sel_y = (xn[va], yn[va]) if va.size else (xn[tr], yn[tr])
    out = {}
    for method in methods:
        if method == "ridge":
            grid = [{"alpha": a} for a in RIDGE_ALPHAS]
            build = lambda p: make_pipeline(StandardScaler(), Ridge(alpha=p["alpha"]))  # noqa: E731
        else:
            limit = min(x.shape[1], tr.size - 1)
            grid = [{"n_components": k} for k in PLS_COMPONENTS if k <= limit] or [{"n_components": 1}]
            build = lambda p: PLSRegression(n_components=p["n_components"], scale=True)  # noqa: E731
        best = None
        for params in grid:  # a small hyper-parameter search, not a loop over spectra
            est = build(params).fit(xn[tr], yn[tr])
            score = r2_score(sel_y, est.predict(sel_x).reshape(sel_y.shape))
            if best is None or score > best[0]:
                best = (score, params, est)
        _, params, est = best
        res: dict[str, Any] = {"method": method, "params": params, "estimator": est}
        for part, rows in (("test", te), ("val", va)):
            if rows.size:
                pred = est.predict(xn[rows]).reshape(rows.size, -1)
                res.update({f"{part}_{k}": float(v) for k, v in regression_metrics(yn[rows], pred).items()})
                if part == "test":
                    res["predictions"] = pred
            else:
                res.update({f"{part}_{k}": float("nan") for k in METRICS})
        out[method] = res
    return out
