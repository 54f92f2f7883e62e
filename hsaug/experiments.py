"""The paper's experiments: augmentation comparison (Tables 1–2), greedy combination
(Tables 3–4), error distributions (Fig. 3), an α × r sweep for when the gains do not show,
and a robustness protocol: train on clean spectra, test under swept nuisances
(:mod:`hsaug.nuisances`) and training-set sizes.

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

import torch

from . import augment
from .nuisances import get as get_nuisance
from .nuisances import missing_requirement, perturb
from .nuisances import names as nuisance_names
from .spectra import check_dataset
from .store import ResultStore, _jsonable, run_key
from .baselines import fit_baselines
from .config import Config, TrainSettings
from .metrics import mae, r2_score
from .splits import TRAIN_SIZES, resolve_split, robustness_splits
from .training import fit

__all__ = [
    "PAPER_AUGMENTATIONS",
    "compare_augmentations",
    "greedy_combination",
    "error_distribution",
    "sweep",
    "robustness",
    "robustness_methods",
    "robustness_method_name",
    "robustness_main_methods",
    "robustness_summary",
    "robustness_effects",
    "run_configs",
    "dataset_fingerprint",
    "write_json",
]

#: The paper's eight augmentations, in Table 1's order.
PAPER_AUGMENTATIONS = ("band_erasure", "band_permutation", "nearest_neighbor", "scattering", "atmospheric",
                       "flip", "elastic", "shift")

def dataset_fingerprint(ds: xr.Dataset) -> str:
    """sha1 (16 hex digits) of a dataset's spectra, targets and wavelengths: results are
    only reused for exactly the same data."""
    h = hashlib.sha1()
    for var in ("spectra", "target", "wavelength"):
        h.update(np.ascontiguousarray(ds[var].values, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


def _prologue(dataset: xr.Dataset, settings: TrainSettings | None) -> tuple[xr.Dataset, TrainSettings]:
    """Every protocol's first step: the checked dataset and the settings (defaults when None)."""
    return check_dataset(dataset), TrainSettings.build(settings)


def run_configs(
    dataset: xr.Dataset,
    configs: Sequence[Config],
    settings: TrainSettings | None = None,
    *,
    experiment: str = "runs",
    results_dir: str | Path | None = None,
    members_per_fit: int | None = None,
    progress: bool = True,
    keep_predictions: bool = False,
    on_fit: Callable[[list[dict]], None] | None = None,
    evaluate: Callable[[Any], list[dict]] | None = None,
    key_extra: dict | None = None,
) -> list[dict]:
    """Train every (configuration, seed) not yet in ``results_dir``; return all runs.

    Each run is ``{"config", "seed", "metrics", "history", "epochs_trained", ...}`` (and
    ``"predictions"`` (N_test, s) with ``keep_predictions``), in the order
    ``[(c, s) for c in configs for s in settings.seeds]``. Missing runs are trained as batched
    ensembles of at most ``members_per_fit`` members (default: all at once). ``on_fit``
    is called with the runs of each finished ensemble, after they are stored.
    ``evaluate(result)``: extra fields for each member of a finished
    :class:`hsaug.results.FitResult` (a list of dicts, members in its order), stored
    with the runs; describe what it computes in ``key_extra`` (added to every run's key),
    so that changing it recomputes rather than reuses.
    ``settings``: how every run trains (:class:`hsaug.config.TrainSettings`; its seeds).
    """
    ds, settings = _prologue(dataset, settings)
    seed_list = list(settings.seeds)
    if members_per_fit is not None and members_per_fit < 1:
        raise ValueError(f"members_per_fit must be a positive number of models; got {members_per_fit!r}")
    store = ResultStore(results_dir, experiment)
    fingerprint = dataset_fingerprint(ds)

    def key(cfg: Config, seed: int) -> dict:
        return {"dataset": fingerprint, "config": cfg.to_dict(), "seed": seed, "train": settings.run_key,
                "predictions": keep_predictions, **({"extra": key_extra} if key_extra else {})}

    # every run by its key: stored ones read once, the rest trained below
    runs: dict[str, dict | None] = {}
    for c in configs:
        for s in seed_list:
            runs[run_key(key(c, s))] = store.get(key(c, s), required=("metrics",))
    todo = [(c, s) for c in configs for s in seed_list if runs[run_key(key(c, s))] is None]
    reused = len(configs) * len(seed_list) - len(todo)
    if reused and progress:
        print(f"{experiment}: {reused} of {reused + len(todo)} runs reused from {store.folder}; "
              f"{len(todo)} to train", flush=True)
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
            result = fit(ds, configs=group_cfgs, settings=settings.replace(seeds=group_seeds), progress=progress)
            extra = evaluate(result) if evaluate is not None else [{}] * result.n_members
            for m in range(result.n_members):
                run = result.member_dict(m, predictions=keep_predictions)
                run.update(extra[m])
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
    baselines: Sequence[str] = ("ridge", "pls"),
    results_dir: str | Path | None = None,
    members_per_fit: int | None = None,
    progress: bool = True,
    on_fit: Callable[[list[dict]], None] | None = None,
) -> dict:
    """Table 1/2 protocol: the MLP without contrastive loss, then MSE + α·contrastive with
    each augmentation; mean ± std over seeds of test R² and MAE (data units), plus ridge
    and PLS on the same split. All (configuration, seed) runs train as one batched
    ensemble unless ``members_per_fit`` cuts it into smaller, separately stored ones;
    ``on_fit(runs)`` is called after each ensemble is stored.
    """
    ds, settings = _prologue(dataset, settings)
    seed_list = list(settings.seeds)
    for a in augmentations:
        augment.build(a)  # unknown names fail here, before any training
    configs = [Config.baseline()] + [Config(augmentation=a, alpha=alpha, r=r, tau=tau, loss=loss)
                                     for a in augmentations]
    runs = run_configs(ds, configs, settings, experiment="compare", results_dir=results_dir,
                       members_per_fit=members_per_fit, progress=progress, on_fit=on_fit)
    rows = []
    for i, cfg in enumerate(configs):
        rows.append(_summarise(cfg.label, runs[i * len(seed_list):(i + 1) * len(seed_list)]))
    rows += _baseline_rows(ds, baselines, settings, results_dir)
    units = ds["target"].attrs.get("units", "")
    return {"kind": "comparison", "rows": rows, "mae_unit": units if isinstance(units, str) else ", ".join(units),
            "protocol": _protocol(ds, settings, {"alpha": alpha, "r": r, "tau": tau, "loss": loss})}


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
    settings: TrainSettings | None = None,
    alpha: float = 0.001,
    r: float = 0.03,
    tau: float = 1.0,
    loss: str = "ball",
    results_dir: str | Path | None = None,
    members_per_fit: int | None = None,
    progress: bool = True,
) -> dict:
    """Table 3/4 protocol: start from the best single augmentation, then at each step add
    the candidate whose combination (one member drawn per batch, the authors' loop)
    gives the highest mean R²; record R² and ΔR² at each step, up to ``max_size``.

    ``start`` defaults to the best of ``comparison`` (run with the same settings when not
    given; stored runs are reused). ΔR² is reported as measured, negative included.
    """
    ds, settings = _prologue(dataset, settings)
    seed_list = list(settings.seeds)
    common = dict(settings=settings, alpha=alpha, r=r, tau=tau, loss=loss, results_dir=results_dir,
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
            "protocol": _protocol(ds, settings, {"alpha": alpha, "r": r, "tau": tau, "loss": loss,
                                                            "start": start})}


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
    ds, settings = _prologue(dataset, settings)
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
    ds, settings = _prologue(dataset, settings)
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


def write_json(result: dict, path: str | Path, **extra: Any) -> Path:
    """Write an experiment's result (plus ``extra`` fields, e.g. ``target="table1"``) as JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_jsonable({**extra, **result}), indent=1))
    return path


# -- robustness: train clean, test under nuisances ---------------------------------------------------
#: Contrastive losses the robustness protocol compares at the authors' α and r.
ROBUSTNESS_LOSSES = ("ball", "supcon", "bce", "rnc")


def robustness_method_name(loss: str, alpha: float, r: float) -> str:
    """The name :func:`robustness_methods` gives a contrastive method, e.g. ``"ball α=0.001 r=0.03"``."""
    return f"{loss} α={alpha:g} r={r:g}"


def robustness_methods(
    augmentation: Any = "shift+atmospheric+scattering",
    *,
    alpha: float = 0.001,
    r: float = 0.03,
    tau: float = 1.0,
    losses: Sequence[str] = ROBUSTNESS_LOSSES,
    alphas: Sequence[float] = (0.01, 0.1, 1.0),
    rs: Sequence[float] = (0.3,),
) -> list[Config]:
    """The MLP methods of :func:`robustness`, as named configurations: ``mlp`` (MSE only),
    ``mlp + aug`` (MSE on the batch and on its augmented views, no contrastive term), each
    of ``losses`` at (``alpha``, ``r``) (named e.g. ``"ball α=0.001 r=0.03"``), and the ball
    loss at every other (α, r) of ``(alpha, *alphas)`` × ``(r, *rs)``. ``augmentation``:
    what :class:`hsaug.config.Config` accepts ("a+b": one drawn per batch)."""
    def named(loss: str, a: float, radius: float) -> Config:
        return Config(augmentation, alpha=a, r=radius, tau=tau, loss=loss,
                      name=robustness_method_name(loss, a, radius))

    out = [Config.baseline("mlp"), Config(augmentation, alpha=0.0, mse_on_views=True, name="mlp + aug")]
    out += [named(loss, alpha, r) for loss in losses]
    out += [named("ball", a, radius) for a in dict.fromkeys((alpha, *alphas)) for radius in dict.fromkeys((r, *rs))
            if (a, radius) != (alpha, r)]
    return out


def robustness_main_methods(result: xr.Dataset, *, alpha: float = 0.001, r: float = 0.03,
                            also: Sequence[str] = ()) -> list[str]:
    """The methods of a :func:`robustness` result worth one curve each: all but the ball
    loss's α × r grid, of which only (``alpha``, ``r``) and the names in ``also`` stay."""
    keep = {robustness_method_name("ball", alpha, r), *also}
    return [m for m in map(str, result["method"].values) if not m.startswith("ball α=") or m in keep]


def _cell_scores(y: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """R² and MAE (..., C) of predictions (..., C, N, s) against targets (N, s)."""
    return np.asarray(r2_score(y, pred), dtype=np.float64), np.asarray(mae(y, pred), dtype=np.float64)


def _robustness_cells(ds: xr.Dataset, nuisances: Sequence[str] | None, strengths: dict | None
                      ) -> tuple[list[tuple[str, float]], dict[str, str]]:
    """The test cells [("clean", 0), (nuisance, strength), …] and the nuisances skipped
    on these data, with why."""
    chosen = nuisance_names() if nuisances is None else list(nuisances)
    sweeps = dict(strengths or {})
    unknown = set(sweeps) - set(chosen)
    if unknown:
        raise ValueError(f"strengths given for nuisances not run: {sorted(unknown)}; running {chosen}")
    skipped = {}
    cells: list[tuple[str, float]] = [("clean", 0.0)]
    for name in chosen:
        nuisance = get_nuisance(name)  # raises for unknown names
        reason = missing_requirement(ds, name)
        if reason:
            skipped[name] = reason
            continue
        values = [float(v) for v in sweeps.get(name, nuisance.strengths)]
        bad = [v for v in values if not nuisance.low <= v <= nuisance.high]
        if not values or bad:
            raise ValueError(f"strengths of {name} must be numbers in [{nuisance.low:g}, {nuisance.high:g}] "
                             f"{nuisance.unit}; got {values!r}")
        cells += [(name, v) for v in values]
    return cells, skipped


def robustness(
    dataset: xr.Dataset,
    *,
    nuisances: Sequence[str] | None = None,
    strengths: dict[str, Sequence[float]] | None = None,
    methods: Sequence[Config] | None = None,
    linear: Sequence[str] = ("ridge", "pls"),
    train_sizes: Sequence[int | None] = TRAIN_SIZES,
    settings: TrainSettings | None = None,
    results_dir: str | Path | None = None,
    members_per_fit: int | None = None,
    progress: bool = True,
) -> xr.Dataset:
    """Train on clean spectra; score every model on the test part under each nuisance of
    :mod:`hsaug.nuisances` at each strength, for every training-set size and seed.

    ``nuisances``: names (default all); those the data cannot support (physics on
    non-reflectance, endmember variability without a scene) are skipped and listed in
    ``attrs["skipped"]``. ``strengths``: per nuisance, the sweep (default its own).
    ``methods``: named :class:`hsaug.config.Config` s (default
    :func:`robustness_methods`); ``linear``: ridge / PLS from
    :func:`hsaug.baselines.fit_baselines`. ``train_sizes``: see :func:`robustness_splits`;
    sizes above the training part are dropped (listed in ``attrs["notes"]``).
    Every method sees the same splits, seeds and perturbed test spectra: seed ``s`` fixes
    the model's initialisation, order and augmentation and the nuisances' random draws.
    Finished runs are stored in ``results_dir`` and reused (see :func:`run_configs`).

    Returns a Dataset with ``r2`` and ``mae`` (method, train_size, seed, cell): cell 0 is
    the clean test set (``nuisance="clean"``), then one cell per (nuisance, strength),
    named by the ``nuisance`` and ``strength`` coordinates. :func:`robustness_summary`
    turns it into means and 95 % intervals.
    """
    ds, settings = _prologue(dataset, settings)
    seed_list = list(settings.seeds)
    cells, skipped = _robustness_cells(ds, nuisances, strengths)
    configs = robustness_methods() if methods is None else [c if isinstance(c, Config) else Config(**c)
                                                             for c in methods]
    labels = [c.label for c in configs] + list(linear)
    if len(set(labels)) != len(labels):
        raise ValueError(f"methods must have distinct names (Config(name=...)); got {labels}")
    if isinstance(linear, str) or any(m not in ("ridge", "pls") for m in linear):
        raise ValueError(f"linear must be a list drawn from ['ridge', 'pls']; got {linear!r}")

    split_args = {k: getattr(settings, k) for k in ("split", "val_fraction", "test_fraction", "split_seed")}
    available = next(iter(robustness_splits(ds.sizes["sample"], [None], **split_args)))
    notes = []
    sizes = [s for s in train_sizes if s is None or int(s) <= available]
    if not sizes:
        raise ValueError(f"train_sizes must include None or a size up to the {available} training spectra; "
                         f"got {list(train_sizes)}")
    if len(sizes) < len(train_sizes):
        notes.append(f"training sizes above the {available} training spectra dropped: "
                     f"{[s for s in train_sizes if s not in sizes]}")
    splits = robustness_splits(ds.sizes["sample"], sizes, **split_args)
    test_rows = next(iter(splits.values()))["test"]
    if test_rows.size < 2:
        raise ValueError(f"the test part must hold at least 2 spectra; got {test_rows.size}")
    y_test = ds["target"].values[test_rows].astype(np.float64)
    fingerprint = dataset_fingerprint(ds)

    test_sets: dict[int, torch.Tensor] = {}

    def perturbed(seed: int) -> torch.Tensor:
        """The test spectra under every cell, (C, N_test, B), for one seed (built once)."""
        if seed not in test_sets:
            clean = torch.as_tensor(ds["spectra"].values[test_rows], dtype=torch.float32)
            test_sets[seed] = torch.stack([clean if n == "clean" else perturb(ds, n, v, test_rows, seed=seed)
                                           for n, v in cells])
        return test_sets[seed]

    def evaluate(result: Any) -> list[dict]:
        out: list[dict] = [{} for _ in range(result.n_members)]
        for seed in dict.fromkeys(result.seeds):
            idx = [m for m in range(result.n_members) if result.seeds[m] == seed]
            model = result.model.select(idx)
            dev = model.weights[0].device
            with torch.no_grad():
                pred = torch.stack([result.scaling.inverse(model.predict(x.to(dev)).cpu()) for x in perturbed(seed)],
                                   dim=1).numpy()  # (members, C, N, s)
            r2, err = _cell_scores(y_test, pred)
            for j, m in enumerate(idx):
                out[m] = {"robustness": {"r2": r2[j].tolist(), "mae": err[j].tolist()}}
        return out

    shape = (len(labels), len(splits), len(seed_list), len(cells))
    r2, err = np.full(shape, np.nan), np.full(shape, np.nan)
    key_extra = {"robustness_cells": [[n, v] for n, v in cells]}
    linear_store = ResultStore(results_dir, "robustness_linear")
    for k, (size, split) in enumerate(splits.items()):
        runs = run_configs(ds, configs, settings.replace(split=split), experiment="robustness",
                           results_dir=results_dir, members_per_fit=members_per_fit, progress=progress,
                           evaluate=evaluate, key_extra=key_extra)
        for i, run in enumerate(runs):
            c, j = divmod(i, len(seed_list))
            r2[c, k, j], err[c, k, j] = run["robustness"]["r2"], run["robustness"]["mae"]
        if linear:
            key = {"dataset": fingerprint, "methods": list(linear), "split": split, "seeds": seed_list, **key_extra}
            stored = linear_store.get(key)
            if stored is None:
                fitted = fit_baselines(ds, methods=linear, split=split)
                stored = {}
                for method, res in fitted.items():
                    scores = [_cell_scores(y_test, res["estimator"].predict(
                        perturbed(seed).reshape(-1, ds.sizes["wavelength"]).double().numpy()
                    ).reshape(len(cells), test_rows.size, -1)) for seed in seed_list]
                    stored[method] = {"params": res["params"], "r2": [s[0].tolist() for s in scores],
                                      "mae": [s[1].tolist() for s in scores]}
                linear_store.put(key, stored)
            for i, method in enumerate(linear):
                r2[len(configs) + i, k], err[len(configs) + i, k] = stored[method]["r2"], stored[method]["mae"]

    protocol = {**{k: v for k, v in settings.run_key.items() if k != "split"}, "seeds": seed_list,
                "n_test": int(test_rows.size), "dataset": fingerprint,
                "methods": {c.label: c.to_dict() for c in configs}}
    return xr.Dataset(
        {"r2": (("method", "train_size", "seed", "cell"), r2), "mae": (("method", "train_size", "seed", "cell"), err)},
        coords={"method": labels, "train_size": list(splits), "seed": seed_list, "cell": np.arange(len(cells)),
                "nuisance": ("cell", [n for n, _ in cells]), "strength": ("cell", [v for _, v in cells]),
                "unit": ("cell", ["" if n == "clean" else get_nuisance(n).unit for n, _ in cells])},
        attrs={"protocol": json.dumps(_jsonable(protocol)), "skipped": json.dumps(skipped),
               "notes": json.dumps(notes)},
    )


def _t_half_width(values: np.ndarray, confidence: float) -> np.ndarray:
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
    mean, half = diff.mean(-1), _t_half_width(diff, confidence)
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
    mean, half = r2.mean(-1), _t_half_width(r2, confidence)
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
