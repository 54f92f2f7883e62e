"""The data model: spectra as xarray objects, their validation, and torch conversion.

Conventions (see DESIGN.md):

* spectra are an ``xarray.DataArray`` with dims ``("sample", "wavelength")``;
* ``wavelength`` is a float coordinate in nanometres, strictly increasing, with
  ``attrs["units"] = "nm"``;
* a labelled set is an ``xarray.Dataset`` with ``spectra`` and ``target``
  (dims ``("sample", "output")``, an ``output`` coordinate naming each target).

Every check raises ``ValueError`` naming the argument, the value received and what is
accepted, so that nothing fails later with a shape error from deep inside torch.
"""

from __future__ import annotations

from collections.abc import Sequence
import warnings
from typing import Any

import numpy as np
import torch
import xarray as xr

__all__ = [
    "UNITS",
    "WAVELENGTH_UNITS",
    "UnitsWarning",
    "describe",
    "to_nanometres",
    "BandOrder",
    "order_bands",
    "BAND_MODES",
    "UM_THRESHOLD",
    "check_wavelength",
    "as_spectra",
    "check_spectra",
    "to_dataarray",
    "make_dataset",
    "check_dataset",
    "dataset_tensors",
    "sensor_grid",
    "gaussian_response",
    "resample",
]

UNITS = "nm"

# A wavelength tensor that passed check_wavelength carries a copy of the values it had then
# under this attribute: a hot loop passing the same, unmodified tensor is only compared
# (torch.equal, ~1 us for 224 bands) instead of re-checked (~25 us). Comparing values, not the
# version counter, also sees edits made through ``.numpy()`` or ``.data``, which bump no counter.
_CHECKED = "_hsaug_checked_values"


def describe(value: Any) -> str:
    """A short description of a received value for error messages."""
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return f"{type(value).__name__} of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, (xr.DataArray, xr.Dataset)):
        return f"{type(value).__name__} with dims {dict(value.sizes)}"
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."




def _to_numpy(value: Any, name: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, xr.DataArray):
        return value.values
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be numeric array-like; got {describe(value)}"
        ) from None


def check_wavelength(
    wavelength: Any,
    n_bands: int | None = None,
    *,
    name: str = "wavelength",
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Validate a wavelength grid [nm] and return it as a float32 tensor of shape (B,).

    Accepts a 1-D sequence, numpy array, torch tensor or DataArray that is finite and
    strictly increasing; ``n_bands``, when given, is the number of bands it must have.
    """
    if isinstance(wavelength, torch.Tensor):
        if _still_checked(wavelength):
            # this very tensor passed every check and holds the same values: only the count
            if n_bands is not None and wavelength.numel() != n_bands:
                raise ValueError(
                    f"{name} has {wavelength.numel()} values but the spectra have {n_bands} bands; "
                    "they must match"
                )
            if (wavelength.dtype == torch.float32 and not wavelength.requires_grad
                    and (device is None or torch.device(device) == wavelength.device)):
                return wavelength  # the hot path: nothing to convert, already marked
            out = wavelength.detach().to(device=device, dtype=torch.float32)
            if out.dtype == wavelength.dtype and out.device == wavelength.device:
                setattr(out, _CHECKED, getattr(wavelength, _CHECKED))  # same values: share the copy
            else:
                _mark_checked(out)
            return out
        wl = wavelength.detach()
    else:
        wl = torch.as_tensor(np.array(_to_numpy(wavelength, name)))  # copy: may be read-only
    if wl.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per band, in nm); got {describe(wavelength)}")
    if wl.numel() < 2:
        raise ValueError(f"{name} must have at least 2 bands; got {wl.numel()}")
    if not torch.is_floating_point(wl):
        wl = wl.double()
    if not torch.isfinite(wl).all():
        raise ValueError(f"{name} must be finite; got non-finite values in {describe(wavelength)}")
    steps = wl[1:] - wl[:-1]
    if not (steps > 0).all():
        bad = int(torch.nonzero(steps <= 0)[0])
        raise ValueError(
            f"{name} must be strictly increasing (nm); got {float(wl[bad]):g} followed by "
            f"{float(wl[bad + 1]):g} at band {bad}"
        )
    if isinstance(wavelength, torch.Tensor):
        _mark_checked(wavelength)
    if n_bands is not None and wl.numel() != n_bands:
        raise ValueError(
            f"{name} has {wl.numel()} values but the spectra have {n_bands} bands; "
            "they must match"
        )
    out = wl.to(device=device, dtype=torch.float32)
    _mark_checked(out)  # what we hand on is checked too
    return out


def _mark_checked(t: torch.Tensor) -> None:
    """Remember the values of a tensor that just passed every check (an immutable copy)."""
    setattr(t, _CHECKED, t.detach().clone())


def _still_checked(t: torch.Tensor) -> bool:
    """Whether ``t`` holds exactly the values it held when it passed :func:`check_wavelength`."""
    snap = getattr(t, _CHECKED, None)
    return (
        snap is not None
        and t.ndim == 1
        and snap.shape == t.shape
        and snap.dtype == t.dtype
        and snap.device == t.device
        and torch.equal(t.detach(), snap)
    )


def as_spectra(x: Any, *, name: str = "x", dtype: torch.dtype | None = None) -> torch.Tensor:
    """Validate spectra and return a floating tensor of shape (N, B).

    Accepts a torch tensor (its device is kept), a numpy array or a DataArray with dims
    ``("sample", "wavelength")``. Values must be finite. Numpy input becomes float32.
    """
    if isinstance(x, xr.DataArray):
        if x.dims != ("sample", "wavelength"):
            raise ValueError(
                f"{name} must have dims ('sample', 'wavelength'); got dims {x.dims}"
            )
        x = x.values
    if isinstance(x, torch.Tensor):
        t = x
    else:
        t = torch.as_tensor(np.array(_to_numpy(x, name)))  # copy: may be read-only
        if t.dtype == torch.float64 and dtype is None:
            t = t.float()
    if t.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D with shape (N spectra, B bands); got {describe(x)}"
        )
    if t.shape[0] == 0 or t.shape[1] == 0:
        raise ValueError(f"{name} must hold at least one spectrum and one band; got shape {tuple(t.shape)}")
    if not torch.is_floating_point(t):
        t = t.float()
    if dtype is not None:
        t = t.to(dtype)
    # one reduction: NaN and inf propagate through the sum (an overflow only costs the full check)
    if bool(torch.isfinite(t.sum())):
        return t
    finite = torch.isfinite(t)
    if not finite.all():
        rows = (~finite).any(dim=1).nonzero().flatten()
        raise ValueError(
            f"{name} must be finite; {rows.numel()} spectra contain NaN or inf "
            f"(first at row {int(rows[0])})"
        )
    return t


def check_spectra(x: Any, wavelength: Any, *, name: str = "x") -> tuple[torch.Tensor, torch.Tensor]:
    """Validate spectra (N, B) and their grid (B,); return both as tensors on x's device."""
    t = as_spectra(x, name=name)
    if wavelength is None and isinstance(x, xr.DataArray):
        wavelength = x["wavelength"].values
    wl = check_wavelength(wavelength, t.shape[1], device=t.device)
    return t, wl


def to_dataarray(
    x: Any, wavelength: Any, *, name: str = "spectra", attrs: dict | None = None
) -> xr.DataArray:
    """Spectra (N, B) and grid (B,) [nm] as a DataArray in hsaug's conventions."""
    t, wl = check_spectra(x, wavelength)
    wl_np = wl.cpu().double().numpy() if not isinstance(wavelength, np.ndarray) else np.asarray(wavelength, float)
    return xr.DataArray(
        t.detach().cpu().numpy(),
        dims=("sample", "wavelength"),
        coords={
            "sample": np.arange(t.shape[0]),
            "wavelength": ("wavelength", wl_np, {"units": UNITS, "long_name": "wavelength"}),
        },
        name=name,
        attrs=dict(attrs or {}),
    )


def make_dataset(
    spectra: Any,
    target: Any,
    wavelength: Any,
    *,
    outputs: Sequence[str] | None = None,
    target_units: str | Sequence[str] = "",
    attrs: dict | None = None,
) -> xr.Dataset:
    """A labelled set: ``spectra`` (sample, wavelength) and ``target`` (sample, output).

    ``target`` may be (N,) for one output or (N, S). ``outputs`` names the S targets
    (default ``target_0``…). ``attrs`` travel with the dataset (e.g. ``quantity``).
    """
    da = to_dataarray(spectra, wavelength)
    y = _to_numpy(target, "target")
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2:
        raise ValueError(f"target must be (N,) or (N, S); got {describe(target)}")
    if y.shape[0] != da.sizes["sample"]:
        raise ValueError(
            f"target has {y.shape[0]} rows but spectra have {da.sizes['sample']} samples; "
            "they must match"
        )
    if not np.isfinite(y).all():
        raise ValueError(f"target must be finite; {int((~np.isfinite(y)).any(1).sum())} rows contain NaN or inf")
    names = list(outputs) if outputs is not None else [f"target_{i}" for i in range(y.shape[1])]
    if len(names) != y.shape[1]:
        raise ValueError(f"outputs names {len(names)} targets but target has {y.shape[1]} columns")
    units = [target_units] * len(names) if isinstance(target_units, str) else list(target_units)
    ds = xr.Dataset(
        {
            "spectra": da,
            "target": xr.DataArray(
                y.astype(np.float32), dims=("sample", "output"), coords={"output": names}
            ),
        },
        attrs=dict(attrs or {}),
    )
    ds["target"].attrs["units"] = units if len(set(units)) > 1 else units[0]
    return ds


def check_dataset(ds: Any, *, name: str = "dataset") -> xr.Dataset:
    """Validate a labelled set (see :func:`make_dataset`) and return it."""
    if not isinstance(ds, xr.Dataset):
        raise ValueError(f"{name} must be an xarray.Dataset with 'spectra' and 'target'; got {describe(ds)}")
    for var, dims in (("spectra", ("sample", "wavelength")), ("target", ("sample", "output"))):
        if var not in ds:
            raise ValueError(f"{name} has no variable {var!r}; it has {sorted(ds.data_vars)}")
        if ds[var].dims != dims:
            raise ValueError(f"{name}[{var!r}] must have dims {dims}; got {ds[var].dims}")
    as_spectra(ds["spectra"], name=f"{name}['spectra']")
    check_wavelength(ds["wavelength"].values, name=f"{name}['wavelength']")
    if not np.isfinite(ds["target"].values).all():
        raise ValueError(f"{name}['target'] must be finite; it contains NaN or inf")
    return ds


def dataset_tensors(ds: xr.Dataset) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(spectra (N, B), target (N, S), wavelength (B,)) float32 tensors of a checked dataset."""
    check_dataset(ds)
    x = torch.as_tensor(np.asarray(ds["spectra"].values, np.float32))
    y = torch.as_tensor(np.asarray(ds["target"].values, np.float32))
    wl = check_wavelength(ds["wavelength"].values)
    return x, y, wl


def sensor_grid(n_bands: int = 224, start: float = 400.0, stop: float = 2500.0) -> np.ndarray:
    """An evenly spaced sensor grid [nm], by default AVIRIS-like: 224 bands over 400–2500 nm."""
    if n_bands < 2:
        raise ValueError(f"n_bands must be >= 2; got {n_bands}")
    if not stop > start:
        raise ValueError(f"stop must be greater than start; got start={start}, stop={stop}")
    return np.linspace(start, stop, n_bands)


def gaussian_response(
    source: np.ndarray, target: np.ndarray, fwhm: float | np.ndarray | None = None
) -> np.ndarray:
    """Band-response matrix R (B_target, B_source): row j is band j's Gaussian response.

    ``fwhm`` [nm] defaults to the target grid's local spacing. Rows are normalised to sum
    to one over the source grid, so ``spectra @ R.T`` resamples spectra (N, B_source).
    """
    src = check_wavelength(source, name="source").double().numpy()
    dst = check_wavelength(target, name="target").double().numpy()
    if fwhm is None:
        fwhm = np.gradient(dst)
    fwhm = np.broadcast_to(np.asarray(fwhm, float), dst.shape)
    if not (np.isfinite(fwhm).all() and (fwhm > 0).all()):
        raise ValueError(f"fwhm must be positive nm; got {fwhm}")
    sigma = fwhm / (2.0 * np.sqrt(2.0 * np.log(2.0)))
    resp = np.exp(-0.5 * ((src[None, :] - dst[:, None]) / sigma[:, None]) ** 2)
    total = resp.sum(axis=1, keepdims=True)
    if (total <= 1e-12).any():
        bad = dst[(total[:, 0] <= 1e-12)]
        raise ValueError(
            f"target bands {bad[:5]} nm fall outside the source grid "
            f"[{src[0]:g}, {src[-1]:g}] nm; no source band contributes to them"
        )
    return resp / total


def resample(
    x: Any, source: Any, target: Any, fwhm: float | np.ndarray | None = None
) -> np.ndarray:
    """Resample spectra (N, B_source) on ``source`` [nm] to ``target`` [nm] with Gaussian bands."""
    arr = _to_numpy(x, "x")
    if arr.ndim != 2:
        raise ValueError(f"x must be 2-D (N, B); got {describe(x)}")
    if arr.shape[1] != np.size(source):
        raise ValueError(f"x has {arr.shape[1]} bands but source has {np.size(source)} wavelengths")
    return arr @ gaussian_response(np.asarray(source, float), np.asarray(target, float), fwhm).T


# ---------------------------------------------------------------------------------------
# Wavelength units: one vocabulary for every reader
# ---------------------------------------------------------------------------------------


class UnitsWarning(UserWarning):
    """A grid without declared units was taken to be in micrometres and converted to nm."""


#: Accepted spellings of wavelength units (lower case) and what each means.
WAVELENGTH_UNITS: dict[str, str] = {
    **dict.fromkeys(("nm", "nanometer", "nanometers", "nanometre", "nanometres"), "nm"),
    **dict.fromkeys(
        ("um", "µm", "μm", "micrometer", "micrometers", "micrometre", "micrometres", "micron", "microns"),
        "um",
    ),
    **dict.fromkeys(
        ("cm-1", "cm^-1", "cm⁻¹", "1/cm", "cm**-1", "wavenumber", "wavenumbers", "wavenumber (cm-1)"),
        "cm-1",
    ),
}
_UNDECLARED = ("", "unknown", "none", "unspecified", "<unspecified>")
#: A grid with no declared unit whose largest value is below this is taken as µm.
UM_THRESHOLD = 100.0


def to_nanometres(
    values: Any, units: str | None = None, source: str = "wavelength", *, strict: bool = False
) -> np.ndarray:
    """Band positions in ``units`` as a float64 array (B,) in nm, in the same order.

    ``units``: one of :data:`WAVELENGTH_UNITS` (case-insensitive: nm, µm/um/micrometres/microns,
    cm⁻¹/wavenumber, converted as nm = 1e7 / ν, which reverses the order), or ``None``/""/
    "unknown" when the file declares none. An undeclared grid whose largest value is below
    100 can only be µm for optical spectra: it is multiplied by 1000 with a
    :class:`UnitsWarning` that says so, or refused when ``strict``. ``source`` names the file
    (or argument) in messages.
    """
    try:
        arr = np.array(values, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise ValueError(f"{source}: wavelengths must be numeric; got {describe(values)}") from None
    key = "" if units is None else str(units).strip().lower()
    if key in _UNDECLARED:
        finite = arr[np.isfinite(arr)]
        if finite.size and finite.max() < UM_THRESHOLD:
            msg = (
                f"{source}: wavelengths {finite.min():g}-{finite.max():g} declare no unit and are all "
                f"below {UM_THRESHOLD:g}, so they look like micrometres"
            )
            if strict:
                raise ValueError(f"{msg}; declare the unit (nm or um) to read them")
            warnings.warn(f"{msg}: converted to nm (x1000). Declare the unit to silence this.",
                          UnitsWarning, stacklevel=2)
            return arr * 1000.0
        return arr
    kind = WAVELENGTH_UNITS.get(key)
    if kind is None:
        raise ValueError(
            f"{source}: wavelength units {units!r} are not known; accepted are nm, um (µm, "
            "micrometers, micrometres, microns), cm-1 (wavenumber), or none"
        )
    if kind == "um":
        return arr * 1000.0
    if kind == "cm-1":
        if not (arr > 0).all():
            raise ValueError(f"{source}: wavenumbers must be positive (cm-1); got {arr[arr <= 0][:3].tolist()}")
        return 1e7 / arr
    return arr


# ---------------------------------------------------------------------------------------
# Band order: overlapping detectors and repeated wavelengths
# ---------------------------------------------------------------------------------------

#: Accepted values of every reader's ``bands=`` option.
BAND_MODES = ("error", "sort", "average")


class BandOrder:
    """How to turn a band axis on grid ``source`` [nm] into hsaug's strictly increasing grid.

    ``wavelength`` (B',) is the result; :meth:`apply` maps arrays (..., B) → (..., B') (numpy or
    dask; the last axis is the band axis). Built by :func:`order_bands`.
    """

    def __init__(self, wavelength: np.ndarray, take: np.ndarray | None, starts: np.ndarray | None):
        self.wavelength = wavelength
        self.take = take  # indices into the source bands (None: keep order)
        self.starts = starts  # first index of each group of equal wavelengths (None: no averaging)

    @property
    def identity(self) -> bool:
        return self.take is None and self.starts is None

    def _apply_np(self, x: np.ndarray) -> np.ndarray:
        if self.take is not None:
            x = np.take(x, self.take, axis=-1)
        if self.starts is not None:
            counts = np.diff(np.append(self.starts, x.shape[-1]))
            x = np.add.reduceat(np.asarray(x, dtype=np.float64), self.starts, axis=-1) / counts
        return x

    def apply(self, x: Any) -> Any:
        """x (..., B) reordered/averaged to (..., B'); dask arrays stay lazy."""
        if self.identity:
            return x
        if type(x).__module__.startswith("dask"):
            x = x.rechunk({x.ndim - 1: -1})
            dtype = np.float64 if self.starts is not None else x.dtype
            chunks = x.chunks[:-1] + ((self.wavelength.size,),)
            return x.map_blocks(self._apply_np, dtype=dtype, chunks=chunks)
        return self._apply_np(np.asarray(x))


def order_bands(
    wavelength: Any, bands: str = "error", source: str = "wavelength", *, flip_decreasing: bool = False
) -> BandOrder:
    """Check a band list [nm] and say how to make it strictly increasing.

    ``bands``: ``"error"`` (default) accepts only a strictly increasing list and otherwise
    raises naming the first non-increasing pair and the options; ``"sort"`` sorts the bands
    by wavelength (stable; overlapping detectors such as AVIRIS's 675.6 nm then 664.1 nm
    interleave); ``"average"`` sorts and averages bands at equal wavelengths. A strictly
    decreasing list is reversed when ``flip_decreasing`` (wavenumber grids converted to nm).
    """
    if bands not in BAND_MODES:
        raise ValueError(f"bands must be one of {BAND_MODES}; got {bands!r}")
    wl = np.asarray(wavelength, dtype=np.float64).ravel()
    if wl.size < 2:
        raise ValueError(f"{source} needs at least 2 bands; got {wl.size}")
    if not np.isfinite(wl).all():
        raise ValueError(f"{source} must be finite; got {wl[~np.isfinite(wl)][:3].tolist()}")
    steps = np.diff(wl)
    if (steps > 0).all():
        return BandOrder(wl, None, None)
    if flip_decreasing and (steps < 0).all():
        return BandOrder(wl[::-1].copy(), np.arange(wl.size)[::-1].copy(), None)
    i = int(np.nonzero(steps <= 0)[0][0])
    pair = f"band {i} at {wl[i]:g} nm is followed by band {i + 1} at {wl[i + 1]:g} nm"
    take = np.argsort(wl, kind="stable")
    srt = wl[take]
    repeated = bool((np.diff(srt) == 0).any())
    if bands == "error":
        hint = "bands='average' (averages bands at equal wavelengths)" if repeated else \
            "bands='sort' (sorts bands by wavelength, e.g. overlapping detectors) or bands='average'"
        raise ValueError(f"{source} must be strictly increasing; {pair}. Pass {hint}")
    if bands == "sort":
        if repeated:
            j = int(np.nonzero(np.diff(srt) == 0)[0][0])
            raise ValueError(
                f"{source}: bands='sort' leaves a repeated wavelength ({srt[j]:g} nm twice); "
                "pass bands='average' to average bands at equal wavelengths"
            )
        return BandOrder(srt, take, None)
    starts = np.concatenate([[0], np.nonzero(np.diff(srt) > 0)[0] + 1])
    return BandOrder(srt[starts], take, starts if starts.size < srt.size else None)
