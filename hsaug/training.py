"""Training the contrastive regressor (eqs. 9–10), many models at once, and evaluating it.

:func:`fit` trains every pair (configuration, seed) — a *member* — as one batched
ensemble (:class:`hsaug.models.MLPEnsemble`): stacked weights, one ``bmm`` per layer,
one Adam. A :class:`Config` is an augmentation (or None), the trade-off α of eq. (9),
the ball radius r, the temperature τ and the contrastive loss's name; α = 0 is the
plain MLP trained on MSE alone (no augmentation is drawn then).

Per step and member: a batch of N spectra X, its augmented copy X̃ (contrastive members
only), ``L = L_R + α L_contrastive`` with ``L_R = 1/N Σ_i ‖y_i − ŷ_i‖²`` (eq. 10: squared
error summed over the outputs, averaged over the batch) and the contrastive loss on the
2N features (see :mod:`hsaug.losses`). The ensemble minimises the sum of the members'
losses, so each member gets exactly its own gradient.

Targets: every output is scaled to [0, 1] by its training-set min and max
(:class:`hsaug.losses.LabelScaling`); the network regresses the scaled targets, the ball
test uses them (so r is a fraction of each output's range), and predictions and metrics
are given back in the data's units.

Randomness: one seeded train/validation/test split shared by all members
(``split_seed``); each member's ``seed`` spawns three independent streams
(``numpy.random.SeedSequence(seed).spawn(3)``) for its initial weights, its data order
(a fresh permutation of the training rows every epoch) and its augmentation draws. Two
members with the same seed therefore start from the same weights and see the same
batches, whatever their configuration (a paired comparison); a member's numbers do not
depend on which other members share its ensemble (on CPU, bitwise — a test checks it).

Augmentations are drawn per member and per batch from the member's own generator and
applied once per group of members sharing an augmentation, ``AUG_CHUNK`` batches at a
time (a loop over configurations, never over spectra). A combination (``"shift+elastic"``,
a list) is a :class:`hsaug.augment.OneOf`: one member augmentation per batch, as in the
authors' loop.

Speed (benchmarks/training_throughput.py, 2 cores): the Table-1 protocol, 45 models ×
100 epochs × 8,000 pixels, runs as one call in ≈ 2.2 s per epoch when the cores are free
(≈ 3.7 min), against ≈ 0.33 s per epoch for one contrastive model alone (≈ 24 min for
45 one after the other). On a shared or CPU-quota machine pass ``threads=1``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import xarray as xr

from . import augment
from .augment import Augmentation, Compose, OneOf
from .losses import LOSSES, LabelScaling, check_loss_name, check_positive, loss_names
from .models import FEATURE_WIDTHS, HEAD_WIDTHS, MLPEnsemble, check_widths
from .spectra import _describe, as_spectra, check_wavelength, dataset_tensors

__all__ = [
    "Config",
    "FitResult",
    "fit",
    "fit_baselines",
    "save_result",
    "split_indices",
    "member_generators",
    "augment_members",
    "r2_score",
    "mae",
    "mae_summed",
    "regression_metrics",
    "HISTORY_KEYS",
    "METRICS",
]

AUG_CHUNK = 16  # batches augmented per call (fewer, larger augmentation calls)
# Adam's first moment of a weight whose gradient stays zero (a dead ReLU unit) decays by 0.9 a
# step and passes through the subnormal floats (< 1.2e-38) after ~800 steps; CPU arithmetic on
# them is many times slower (epochs took twice as long from the fourth on, and flushing
# subnormals per thread does not reach torch's worker threads). Every SUBNORMAL_EVERY steps,
# moments below SUBNORMAL_FLOOR are set to zero: over that many steps a larger one cannot
# decay below 1.2e-38, and the update it would have made (lr * 1e-30 / eps) is below float32
# resolution of any weight.
SUBNORMAL_EVERY, SUBNORMAL_FLOOR = 64, 1e-30
HISTORY_KEYS = ("loss", "mse", "contrastive", "val_mse", "val_r2", "val_mae")
METRICS = ("r2", "mae", "mae_summed")


# -- metrics ---------------------------------------------------------------------------------------
def _np64(a: Any) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def _pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t, p = _np64(y_true), _np64(y_pred)
    if t.ndim == 1:
        t = t[:, None]
    if p.ndim == 1:
        p = p[:, None]
    if t.ndim != 2 or p.shape[-2:] != t.shape:
        raise ValueError(
            f"y_pred must have shape (..., N, s) matching y_true (N, s) = {t.shape}; got {p.shape}"
        )
    return t, p


def r2_score(y_true: Any, y_pred: Any) -> Any:
    """R², uniform average over outputs (as scikit-learn's ``r2_score``).

    ``y_true`` (N, s) or (N,); ``y_pred`` the same or (..., N, s) for several models,
    giving (...) scores. An output constant in ``y_true`` scores 1 if predicted exactly,
    else 0 (scikit-learn's ``force_finite``). Computed in float64.
    """
    t, p = _pair(y_true, y_pred)
    ss_res = ((t - p) ** 2).sum(axis=-2)
    ss_tot = ((t - t.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), np.where(ss_res == 0, 1.0, 0.0))
    return r2.mean(axis=-1)[()]


def mae(y_true: Any, y_pred: Any) -> Any:
    """Mean absolute error over all elements (samples and outputs), in the data's units."""
    t, p = _pair(y_true, y_pred)
    return np.abs(t - p).mean(axis=(-1, -2))[()]


def mae_summed(y_true: Any, y_pred: Any) -> Any:
    """The authors' MAE: |error| summed over the outputs, averaged over samples (= s · :func:`mae`)."""
    t, p = _pair(y_true, y_pred)
    return np.abs(t - p).sum(axis=-1).mean(axis=-1)[()]


def regression_metrics(y_true: Any, y_pred: Any) -> dict[str, Any]:
    """``{"r2", "mae", "mae_summed"}`` for (N, s) targets and (..., N, s) predictions."""
    return {"r2": r2_score(y_true, y_pred), "mae": mae(y_true, y_pred), "mae_summed": mae_summed(y_true, y_pred)}


# -- configurations, splits, seeds -----------------------------------------------------------------
def _aug_label(spec: Any) -> str | None:
    if spec is None:
        return None
    if isinstance(spec, str):
        return spec
    if isinstance(spec, (tuple, list)):
        return "+".join(str(_aug_label(s)) for s in spec)
    return repr(spec)


@dataclass(frozen=True)
class Config:
    """One training configuration: augmentation, α (eq. 9), r (eq. 7), τ (eq. 8), loss name.

    ``augmentation``: None, a registered name, ``"a+b"``, a list of names (one per batch,
    at random) or an :class:`hsaug.augment.Augmentation` instance. ``alpha`` ≥ 0: 0 trains
    on MSE alone (no augmentation drawn, unless ``mse_on_views``). ``r`` > 0 is a fraction
    of each output's training range (see the module docstring). ``mse_on_views``: the MSE
    is also taken on the augmented views (labels kept; the regression loss is the mean of
    the two) — with α = 0, plain label-preserving data augmentation without the
    contrastive term. ``name`` labels tables (default derived). Defaults follow the
    authors: α = 0.001, r = 0.03, τ = 1, the ball loss (eq. 8), MSE on the batch only.
    """

    augmentation: Any = "shift"
    alpha: float = 0.001
    r: float = 0.03
    tau: float = 1.0
    loss: str = "ball"
    name: str | None = None
    mse_on_views: bool = False

    def __post_init__(self) -> None:
        try:
            alpha = float(self.alpha)
        except (TypeError, ValueError):
            raise ValueError(f"alpha (the contrastive weight) must be a number >= 0; got {self.alpha!r}") from None
        if not (math.isfinite(alpha) and alpha >= 0):
            raise ValueError(f"alpha (the contrastive weight) must be >= 0 and finite; got {self.alpha!r}")
        object.__setattr__(self, "alpha", alpha)
        object.__setattr__(self, "r", float(check_positive(self.r, "r", "the ball radius")))
        object.__setattr__(self, "tau", float(check_positive(self.tau, "tau", "the temperature")))
        check_loss_name(self.loss)
        spec = self.augmentation
        if isinstance(spec, list):
            spec = tuple(spec)
            object.__setattr__(self, "augmentation", spec)
        augment.build(spec)  # raises ValueError for unknown names
        if not isinstance(self.mse_on_views, (bool, np.bool_)):
            raise ValueError(f"mse_on_views must be True or False; got {self.mse_on_views!r}")
        object.__setattr__(self, "mse_on_views", bool(self.mse_on_views))
        if self.mse_on_views and spec is None:
            raise ValueError("mse_on_views needs an augmentation to make the views; got augmentation=None")

    @classmethod
    def baseline(cls, name: str = "baseline") -> Config:
        """The plain MLP on MSE alone (α = 0, no augmentation)."""
        return cls(augmentation=None, alpha=0.0, name=name)

    @property
    def contrastive(self) -> bool:
        return self.alpha > 0

    @property
    def uses_views(self) -> bool:
        """Whether training draws augmented views (for the contrastive term or the MSE)."""
        return self.contrastive or self.mse_on_views

    @property
    def label(self) -> str:
        if self.name is not None:
            return self.name
        if not self.uses_views:
            return "baseline"
        aug = _aug_label(self.augmentation)
        if not self.contrastive:
            return f"{aug} (MSE only)"
        label = aug or "contrastive (no augmentation)"
        return f"{label} + MSE on views" if self.mse_on_views else label

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description (the augmentation as its name or repr)."""
        out = {"name": self.label, "augmentation": _aug_label(self.augmentation), "alpha": self.alpha,
               "r": self.r, "tau": self.tau, "loss": self.loss}
        if self.mse_on_views:  # only when set, so results stored before this field keep their keys
            out["mse_on_views"] = True
        return out

    def build(self) -> Any:
        """A fresh augmentation object (None for none)."""
        return augment.build(self.augmentation)

    @property
    def _aug_key(self) -> Any:
        spec = self.augmentation
        try:
            hash(spec)
        except TypeError:
            return id(spec)
        return spec if spec is None or isinstance(spec, (str, tuple)) else id(spec)


def _as_config(c: Any) -> Config:
    if isinstance(c, Config):
        return c
    if isinstance(c, dict):
        try:
            return Config(**c)
        except TypeError as err:
            raise ValueError(f"config dict has unknown keys: {err}; accepted: augmentation, alpha, r, tau, "
                             "loss, name") from None
    if c is None or isinstance(c, (str, Augmentation, OneOf, Compose, list, tuple)):
        return Config(augmentation=c) if c is not None else Config.baseline()
    raise ValueError(f"a configuration must be a Config, a dict of its fields, an augmentation spec or None; got {c!r}")


def split_indices(n: int, val_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 0
                  ) -> dict[str, np.ndarray]:
    """Seeded random split of ``n`` rows: ``{"train", "val", "test"}`` sorted index arrays.

    ``round(n · fraction)`` rows go to validation and to test (either may be 0), the rest
    to training (at least 1).
    """
    for value, name in ((val_fraction, "val_fraction"), (test_fraction, "test_fraction")):
        if not (isinstance(value, (int, float)) and 0 <= value < 1):
            raise ValueError(f"{name} must be a fraction in [0, 1); got {value!r}")
    n_val, n_test = round(n * val_fraction), round(n * test_fraction)
    if n - n_val - n_test < 1:
        raise ValueError(f"val_fraction + test_fraction leave no training rows out of {n}; "
                         f"got {val_fraction!r} and {test_fraction!r}")
    perm = np.random.default_rng(seed).permutation(n)
    return {"train": np.sort(perm[n_val + n_test:]), "val": np.sort(perm[:n_val]),
            "test": np.sort(perm[n_val:n_val + n_test])}


def member_generators(seed: int) -> tuple[torch.Generator, torch.Generator, torch.Generator]:
    """Three independent CPU generators (init, data order, augmentation) spawned from ``seed``."""
    states = [int(s.generate_state(1, np.uint64)[0]) for s in np.random.SeedSequence(seed).spawn(3)]
    return tuple(torch.Generator().manual_seed(s) for s in states)  # type: ignore[return-value]


# -- augmentation of several members, each with its own generator ------------------------------------
# written once, with the augmentations: hsaug.augment.members and each class's apply_members
augment_members = augment.augment_members


# -- data ------------------------------------------------------------------------------------------
def _load_data(data: Any, target: Any, wavelength: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[str]]:
    if isinstance(data, xr.Dataset):
        if target is not None or wavelength is not None:
            raise ValueError("pass either a Dataset (with 'spectra' and 'target') or spectra with target and "
                             "wavelength, not both")
        x, y, wl = dataset_tensors(data)
        outputs = [str(o) for o in data["output"].values] if "output" in data.coords else \
            [f"target_{i}" for i in range(y.shape[1])]
        return x, y, wl, outputs
    if target is None:
        raise ValueError("target is required when data is not an xarray.Dataset; got None")
    if wavelength is None and isinstance(data, xr.DataArray) and "wavelength" in data.coords:
        wavelength = data["wavelength"].values
    if wavelength is None:
        raise ValueError("wavelength [nm] is required with spectra that are not a DataArray; got None")
    x = as_spectra(data, name="spectra", dtype=torch.float32)
    wl = check_wavelength(wavelength, x.shape[1])
    y = torch.as_tensor(np.asarray(target.detach().cpu() if isinstance(target, torch.Tensor) else target,
                                   dtype=np.float32))
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2:
        raise ValueError(f"target must be (N,) or (N, s); got {_describe(target)}")
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"target has {y.shape[0]} rows but spectra have {x.shape[0]}; they must match")
    if not torch.isfinite(y).all():
        bad = int((~torch.isfinite(y)).any(dim=1).sum())
        raise ValueError(f"target must be finite; {bad} rows contain NaN or inf")
    return x.cpu(), y, wl, [f"target_{i}" for i in range(y.shape[1])]


def _resolve_split(n: int, split: Any, val_fraction: float, test_fraction: float, split_seed: int
                   ) -> dict[str, np.ndarray]:
    if split is None:
        return split_indices(n, val_fraction, test_fraction, split_seed)
    if not isinstance(split, dict) or "train" not in split:
        raise ValueError(f"split must be a dict with 'train' (and optionally 'val', 'test') row indices; got {split!r}")
    out = {}
    for key in ("train", "val", "test"):
        idx = np.asarray(split.get(key, []), dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise ValueError(f"split[{key!r}] must hold row indices in 0 … {n - 1}")
        out[key] = idx
    if out["train"].size == 0:
        raise ValueError("split['train'] must hold at least one row")
    return out


def _device(device: Any) -> torch.device:
    if device is None:
        return torch.device("cpu")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto'; got {device!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was asked for but CUDA is not available here; use 'cpu' or 'auto'")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto'; got {device!r}")
    return dev


def _positive_int(value: Any, name: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} ({what}) must be a positive integer; got {value!r}")
    return int(value)


# -- results ---------------------------------------------------------------------------------------
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


# -- training --------------------------------------------------------------------------------------
def _runs(keys: Sequence[Any]) -> list[tuple[slice, Any]]:
    """Consecutive runs of equal keys: [(slice, key), ...]."""
    out, start = [], 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[start]:
            out.append((slice(start, i), keys[start]))
            start = i
    return out


def _make_optimizer(params: Any, lr: float, device: torch.device) -> torch.optim.Optimizer:
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):  # fused not supported here
        return torch.optim.Adam(params, lr=lr, foreach=True)


def fit(
    data: Any,
    target: Any = None,
    wavelength: Any = None,
    *,
    configs: Any = None,
    seeds: Sequence[int] | int = (0,),
    epochs: int = 100,
    batch_size: int = 32,
    lr: float = 1e-3,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    split_seed: int = 0,
    split: dict[str, Any] | None = None,
    patience: int | None = None,
    feature_widths: Sequence[int] = FEATURE_WIDTHS,
    head_widths: Sequence[int] = HEAD_WIDTHS,
    device: Any = "cpu",
    progress: bool = True,
    callback: Any = None,
    threads: int | None = None,
) -> FitResult:
    """Train every (configuration, seed) pair as one batched ensemble; evaluate on the test set.

    ``data``: an ``xarray.Dataset`` with ``spectra`` (sample, wavelength) and ``target``
    (sample, output), or spectra (N, B) with ``target`` (N,) / (N, s) and ``wavelength``
    (B,) [nm]. ``configs``: a :class:`Config`, a list of them (or dicts of their fields,
    augmentation specs, None for the baseline); default ``[Config()]`` (shift, eq. 8).
    ``seeds``: one int or a list of distinct ints. ``epochs`` passes over the training
    set, in batches of ``batch_size`` (the last one smaller when it does not divide), Adam
    with learning rate ``lr``. Split: ``split_indices(N, val_fraction, test_fraction,
    split_seed)``, or an explicit ``split`` dict of row indices. ``patience``: early
    stopping after that many epochs without a lower validation MSE, per member, keeping
    its best epoch's weights (needs a validation set). ``device``: "cpu" (default),
    "cuda", "cuda:N" or "auto" (CUDA when present). ``progress``: a tqdm bar over epochs.
    ``callback(epoch, metrics)`` is called after every epoch with ``metrics`` mapping each
    of ``HISTORY_KEYS`` to that epoch's (M,) values, members in the result's order (e.g.
    :class:`hsaug.widgets.TrainingMonitor`). ``threads``: torch CPU threads while training
    (restored afterwards; None keeps torch's setting). On a shared or CPU-quota machine
    (Binder, CI) use 1: with more threads than free cores every parallel op waits for a
    descheduled thread, and epochs run tens of times slower.
    """
    x_all, y_all, wl, outputs = _load_data(data, target, wavelength)
    cfgs = [_as_config(c) for c in (configs if isinstance(configs, (list, tuple)) else
                                    [Config() if configs is None else configs])]
    if not cfgs:
        raise ValueError("configs must hold at least one configuration; got an empty list")
    seed_list = [seeds] if isinstance(seeds, (int, np.integer)) else list(seeds)
    if not seed_list or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0 for s in seed_list):
        raise ValueError(f"seeds must be one or more non-negative integers; got {seeds!r}")
    if len(set(int(s) for s in seed_list)) != len(seed_list):
        raise ValueError(f"seeds must be distinct; got {seeds!r}")
    epochs = _positive_int(epochs, "epochs", "passes over the training set")
    batch_size = _positive_int(batch_size, "batch_size", "spectra per batch")
    lr = float(check_positive(lr, "lr", "the learning rate"))
    if patience is not None:
        patience = _positive_int(patience, "patience", "epochs without improvement before stopping")
    if threads is not None:
        threads = _positive_int(threads, "threads", "torch CPU threads")
    if callback is not None and not callable(callback):
        raise ValueError(f"callback must be callable as callback(epoch, metrics); got {callback!r}")
    fw = check_widths(feature_widths, "feature_widths")
    hw = check_widths(head_widths, "head_widths", allow_empty=True)
    dev = _device(device)
    parts = _resolve_split(x_all.shape[0], split, val_fraction, test_fraction, split_seed)
    n_train = parts["train"].size
    if batch_size > n_train:
        raise ValueError(f"batch_size must be at most the number of training spectra ({n_train}); got {batch_size}")
    if patience is not None and parts["val"].size == 0:
        raise ValueError("patience (early stopping) needs a validation set; got val_fraction=0 / an empty split['val']")

    members = [(c, int(s)) for c in cfgs for s in seed_list]
    t0 = time.perf_counter()
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        trainer = _Trainer(members, x_all, y_all, wl, parts, batch_size=batch_size, lr=lr, fw=fw, hw=hw,
                           device=dev)
        trainer.train(epochs, patience, progress, callback)
    finally:
        torch.set_num_threads(before)
    settings = {"epochs": epochs, "batch_size": batch_size, "lr": lr, "val_fraction": val_fraction,
                "test_fraction": test_fraction, "split_seed": split_seed, "patience": patience,
                "feature_widths": list(fw), "head_widths": list(hw), "device": str(dev),
                "threads": threads if threads is not None else before,
                "n_train": int(n_train), "n_val": int(parts["val"].size), "n_test": int(parts["test"].size),
                "optimizer": "Adam", "regression_loss": "eq. 10: squared error summed over outputs, batch mean",
                "target_scaling": "per output to [0, 1] by training min/max"}
    result = trainer.result(cfgs, seed_list, outputs, settings)
    result.seconds = time.perf_counter() - t0
    return result


class _Trainer:
    """The batched training loop. Members are kept internally in an order that makes every
    group (contrastive or not, loss name, augmentation) a contiguous slice."""

    def __init__(self, members: list[tuple[Config, int]], x: torch.Tensor, y: torch.Tensor, wl: torch.Tensor,
                 parts: dict[str, np.ndarray], *, batch_size: int, lr: float, fw: tuple[int, ...],
                 hw: tuple[int, ...], device: torch.device) -> None:
        self.device = device
        self.batch_size = batch_size
        aug_keys: dict[Any, int] = {}
        for c, _ in members:
            aug_keys.setdefault(c._aug_key, len(aug_keys))
        loss_order = {n: i for i, n in enumerate(loss_names())}
        # members drawing views first ([0, mc)), contrastive ones first among them ([0, n_con))
        self.order = sorted(range(len(members)), key=lambda m: (
            not members[m][0].uses_views, not members[m][0].contrastive, loss_order[members[m][0].loss],
            aug_keys[members[m][0]._aug_key]))
        mem = [members[m] for m in self.order]
        self.members = mem
        self.m = len(mem)
        self.mc = sum(c.uses_views for c, _ in mem)
        self.n_con = sum(c.contrastive for c, _ in mem)
        self.views_mse = torch.tensor([c.mse_on_views for c, _ in mem[:self.mc]], device=device)
        self.any_views_mse = bool(self.views_mse.any())

        self.split = parts
        tr, va, te = (torch.as_tensor(parts[k]) for k in ("train", "val", "test"))
        self.scaling = LabelScaling.fit(y[tr])
        self.x_train = x[tr].to(device)
        self.y_train = self.scaling(y[tr]).to(device)
        self.x_val, self.y_val = x[va].to(device), y[va]
        self.x_test, self.y_test = x[te].to(device), y[te]
        self.wl = wl.to(device)
        self.n_train = tr.numel()

        gens = [member_generators(s) for _, s in mem]
        self.order_gens = [g[1] for g in gens]
        self.aug_gens = [g[2] for g in gens]
        # two ensembles, contrastive members [0, mc) and MSE-only members [mc, M): each runs whole
        # (no slicing of stacked weights, whose backward would copy the full gradients)
        self.groups: list[tuple[slice, MLPEnsemble]] = []
        for sl in (slice(0, self.mc), slice(self.mc, self.m)):
            if sl.stop > sl.start:
                self.groups.append((sl, MLPEnsemble(x.shape[1], y.shape[1], sl.stop - sl.start, feature_widths=fw,
                                                    head_widths=hw, init=[g[0] for g in gens[sl]], device=device)))
        self.params = [(p, sl) for sl, model in self.groups for p in model.parameters()]
        self.opt = _make_optimizer([p for p, _ in self.params], lr, device)
        self.steps = 0

        self.alpha, self.r, self.tau = (torch.tensor([getattr(c, a) for c, _ in mem], dtype=torch.float32,
                                                     device=device) for a in ("alpha", "r", "tau"))
        self.loss_runs = _runs([c.loss for c, _ in mem[:self.n_con]])
        # one augmentation object per distinct spec, fitted on the training spectra when it needs it
        built: dict[Any, Any] = {}
        views = mem[:self.mc]
        for c, _ in views:
            if c._aug_key not in built:
                built[c._aug_key] = aug = c.build()
                augment.fit_reference(aug, self.x_train)
                if aug is not None:  # one pass over the training set: fail now, not mid-training
                    try:
                        augment_members(aug, self.x_train[None], self.wl, [torch.Generator().manual_seed(0)],
                                        torch.arange(self.n_train, device=device)[None])
                    except ValueError as err:
                        raise ValueError(f"augmentation {c.label!r} cannot be applied to the training "
                                         f"spectra: {err}") from None
        self.aug_runs = [(sl, built[key]) for sl, key in _runs([c._aug_key for c, _ in views])]

        self.history = {k: [] for k in HISTORY_KEYS}
        self.best_val = torch.full((self.m,), math.inf)
        self.best_epoch = np.zeros(self.m, dtype=np.int64)
        self.stopped_at = np.zeros(self.m, dtype=np.int64)  # 0 = still running
        self.best_state: list[torch.Tensor] | None = None

    def augment_chunk(self, rows: torch.Tensor, sizes: list[int]) -> torch.Tensor:
        """Augmented views (Mc, R, B) of the training rows ``rows`` (Mc, R) of the members
        drawing views, R = sum of the batch ``sizes``: one augmentation call per group for several
        batches, each batch of each member drawing from that member's generator."""
        b = self.x_train.shape[1]
        xa = self.x_train.index_select(0, rows.reshape(-1)).view(*rows.shape, b)
        for sl, aug in self.aug_runs:
            if aug is None:
                continue
            g = sl.stop - sl.start
            gens = [gen for gen in self.aug_gens[sl] for _ in sizes]
            out = augment.apply_rows(aug, xa[sl].reshape(-1, b), self.wl, gens, sizes * g, rows[sl].reshape(-1))
            xa[sl] = out.view(g, -1, b)
        return xa

    # one optimisation step for all members; returns per-member (loss, mse, contrastive)
    def step(self, idx: torch.Tensor, xa: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``idx`` (M, n) training rows of each member's batch, ``xa`` (Mc, n, B) their augmented views."""
        mc, m, n_con = self.mc, self.m, self.n_con
        flat = idx.reshape(-1)
        xb = self.x_train.index_select(0, flat).view(*idx.shape, -1)  # (M, n, B)
        yb = self.y_train.index_select(0, flat).view(*idx.shape, -1)  # (M, n, s)
        n = idx.shape[1]
        mses, feats = [], None
        if mc:
            f, p = self.groups[0][1](torch.cat([xb[:mc], xa], dim=1))
            mse = (p[:, :n] - yb[:mc]).square().sum(dim=-1).mean(dim=-1)  # eq. (10), (Mc,)
            if self.any_views_mse:  # mean of the batch's and the views' MSE for those members
                on_views = (p[:, n:] - yb[:mc]).square().sum(dim=-1).mean(dim=-1)
                mse = torch.where(self.views_mse, 0.5 * (mse + on_views), mse)
            mses.append(mse)
            feats = f
        if mc < m:
            mses.append((self.groups[-1][1](xb[mc:])[1] - yb[mc:]).square().sum(dim=-1).mean(dim=-1))
        mse = mses[0] if len(mses) == 1 else torch.cat(mses)
        if n_con:
            con = [LOSSES[name](feats[sl], yb[sl], self.r[sl], self.tau[sl]) for sl, name in self.loss_runs]
            if n_con < m:
                con.append(torch.zeros(m - n_con, device=self.device))
            contrastive = con[0] if len(con) == 1 else torch.cat(con)
            total = mse + self.alpha * contrastive
        else:
            contrastive = torch.zeros_like(mse)
            total = mse
        self.opt.zero_grad(set_to_none=True)
        total.sum().backward()
        self.opt.step()
        self.steps += 1
        if self.steps % SUBNORMAL_EVERY == 0:
            self._zero_tiny_moments()
        return total.detach(), mse.detach(), contrastive.detach()

    @torch.no_grad()
    def _zero_tiny_moments(self) -> None:
        for state in self.opt.state.values():
            m = state["exp_avg"]
            m.masked_fill_(m.abs() < SUBNORMAL_FLOOR, 0.0)

    @torch.no_grad()
    def predict_scaled(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([model.predict(x) for _, model in self.groups]).cpu()

    def train(self, epochs: int, patience: int | None, progress: bool, callback: Any = None) -> None:
        from tqdm.auto import tqdm

        bs, n_train = self.batch_size, self.n_train
        has_val = self.x_val.shape[0] > 0
        if patience is not None:
            self.best_state = [p.detach().clone() for p, _ in self.params]
        bar = tqdm(range(1, epochs + 1), desc=f"training {self.m} model{'s' * (self.m > 1)}", disable=not progress,
                   leave=False)
        self.epoch_seconds = []
        for epoch in bar:
            t_epoch = time.perf_counter()
            perms = torch.stack([torch.randperm(n_train, generator=g) for g in self.order_gens]).to(self.device)
            sums = torch.zeros(3, self.m, device=self.device)
            batches = [(a, min(a + bs, n_train)) for a in range(0, n_train, bs)]
            n_batches = len(batches)
            for c0 in range(0, n_batches, AUG_CHUNK):  # augment AUG_CHUNK batches at a time
                chunk = batches[c0:c0 + AUG_CHUNK]
                lo, hi = chunk[0][0], chunk[-1][1]
                xa = self.augment_chunk(perms[:self.mc, lo:hi], [b - a for a, b in chunk]) if self.mc else None
                for a, b in chunk:
                    out = self.step(perms[:, a:b], None if xa is None else xa[:, a - lo:b - lo])
                    sums += torch.stack(out)
            means = (sums / n_batches).cpu().numpy()
            for k, v in zip(("loss", "mse", "contrastive"), means):
                self.history[k].append(v)
            if has_val:
                pred = self.scaling.inverse(self.predict_scaled(self.x_val))
                val_mse = (self.scaling(pred) - self.scaling(self.y_val)).square().sum(-1).mean(-1)
                self.history["val_mse"].append(val_mse.numpy())
                self.history["val_r2"].append(np.asarray(r2_score(self.y_val, pred), dtype=np.float64))
                self.history["val_mae"].append(np.asarray(mae(self.y_val, pred), dtype=np.float64))
            else:
                for k in ("val_mse", "val_r2", "val_mae"):
                    self.history[k].append(np.full(self.m, np.nan))
            running = self.stopped_at == 0
            if has_val:
                val = torch.as_tensor(self.history["val_mse"][-1], dtype=torch.float32)
                better = (val < self.best_val) & torch.as_tensor(running)
                self.best_val = torch.where(better, val, self.best_val)
                self.best_epoch[better.numpy()] = epoch
                if patience is not None and bool(better.any()):
                    for keep, (p, sl) in zip(self.best_state, self.params):
                        sel = better[sl].to(self.device)
                        keep[sel] = p.detach()[sel]
            if patience is not None:
                done = running & (epoch - self.best_epoch >= patience)
                self.stopped_at[done] = epoch
            self.epoch_seconds.append(time.perf_counter() - t_epoch)
            if callback is not None:
                user = np.argsort(self.order)
                callback(epoch, {k: np.asarray(v[-1], dtype=np.float64)[user] for k, v in self.history.items()})
            if progress:
                post = {"loss": f"{float(np.mean(means[0])):.4g}"}
                if has_val:
                    post["val_r2"] = f"{float(np.mean(self.history['val_r2'][-1])):.3f}"
                bar.set_postfix(post)
            if patience is not None and (self.stopped_at > 0).all():
                break
        bar.close()
        self.epochs_run = epoch
        self.stopped_at[self.stopped_at == 0] = epoch
        if patience is not None:
            with torch.no_grad():
                for keep, (p, _) in zip(self.best_state, self.params):
                    p.copy_(keep)
        elif not has_val:
            self.best_epoch[:] = epoch

    def result(self, cfgs: list[Config], seeds: list, outputs: list[str], settings: dict) -> FitResult:
        inv = np.argsort(self.order)  # internal position of each user-order member
        hist = {}
        for k, rows in self.history.items():
            a = np.stack(rows, axis=1).astype(np.float64)  # (M, epochs_run)
            ep = np.arange(1, a.shape[1] + 1)
            a[ep[None, :] > self.stopped_at[:, None]] = np.nan  # after a member stopped
            hist[k] = a[inv]
        metrics: dict[str, np.ndarray] = {}
        pred_test = self.scaling.inverse(self.predict_scaled(self.x_test)).numpy()[inv] \
            if self.x_test.shape[0] else np.zeros((self.m, 0, self.y_test.shape[1]))
        for part, xs, ys in (("test", self.x_test, self.y_test), ("val", self.x_val, self.y_val)):
            if xs.shape[0]:
                pred = pred_test if part == "test" else self.scaling.inverse(self.predict_scaled(xs)).numpy()[inv]
                vals = regression_metrics(ys, pred)
            else:
                vals = {k: np.full(self.m, np.nan) for k in METRICS}
            metrics.update({f"{part}_{k}": np.asarray(v, dtype=np.float64).reshape(self.m) for k, v in vals.items()})
        model = MLPEnsemble.concat([model for _, model in self.groups]).select(torch.as_tensor(inv))
        return FitResult(
            configs=[c for c in cfgs for _ in seeds], seeds=[int(s) for _ in cfgs for s in seeds],
            history=hist, metrics=metrics, predictions=pred_test.astype(np.float64),
            target=self.y_test.numpy().astype(np.float64),
            split={k: np.asarray(v) for k, v in self.split.items()},
            outputs=outputs, wavelength=self.wl.cpu().numpy(), model=model, scaling=self.scaling,
            epochs_trained=self.stopped_at[inv].copy(), best_epoch=self.best_epoch[inv].copy(),
            settings=settings, epoch_seconds=np.asarray(self.epoch_seconds))


# -- linear baselines ------------------------------------------------------------------------------
RIDGE_ALPHAS = tuple(10.0 ** k for k in range(-6, 4))
PLS_COMPONENTS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30)


def fit_baselines(
    data: Any,
    target: Any = None,
    wavelength: Any = None,
    *,
    methods: Sequence[str] = ("ridge", "pls"),
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    split_seed: int = 0,
    split: dict[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """Ridge and PLS regression (scikit-learn) on the same split as :func:`fit`.

    Ridge: spectra standardised per band, ``alpha`` chosen from ``RIDGE_ALPHAS``; PLS
    (``scale=True``): ``n_components`` from ``PLS_COMPONENTS`` (≤ bands, < training rows).
    Each is chosen by validation R² (by training R² when there is no validation set),
    fitted on the training rows only. Returns ``{method: {"params", "test_r2", "test_mae",
    "test_mae_summed", "val_r2", …, "predictions" (N_test, s), "estimator"}}``, metrics as in
    :func:`fit`; ``estimator`` is the fitted scikit-learn model (``.predict(x)``, x (N, B) float64).
    """
    from sklearn.cross_decomposition import PLSRegression
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    known = ("ridge", "pls")
    if isinstance(methods, str) or any(m not in known for m in methods):
        raise ValueError(f"methods must be a list drawn from {list(known)}; got {methods!r}")
    x, y, _, _ = _load_data(data, target, wavelength)
    parts = _resolve_split(x.shape[0], split, val_fraction, test_fraction, split_seed)
    xn, yn = x.double().numpy(), y.double().numpy()
    tr, va, te = parts["train"], parts["val"], parts["test"]
    sel_x, sel_y = (xn[va], yn[va]) if va.size else (xn[tr], yn[tr])
    out = {}
    for method in methods:
        if method == "ridge":
            grid = [{"alpha": a} for a in RIDGE_ALPHAS]
            build = lambda p: make_pipeline(StandardScaler(), Ridge(alpha=p["alpha"]))  # noqa: E731
        else:
            limit = min(x.shape[1], tr.size - 1)
            grid = [{"n_components": k} for k in PLS_COMPONENTS if k <= limit] or [{"n_components": 1}]
            build = lambda p: PLSRegression(n_components=p["n_components"], scale=True)  # noqa: E731
        best = None
        for params in grid:  # a small hyper-parameter search, not a loop over spectra
            est = build(params).fit(xn[tr], yn[tr])
            score = r2_score(sel_y, est.predict(sel_x).reshape(sel_y.shape))
            if best is None or score > best[0]:
                best = (score, params, est)
        _, params, est = best
        res: dict[str, Any] = {"method": method, "params": params, "estimator": est}
        for part, rows in (("test", te), ("val", va)):
            if rows.size:
                pred = est.predict(xn[rows]).reshape(rows.size, -1)
                res.update({f"{part}_{k}": float(v) for k, v in regression_metrics(yn[rows], pred).items()})
                if part == "test":
                    res["predictions"] = pred
            else:
                res.update({f"{part}_{k}": float("nan") for k in METRICS})
        out[method] = res
    return out
