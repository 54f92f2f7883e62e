"""Augmenting for a batched ensemble: every member draws from its own generator.

A batched ensemble (:class:`hsaug.models.MLPEnsemble`) trains G members at once; each
member has its own ``torch.Generator`` for augmentation draws. The rows of all members
are augmented in one transform call, while member g's parameters come from its generator
alone, in the order its own call ``aug(x_g, wavelength, generators[g])`` would draw them —
so a member's augmented views do not depend on which members share its ensemble.

The logic lives with the augmentations (:meth:`Augmentation.apply_members`,
``Compose.apply_members``, ``OneOf.apply_members``); this module is the entry point for
any augmentation-like object and for fitting a reference set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

__all__ = ["apply_rows", "augment_members", "fit_reference"]


def apply_rows(
    aug: Any,
    x: torch.Tensor,
    wavelength: torch.Tensor,
    generators: Sequence[torch.Generator | None],
    counts: Sequence[int],
    index: torch.Tensor | None = None,
) -> torch.Tensor:
    """Augment rows ``x`` (R, B) that come in consecutive blocks, ``counts[g]`` rows for
    member g drawing from ``generators[g]``; returns (R, B).

    ``x`` and ``wavelength`` (B,) are checked tensors (no validation here); ``index`` (R,)
    gives each row's place in the reference set. An augmentation, Compose or OneOf uses its
    ``apply_members``; any other callable ``f(x, wavelength, generator, index=, validate=)``
    is called once per member.
    """
    counts = list(counts)
    if hasattr(aug, "apply_members"):
        return aug.apply_members(x, wavelength, generators, counts, index)
    parts, start = [], 0
    for g, c in zip(generators, counts):  # a loop over members, not spectra
        if c:
            sl = slice(start, start + c)
            parts.append(aug(x[sl], wavelength, g, index=None if index is None else index[sl], validate=False))
        start += c
    return torch.cat(parts)


def augment_members(
    aug: Any,
    x: torch.Tensor,
    wavelength: torch.Tensor,
    generators: Sequence[torch.Generator],
    index: torch.Tensor | None = None,
) -> torch.Tensor:
    """Augment one batch per member: ``x`` (G, n, B) → (G, n, B).

    Member g's draws come from ``generators[g]`` alone, in the order of a call
    ``aug(x[g], wavelength, generators[g], index=index[g])``, so the result for g does not
    depend on the other members; the transform itself runs once on all G·n rows.
    ``wavelength`` (B,) is a checked float tensor [nm]; ``index`` (G, n) gives each
    spectrum's row in the reference (training) set.
    """
    g, n, b = x.shape
    if len(generators) != g:
        raise ValueError(f"generators must give one generator per member ({g}); got {len(generators)}")
    flat_index = None if index is None else index.reshape(g * n)
    out = apply_rows(aug, x.reshape(g * n, b), wavelength, list(generators), [n] * g, flat_index)
    return out.view(g, n, b)


def fit_reference(aug: Any, reference: Any) -> Any:
    """``aug.fit(reference)`` where ``aug`` has a ``fit`` (augmentations, Compose and OneOf
    pass it to their members; only those that declare ``needs_reference`` keep anything).
    None and plain callables are returned unchanged. Returns ``aug``."""
    if aug is not None and callable(getattr(aug, "fit", None)):
        aug.fit(reference)
    return aug
