"""Readers for users' own spectra: NetCDF (lossless), CSV, ENVI image + per-pixel
targets, MATLAB unmixing-benchmark ``.mat``. Formats, with examples: docs/data.md.

Every reader returns a dataset in hsaug's conventions (:mod:`hsaug.spectra`) with
``attrs["source"]`` naming the file and ``attrs["quantity"]`` declaring what the values
are (``"unknown"`` unless the file or the caller says; see :mod:`hsaug.datasets` for the
conversion rules). Errors are ValueErrors that name the file and the problem.

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
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .spectra import check_dataset, check_wavelength, make_dataset

__all__ = [
    "QUANTITIES",
    "DroppedRowsWarning",
    "read_dataset",
    "read_netcdf",
    "write_netcdf",
    "read_csv",
    "read_envi",
    "read_mat",
]

# ---------------------------------------------------------------------------------------
# What a file may declare its values to be
# ---------------------------------------------------------------------------------------

#: Quantities hsaug converts exactly to reflectance.
QUANTITIES = ("reflectance", "absorbance")

#: Declarable quantities that cannot be turned back into reflectance, and why.
_NOT_INVERTIBLE = {
    "unknown": "the dataset does not say what its values are",
    "radiance": "radiance depends on the illumination; reflectance needs the irradiance "
    "and a white-reference calibration, which the data do not carry",
    "snv": "standard normal variate removed each spectrum's mean and scale",
    "msc": "multiplicative scatter correction removed each spectrum's offset and gain",
    "derivative": "a derivative discarded the baseline (the constant of integration)",
    "continuum_removed": "continuum removal divided out a continuum that is not stored",
}


class DroppedRowsWarning(UserWarning):
    """A reader dropped samples with NaN in their spectrum or targets (the count is in the message)."""


def _norm_quantity(q: Any) -> str:
    return str(q).strip().lower().replace("-", "_").replace(" ", "_")


def _quantity_attrs(quantity: str | None, reflectance_scale: float | None, source: str) -> dict:
    """Validated ``quantity`` / ``reflectance_scale`` attrs for a reader's output."""
    q = "unknown" if quantity is None else _norm_quantity(quantity)
    accepted = QUANTITIES + tuple(_NOT_INVERTIBLE)
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
    return {"quantity": q, "reflectance_scale": _check_scale(scale, source)}


def _check_scale(scale: Any, source: str) -> float:
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


def _build(
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


def _decode_attrs(attrs: Mapping[str, Any]) -> dict:
    return {
        k: json.loads(v[len(_JSON):]) if isinstance(v, str) and v.startswith(_JSON) else v
        for k, v in attrs.items()
    }


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


def read_netcdf(path: str | Path, *, nan: str = "drop") -> xr.Dataset:
    """A dataset written by :func:`write_netcdf`, or any NetCDF in hsaug's conventions:
    ``spectra`` (sample, wavelength), ``target`` (sample, output); ``wavelength`` in nm
    (``units`` "nm" or absent; micrometres are converted). NaN: see the module doc."""
    p = _existing(path)
    ds = None
    for engine in ("h5netcdf", "scipy"):  # NetCDF-4, then classic NetCDF-3
        try:
            with xr.open_dataset(p, engine=engine) as f:
                ds = f.load()
            break
        except (OSError, ValueError, TypeError) as err:
            error = err
    if ds is None:
        raise ValueError(f"{p}: not a NetCDF file readable with h5netcdf or scipy ({error})")
    ds.attrs = _decode_attrs(ds.attrs)
    for name in list(ds.variables):
        ds[name].attrs = _decode_attrs(ds[name].attrs)
    for var, dims in (("spectra", ("sample", "wavelength")), ("target", ("sample", "output"))):
        if var not in ds or ds[var].dims != dims:
            raise ValueError(
                f"{p}: needs variable {var!r} with dims {dims}; found "
                f"{ {k: ds[k].dims for k in ds.data_vars} }"
            )
    unit = str(ds["wavelength"].attrs.get("units", "nm")).strip().lower()
    if unit in _UM:
        ds = ds.assign_coords(wavelength=("wavelength", ds["wavelength"].values * 1000.0, {
            **ds["wavelength"].attrs, "units": "nm"}))
    elif unit not in _NM:
        raise ValueError(f"{p}: wavelength units must be nm or micrometers; got {unit!r}")
    x = np.asarray(ds["spectra"].values, dtype=np.float64)
    y = np.asarray(ds["target"].values, dtype=np.float64)
    keep = _nan_rows(x, y, np.asarray(ds["wavelength"].values), str(p), nan)
    if not keep.all():
        ds = ds.isel(sample=keep)
    return check_dataset(ds, name=str(p))


# -- CSV --------------------------------------------------------------------------------

_LOOKS_NUMERIC = re.compile(r"^[+-]?(\d|\.\d)")


def _band_of(column: str, prefix: str) -> tuple[float | None, bool]:
    """(wavelength [nm] named by a CSV column such as '350', '350.5', 'wl_350', '350 nm', or
    None; whether the name looks like a number, i.e. starts with a digit)."""
    name = column.strip()
    if prefix and name.startswith(prefix):
        name = name[len(prefix):]
    if not _LOOKS_NUMERIC.match(name):
        return None, False
    try:
        return float(re.sub(r"\s*nm$", "", name, flags=re.IGNORECASE)), True
    except ValueError:
        return None, True


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
    quantity: str | None = None,
    reflectance_scale: float | None = None,
    target_units: str | Sequence[str] | Mapping[str, str] = "",
    nan: str = "drop",
) -> xr.Dataset:
    """A CSV table: one row per sample, a header row, wavelength columns plus target columns.

    A column whose name is a number (optionally after ``band_prefix``, e.g. ``"wl_"``, and
    with an optional ``nm`` suffix) is a band at that wavelength [nm]; bands must be
    strictly increasing from left to right. ``target`` names the target columns (others
    that are not bands are ignored); by default every non-band column is a target.
    ``id_column`` becomes a ``sample_id`` coordinate. ``quantity``/``reflectance_scale``
    declare what the values are (default ``"unknown"``). NaN: see the module doc.
    """
    import pandas as pd

    p = _existing(path)
    src = str(p)
    try:
        df = pd.read_csv(p, sep=sep)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ValueError(f"{src}: cannot be parsed as CSV ({err})") from None
    with open(p, newline="", encoding="utf-8", errors="replace") as f:  # pandas renames repeats
        header = [c.strip() for c in next(csv.reader(f, delimiter=sep), [])]
    dup = sorted({c for c in header if header.count(c) > 1})
    if dup:
        raise ValueError(f"{src}: repeated column names {dup}; each column must be named once")
    df.columns = [str(c).strip() for c in df.columns]
    if id_column is not None and id_column not in df.columns:
        raise ValueError(f"{src}: missing id column {id_column!r}; columns are {list(df.columns)[:10]}...")
    wanted = None if target is None else ([target] if isinstance(target, str) else list(target))
    bands, wl, others = [], [], []
    for c in df.columns:
        if c == id_column:
            continue
        if wanted is not None and c in wanted:
            others.append(c)
            continue
        w, looks_numeric = _band_of(c, band_prefix)
        if w is not None:
            bands.append(c)
            wl.append(w)
        elif looks_numeric:
            raise ValueError(
                f"{src}: column {c!r} looks like a wavelength but is not a number in nm; "
                "rename it, or list it in target=[...] if it is a target"
            )
        else:
            others.append(c)
    if len(bands) < 2:
        example = "'350', '352.5'" + (f" after the prefix {band_prefix!r}" if band_prefix else "")
        raise ValueError(
            f"{src}: found {len(bands)} wavelength columns; need at least 2 columns named by "
            f"their wavelength in nm (e.g. {example})"
        )
    wl_arr = np.asarray(wl)
    steps = np.diff(wl_arr)
    if not (steps > 0).all():
        i = int(np.nonzero(steps <= 0)[0][0])
        raise ValueError(
            f"{src}: wavelength columns must be strictly increasing from left to right; "
            f"{bands[i + 1]!r} ({wl_arr[i + 1]:g} nm) follows {bands[i]!r} ({wl_arr[i]:g} nm)"
        )
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
    x = _numeric(df, bands, src, "wavelength")
    y = _numeric(df, names, src, "target")
    coords = {} if id_column is None else {"sample_id": df[id_column].astype(str).to_numpy()}
    attrs = {"source": src, **_quantity_attrs(quantity, reflectance_scale, src)}
    units = _units_for(names, target_units, src)
    return _build(x, y, _wavelength(wl_arr, src), names, units, attrs, coords, src, nan)


# -- ENVI -------------------------------------------------------------------------------

_UM = {"micrometers", "micrometer", "microns", "micron", "um", "µm"}
_NM = {"nanometers", "nanometer", "nm"}


def _envi_open(path: Path, src: str):
    """(spectral image, header path) for an ENVI header or data file."""
    from spectral.io import envi

    hdr = path if path.suffix.lower() == ".hdr" else None
    if hdr is None:
        for cand in (path.with_suffix(".hdr"), Path(str(path) + ".hdr")):
            if cand.is_file():
                hdr = cand
                break
        else:
            raise ValueError(f"{src}: no ENVI header found next to it (looked for .hdr)")
    _existing(hdr)
    try:
        return envi.open(str(hdr), None if path == hdr else str(path)), hdr
    except Exception as err:  # spectral raises its own exception types
        raise ValueError(f"{src}: cannot be opened as ENVI ({type(err).__name__}: {err})") from None


def _envi_array(img: Any, src: str) -> np.ndarray:
    """(rows, cols, bands) float64, unscaled, with the header's data ignore value as NaN."""
    with warnings.catch_warnings():  # NaN pixels are handled (and counted) by the NaN rule
        warnings.filterwarnings("ignore", message="Image data contains NaN values")
        cube = np.asarray(img.load(scale=False), dtype=np.float64)
    if cube.ndim == 2:
        cube = cube[:, :, None]
    ignore = img.metadata.get("data ignore value")
    if ignore is not None:
        cube[cube == float(ignore)] = np.nan
    return cube


def _envi_wavelength(meta: Mapping[str, Any], src: str) -> np.ndarray | None:
    if "wavelength" not in meta:
        return None
    wl = _wavelength(meta["wavelength"], src)
    unit = str(meta.get("wavelength units", "")).strip().lower()
    if unit in _UM:
        return wl * 1000.0
    if unit in _NM:
        return wl
    if unit in ("", "unknown") and wl.max() > 100.0:
        return wl
    raise ValueError(
        f"{src}: header 'wavelength units' is {meta.get('wavelength units')!r}; accepted are "
        "Nanometers or Micrometers (or pass wavelength=... in nm)"
    )


def read_envi(
    image: str | Path,
    targets: str | Path,
    *,
    target: str | Sequence[str] | None = None,
    wavelength: Any = None,
    quantity: str | None = None,
    reflectance_scale: float | None = None,
    target_units: str | Sequence[str] | Mapping[str, str] = "",
    nan: str = "drop",
) -> xr.Dataset:
    """An ENVI image (rows, cols, bands) with per-pixel targets, flattened to samples.

    ``image``: the ``.hdr`` header (or the data file beside it). Wavelengths come from the
    header (``wavelength`` + ``wavelength units``) or ``wavelength`` [nm]. ``targets``:

    * a CSV with columns ``row``, ``col`` (0-based pixel indices) and one column per
      target: each listed pixel becomes a sample, in the CSV's order;
    * or a second ENVI image (rows, cols, S) of the same rows × cols: every pixel becomes a
      sample (row-major); pixels with NaN (or the header's data ignore value) in any
      target are unlabelled and dropped by the NaN rule. Target names: its ``band names``.

    Coordinates ``row``, ``col`` (sample,) locate each sample; attrs ``image_rows``,
    ``image_cols`` keep the image shape. A header ``reflectance scale factor`` declares
    ``quantity="reflectance"`` with that scale (values are kept unscaled) unless
    ``quantity``/``reflectance_scale`` say otherwise. ``target`` selects target names.
    """
    import pandas as pd

    p = Path(image)
    src = str(p)
    img, hdr = _envi_open(p, src)
    src = str(hdr)
    cube = _envi_array(img, src)
    rows, cols, n_bands = cube.shape
    wl = _envi_wavelength(img.metadata, src) if wavelength is None else _wavelength(wavelength, src)
    if wl is None:
        raise ValueError(f"{src}: the header has no 'wavelength' field; pass wavelength=... (nm)")
    if wl.size != n_bands:
        raise ValueError(f"{src}: {wl.size} wavelengths for {n_bands} bands; they must match")
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
        timg, thdr = _envi_open(tpath, tsrc)
        tsrc = str(thdr)
        tcube = _envi_array(timg, tsrc)
        if tcube.shape[:2] != (rows, cols):
            raise ValueError(
                f"shape mismatch: image {src} is {rows} x {cols} pixels but targets {tsrc} are "
                f"{tcube.shape[0]} x {tcube.shape[1]}"
            )
        available = list(timg.metadata.get("band names") or [f"target_{i}" for i in range(tcube.shape[2])])
        if len(available) != tcube.shape[2]:
            available = [f"target_{i}" for i in range(tcube.shape[2])]
        names = available if target is None else ([target] if isinstance(target, str) else list(target))
        missing = [t for t in names if t not in available]
        if missing:
            raise ValueError(f"{tsrc}: missing target band(s) {missing}; band names are {available}")
        y = tcube.reshape(rows * cols, -1)[:, [available.index(t) for t in names]]
        x = cube.reshape(rows * cols, n_bands)
        r, c = np.divmod(np.arange(rows * cols), cols)
    header_scale = img.metadata.get("reflectance scale factor")
    if quantity is None and reflectance_scale is None and header_scale is not None:
        quantity, reflectance_scale = "reflectance", float(header_scale)
    attrs = {
        "source": src,
        "targets_source": tsrc,
        "image_rows": int(rows),
        "image_cols": int(cols),
        **_quantity_attrs(quantity, reflectance_scale, src),
    }
    units = _units_for(names, target_units, tsrc)
    return _build(x, y, wl, names, units, attrs, {"row": r, "col": c}, src, nan)


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
    benchmark files carry none, so pass them. Coordinates ``row``, ``col`` when the shape
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
    wl = _wavelength(wavelength, src)
    if wl.size != n_bands:
        raise ValueError(f"shape mismatch: {src}: {wl.size} wavelengths for {n_bands} bands")

    coords: dict[str, np.ndarray] = {}
    attrs = {"source": src, **_quantity_attrs(quantity, reflectance_scale, src)}
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
    return _build(spec.T, ab.T, wl, names, units, attrs, coords, src, nan)
