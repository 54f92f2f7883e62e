"""What training returns and how it is written: :class:`FitResult`, :func:`save_result`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import xarray as xr

from .config import Config
from .losses import LabelScaling
from .metrics import METRICS
from .models import MLPEnsemble
from .predictor import constrain
from .preprocess import build as build_preprocess
from .spectra import as_spectra
from .spectra import describe

__all__ = ["FitResult", "save_result", "HISTORY_KEYS"]

#: Per-epoch history of every member (``FitResult.history[key]`` is (M, epochs)).
HISTORY_KEYS = ("loss", "mse", "contrastive", "val_mse", "val_r2", "val_mae")


@dataclass
class FitResult:
    """What :func:`fit` returns: per-member configuration, history, metrics and test predictions.

    Members are in the order ``[(c, s) for c in configs for s in seeds]``.
    ``history[key]`` is (M, epochs) for ``HISTORY_KEYS`` (NaN after a member stopped early,
    and for validation keys without a validation set). ``metrics["test_r2"]`` etc. are (M,)
    for ``test_`` / ``val_`` × ``METRICS``. ``predictions`` (M, N_test, s) and ``target``
    (N_test, s) are test-set values in the data's units; ``split`` holds the row indices.
    ``model`` holds the final weights (the best validation epoch's with early stopping).
    ``seconds`` is the wall time of the whole call, ``epoch_seconds`` (epochs,) that of each
    epoch (training and validation; the rest is set-up and final evaluation).
    ``preprocess`` is the model's fitted first stage (:mod:`hsaug.preprocess`), ``constraint``
    its output head, ``quantity`` what the training spectra were declared to be,
    ``conversions`` every conversion of the spectra training made (for physics augmentations),
    ``units`` the targets' units. :meth:`to_model` gives a :class:`hsaug.predictor.Model`.
    """

    configs: list[Config]
    seeds: list[int]
    history: dict[str, np.ndarray]
    metrics: dict[str, np.ndarray]
    predictions: np.ndarray
    target: np.ndarray
    split: dict[str, np.ndarray]
    outputs: list[str]
    wavelength: np.ndarray
    model: MLPEnsemble
    scaling: LabelScaling
    epochs_trained: np.ndarray
    best_epoch: np.ndarray
    settings: dict[str, Any] = field(default_factory=dict)
    seconds: float = float("nan")
    epoch_seconds: np.ndarray = field(default_factory=lambda: np.zeros(0))
    preprocess: Any = None
    constraint: str = "none"
    quantity: dict[str, Any] | None = None
    conversions: list[str] = field(default_factory=list)
    units: list[str] | None = None

    @property
    def n_members(self) -> int:
        return len(self.configs)

    def errors(self, member: int | None = None) -> np.ndarray:
        """Test errors ``prediction − target``: (M, N_test, s), or (N_test, s) for one member."""
        err = self.predictions - self.target[None]
        return err if member is None else err[member]

    def predict(self, spectra: Any, member: int | None = None, members: Any = None) -> np.ndarray:
        """Predictions in the data's units for spectra (N, B) on the training grid, through the fitted
        preprocessing and the output constraint: (M, N, s), (N, s) for one ``member``, or (len(members),
        N, s) for a list of ``members`` (only those are run)."""
        x = as_spectra(spectra, name="spectra", dtype=torch.float32)
        if x.shape[1] != self.model.n_bands:
            raise ValueError(f"spectra have {x.shape[1]} bands but the models were trained on {self.model.n_bands}")
        model = self.model if members is None else self.model.select(list(members))
        dev = model.weights[0].device
        pre = self.preprocess if self.preprocess is not None else build_preprocess("none")
        with torch.no_grad():
            raw = model.predict(pre.to(dev)(x.to(dev)))
            pred = constrain(raw, self.scaling.low.to(dev), self.scaling.span.to(dev), self.constraint).cpu().numpy()
        return pred if member is None else pred[member]

    def _members_of(self, config: Any, seed: Any) -> list[int]:
        if config is None:
            by_config = range(self.n_members)
        else:
            label = config.label if isinstance(config, Config) else config
            by_config = [m for m in range(self.n_members) if self.configs[m].label == label]
            if not by_config:
                raise ValueError(f"config {config!r} is not in this result; its configurations are "
                                 f"{list(dict.fromkeys(c.label for c in self.configs))}")
        seeds = None if seed is None else ({int(seed)} if isinstance(seed, (int, np.integer)) else
                                           {int(s) for s in seed})
        out = [m for m in by_config if seeds is None or self.seeds[m] in seeds]
        if not out:
            raise ValueError(f"seed {seed!r} is not in this result (config {config!r}); its seeds are "
                             f"{sorted(set(self.seeds))}")
        return out

    def to_model(self, config: Any = None, seed: Any = None) -> Any:
        """A :class:`hsaug.predictor.Model` of the members with configuration ``config`` (its label, e.g.
        ``"shift"`` or ``"baseline"``, or a :class:`Config`; None: all) and ``seed`` (an int, a list, or
        None: all): one member, or an ensemble whose prediction is the members' mean. It carries the
        fitted preprocessing, label scaling, constraint, grid, outputs and units, quantity and settings."""
        from .predictor import Model

        return Model.from_fit(self, members=self._members_of(config, seed))

    def member_dict(self, m: int, *, predictions: bool = False) -> dict[str, Any]:
        """One member as plain JSON-able data (config, seed, metrics, history, epochs)."""
        out = {"config": self.configs[m].to_dict(), "seed": int(self.seeds[m]),
               "metrics": {k: float(v[m]) for k, v in self.metrics.items()},
               "history": {k: [float(x) if np.isfinite(x) else None for x in v[m]]
                           for k, v in self.history.items()},
               "epochs_trained": int(self.epochs_trained[m]), "best_epoch": int(self.best_epoch[m])}
        if predictions:
            out["predictions"] = self.predictions[m].tolist()
        return out

    def to_dict(self, *, predictions: bool = False) -> dict[str, Any]:
        """Everything but the weights as JSON-able data (``json.dumps`` works on it)."""
        out = {"settings": self.settings, "outputs": self.outputs, "seconds": self.seconds,
               "epoch_seconds": self.epoch_seconds.tolist(),
               "scaling": self.scaling.to_dict(),
               "split": {k: v.tolist() for k, v in self.split.items()},
               "members": [self.member_dict(m, predictions=predictions) for m in range(self.n_members)]}
        if predictions:
            out["target"] = self.target.tolist()
        return out

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(**kwargs))

    def table(self) -> Any:
        """One row per member (pandas DataFrame): configuration, seed, test and validation metrics."""
        import pandas as pd

        rows = []
        for m in range(self.n_members):
            row = {**self.configs[m].to_dict(), "seed": self.seeds[m]}
            row.update({k: float(v[m]) for k, v in self.metrics.items()})
            row["epochs_trained"] = int(self.epochs_trained[m])
            rows.append(row)
        return pd.DataFrame(rows)

    def summary(self) -> Any:
        """Test metrics per configuration, mean and std over seeds (pandas DataFrame)."""
        df = self.table()
        cols = [f"test_{k}" for k in METRICS]
        order = list(dict.fromkeys(df["name"]))
        agg = df.groupby("name", sort=False)[cols].agg(["mean", "std"])
        agg.columns = [f"{a}_{b}" for a, b in agg.columns]
        return agg.loc[order]

    def to_xarray(self) -> xr.Dataset:
        """History, metrics and test predictions as a Dataset (dims member, epoch, test_sample, output)."""
        m = self.n_members
        cfg = [c.to_dict() for c in self.configs]
        coords = {
            "member": np.arange(m),
            "config": ("member", [c["name"] for c in cfg]),
            "augmentation": ("member", [str(c["augmentation"]) for c in cfg]),
            "alpha": ("member", [c["alpha"] for c in cfg]),
            "r": ("member", [c["r"] for c in cfg]),
            "tau": ("member", [c["tau"] for c in cfg]),
            "loss": ("member", [c["loss"] for c in cfg]),
            "seed": ("member", np.asarray(self.seeds, dtype=np.int64)),
            "epoch": np.arange(1, self.history["loss"].shape[1] + 1),
            "test_sample": self.split["test"],
            "output": self.outputs,
        }
        data = {f"history_{k}": (("member", "epoch"), v) for k, v in self.history.items()}
        data.update({k: ("member", v) for k, v in self.metrics.items()})
        data["epochs_trained"] = ("member", self.epochs_trained)
        data["best_epoch"] = ("member", self.best_epoch)
        data["prediction"] = (("member", "test_sample", "output"), self.predictions)
        data["target"] = (("test_sample", "output"), self.target)
        return xr.Dataset(data, coords=coords, attrs={"settings": json.dumps(self.settings),
                                                      "seconds": self.seconds})


def save_result(result: FitResult, output_dir: Any, name: str = "fit", *, predictions: bool = True
                ) -> dict[str, Any]:
    """Write a :class:`FitResult` to ``output_dir``: ``<name>.nc`` (:meth:`FitResult.to_xarray`),
    ``<name>.json`` (:meth:`FitResult.to_dict`, with test predictions unless ``predictions``
    is False) and ``<name>.safetensors`` (every member as one :class:`hsaug.predictor.Model`, loaded by
    :func:`hsaug.load_model`). Creates the folder; returns ``{"netcdf", "json", "model"}`` paths."""
    from pathlib import Path

    if not isinstance(result, FitResult):
        raise ValueError(f"result must be a FitResult from hsaug.training.fit; got {describe(result)}")
    if not isinstance(name, str) or not name or "/" in name:
        raise ValueError(f"name must be a plain file stem; got {name!r}")
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"netcdf": folder / f"{name}.nc", "json": folder / f"{name}.json",
             "model": folder / f"{name}.safetensors"}
    result.to_xarray().to_netcdf(paths["netcdf"], engine="h5netcdf")
    paths["json"].write_text(result.to_json(predictions=predictions))
    result.to_model().save(paths["model"])
    return paths
