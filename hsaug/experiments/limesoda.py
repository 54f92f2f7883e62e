"""The LimeSoDa table: ten real soil-spectra sets × three targets, LimeSoDa's own 10 folds.

Protocol (as the published benchmark, Schmidinger et al. 2025, where it can be followed):

* outer 10-fold cross-validation on LimeSoDa's fold column; R² = 1 − SSE/SST over the
  **pooled** out-of-fold predictions of all 10 folds (SST around the mean of all targets);
* every hyper-parameter chosen by an inner 5-fold CV inside each outer training part
  (``KFold(5, shuffle=True, random_state=0)``), by the pooled inner out-of-fold R²; the
  outer test fold is predicted once, with the chosen setting refitted on the whole outer
  training part;
* spectra only (the published rows of SSP.460, RP.62, SA.112, SL.125 and UL.120 also used
  non-spectral sensors — see ``limesoda-published-r2.csv``'s README);
* input for every method: the set's reflectance resampled to 10 nm bands (Gaussian
  responses, FWHM 10 nm, :func:`hsaug.spectra.resample`) over its own range — 2151 1-nm
  bands become 215 — then standardised per band on the training part.

Methods (``METHODS``):

* ``pls`` — PLS regression, components from 1–20 (≤ training rows − 1);
* ``ridge`` — ridge regression, α from 1e-4 … 1e4;
* ``mlp`` — the paper's MLP (b → 128 → 64 → 32 → 16 → 1), MSE, Adam 1e-3, batch 32, the
  number of epochs chosen from ``CHECKPOINTS``;
* ``mlp_aug`` — the same trained on MSE over the batch and its augmented views
  (shift+atmospheric+scattering, one per batch), no contrastive term;
* ``contrastive`` — MSE + α · ball loss (eq. 8) with the same augmentation, (α, r) from
  ``CONTRASTIVE_GRID`` and the epochs chosen jointly;
* ``pretrain`` — SimCLR pretraining of Φw on the outer training part's spectra (no labels;
  :func:`hsaug.pretrain.pretrain`, one member per outer fold), then a ridge probe on the
  frozen features with λ by inner CV.

Every MLP of one set — 3 targets × 10 outer folds × (5 inner + 1 refit) × configurations
— trains as one batched ensemble (:func:`hsaug.folds.fit_members`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["METHODS", "CHECKPOINTS", "CONTRASTIVE_GRID", "limesoda_table", "published", "compare", "to_markdown"]

METHODS = ("pls", "ridge", "mlp", "mlp_aug", "contrastive", "pretrain")
CHECKPOINTS = (25, 50, 100, 200)
CONTRASTIVE_GRID = ((0.001, 0.03), (0.01, 0.1), (0.1, 0.3))
AUGMENTATION = "shift+atmospheric+scattering"
RIDGE_ALPHAS = tuple(10.0 ** k for k in range(-4, 5))
PLS_COMPONENTS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20)
PUBLISHED = ("MLR", "SVR", "RF", "CatBoost")
TIE = 0.02  # |ΔR²| below this counts as a tie
#: The published benchmark's R² (copied with its README from the project's shared reference folder).
PUBLISHED_CSV = Path(__file__).resolve().parents[2] / "docs" / "data" / "limesoda-published-r2.csv"


def _r2(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Pooled R² of predictions p (..., N) against y (N,)."""
    sst = ((y - y.mean()) ** 2).sum()
    return 1.0 - ((p - y) ** 2).sum(-1) / sst


def _prepare(name: str, step: float = 10.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], np.ndarray]:
    from ..datasets import load_limesoda
    from ..spectra import resample

    ds = load_limesoda(name, target=None)
    wl = ds["wavelength"].values.astype(float)
    grid = np.arange(np.ceil(wl[0] / step) * step + step, wl[-1] - step / 2, step)
    x = resample(ds["spectra"].values.astype(float), wl, grid, fwhm=step)
    return (x.astype(np.float32), ds["target"].values.astype(float), grid,
            [str(o) for o in ds["output"].values], ds["folds"].values.astype(int))


def _inner_folds(rows: np.ndarray, k: int = 5) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import KFold

    return [(rows[a], rows[b]) for a, b in KFold(k, shuffle=True, random_state=0).split(rows)]


def _linear(x: np.ndarray, y: np.ndarray, folds: np.ndarray, method: str) -> np.ndarray:
    """Out-of-fold predictions (N,) of PLS or ridge, hyper-parameters by inner CV."""
    from sklearn.cross_decomposition import PLSRegression
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    xd = x.astype(np.float64)
    oof = np.zeros_like(y)
    for k in np.unique(folds):
        train, test = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
        inner = _inner_folds(train)
        limit = min(len(a) for a, _ in inner) - 1
        grid = ([{"alpha": a} for a in RIDGE_ALPHAS] if method == "ridge" else
                [{"n_components": c} for c in PLS_COMPONENTS if c <= min(limit, x.shape[1])])

        def build(p: dict) -> Any:
            if method == "ridge":
                return make_pipeline(StandardScaler(), Ridge(alpha=p["alpha"]))
            return PLSRegression(n_components=p["n_components"], scale=True)

        scores = []
        for p in grid:  # a small hyper-parameter grid, not a loop over spectra
            pred = np.zeros(len(train))
            pos = {r: i for i, r in enumerate(train)}
            for a, b in inner:
                pred[[pos[r] for r in b]] = build(p).fit(xd[a], y[a]).predict(xd[b]).ravel()
            scores.append(_r2(y[train], pred))
        best = grid[int(np.argmax(scores))]
        oof[test] = build(best).fit(xd[train], y[train]).predict(xd[test]).ravel()
    return oof


def _mlp_members(x, y, wl, folds, configs, *, epochs, device, aug, mse_on_views, batch_size=32):
    """Out-of-fold predictions (S, N) per target for MLP configurations chosen by inner CV."""
    from ..folds import fit_members

    n_t = y.shape[1]
    outer = list(np.unique(folds))
    members, index = [], []  # (target, outer k, inner j or -1, config c)
    for t in range(n_t):
        for k in outer:
            train = np.flatnonzero(folds != k)
            parts = [(a, j) for j, (a, _) in enumerate(_inner_folds(train))] + [(train, -1)]
            for c in range(len(configs)):
                for rows, j in parts:
                    members.append(rows)
                    index.append((t, k, j, c))
    alpha = [configs[c][0] for (_, _, _, c) in index]
    radius = [configs[c][1] for (_, _, _, c) in index]
    out = fit_members(x, y, wl, members, target_index=[i[0] for i in index], seeds=list(range(len(index))),
                      alpha=alpha, r=radius, augmentation=aug, mse_on_views=mse_on_views, epochs=epochs,
                      checkpoints=[c for c in CHECKPOINTS if c <= epochs], batch_size=batch_size, device=device)
    pred = out["predictions"]  # (C_ep, M, N)
    where = {key: m for m, key in enumerate(index)}
    oof = np.zeros((n_t, x.shape[0]))
    chosen = []
    for t in range(n_t):
        for k in outer:
            train, test = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
            inner = _inner_folds(train)
            best, best_score = None, -np.inf
            for c in range(len(configs)):
                pooled = np.zeros((pred.shape[0], len(train)))
                pos = {r: i for i, r in enumerate(train)}
                for j, (_, b) in enumerate(inner):
                    pooled[:, [pos[r] for r in b]] = pred[:, where[(t, k, j, c)], b]
                score = _r2(y[train, t], pooled)  # (C_ep,)
                e = int(np.argmax(score))
                if score[e] > best_score:
                    best, best_score = (c, e), score[e]
            c, e = best
            oof[t, test] = pred[e, where[(t, k, -1, c)], test]
            chosen.append({"target": t, "fold": int(k), "config": list(configs[c]), "epochs": out["checkpoints"][e]})
    return oof, chosen, out["seconds"], len(index)


def _pretrain_probe(x, y, wl, folds, *, epochs, device):
    """Out-of-fold predictions (S, N): SimCLR on each outer training part, ridge probe (λ by inner CV)."""
    import torch

    from ..pretrain import features, pretrain

    outer = list(np.unique(folds))
    trains = [np.flatnonzero(folds != k) for k in outer]
    bs = min(64, min(len(t) for t in trains))
    t0 = time.perf_counter()
    pre = pretrain(x, wl, method="simclr", seeds=list(range(len(outer))), epochs=epochs, batch_size=bs,
                   member_rows=trains, device=device)
    with torch.no_grad():
        f = features(pre.model, torch.as_tensor(x).to(pre.model.raw[0].device)).double().cpu().numpy()  # (K, N, d)
    oof = np.zeros((y.shape[1], x.shape[0]))
    lams = np.array(RIDGE_ALPHAS)
    for ki, k in enumerate(outer):
        train, test = trains[ki], np.flatnonzero(folds == k)
        fk = f[ki]

        def ridge(a: np.ndarray, b: np.ndarray, yt: np.ndarray) -> np.ndarray:
            """Predictions (L, len(b), S) for every λ, fitted on rows a (features standardised on a)."""
            mu, sd = fk[a].mean(0), fk[a].std(0).clip(1e-8)
            fa, fb = (fk[a] - mu) / sd, (fk[b] - mu) / sd
            ym = yt[a].mean(0)
            g = fa.T @ fa
            w = np.linalg.solve(g[None] + lams[:, None, None] * len(a) * np.eye(g.shape[0]), (fa.T @ (yt[a] - ym))[None])
            return fb[None] @ w + ym

        pooled = np.zeros((len(lams), len(train), y.shape[1]))
        pos = {r: i for i, r in enumerate(train)}
        for a, b in _inner_folds(train):
            pooled[:, [pos[r] for r in b]] = ridge(a, b, y)
        best = [int(np.argmax(_r2(y[train, t], pooled[:, :, t]))) for t in range(y.shape[1])]
        full = ridge(train, test, y)
        for t in range(y.shape[1]):
            oof[t, test] = full[best[t], :, t]
    return oof, time.perf_counter() - t0


def limesoda_table(
    sets: Sequence[str] | None = None,
    methods: Sequence[str] = METHODS,
    *,
    epochs: int = 200,
    pretrain_epochs: int = 100,
    device: str = "cpu",
    threads: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """R² over pooled out-of-fold predictions for every (set, target) × method (see the module
    docstring). Returns ``{"rows": [{"set", "target", "n", method: R², …}], "seconds": {…},
    "choices": {…}, "settings": {…}}``."""
    import torch

    from ..datasets import limesoda_names

    sets = list(limesoda_names() if sets is None else sets)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"methods must be drawn from {list(METHODS)}; got {unknown}")
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    rows, seconds, choices = [], {}, {}
    try:
        for name in sets:
            x, y, wl, targets, folds = _prepare(name)
            res: dict[str, np.ndarray] = {}
            for method in methods:
                t0 = time.perf_counter()
                if method in ("pls", "ridge"):
                    res[method] = np.stack([_linear(x, y[:, t], folds, method) for t in range(y.shape[1])])
                elif method == "pretrain":
                    res[method], _ = _pretrain_probe(x, y, wl, folds, epochs=pretrain_epochs, device=device)
                else:
                    configs = {"mlp": [(0.0, 0.03)], "mlp_aug": [(0.0, 0.03)], "contrastive": list(CONTRASTIVE_GRID)}
                    aug = None if method == "mlp" else AUGMENTATION
                    res[method], chosen, _, n_members = _mlp_members(
                        x, y, wl, folds, configs[method], epochs=epochs, device=device, aug=aug,
                        mse_on_views=method == "mlp_aug")
                    choices[f"{name}/{method}"] = chosen
                seconds[f"{name}/{method}"] = time.perf_counter() - t0
                if progress:
                    print(f"{name} {method}: {seconds[f'{name}/{method}']:.1f} s "
                          + " ".join(f"{targets[t]}={_r2(y[:, t], res[method][t]):.3f}" for t in range(len(targets))),
                          flush=True)
            for t, target in enumerate(targets):
                rows.append({"set": name, "target": target, "n": int(x.shape[0]),
                             **{m: float(_r2(y[:, t], res[m][t])) for m in methods}})
    finally:
        torch.set_num_threads(before)
    settings = {"epochs": epochs, "checkpoints": [c for c in CHECKPOINTS if c <= epochs],
                "pretrain_epochs": pretrain_epochs, "contrastive_grid": [list(c) for c in CONTRASTIVE_GRID],
                "augmentation": AUGMENTATION, "inner_folds": 5, "input": "reflectance resampled to 10 nm, "
                "standardised per band on the training part", "device": device,
                "threads": threads if threads is not None else before}
    return {"rows": rows, "seconds": seconds, "choices": choices, "settings": settings}


def published(path: str | Path | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    """The published R² per (set, target): ``{learner: R², "sensors": …}`` from the CSV."""
    import csv

    path = Path(path) if path is not None else PUBLISHED_CSV
    out = {}
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            out[(row["Dataset"], row["Property"])] = {"sensors": row["sensors"],
                                                      **{k: float(row[k]) for k in PUBLISHED}}
    return out


def compare(result: dict[str, Any], reference: dict[tuple[str, str], dict[str, Any]], tie: float = TIE
            ) -> dict[str, dict[str, int]]:
    """Per method: wins / ties / losses against the best published learner of each row
    (|ΔR²| < ``tie`` is a tie)."""
    methods = [m for m in METHODS if m in result["rows"][0]]
    counts = {m: {"wins": 0, "ties": 0, "losses": 0} for m in methods}
    for row in result["rows"]:
        ref = reference.get((row["set"], row["target"]))
        if ref is None:
            continue
        best = max(ref[k] for k in PUBLISHED)
        for m in methods:
            d = row[m] - best
            counts[m]["wins" if d >= tie else "losses" if d <= -tie else "ties"] += 1
    return counts


def to_markdown(result: dict[str, Any], reference: dict[tuple[str, str], dict[str, Any]] | None = None) -> str:
    """The table as markdown: our R² per method, the published ones, and the counts."""
    methods = [m for m in METHODS if m in result["rows"][0]]
    head = ["set", "target", "n", *methods]
    if reference:
        head += [*PUBLISHED, "sensors (published)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in result["rows"]:
        cells = [row["set"], row["target"], str(row["n"])]
        ours = [row[m] for m in methods]
        top = max(ours)
        cells += [f"**{v:.3f}**" if v == top else f"{v:.3f}" for v in ours]
        ref = (reference or {}).get((row["set"], row["target"]))
        if reference:
            cells += [f"{ref[k]:.3f}" for k in PUBLISHED] + [ref["sensors"]] if ref else ["–"] * 5
        lines.append("| " + " | ".join(cells) + " |")
    if reference:
        lines.append("")
        lines.append(f"Against the best published learner of each row (tie: |ΔR²| < {TIE}):")
        lines.append("")
        lines.append("| method | wins | ties | losses |")
        lines.append("|---|---|---|---|")
        for m, c in compare(result, reference).items():
            lines.append(f"| {m} | {c['wins']} | {c['ties']} | {c['losses']} |")
    return "\n".join(lines)
