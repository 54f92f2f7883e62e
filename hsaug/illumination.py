"""Direct and diffuse solar illumination spectra, E_sun and E_sky of paper eq. (5).

Conventions (chosen so that eq. (5) reads as written):

* ``e_sun`` is the **direct normal** spectral irradiance at the ground [W m⁻² nm⁻¹]: on a
  plane normal to the sun. The direct part on a surface whose normal makes an angle θ
  with the sun is ``e_sun * mu``, ``mu = cos θ`` (E_sun-gr · μ in eq. 5).
* ``e_sky`` is the **diffuse** (sky) spectral irradiance on a horizontal plane
  [W m⁻² nm⁻¹], taken as independent of the surface orientation (isotropic sky, no
  adjacency effect, as eq. 5 assumes).

The built-in source is the Bird clear-sky model SPECTRL2 as implemented by
:func:`pvlib.spectrum.spectrl2` (offline, ~1 ms): 122 wavelengths over 300–4000 nm
(5–10 nm steps below 1 µm, coarser beyond; 92 of them in 400–2500 nm). Its ``dni`` is
``e_sun`` and its ``dhi`` is ``e_sky``. Spectra are moved onto a data grid by linear
interpolation (:func:`numpy.interp`); outside the source's range the edge values are held.

Users may bring their own spectra as a CSV file (:func:`from_file`). Only the ratio
E_sun / E_sky matters to eq. (5), so any consistent irradiance unit works.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from .params import Param
from .spectra import UNITS, check_wavelength, describe

__all__ = [
    "surface_radiance",
    "IRRADIANCE_UNITS",
    "SPECTRL2_SETTINGS",
    "CLEAR_SKY_PARAMS",
    "CLEAR_SKY_LIMITS",
    "Illumination",
    "clear_sky_illumination",
    "clear_sky",
    "from_file",
]

IRRADIANCE_UNITS = "W m-2 nm-1"

#: Fixed SPECTRL2 inputs: sea-level pressure [Pa], grey ground albedo, day of year
#: (172 = June solstice; it scales both spectra by the Earth–Sun distance, ±3.4 %),
#: horizontal surface. The relative airmass is Kasten & Young (1989), as in NREL's code.
SPECTRL2_SETTINGS = {"surface_pressure": 101325.0, "ground_albedo": 0.2, "dayofyear": 172}

#: The clear-sky settings as parameter specs (accepted interval, default, unit, slider
#: label and step): the single source for checks and sliders; the keyword defaults of
#: :func:`clear_sky_illumination` and :func:`clear_sky` equal these (a test says so).
CLEAR_SKY_PARAMS: tuple[Param, ...] = (
    Param("zenith", 0.0, 85.0, 30.0, unit="deg", label="sun zenith", doc="sun zenith angle", step=1.0),
    Param("precipitable_water", 0.0, 10.0, 1.4, unit="cm", label="water vapour",
          doc="precipitable water vapour column", step=0.1),
    Param("aerosol_turbidity", 0.0, 2.0, 0.1, label="aerosol AOD₅₀₀",
          doc="aerosol optical depth at 500 nm", step=0.01),
    Param("ozone", 0.0, 1.0, 0.3, unit="atm-cm", label="ozone", doc="ozone column", step=0.01),
)

#: Accepted intervals of the clear-sky parameters (closed), with their units; read from
#: :data:`CLEAR_SKY_PARAMS` (kept for callers that want plain tuples).
CLEAR_SKY_LIMITS = {p.name: (p.low, p.high, p.unit) for p in CLEAR_SKY_PARAMS}
_CLEAR_SKY = {p.name: p for p in CLEAR_SKY_PARAMS}


def _readonly(a: Any) -> np.ndarray:
    out = np.array(a, dtype=np.float64)  # a copy, so the caller's array stays writable
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class Illumination:
    """E_sun (direct normal) and E_sky (diffuse horizontal) spectra on one grid.

    ``wavelength`` (K,) [nm, strictly increasing], ``e_sun`` and ``e_sky`` (K,)
    [W m⁻² nm⁻¹, finite, >= 0]; stored as read-only float64 arrays. ``source`` says
    where they came from.
    """

    wavelength: np.ndarray
    e_sun: np.ndarray
    e_sky: np.ndarray
    source: str = ""

    def __post_init__(self) -> None:
        wl = check_wavelength(self.wavelength)  # raises on shape / order / finiteness
        object.__setattr__(self, "wavelength", _readonly(_as_float64(self.wavelength, "wavelength")))
        for name in ("e_sun", "e_sky"):
            value = getattr(self, name)
            arr = _as_float64(value, name)
            if arr.shape != (wl.numel(),):
                raise ValueError(
                    f"{name} must have one value per wavelength, shape ({wl.numel()},); got {describe(value)}"
                )
            if not np.isfinite(arr).all():
                raise ValueError(f"{name} must be finite irradiance [{IRRADIANCE_UNITS}]; got NaN or inf")
            if (arr < 0).any():
                i = int(np.flatnonzero(arr < 0)[0])
                raise ValueError(
                    f"{name} must be non-negative irradiance [{IRRADIANCE_UNITS}]; got {arr[i]:g} "
                    f"at {self.wavelength[i]:g} nm"
                )
            object.__setattr__(self, name, _readonly(arr))

    def on(self, wavelength: Any) -> Illumination:
        """The same spectra linearly interpolated onto ``wavelength`` (B,) [nm].

        Beyond this grid's ends the edge values are held (no extrapolation).
        """
        wl = _grid(wavelength)
        return Illumination(
            np.asarray(wl), np.interp(wl, self.wavelength, self.e_sun),
            np.interp(wl, self.wavelength, self.e_sky), self.source,
        )

    def to_dataset(self) -> xr.Dataset:
        """An ``xarray.Dataset`` with ``e_sun`` and ``e_sky`` over ``wavelength`` [nm]."""
        coords = {"wavelength": ("wavelength", np.array(self.wavelength), {"units": UNITS})}
        return xr.Dataset(
            {
                "e_sun": ("wavelength", np.array(self.e_sun),
                          {"units": IRRADIANCE_UNITS, "long_name": "direct normal irradiance (E_sun)"}),
                "e_sky": ("wavelength", np.array(self.e_sky),
                          {"units": IRRADIANCE_UNITS, "long_name": "diffuse horizontal irradiance (E_sky)"}),
            },
            coords=coords,
            attrs={"source": self.source},
        )

    def to_csv(self, path: str | os.PathLike) -> None:
        """Write the CSV that :func:`from_file` reads (columns wavelength, e_sun, e_sky)."""
        header = f"# {self.source}\n" if self.source else ""
        body = "\n".join(
            f"{w!r},{s!r},{k!r}" for w, s, k in zip(self.wavelength.tolist(), self.e_sun.tolist(), self.e_sky.tolist())
        )
        with open(path, "w", encoding="utf-8") as f:
            f.write(header + "wavelength,e_sun,e_sky\n" + body + "\n")


def _as_float64(value: Any, name: str) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric; got {describe(value)}") from None


def _grid(wavelength: Any) -> np.ndarray:
    """Validated float64 copy of a wavelength grid [nm]."""
    check_wavelength(wavelength)
    return _as_float64(wavelength, "wavelength")


def _check_clear_sky(**values: float) -> tuple[float, ...]:
    return tuple(_CLEAR_SKY[name].check(value) for name, value in values.items())


def clear_sky_illumination(
    *,
    zenith: float = 30.0,
    precipitable_water: float = 1.4,
    aerosol_turbidity: float = 0.1,
    ozone: float = 0.3,
) -> Illumination:
    """Clear-sky E_sun and E_sky from SPECTRL2 on its own 122-point grid (300–4000 nm).

    ``zenith`` sun zenith angle [deg, 0–85], ``precipitable_water`` [cm, 0–10],
    ``aerosol_turbidity`` aerosol optical depth at 500 nm [0–2], ``ozone`` [atm-cm, 0–1];
    other inputs are :data:`SPECTRL2_SETTINGS`. Cached: the same arguments return the
    same (immutable) object.
    """
    return _spectrl2(*_check_clear_sky(
        zenith=zenith, precipitable_water=precipitable_water, aerosol_turbidity=aerosol_turbidity, ozone=ozone
    ))


@functools.lru_cache(maxsize=64)
def _spectrl2(zenith: float, precipitable_water: float, aerosol_turbidity: float, ozone: float) -> Illumination:
    from pvlib.atmosphere import get_relative_airmass
    from pvlib.spectrum import spectrl2

    airmass = get_relative_airmass(zenith, model="kastenyoung1989")
    out = spectrl2(
        apparent_zenith=np.array([zenith]),
        aoi=np.array([zenith]),  # horizontal surface: incidence = zenith (unused outputs)
        surface_tilt=np.array([0.0]),
        ground_albedo=SPECTRL2_SETTINGS["ground_albedo"],
        surface_pressure=SPECTRL2_SETTINGS["surface_pressure"],
        relative_airmass=np.array([airmass]),
        precipitable_water=precipitable_water,
        ozone=ozone,
        aerosol_turbidity_500nm=aerosol_turbidity,
        dayofyear=np.array([SPECTRL2_SETTINGS["dayofyear"]]),
    )
    source = (
        f"pvlib SPECTRL2 clear sky: zenith={zenith:g} deg, precipitable_water={precipitable_water:g} cm, "
        f"aerosol_turbidity={aerosol_turbidity:g}, ozone={ozone:g} atm-cm"
    )
    return Illumination(out["wavelength"], out["dni"][:, 0], out["dhi"][:, 0], source)


@functools.lru_cache(maxsize=64)
def _clear_sky_on(settings: tuple[float, ...], grid: tuple[float, ...]) -> Illumination:
    return _spectrl2(*settings).on(np.array(grid))


def clear_sky(
    wavelength: Any,
    *,
    zenith: float = 30.0,
    precipitable_water: float = 1.4,
    aerosol_turbidity: float = 0.1,
    ozone: float = 0.3,
) -> xr.Dataset:
    """Clear-sky ``e_sun`` (direct normal) and ``e_sky`` (diffuse) on ``wavelength`` (B,) [nm].

    Same parameters as :func:`clear_sky_illumination`; interpolated linearly, edge values
    held outside 300–4000 nm. Returns a Dataset with both variables over ``wavelength``
    (units in attrs); the computation is cached on (parameters, grid).
    """
    settings = _check_clear_sky(
        zenith=zenith, precipitable_water=precipitable_water, aerosol_turbidity=aerosol_turbidity, ozone=ozone
    )
    return _clear_sky_on(settings, tuple(_grid(wavelength).tolist())).to_dataset()


def from_file(path: str | os.PathLike) -> Illumination:
    """Read E_sun and E_sky from a CSV file.

    The file has a header row naming (at least) the columns ``wavelength`` [nm, strictly
    increasing], ``e_sun`` (direct irradiance on a plane normal to the sun) and ``e_sky``
    (diffuse irradiance), both non-negative in one consistent unit (W m⁻² nm⁻¹ by
    convention; eq. 5 only uses their ratio). Lines starting with ``#`` are comments;
    other columns are ignored. Raises ValueError naming what is wrong.
    """
    import pandas as pd

    try:
        table = pd.read_csv(path, comment="#", skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise ValueError(
            f"illumination file {os.fspath(path)!r} is empty; expected columns wavelength, e_sun, e_sky"
        ) from None
    table.columns = [str(c).strip().lower() for c in table.columns]
    missing = [c for c in ("wavelength", "e_sun", "e_sky") if c not in table.columns]
    if missing:
        raise ValueError(
            f"illumination file {os.fspath(path)!r} lacks column(s) {missing}; it needs wavelength, e_sun, e_sky "
            f"(found {list(table.columns)})"
        )
    columns = {}
    for c in ("wavelength", "e_sun", "e_sky"):
        values = pd.to_numeric(table[c], errors="coerce").to_numpy(dtype=np.float64)
        if np.isnan(values).any():
            row = int(np.flatnonzero(np.isnan(values))[0])
            raise ValueError(
                f"illumination file {os.fspath(path)!r}: column {c} must be numeric; got {table[c].iloc[row]!r} "
                f"in data row {row}"
            )
        columns[c] = values
    try:
        return Illumination(columns["wavelength"], columns["e_sun"], columns["e_sky"],
                            source=f"file {os.fspath(path)}")
    except ValueError as err:
        raise ValueError(f"illumination file {os.fspath(path)!r}: {err}") from None


def surface_radiance(reflectance: Any, e_sun: Any, e_sky: Any, zenith: float) -> np.ndarray:
    """Radiance a flat Lambertian surface sends up [W m⁻² sr⁻¹ nm⁻¹]: x (E_sun cos θz + E_sky) / π.

    ``reflectance`` (B,) or (N, B); direct-normal ``e_sun`` and diffuse ``e_sky`` (B,)
    [W m⁻² nm⁻¹]; the sun ``zenith`` θz in degrees [0, 90].
    """
    if not 0.0 <= float(zenith) <= 90.0:
        raise ValueError(f"zenith must be a sun zenith angle in [0, 90] degrees; got {zenith!r}")
    x = np.asarray(reflectance, dtype=float)
    sun, sky = np.asarray(e_sun, dtype=float), np.asarray(e_sky, dtype=float)
    if sun.shape != sky.shape or x.shape[-1:] != sun.shape:
        raise ValueError(f"reflectance (…, B), e_sun (B,) and e_sky (B,) must share the band axis; "
                         f"got shapes {x.shape}, {sun.shape}, {sky.shape}")
    return x * (sun * np.cos(np.radians(float(zenith))) + sky) / np.pi
