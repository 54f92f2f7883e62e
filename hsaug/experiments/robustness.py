"""Robustness, beyond the paper: train on clean spectra, test under swept nuisances
(:mod:`hsaug.nuisances`) and training-set sizes; statistics in :mod:`hsaug.stats`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import xarray as xr

from ..baselines import fit_baselines
from ..config import Config, TrainSettings
from ..metrics import mae, r2_score
from ..nuisances import get as get_nuisance
from ..nuisances import missing_requirement, perturb
from ..nuisances import names as nuisance_names
from ..splits import TRAIN_SIZES, robustness_splits
from ..store import ResultStore, jsonable
from .runner import dataset_fingerprint, protocol_inputs, run_configs

__all__ = ["ROBUSTNESS_LOSSES", "robustness", "robustness_methods", "robustness_method_name",
           "robustness_main_methods"]

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
    ds, settings = protocol_inputs(dataset, settings)
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
            # through the model's fitted preprocessing and output constraint (the old numbers with "none")
            pred = np.stack([result.predict(x, members=idx) for x in perturbed(seed)], axis=1)  # (members, C, N, s)
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
        attrs={"protocol": json.dumps(jsonable(protocol)), "skipped": json.dumps(skipped),
               "notes": json.dumps(notes)},
    )
