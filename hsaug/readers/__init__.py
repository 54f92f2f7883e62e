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

Modules, one idea each: :mod:`~hsaug.readers.common` (quantity, scale, NaN rule, dataset
building), :mod:`~hsaug.readers.netcdf`, :mod:`~hsaug.readers.tabular` (CSV),
:mod:`~hsaug.readers.envi` (the ENVI door), :mod:`~hsaug.readers.envi_image` (ENVI images as
datasets), :mod:`~hsaug.readers.mat`. Everything public is importable from here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import xarray as xr

from .common import (
    NOT_INVERTIBLE,
    QUANTITIES,
    DroppedRowsWarning,
    build_dataset,
    check_scale,
    norm_quantity,
    quantity_attrs,
)
from .envi import EnviFile, open_envi
from .envi_image import read_envi
from .mat import read_mat
from .netcdf import read_netcdf, write_netcdf
from .tabular import read_csv

#: The functions that read and write users' files; :mod:`hsaug.datasets` re-exports them.
FILE_FUNCTIONS = (
    "read_dataset",
    "read_netcdf",
    "write_netcdf",
    "read_csv",
    "read_envi",
    "read_mat",
    "open_envi",
)

__all__ = [
    *FILE_FUNCTIONS,
    "FILE_FUNCTIONS",
    "QUANTITIES",
    "DroppedRowsWarning",
    "EnviFile",
    "build_dataset",
    "check_scale",
    "norm_quantity",
    "quantity_attrs",
    "NOT_INVERTIBLE",
    "SUFFIXES",
    "reader_for",
]

#: File suffixes :func:`read_dataset` knows, and the reader each goes to.
SUFFIXES = {
    ".nc": "netcdf", ".nc4": "netcdf", ".netcdf": "netcdf",
    ".csv": "csv",
    ".hdr": "envi", ".img": "envi", ".dat": "envi", ".raw": "envi",
    ".bsq": "envi", ".bil": "envi", ".bip": "envi",
    ".mat": "mat",
}


def reader_for(path: str | Path) -> Callable[..., Any]:
    """The reader a file goes to by its suffix (:data:`SUFFIXES`); a clear error for others."""
    p = Path(path)
    kind = SUFFIXES.get(p.suffix.lower())
    if kind is None:
        raise ValueError(
            f"{p}: unknown file type {p.suffix!r}; accepted suffixes are {sorted(SUFFIXES)}"
        )
    return {"netcdf": read_netcdf, "csv": read_csv, "envi": read_envi, "mat": read_mat}[kind]


def read_dataset(path: str | Path, **kw: Any) -> xr.Dataset:
    """Read any supported file by its suffix: ``.nc`` → :func:`read_netcdf`, ``.csv`` →
    :func:`read_csv`, ``.hdr``/``.img`` (ENVI) → :func:`read_envi`, ``.mat`` →
    :func:`read_mat`. Keyword arguments go to that reader."""
    return reader_for(path)(Path(path), **kw)
