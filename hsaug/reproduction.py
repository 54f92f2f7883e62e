"""The paper's targets as one call each: which data, which protocol, which settings, and
where the result goes. Notebooks 04–06 and ``hsaug reproduce`` call these.

* ``table1`` / ``table3``: the comparison and greedy protocols on synthetic scenes, one
  section per preset (``"paper"``: 4 random USGS endmembers at 20 dB, as the paper
  describes; ``"hard"``: 4 similar endmembers at 10 dB, where the paper's baseline R² of
  0.55 is reached) — or on a user's dataset file.
* ``fig3``: the error distributions without / with the contrastive term.
* ``table2`` / ``table4``: the same protocols on real soil spectra (the bundled LimeSoDa
  stand-in, or a user's file).

``quick=True`` shrinks everything (30 × 30 scenes, 10 epochs, 2 seeds) so a target runs in
well under two minutes on a laptop CPU; the numbers are then a smoke test, not a result.
Runs are stored under ``output_dir/runs`` and reused (see :mod:`hsaug.experiments`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import xarray as xr

from . import experiments, synthetic

__all__ = ["SETTINGS", "settings", "load_data", "synthetic_datasets", "reproduce_table", "reproduce_fig3"]

#: Full and quick protocol settings for the synthetic targets.
SETTINGS = {
    "full": {"n_rows": 100, "n_cols": 100, "epochs": 100, "seeds": 5},
    "quick": {"n_rows": 30, "n_cols": 30, "epochs": 10, "seeds": 2},
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
