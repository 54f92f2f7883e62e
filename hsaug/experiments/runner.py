"""The resumable runner every protocol trains through.

Every experiment is a set of *runs*, one per (configuration, seed). :func:`run_configs`
trains the missing ones as batched ensembles (:func:`hsaug.training.fit`),
``members_per_fit`` at a time, and writes each finished run to ``results_dir`` at once
(:class:`hsaug.store.ResultStore`, keyed by the dataset's fingerprint, the configuration,
the seed and :attr:`hsaug.config.TrainSettings.run_key`). Running an experiment again
trains only what is missing, so an interrupted experiment resumes where it stopped and a
finished one returns at once. A member's numbers do not depend on which other members
share its ensemble (see :mod:`hsaug.training`), so resuming gives the same numbers as an
uninterrupted run. A stored run that cannot be read back is named in a warning and
trained again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..config import Config, TrainSettings
from ..spectra import check_dataset
from ..store import ResultStore, jsonable, run_key
from ..training import fit

__all__ = ["run_configs", "dataset_fingerprint", "write_json", "protocol_inputs"]


def dataset_fingerprint(ds: xr.Dataset) -> str:
    """sha1 (16 hex digits) of a dataset's spectra, targets and wavelengths: results are
    only reused for exactly the same data."""
    h = hashlib.sha1()
    for var in ("spectra", "target", "wavelength"):
        h.update(np.ascontiguousarray(ds[var].values, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


def protocol_inputs(dataset: xr.Dataset, settings: TrainSettings | None) -> tuple[xr.Dataset, TrainSettings]:
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
    ds, settings = protocol_inputs(dataset, settings)
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


def write_json(result: dict, path: str | Path, **extra: Any) -> Path:
    """Write an experiment's result (plus ``extra`` fields, e.g. ``target="table1"``) as JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(jsonable({**extra, **result}), indent=1))
    return path
