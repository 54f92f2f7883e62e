"""Splits of a dataset's rows and the per-member random streams, for every protocol.

:func:`split_indices` (seeded random train/validation/test), :func:`resolve_split` (an
explicit split checked against the data), :func:`fold_split` (predefined folds, LimeSoDa),
:func:`robustness_splits` (nested training sizes), :func:`member_generators` (a member's
three independent generators).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import xarray as xr

__all__ = ["split_indices", "resolve_split", "check_split_rows", "fold_split", "robustness_splits", "member_generators", "TRAIN_SIZES"]

#: Training-set sizes of the robustness protocol (None: the whole training part of the split).
TRAIN_SIZES = (100, 300, 1000, 3000, None)


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
    for value, rows, name in ((val_fraction, n_val, "val_fraction"), (test_fraction, n_test, "test_fraction")):
        if value > 0 and rows == 0:
            raise ValueError(f"{name}={value!r} of {n} rows gives no rows (round({n} · {value!r}) = 0): too few "
                             f"rows to split; give at least {math.floor(0.5 / value) + 1} rows, or {name}=0")
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


def check_split_rows(split: Any) -> dict[str, tuple[int, ...]]:
    """An explicit split ``{"train", "val", "test"}`` (val and test optional) as tuples of
    ints, checked: at least one training row, no row twice in a part, no row in two parts
    (a test row seen in training would make the test metrics meaningless)."""
    if not isinstance(split, dict) or "train" not in split:
        raise ValueError(f"split must be a dict with 'train' (and optionally 'val', 'test') row indices; got {split!r}")
    unknown = set(split) - {"train", "val", "test"}
    if unknown:
        raise ValueError(f"split has unknown part(s) {sorted(map(str, unknown))}; accepted: 'train', 'val', 'test'")
    out = {}
    for key in ("train", "val", "test"):
        raw = np.asarray(split.get(key, []))
        if raw.size and not (np.issubdtype(raw.dtype, np.integer) or
                             (np.issubdtype(raw.dtype, np.floating) and np.all(raw == np.round(raw)))):
            raise ValueError(f"split[{key!r}] must hold integer row indices; got dtype {raw.dtype}")
        idx = raw.astype(np.int64).reshape(-1)
        if idx.size and idx.min() < 0:
            raise ValueError(f"split[{key!r}] must hold row indices >= 0; got {int(idx.min())}")
        uniq, counts = np.unique(idx, return_counts=True)
        if (counts > 1).any():
            raise ValueError(f"split[{key!r}] lists rows more than once: {uniq[counts > 1][:10].tolist()}")
        out[key] = tuple(int(i) for i in idx)
    if not out["train"]:
        raise ValueError("split['train'] must hold at least one row")
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        both = sorted(set(out[a]) & set(out[b]))
        if both:
            raise ValueError(f"split[{a!r}] and split[{b!r}] share {len(both)} row(s) (e.g. {both[:10]}); "
                             "the parts must be disjoint")
    return out


def resolve_split(n: int, split: Any, val_fraction: float, test_fraction: float, split_seed: int
                  ) -> dict[str, np.ndarray]:
    """The row indices of ``n`` rows: ``split`` checked (:func:`check_split_rows`, indices
    below ``n``), or :func:`split_indices` when ``split`` is None."""
    if split is None:
        return split_indices(n, val_fraction, test_fraction, split_seed)
    parts = check_split_rows(split)
    out = {}
    for key, rows in parts.items():
        idx = np.asarray(rows, dtype=np.int64)
        if idx.size and idx.max() >= n:
            raise ValueError(f"split[{key!r}] must hold row indices in 0 … {n - 1}; got {int(idx.max())}")
        out[key] = idx
    return out


def robustness_splits(n: int, train_sizes: Sequence[int | None] = TRAIN_SIZES, *, val_fraction: float = 0.1,
                      test_fraction: float = 0.1, split_seed: int = 0, split: dict | None = None
                      ) -> dict[int, dict[str, np.ndarray]]:
    """``{size: {"train", "val", "test"}}``: one validation and test part for every size
    (``split``, or :func:`split_indices`), training rows the first ``size``
    of a seeded shuffle of the training part (nested: a smaller set is part of every
    larger one). ``None`` in ``train_sizes`` is the whole training part; larger sizes
    raise ``ValueError``."""
    base = ({k: np.asarray(v, dtype=np.int64) for k, v in check_split_rows(split).items()}
            if split is not None else split_indices(n, val_fraction, test_fraction, split_seed))
    order = np.random.default_rng(split_seed).permutation(base["train"])
    out = {}
    for size in train_sizes:
        size = order.size if size is None else int(size)
        if not 1 <= size <= order.size:
            raise ValueError(f"train_sizes must be from 1 to the {order.size} training spectra (or None for "
                             f"all); got {size}")
        out[size] = {"train": np.sort(order[:size]), "val": base["val"], "test": base["test"]}
    return dict(sorted(out.items()))


def fold_split(ds: xr.Dataset, test_fold: int = 1, val_fold: int = 2) -> dict[str, list[int]] | None:
    """Row indices from a dataset's predefined ``folds`` coordinate (LimeSoDa): test = one
    fold, validation = another, training = the rest; None when the data carry no folds."""
    if "folds" not in ds.coords:
        return None
    folds = np.asarray(ds["folds"].values)
    if test_fold not in folds or val_fold not in folds or test_fold == val_fold:
        raise ValueError(f"test_fold and val_fold must be two different folds of {sorted(set(folds.tolist()))}; "
                         f"got {test_fold!r} and {val_fold!r}")
    rows = np.arange(folds.size)
    return {"train": rows[(folds != test_fold) & (folds != val_fold)].tolist(),
            "val": rows[folds == val_fold].tolist(), "test": rows[folds == test_fold].tolist()}
