"""Configurations: :class:`Config` (one model: augmentation, α, r, τ, loss) and
:class:`TrainSettings` (one training protocol: epochs, batch size, lr, seeds, split, device).

Both are typed and frozen, checked once on construction (errors name the argument, the
value and what is accepted), and every default lives here: build one at the edge (CLI
flags, notebook parameters, :mod:`hsaug.reproduction` presets) and pass it down unchanged.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import torch

from . import augment
from .augment import Augmentation, Compose, OneOf
from .losses import check_loss_name, check_positive
from .models import FEATURE_WIDTHS, HEAD_WIDTHS, check_widths
from .predictor import check_constraint
from .preprocess import DEFAULT as DEFAULT_PREPROCESS
from .preprocess import build as build_preprocess
from .splits import check_split_rows

__all__ = ["Config", "TrainSettings", "as_config", "positive_int", "resolve_device", "RNC_MIN_TAU", "auto_patience"]

#: The smallest τ the Rank-N-Contrast loss takes: its float64 sums of exp(s − max), s = cos/τ,
#: underflow to 0 (log 0 = −inf, a NaN loss) below τ ≈ 2/745 (see :func:`hsaug.losses.rnc_loss`).
RNC_MIN_TAU = 0.003


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
    contrastive term. ``ranges`` names the set of random ranges the augmentations draw from
    (:func:`hsaug.augment.range_sets`: ``"hsaug"``, the default, or ``"authors"``, the
    authors' code). ``name`` labels tables (default derived). Defaults follow the
    authors: α = 0.001, r = 0.03, τ = 1, the ball loss (eq. 8), MSE on the batch only.
    """

    augmentation: Any = "shift"
    alpha: float = 0.001
    r: float = 0.03
    tau: float = 1.0
    loss: str = "ball"
    name: str | None = None
    mse_on_views: bool = False
    ranges: str = "hsaug"

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
        if self.loss == "rnc" and self.tau < RNC_MIN_TAU:
            raise ValueError(f"tau (the temperature) must be >= {RNC_MIN_TAU} with loss='rnc' (its sums underflow "
                             f"below that and the loss turns NaN); got {self.tau!r}")
        spec = self.augmentation
        if isinstance(spec, list):
            spec = tuple(spec)
            object.__setattr__(self, "augmentation", spec)
        if self.ranges not in augment.range_sets():
            raise ValueError(f"ranges must be one of {augment.range_sets()}; got {self.ranges!r}")
        augment.build(spec, ranges=self.ranges)  # raises ValueError for unknown names
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
        if self.ranges != "hsaug":
            label = f"{label} [{self.ranges} ranges]"
        return f"{label} + MSE on views" if self.mse_on_views else label

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description (the augmentation as its name or repr)."""
        out = {"name": self.label, "augmentation": _aug_label(self.augmentation), "alpha": self.alpha,
               "r": self.r, "tau": self.tau, "loss": self.loss}
        if self.mse_on_views:  # only when set, so results stored before this field keep their keys
            out["mse_on_views"] = True
        if self.ranges != "hsaug":  # likewise: stored keys of runs on the default ranges are unchanged
            out["ranges"] = self.ranges
        return out

    def build(self) -> Any:
        """A fresh augmentation object (None for none)."""
        return augment.build(self.augmentation, ranges=self.ranges)

    @property
    def _aug_key(self) -> Any:
        spec = self.augmentation
        try:
            hash(spec)
        except TypeError:
            return id(spec)
        key = spec if spec is None or isinstance(spec, (str, tuple)) else id(spec)
        return key if self.ranges == "hsaug" else (key, self.ranges)


def as_config(c: Any) -> Config:
    if isinstance(c, Config):
        return c
    if isinstance(c, dict):
        try:
            return Config(**c)
        except TypeError as err:
            raise ValueError(f"config dict has unknown keys: {err}; accepted: augmentation, alpha, r, tau, "
                             "loss, name, mse_on_views, ranges") from None
    if c is None or isinstance(c, (str, Augmentation, OneOf, Compose, list, tuple)):
        return Config(augmentation=c) if c is not None else Config.baseline()
    raise ValueError(f"a configuration must be a Config, a dict of its fields, an augmentation spec or None; got {c!r}")



def positive_int(value: Any, name: str, what: str) -> int:
    """``value`` as an int >= 1; ValueError naming ``name`` otherwise (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} ({what}) must be a positive integer; got {value!r}")
    return int(value)


def resolve_device(device: Any) -> torch.device:
    """"cpu", "cuda", "cuda:N", "auto" (CUDA when present) or a torch.device, checked to exist here."""
    if device is None:
        return torch.device("cpu")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto'; got {device!r}") from None
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto'; got {device!r}")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was asked for but CUDA is not available here (torch "
                         f"{torch.__version__}, built {'with' if torch.backends.cuda.is_built() else 'without'} "
                         "CUDA); use 'cpu' or 'auto'")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"device {device!r} does not exist: this machine has {torch.cuda.device_count()} "
                         "CUDA device(s)")
    return dev


def _seed_tuple(seeds: Any) -> tuple[int, ...]:
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"seeds must be a positive number of seeds (0 … n−1) or a list of distinct "
                             f"non-negative integers; got {seeds!r}")
        return tuple(range(int(seeds)))
    try:
        out = tuple(seeds)
    except TypeError:
        raise ValueError(f"seeds must be a number of seeds or a list of distinct non-negative integers; "
                         f"got {seeds!r}") from None
    if not out or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0 for s in out):
        raise ValueError(f"seeds must be one or more non-negative integers; got {seeds!r}")
    if len(set(int(s) for s in out)) != len(out):
        raise ValueError(f"seeds must be distinct; got {seeds!r}")
    return tuple(int(s) for s in out)


def auto_patience(epochs: int) -> int:
    """Early-stopping patience of ``patience="auto"``: 10 % of ``epochs``, at least 5 epochs.

    Why (docs/models.md): under a fixed 100-epoch schedule, inputs at unit scale (``standardize``)
    overfit after 6–13 epochs and lose R² against ``none``; keeping the best validation epoch's
    weights closes most of that gap while leaving ``none`` where it was."""
    return max(5, int(epochs) // 10)


@dataclass(frozen=True)
class TrainSettings:
    """How models are trained and evaluated: the settings a protocol shares by all its members.

    ``epochs`` passes over the training set in batches of ``batch_size`` (Adam, learning
    rate ``lr``); ``patience``: early stopping after that many epochs without a lower
    validation MSE, the best epoch's weights kept (None: train all epochs, the last epoch's
    weights). The default ``"auto"`` makes the number of epochs a selection on validation data:
    :func:`auto_patience` (10 % of ``epochs``, at least 5) when there is a validation set, None
    without one; :attr:`early_stopping` is the number used. The paper's fixed schedule (the
    reproduction presets) is ``patience=None``. ``seeds``: a number n of seeds (0 … n−1) or
    a list of distinct non-negative ints; every configuration is trained once per seed.
    Split: ``split_indices(N, val_fraction, test_fraction, split_seed)``, or an explicit
    ``split`` ``{"train", "val", "test"}`` of disjoint row indices. ``feature_widths`` /
    ``head_widths``: the MLP's layers. ``device``: "cpu", "cuda", "cuda:N" or "auto".
    ``threads``: torch CPU threads while training (None keeps torch's; use 1 on a shared
    machine). Defaults are the authors' (100 epochs, batch 32, lr 1e-3, 80/10/10 split).
    ``preprocess``: the model's first stage, an input transform fitted on the training rows
    (:func:`hsaug.preprocess.build`: ``"standardize"`` — the default —, ``"none"``, ``"snv"``,
    ``"savgol(...)"``, chains ``"a+b"``); augmentations act on the spectra before it. The
    paper's protocol (the authors' code) feeds the spectra as they are: ``"none"``, which the
    reproduction presets (:func:`hsaug.reproduction.train_settings`) pin. ``constraint``: the
    output head, ``"none"``, ``"nonneg"`` or ``"sum_to_one"`` (:mod:`hsaug.predictor`).
    """

    epochs: int = 100
    batch_size: int = 32
    lr: float = 1e-3
    patience: int | str | None = "auto"
    seeds: Any = (0,)
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    split_seed: int = 0
    split: dict[str, tuple[int, ...]] | None = field(default=None, compare=True)
    feature_widths: tuple[int, ...] = FEATURE_WIDTHS
    head_widths: tuple[int, ...] = HEAD_WIDTHS
    device: str = "cpu"
    threads: int | None = None
    preprocess: str = DEFAULT_PREPROCESS
    constraint: str = "none"

    def __post_init__(self) -> None:
        put = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        put("epochs", positive_int(self.epochs, "epochs", "passes over the training set"))
        put("batch_size", positive_int(self.batch_size, "batch_size", "spectra per batch"))
        put("lr", float(check_positive(self.lr, "lr", "the learning rate")))
        if isinstance(self.patience, str):
            if self.patience != "auto":
                raise ValueError(f"patience must be a positive integer, 'auto' or None; got {self.patience!r}")
        elif self.patience is not None:
            put("patience", positive_int(self.patience, "patience", "epochs without improvement before stopping"))
        put("seeds", _seed_tuple(self.seeds))
        for name in ("val_fraction", "test_fraction"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not 0 <= value < 1:
                raise ValueError(f"{name} must be a fraction in [0, 1); got {value!r}")
            put(name, float(value) if isinstance(value, np.floating) else value)
        if self.val_fraction + self.test_fraction >= 1:
            raise ValueError(f"val_fraction + test_fraction must be < 1 (some rows must train); got "
                             f"{self.val_fraction!r} + {self.test_fraction!r}")
        if isinstance(self.split_seed, bool) or not isinstance(self.split_seed, (int, np.integer)) \
                or self.split_seed < 0:
            raise ValueError(f"split_seed must be a non-negative integer; got {self.split_seed!r}")
        put("split_seed", int(self.split_seed))
        if self.split is not None:
            put("split", check_split_rows(self.split))
        put("feature_widths", check_widths(self.feature_widths, "feature_widths"))
        put("head_widths", check_widths(self.head_widths, "head_widths", allow_empty=True))
        if not isinstance(self.device, (str, torch.device)):
            raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto'; got {self.device!r}")
        resolve_device(self.device)  # fails here, at the edge, when the device is not there
        put("device", str(self.device))
        if self.threads is not None:
            put("threads", positive_int(self.threads, "threads", "torch CPU threads"))
        put("preprocess", build_preprocess(self.preprocess).spec)  # checked, in its canonical spelling
        put("constraint", check_constraint(self.constraint))

    @property
    def early_stopping(self) -> int | None:
        """The patience training uses: ``patience`` itself, or for ``"auto"`` :func:`auto_patience` of the
        epochs when there is a validation set (``val_fraction`` > 0 or a ``split`` with validation rows) and
        None (every epoch, the last one's weights) without one."""
        if self.patience != "auto":
            return self.patience
        has_val = bool(self.split["val"]) if self.split is not None else self.val_fraction > 0
        return auto_patience(self.epochs) if has_val else None

    def replace(self, **changes: Any) -> TrainSettings:
        """A copy with ``changes`` (checked like the constructor's arguments)."""
        unknown = set(changes) - set(self.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown training setting(s) {sorted(unknown)}; accepted: "
                             f"{list(self.__dataclass_fields__)}")
        return replace(self, **changes)

    @classmethod
    def paper(cls, **changes: Any) -> TrainSettings:
        """The paper's protocol: raw inputs (``preprocess="none"``) and a fixed schedule
        (``patience=None``: every epoch, the last one's weights), with ``changes`` (seeds, epochs, …).
        The defaults of :class:`TrainSettings` are the practitioner's (standardize, early stopping)."""
        return cls(**{"preprocess": "none", "patience": None, **changes})

    @classmethod
    def build(cls, settings: TrainSettings | None = None, **changes: Any) -> TrainSettings:
        """``settings`` (default ``TrainSettings()``) with ``changes``; unknown names are refused."""
        if settings is not None and not isinstance(settings, TrainSettings):
            raise ValueError(f"settings must be a hsaug.config.TrainSettings; got {type(settings).__name__}")
        return (settings or cls()).replace(**changes)

    @property
    def run_key(self) -> dict[str, Any]:
        """What makes stored runs reusable: the settings that change a trained model's numbers
        (not the seeds, which key each run, nor the device or threads). The same dict as
        stores written before :class:`TrainSettings` existed, so their runs are reused."""
        out: dict[str, Any] = {k: getattr(self, k) for k in ("epochs", "batch_size", "lr", "val_fraction",
                                                             "test_fraction", "split_seed")}
        out["patience"] = self.early_stopping  # the number used (runs stored before "auto" keep their keys)
        if self.split is not None:
            out["split"] = {k: list(v) for k, v in self.split.items()}
        if self.feature_widths != FEATURE_WIDTHS:
            out["feature_widths"] = list(self.feature_widths)
        if self.head_widths != HEAD_WIDTHS:
            out["head_widths"] = list(self.head_widths)
        if self.preprocess != "none":  # only when set, so runs stored before the option keep their keys
            out["preprocess"] = self.preprocess
        if self.constraint != "none":
            out["constraint"] = self.constraint
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description."""
        out = asdict(self)
        out["seeds"] = list(self.seeds)
        out["split"] = None if self.split is None else {k: list(v) for k, v in self.split.items()}
        out["feature_widths"], out["head_widths"] = list(self.feature_widths), list(self.head_widths)
        return out
