"""Readers for users' own spectra: NetCDF (lossless), CSV, ENVI images (unlabelled, or with
per-pixel targets) and libraries through one door (:func:`open_envi`), MATLAB
unmixing-benchmark ``.mat``. Formats, with examples: docs/data.md.

Every reader returns data in hsaug's conventions (:mod:`hsaug.spectra`) with
``attrs["source"]`` naming the file and ``attrs["quantity"]`` declaring what the values
are (``"unknown"`` unless the file or the caller says; see :mod:`hsaug.datasets` for the
conversion rules; values are never rescaled behind the caller's back). Errors are
ValueErrors that name the file and the problem.

**Units and band order (all readers).** Wavelengths go through
:func:`hsaug.spectra.to_nanometres` (nm, µm spellings, cm⁻¹; an undeclared grid below 100
is µm, converted with a :class:`~hsaug.spectra.UnitsWarning`, or refused with
``strict_units=True``) and :func:`hsaug.spectra.order_bands` (``bands="error"`` by default,
``"sort"`` for overlapping detectors, ``"average"`` for repeated wavelengths).

**NaN rule (all readers).** ``nan="drop"`` (default) drops every sample whose spectrum or
targets contain NaN and emits one :class:`DroppedRowsWarning` that counts them;
``nan="raise"`` refuses the file instead. A band that is NaN in every sample, ±inf
anywhere, or a file where every sample has NaN is always an error.
"""

from __future__ import annotations

import csv
import json
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .spectra import (
    WAVELENGTH_UNITS,
    check_dataset,
    check_wavelength,
    make_dataset,
    order_bands,
    to_nanometres,
)

__all__ = [
    "QUANTITIES",
    "DroppedRowsWarning",
    "read_dataset",
    "read_netcdf",
    "write_netcdf",
    "read_csv",
    "read_envi",
    "read_mat",
    "open_envi",
    "EnviFile",
    "build_dataset",
    "check_scale",
    "norm_quantity",
    "quantity_attrs",
    "NOT_INVERTIBLE",
]

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


def _nan_rows(
    x: np.ndarray, y: np.ndarray, wavelength: np.ndarray, source: str, nan: str
) -> np.ndarray:
    """Boolean mask (N,) of the samples to keep under the NaN rule (see module doc)."""
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


def _units_for(
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
    keep = _nan_rows(x, y, wavelength, source, nan)
    ds = make_dataset(
        x[keep], y[keep], wavelength, outputs=list(names), target_units=units, attrs=attrs
    )
    extra = {k: ("sample", np.asarray(v)[keep]) for k, v in coords.items()}
    return ds.assign_coords(extra) if extra else ds


def _wavelength(values: Any, source: str) -> np.ndarray:
    """A validated float64 wavelength grid [nm]; errors name the file."""
    try:
        arr = np.asarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise ValueError(f"{source}: wavelengths must be numeric (nm); got {list(values)[:5]}...") from None
    check_wavelength(arr, name=f"{source}: wavelength")
    return arr


# ---------------------------------------------------------------------------------------
# Readers
# ---------------------------------------------------------------------------------------

_SUFFIXES = {
    ".nc": "netcdf", ".nc4": "netcdf", ".netcdf": "netcdf",
    ".csv": "csv",
    ".hdr": "envi", ".img": "envi", ".dat": "envi", ".raw": "envi",
    ".bsq": "envi", ".bil": "envi", ".bip": "envi",
    ".mat": "mat",
}


def read_dataset(path: str | Path, **kw: Any) -> xr.Dataset:
    """Read any supported file by its suffix: ``.nc`` → :func:`read_netcdf`, ``.csv`` →
    :func:`read_csv`, ``.hdr``/``.img`` (ENVI) → :func:`read_envi`, ``.mat`` →
    :func:`read_mat`. Keyword arguments go to that reader."""
    p = Path(path)
    kind = _SUFFIXES.get(p.suffix.lower())
    if kind is None:
        raise ValueError(
            f"{p}: unknown file type {p.suffix!r}; accepted suffixes are {sorted(_SUFFIXES)}"
        )
    reader = {"netcdf": read_netcdf, "csv": read_csv, "envi": read_envi, "mat": read_mat}[kind]
    return reader(p, **kw)


def _existing(path: str | Path) -> Path:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file")
    return p


# -- NetCDF -----------------------------------------------------------------------------

_JSON = "__hsaug_json__:"


def _netcdf_safe(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (str, int, float, np.integer, np.floating)):
        return True
    if isinstance(value, np.ndarray):
        return value.ndim == 1 and value.dtype.kind in "iuf"
    if isinstance(value, (list, tuple)) and value:
        kinds = {type(v) for v in value}
        return kinds <= {str} or kinds <= {int, float}
    return False


def _encode_attrs(attrs: Mapping[str, Any]) -> dict:
    """Attrs netCDF cannot hold (bool, None, dicts, nested lists) as tagged JSON strings."""
    out = {}
    for k, v in attrs.items():
        if _netcdf_safe(v):
            out[k] = list(v) if isinstance(v, tuple) else v
        else:
            try:
                out[k] = _JSON + json.dumps(v)
            except TypeError:
                raise ValueError(
                    f"attribute {k!r} = {v!r} cannot be written to NetCDF; use str, numbers, "
                    "lists of them, or JSON-serialisable values"
                ) from None
    return out


def _decode_attrs(attrs: Mapping[str, Any], source: str = "", where: str = "the dataset") -> dict:
    """Tagged JSON attrs back to values; malformed ones raise naming the file and attribute."""
    out = {}
    for k, v in attrs.items():
        if isinstance(v, str) and v.startswith(_JSON):
            try:
                out[k] = json.loads(v[len(_JSON):])
            except json.JSONDecodeError as err:
                raise ValueError(
                    f"{source}: attribute {k!r} of {where} is tagged JSON ({_JSON!r}) but malformed: "
                    f"{err.msg} at character {err.pos}; fix or remove it"
                ) from None
            except RecursionError:
                raise ValueError(
                    f"{source}: attribute {k!r} of {where} is tagged JSON nested too deeply to read "
                    f"({len(v)} characters); fix or remove it"
                ) from None
        else:
            out[k] = v
    return out


def write_netcdf(ds: xr.Dataset, path: str | Path) -> Path:
    """Write a checked dataset to NetCDF-4 (h5netcdf); :func:`read_netcdf` reads it back
    identically. Attrs netCDF cannot hold (bool, None, dicts, nested lists) travel as
    tagged JSON strings (tuples come back as lists). Returns the path."""
    check_dataset(ds)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    out = ds.copy()
    out.attrs = _encode_attrs(ds.attrs)
    for name in list(out.variables):
        out[name].attrs = _encode_attrs(ds[name].attrs)
    out.to_netcdf(p, engine="h5netcdf")
    return p


def read_netcdf(
    path: str | Path,
    *,
    nan: str = "drop",
    bands: str = "error",
    wavelength_units: str | None = None,
    strict_units: bool = False,
    chunks: Any = None,
) -> xr.Dataset:
    """A dataset written by :func:`write_netcdf`, or any NetCDF in hsaug's conventions.

    ``spectra`` (sample, wavelength) with ``target`` (sample, output) for a labelled set, or
    without ``target`` (unlabelled: ``spectra`` (sample, wavelength) or an image
    (y, x, wavelength)), for prediction. ``wavelength`` units come from its ``units`` attr
    (or ``wavelength_units=``) through :func:`hsaug.spectra.to_nanometres`; none declared and
    values below 100 → µm, converted with a warning (refused when ``strict_units``).
    Unlabelled, ``spectra.attrs`` also carry the file's ``quantity`` (and scale) and ``source``.
    ``bands``: see :func:`hsaug.spectra.order_bands`. ``chunks`` (as in ``xarray.open_dataset``,
    e.g. ``{"y": 512, "x": 512}``): the file is opened lazily on dask and stays open; the NaN
    rule is then not applied (NaN pixels predict NaN). NaN otherwise: see the module doc.
    """
    p = _existing(path)
    ds = None
    for engine in ("h5netcdf", "scipy"):  # NetCDF-4, then classic NetCDF-3
        try:
            if chunks is None:
                with xr.open_dataset(p, engine=engine) as f:
                    ds = f.load()
            else:
                ds = xr.open_dataset(p, engine=engine, chunks=chunks)
            break
        except (OSError, ValueError, TypeError) as err:
            error = err
    if ds is None:
        raise ValueError(f"{p}: not a NetCDF file readable with h5netcdf or scipy ({error})")
    ds.attrs = _decode_attrs(ds.attrs, str(p))
    for name in list(ds.variables):
        ds[name].attrs = _decode_attrs(ds[name].attrs, str(p), f"variable {name!r}")
    labelled = "target" in ds
    spec_dims = ds["spectra"].dims if "spectra" in ds else None
    if spec_dims not in (("sample", "wavelength"), ("y", "x", "wavelength")) or (
        labelled and (spec_dims != ("sample", "wavelength") or ds["target"].dims != ("sample", "output"))
    ):
        raise ValueError(
            f"{p}: needs variable 'spectra' with dims ('sample', 'wavelength') (and 'target' with dims "
            f"('sample', 'output') for a labelled set), or 'spectra' (y, x, wavelength) for an image; "
            f"found { {k: ds[k].dims for k in ds.data_vars} }"
        )
    if "quantity" in ds.attrs:  # validate what the file declares; values are never rescaled here
        quantity_attrs(ds.attrs["quantity"], ds.attrs.get("reflectance_scale"), str(p))
    wattrs = dict(ds["wavelength"].attrs)
    units = wavelength_units if wavelength_units is not None else wattrs.get("units")
    wl = to_nanometres(ds["wavelength"].values, units, f"{p}: wavelength", strict=strict_units)
    kind = WAVELENGTH_UNITS.get(str(units or "").strip().lower())
    order = order_bands(wl, bands, f"{p}: wavelength", flip_decreasing=kind == "cm-1")
    if not order.identity:
        if order.starts is None:
            ds = ds.isel(wavelength=order.take)
        else:
            spectra = ds["spectra"]
            ds = ds.drop_vars("spectra").isel(wavelength=order.take[order.starts])
            ds["spectra"] = (spectra.dims, order.apply(spectra.data).astype(spectra.dtype), spectra.attrs)
    ds = ds.assign_coords(wavelength=("wavelength", order.wavelength, {**wattrs, "units": "nm"}))
    if not labelled:  # the spectra alone (ds.spectra, what a model predicts on) say what they are
        for key in ("quantity", "reflectance_scale", "transmittance_scale", "absorbance_basis", "source"):
            if key in ds.attrs and key not in ds["spectra"].attrs:
                ds["spectra"].attrs[key] = ds.attrs[key]
        ds["spectra"].attrs.setdefault("source", str(p))
    if chunks is not None or not labelled:
        return ds
    x = np.asarray(ds["spectra"].values, dtype=np.float64)
    y = np.asarray(ds["target"].values, dtype=np.float64)
    keep = _nan_rows(x, y, np.asarray(ds["wavelength"].values), str(p), nan)
    if not keep.all():
        ds = ds.isel(sample=keep)
    return check_dataset(ds, name=str(p))


# -- CSV --------------------------------------------------------------------------------

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


def _numeric(df: Any, columns: Sequence[str], source: str, what: str) -> np.ndarray:
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
    declare what the values are (default ``"unknown"``). NaN: see the module doc.
    """
    import pandas as pd

    p = _existing(path)
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
    x = order.apply(_numeric(df, bands_cols, src, "wavelength"))
    y = _numeric(df, names, src, "target")
    coords = {} if id_column is None else {"sample_id": df[id_column].astype(str).to_numpy()}
    attrs = {"source": src, **quantity_attrs(quantity, reflectance_scale, src)}
    units = _units_for(names, target_units, src)
    return build_dataset(x, y, _wavelength(order.wavelength, src), names, units, attrs, coords, src, nan)


# -- ENVI: one door for images and spectral libraries ----------------------------------

_ENVI_DATA_SUFFIXES = ("", ".img", ".dat", ".sli", ".raw", ".bsq", ".bil", ".bip",
                       ".IMG", ".DAT", ".SLI", ".RAW")
#: ENVI ``data type`` codes and their numpy types.
_ENVI_DTYPES = {1: "u1", 2: "i2", 3: "i4", 4: "f4", 5: "f8", 6: "c8", 9: "c16",
                12: "u2", 13: "u4", 14: "i8", 15: "u8"}
#: Values below this are no-data in float files (splib07 marks deleted channels with -1.23e34).
_NO_DATA_BELOW = -1e30


@dataclass
class EnviFile:
    """What :func:`open_envi` read from an ENVI header and its data file.

    ``values``: (rows, cols, B) for an image, (N, B) for a spectral library; float (float32
    for images, lazily on dask with ``chunks``; float64 for libraries), no-data as NaN, bad bands
    (``bbl``) removed, bands in increasing wavelength order; unscaled unless ``apply_scale``.
    ``wavelength`` (B,) [nm] or None when the header has none and none was passed.
    ``reflectance_scale``: the header's ``reflectance scale factor`` (None if absent).
    """

    values: Any
    wavelength: np.ndarray | None
    metadata: dict
    header: Path
    data: Path
    library: bool
    names: list[str] | None
    reflectance_scale: float | None
    scale_applied: bool
    bad_bands: int


def _envi_paths(path: Path) -> tuple[Path, Path]:
    """(header, data file) for a path naming either of them."""
    if path.suffix.lower() == ".hdr":
        hdr = path
        if not hdr.is_file():
            raise FileNotFoundError(f"{path}: ENVI header not found")
        base = str(path)[: -len(path.suffix)]
        data = next((Path(base + e) for e in _ENVI_DATA_SUFFIXES if Path(base + e).is_file()), None)
        if data is None:
            raise ValueError(
                f"{path}: no ENVI data file found beside the header (looked for "
                f"{[Path(base + e).name for e in _ENVI_DATA_SUFFIXES[:5]]}...)"
            )
        return hdr, data
    cands = (path.with_suffix(".hdr"), Path(str(path) + ".hdr"))
    hdr = next((c for c in cands if c.is_file()), None)
    if hdr is None:
        raise ValueError(f"{path}: ENVI header not found next to it (looked for {[str(c) for c in cands]})")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such ENVI data file (its header {hdr} exists)")
    return hdr, path


def _envi_size_check(meta: Mapping[str, Any], hdr: Path, data: Path) -> None:
    """Refuse a data file shorter than its header says, naming expected and actual bytes."""
    try:
        lines, samples, bands = (int(meta[k]) for k in ("lines", "samples", "bands"))
        code = int(meta.get("data type", 4))
        offset = int(meta.get("header offset", 0))
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{hdr}: ENVI header lacks or garbles 'lines'/'samples'/'bands'/'data type' ({err})") from None
    if code not in _ENVI_DTYPES:
        raise ValueError(f"{hdr}: ENVI 'data type' {code} is not one of {sorted(_ENVI_DTYPES)}")
    size = np.dtype(_ENVI_DTYPES[code]).itemsize
    expected = offset + lines * samples * bands * size
    actual = data.stat().st_size
    if actual < expected:
        raise ValueError(
            f"{data}: truncated ENVI data file: its header {hdr.name} describes {lines} lines x "
            f"{samples} samples x {bands} bands of {np.dtype(_ENVI_DTYPES[code]).name}"
            + (f" after a {offset}-byte offset" if offset else "")
            + f" = {expected} bytes, but the file has {actual} bytes"
        )


class _EnviChunks:
    """Array-like (rows, cols, bands) whose slices each map the ENVI file anew and copy out the
    chunk: the mapping is released after every chunk, so memory stays bounded by the chunk
    size (one long-lived memory map let a 1000 x 1000 x 224 scene grow the process by ~380 MiB
    of anonymous memory during a chunked mean; this: ~33 MiB at both 500 x 500 and 1000 x 1000;
    benchmarks/envi_read_memory.py)."""

    def __init__(self, img: Any):
        self.img = img
        self.shape = (img.nrows, img.ncols, img.nbands)
        self.ndim = 3
        self.dtype = np.dtype(img.dtype)

    def __getitem__(self, key: Any) -> np.ndarray:
        mm = self.img.open_memmap(interleave="bip")
        try:
            return np.array(mm[key])
        finally:
            del mm


def _dask_chunks(chunks: Any, src: str) -> Any:
    """dask chunks for a (rows, cols, bands) cube from an int, (rows, cols), dict or 'auto'."""
    if chunks == "auto" or isinstance(chunks, int):
        return (chunks, chunks, -1)
    if isinstance(chunks, Mapping):
        bad = set(chunks) - {"y", "x", "wavelength"}
        if bad:
            raise ValueError(f"{src}: chunks keys must be 'y', 'x' (and 'wavelength'); got {sorted(chunks)}")
        return (chunks.get("y", "auto"), chunks.get("x", "auto"), -1)
    if isinstance(chunks, Sequence) and len(chunks) in (2, 3):
        return (chunks[0], chunks[1], -1)
    raise ValueError(
        f"{src}: chunks must be an int (pixels per side), (rows, cols), {{'y': ..., 'x': ...}} or "
        f"'auto'; got {chunks!r}"
    )


def open_envi(
    path: str | Path,
    *,
    wavelength: Any = None,
    wavelength_units: str | None = None,
    bands: str = "error",
    apply_scale: bool = False,
    chunks: Any = None,
    strict_units: bool = False,
) -> EnviFile:
    """The one ENVI entry point: an image or a spectral library (``.hdr`` + data file).

    One rule for the header fields every ENVI reader in hsaug honours:

    * ``wavelength`` + ``wavelength units`` → nm with :func:`hsaug.spectra.to_nanometres`
      (nm, µm/um/micrometers/micrometres/microns, cm⁻¹/wavenumber; no unit and values
      below 100 → µm with a warning, or an error when ``strict_units``).
      ``wavelength=`` / ``wavelength_units=`` override the header.
    * ``bbl`` (bad band list, 0 = bad): those bands are dropped.
    * band order: ``bands=`` ``"error"`` | ``"sort"`` | ``"average"``
      (:func:`hsaug.spectra.order_bands`).
    * ``data ignore value`` and float values below -1e30 become NaN.
    * ``reflectance scale factor`` is reported (``reflectance_scale``); values are divided by
      it only when ``apply_scale``.

    ``chunks`` (images only): return a lazy dask array over a memory map of the file.
    A data file shorter than the header says is refused, naming expected and actual bytes.
    """
    from spectral.io import envi

    hdr, data = _envi_paths(Path(path))
    src = str(hdr)
    try:
        meta = envi.read_envi_header(str(hdr))
    except Exception as err:  # spectral raises its own exception types
        raise ValueError(f"{src}: cannot be read as an ENVI header ({type(err).__name__}: {err})") from None
    _envi_size_check(meta, hdr, data)
    try:
        obj = envi.open(str(hdr), str(data))
    except Exception as err:
        raise ValueError(f"{src}: cannot be opened as ENVI ({type(err).__name__}: {err})") from None
    library = isinstance(obj, envi.SpectralLibrary)
    if library:
        if chunks is not None:
            raise ValueError(f"{src}: chunks applies to ENVI images, not spectral libraries")
        values = np.array(obj.spectra, dtype=np.float64)
        names = [str(n).strip() for n in (obj.names or [])]
    elif chunks is None:
        # one float32 copy straight from a memory map (spectral's load() peaks at ~3x that)
        values = np.array(_EnviChunks(obj)[:, :, :], dtype=np.float32)
        names = None
    else:
        import dask.array as da

        values = da.from_array(_EnviChunks(obj), chunks=_dask_chunks(chunks, src), asarray=False,
                               meta=np.empty((0, 0, 0), np.dtype(obj.dtype))).astype(np.float32)
        names = None
    # no-data first, so that no ignore value enters an average of bands
    ignore = meta.get("data ignore value")
    nodata = values < _NO_DATA_BELOW
    if ignore is not None and str(ignore).strip().lower() != "nan":
        try:
            nodata = nodata | (values == float(ignore))
        except (TypeError, ValueError):
            raise ValueError(f"{src}: 'data ignore value' must be a number; got {ignore!r}") from None
    if isinstance(values, np.ndarray):
        values[nodata] = np.nan  # in place: values is this reader's own copy
    else:
        import dask.array as da

        values = da.where(nodata, np.float32(np.nan), values)
    n_bands = values.shape[-1]
    # bad bands
    bbl = meta.get("bbl")
    keep = None
    if bbl is not None:
        keep = np.asarray([float(b) for b in bbl]) != 0
        if keep.size != n_bands:
            raise ValueError(f"{src}: 'bbl' has {keep.size} entries for {n_bands} bands; they must match")
        if keep.sum() < 2:
            raise ValueError(f"{src}: 'bbl' marks {int((~keep).sum())} of {n_bands} bands bad; fewer than 2 are left")
    # wavelength
    wl = None
    if wavelength is not None:
        wl = to_nanometres(wavelength, wavelength_units or "nm", f"{src}: wavelength=", strict=strict_units)
        units_kind = WAVELENGTH_UNITS.get(str(wavelength_units or "nm").strip().lower())
    elif "wavelength" in meta:
        units = wavelength_units if wavelength_units is not None else meta.get("wavelength units")
        wl = to_nanometres(meta["wavelength"], units, src, strict=strict_units)
        units_kind = WAVELENGTH_UNITS.get(str(units or "").strip().lower())
    if wl is not None and wl.size != n_bands:
        raise ValueError(f"{src}: {wl.size} wavelengths for {n_bands} bands; they must match")
    n_bad = 0
    if keep is not None and not keep.all():
        n_bad = int((~keep).sum())
        idx = np.nonzero(keep)[0]
        values = values[..., idx]
        wl = None if wl is None else wl[keep]
    if wl is not None:
        order = order_bands(wl, bands, f"{src}: wavelength", flip_decreasing=units_kind == "cm-1")
        values = order.apply(values)
        wl = order.wavelength
    factor = meta.get("reflectance scale factor")
    scale = None if factor is None else check_scale(factor, f"{src}: reflectance scale factor")
    if apply_scale and scale is not None:
        values = values / scale
    return EnviFile(values, wl, dict(meta), hdr, data, library, names if library else None, scale,
                    bool(apply_scale and scale is not None), n_bad)


def _image_array(f: EnviFile, attrs: dict) -> xr.DataArray:
    """An unlabelled ENVI cube as a DataArray (y, x, wavelength) float32 (numpy or dask)."""
    rows, cols, _ = f.values.shape
    values = f.values if not isinstance(f.values, np.ndarray) else f.values.astype(np.float32, copy=False)
    return xr.DataArray(
        values,
        dims=("y", "x", "wavelength"),
        coords={
            "y": np.arange(rows),
            "x": np.arange(cols),
            "wavelength": ("wavelength", f.wavelength, {"units": "nm", "long_name": "wavelength"}),
        },
        name="spectra",
        attrs=attrs,
    )


def _grid_targets(tpath: Path, target: Any, rows: int, cols: int, src: str) -> tuple[np.ndarray, list[str], str]:
    """(rows*cols, S) targets, their names and source from an ENVI image or a .npy array."""
    if tpath.suffix.lower() == ".npy":
        tsrc = str(_existing(tpath))
        try:
            arr = np.load(tpath, allow_pickle=False)
        except Exception as err:
            raise ValueError(f"{tsrc}: cannot be read as a .npy array ({type(err).__name__}: {err})") from None
        if arr.ndim == 2:
            arr = arr[:, :, None]
        if arr.ndim != 3 or arr.shape[:2] != (rows, cols):
            raise ValueError(
                f"shape mismatch: image {src} is {rows} x {cols} pixels but targets {tsrc} have shape "
                f"{arr.shape}; expected ({rows}, {cols}) or ({rows}, {cols}, S)"
            )
        if arr.dtype.kind not in "iuf":
            raise ValueError(f"{tsrc}: targets must be numeric; got dtype {arr.dtype}")
        s = arr.shape[2]
        if target is None:
            names = [f"target_{i}" for i in range(s)]
        else:
            names = [target] if isinstance(target, str) else [str(t) for t in target]
            if len(names) != s:
                raise ValueError(f"{tsrc}: target names {names} for {s} target layers; give one name per layer")
        return arr.reshape(rows * cols, s).astype(np.float64), names, tsrc
    tf = open_envi(tpath)
    tsrc = str(tf.header)
    tcube = tf.values
    if tf.library or tcube.shape[:2] != (rows, cols):
        raise ValueError(
            f"shape mismatch: image {src} is {rows} x {cols} pixels but targets {tsrc} are "
            f"{tcube.shape[0]} x {tcube.shape[1]}"
        )
    available = list(tf.metadata.get("band names") or [])
    if len(available) != tcube.shape[2]:
        available = [f"target_{i}" for i in range(tcube.shape[2])]
    names = available if target is None else ([target] if isinstance(target, str) else list(target))
    missing = [t for t in names if t not in available]
    if missing:
        raise ValueError(f"{tsrc}: missing target band(s) {missing}; band names are {available}")
    y = tcube.reshape(rows * cols, -1)[:, [available.index(t) for t in names]]
    return y, names, tsrc


def read_envi(
    image: str | Path,
    targets: str | Path | None = None,
    *,
    target: str | Sequence[str] | None = None,
    wavelength: Any = None,
    wavelength_units: str | None = None,
    bands: str = "error",
    quantity: str | None = None,
    reflectance_scale: float | None = None,
    target_units: str | Sequence[str] | Mapping[str, str] = "",
    nan: str = "drop",
    chunks: Any = None,
    strict_units: bool = False,
) -> xr.Dataset | xr.DataArray:
    """An ENVI image (rows, cols, bands): unlabelled for prediction, or with per-pixel targets.

    ``image``: the ``.hdr`` header (or the data file beside it), read through
    :func:`open_envi` (one rule for wavelength units, ``bbl``, ``data ignore value``, band
    order ``bands=``, truncated files). Wavelengths come from the header or ``wavelength``
    (in ``wavelength_units``, default nm).

    * ``targets=None``: the image as a DataArray ``("y", "x", "wavelength")`` float32, no-data
      pixels NaN, for prediction; with ``chunks`` (int, (rows, cols), ``{"y", "x"}`` or
      "auto") it is a lazy dask array over a memory map, for scenes larger than memory.
    * ``targets`` a CSV with columns ``row``, ``col`` (0-based pixel indices) and one column
      per target: each listed pixel becomes a sample, in the CSV's order;
    * ``targets`` a second ENVI image, or a ``.npy`` array, of (rows, cols, S): every pixel
      becomes a sample (row-major); pixels with NaN (or the data ignore value) in any target
      are unlabelled and dropped by the NaN rule. Names: the ENVI ``band names``, or
      ``target=`` (one name per ``.npy`` layer), else ``target_i``.

    Labelled samples carry ``row``, ``col`` coordinates; attrs ``image_rows``, ``image_cols``
    keep the image shape. A header ``reflectance scale factor`` declares
    ``quantity="reflectance"`` with that scale (values are kept unscaled) unless
    ``quantity``/``reflectance_scale`` say otherwise. ``target`` selects target names.
    """
    import pandas as pd

    f = open_envi(image, wavelength=wavelength, wavelength_units=wavelength_units, bands=bands,
                  chunks=chunks, strict_units=strict_units)
    src = str(f.header)
    if f.library:
        raise ValueError(f"{src}: is an ENVI spectral library, not an image; read it with "
                         "hsaug.library.load_envi_library")
    if f.wavelength is None:
        raise ValueError(f"{src}: the header has no 'wavelength' field; pass wavelength=... (nm)")
    rows, cols, n_bands = f.values.shape
    if quantity is None and reflectance_scale is None and f.reflectance_scale is not None:
        quantity, reflectance_scale = "reflectance", f.reflectance_scale
    attrs = {"source": src, **quantity_attrs(quantity, reflectance_scale, src)}
    if f.bad_bands:
        attrs["bad_bands_dropped"] = f.bad_bands
    if targets is None:
        return _image_array(f, attrs)
    if chunks is not None:
        raise ValueError(
            f"{src}: chunks applies to unlabelled images (targets=None), which are predicted "
            "chunk by chunk; a labelled set is read into memory"
        )
    cube = f.values
    tpath = Path(targets)
    tsrc = str(tpath)
    if tpath.suffix.lower() == ".csv":
        _existing(tpath)
        try:
            df = pd.read_csv(tpath)
        except (pd.errors.EmptyDataError, pd.errors.ParserError) as err:
            raise ValueError(f"{tsrc}: cannot be parsed as CSV ({err})") from None
        df.columns = [str(c).strip() for c in df.columns]
        lower = {c.lower(): c for c in df.columns}
        if "row" not in lower or "col" not in lower:
            raise ValueError(
                f"{tsrc}: needs columns 'row' and 'col' (0-based pixel indices); has {list(df.columns)}"
            )
        rc = _numeric(df, [lower["row"], lower["col"]], tsrc, "pixel index")
        if np.isnan(rc).any() or (rc != np.round(rc)).any():
            raise ValueError(f"{tsrc}: row and col must be whole numbers")
        r, c = rc[:, 0].astype(np.int64), rc[:, 1].astype(np.int64)
        outside = (r < 0) | (r >= rows) | (c < 0) | (c >= cols)
        if outside.any():
            i = int(np.nonzero(outside)[0][0])
            raise ValueError(
                f"{tsrc}: pixel (row={r[i]}, col={c[i]}) at data row {i} is outside the "
                f"{rows} x {cols} image {src}"
            )
        flat = r * cols + c
        if np.unique(flat).size != flat.size:
            raise ValueError(f"{tsrc}: a pixel is listed more than once; each (row, col) must be unique")
        available = [col for col in df.columns if col not in (lower["row"], lower["col"])]
        names = available if target is None else ([target] if isinstance(target, str) else list(target))
        missing = [t for t in names if t not in available]
        if missing or not names:
            raise ValueError(
                f"{tsrc}: missing target column(s) {missing or '(none)'}; target columns present: {available}"
            )
        y = _numeric(df, names, tsrc, "target")
        x = cube[r, c, :]
    else:
        y, names, tsrc = _grid_targets(tpath, target, rows, cols, src)
        x = cube.reshape(rows * cols, n_bands)
        r, c = np.divmod(np.arange(rows * cols), cols)
    attrs = {"source": src, "targets_source": tsrc, "image_rows": int(rows), "image_cols": int(cols),
             **{k: v for k, v in attrs.items() if k != "source"}}
    units = _units_for(names, target_units, tsrc)
    return build_dataset(x, y, f.wavelength, names, units, attrs, {"row": r, "col": c}, src, nan)


# -- MATLAB -----------------------------------------------------------------------------

_SPECTRA_KEYS = ("Y", "V", "X")
_WAVELENGTH_KEYS = ("wavelength", "wavelengths", "wl", "lambda", "lambdas")


def _loadmat(path: Path) -> dict:
    from scipy.io import loadmat

    try:
        m = loadmat(path)
    except NotImplementedError:
        raise ValueError(
            f"{path}: MATLAB v7.3 (HDF5) files are not supported; re-save it in MATLAB with "
            "save(..., '-v7')"
        ) from None
    except Exception as err:  # scipy raises ValueError/TypeError/MatReadError for bad files
        raise ValueError(f"{path}: cannot be read as a MATLAB .mat file ({err})") from None
    return {k: v for k, v in m.items() if not k.startswith("__")}


def _mat_scalar(m: Mapping[str, Any], key: str, src: str) -> int | None:
    if key not in m:
        return None
    v = np.asarray(m[key]).ravel()
    if v.size != 1 or not np.isfinite(v[0].astype(float)) or float(v[0]) != int(v[0]) or int(v[0]) <= 0:
        raise ValueError(f"{src}: {key!r} must be one positive whole number; got {np.asarray(m[key]).tolist()}")
    return int(v[0])


def _mat_names(value: Any) -> list[str]:
    """Names from a MATLAB cell array or char matrix (e.g. 'cood' in benchmark files)."""
    arr = np.asarray(value)
    if arr.dtype.kind == "U":  # char matrix: one padded row per name
        return [str(s).strip() for s in arr.ravel()]
    return [str(np.asarray(e).ravel()[0]).strip() if np.asarray(e).size else "" for e in arr.ravel()]


def _pixels_last(a: np.ndarray, n_pixels: int | None, what: str, src: str, expected: str = "") -> np.ndarray:
    """A 2-D (features, pixels) matrix, transposing (pixels, features) when unambiguous;
    ``expected`` says where ``n_pixels`` comes from, for the error."""
    if a.ndim != 2:
        raise ValueError(
            f"{src}: {what} must be 2-D (features x pixels) or 3-D (rows, cols, features); got shape {a.shape}"
        )
    if n_pixels is None or a.shape[1] == n_pixels:
        return a
    if a.shape[0] == n_pixels:
        return a.T
    raise ValueError(
        f"shape mismatch: {src}: {what} has shape {a.shape} but {expected or 'the image has'} {n_pixels} pixels"
    )


def read_mat(
    path: str | Path,
    *,
    abundances: str | Path | None = None,
    spectra_key: str | None = None,
    abundance_key: str = "A",
    rows_key: str = "nRow",
    cols_key: str = "nCol",
    wavelength_key: str | None = None,
    wavelength: Any = None,
    wavelength_units: str | None = None,
    bands: str = "error",
    strict_units: bool = False,
    target_names: Sequence[str] | None = None,
    pixel_order: str = "F",
    quantity: str | None = None,
    reflectance_scale: float | None = None,
    target_units: str | Sequence[str] | Mapping[str, str] = "1",
    nan: str = "drop",
) -> xr.Dataset:
    """A MATLAB ``.mat`` file in the unmixing-benchmark layout (Samson, Jasper Ridge, Urban).

    Spectra: ``spectra_key`` (default: the first of ``Y``, ``V``, ``X`` present), a
    bands × pixels matrix (pixels × bands is transposed when the pixel count says so), or a
    (rows, cols, bands) cube. Targets: abundances ``abundance_key`` (endmembers × pixels, or
    (rows, cols, S)), from ``abundances`` (a second .mat, as the benchmarks ship their
    ground truth) or the same file; names from ``target_names``, else the file's ``cood``
    cell array, else ``endmember_i``. Image shape: ``rows_key`` × ``cols_key``. Pixel k of a
    matrix is MATLAB's column-major k: row = k mod nRow, col = k div nRow
    (``pixel_order="C"`` for row-major). Wavelengths [nm]: ``wavelength``, else
    ``wavelength_key`` (default: the first of wavelength, wavelengths, wl, lambda present);
    benchmark files carry none, so pass them. Units: ``wavelength_units``, else none declared
    (values all below 100 → µm with a warning, or refused when ``strict_units``); band order:
    ``bands=`` (see :func:`hsaug.spectra.order_bands`). Coordinates ``row``, ``col`` when the shape
    is known. Quantity defaults to ``"unknown"`` (``maxValue`` keys are not interpreted).
    """
    p = _existing(path)
    src = str(p)
    m = _loadmat(p)
    if pixel_order not in ("F", "C"):
        raise ValueError(
            f"pixel_order must be 'F' (MATLAB column-major) or 'C' (row-major); got {pixel_order!r}"
        )
    key = spectra_key or next((k for k in _SPECTRA_KEYS if k in m), None)
    if key is None or key not in m:
        raise ValueError(f"{src}: no spectra key {spectra_key or _SPECTRA_KEYS}; keys are {sorted(m)}")
    spec = np.asarray(m[key], dtype=np.float64)
    n_row, n_col = _mat_scalar(m, rows_key, src), _mat_scalar(m, cols_key, src)
    if spec.ndim == 3:
        n_row, n_col = spec.shape[:2]
        spec = spec.reshape(n_row * n_col, -1, order="C").T  # pixels in row-major order
        cube_order = "C"
    else:
        cube_order = pixel_order
    n_pix = n_row * n_col if n_row and n_col else None
    spec = _pixels_last(spec, n_pix, f"spectra {key!r}", src)
    n_bands, n_pix = spec.shape

    tfile, tsrc = (p, src) if abundances is None else (_existing(abundances), str(abundances))
    tm = m if abundances is None else _loadmat(tfile)
    if abundance_key not in tm:
        raise ValueError(f"{tsrc}: no abundance key {abundance_key!r}; keys are {sorted(tm)}")
    ab = np.asarray(tm[abundance_key], dtype=np.float64)
    if ab.ndim == 3:
        if n_row is not None and ab.shape[:2] != (n_row, n_col):
            raise ValueError(
                f"shape mismatch: {tsrc}: abundances are {ab.shape[0]} x {ab.shape[1]} pixels "
                f"but the image is {n_row} x {n_col}"
            )
        ab = ab.reshape(ab.shape[0] * ab.shape[1], -1, order=cube_order).T  # same pixel order as the spectra
    ab = _pixels_last(ab, n_pix, f"abundances {abundance_key!r}", tsrc, f"the spectra in {src} have")
    if target_names is not None:
        names = [str(n) for n in target_names]
    elif "cood" in tm and len(_mat_names(tm["cood"])) == ab.shape[0]:
        names = _mat_names(tm["cood"])
    else:
        names = [f"endmember_{i}" for i in range(ab.shape[0])]
    if len(names) != ab.shape[0] or len(set(names)) != len(names):
        raise ValueError(f"{tsrc}: need {ab.shape[0]} distinct target names; got {names}")

    if wavelength is None:
        wkey = wavelength_key or next((k for k in _WAVELENGTH_KEYS if k in m), None)
        if wkey is None or wkey not in m:
            raise ValueError(
                f"{src}: no wavelength key {wavelength_key or _WAVELENGTH_KEYS} (keys are {sorted(m)}); "
                "unmixing benchmarks such as Samson, Jasper Ridge and Urban store none: pass "
                f"wavelength=... with the {n_bands} band centres in nm"
            )
        wavelength = m[wkey]
    wl = to_nanometres(wavelength, wavelength_units, f"{src}: wavelength", strict=strict_units)
    if wl.size != n_bands:
        raise ValueError(f"shape mismatch: {src}: {wl.size} wavelengths for {n_bands} bands")
    kind = WAVELENGTH_UNITS.get(str(wavelength_units or "").strip().lower())
    order = order_bands(wl, bands, f"{src}: wavelength", flip_decreasing=kind == "cm-1")
    spec, wl = order.apply(spec.T).T, order.wavelength

    coords: dict[str, np.ndarray] = {}
    attrs = {"source": src, **quantity_attrs(quantity, reflectance_scale, src)}
    if abundances is not None:
        attrs["targets_source"] = tsrc
    if n_row and n_col:
        k = np.arange(n_pix)
        if cube_order == "F":
            col, row = np.divmod(k, n_row)
        else:
            row, col = np.divmod(k, n_col)
        coords = {"row": row, "col": col}
        attrs.update(image_rows=int(n_row), image_cols=int(n_col))
    units = _units_for(names, target_units, tsrc)
    return build_dataset(spec.T, ab.T, wl, names, units, attrs, coords, src, nan)


# Old private names, kept so code written against them still imports (use the public ones).
_build, _check_scale, _norm_quantity, _quantity_attrs = build_dataset, check_scale, norm_quantity, quantity_attrs
_NOT_INVERTIBLE = NOT_INVERTIBLE
