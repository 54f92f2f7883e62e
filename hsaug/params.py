"""Parameter specs: the single source for sliders, checks and random draws.

A :class:`Param` says what a numeric setting accepts (``low``/``high``), its neutral
``default``, its ``unit``, a one-line ``doc`` and the interval random draws come from
(``sample_range``); an :class:`Option` is a categorical setting. Augmentations
(:mod:`hsaug.augment`), the clear-sky illumination (:mod:`hsaug.illumination`) and the
explorers' sliders (:mod:`hsaug.widgets`) all read them. This module is the ground floor:
it imports nothing from hsaug.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

__all__ = ["Param", "Option", "uniform"]


@dataclass(frozen=True)
class Param:
    """A numeric parameter: accepted interval, neutral default, unit and random range.

    ``low``/``high`` bound what ``apply`` accepts (and the slider); ``default`` is the
    neutral value at which the augmentation is the identity; ``sample_range`` is the
    default interval ``sample`` draws from (configurable per instance). ``position``
    marks a wavelength position [nm] whose random range is narrowed to the data's grid.
    """

    name: str
    low: float
    high: float
    default: float
    unit: str = ""
    doc: str = ""
    label: str = ""
    integer: bool = False
    sample_range: tuple[float, float] | None = None
    position: bool = False
    step: float | None = None

    def __post_init__(self) -> None:
        if not self.low <= self.default <= self.high:
            raise ValueError(f"Param {self.name}: default {self.default} outside [{self.low}, {self.high}]")
        if self.sample_range is not None and not self.low <= self.sample_range[0] <= self.sample_range[1] <= self.high:
            raise ValueError(
                f"Param {self.name}: sample_range {self.sample_range} must lie within [{self.low}, {self.high}]"
            )

    def check(self, value: Any, owner: str = "") -> float:
        """``value`` as a float if it lies in [low, high] (a whole number when ``integer``);
        else ValueError naming the parameter, the value and the accepted interval."""
        where = f"{owner}: " if owner else ""
        interval = f"[{self.low:g}, {self.high:g}] {self.unit}".rstrip()
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{where}{self.name} must be a number in {interval}; got {value!r}") from None
        if not self.low <= v <= self.high:  # also refuses NaN
            raise ValueError(f"{where}{self.name} must lie in {interval}; got {value!r}")
        if self.integer and v != math.floor(v):
            raise ValueError(f"{where}{self.name} must be a whole number in {interval}; got {value!r}")
        return v

    @property
    def display(self) -> str:
        """Slider label with unit, e.g. ``Δ [nm]``."""
        text = self.label or self.name
        return f"{text} [{self.unit}]" if self.unit else text

    @property
    def slider_step(self) -> float:
        if self.step is not None:
            return self.step
        if self.integer:
            return 1.0
        return (self.high - self.low) / 200.0


@dataclass(frozen=True)
class Option:
    """A categorical setting fixed per instance (e.g. the edge rule of a shift)."""

    name: str
    choices: tuple[Any, ...]
    default: Any
    doc: str = ""


def uniform(
    n: int, low: float, high: float, generator: torch.Generator | None = None, *, integer: bool = False
) -> torch.Tensor:
    """(n,) float32 CPU draws uniform in [low, high] (whole numbers when ``integer``)."""
    if integer:
        lo, hi = math.ceil(low), math.floor(high)
        return torch.randint(lo, hi + 1, (n,), generator=generator).float()
    u = torch.rand(n, generator=generator)
    return (low + (high - low) * u).float()
