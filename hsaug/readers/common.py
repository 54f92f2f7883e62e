"""The rules every reader shares: what a file may declare its values to be (quantity and
reflectance scale), the NaN rule (drop or refuse samples with NaN, with one
:class:`DroppedRowsWarning`), target units, numeric columns, and building the dataset.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..spectra import make_dataset

# ---------------------------------------------------------------------------------------
# What a file may declare its values to be
# ---------------------------------------------------------------------------------------

#: Quantities hsaug converts exactly to reflectance.
QUANTITIES = ("reflectance", "absorbance")

#: Declarable quantities that cannot be turned back into reflectance, and why.
NOT_INVERTIBLE = {
    "unknown": "the dataset does not say what its values are",
    "radiance": "radiance depends on the illumination; reflectance needs the irradiance "
    "and a white-reference calibration, which the data do not carry",
    "snv": "standard normal variate removed each spectrum's mean and scale",
    "msc": "multiplicative scatter correction removed each spectrum's offset and gain",
    "derivative": "a derivative discarded the baseline (the constant of integration)",
    "continuum_removed": "continuum removal divided out a continuum that is not stored",
    "transmittance": "transmittance is light passed through the sample, not reflected from it; "
    "the physics augmentations model reflected light (to_absorbance / to_transmittance convert "
    "between transmittance and its absorbance log10(1/T) exactly)",
}


class DroppedRowsWarning(UserWarning):
    """A reader dropped samples with NaN in their spectrum or targets (the count is in the message)."""


def norm_quantity(q: Any) -> str:
    """A declared quantity in canonical spelling: lower case, ``_`` for spaces and dashes."""
    return str(q).strip().lower().replace("-", "_").replace(" ", "_")


def quantity_attrs(quantity: str | None, reflectance_scale: float | None, source: str) -> dict:
    """Validated ``quantity`` / ``reflectance_scale`` attrs for a reader's output."""
    q = "unknown" if quantity is None else norm_quantity(quantity)
    accepted = QUANTITIES + tuple(NOT_INVERTIBLE)
    if q not in accepted:
        raise ValueError(f"{source}: quantity must be one of {accepted}; got {quantity!r}")
    if q != "reflectance":
        if reflectance_scale is not None:
            raise ValueError(
                f"{source}: reflectance_scale applies only to quantity 'reflectance'; got "
                f"reflectance_scale={reflectance_scale!r} with quantity {q!r}"
            )
        return {"quantity": q}
    scale = 1.0 if reflectance_scale is None else reflectance_scale
    return {"quantity": q, "reflectance_scale": check_scale(scale, source)}


def check_scale(scale: Any, source: str) -> float:
    """``scale`` as a positive finite float (R = value / scale); errors name ``source``."""
    try:
        s = float(scale)
    except (TypeError, ValueError):
        s = float("nan")
    if not (np.isfinite(s) and s > 0):
        raise ValueError(
            f"{source}: reflectance_scale must be a positive number (R = value / scale: 1 for "
            f"fractions, 100 for percent); got {scale!r}"
        )
    return s


# ---------------------------------------------------------------------------------------
# NaN rule, shared by the readers
# ---------------------------------------------------------------------------------------

_NAN_MODES = ("drop", "raise")


def nan_rows(
    x: np.ndarray, y: np.ndarray, wavelength: np.ndarray, source: str, nan: str
) -> np.ndarray:
    """Boolean mask (N,) of the samples to keep under the NaN rule (see :mod:`hsaug.readers`)."""
    if nan not in _NAN_MODES:
        raise ValueError(f"nan must be one of {_NAN_MODES}; got {nan!r}")
    for arr, what in ((x, "spectra"), (y, "targets")):
        if np.isinf(arr).any():
            row = int(np.nonzero(np.isinf(arr).any(1))[0][0])
            raise ValueError(f"{source}: {what} contain ±inf (first at sample {row}); only NaN can be dropped")
    empty = np.isnan(x).all(0)
    if empty.any() and x.shape[0] > 0:
        raise ValueError(
            f"{source}: band(s) at {wavelength[empty][:5].tolist()} nm are NaN in every sample; "
            "remove those bands"
        )
    bad = np.isnan(x).any(1) | np.isnan(y).any(1)
    n_bad, n = int(bad.sum()), bad.shape[0]
    if n_bad == 0:
        return ~bad
    first = int(np.nonzero(bad)[0][0])
    if nan == "raise" or n_bad == n:
        raise ValueError(
            f"{source}: {n_bad} of {n} samples contain NaN in their spectrum or targets "
            f"(first at sample {first})"
            + ("; no sample is left to keep" if n_bad == n else "; pass nan='drop' to drop them")
        )
    warnings.warn(
        f"{source}: dropped {n_bad} of {n} samples with NaN in their spectrum or targets "
        f"(first at sample {first})",
        DroppedRowsWarning,
        stacklevel=3,
    )
    return ~bad


def units_for(
    names: Sequence[str], target_units: str | Sequence[str] | Mapping[str, str], source: str
) -> list[str]:
    """One unit string per target name, from one unit, a list, or a {name: unit} mapping."""
    if isinstance(target_units, str):
        return [target_units] * len(names)
    if isinstance(target_units, Mapping):
        return [str(target_units.get(n, "")) for n in names]
    units = [str(u) for u in target_units]
    if len(units) != len(names):
        raise ValueError(
            f"{source}: target_units has {len(units)} entries for {len(names)} targets {list(names)}"
        )
    return units


def build_dataset(
    x: np.ndarray,
    y: np.ndarray,
    wavelength: np.ndarray,
    names: Sequence[str],
    units: list[str],
    attrs: dict,
    coords: Mapping[str, np.ndarray],
    source: str,
    nan: str,
) -> xr.Dataset:
    """Apply the NaN rule, then :func:`make_dataset` with per-sample ``coords`` and ``attrs``."""
    keep = nan_rows(x, y, wavelength, source, nan)
    ds = make_dataset(
        x[keep], y[keep], wavelength, outputs=list(names), target_units=units, attrs=attrs
    )
    extra = {k: ("sample", np.asarray(v)[keep]) for k, v in coords.items()}
    return ds.assign_coords(extra) if extra else ds


def existing_file(path: str | Path) -> Path:
    """``path`` as a Path to an existing file; FileNotFoundError naming it otherwise."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file")
    return p


def numeric_columns(df: Any, columns: Sequence[str], source: str, what: str) -> np.ndarray:
    """Columns of ``df`` as float64 (N, C); a non-numeric cell is an error naming it."""
    import pandas as pd

    block = df[list(columns)]
    values = block.apply(pd.to_numeric, errors="coerce")
    bad = values.isna() & block.notna()
    if bad.any().any():
        col = bad.any()[bad.any()].index[0]
        row = int(np.nonzero(bad[col].to_numpy())[0][0])
        raise ValueError(
            f"{source}: {what} column {col!r} has a non-numeric value {block[col].iloc[row]!r} "
            f"at data row {row}"
        )
    return values.to_numpy(dtype=np.float64)
