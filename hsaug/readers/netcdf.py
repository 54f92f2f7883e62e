"""NetCDF, hsaug's lossless format: :func:`write_netcdf` and :func:`read_netcdf`; attrs
netCDF cannot hold travel as tagged JSON strings."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..spectra import WAVELENGTH_UNITS, check_dataset, order_bands, to_nanometres
from .common import existing_file, nan_rows, quantity_attrs

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
    rule is then not applied (NaN pixels predict NaN). NaN otherwise: see :mod:`hsaug.readers`.
    """
    p = existing_file(path)
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
    keep = nan_rows(x, y, np.asarray(ds["wavelength"].values), str(p), nan)
    if not keep.all():
        ds = ds.isel(sample=keep)
    return check_dataset(ds, name=str(p))
