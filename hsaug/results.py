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
from .spectra import as_spectra, describe as _describe

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

    @property
    def n_members(self) -> int:
        return len(self.configs)

    def errors(self, member: int | None = None) -> np.ndarray:
        """Test errors ``prediction − target``: (M, N_test, s), or (N_test, s) for one member."""
        err = self.predictions - self.target[None]
        return err if member is None else err[member]

    def predict(self, spectra: Any, member: int | None = None) -> np.ndarray:
        """Predictions in the data's units for spectra (N, B): (M, N, s), or (N, s) for one member."""
        x = as_spectra(spectra, name="spectra", dtype=torch.float32)
        if x.shape[1] != self.model.n_bands:
            raise ValueError(f"spectra have {x.shape[1]} bands but the models were trained on {self.model.n_bands}")
        dev = self.model.weights[0].device
        pred = self.scaling.inverse(self.model.predict(x.to(dev)).cpu()).numpy()
        return pred if member is None else pred[member]

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
    is False) and ``<name>.pt`` (the weights: ``model_config``, ``state_dict``, ``scaling``).
    Creates the folder; returns ``{"netcdf", "json", "weights"}`` paths."""
    from pathlib import Path

    if not isinstance(result, FitResult):
        raise ValueError(f"result must be a FitResult from hsaug.training.fit; got {_describe(result)}")
    if not isinstance(name, str) or not name or "/" in name:
        raise ValueError(f"name must be a plain file stem; got {name!r}")
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"netcdf": folder / f"{name}.nc", "json": folder / f"{name}.json", "weights": folder / f"{name}.pt"}
    result.to_xarray().to_netcdf(paths["netcdf"], engine="h5netcdf")
    paths["json"].write_text(result.to_json(predictions=predictions))
    torch.save({"model_config": result.model.config(), "state_dict": result.model.state_dict(),
                "scaling": result.scaling.to_dict(), "outputs": result.outputs,
                "wavelength": result.wavelength.tolist()}, paths["weights"])
    return paths
