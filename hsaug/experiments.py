"""The paper's experiments: augmentation comparison (Tables 1–2), greedy combination
(Tables 3–4), error distributions (Fig. 3), and an α × r sweep for when the gains do not show.

Every experiment is a set of *runs*, one per (configuration, seed). Runs are trained as
batched ensembles (:func:`hsaug.training.fit`), ``members_per_fit`` at a time, and each
finished run is written to ``results_dir`` at once (:class:`hsaug.store.ResultStore`,
keyed by the dataset's fingerprint, the configuration, the seed and the training
settings). Running an experiment again trains only what is missing, so an interrupted
experiment resumes where it stopped and a finished one returns at once. A member's
numbers do not depend on which other members share its ensemble (see
:mod:`hsaug.training`), so resuming gives the same numbers as an uninterrupted run.

Results are plain dicts in the schema :mod:`hsaug.report` renders::

    {"kind": "comparison", "rows": [{"name", "r2_mean", "r2_std", "mae_mean", "mae_std",
      "mae_summed_mean", "n_runs", "runs": [...]}, ...], "protocol": {...}}
    {"kind": "greedy", "rows": [{"augmentations", "r2_mean", "r2_std", "delta_r2"}, ...],
      "steps": [comparison of the candidates at each step]}
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from . import augment
from .spectra import check_dataset
from .store import ResultStore, _jsonable, run_key
from .training import Config, fit, fit_baselines, split_indices

__all__ = [
    "PAPER_AUGMENTATIONS",
    "compare_augmentations",
    "greedy_combination",
    "error_distribution",
    "sweep",
    "run_configs",
    "dataset_fingerprint",
    "write_json",
]

#: The paper's eight augmentations, in Table 1's order.
PAPER_AUGMENTATIONS = ("band_erasure", "band_permutation", "nearest_neighbor", "scattering", "atmospheric",
                       "flip", "elastic", "shift")

_TRAIN_KEYS = ("epochs", "batch_size", "lr", "val_fraction", "test_fraction", "split_seed", "split", "patience",
               "feature_widths", "head_widths")


def dataset_fingerprint(ds: xr.Dataset) -> str:
    """sha1 (16 hex digits) of a dataset's spectra, targets and wavelengths: results are
    only reused for exactly the same data."""
    h = hashlib.sha1()
    for var in ("spectra", "target", "wavelength"):
        h.update(np.ascontiguousarray(ds[var].values, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


def _seed_list(seeds: int | Sequence[int]) -> list[int]:
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"seeds must be a positive number of seeds or a list of seeds; got {seeds!r}")
        return list(range(int(seeds)))
    out = [int(s) for s in seeds]
    if not out:
        raise ValueError("seeds must not be empty")
    return out


def _train_settings(kw: dict) -> dict:
    unknown = set(kw) - set(_TRAIN_KEYS)
    if unknown:
        raise ValueError(f"unknown training setting(s) {sorted(unknown)}; accepted: {list(_TRAIN_KEYS)}")
    settings = {"epochs": 100, "batch_size": 32, "lr": 1e-3, "val_fraction": 0.1, "test_fraction": 0.1,
                "split_seed": 0, "patience": None}
    settings.update(kw)
    if settings.get("split") is not None:  # explicit row indices (e.g. predefined folds), JSON-able
        settings["split"] = {k: [int(i) for i in np.asarray(v).ravel()] for k, v in settings["split"].items()}
    return settings


def run_configs(
    dataset: xr.Dataset,
    configs: Sequence[Config],
    seeds: int | Sequence[int] = 5,
    *,
    experiment: str = "runs",
    results_dir: str | Path | None = None,
    members_per_fit: int | None = None,
    device: str = "cpu",
    progress: bool = True,
    keep_predictions: bool = False,
    on_fit: Callable[[list[dict]], None] | None = None,
    **train: Any,
) -> list[dict]:
    """Train every (configuration, seed) not yet in ``results_dir``; return all runs.

    Each run is ``{"config", "seed", "metrics", "history", "epochs_trained", ...}`` (and
    ``"predictions"`` (N_test, s) with ``keep_predictions``), in the order
    ``[(c, s) for c in configs for s in seeds]``. Missing runs are trained as batched
    ensembles of at most ``members_per_fit`` members (default: all at once). ``on_fit``
    is called with the runs of each finished ensemble, after they are stored.
    ``train``: the keyword arguments of :func:`hsaug.training.fit` (epochs, batch_size, …).
    """
    ds = check_dataset(dataset)
    settings = _train_settings(train)
    seed_list = _seed_list(seeds)
    if members_per_fit is not None and members_per_fit < 1:
        raise ValueError(f"members_per_fit must be a positive number of models; got {members_per_fit!r}")
    store = ResultStore(results_dir, experiment)
    fingerprint = dataset_fingerprint(ds)

    def key(cfg: Config, seed: int) -> dict:
        return {"dataset": fingerprint, "config": cfg.to_dict(), "seed": seed, "train": settings,
                "predictions": keep_predictions}

    # every run by its key: stored ones read once, the rest trained below
    runs: dict[str, dict | None] = {}
    for c in configs:
        for s in seed_list:
            runs[run_key(key(c, s))] = store.get(key(c, s))
    todo = [(c, s) for c in configs for s in seed_list if runs[run_key(key(c, s))] is None]
    # group missing members by configuration, then cut into ensembles of <= members_per_fit
    chunk = members_per_fit or max(1, len(todo))
    for start in range(0, len(todo), chunk):
        batch = todo[start:start + chunk]
        # fit() trains a configs x seeds product: split the batch into such products
        groups: dict[tuple[int, ...], list[Config]] = {}
        for cfg in dict.fromkeys(c for c, _ in batch):
            groups.setdefault(tuple(s for c, s in batch if c == cfg), []).append(cfg)
        finished = []
        for group_seeds, group_cfgs in groups.items():
            result = fit(ds, configs=group_cfgs, seeds=list(group_seeds), device=device, progress=progress,
                         **settings)
            for m in range(result.n_members):
                run = result.member_dict(m, predictions=keep_predictions)
                run["seconds_per_member"] = result.seconds / result.n_members
                k = key(result.configs[m], int(result.seeds[m]))
                store.put(k, run)
                runs[run_key(k)] = run
                finished.append(run)
        if on_fit is not None:
            on_fit(finished)
    return [runs[run_key(key(c, s))] for c in configs for s in seed_list]


def _summarise(name: str, runs: list[dict], **extra: Any) -> dict:
    def stat(metric: str) -> tuple[float, float]:
        v = np.array([r["metrics"][metric] for r in runs], dtype=float)
        return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0

    r2, r2s = stat("test_r2")
    mae, maes = stat("test_mae")
    maes_sum, _ = stat("test_mae_summed")
    return {"name": name, "r2_mean": r2, "r2_std": r2s, "mae_mean": mae, "mae_std": maes,
            "mae_summed_mean": maes_sum, "n_runs": len(runs),
            "runs": [{"seed": r["seed"], "r2": r["metrics"]["test_r2"], "mae": r["metrics"]["test_mae"],
                      "epochs_trained": r.get("epochs_trained")} for r in runs], **extra}


def _baseline_rows(ds: xr.Dataset, methods: Sequence[str], settings: dict, results_dir: Any) -> list[dict]:
    if not methods:
        return []
    store = ResultStore(results_dir, "baselines")
    split = {k: settings.get(k) for k in ("val_fraction", "test_fraction", "split_seed", "split")}
    key = {"dataset": dataset_fingerprint(ds), "methods": list(methods), **split}
    res = store.get(key)
    if res is None:
        res = fit_baselines(ds, methods=methods, **split)
        res = {m: {k: v for k, v in r.items() if k not in ("predictions", "estimator")} for m, r in res.items()}
        store.put(key, res)
    return [{"name": m, "r2_mean": r["test_r2"], "r2_std": None, "mae_mean": r["test_mae"], "mae_std": None,
             "mae_summed_mean": r["test_mae_summed"], "n_runs": 1, "params": r["params"]}
            for m, r in res.items()]


def _protocol(ds: xr.Dataset, seeds: list[int], settings: dict, cfg: dict) -> dict:
    return {"n_samples": int(ds.sizes["sample"]), "n_bands": int(ds.sizes["wavelength"]),
            "outputs": [str(o) for o in ds["output"].values], "seeds": len(seeds),
            **{k: settings[k] for k in ("epochs", "batch_size", "lr", "patience")}, **cfg}


def compare_augmentations(
    dataset: xr.Dataset,
    augmentations: Sequence[Any] = PAPER_AUGMENTATIONS,
    *,
    seeds: int | Sequence[int] = 5,
    alpha: float = 0.001,
    r: float = 0.03,
    tau: float = 1.0,
    loss: str = "ball",
    baselines: Sequence[str] = ("ridge", "pls"),
    results_dir: str | Path | None = None,
    members_per_fit: int | None = None,
    device: str = "cpu",
    progress: bool = True,
    on_fit: Callable[[list[dict]], None] | None = None,
    **train: Any,
) -> dict:
    """Table 1/2 protocol: the MLP without contrastive loss, then MSE + α·contrastive with
    each augmentation; mean ± std over seeds of test R² and MAE (data units), plus ridge
    and PLS on the same split. All (configuration, seed) runs train as one batched
    ensemble unless ``members_per_fit`` cuts it into smaller, separately stored ones;
    ``on_fit(runs)`` is called after each ensemble is stored.
    """
    ds = check_dataset(dataset)
    settings = _train_settings(train)
    seed_list = _seed_list(seeds)
    for a in augmentations:
        augment.build(a)  # unknown names fail here, before any training
    configs = [Config.baseline()] + [Config(augmentation=a, alpha=alpha, r=r, tau=tau, loss=loss)
                                     for a in augmentations]
    runs = run_configs(ds, configs, seed_list, experiment="compare", results_dir=results_dir,
                       members_per_fit=members_per_fit, device=device, progress=progress, on_fit=on_fit,
                       **settings)
    rows = []
    for i, cfg in enumerate(configs):
        rows.append(_summarise(cfg.label, runs[i * len(seed_list):(i + 1) * len(seed_list)]))
    rows += _baseline_rows(ds, baselines, settings, results_dir)
    units = ds["target"].attrs.get("units", "")
    return {"kind": "comparison", "rows": rows, "mae_unit": units if isinstance(units, str) else ", ".join(units),
            "protocol": _protocol(ds, seed_list, settings, {"alpha": alpha, "r": r, "tau": tau, "loss": loss})}


def best_single(comparison: dict) -> str:
    """The contrastive augmentation with the highest mean R² in a comparison."""
    rows = [row for row in comparison["rows"] if row["name"] not in ("baseline", "ridge", "pls")]
    if not rows:
        raise ValueError("the comparison has no augmentation rows to start a greedy combination from")
    return max(rows, key=lambda row: row["r2_mean"])["name"]


def greedy_combination(
    dataset: xr.Dataset,
    candidates: Sequence[str] = PAPER_AUGMENTATIONS,
    *,
    start: str | None = None,
    comparison: dict | None = None,
    max_size: int = 4,
    seeds: int | Sequence[int] = 5,
    alpha: float = 0.001,
    r: float = 0.03,
    tau: float = 1.0,
    loss: str = "ball",
    results_dir: str | Path | None = None,
    members_per_fit: int | None = None,
    device: str = "cpu",
    progress: bool = True,
    **train: Any,
) -> dict:
    """Table 3/4 protocol: start from the best single augmentation, then at each step add
    the candidate whose combination (one member drawn per batch, the authors' loop)
    gives the highest mean R²; record R² and ΔR² at each step, up to ``max_size``.

    ``start`` defaults to the best of ``comparison`` (run with the same settings when not
    given; stored runs are reused). ΔR² is reported as measured, negative included.
    """
    ds = check_dataset(dataset)
    settings = _train_settings(train)
    seed_list = _seed_list(seeds)
    common = dict(seeds=seed_list, alpha=alpha, r=r, tau=tau, loss=loss, results_dir=results_dir,
                  members_per_fit=members_per_fit, device=device, progress=progress, **settings)
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
    first = known.get(start) or compare_augmentations(ds, [start], baselines=(), **common)["rows"][1]
    rows = [{"augmentations": list(chosen), "r2_mean": first["r2_mean"], "r2_std": first["r2_std"],
             "delta_r2": None}]
    steps = []
    while len(chosen) < max_size:
        options = ["+".join(chosen + [c]) for c in candidates if c not in chosen]
        step = compare_augmentations(ds, options, baselines=(), **common)
        steps.append([{k: row[k] for k in ("name", "r2_mean", "r2_std", "mae_mean")} for row in step["rows"][1:]])
        best = max(step["rows"][1:], key=lambda row: row["r2_mean"])
        chosen = best["name"].split("+")
        rows.append({"augmentations": list(chosen), "r2_mean": best["r2_mean"], "r2_std": best["r2_std"],
                     "delta_r2": best["r2_mean"] - rows[-1]["r2_mean"]})
    return {"kind": "greedy", "rows": rows, "steps": steps,
            "protocol": _protocol(ds, seed_list, settings, {"alpha": alpha, "r": r, "tau": tau, "loss": loss,
                                                            "start": start})}


def error_distribution(
    dataset: xr.Dataset,
    augmentation: Any = "shift",
    *,
    seeds: int | Sequence[int] = 5,
    alpha: float = 0.001,
    r: float = 0.03,
    tau: float = 1.0,
    loss: str = "ball",
    results_dir: str | Path | None = None,
    device: str = "cpu",
    progress: bool = True,
    **train: Any,
) -> xr.Dataset:
    """Fig. 3's data: test-set prediction errors (prediction − target, data units) of the
    MLP without and with the contrastive term, for the same seeds and split.

    Returns a Dataset with ``error`` (method, seed, test_sample, output), ``target``
    (test_sample, output) and per-method ``mean_error`` / ``mean_abs_error`` (method, output).
    """
    ds = check_dataset(dataset)
    settings = _train_settings(train)
    seed_list = _seed_list(seeds)
    configs = [Config.baseline(), Config(augmentation=augmentation, alpha=alpha, r=r, tau=tau, loss=loss)]
    runs = run_configs(ds, configs, seed_list, experiment="errors", results_dir=results_dir, device=device,
                       progress=progress, keep_predictions=True, **settings)
    split = (np.asarray(settings["split"]["test"]) if settings.get("split") is not None else
             split_indices(ds.sizes["sample"], settings["val_fraction"], settings["test_fraction"],
                           settings["split_seed"])["test"])
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
               **{k: str(v) for k, v in settings.items()}},
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
    seeds: int | Sequence[int] = 3,
    tau: float = 1.0,
    loss: str = "ball",
    results_dir: str | Path | None = None,
    members_per_fit: int | None = None,
    device: str = "cpu",
    progress: bool = True,
    **train: Any,
) -> xr.Dataset:
    """Test R² over a grid of α (eq. 9) and r (eq. 7) for one augmentation, mean and std
    over seeds: ``r2_mean`` / ``r2_std`` (alpha, r). α = 0 is the MLP without the
    contrastive term (then r plays no role and one run per seed serves the whole row)."""
    ds = check_dataset(dataset)
    settings = _train_settings(train)
    seed_list = _seed_list(seeds)
    configs, index = [], {}
    for a in alphas:
        for radius in rs:
            cfg = Config.baseline() if a == 0 else Config(augmentation=augmentation, alpha=a, r=radius, tau=tau,
                                                          loss=loss)
            if cfg not in index:
                index[cfg] = len(configs)
                configs.append(cfg)
    runs = run_configs(ds, configs, seed_list, experiment="sweep", results_dir=results_dir,
                       members_per_fit=members_per_fit, device=device, progress=progress, **settings)
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
               **{k: str(v) for k, v in settings.items()}},
    )


def write_json(result: dict, path: str | Path, **extra: Any) -> Path:
    """Write an experiment's result (plus ``extra`` fields, e.g. ``target="table1"``) as JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_jsonable({**extra, **result}), indent=1))
    return path
