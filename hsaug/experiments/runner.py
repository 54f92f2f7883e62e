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

On a cluster (:func:`on_cluster` with a dask.distributed scheduler address or Client): the
ensembles the runner would train one after another (its *member groups*) become
dask.distributed tasks, each training its group and writing its runs to the store (a folder
every worker can reach); the runner waits for them and reads the runs back from the store —
the numbers of a run in this process, since a member does not depend on its ensemble.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..config import Config, TrainSettings
from ..spectra import check_dataset
from ..store import ResultStore, jsonable, run_key
from ..training import fit

__all__ = ["run_configs", "dataset_fingerprint", "write_json", "protocol_inputs", "on_cluster", "check_scheduler"]

#: the dask.distributed Client member groups are sent to (None: they train in this process)
_CLIENT: contextvars.ContextVar[Any] = contextvars.ContextVar("hsaug_runner_client", default=None)


@contextlib.contextmanager
def on_cluster(scheduler: Any, timeout: float | None = None) -> Iterator[Any]:
    """Within this block :func:`run_configs` (and every protocol built on it) trains its member groups as
    tasks on the dask.distributed cluster ``scheduler`` (an address such as ``"tcp://host:8786"`` or a
    ``distributed.Client``); None runs them here. An address that does not answer within ``timeout``
    seconds (default :data:`hsaug.cluster.SCHEDULER_TIMEOUT_S`) raises ConnectionError. Yields the client."""
    from ..cluster import connect

    if scheduler is None:
        yield None
        return
    with connect(scheduler, timeout) as (kind, client):
        if kind != "distributed":
            raise ValueError(f"scheduler must be a dask.distributed address or Client to train on a cluster; "
                             f"got {scheduler!r}")
        token = _CLIENT.set(client)
        try:
            yield client
        finally:
            _CLIENT.reset(token)


def check_scheduler(scheduler: str, timeout: float | None = None) -> None:
    """Connect to ``scheduler`` and disconnect: ConnectionError (within ``timeout`` s) when it does not answer."""
    with on_cluster(scheduler, timeout):
        pass


def _train_group(ds: xr.Dataset, cfgs: list[Config], settings: TrainSettings, keys: list[dict],
                 results_dir: str, experiment: str, keep_predictions: bool,
                 evaluate: Callable[[Any], list[dict]] | None) -> list[str]:
    """One member group, trained where it runs (a dask worker, or here): fit, then every member's run
    written to the store under its key. Returns the run keys written."""
    result = fit(ds, configs=cfgs, settings=settings, progress=False)
    store = ResultStore(results_dir, experiment)
    extra = evaluate(result) if evaluate is not None else [{}] * result.n_members
    written = []
    for m in range(result.n_members):
        run = _member_run(result, m, keep_predictions, extra[m])
        store.put(keys[m], run)
        written.append(run_key(keys[m]))
    return written


def _member_run(result: Any, m: int, keep_predictions: bool, extra: dict) -> dict:
    """Member ``m`` of a FitResult as a stored run (with the conversions training made for its augmentation)."""
    run = result.member_dict(m, predictions=keep_predictions)
    run.update(extra)
    run["seconds_per_member"] = result.seconds / result.n_members
    label = result.configs[m].label
    run["conversions"] = [c for c in result.conversions if c.startswith(f"augmentation {label!r}:")]
    return run


def dataset_fingerprint(ds: xr.Dataset) -> str:
    """sha1 (16 hex digits) of a dataset's spectra, targets and wavelengths: results are
    only reused for exactly the same data."""
    h = hashlib.sha1()
    for var in ("spectra", "target", "wavelength"):
        h.update(np.ascontiguousarray(ds[var].values, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


def protocol_inputs(dataset: xr.Dataset, settings: TrainSettings | None) -> tuple[xr.Dataset, TrainSettings]:
    """Every protocol's first step: the checked dataset and the settings (the paper's protocol,
    :meth:`TrainSettings.paper`, when None)."""
    return check_dataset(dataset), TrainSettings.build(settings) if settings is not None else TrainSettings.paper()


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
            run = store.get(key(c, s), required=("metrics",))
            # runs stored before validation R² was kept cannot be selected on validation: train them again
            runs[run_key(key(c, s))] = run if run is not None and "val_r2" in run["metrics"] else None
    todo = [(c, s) for c in configs for s in seed_list if runs[run_key(key(c, s))] is None]
    reused = len(configs) * len(seed_list) - len(todo)
    if reused and progress:
        print(f"{experiment}: {reused} of {reused + len(todo)} runs reused from {store.folder}; "
              f"{len(todo)} to train", flush=True)
    # group missing members by configuration, then cut into ensembles of <= members_per_fit
    chunk = members_per_fit or max(1, len(todo))
    client = _CLIENT.get()
    if client is not None and todo:
        _run_on_cluster(client, ds, todo, chunk, settings, key, store, runs, experiment, keep_predictions,
                        evaluate, on_fit, progress)
        todo = []
    for start in range(0, len(todo), chunk):
        batch = todo[start:start + chunk]
        groups = _groups(batch)
        finished = []
        for group_seeds, group_cfgs in groups.items():
            result = fit(ds, configs=group_cfgs, settings=settings.replace(seeds=group_seeds), progress=progress)
            extra = evaluate(result) if evaluate is not None else [{}] * result.n_members
            for m in range(result.n_members):
                run = _member_run(result, m, keep_predictions, extra[m])
                k = key(result.configs[m], int(result.seeds[m]))
                store.put(k, run)
                runs[run_key(k)] = run
                finished.append(run)
        if on_fit is not None:
            on_fit(finished)
    return [runs[run_key(key(c, s))] for c in configs for s in seed_list]


def _groups(batch: list[tuple[Config, int]]) -> dict[tuple[int, ...], list[Config]]:
    """fit() trains a configs x seeds product: a batch of (config, seed) split into such products."""
    groups: dict[tuple[int, ...], list[Config]] = {}
    for cfg in dict.fromkeys(c for c, _ in batch):
        groups.setdefault(tuple(s for c, s in batch if c == cfg), []).append(cfg)
    return groups


def _run_on_cluster(client: Any, ds: xr.Dataset, todo: list, chunk: int, settings: TrainSettings, key: Callable,
                    store: ResultStore, runs: dict, experiment: str, keep_predictions: bool, evaluate: Any,
                    on_fit: Any, progress: bool) -> None:
    """Every member group of ``todo`` as a dask.distributed task writing to ``store``; the runs read back."""
    if store.root is None:
        raise ValueError("training on a cluster needs results_dir: the workers write their runs to that folder "
                         "(one every worker can reach) and they are read back from it")
    data = client.scatter(ds, broadcast=False, hash=False)
    futures = {}
    for start in range(0, len(todo), chunk):
        for group_seeds, group_cfgs in _groups(todo[start:start + chunk]).items():
            keys = [key(c, s) for c in group_cfgs for s in group_seeds]
            fut = client.submit(_train_group, data, group_cfgs, settings.replace(seeds=group_seeds), keys,
                                str(store.root.resolve()), experiment, keep_predictions, evaluate, pure=False)
            futures[fut] = keys
    if progress:
        print(f"{experiment}: {len(futures)} member group(s) sent to {client.scheduler.address}", flush=True)
    for fut in futures:  # all run at once on the cluster; read back in the order they were sent
        fut.result()  # a worker's exception is raised here, as it was raised there
        finished = []
        for k in futures[fut]:
            run = store.get(k, required=("metrics",))
            if run is None:
                raise RuntimeError(f"{experiment}: a worker finished a run but {store.path(k)} cannot be read here; "
                                   "results_dir must be a folder every worker and this process share")
            runs[run_key(k)] = run
            finished.append(run)
        if on_fit is not None:
            on_fit(finished)


def write_json(result: dict, path: str | Path, **extra: Any) -> Path:
    """Write an experiment's result (plus ``extra`` fields, e.g. ``target="table1"``) as JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(jsonable({**extra, **result}), indent=1))
    return path
