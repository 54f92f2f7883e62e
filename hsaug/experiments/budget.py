"""Training budget: where a gain of the paper's size appears, and where it vanishes.

:func:`budget_study` trains the baseline MLP and contrastive configurations for a range of
training-set sizes and reads test R² at several epoch counts of the same runs
(``checkpoints``: with a constant learning rate and no early stopping, the model after E
epochs of a longer run *is* the E-epoch model). Every (configuration, seed) member of one
size trains in one batched ensemble (:func:`hsaug.folds.fit_members`, raw spectra as in
:func:`hsaug.training.fit`, eq. 9/10 losses, one augmentation per batch). Seeds are shared
by all configurations (same initial weights and batch order), so the differences from the
baseline are paired; intervals are 95 % Student-t over seeds (:func:`hsaug.stats.t_half_width`).

No selection happens here: every number is a test R² at a budget fixed in advance.

:func:`authors_split` is the authors' default split (``utils.split_data``): 1,000 pixels of
the scene drawn at random, half for training and half for validation — 500 / 500 — and
the other 9,000 for test.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["BUDGET_CONFIGS", "authors_split", "budget_study", "budget_markdown", "paired"]

#: name -> (augmentation, alpha, r, mse_on_views)
BUDGET_CONFIGS: dict[str, tuple[Any, float, float, bool]] = {
    "baseline": (None, 0.0, 0.03, False),
    "shift (α=0.001)": ("shift", 0.001, 0.03, False),
    "atmospheric (α=0.001)": ("atmospheric", 0.001, 0.03, False),
    "elastic (α=0.001)": ("elastic", 0.001, 0.03, False),
    "shift+atm+scat (α=0.01, r=0.3)": ("shift+atmospheric+scattering", 0.01, 0.3, False),
    "mlp + aug (shift+atm+scat)": ("shift+atmospheric+scattering", 0.0, 0.03, True),
}


def authors_split(n: int = 10_000, seed: int = 0, n_train: int = 500, n_val: int = 500) -> dict[str, np.ndarray]:
    """The authors' default split: ``n_train`` training and ``n_val`` validation pixels drawn at
    random (seeded), every other pixel for test (9,000 of a 100 × 100 scene)."""
    if not (isinstance(n, (int, np.integer)) and n_train >= 1 and n_val >= 0 and n_train + n_val < n):
        raise ValueError(f"n_train + n_val must leave test pixels out of n = {n}; got {n_train} + {n_val}")
    perm = np.random.default_rng(seed).permutation(int(n))
    return {"train": np.sort(perm[:n_train]), "val": np.sort(perm[n_train:n_train + n_val]),
            "test": np.sort(perm[n_train + n_val:])}


def budget_study(
    dataset: Any,
    *,
    sizes: Sequence[int] = (100, 300, 500, 1000, 3000, 8000),
    checkpoints: Sequence[int] = (5, 10, 30, 100),
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    configs: dict[str, tuple[Any, float, float, bool]] | None = None,
    split: dict[str, Any] | None = None,
    split_seed: int = 0,
    batch_size: int = 32,
    lr: float = 1e-3,
    device: str = "cpu",
    progress: bool = True,
) -> dict[str, Any]:
    """Test (and validation) R² per (size, epoch checkpoint, configuration, seed).

    ``split``: {"train", "val", "test"} rows (default a seeded 80/10/10 split); training sets
    of each size are the first rows of a seeded shuffle of its training part (nested).
    Returns ``{"test_r2": array (sizes, checkpoints, configs, seeds), "val_r2": same,
    "sizes", "checkpoints", "configs", "seeds", "seconds": {size: s}, "settings"}``.
    """
    from ..folds import fit_members
    from ..spectra import check_dataset

    from ..metrics import r2_score
    from ..splits import split_indices

    ds = check_dataset(dataset)
    cfgs = dict(BUDGET_CONFIGS if configs is None else configs)
    n = ds.sizes["sample"]
    base = split if split is not None else split_indices(n, 0.1, 0.1, split_seed)
    base = {k: np.asarray(base[k], dtype=np.int64) for k in ("train", "val", "test")}
    order = np.random.default_rng(split_seed).permutation(base["train"])
    sizes = [int(s) for s in sizes]
    if any(not 1 <= s <= order.size for s in sizes):
        raise ValueError(f"sizes must be from 1 to the {order.size} training pixels; got {sizes}")
    x, y, wl = ds["spectra"].values, ds["target"].values, ds["wavelength"].values
    names, seed_list = list(cfgs), [int(s) for s in seeds]
    members = [(c, s) for c in names for s in seed_list]
    eval_rows = np.concatenate([base["val"], base["test"]])
    n_val = base["val"].size
    test = np.full((len(sizes), len(checkpoints), len(names), len(seed_list)), np.nan)
    val = np.full_like(test, np.nan)
    seconds = {}
    for i, size in enumerate(sizes):
        train = np.sort(order[:size])
        t0 = time.perf_counter()
        everything = list(range(y.shape[1]))  # one multi-output regressor per member, as training.fit
        spec = [cfgs[c][0] for c, _ in members]
        out = fit_members(
            x, y, wl, [train] * len(members), target_index=[everything] * len(members),
            seeds=[s for _, s in members], alpha=[cfgs[c][1] for c, _ in members],
            r=[cfgs[c][2] for c, _ in members], mse_on_views=[cfgs[c][3] for c, _ in members],
            augmentation=spec if len(spec) > 1 else spec[0], epochs=max(checkpoints), checkpoints=checkpoints,
            predict_rows=eval_rows, standardize=False, batch_size=min(batch_size, size), lr=lr, device=device)
        pred = out["predictions"]  # (C, M, N', s)
        for j in range(len(checkpoints)):
            for k, (c, s) in enumerate(members):
                ci, si = names.index(c), seed_list.index(s)
                val[i, j, ci, si] = r2_score(y[base["val"]], pred[j, k, :n_val]) if n_val else np.nan
                test[i, j, ci, si] = r2_score(y[base["test"]], pred[j, k, n_val:])
        seconds[size] = time.perf_counter() - t0
        if progress:
            best = {c: float(np.mean(test[i, -1, ci])) for ci, c in enumerate(names)}
            print(f"size {size}: {seconds[size]:.1f} s; test R² at {checkpoints[-1]} epochs "
                  + ", ".join(f"{c} {v:.3f}" for c, v in best.items()), flush=True)
    settings = {"split": {k: int(v.size) for k, v in base.items()}, "split_seed": split_seed,
                "batch_size": batch_size, "lr": lr, "device": device,
                "configs": {c: {"augmentation": a, "alpha": al, "r": r, "mse_on_views": v}
                            for c, (a, al, r, v) in cfgs.items()},
                "model": "the paper's MLP, all outputs, raw spectra (hsaug.folds.fit_members)"}
    return {"test_r2": test, "val_r2": val, "sizes": sizes, "checkpoints": list(checkpoints), "configs": names,
            "seeds": seed_list, "seconds": seconds, "settings": settings}


def paired(values: np.ndarray, reference: np.ndarray, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Mean and t-interval half-width over the last axis (seeds) of values − reference (0 for one seed)."""
    from ..stats import t_half_width

    d = np.asarray(values) - np.asarray(reference)
    half = t_half_width(d, confidence) if d.shape[-1] > 1 else np.zeros(d.shape[:-1])
    return d.mean(-1), np.nan_to_num(half)


def budget_markdown(result: dict[str, Any]) -> str:
    """Baseline R² and each configuration's paired difference (± 95 % t) per size × epochs."""
    names, sizes, cps = result["configs"], result["sizes"], result["checkpoints"]
    t = result["test_r2"]
    base = names.index("baseline")
    head = "| training pixels | epochs | baseline R² | " + " | ".join(f"Δ {c}" for c in names if c != "baseline") + " |"
    lines = [head, "|" + "---|" * (3 + len(names) - 1)]
    for i, size in enumerate(sizes):
        for j, e in enumerate(cps):
            cells = [str(size), str(e), f"{t[i, j, base].mean():.3f}"]
            for ci, c in enumerate(names):
                if ci == base:
                    continue
                m, h = paired(t[i, j, ci], t[i, j, base])
                txt = f"{m:+.3f} ± {h:.3f}"
                cells.append(f"**{txt}**" if abs(m) > h else txt)
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
