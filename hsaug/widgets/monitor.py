"""Live training curves: :class:`TrainingMonitor` (a training callback, one curve per
configuration) and :func:`train` (a comparison with a monitor that keeps the finished
epochs when interrupted)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go
import torch
import xarray as xr

from .. import viz
from ..spectra import describe
from .controls import FULL
from .figure import Resizer, live_figure

__all__ = ["TrainingMonitor", "train"]

_PANELS = ("loss", "α · contrastive", "metric")


def _panel(name: str) -> str:
    low = name.lower()
    if "contrastive" in low:
        return "α · contrastive"
    if any(w in low for w in ("loss", "mse")):
        return "loss"
    return "metric"


class TrainingMonitor(W.VBox):
    """Live training curves in a notebook: call ``update(epoch, metrics)`` after each epoch.

    ``metrics`` maps a name to a number (e.g. ``{"loss": 0.3, "val_r2": 0.71}``) or to one
    value per ensemble member (M,). ``members`` names each member's configuration (e.g.
    ``["baseline", "baseline", "shift", "shift"]`` for two configurations × two seeds): one
    curve per configuration (mean over its seeds), coloured by configuration. Panels:
    losses (MSE), the weighted contrastive term α · contrastive on its own axis (from a
    :func:`hsaug.training.fit` history: ``loss − mse``), and the other metrics (R², MAE).
    A message stands in the figure until the first epoch. The monitor is callable
    (``monitor(epoch, metrics)``), so it is a training callback; ``every`` redraws only
    each n-th epoch (the history is always kept). :meth:`from_history` shows a finished run.
    """

    def __init__(self, *, title: str = "training", members: Sequence[str] | None = None, log_loss: bool = False,
                 every: int = 1, total_epochs: int | None = None) -> None:
        if every < 1:
            raise ValueError(f"every must be a positive number of epochs; got {every}")
        self.title, self.log_loss, self.every, self.total_epochs = title, log_loss, every, total_epochs
        self.members = None if members is None else [str(m) for m in members]
        self.epochs: list[float] = []
        self.history: dict[str, list[float]] = {}
        self.started = time.perf_counter()
        self.status = W.HTML("<small>training: the curves appear after the first epoch (a few seconds)…</small>")
        self.figure = live_figure(viz.curves_figure({}, title=title, waiting=True))
        super().__init__([self.status, self.figure, Resizer()], layout=FULL)
        self.add_class("hsaug-training")

    def _groups(self, n: int) -> dict[str, np.ndarray]:
        if self.members is None or len(self.members) != n:
            return {"": np.arange(n)}
        names = list(dict.fromkeys(self.members))
        return {g: np.array([i for i, m in enumerate(self.members) if m == g]) for g in names}

    def _series(self, values: Mapping[str, np.ndarray]) -> dict[str, float]:
        """name → value, one per (metric, configuration), means over a configuration's members."""
        out: dict[str, float] = {}
        v = dict(values)
        if "loss" in v and "mse" in v and "contrastive" in v:  # a fit history: weight the contrastive term
            v = {"train mse": v["mse"], "α · contrastive": v["loss"] - v["mse"],
                 **{k.replace("val_", "val ").replace("r2", "R²"): a for k, a in v.items()
                    if k in ("val_mse", "val_r2")}}
        for k, arr in v.items():
            arr = np.atleast_1d(arr)
            for g, idx in self._groups(arr.size).items():
                part = arr[idx] if idx.max(initial=-1) < arr.size else arr
                finite = part[np.isfinite(part)]
                out[f"{k} | {g}" if g else k] = float(finite.mean()) if finite.size else float("nan")
        return out

    def update(self, epoch: float, metrics: Mapping[str, Any]) -> None:
        """Record one epoch's metrics (numbers, 0-d tensors or (M,) per member) and redraw."""
        values = {}
        for k, v in dict(metrics).items():
            try:
                values[str(k)] = np.asarray(v.detach().cpu() if isinstance(v, torch.Tensor) else v, dtype=float)
            except (TypeError, ValueError):
                raise ValueError(f"metrics must map names to numbers (or one per member); got {k!r}: "
                                 f"{describe(v)}") from None
        series = self._series(values)
        new_names = [k for k in series if k not in self.history]
        for k in new_names:
            self.history[k] = [float("nan")] * len(self.epochs)
        self.epochs.append(float(epoch))
        for k in self.history:
            self.history[k].append(series.get(k, float("nan")))
        if new_names:  # the set of curves changed: new traces and panels, in one batch
            fresh = self._figure().update_layout(autosize=True)  # the container sets the width
            with self.figure.batch_update():
                self.figure.data = ()
                self.figure.add_traces(list(fresh.data))
                self.figure.layout = fresh.layout
        elif len(self.epochs) % self.every == 0:
            self.redraw()
        now = time.perf_counter()
        elapsed = now - self.started
        if len(self.epochs) == 1:
            self._first_epoch_at = now
        of = f" of {self.total_epochs}" if self.total_epochs else ""
        eta = ""
        if self.total_epochs and 1 < len(self.epochs) < self.total_epochs:  # the pace after the first epoch
            pace = (now - self._first_epoch_at) / (len(self.epochs) - 1)
            eta = f", about {pace * (self.total_epochs - len(self.epochs)):.0f} s left"
        shown = ", ".join(f"{k} {v:.4g}" for k, v in series.items() if "R²" in k or k.startswith("val"))
        self.status.value = f"<small>epoch {epoch:g}{of} ({elapsed:.0f} s{eta}){': ' + shown if shown else ''}</small>"

    __call__ = update

    @classmethod
    def from_history(cls, history: Mapping[str, Any], **kwargs: Any) -> TrainingMonitor:
        """A monitor showing a recorded history: name -> values per epoch, (epochs,) or
        (M, epochs) per member (e.g. ``hsaug.training.FitResult.history``)."""
        mon = cls(**kwargs)
        arrays = {k: np.atleast_2d(np.asarray(v, dtype=float)) for k, v in history.items()}
        n = max((a.shape[1] for a in arrays.values()), default=0)
        for epoch in range(n):
            mon.update(epoch + 1, {k: a[:, epoch] for k, a in arrays.items() if epoch < a.shape[1]})
        return mon

    def static_figure(self) -> go.Figure:
        """The curves so far as a static figure (papermill runs, ``interactive = False``)."""
        return self._figure()

    def _figure(self) -> go.Figure:
        panels: dict[str, dict[str, list[float]]] = {}
        for k, v in self.history.items():
            panels.setdefault(_panel(k.split(" | ")[0]), {})[k] = v
        return viz.curves_figure({p: panels[p] for p in _PANELS if p in panels}, epochs=self.epochs,
                                 title=self.title, log_loss=self.log_loss)

    def redraw(self) -> None:
        """Replace every curve's data in one batch update."""
        with self.figure.batch_update():
            for trace in self.figure.data:
                trace.x, trace.y = self.epochs, self.history[trace.name]


def train(dataset: Any, configs: Sequence[Any], *, monitor: TrainingMonitor | None = None, **fit_args: Any
          ) -> Any:
    """:func:`hsaug.training.fit` with a live ``monitor``; an interrupt (the stop button,
    Ctrl-C) stops it without a traceback and keeps the finished epochs.

    Returns the ``FitResult``, or after an interrupt an ``xarray.Dataset`` of the finished
    epochs' curves (one per configuration, from the monitor; no test metrics: the test set
    is read only at the end of a full run), with ``attrs["interrupted"] = 1``.
    """
    from .. import training

    try:
        return training.fit(dataset, configs=list(configs), callback=monitor, **fit_args)
    except KeyboardInterrupt:
        if monitor is None or not monitor.epochs:
            print("interrupted before the first epoch finished: nothing to keep")
            return None
        print(f"interrupted after {len(monitor.epochs)} epoch(s): the curves of the finished epochs are kept "
              "(no test metrics: they need a full run)")
        data = {k.replace(" | ", "-").replace("·", "").replace(" ", "_"): ("epoch", np.asarray(v)) for k, v in monitor.history.items()}
        return xr.Dataset(data, coords={"epoch": np.asarray(monitor.epochs)}, attrs={"interrupted": 1})
