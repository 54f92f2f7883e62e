"""Real data: the bundled soil stand-in (LimeSoDa) and the quantity rules physics needs;
re-exports the file readers of :mod:`hsaug.readers`. See docs/data.md.

* **Bundled stand-in.** The paper's soil data (Tellux, §4.2) are proprietary.
  :func:`load_soil` returns real soil vis-NIR spectra from the PyPI package ``limesoda``
  (LimeSoDa, CC BY-SA 4.0), by default ``SSP.460``: 460 spectra, 350–2498 nm, soil
  organic carbon [%], with LimeSoDa's ten predefined cross-validation folds. It is a
  stand-in, not the paper's data: fewer spectra, a wider range, another target.
* **Quantity.** Every dataset declares in ``attrs["quantity"]`` what its spectra are:
  ``"reflectance"`` (with ``attrs["reflectance_scale"]``: 1 for fractions, 100 for
  percent, 10000 for scaled integers), ``"absorbance"`` (log10(1/R)),
  ``"transmittance"`` (T, with ``attrs["transmittance_scale"]``), or ``"unknown"``.
  Scattering (Hapke, eq. 3–4) and atmospheric (eq. 5) augmentations are defined on
  reflectance in [0, 1]: :func:`require_reflectance` converts where that is exact and
  refuses, saying why, where it is not; :func:`reflectance_transform` gives the same exact
  maps on torch tensors, both ways, for training.
* **Readers** (:mod:`hsaug.readers`, re-exported here): :func:`read_dataset` dispatches
  on the suffix to :func:`read_netcdf`, :func:`read_csv`, :func:`read_envi`,
  :func:`read_mat`; :func:`write_netcdf` writes the lossless format.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import xarray as xr

from .readers import (
    FILE_FUNCTIONS,
    NOT_INVERTIBLE,
    QUANTITIES,
    DroppedRowsWarning,
    build_dataset,
    check_scale,
    norm_quantity,
)
# the file readers, FILE_FUNCTIONS, re-exported (in __all__ below)
from .readers import open_envi, read_csv, read_dataset, read_envi, read_mat, read_netcdf, write_netcdf  # noqa: F401

__all__ = [
    "QUANTITIES",
    "PAPER_RANGE",
    "DroppedRowsWarning",
    "LimeSodaSet",
    "LIMESODA",
    "limesoda_names",
    "load_limesoda",
    "load_soil",
    "quantity_of",
    "to_reflectance",
    "to_absorbance",
    "to_transmittance",
    "require_reflectance",
    "reflectance_transform",
    "convertible_to_reflectance",
    *FILE_FUNCTIONS,  # the file readers of hsaug.readers, re-exported
]

# ---------------------------------------------------------------------------------------
# Quantity rules
# ---------------------------------------------------------------------------------------

_WHY_REFLECTANCE = (
    "the scattering (Hapke, eq. 3-4) and atmospheric (eq. 5) augmentations are defined on "
    "reflectance R in [0, 1]: eq. 4 inverts R to a single-scattering albedo and eq. 5 "
    "rescales R by a ratio of irradiances"
)

#: The paper's soil range [nm] (§4.2), for ``band_range=PAPER_RANGE``.
PAPER_RANGE = (1130.0, 2450.0)


def quantity_of(data: xr.Dataset | xr.DataArray) -> tuple[str, float | None]:
    """(quantity, reflectance_scale) declared in ``data.attrs``; ``("unknown", None)`` if absent."""
    q = norm_quantity(data.attrs.get("quantity", "unknown"))
    scale = data.attrs.get("reflectance_scale") if q == "reflectance" else None
    return q, (None if scale is None else float(scale))


def _spectra_of(data: Any) -> xr.DataArray:
    if isinstance(data, xr.Dataset):
        if "spectra" not in data:
            raise ValueError(f"data must hold a 'spectra' variable; it has {sorted(data.data_vars)}")
        return data["spectra"]
    if isinstance(data, xr.DataArray):
        return data
    raise ValueError(f"data must be an xarray Dataset or DataArray of spectra; got {type(data).__name__}")


_QUANTITY_KEYS = ("quantity", "reflectance_scale", "transmittance_scale", "absorbance_basis")


def _basis(data: Any) -> str:
    """What an absorbance is the log10(1/.) of: ``"reflectance"`` (default) or ``"transmittance"``."""
    basis = norm_quantity(data.attrs.get("absorbance_basis", "reflectance"))
    if basis not in ("reflectance", "transmittance"):
        raise ValueError(f"attrs['absorbance_basis'] must be 'reflectance' or 'transmittance'; got {basis!r}")
    return basis


def _replace_spectra(data: Any, values: np.ndarray, attrs: dict) -> Any:
    da = _spectra_of(data)
    new = da.copy(data=values.astype(da.dtype, copy=False))
    if isinstance(data, xr.Dataset):
        out = data.copy()
        out["spectra"] = new
    else:
        out = new
    out.attrs = {k: v for k, v in data.attrs.items() if k not in _QUANTITY_KEYS}
    out.attrs.update(attrs)
    return out


def to_reflectance(
    data: xr.Dataset | xr.DataArray,
    *,
    quantity: str | None = None,
    reflectance_scale: float | None = None,
) -> xr.Dataset | xr.DataArray:
    """Spectra as reflectance fractions R in [0, 1]: a copy with ``quantity="reflectance"``,
    ``reflectance_scale=1``.

    Exact conversions only: reflectance with scale s gives R = value / s (percent: s = 100);
    absorbance A = log10(1/R) gives R = 10^(-A). ``quantity`` / ``reflectance_scale``
    override ``data.attrs``. Anything else (``"unknown"``, radiance, SNV, derivatives…)
    raises ValueError saying why it cannot be converted.
    """
    da = _spectra_of(data)
    declared, declared_scale = quantity_of(data)
    q = declared if quantity is None else norm_quantity(quantity)
    x = np.asarray(da.values, dtype=np.float64)
    if q == "reflectance":
        scale = reflectance_scale if reflectance_scale is not None else declared_scale
        r = x / check_scale(1.0 if scale is None else scale, "to_reflectance")
    elif q == "absorbance" and _basis(data) == "reflectance":
        r = np.power(10.0, -x)
    else:
        why = NOT_INVERTIBLE["transmittance"] if q == "absorbance" else \
            NOT_INVERTIBLE.get(q, "hsaug knows no exact conversion from it")
        if q == "absorbance":
            why = "it is the absorbance log10(1/T) of a transmittance: " + why
        raise ValueError(
            f"cannot convert spectra with quantity {q!r} to reflectance: {why}. Reflectance is "
            f"needed because {_WHY_REFLECTANCE}. Declare what the values are, e.g. "
            "ds.attrs['quantity'] = 'reflectance' (with ds.attrs['reflectance_scale'] = 100 for "
            "percent) or 'absorbance' (log10(1/R)), or pass quantity=... here."
        )
    return _replace_spectra(data, r, {"quantity": "reflectance", "reflectance_scale": 1.0})


def to_absorbance(data: xr.Dataset | xr.DataArray, **kw: Any) -> xr.Dataset | xr.DataArray:
    """Spectra as absorbance A = log10(1/R) (via :func:`to_reflectance`; R must be > 0), or,
    for ``quantity="transmittance"`` (T = value / ``attrs["transmittance_scale"]``, default 1),
    A = log10(1/T) with ``attrs["absorbance_basis"] = "transmittance"``."""
    da = _spectra_of(data)
    q = quantity_of(data)[0] if kw.get("quantity") is None else norm_quantity(kw["quantity"])
    if q == "absorbance":
        keep = {"quantity": "absorbance", "absorbance_basis": _basis(data)}
        return _replace_spectra(data, np.asarray(da.values), keep)
    if q == "transmittance":
        t = _transmittance_values(data)
        what, basis = "T", "transmittance"
    else:
        t = np.asarray(_spectra_of(to_reflectance(data, **kw)).values, dtype=np.float64)
        what, basis = "R", "reflectance"
    bad = (t <= 0).any(axis=1)
    if bad.any():
        raise ValueError(
            f"absorbance log10(1/{what}) needs {what} > 0; {int(bad.sum())} spectra have {what} <= 0 "
            f"(first at sample {int(np.nonzero(bad)[0][0])})"
        )
    return _replace_spectra(data, -np.log10(t), {"quantity": "absorbance", "absorbance_basis": basis})


def _transmittance_values(data: Any) -> np.ndarray:
    scale = check_scale(data.attrs.get("transmittance_scale", 1.0), "attrs['transmittance_scale']")
    return np.asarray(_spectra_of(data).values, dtype=np.float64) / scale


def to_transmittance(data: xr.Dataset | xr.DataArray) -> xr.Dataset | xr.DataArray:
    """Spectra as transmittance fractions T: from ``quantity="transmittance"`` (T = value /
    ``transmittance_scale``) or from an absorbance with ``absorbance_basis="transmittance"``
    (T = 10^(-A)). Anything else is refused, saying why."""
    q = quantity_of(data)[0]
    if q == "transmittance":
        t = _transmittance_values(data)
    elif q == "absorbance" and _basis(data) == "transmittance":
        t = np.power(10.0, -np.asarray(_spectra_of(data).values, dtype=np.float64))
    else:
        raise ValueError(
            f"cannot convert spectra with quantity {q!r} to transmittance: only transmittance "
            "(with attrs['transmittance_scale'], 100 for percent) and absorbance with "
            "attrs['absorbance_basis'] = 'transmittance' convert exactly"
        )
    return _replace_spectra(data, t, {"quantity": "transmittance", "transmittance_scale": 1.0})


def require_reflectance(
    data: xr.Dataset | xr.DataArray,
    *,
    purpose: str = "scattering and atmospheric augmentations",
) -> xr.Dataset | xr.DataArray:
    """:func:`to_reflectance`, plus a check that the result looks like reflectance.

    Call it before physics augmentations. Raises ValueError naming ``purpose`` when the
    quantity cannot be converted exactly, or when the median reflectance exceeds 1 (a
    scale declared wrongly, e.g. percent data with ``reflectance_scale`` 1).
    """
    try:
        out = to_reflectance(data)
    except ValueError as err:
        raise ValueError(f"reflectance is required for {purpose}: {err}") from None
    r = np.asarray(_spectra_of(out).values, dtype=np.float64)
    med = float(np.nanmedian(r))
    if med > 1.0:
        raise ValueError(
            f"reflectance in [0, 1] is required for {purpose}, but the median is {med:.4g} after dividing "
            f"by reflectance_scale={quantity_of(data)[1]}; the scale looks wrong (percent data "
            "need reflectance_scale=100)"
        )
    return out


# ---------------------------------------------------------------------------------------
# Bundled soil spectra: LimeSoDa
# ---------------------------------------------------------------------------------------

_LIMESODA_CITATION = (
    "Schmidinger, J. et al. (2025). LimeSoDa: A Dataset Collection for Benchmarking of "
    "Machine Learning Regressors in Digital Soil Mapping. arXiv:2502.20139"
)


@dataclass(frozen=True)
class LimeSodaSet:
    """One LimeSoDa set with spectra: where, which instrument, target units (per LimeSoDa's docs)."""

    name: str
    location: str
    instrument: str
    units: Mapping[str, str]
    note: str = ""


_G_DM3 = "g dm-3"
_ASD_LAB = "on dried, sieved (<2 mm) samples in the laboratory"
#: LimeSoDa sets with wavelength (``wl_*``) columns. Units from the LimeSoDa R package's
#: documentation (man/*.Rd, R/data.R, 2025): spectra are "% (Reflectance)"; pH is unitless.
LIMESODA: dict[str, LimeSodaSet] = {
    s.name: s
    for s in (
        LimeSodaSet("SSP.460", "State of Sao Paulo, Brazil",
                    "IRIS MkIV spectroradiometer (GER), " + _ASD_LAB,
                    {"SOC": "%", "pH": "1", "Clay": "%"}),
        LimeSodaSet("CV.98", "Canton of Vaud, Switzerland",
                    "PSR+3500 (Spectral Evolution), in situ from an auger",
                    {"SOC": "%", "pH": "1", "Clay": "%"}),
        LimeSodaSet("SC.93", "Santa Catarina, Brazil", "ASD FieldSpec 4, " + _ASD_LAB,
                    {"SOC": "%", "pH": "1", "Clay": "%"}),
        LimeSodaSet("SL.125", "Skane, Sweden", "ASD FieldSpec Pro FR, " + _ASD_LAB,
                    {"SOM": "%", "pH": "1", "Clay": "%"}, "also has an ERa feature (dropped)"),
        LimeSodaSet("UL.120", "Uppsala, Sweden", "ASD FieldSpec Pro FR, " + _ASD_LAB,
                    {"SOM": "%", "pH": "1", "Clay": "%"}, "also has an ERa feature (dropped)"),
        LimeSodaSet("SP.231", "Saitama Prefecture, Japan",
                    "SAS3000 (Shibuya Seiki), mounted, in situ", {"SOM": "%", "pH": "1", "Clay": "%"},
                    "350-1700 nm only"),
        LimeSodaSet("SSP.58", "State of Sao Paulo, Brazil",
                    "Veris MSP3 spectrometers (Ocean Optics USB4000 + Hamamatsu C9914GB), " + _ASD_LAB,
                    {"SOC": _G_DM3, "pH": "1", "Clay": _G_DM3}),
        LimeSodaSet("MG.44", "Mato Grosso, Brazil",
                    "Veris MSP3 spectrometers (Ocean Optics USB4000 + Hamamatsu C9914GB), " + _ASD_LAB,
                    {"SOC": _G_DM3, "pH": "1", "Clay": _G_DM3}),
        LimeSodaSet("RP.62", "Rhineland-Palatinate, Germany",
                    "Hamamatsu C11118GA NIR on the RapidMapper platform, in situ",
                    {"SOC": "%", "pH": "1", "Clay": "%"},
                    "NIR 1000-2400 nm only, kriged to the sampling points; other sensor features dropped"),
        LimeSodaSet("SA.112", "Saxony-Anhalt, Germany",
                    "Hamamatsu C11118GA NIR on the RapidMapper platform, in situ",
                    {"SOC": "%", "pH": "1", "Clay": "%"},
                    "NIR 1000-2400 nm only, kriged to the sampling points; other sensor features "
                    "dropped; percent scale inferred from the values (6-22) and RP.62's docs"),
    )
}


def limesoda_names() -> list[str]:
    """Names of the LimeSoDa sets with spectra that :func:`load_limesoda` accepts."""
    return list(LIMESODA)


def _limesoda_file(name: str) -> Path:
    """Path of LimeSoDa's ``data/<name>.npz`` without importing the package (and pandas)."""
    spec = importlib.util.find_spec("LimeSoDa")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(
            "the bundled soil data come from the PyPI package 'limesoda', which is not "
            "installed; install it with `pip install limesoda`"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / f"{name}.npz"
    if not path.is_file():
        raise ValueError(f"LimeSoDa file for {name!r} not found at {path}")
    return path


def _select_targets(target: str | Sequence[str] | None, available: Sequence[str], name: str) -> list[str]:
    if target is None or (isinstance(target, str) and target.lower() == "all"):
        return list(available)
    wanted = [target] if isinstance(target, str) else list(target)
    lookup = {a.lower(): a for a in available}
    out = []
    for t in wanted:
        if str(t).lower() not in lookup:
            raise ValueError(f"target {t!r} is not in LimeSoDa set {name}; it has {list(available)} (or 'all')")
        out.append(lookup[str(t).lower()])
    return out


def load_limesoda(
    name: str = "SSP.460",
    target: str | Sequence[str] | None = "SOC",
    *,
    fraction: bool = True,
    band_range: tuple[float, float] | None = None,
) -> xr.Dataset:
    """One LimeSoDa set with spectra as a dataset in hsaug's conventions.

    ``name``: one of :func:`limesoda_names`. ``target``: ``"SOC"`` (or ``"SOM"``,
    ``"pH"``, ``"Clay"``, case-insensitive), a list, or ``None``/``"all"``. Spectra are
    reflectance, as fractions in [0, 1] when ``fraction`` (``reflectance_scale`` 1) or as
    stored, in percent (``reflectance_scale`` 100). ``band_range`` (lo, hi) [nm] keeps the
    bands inside it, e.g. :data:`PAPER_RANGE`. Coordinate ``folds`` (sample,) holds
    LimeSoDa's predefined 10-fold CV assignment (1..10). Returns spectra (N, B) float32,
    target (N, S) with ``units`` as LimeSoDa documents them.
    """
    if name not in LIMESODA:
        raise ValueError(f"name must be a LimeSoDa set with spectra, one of {limesoda_names()}; got {name!r}")
    info = LIMESODA[name]
    with np.load(_limesoda_file(name), allow_pickle=True) as z:  # object arrays: column names
        data = np.asarray(z["dataset_data"], dtype=np.float64)
        columns = [str(c) for c in z["dataset_columns"]]
        folds = np.asarray(z["folds"], dtype=np.int64)
    available = [c[: -len("_target")] for c in columns if c.endswith("_target")]
    names = _select_targets(target, available, name)
    y = data[:, [columns.index(f"{t}_target") for t in names]]
    bands = [i for i, c in enumerate(columns) if c.startswith("wl_")]
    wl = np.array([float(columns[i][3:]) for i in bands])
    x = data[:, bands]
    if band_range is not None:
        lo, hi = (float(v) for v in band_range)
        keep = (wl >= lo) & (wl <= hi)
        if keep.sum() < 2:
            raise ValueError(
                f"band_range {band_range} keeps {int(keep.sum())} bands of {name} "
                f"({wl[0]:g}-{wl[-1]:g} nm); it must keep at least 2"
            )
        x, wl = x[:, keep], wl[keep]
    scale = 100.0
    if fraction:
        x, scale = x / 100.0, 1.0
    attrs = {
        "title": f"LimeSoDa {name}: soil spectra, {info.location}",
        "quantity": "reflectance",
        "reflectance_scale": scale,
        "source": f"LimeSoDa {importlib.metadata.version('limesoda')} (PyPI 'limesoda'), set {name}",
        "licence": "CC BY-SA 4.0",
        "citation": _LIMESODA_CITATION,
        "instrument": info.instrument,
    }
    if info.note:
        attrs["note"] = info.note
    src = f"LimeSoDa {name}"
    return build_dataset(x, y, wl, names, [info.units[t] for t in names], attrs, {"folds": folds}, src, "raise")


def load_soil(
    target: str | Sequence[str] | None = "SOC",
    *,
    name: str = "SSP.460",
    fraction: bool = True,
    band_range: tuple[float, float] | None = None,
) -> xr.Dataset:
    """The default real-soil stand-in for the paper's proprietary Tellux data (§4.2).

    LimeSoDa ``SSP.460``: 460 laboratory vis-NIR spectra, 350–2498 nm (830 bands),
    soil organic carbon [%] (0.1–5.1), pH, clay [%]; see :func:`load_limesoda`. The paper's
    set differs: 10,000 spectra, 1130–2450 nm, hydrocarbon 0–20,000 mg/kg.
    ``band_range=PAPER_RANGE`` crops to the paper's range.
    """
    return load_limesoda(name, target, fraction=fraction, band_range=band_range)


# ---------------------------------------------------------------------------------------
# Reflectance for physics augmentations, on torch tensors
# ---------------------------------------------------------------------------------------


def reflectance_transform(
    data: xr.Dataset | xr.DataArray,
    *,
    quantity: str | None = None,
    reflectance_scale: float | None = None,
) -> tuple[Callable[[torch.Tensor], torch.Tensor], Callable[[torch.Tensor], torch.Tensor]]:
    """(to_reflectance, from_reflectance): exact maps between the declared values and
    reflectance fractions R, on torch tensors (N, B) of any device and dtype.

    For training: physics augmentations act on ``to_reflectance(x)``, the model sees
    ``from_reflectance(augmented)``, the data as declared. Reflectance with scale s:
    R = x / s and back x = R s (s = 1: both are the identity, returning the same tensor);
    absorbance of reflectance: R = 10^(-x) and back x = -log10(R) (R <= 0 gives inf/NaN).
    ``quantity`` / ``reflectance_scale`` override ``data.attrs``. Anything else raises the
    ValueError of :func:`to_reflectance`, which says why it cannot be converted.
    """
    declared, declared_scale = quantity_of(data)
    q = declared if quantity is None else norm_quantity(quantity)
    if q == "reflectance":
        scale = reflectance_scale if reflectance_scale is not None else declared_scale
        s = check_scale(1.0 if scale is None else scale, "reflectance_transform")
        if s == 1.0:
            return (lambda x: x), (lambda r: r)
        return (lambda x: x / s), (lambda r: r * s)
    if q == "absorbance" and _basis(data) == "reflectance":
        return (lambda x: torch.pow(10.0, -x)), (lambda r: -torch.log10(r))
    to_reflectance(data.isel({d: slice(0, 1) for d in _spectra_of(data).dims}), quantity=q)  # raises why
    raise AssertionError("unreachable: to_reflectance accepted what reflectance_transform refuses")


def convertible_to_reflectance(data: xr.Dataset | xr.DataArray) -> bool:
    """Whether :func:`reflectance_transform` (and :func:`to_reflectance`) can convert ``data``."""
    try:
        reflectance_transform(data)
    except ValueError:
        return False
    return True
