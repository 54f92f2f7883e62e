"""Few labels, many unlabelled spectra: does self-supervised pretraining beat ridge and PLS?

:func:`few_labels` runs one protocol on a synthetic scene (or any labelled dataset):

* a fixed test part (``test_fraction`` of the pixels, seeded) — read once, at the end;
* for each label count n: n training pixels and ⌈n/4⌉ (at least 8) validation pixels,
  drawn from the rest (nested: a smaller labelled set is part of every larger one);
* an unlabelled pool: every non-test pixel, labels unused;
* methods, all selecting on the validation pixels only:
  ``ridge``, ``pls`` (:func:`hsaug.training.fit_baselines`'s grids); ``mlp`` (the paper's
  MLP from scratch); ``simclr_probe``, ``vicreg_probe`` (pretraining on the pool, ridge on
  frozen features); ``simclr_finetune`` (pretraining, then the whole MLP trained on the
  labels); ``semi`` (eq. 9 semi-supervised: MSE + α·ball on the labelled batch + β·SimCLR
  on a batch of unlabelled pixels, from scratch).
* MLPs train for ~``steps`` optimiser steps whatever n (epochs = steps / batches per epoch),
  keeping each member's best-validation epoch.

One member per seed everywhere (batched); pretraining is done once per method and reused
for every label count.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["FEW_LABEL_METHODS", "few_labels", "few_labels_markdown"]

FEW_LABEL_METHODS = ("ridge", "pls", "mlp", "simclr_probe", "vicreg_probe", "simclr_finetune", "semi")


def few_labels(
    dataset: Any,
    *,
    label_counts: Sequence[int] = (30, 100, 300, 1000),
    seeds: Sequence[int] = (0, 1, 2),
    methods: Sequence[str] = FEW_LABEL_METHODS,
    test_fraction: float = 0.2,
    split_seed: int = 0,
    pretrain_epochs: int = 30,
    steps: int = 2000,
    augmentation: str = "shift+atmospheric+scattering",
    alpha: float = 0.01,
    r: float = 0.1,
    ssl_weight: float = 0.1,
    device: str = "cpu",
    progress: bool = True,
) -> dict[str, Any]:
    """Test R² per (label count, method, seed); see the module docstring. Returns
    ``{"rows": [{"n_labels", "method", "seed", "val_r2", "test_r2"}], "seconds": {...}, "settings"}``."""
    from ..pretrain import finetune, linear_probe, pretrain
    from ..spectra import check_dataset

    from ..baselines import fit_baselines

    ds = check_dataset(dataset)
    bad = [m for m in methods if m not in FEW_LABEL_METHODS]
    if bad:
        raise ValueError(f"methods must be drawn from {list(FEW_LABEL_METHODS)}; got {bad}")
    n = ds.sizes["sample"]
    rng = np.random.default_rng(split_seed)
    order = rng.permutation(n)
    n_test = round(n * test_fraction)
    test, rest = np.sort(order[:n_test]), order[n_test:]
    need = max(label_counts) + max(8, math.ceil(max(label_counts) / 4))
    if need > rest.size:
        raise ValueError(f"label_counts up to {max(label_counts)} need {need} non-test pixels; there are {rest.size}")
    pool = ds["spectra"].values[np.sort(rest)]
    seed_list = [int(s) for s in seeds]
    rows, seconds = [], {}
    pre = {}
    for method in ("simclr", "vicreg"):
        if any(m.startswith(method) for m in methods):
            t0 = time.perf_counter()
            pre[method] = pretrain(pool, ds["wavelength"].values, method=method, augmentation=augmentation,
                                   seeds=seed_list, epochs=pretrain_epochs, batch_size=256, device=device)
            seconds[f"pretrain_{method}"] = time.perf_counter() - t0
    for n_lab in label_counts:
        n_val = max(8, math.ceil(n_lab / 4))
        split = {"train": np.sort(rest[:n_lab]), "val": np.sort(rest[n_lab:n_lab + n_val]), "test": test}
        epochs = max(1, math.ceil(steps / math.ceil(n_lab / 32)))
        for method in methods:
            t0 = time.perf_counter()
            if method in ("ridge", "pls"):
                b = fit_baselines(ds, methods=[method], split=split)[method]
                vals, tests = [b["val_r2"]] * len(seed_list), [b["test_r2"]] * len(seed_list)
            else:
                if method == "mlp":
                    res = finetune(None, ds, split=split, seeds=seed_list, epochs=epochs, device=device)
                elif method.endswith("_probe"):
                    res = linear_probe(pre[method.split("_")[0]], ds, split=split)
                elif method == "simclr_finetune":
                    res = finetune(pre["simclr"], ds, split=split, epochs=epochs, device=device)
                else:  # semi
                    res = finetune(None, ds, split=split, seeds=seed_list, epochs=epochs, alpha=alpha, r=r,
                                   augmentation=augmentation, unlabelled=pool, ssl_weight=ssl_weight,
                                   ssl_method="simclr", device=device)
                vals, tests = res.metrics["val_r2"], res.metrics["test_r2"]
            seconds[f"{n_lab}/{method}"] = time.perf_counter() - t0
            for s, v, t in zip(seed_list, vals, tests):
                rows.append({"n_labels": n_lab, "method": method, "seed": s, "val_r2": float(v), "test_r2": float(t)})
            if progress:
                print(f"{n_lab} labels {method}: test R² {np.mean(tests):.3f} ({seconds[f'{n_lab}/{method}']:.1f} s)",
                      flush=True)
    settings = {"label_counts": list(label_counts), "seeds": seed_list, "test_fraction": test_fraction,
                "split_seed": split_seed, "pretrain_epochs": pretrain_epochs, "steps": steps,
                "augmentation": augmentation, "alpha": alpha, "r": r, "ssl_weight": ssl_weight, "device": device,
                "n_test": int(n_test), "n_pool": int(pool.shape[0]), "validation": "max(8, ceil(n/4)) pixels"}
    return {"rows": rows, "seconds": seconds, "settings": settings}


def few_labels_markdown(result: dict[str, Any]) -> str:
    """Mean test R² ± 95 % t-interval half-width over seeds; methods as rows, label counts as columns."""
    from scipy import stats

    counts = result["settings"]["label_counts"]
    methods = list(dict.fromkeys(r["method"] for r in result["rows"]))
    lines = ["| method | " + " | ".join(f"{c} labels" for c in counts) + " |", "|---|" + "---|" * len(counts)]
    for m in methods:
        cells = []
        for c in counts:
            v = np.array([r["test_r2"] for r in result["rows"] if r["method"] == m and r["n_labels"] == c])
            if m in ("ridge", "pls") or v.size < 2 or np.all(v == v[0]):
                cells.append(f"{v.mean():.3f}")
            else:
                h = stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size)
                cells.append(f"{v.mean():.3f} ± {h:.3f}")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
