"""Combining augmentations: a chain (:class:`Compose`) or a random choice (:class:`OneOf`).

Both draw per ensemble member through ``apply_members`` (see :mod:`hsaug.augment.members`);
a plain call is the one-member case of it, so the behaviour is written once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from ..spectra import as_spectra, check_wavelength
from .members import apply_rows

__all__ = ["Compose", "OneOf"]


class _Group:
    """What Compose and OneOf share: members, fitting a reference, and the plain call."""

    augmentations: list[Any]

    @property
    def needs_reference(self) -> bool:
        """True when a member needs a reference set (call :meth:`fit` first)."""
        return any(getattr(a, "needs_reference", False) for a in self.augmentations)

    def fit(self, reference: Any) -> _Group:
        """Fit every member that has a ``fit`` on ``reference`` (R, B); returns ``self``."""
        for aug in self.augmentations:
            if callable(getattr(aug, "fit", None)):
                aug.fit(reference)
        return self

    def __call__(self, x: Any, wavelength: Any, generator: torch.Generator | None = None, *,
                 index: torch.Tensor | None = None, validate: bool = True) -> torch.Tensor:
        """Augment ``x`` (N, B) on ``wavelength`` (B,) [nm], drawing from ``generator``."""
        if validate:
            x = as_spectra(x)
            wavelength = check_wavelength(wavelength, x.shape[1], device=x.device)
        return self.apply_members(x, wavelength, [generator], [x.shape[0]], index)

    def apply_members(self, x: torch.Tensor, wavelength: torch.Tensor, generators: Sequence[Any],
                      counts: Sequence[int], index: torch.Tensor | None = None) -> torch.Tensor:
        raise NotImplementedError


class Compose(_Group):
    """Apply augmentations one after another, each drawing its own parameters."""

    def __init__(self, augmentations: Sequence[Any]) -> None:
        if not augmentations:
            raise ValueError("Compose needs at least one augmentation; got none")
        self.augmentations = list(augmentations)

    @property
    def name(self) -> str:
        return " > ".join(a.name for a in self.augmentations)

    def __repr__(self) -> str:
        return f"Compose({self.augmentations!r})"

    def apply_members(self, x: torch.Tensor, wavelength: torch.Tensor, generators: Sequence[Any],
                      counts: Sequence[int], index: torch.Tensor | None = None) -> torch.Tensor:
        """Each augmentation in turn on all rows, per member (see :func:`~hsaug.augment.members.apply_rows`)."""
        for aug in self.augmentations:
            x = apply_rows(aug, x, wavelength, generators, counts, index)
        return x


class OneOf(_Group):
    """Apply one augmentation chosen at random: per batch (``mode="batch"``, the authors'
    training loop) or per spectrum (``mode="sample"``). ``weights`` default to equal.

    Per-sample mode groups the spectra by their chosen member and applies each member
    once to its group (a loop over members, never over spectra). ``last_choice`` keeps
    the member index of each spectrum (N,).
    """

    def __init__(self, augmentations: Sequence[Any], mode: str = "batch",
                 weights: Sequence[float] | None = None) -> None:
        if not augmentations:
            raise ValueError("OneOf needs at least one augmentation; got none")
        if mode not in ("batch", "sample"):
            raise ValueError(f"OneOf mode must be 'batch' or 'sample'; got {mode!r}")
        self.augmentations = list(augmentations)
        self.mode = mode
        self.weights = _check_weights(weights, len(self.augmentations))
        self.last_choice: torch.Tensor | None = None

    @property
    def name(self) -> str:
        return "+".join(a.name for a in self.augmentations)

    def __repr__(self) -> str:
        return f"OneOf({self.augmentations!r}, mode={self.mode!r})"

    def apply_members(self, x: torch.Tensor, wavelength: torch.Tensor, generators: Sequence[Any],
                      counts: Sequence[int], index: torch.Tensor | None = None) -> torch.Tensor:
        """Choose a member augmentation per batch (one draw per ensemble member) or per spectrum
        from each member's generator, then apply each augmentation once to the rows that chose it."""
        counts = list(counts)
        empty = torch.empty(0, dtype=torch.long)
        if self.mode == "batch":
            choice = torch.cat([
                torch.multinomial(self.weights, 1, generator=g).expand(c) if c > 0 else empty
                for g, c in zip(generators, counts)
            ])
        else:
            choice = torch.cat([
                torch.multinomial(self.weights, c, replacement=True, generator=g) if c > 0 else empty
                for g, c in zip(generators, counts)
            ])
        self.last_choice = choice
        owner = torch.repeat_interleave(torch.arange(len(counts)), torch.as_tensor(counts))
        out = torch.empty_like(x)
        for k, sub in enumerate(self.augmentations):  # a loop over the choices, not spectra
            rows = (choice == k).nonzero().flatten()
            if rows.numel() == 0:
                continue
            sub_counts = torch.bincount(owner[rows], minlength=len(counts)).tolist()
            rows_dev = rows.to(x.device)
            sub_index = None if index is None else index[rows_dev]
            out[rows_dev] = apply_rows(sub, x[rows_dev], wavelength, generators, sub_counts, sub_index)
        return out


def _check_weights(weights: Sequence[float] | None, n: int) -> torch.Tensor:
    """Normalised (n,) float32 weights; refuses a wrong count, NaN, inf, negatives and all zeros."""
    accepted = f"{n} finite non-negative numbers, not all zero"
    if weights is None:
        w = torch.ones(n)
        return w / w.sum()
    try:
        values = [float(w) for w in weights]
    except (TypeError, ValueError):
        raise ValueError(f"OneOf weights must be {accepted}; got {weights!r}") from None
    if len(values) != n:
        raise ValueError(f"OneOf weights must be {accepted} (one per augmentation); got {len(values)}: {weights!r}")
    bad = [w for w in values if not math.isfinite(w) or w < 0]
    if bad or sum(values) <= 0:
        what = f"{bad[0]!r}" if bad else "all zero"
        raise ValueError(f"OneOf weights must be {accepted}; got {what} in {weights!r}")
    w = torch.as_tensor(values, dtype=torch.float)
    return w / w.sum()
