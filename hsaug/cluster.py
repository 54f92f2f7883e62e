"""The one door to a dask.distributed cluster, for scene maps (:mod:`hsaug.maps`) and experiment
runs (:mod:`hsaug.experiments.runner`): :func:`connect` turns ``None`` / ``"threads"`` /
``"synchronous"`` / a ``distributed.Client`` / a scheduler address into a scheduler to use, and an
address that does not answer into a :class:`ConnectionError` within ``timeout`` seconds."""

from __future__ import annotations

import contextlib
from typing import Any

from .spectra import describe

__all__ = ["connect", "SCHEDULER_TIMEOUT_S"]

#: how long an unreachable scheduler address is waited for before a clear error [s]
SCHEDULER_TIMEOUT_S = 10.0


@contextlib.contextmanager
def connect(scheduler: Any, timeout: float | None = None):
    """(kind, client-or-None) for ``scheduler``: None / 'threads' / 'synchronous' / 'processes', a
    distributed Client (used as it is), or an address (connected here within ``timeout`` seconds,
    default :data:`SCHEDULER_TIMEOUT_S`, and closed afterwards)."""
    timeout = SCHEDULER_TIMEOUT_S if timeout is None else float(timeout)
    if scheduler is None or scheduler in ("threads", "threading"):
        yield "threads", None
        return
    if scheduler in ("synchronous", "sync"):
        yield "synchronous", None
        return
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - distributed is a dependency
        raise ValueError("a scheduler address or Client needs dask.distributed; install 'distributed'") from None
    if isinstance(scheduler, Client):
        yield "distributed", scheduler
        return
    if not isinstance(scheduler, str) or not scheduler:
        raise ValueError(f"scheduler must be None, 'threads', 'synchronous', a dask.distributed Client or an address "
                         f"such as 'tcp://127.0.0.1:8786'; got {describe(scheduler)}")
    if timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds; got {timeout!r}")
    address = scheduler if "://" in scheduler else f"tcp://{scheduler}"
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as err:
        raise ConnectionError(f"scheduler {scheduler!r}: no dask scheduler answered within {timeout:g} s "
                              f"({type(err).__name__}). Start one (`dask scheduler` and `dask worker ADDRESS`) or "
                              "leave the scheduler out to run here.") from None
    try:
        yield "distributed", client
    finally:
        client.close()
