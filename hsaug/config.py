"""Configurations: :class:`Config` (one model's augmentation, α, r, τ and loss)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import augment
from .augment import Augmentation, Compose, OneOf
from .losses import check_loss_name, check_positive

__all__ = ["Config", "as_config"]


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


def as_config(c: Any) -> Config:
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

