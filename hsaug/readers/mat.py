"""MATLAB ``.mat`` files in the unmixing-benchmark layout (Samson, Jasper Ridge, Urban):
:func:`read_mat`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..spectra import WAVELENGTH_UNITS, order_bands, to_nanometres
from .common import build_dataset, existing_file, quantity_attrs, units_for

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
    p = existing_file(path)
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

    tfile, tsrc = (p, src) if abundances is None else (existing_file(abundances), str(abundances))
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
    units = units_for(names, target_units, tsrc)
    return build_dataset(spec.T, ab.T, wl, names, units, attrs, coords, src, nan)
