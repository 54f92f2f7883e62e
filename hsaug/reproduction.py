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
Runs are stored under ``output_dir/runs`` and reused (see :mod:`hsaug.experiments`); with
``scheduler=`` (a dask.distributed address or Client) every target trains its member groups
there as tasks writing to that store, with the numbers of a run here. ``reader=``: keyword
arguments of :func:`hsaug.readers.read_dataset` for a ``data`` file (target, quantity, …).
Every method sees the data as declared; the notes of a result list every conversion made.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import xarray as xr

from . import experiments, report, synthetic
from .config import TrainSettings
from .splits import TRAIN_SIZES, fold_split

__all__ = ["PROTOCOLS", "TARGET_PROTOCOL", "SCENE", "ROBUSTNESS_TRAIN_SIZES", "train_settings", "load_data",
           "synthetic_datasets", "reproduce_table", "reproduce_fig3", "reproduce_real", "PHYSICS",
           "reproduce_robustness", "robustness_augmentation", "reproduce_sweep", "SWEEP_GRID", "physics_plan"]

#: Epochs and seeds of each protocol, full and quick (a smoke test). The paper trained 100
#: epochs on its synthetic scenes and 1000 on its soil data, 5 seeds; the sweep uses 3.
PROTOCOLS = {
    "synthetic": {"full": {"epochs": 100, "seeds": 5}, "quick": {"epochs": 10, "seeds": 2}},
    "sweep": {"full": {"epochs": 100, "seeds": 3}, "quick": {"epochs": 10, "seeds": 2}},
    "real": {"full": {"epochs": 1000, "seeds": 5}, "quick": {"epochs": 20, "seeds": 2}},
    "robustness": {"full": {"epochs": 100, "seeds": 5}, "quick": {"epochs": 10, "seeds": 2}},
}
#: Which protocol each target runs.
TARGET_PROTOCOL = {"table1": "synthetic", "table3": "synthetic", "fig3": "synthetic", "sweep": "sweep",
                   "table2": "real", "table4": "real", "robustness": "robustness"}
#: Synthetic scene size (rows, columns), full and quick.
SCENE = {"full": (100, 100), "quick": (30, 30)}
#: Training-set sizes of the robustness target (None: the whole training part), full and quick.
ROBUSTNESS_TRAIN_SIZES = {"full": TRAIN_SIZES, "quick": (100, None)}
#: The paper's protocol feeds the spectra to the MLP as they are (the authors' code scales no input):
#: every reproduction target trains with this preprocessing unless told otherwise.
PAPER_PREPROCESS = "none"
#: Augmentations defined on reflectance only (see docs/data.md, "Quantity rules").
PHYSICS = ("scattering", "atmospheric")


def train_settings(target: str, quick: bool = False, *, seeds: int | None = None, epochs: int | None = None,
                   device: str = "cpu", **changes: Any) -> TrainSettings:
    """The :class:`~hsaug.config.TrainSettings` of a target (``"table1"`` … ``"robustness"``):
    its protocol's epochs and seeds (:data:`PROTOCOLS`, quick or full) on the paper's protocol
    (:meth:`TrainSettings.paper`: raw inputs, fixed schedule), ``seeds`` (a number
    of seeds) / ``epochs`` / ``device`` / any other field in ``changes`` overriding them.
    Built once, at the edge (a notebook's parameters, the CLI), and passed down unchanged."""
    if target not in TARGET_PROTOCOL:
        raise ValueError(f"target must be one of {list(TARGET_PROTOCOL)}; got {target!r}")
    preset = dict(PROTOCOLS[TARGET_PROTOCOL[target]]["quick" if quick else "full"])
    preset.update({k: v for k, v in (("seeds", seeds), ("epochs", epochs)) if v is not None})
    return TrainSettings.paper(device=device, **{**preset, **changes})


def _settings(target: str, settings: TrainSettings | None, quick: bool) -> TrainSettings:
    if settings is None:
        return train_settings(target, quick)
    if not isinstance(settings, TrainSettings):
        raise ValueError(f"settings must be a hsaug.config.TrainSettings (see train_settings); got "
                         f"{type(settings).__name__}")
    return settings


def load_data(data: str | Path | xr.Dataset | None = None, *, preset: str = "paper", n_rows: int = 100,
              n_cols: int = 100, quick: bool = False, seed: int = 0,
              reader: dict[str, Any] | None = None) -> xr.Dataset:
    """The dataset a notebook trains on: ``data`` (a Dataset, or a file any reader of
    :func:`hsaug.datasets.read_dataset` accepts) or else a synthetic scene of ``preset``
    (``n_rows`` × ``n_cols``, or the quick size)."""
    if data is not None:
        (_, ds), = _datasets(data, [], quick, reader).items()
        return ds
    if quick:
        n_rows, n_cols = SCENE["quick"]
    return synthetic.make_scene(preset, n_rows=n_rows, n_cols=n_cols, seed=seed)


def synthetic_datasets(presets: list[str], *, quick: bool = False, seed: int = 0) -> dict[str, xr.Dataset]:
    """One scene per preset, sized for the quick or full protocol."""
    n_rows, n_cols = SCENE["quick" if quick else "full"]
    return {p: synthetic.make_scene(p, n_rows=n_rows, n_cols=n_cols, seed=seed) for p in presets}


def _datasets(data: str | Path | xr.Dataset | None, presets: list[str], quick: bool,
              reader: dict[str, Any] | None = None) -> dict[str, xr.Dataset]:
    """``{name: Dataset}``: one synthetic scene per preset, or ``data`` (a Dataset, or a file read by
    :func:`hsaug.readers.read_dataset` with the keyword arguments ``reader``: target, quantity,
    reflectance_scale, id_column, wavelength, targets, bands — what the file cannot say itself)."""
    if data is None:
        if reader:
            raise ValueError(f"reader options {sorted(reader)} apply to a data file; got data=None")
        return synthetic_datasets(presets, quick=quick)
    if isinstance(data, xr.Dataset):
        if reader:
            raise ValueError(f"reader options {sorted(reader)} apply to a data file, not to a Dataset")
        return {"dataset": data}
    from .readers import read_dataset

    return {Path(data).name: read_dataset(data, **(reader or {}))}


def _dataset_info(ds: xr.Dataset) -> dict[str, str]:
    """What a section says about a user's data: its title, quantity, source, licence, targets and units."""
    info = {k: str(ds.attrs[k]) for k in ("title", "quantity", "reflectance_scale", "source", "licence")
            if k in ds.attrs}
    info["targets"] = ", ".join(str(o) for o in ds["output"].values) if "output" in ds.coords else ""
    units = ds["target"].attrs.get("units", "") if "target" in ds else ""
    info["units"] = units if isinstance(units, str) else ", ".join(str(u) for u in units)
    return info


def physics_plan(ds: xr.Dataset, augmentations: list[str]) -> tuple[list[str], list[str]]:
    """(the augmentations to train, notes): every method sees the spectra as declared; those containing a
    physics augmentation (:data:`PHYSICS`) get exact reflectance inside training (each conversion is one
    note, :func:`hsaug.training.describe_conversions`), or are left out — with the reason — when the data
    cannot be converted exactly."""
    from .training import describe_conversions

    physics = [a for a in augmentations if any(p in str(a).split("+") for p in PHYSICS)]
    if not physics:
        return list(augmentations), []
    try:
        conversions = describe_conversions(ds, physics)
    except ValueError as err:
        return [a for a in augmentations if a not in physics], [f"left out {physics}: {err}"]
    return list(augmentations), conversions


def _cluster(func):
    """``scheduler=`` (a dask.distributed address or Client; None: here) for a reproduction target: its member
    groups train there as tasks writing to ``output_dir/runs`` (:func:`hsaug.experiments.runner.on_cluster`)."""
    import functools

    from .experiments.runner import on_cluster

    @functools.wraps(func)
    def run(*args: Any, scheduler: Any = None, **kwargs: Any) -> Any:
        with on_cluster(scheduler):
            return func(*args, **kwargs)

    return run


@_cluster
def reproduce_table(
    target: str,
    settings: TrainSettings | None = None,
    *,
    presets: list[str] = ("paper", "hard"),
    data: str | Path | xr.Dataset | None = None,
    quick: bool = False,
    output_dir: str | Path = "results",
    progress: bool = True,
    reader: dict[str, Any] | None = None,
    **protocol: Any,
) -> dict:
    """Run Table 1 (``"table1"``, comparison) or Table 3 (``"table3"``, greedy combination)
    on each preset's scene (or on ``data``: a path any reader accepts, or a Dataset), write
    ``output_dir/<target>.json`` and return it. ``settings``: how models train (default
    :func:`train_settings` of the target; ``quick`` also shrinks the scenes). ``protocol``: α, r, τ, loss, … passed to
    :func:`hsaug.experiments.compare_augmentations` / :func:`~hsaug.experiments.greedy_combination`.
    """
    if target not in ("table1", "table3"):
        raise ValueError(f"target must be 'table1' or 'table3'; got {target!r}")
    settings = _settings(target, settings, quick)
    out = Path(output_dir)
    candidates = list(protocol.pop("augmentations", experiments.PAPER_AUGMENTATIONS))
    common = dict(settings=settings, progress=progress, results_dir=out / "runs", **protocol)
    sections = []
    for name, ds in _datasets(data, list(presets), quick, reader).items():
        augs, notes = physics_plan(ds, candidates)
        comparison = experiments.compare_augmentations(ds, augs, **common)
        if target == "table1":
            section = comparison
        else:
            section = experiments.greedy_combination(ds, augs, comparison=comparison, **common)
        section["subtitle"] = f"{name} preset" if data is None else name
        if data is None:
            section["dataset"] = {k: ds.attrs[k] for k in ("preset", "snr_db", "endmember_names", "mixing")
                                  if k in ds.attrs}
            if notes:
                section["notes"] = notes
        else:  # a user's data: its own title, targets and units; no paper columns beside it
            section.update(title=name, paper=False, dataset=_dataset_info(ds),
                           notes=[f"spectra used as declared ({ds.attrs.get('quantity', 'unknown')}) by every "
                                  "method"] + notes)
        sections.append(section)
    result = {"target": target, "quick": quick, "sections": sections}
    experiments.write_json(result, out / f"{target}.json")
    return result


#: The α × r grid of the sweep target (α = 0 is the MLP without the contrastive term).
SWEEP_GRID = {"alphas": (0.0, 0.001, 0.01, 0.1, 1.0), "rs": (0.01, 0.03, 0.1, 0.3)}


@_cluster
def reproduce_sweep(
    *,
    presets: list[str] = ("paper", "hard"),
    data: str | Path | xr.Dataset | None = None,
    augmentation: str = "shift",
    alphas: tuple[float, ...] = SWEEP_GRID["alphas"],
    rs: tuple[float, ...] = SWEEP_GRID["rs"],
    settings: TrainSettings | None = None,
    quick: bool = False,
    output_dir: str | Path = "results",
    progress: bool = True,
    reader: dict[str, Any] | None = None,
    **protocol: Any,
) -> dict[str, xr.Dataset]:
    """Test R² over ``alphas`` × ``rs`` with ``augmentation`` on each preset's scene (or on
    ``data``), via :func:`hsaug.experiments.sweep`; ``settings`` default to
    :func:`train_settings` ``("sweep", quick)`` (3 seeds, 2 when quick).
    Writes ``output_dir/sweep-<name>.nc`` and one markdown table per scene in
    ``output_dir/sweep.md``; returns ``{name: Dataset}``."""
    settings = _settings("sweep", settings, quick)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    for name, ds in _datasets(data, list(presets), quick, reader).items():
        res = experiments.sweep(ds, augmentation, alphas=alphas, rs=rs, settings=settings, progress=progress,
                                results_dir=out / "runs", **protocol)
        res.attrs["dataset"] = f"{name} preset" if data is None else name
        res.to_netcdf(out / f"sweep-{name}.nc")
        results[name] = res
    (out / "sweep.md").write_text(report.sweep_markdown(results.values()))
    return results


@_cluster
def reproduce_fig3(
    *,
    preset: str = "paper",
    augmentation: str = "shift",
    data: str | Path | xr.Dataset | None = None,
    settings: TrainSettings | None = None,
    quick: bool = False,
    output_dir: str | Path = "results",
    progress: bool = True,
    reader: dict[str, Any] | None = None,
    **protocol: Any,
) -> xr.Dataset:
    """Fig. 3's error distributions on one scene (or ``data``); writes ``output_dir/fig3.nc``
    and a summary ``output_dir/fig3.json`` (mean and mean absolute error per method)."""
    settings = _settings("fig3", settings, quick)
    (name, ds), = _datasets(data, [preset], quick, reader).items()
    errors = experiments.error_distribution(ds, augmentation, settings=settings, progress=progress,
                                            results_dir=Path(output_dir) / "runs", **protocol)
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


@_cluster
def reproduce_real(
    target: str,
    *,
    data: str | Path | xr.Dataset | None = None,
    soil_target: str = "SOC",
    band_range: tuple[float, float] | None = (1130.0, 2450.0),
    augmentations: tuple[str, ...] | None = None,
    settings: TrainSettings | None = None,
    quick: bool = False,
    output_dir: str | Path = "results",
    progress: bool = True,
    reader: dict[str, Any] | None = None,
    **protocol: Any,
) -> dict:
    """Table 2 (``"table2"``, comparison) or Table 4 (``"table4"``, greedy) on real spectra.

    ``data``: a file any reader accepts, or a Dataset; default the bundled LimeSoDa
    SSP.460 soil spectra (``soil_target``: "SOC", "pH" or "Clay"), cropped to
    ``band_range`` [nm] (the paper's sensor covered 1130–2450 nm; a user's ``data`` is
    used as given; ``reader``: keyword arguments of :func:`hsaug.readers.read_dataset` for it).
    Every method sees the spectra as declared; the physics augmentations (scattering,
    atmospheric) act on exact reflectance inside training (percent, scaled counts, absorbance;
    each conversion is a note of the result) and are left out, saying why, where the data cannot be
    converted. The paper's title and columns go beside the bundled soil stand-in only; a
    user's file is titled by its name, with its own targets and units.
    Data with predefined ``folds`` are split by them (test fold 1, validation fold 2).
    Writes ``output_dir/<target>.json``.
    """
    from . import datasets

    if target not in ("table2", "table4"):
        raise ValueError(f"target must be 'table2' or 'table4'; got {target!r}")
    settings = _settings(target, settings, quick)
    if data is None:
        if reader:
            raise ValueError(f"reader options {sorted(reader)} apply to a data file; got data=None")
        ds, name = datasets.load_soil(target=soil_target, band_range=band_range), "LimeSoDa SSP.460"
    else:
        (name, ds), = _datasets(data, [], quick, reader).items()
    augs, notes = physics_plan(ds, list(augmentations or experiments.PAPER_AUGMENTATIONS))
    notes.insert(0, f"spectra used as declared ({ds.attrs.get('quantity', 'unknown')}"
                 + (f" × {ds.attrs['reflectance_scale']:g}" if "reflectance_scale" in ds.attrs else "")
                 + ") by every method")
    split = fold_split(ds)
    if split is not None:
        settings = settings.replace(split=split)
    common = dict(settings=settings, progress=progress, results_dir=Path(output_dir) / "runs", **protocol)
    comparison = experiments.compare_augmentations(ds, augs, **common)
    if target == "table2":
        section = comparison
    else:
        section = experiments.greedy_combination(ds, augs, comparison=comparison, **common)
    section["subtitle"] = name
    section["dataset"] = _dataset_info(ds)
    if data is not None:  # a user's data: its own title, targets and units; no paper columns beside it
        section.update(title=name, paper=False)
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


@_cluster
def reproduce_robustness(
    *,
    data: str | Path | xr.Dataset | None = None,
    preset: str = "paper",
    augmentation: str | None = None,
    settings: TrainSettings | None = None,
    quick: bool = False,
    train_sizes: tuple | None = None,
    output_dir: str | Path = "results",
    progress: bool = True,
    reader: dict[str, Any] | None = None,
    **protocol: Any,
) -> xr.Dataset:
    """The robustness protocol on a synthetic ``preset`` scene or on ``data`` (a file any
    reader accepts, with the keyword arguments ``reader``, or a Dataset). Every method sees the spectra
    as declared; physics augmentations convert exactly inside training (each conversion is a note),
    and the nuisances that need reflectance fractions are skipped otherwise (``attrs["skipped"]``
    says why).
    ``augmentation`` defaults to :func:`robustness_augmentation`. ``protocol``: keyword
    arguments of :func:`hsaug.experiments.robustness` and :func:`~hsaug.experiments.robustness_methods`
    (α, r, τ, losses, alphas, rs, nuisances, strengths, …). Writes
    ``output_dir/robustness.nc`` and ``output_dir/robustness.md``; returns the Dataset.
    """
    from . import datasets

    settings = _settings("robustness", settings, quick)
    sizes = ROBUSTNESS_TRAIN_SIZES["quick" if quick else "full"] if train_sizes is None else tuple(train_sizes)
    if data is None:
        if reader:
            raise ValueError(f"reader options {sorted(reader)} apply to a data file; got data=None")
        n_rows, n_cols = SCENE["quick" if quick else "full"]
        ds, name = synthetic.make_scene(preset, n_rows=n_rows, n_cols=n_cols), f"{preset} preset"
    else:
        (name, ds), = _datasets(data, [], quick, reader).items()
    notes = [f"spectra used as declared ({ds.attrs.get('quantity', 'unknown')}) by every method"]
    reflectance = datasets.convertible_to_reflectance(ds)
    if not reflectance:
        notes.append(f"spectra declared {ds.attrs.get('quantity', 'unknown')!r} cannot be converted to reflectance "
                     "exactly: no physics augmentation")
    aug = augmentation or robustness_augmentation(reflectance)
    notes += physics_plan(ds, [aug])[1]
    method_keys = ("alpha", "r", "tau", "losses", "alphas", "rs")
    methods = experiments.robustness_methods(aug, **{k: protocol.pop(k) for k in method_keys if k in protocol})
    split = fold_split(ds) if data is not None else None
    if split is not None:
        settings = settings.replace(split=split)
    result = experiments.robustness(ds, methods=methods, train_sizes=sizes, settings=settings, progress=progress,
                                    results_dir=Path(output_dir) / "runs", **protocol)
    result.attrs.update({"dataset": name, "augmentation": aug, "quick": int(quick),
                         "notes": json.dumps(json.loads(result.attrs["notes"]) + notes)})
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    result.to_netcdf(out / "robustness.nc")
    (out / "robustness.md").write_text(report.robustness_markdown(result))
    return result
