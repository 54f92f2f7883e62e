"""Nearest-neighbour augmentation (paper §3.2, after Wang et al. 2023): a spectrum becomes
the mean of its k nearest spectra in a reference set (the training set), itself included.

Neighbours are found once, by :meth:`NearestNeighbor.fit`, with chunked matrix products
and ``topk`` (memory O(chunk · R), never R²); a training batch then only gathers them,
given each spectrum's row ``index`` in the reference.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ..spectra import as_spectra
from .base import Augmentation, Param, Params

__all__ = ["NearestNeighbor", "nearest"]

K_MAX = 20
_CHUNK_ELEMENTS = 1 << 24  # distance-matrix entries per chunk (64 MiB in float32)


def nearest(query: torch.Tensor, reference: torch.Tensor, k: int, *, self_rows: bool = False) -> torch.Tensor:
    """(Q, k) long: rows of ``reference`` (R, B) nearest to each ``query`` row (Q, B) in
    Euclidean distance, nearest first.

    Works in chunks of query rows with ``‖r‖² − 2 q·r`` (the ranking of ‖q − r‖²) and
    ``topk``. ``self_rows=True`` says ``query`` is ``reference``: row i then always comes
    first in its own list, ahead of any duplicate of it.
    """
    r = reference.shape[0]
    ref_sq = (reference * reference).sum(dim=1)  # (R,)
    chunk = max(1, min(query.shape[0], _CHUNK_ELEMENTS // max(r, 1)))
    out = torch.empty(query.shape[0], k, dtype=torch.long, device=query.device)
    for lo in range(0, query.shape[0], chunk):  # a loop over chunks, not spectra
        q = query[lo:lo + chunk]
        d = torch.addmm(ref_sq[None, :], q, reference.T, alpha=-2.0)  # (chunk, R)
        if self_rows:
            rows = torch.arange(q.shape[0], device=q.device)
            d[rows, rows + lo] = -float("inf")
        out[lo:lo + chunk] = d.topk(k, dim=1, largest=False, sorted=True).indices
    return out


class NearestNeighbor(Augmentation):
    """Nearest-neighbour mean: x̃ = (x + Σ of its k − 1 nearest other reference spectra) / k.

    Fit a reference set first — ``NearestNeighbor(reference=X)`` or ``.fit(X)`` with the
    training spectra (R, B) — which stores each reference row's ``K_MAX`` = 20 nearest
    rows (itself first). ``apply(x, wavelength, index=rows, k=...)`` then gathers the
    neighbours of reference rows ``index`` (N,); without ``index`` the neighbours of ``x``
    are searched in the reference (slower), and a reference row equal to ``x`` counts as
    the spectrum itself, not as a neighbour. ``k`` is per spectrum, 1 … min(20, R).
    Neutral: ``k`` = 1 returns ``x`` exactly (also without a reference). With ``index``,
    ``x`` is taken to be reference row ``index`` (or an augmented copy of it); only the
    neighbours come from the reference. The authors use k = 5 over the training set.
    """

    name = "nearest_neighbor"
    needs_reference = True
    param_specs = (
        Param("k", 1.0, float(K_MAX), 1.0, integer=True, doc="spectra averaged, the spectrum itself included",
              sample_range=(5.0, 5.0)),
    )

    def __init__(self, reference: Any | None = None, **config: Any) -> None:
        super().__init__(**config)
        self.reference: torch.Tensor | None = None
        self.neighbors: torch.Tensor | None = None
        self._cache: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}
        if reference is not None:
            self.fit(reference)

    def extra_repr(self) -> str:
        return "unfitted" if self.reference is None else f"reference={tuple(self.reference.shape)}"

    def fit(self, reference: Any) -> NearestNeighbor:
        """Store the reference spectra (R, B) — tensor, ndarray or DataArray — and each
        row's min(20, R) nearest rows, itself first. Returns ``self``."""
        ref = as_spectra(reference, name="reference").float()
        self.neighbors = nearest(ref, ref, min(K_MAX, ref.shape[0]), self_rows=True)
        self.reference = ref
        self._cache = {ref.device: (ref, self.neighbors)}
        return self

    def _on(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        if device not in self._cache:
            self._cache[device] = (self.reference.to(device), self.neighbors.to(device))
        return self._cache[device]

    def _apply(
        self, x: torch.Tensor, wavelength: torch.Tensor, params: Params, index: torch.Tensor | None
    ) -> torch.Tensor:
        k = params["k"].round().long()  # (N,)
        if not bool((k > 1).any()):
            return x.clone()
        if self.reference is None:
            raise ValueError(
                f"{self.name}: no reference set to take neighbours from; call fit(reference) with the "
                "training spectra (N, B), or pass reference= to the constructor"
            )
        ref, table = self._on(x.device)
        n_ref, n_bands = ref.shape
        if x.shape[1] != n_bands:
            raise ValueError(
                f"{self.name}: x has {x.shape[1]} bands but the reference has {n_bands}; they must match"
            )
        k_max = int(k.max())
        if k_max > table.shape[1]:
            raise ValueError(
                f"{self.name}: k must be at most {table.shape[1]} (the reference holds {n_ref} spectra); got {k_max}"
            )
        if index is not None:
            if index.numel() and (int(index.min()) < 0 or int(index.max()) >= n_ref):
                raise ValueError(
                    f"{self.name}: index must hold rows of the reference, 0 … {n_ref - 1}; "
                    f"got values in [{int(index.min())}, {int(index.max())}]"
                )
            others = table[index, 1:k_max]  # (N, k_max − 1); column 0 is the row itself
            use = torch.arange(k_max - 1, device=x.device)[None, :] < (k - 1)[:, None]
        else:
            others = nearest(x.to(ref.dtype), ref, k_max)  # (N, k_max)
            # the first candidate equal to x is x itself: skip it, else skip the last one
            drop = _first_equal(x.to(ref.dtype), ref, others)
            rank = (~drop).long().cumsum(dim=1) - 1
            use = ~drop & (rank < (k - 1)[:, None])
        # Σ over the used neighbours without materialising (N, k, B): one embedding_bag
        total = F.embedding_bag(others, ref, per_sample_weights=use.to(ref.dtype), mode="sum")
        return total.add_(x.to(ref.dtype)).div_(k[:, None].to(ref.dtype))


def _first_equal(x: torch.Tensor, reference: torch.Tensor, cand: torch.Tensor) -> torch.Tensor:
    """(N, K) bool: True at the first candidate row of ``reference`` equal to ``x`` (N, B)
    band for band, if any; compared in chunks of rows (memory O(chunk · K · B))."""
    n, k = cand.shape
    out = torch.zeros(n, k, dtype=torch.bool, device=x.device)
    chunk = max(1, _CHUNK_ELEMENTS // max(k * x.shape[1], 1))
    cols = torch.arange(k, device=x.device)
    for lo in range(0, n, chunk):  # a loop over chunks, not spectra
        same = (reference[cand[lo:lo + chunk]] == x[lo:lo + chunk, None, :]).all(dim=2)
        first = same.long().argmax(dim=1, keepdim=True)
        out[lo:lo + chunk] = (cols[None, :] == first) & same.any(dim=1, keepdim=True)
    return out
