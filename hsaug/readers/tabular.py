"""CSV tables: one row per sample, wavelength columns named by their wavelength, plus
target columns (:func:`read_csv`)."""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..spectra import WAVELENGTH_UNITS, check_wavelength, order_bands, to_nanometres
from .common import build_dataset, existing_file, numeric_columns, quantity_attrs, units_for

_LOOKS_NUMERIC = re.compile(r"^[+-]?(\d|\.\d)")
_UNIT_SUFFIX = re.compile(r"\s*(nm|um|µm|μm|cm-1|cm\^-1|cm⁻¹)$", re.IGNORECASE)


def _band_of(column: str, prefix: str) -> tuple[float | None, bool, str | None]:
    """(wavelength named by a CSV column such as '350', '350.5', 'wl_350', '350 nm', '1.1 um',
    or None; whether the name looks like a number, i.e. starts with a digit; the unit suffix)."""
    name = column.strip()
    if prefix and name.startswith(prefix):
        name = name[len(prefix):]
    if not _LOOKS_NUMERIC.match(name):
        return None, False, None
    m = _UNIT_SUFFIX.search(name)
    unit = m.group(1) if m else None
    try:
        return float(name[: m.start()] if m else name), True, unit
    except ValueError:
        return None, True, None


def _wavelength(values: Any, source: str) -> np.ndarray:
    """A validated float64 wavelength grid [nm]; errors name the file."""
    try:
        arr = np.asarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise ValueError(f"{source}: wavelengths must be numeric (nm); got {list(values)[:5]}...") from None
    check_wavelength(arr, name=f"{source}: wavelength")
    return arr


def read_csv(
    path: str | Path,
    target: str | Sequence[str] | None = None,
    *,
    band_prefix: str = "",
    id_column: str | None = None,
    sep: str = ",",
    decimal: str = ".",
    wavelength_units: str | None = None,
    bands: str = "error",
    strict_units: bool = False,
    quantity: str | None = None,
    reflectance_scale: float | None = None,
    target_units: str | Sequence[str] | Mapping[str, str] = "",
    nan: str = "drop",
) -> xr.Dataset:
    """A CSV table: one row per sample, a header row, wavelength columns plus target columns.

    A column whose name is a number (optionally after ``band_prefix``, e.g. ``"wl_"``, and
    with an optional unit suffix ``nm``, ``um``/``µm`` or ``cm-1``) is a band at that
    position. Units: the suffix, else ``wavelength_units``, else none declared: values all
    below 100 are taken as µm and converted with a warning (refused when ``strict_units``).
    Band order: ``bands=`` (see :func:`hsaug.spectra.order_bands`). ``target`` names the
    target columns (others that are not bands are ignored); by default every non-band column
    is a target. ``id_column`` becomes a ``sample_id`` coordinate. ``sep``/``decimal`` as in
    pandas (``sep=";", decimal=","`` for European CSV). ``quantity``/``reflectance_scale``
    declare what the values are (default ``"unknown"``). NaN: see :mod:`hsaug.readers`.
    """
    import pandas as pd

    p = existing_file(path)
    src = str(p)
    with open(p, newline="", encoding="utf-8-sig", errors="replace") as f:  # pandas renames repeats; BOM dropped
        header = [c.strip() for c in next(csv.reader(f, delimiter=sep), [])]
    if len(header) == 1:
        for other in (";", "\t", "|"):
            if other != sep and other in header[0]:
                shown = "\\t" if other == "\t" else other
                raise ValueError(
                    f"{src}: the header row is one column {header[0][:40]!r} containing {shown!r}; the "
                    f"file looks separated by {shown!r}, not {sep!r}: pass sep={shown!r}"
                    + (" (and decimal=',' for decimal commas)" if other == ";" else "")
                )
    try:
        df = pd.read_csv(p, sep=sep, decimal=decimal)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{src}: the file is empty; it needs a header row and one row per sample") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ValueError(f"{src}: cannot be parsed as CSV ({err})") from None
    if header and all(_LOOKS_NUMERIC.match(c) for c in header) and (
        target is None or not set([target] if isinstance(target, str) else target) & set(header)
    ):
        raise ValueError(
            f"{src}: the first row holds only numbers ({', '.join(header[:4])}, ...): the file seems "
            "to have no header row. Add one naming each column: wavelengths (e.g. 400, 410) and "
            "targets (e.g. SOC)"
        )
    if len(df) == 0:
        raise ValueError(f"{src}: has a header row ({len(header)} columns) but no data rows")
    dup = sorted({c for c in header if header.count(c) > 1})
    if dup:
        raise ValueError(f"{src}: repeated column names {dup}; each column must be named once")
    df.columns = [str(c).strip() for c in df.columns]
    if id_column is not None and id_column not in df.columns:
        raise ValueError(f"{src}: missing id column {id_column!r}; columns are {list(df.columns)[:10]}...")
    wanted = None if target is None else ([target] if isinstance(target, str) else list(target))
    bands_cols, wl, units_seen, others = [], [], set(), []
    for c in df.columns:
        if c == id_column:
            continue
        if wanted is not None and c in wanted:
            others.append(c)
            continue
        w, looks_numeric, unit = _band_of(c, band_prefix)
        if w is not None:
            bands_cols.append(c)
            wl.append(w)
            units_seen.add(None if unit is None else WAVELENGTH_UNITS[unit.lower()])
        elif looks_numeric:
            raise ValueError(
                f"{src}: column {c!r} looks like a wavelength but is not a number (with an optional "
                "nm/um/cm-1 suffix); rename it, or list it in target=[...] if it is a target"
            )
        else:
            others.append(c)
    if len(bands_cols) < 2:
        example = "'350', '352.5'" + (f" after the prefix {band_prefix!r}" if band_prefix else "")
        raise ValueError(
            f"{src}: found {len(bands_cols)} wavelength columns; need at least 2 columns named by "
            f"their wavelength (e.g. {example})"
        )
    declared = units_seen - {None}
    if len(declared) > 1:
        raise ValueError(f"{src}: wavelength columns mix units {sorted(declared)}; use one unit")
    unit = next(iter(declared)) if declared else wavelength_units
    if declared and wavelength_units is not None and WAVELENGTH_UNITS.get(str(wavelength_units).lower()) != unit:
        raise ValueError(f"{src}: column names say {unit} but wavelength_units={wavelength_units!r}")
    wl_nm = to_nanometres(wl, unit, f"{src}: wavelength columns", strict=strict_units)
    kind = WAVELENGTH_UNITS.get(str(unit or "").lower())
    order = order_bands(wl_nm, bands, f"{src}: wavelength columns", flip_decreasing=kind == "cm-1")
    if wanted is None:
        names = others
        if not names:
            raise ValueError(
                f"{src}: no target column; add a named column (e.g. 'SOC') next to the wavelength columns"
            )
    else:
        missing = [t for t in wanted if t not in df.columns]
        if missing:
            raise ValueError(
                f"{src}: missing target column(s) {missing}; non-wavelength columns present: {others}"
            )
        names = wanted
    x = order.apply(numeric_columns(df, bands_cols, src, "wavelength"))
    y = numeric_columns(df, names, src, "target")
    coords = {} if id_column is None else {"sample_id": df[id_column].astype(str).to_numpy()}
    attrs = {"source": src, **quantity_attrs(quantity, reflectance_scale, src)}
    units = units_for(names, target_units, src)
    return build_dataset(x, y, _wavelength(order.wavelength, src), names, units, attrs, coords, src, nan)
