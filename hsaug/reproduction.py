"""The paper's targets as one call each: which data, which protocol, which settings, and
where the result goes. Notebooks 04–06 and ``hsaug reproduce`` call these.

* ``table1`` / ``table3``: the comparison and greedy protocols on synthetic scenes, one
  section per preset (``"paper"``: 4 random USGS endmembers at 20 dB, as the paper
  describes; ``"hard"``: 4 similar endmembers at 10 dB, where the paper's baseline R² of
  0.55 is reached) — or on a user's dataset file.
* ``fig3``: the error distributions without / with the contrastive term.
* ``sweep``: test R² over α × r (one augmentation, each preset) — what the contrastive
  term does when the paper's gains do not show at its α and r.
* ``table2`` / ``table4``: the same protocols on real soil spectra (the bundled LimeSoDa
  stand-in, or a user's file).
* ``robustness``: beyond the paper, train on clean spectra and test under swept nuisances
  and training-set sizes (:func:`hsaug.experiments.robustness`), on a synthetic preset or
  a user's file.

``quick=True`` shrinks everything (30 × 30 scenes, 10 epochs, 2 seeds) so a target runs in
well under two minutes on a laptop CPU; the numbers are then a smoke test, not a result.
Runs are stored under ``output_dir/runs`` and reused (see :mod:`hsaug.experiments`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import xarray as xr

from . import experiments, synthetic
from .splits import fold_split

__all__ = ["SETTINGS", "REAL_SETTINGS", "settings", "load_data", "synthetic_datasets", "reproduce_table",
           "reproduce_fig3", "reproduce_real", "PHYSICS", "ROBUSTNESS_SETTINGS",
           "reproduce_robustness", "robustness_augmentation", "reproduce_sweep", "SWEEP_GRID"]

#: Full and quick protocol settings for the synthetic targets.
SETTINGS = {
    "full": {"n_rows": 100, "n_cols": 100, "epochs": 100, "seeds": 5},
    "quick": {"n_rows": 30, "n_cols": 30, "epochs": 10, "seeds": 2},
}


#: Real-data settings: the paper trained 1000 epochs on its soil data; quick is a smoke test.
REAL_SETTINGS = {
    "full": {"epochs": 1000, "seeds": 5},
    "quick": {"epochs": 20, "seeds": 2},
}
#: Augmentations defined on reflectance only (see docs/data.md, "Quantity rules").
PHYSICS = ("scattering", "atmospheric")

#: Robustness protocol settings (``train_sizes``: None = the whole training part).
ROBUSTNESS_SETTINGS = {
    "full": {"n_rows": 100, "n_cols": 100, "epochs": 100, "seeds": 5, "train_sizes": (100, 300, 1000, 3000, None)},
    "quick": {"n_rows": 30, "n_cols": 30, "epochs": 10, "seeds": 2, "train_sizes": (100, None)},
}


def settings(quick: bool = False, *, seeds: int | None = None, epochs: int | None = None) -> dict:
    """The protocol settings, with ``seeds`` / ``epochs`` overriding the preset's."""
    out = dict(SETTINGS["quick" if quick else "full"])
    if seeds is not None:
        out["seeds"] = int(seeds)
    if epochs is not None:
        out["epochs"] = int(epochs)
    return out


def load_data(data: str | Path | xr.Dataset | None = None, *, preset: str = "paper", n_rows: int = 100,
              n_cols: int = 100, quick: bool = False, seed: int = 0) -> xr.Dataset:
    """The dataset a notebook trains on: ``data`` (a Dataset, or a file any reader of
    :func:`hsaug.datasets.read_dataset` accepts) or else a synthetic scene of ``preset``
    (``n_rows`` × ``n_cols``, or the quick size)."""
    if data is not None:
        (_, ds), = _datasets(data, [], quick).items()
        return ds
    if quick:
        n_rows, n_cols = SETTINGS["quick"]["n_rows"], SETTINGS["quick"]["n_cols"]
    return synthetic.make_scene(preset, n_rows=n_rows, n_cols=n_cols, seed=seed)


def synthetic_datasets(presets: list[str], *, quick: bool = False, seed: int = 0) -> dict[str, xr.Dataset]:
    """One scene per preset, sized for the quick or full protocol."""
    s = settings(quick)
    return {p: synthetic.make_scene(p, n_rows=s["n_rows"], n_cols=s["n_cols"], seed=seed) for p in presets}


def _datasets(data: str | Path | xr.Dataset | None, presets: list[str], quick: bool) -> dict[str, xr.Dataset]:
    if data is None:
        return synthetic_datasets(presets, quick=quick)
    if isinstance(data, xr.Dataset):
        return {"dataset": data}
    from .datasets import read_dataset

    return {Path(data).name: read_dataset(data)}


def reproduce_table(
    target: str,
    *,
    presets: list[str] = ("paper", "hard"),
    data: str | Path | xr.Dataset | None = None,
    quick: bool = False,
    seeds: int | None = None,
    epochs: int | None = None,
    device: str = "cpu",
    output_dir: str | Path = "results",
    progress: bool = True,
    **protocol: Any,
) -> dict:
    """Run Table 1 (``"table1"``, comparison) or Table 3 (``"table3"``, greedy combination)
    on each preset's scene (or on ``data``: a path any reader accepts, or a Dataset), write
    ``output_dir/<target>.json`` and return it. ``protocol``: α, r, τ, loss, … passed to
    :func:`hsaug.experiments.compare_augmentations` / :func:`~hsaug.experiments.greedy_combination`.
    """
    if target not in ("table1", "table3"):
        raise ValueError(f"target must be 'table1' or 'table3'; got {target!r}")
    s = settings(quick, seeds=seeds, epochs=epochs)
    out = Path(output_dir)
    common = dict(seeds=s["seeds"], epochs=s["epochs"], device=device, progress=progress,
                  results_dir=out / "runs", **protocol)
    sections = []
    for name, ds in _datasets(data, list(presets), quick).items():
        comparison = experiments.compare_augmentations(ds, **common)
        if target == "table1":
            section = comparison
        else:
            section = experiments.greedy_combination(ds, comparison=comparison, **common)
        section["subtitle"] = f"{name} preset" if data is None else name
        if data is None:
            section["dataset"] = {k: ds.attrs[k] for k in ("preset", "snr_db", "endmember_names", "mixing")
                                  if k in ds.attrs}
        sections.append(section)
    result = {"target": target, "quick": quick, "sections": sections}
    experiments.write_json(result, out / f"{target}.json")
    return result


#: The α × r grid of the sweep target (α = 0 is the MLP without the contrastive term).
SWEEP_GRID = {"alphas": (0.0, 0.001, 0.01, 0.1, 1.0), "rs": (0.01, 0.03, 0.1, 0.3)}


def reproduce_sweep(
    *,
    presets: list[str] = ("paper", "hard"),
    data: str | Path | xr.Dataset | None = None,
    augmentation: str = "shift",
    alphas: tuple[float, ...] = SWEEP_GRID["alphas"],
    rs: tuple[float, ...] = SWEEP_GRID["rs"],
    quick: bool = False,
    seeds: int | None = None,
    epochs: int | None = None,
    device: str = "cpu",
    output_dir: str | Path = "results",
    progress: bool = True,
    **protocol: Any,
) -> dict[str, xr.Dataset]:
    """Test R² over ``alphas`` × ``rs`` with ``augmentation`` on each preset's scene (or on
    ``data``), via :func:`hsaug.experiments.sweep`; seeds default to 3 (2 when quick).
    Writes ``output_dir/sweep-<name>.nc`` and one markdown table per scene in
    ``output_dir/sweep.md``; returns ``{name: Dataset}``."""
    s = settings(quick, seeds=seeds if seeds is not None else (None if quick else 3), epochs=epochs)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    results, lines = {}, []
    for name, ds in _datasets(data, list(presets), quick).items():
        res = experiments.sweep(ds, augmentation, alphas=alphas, rs=rs, seeds=s["seeds"], epochs=s["epochs"],
                                device=device, progress=progress, results_dir=out / "runs", **protocol)
        res.attrs["dataset"] = f"{name} preset" if data is None else name
        res.to_netcdf(out / f"sweep-{name}.nc")
        results[name] = res
        lines += [f"### Test R² over α × r, {augmentation}, {res.attrs['dataset']} "
                  f"({s['seeds']} seeds, {s['epochs']} epochs; α = 0: no contrastive term)", "",
                  "| α \\ r | " + " | ".join(f"{r:g}" for r in res["r"].values) + " |",
                  "|---|" + "---|" * res.sizes["r"]]
        for i, a in enumerate(res["alpha"].values):
            lines.append(f"| {a:g} | " + " | ".join(f"{res['r2_mean'].values[i, j]:.3f} ± {res['r2_std'].values[i, j]:.3f}"
                                                   for j in range(res.sizes["r"])) + " |")
        lines.append("")
    (out / "sweep.md").write_text("\n".join(lines))
    return results


def reproduce_fig3(
    *,
    preset: str = "paper",
    augmentation: str = "shift",
    data: str | Path | xr.Dataset | None = None,
    quick: bool = False,
    seeds: int | None = None,
    epochs: int | None = None,
    device: str = "cpu",
    output_dir: str | Path = "results",
    progress: bool = True,
    **protocol: Any,
) -> xr.Dataset:
    """Fig. 3's error distributions on one scene (or ``data``); writes ``output_dir/fig3.nc``
    and a summary ``output_dir/fig3.json`` (mean and mean absolute error per method)."""
    s = settings(quick, seeds=seeds, epochs=epochs)
    (name, ds), = _datasets(data, [preset], quick).items()
    errors = experiments.error_distribution(ds, augmentation, seeds=s["seeds"], epochs=s["epochs"], device=device,
                                            progress=progress, results_dir=Path(output_dir) / "runs", **protocol)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    errors.to_netcdf(out / "fig3.nc", engine="h5netcdf")
    summary = {"target": "fig3", "dataset": name, "augmentation": augmentation, "quick": quick,
               "methods": [str(m) for m in errors["method"].values],
               "mean_error": errors["mean_error"].values.tolist(),
               "mean_abs_error": errors["mean_abs_error"].values.tolist(),
               "outputs": [str(o) for o in errors["output"].values]}
    experiments.write_json(summary, out / "fig3.json")
    return errors


def reproduce_real(
    target: str,
    *,
    data: str | Path | xr.Dataset | None = None,
    soil_target: str = "SOC",
    band_range: tuple[float, float] | None = (1130.0, 2450.0),
    augmentations: tuple[str, ...] | None = None,
    quick: bool = False,
    seeds: int | None = None,
    epochs: int | None = None,
    device: str = "cpu",
    output_dir: str | Path = "results",
    progress: bool = True,
    **protocol: Any,
) -> dict:
    """Table 2 (``"table2"``, comparison) or Table 4 (``"table4"``, greedy) on real spectra.

    ``data``: a file any reader accepts, or a Dataset; default the bundled LimeSoDa
    SSP.460 soil spectra (``soil_target``: "SOC", "pH" or "Clay"), cropped to
    ``band_range`` [nm] (the paper's sensor covered 1130–2450 nm; a user's ``data`` is
    used as given). Spectra are converted
    to reflectance where that is exact (percent, absorbance); where it is not, the
    physics augmentations (scattering, atmospheric) are left out and the result says why.
    Data with predefined ``folds`` are split by them (test fold 1, validation fold 2).
    Writes ``output_dir/<target>.json``.
    """
    from . import datasets

    if target not in ("table2", "table4"):
        raise ValueError(f"target must be 'table2' or 'table4'; got {target!r}")
    s = dict(REAL_SETTINGS["quick" if quick else "full"])
    s.update({k: int(v) for k, v in (("seeds", seeds), ("epochs", epochs)) if v is not None})
    if data is None:
        ds, name = datasets.load_soil(target=soil_target, band_range=band_range), "LimeSoDa SSP.460"
    else:
        (name, ds), = _datasets(data, [], quick).items()
    augs = list(augmentations or experiments.PAPER_AUGMENTATIONS)
    notes = []
    try:
        ds = datasets.to_reflectance(ds)
    except ValueError as err:
        left_out = [a for a in augs if a in PHYSICS]
        augs = [a for a in augs if a not in PHYSICS]
        notes.append(f"left out {left_out}: {err}")
    split = fold_split(ds)
    common = dict(seeds=s["seeds"], epochs=s["epochs"], device=device, progress=progress,
                  results_dir=Path(output_dir) / "runs", split=split, **protocol)
    comparison = experiments.compare_augmentations(ds, augs, **common)
    if target == "table2":
        section = comparison
    else:
        section = experiments.greedy_combination(ds, augs, comparison=comparison, **common)
    section["subtitle"] = name
    section["dataset"] = {k: str(ds.attrs[k]) for k in ("title", "quantity", "source", "licence") if k in ds.attrs}
    section["notes"] = notes + ([f"split by predefined folds: test fold 1 ({len(split['test'])} samples), "
                                 f"validation fold 2, training the rest"] if split else [])
    result = {"target": target, "quick": quick, "sections": [section]}
    experiments.write_json(result, Path(output_dir) / f"{target}.json")
    return result


def robustness_augmentation(reflectance: bool) -> str:
    """The augmentation set the robustness protocol trains with: one of shift, atmospheric
    and scattering drawn per batch (the nuisances they mirror), shift alone when the
    spectra are not reflectance."""
    return "shift+atmospheric+scattering" if reflectance else "shift"


def reproduce_robustness(
    *,
    data: str | Path | xr.Dataset | None = None,
    preset: str = "paper",
    augmentation: str | None = None,
    quick: bool = False,
    seeds: int | None = None,
    epochs: int | None = None,
    train_sizes: tuple | None = None,
    device: str = "cpu",
    output_dir: str | Path = "results",
    progress: bool = True,
    **protocol: Any,
) -> xr.Dataset:
    """The robustness protocol on a synthetic ``preset`` scene or on ``data`` (a file any
    reader accepts, or a Dataset). Spectra are converted to reflectance where that is exact;
    where not, the nuisances that need it are skipped (``attrs["skipped"]`` says why).
    ``augmentation`` defaults to :func:`robustness_augmentation`. ``protocol``: keyword
    arguments of :func:`hsaug.experiments.robustness` and :func:`~hsaug.experiments.robustness_methods`
    (α, r, τ, losses, alphas, rs, nuisances, strengths, …). Writes
    ``output_dir/robustness.nc`` and ``output_dir/robustness.md``; returns the Dataset.
    """
    from . import datasets, report

    s = dict(ROBUSTNESS_SETTINGS["quick" if quick else "full"])
    s.update({k: int(v) for k, v in (("seeds", seeds), ("epochs", epochs)) if v is not None})
    if train_sizes is not None:
        s["train_sizes"] = tuple(train_sizes)
    if data is None:
        ds, name = synthetic.make_scene(preset, n_rows=s["n_rows"], n_cols=s["n_cols"]), f"{preset} preset"
    else:
        (name, ds), = _datasets(data, [], quick).items()
    notes = []
    try:
        ds = datasets.to_reflectance(ds)
        reflectance = True
    except ValueError as err:
        reflectance = False
        notes.append(f"spectra kept as {ds.attrs.get('quantity', 'unknown')}: {err}")
    aug = augmentation or robustness_augmentation(reflectance)
    method_keys = ("alpha", "r", "tau", "losses", "alphas", "rs")
    methods = experiments.robustness_methods(aug, **{k: protocol.pop(k) for k in method_keys if k in protocol})
    split = fold_split(ds) if data is not None else None
    result = experiments.robustness(ds, methods=methods, train_sizes=s["train_sizes"], seeds=s["seeds"],
                                    epochs=s["epochs"], device=device, progress=progress,
                                    results_dir=Path(output_dir) / "runs", split=split, **protocol)
    result.attrs.update({"dataset": name, "augmentation": aug, "quick": int(quick),
                         "notes": json.dumps(json.loads(result.attrs["notes"]) + notes)})
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    result.to_netcdf(out / "robustness.nc")
    (out / "robustness.md").write_text(report.robustness_markdown(result))
    return result
