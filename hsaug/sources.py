"""Named spectrum sources for the explorers: a few spectra with a label each, and a
``group`` saying which spectra are alike (same material) for reference-based augmentations.

``load_source("usgs" | "synthetic" | "soil" | DataArray | Dataset)`` returns spectra
(sample, wavelength) [nm] with string coordinates ``label`` (shown in pickers) and
``group``. :func:`reference_rows` gives the rows a reference-based augmentation (nearest
neighbour) may draw from: those of the same group. A synthetic scene is one group (its
pixels are mixtures of the same endmembers), the soil set is one group, and each USGS
material (the name before the first ``_``, e.g. ``Illite``) is its own group, so a
mineral is never averaged with snow or seawater.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import xarray as xr

from .spectra import as_spectra, check_wavelength, describe, sensor_grid

__all__ = ["SOURCES", "load_source", "reference_rows"]

#: Named spectrum sources offered by the pickers.
SOURCES = ("synthetic", "usgs", "soil")


def _labelled(spectra: xr.DataArray, labels: Any, groups: Any, source: str) -> xr.DataArray:
    da = spectra.assign_coords(label=("sample", [str(s) for s in labels]),
                               group=("sample", [str(g) for g in groups]))
    da.attrs = dict(spectra.attrs, hsaug_source=source)
    return da


def _material(name: str) -> str:
    """USGS splib07 names start with the material: ``Illite_GDS4_…`` -> ``Illite``."""
    return str(name).split("_")[0]


@functools.lru_cache(maxsize=8)
def _load_named(source: str, limit: int, seed: int) -> xr.DataArray:
    if source == "usgs":
        from .library import usgs_spectra

        da = usgs_spectra(sensor_grid(224)).isel(sample=slice(0, limit))
        names = [str(n) for n in da["name"].values]
        return _labelled(da, names, [_material(n) for n in names], source)
    if source == "synthetic":
        from .synthetic import make_scene

        cols = min(25, limit)
        ds = make_scene("paper", n_rows=math.ceil(limit / cols), n_cols=cols, seed=seed)
        da = ds["spectra"].isel(sample=slice(0, limit))
        labels = [f"pixel (y={y}, x={x})" for y, x in zip(da["y"].values, da["x"].values)]
        return _labelled(da, labels, ["scene"] * da.sizes["sample"], source)
    if source == "soil":
        from .datasets import load_soil

        ds = load_soil().isel(sample=slice(0, limit))
        out = str(ds["output"].values[0])
        labels = [f"soil {i} ({out} {v:g})" for i, v in enumerate(ds["target"].values[:, 0])]
        return _labelled(ds["spectra"], labels, ["soil"] * len(labels), source)
    raise ValueError(f"source must be one of {list(SOURCES)} or spectra (a DataArray/Dataset); got {source!r}")


def load_source(source: str | xr.DataArray | xr.Dataset, *, limit: int = 500, seed: int = 0) -> xr.DataArray:
    """Spectra (sample, wavelength) [nm] with string ``label`` and ``group`` coordinates.

    ``source`` is a name from :data:`SOURCES` — ``"synthetic"`` (pixels of a seeded
    synthetic scene), ``"usgs"`` (measured USGS splib07 spectra on a 224-band grid),
    ``"soil"`` (bundled soil spectra) — or a DataArray (sample, wavelength) / Dataset with
    ``spectra`` (labels from a ``label`` or ``name`` coordinate, groups from ``group``,
    else one group). At most ``limit`` spectra are kept. Named sources are cached.
    """
    if isinstance(source, xr.Dataset):
        if "spectra" not in source:
            raise ValueError(f"source Dataset must hold 'spectra'; got variables {sorted(source.data_vars)}")
        source = source["spectra"]
    if isinstance(source, xr.DataArray):
        as_spectra(source, name="source")
        check_wavelength(source["wavelength"].values, name="source wavelength")
        da = source.isel(sample=slice(0, limit))
        n = da.sizes["sample"]
        if "label" in da.coords:
            labels = da["label"].values
        elif "name" in da.coords:
            labels = da["name"].values
        else:
            labels = [f"spectrum {i}" for i in range(n)]
        groups = da["group"].values if "group" in da.coords else ["custom"] * n
        return _labelled(da, labels, groups, "custom")
    if not isinstance(source, str):
        raise ValueError(f"source must be one of {list(SOURCES)} or spectra (a DataArray/Dataset); got {describe(source)}")
    if limit < 1:
        raise ValueError(f"limit must be a positive number of spectra; got {limit}")
    return _load_named(source, int(limit), int(seed))


def reference_rows(spectra: xr.DataArray, row: int) -> tuple[np.ndarray, int]:
    """Rows (R,) of ``spectra`` in the same ``group`` as ``row``, and ``row``'s place among them."""
    n = spectra.sizes["sample"]
    if not 0 <= int(row) < n:
        raise ValueError(f"row must be in [0, {n - 1}]; got {row}")
    if "group" not in spectra.coords:
        return np.arange(n), int(row)
    groups = spectra["group"].values
    rows = np.flatnonzero(groups == groups[int(row)])
    return rows, int(np.searchsorted(rows, int(row)))
