"""Combining augmentations: a chain (:class:`Compose`) or a random choice (:class:`OneOf`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ..spectra import as_spectra, check_wavelength

__all__ = ["Compose", "OneOf"]


class Compose:
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

    def __call__(self, x: Any, wavelength: Any, generator: torch.Generator | None = None, *,
                 index: torch.Tensor | None = None, validate: bool = True) -> torch.Tensor:
        for aug in self.augmentations:
            x = aug(x, wavelength, generator, index=index, validate=validate)
        return x


class OneOf:
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
        w = torch.ones(len(augmentations)) if weights is None else torch.as_tensor(weights, dtype=torch.float)
        if w.shape != (len(augmentations),) or not (w >= 0).all() or w.sum() <= 0:
            raise ValueError(f"weights must be {len(augmentations)} non-negative numbers, not all zero; got {weights!r}")
        self.augmentations = list(augmentations)
        self.mode = mode
        self.weights = w / w.sum()
        self.last_choice: torch.Tensor | None = None

    @property
    def name(self) -> str:
        return "+".join(a.name for a in self.augmentations)

    def __repr__(self) -> str:
        return f"OneOf({self.augmentations!r}, mode={self.mode!r})"

    def __call__(self, x: Any, wavelength: Any, generator: torch.Generator | None = None, *,
                 index: torch.Tensor | None = None, validate: bool = True) -> torch.Tensor:
        if validate:
            x = as_spectra(x)
            wavelength = check_wavelength(wavelength, x.shape[1], device=x.device)
        n = x.shape[0]
        if self.mode == "batch":
            k = int(torch.multinomial(self.weights, 1, generator=generator))
            self.last_choice = torch.full((n,), k, dtype=torch.long)
            return self.augmentations[k](x, wavelength, generator, index=index, validate=validate)
        choice = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        self.last_choice = choice
        out = torch.empty_like(x)
        choice = choice.to(x.device)
        for k, aug in enumerate(self.augmentations):
            rows = (choice == k).nonzero().flatten()
            if rows.numel():
                sub_index = None if index is None else index[rows]
                out[rows] = aug(x[rows], wavelength, generator, index=sub_index, validate=validate)
        return out
