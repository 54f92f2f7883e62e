"""ENVI images as hsaug data (:func:`read_envi`): an unlabelled scene (y, x, wavelength) for
prediction, or pixels with targets from a CSV pixel list, a second ENVI image or a
``.npy`` array."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .common import build_dataset, existing_file, numeric_columns, quantity_attrs, units_for
from .envi import EnviFile, open_envi

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
        tsrc = str(existing_file(tpath))
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
        existing_file(tpath)
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
        rc = numeric_columns(df, [lower["row"], lower["col"]], tsrc, "pixel index")
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
        y = numeric_columns(df, names, tsrc, "target")
        x = cube[r, c, :]
    else:
        y, names, tsrc = _grid_targets(tpath, target, rows, cols, src)
        x = cube.reshape(rows * cols, n_bands)
        r, c = np.divmod(np.arange(rows * cols), cols)
    attrs = {"source": src, "targets_source": tsrc, "image_rows": int(rows), "image_cols": int(cols),
             **{k: v for k, v in attrs.items() if k != "source"}}
    units = units_for(names, target_units, tsrc)
    return build_dataset(x, y, f.wavelength, names, units, attrs, {"row": r, "col": c}, src, nan)
