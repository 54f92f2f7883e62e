"""Test-time nuisances: controlled, physically meaningful differences between the spectra a
model was trained on and the spectra it is tested on, each swept over a strength.

Augmentations are meant to buy invariance to such variability; the robustness protocol
(:func:`hsaug.experiments.robustness`) trains on clean spectra and scores every model on
test spectra perturbed by these. Each nuisance is the identity at strength 0, exactly
(the same tensor values), so the first point of every sweep is the clean score.

Two kinds (``Nuisance.in_distribution``):

* **in distribution** (True): a training augmentation at a fixed parameter inside its
  training range, or the scene's own kind of noise. A model trained with that augmentation
  has seen such spectra; robustness to them is an in-distribution result.
* **shifts the model never saw** (False): produced by something other than the training
  operators — another sensor's bands, a wavelength scale that stretches or bends, broader
  bands, signal-dependent noise, an atmosphere outside the augmentation's (fixed) clear
  sky, another illumination model, another measured sample of a mineral.

==========================  =====  ==============  =============================================  ===========
nuisance                    in-d.  strength [unit]  what changes                                   needs
==========================  =====  ==============  =============================================  ===========
``calibration_shift``       yes    Δ [nm]          every test spectrum shifted by Δ (``shift``)   —
``illumination``            yes    θ [deg]         sun at θ to the surface normal (eq. 5,         reflectance
                                                   ``atmospheric``, μ1 = cos θ, panel μ2 = 1)
``geometry``                yes    Δθ [deg]        Hapke incidence = emergence = 30° + Δθ         reflectance
                                                   (eq. 3, ``scattering``)
``noise``                   yes    σ / RMS         zero-mean Gaussian noise, std a fraction of    —
                                                   the test spectra's RMS (the scenes' own kind)
``endmember_variability``   no     s               each pixel's endmembers scaled by 1 + s·N(0,1)  a scene
                                                   and remixed (extended linear mixing model)
``sensor_enmap``            no     share s         the spectra seen through an EnMAP-like sensor  —
``sensor_prisma``           no     share s         … a PRISMA-like sensor (see ``SENSORS``):
                                                   resampled to its bands (Gaussian responses),
                                                   linearly interpolated back to the model grid;
                                                   x + s·(that − x)
``wavelength_stretch``      no     d [nm]          the wavelength scale stretched about the       —
                                                   grid's centre: band λ reads λ + d·(λ−λc)/h
                                                   (0 at the centre, ±d at the ends)
``wavelength_warp``         no     d [nm]          a quadratic (smile-like) wavelength error:     —
                                                   band λ reads λ + d·((λ−λc)/h)²
``band_broadening``         no     FWHM [nm]       every band blurred by a Gaussian of this FWHM  —
                                                   sampled on the data's grid (a FWHM below the
                                                   band spacing changes little)
``signal_noise``            no     s               signal-dependent (shot-like) noise, std        —
                                                   s·√(|x|·RMS): s·RMS where x = RMS
``water_vapour``            no     Δw [cm]         reflectance retrieved assuming 1.4 cm of       reflectance
                                                   water vapour while the air held 1.4 + Δw
``aerosol``                 no     Δτ              the same for aerosol optical depth at 500 nm   reflectance
                                                   (assumed 0.1, true 0.1 + Δτ)
``illumination_g173``       no     θ [deg]         eq. 5 at sun angle θ with the ASTM G173-03     reflectance
                                                   direct and diffuse spectra instead of SPECTRL2
``endmember_samples``       no     share s         an endmember replaced by s × another measured  a scene with
                                                   sample of the same mineral, remixed            such a mineral
==========================  =====  ==============  =============================================  ===========

Details:

* *Sensors* are "-like": band centres and FWHM close to the published specifications, not
  the instruments' per-band calibration files (none is installed). EnMAP-like: 420–950 nm
  every 6.5 nm (FWHM 8.1 nm), 955–2450 nm every 10 nm (FWHM 12.5 nm); PRISMA-like: 66
  bands over 403–1000 nm (FWHM 11 nm), 1005–2497 nm every 9.2 nm (FWHM 11 nm). Model bands
  outside a sensor's range get its edge band's value (the sensor does not see them).
* *Atmosphere*: the atmospheric augmentation draws only the sun angle, with one fixed
  SPECTRL2 clear sky (1.4 cm water, AOD 0.1, zenith 30°), so any other water vapour or
  aerosol is outside its training range. The test reflectance is x · G_true / G_assumed
  with G = E_sun cos 30° + E_sky (global irradiance on the ground), G + 1 % of max(G) in
  both numerator and denominator so that the deep water bands (G ≈ 0) stay finite.
* *Illumination from another model*: ASTM G173-03 (read from pvlib's package data,
  ``pvlib/data/ASTMG173.csv``; a SMARTS2 standard spectrum): E_sun = its ``direct``
  column, E_sky = ``global`` − ``direct``·cos 11.2° (the global tilt's angle of incidence
  at AM1.5), floored at 0. No measured field spectrum ships with an installed package.
* *Measured samples*: :func:`other_sample` finds, in the USGS library on the data's grid,
  a different measured sample of the same mineral (same name before the first "_", no
  mixtures). Over 400–2500 nm only illite has one (IMt-1 ↔ GDS4 Marblehead); the "hard"
  preset contains illite for this reason. On SWIR grids muscovite, kaolinite, alunite,
  jarosite, montmorillonite and clinochlore have two or more.

Random draws (noise, scaling factors) come from one generator per (nuisance, seed) and are
the same at every strength, scaled by it, so a sweep's curve is not jagged by redraws.
Scene-based nuisances add ``mix(a, M′) − mix(a, M)`` to the scene's pixels (the scene's own
mixing model, eq. 11): the scene's noise is kept.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import xarray as xr

from . import augment
from .datasets import quantity_of, reflectance_transform
from .spectra import check_dataset, gaussian_response
from .synthetic import mix

__all__ = ["Nuisance", "NUISANCES", "SENSORS", "names", "get", "missing_requirement", "perturb", "other_sample",
           "sensor_matrix"]


@dataclass(frozen=True)
class Nuisance:
    """One test-time nuisance: its name, axis label, unit, default sweep (first value 0 =
    clean), the strengths accepted [low, high], what data it needs (None,
    ``"reflectance"``, ``"scene"`` or ``"samples"``), a line of doc, and whether a training
    augmentation (at its default ranges) or the scene's own noise produces it."""

    name: str
    label: str
    unit: str
    strengths: tuple[float, ...]
    low: float
    high: float
    needs: str | None
    doc: str
    in_distribution: bool = False


NUISANCES: dict[str, Nuisance] = {n.name: n for n in (
    Nuisance("calibration_shift", "wavelength calibration shift Δ", "nm", (0.0, 1.0, 2.0, 5.0, 10.0, 20.0),
             -200.0, 200.0, None, "every test spectrum shifted by Δ nm", True),
    Nuisance("illumination", "sun angle to the surface normal θ", "deg", (0.0, 15.0, 30.0, 45.0, 60.0, 75.0),
             0.0, 87.0, "reflectance", "eq. (5) with μ1 = cos θ, calibration panel facing the sun (μ2 = 1)", True),
    Nuisance("geometry", "Hapke viewing angles changed by Δθ", "deg", (0.0, 10.0, 20.0, 30.0, 45.0, 55.0),
             -30.0, 57.0, "reflectance", "eq. (3) re-viewed at incidence = emergence = 30° + Δθ", True),
    Nuisance("noise", "added noise std σ / RMS of the spectra", "", (0.0, 0.01, 0.03, 0.1, 0.3),
             0.0, 10.0, None, "zero-mean Gaussian noise, σ a fraction of the test spectra's RMS", True),
    Nuisance("endmember_variability", "endmember scaling std s", "", (0.0, 0.05, 0.1, 0.2, 0.3),
             0.0, 2.0, "scene", "each pixel's endmembers scaled by 1 + s·N(0, 1), then remixed", False),
    Nuisance("sensor_enmap", "share of an EnMAP-like sensor's view", "", (0.0, 0.25, 0.5, 1.0),
             0.0, 1.0, None, "resampled to EnMAP-like bands and back to the model grid", False),
    Nuisance("sensor_prisma", "share of a PRISMA-like sensor's view", "", (0.0, 0.25, 0.5, 1.0),
             0.0, 1.0, None, "resampled to PRISMA-like bands and back to the model grid", False),
    Nuisance("wavelength_stretch", "wavelength stretch d at the grid's ends", "nm", (0.0, 2.0, 5.0, 10.0, 20.0),
             -200.0, 200.0, None, "band λ reads λ + d (λ − λc) / h: 0 at the centre, ±d at the ends", False),
    Nuisance("wavelength_warp", "quadratic wavelength error d at the grid's ends", "nm",
             (0.0, 2.0, 5.0, 10.0, 20.0), -200.0, 200.0, None, "band λ reads λ + d ((λ − λc) / h)²", False),
    Nuisance("band_broadening", "extra Gaussian band width (FWHM)", "nm", (0.0, 10.0, 20.0, 40.0, 80.0),
             0.0, 500.0, None, "every band blurred by a Gaussian of this FWHM", False),
    Nuisance("signal_noise", "signal-dependent noise s", "", (0.0, 0.01, 0.03, 0.1, 0.3),
             0.0, 10.0, None, "noise std s·sqrt(|x|·RMS): shot-like, larger on bright bands", False),
    Nuisance("water_vapour", "water vapour above the assumed 1.4 cm", "cm", (0.0, 0.5, 1.0, 2.0, 4.0),
             0.0, 8.6, "reflectance", "retrieval assumed 1.4 cm of water vapour; the air held 1.4 + Δw", False),
    Nuisance("aerosol", "aerosol optical depth above the assumed 0.1", "", (0.0, 0.1, 0.3, 0.6, 1.0),
             0.0, 1.9, "reflectance", "retrieval assumed AOD 0.1 at 500 nm; the air held 0.1 + Δτ", False),
    Nuisance("illumination_g173", "sun angle θ, ASTM G173 spectra", "deg", (0.0, 15.0, 30.0, 45.0, 60.0, 75.0),
             0.0, 87.0, "reflectance", "eq. (5) at θ with ASTM G173-03 direct/diffuse instead of SPECTRL2", False),
    Nuisance("endmember_samples", "share of another measured sample", "", (0.0, 0.25, 0.5, 1.0),
             0.0, 1.0, "samples", "endmembers with a second measured sample replaced by s × it, remixed", False),
)}

_GEOMETRY_DEG = 30.0  # the scattering augmentation's neutral angles (mu0 = mu = cos 30°)
#: Approximate band sets (centres [nm], FWHM [nm]) per detector: see the module docstring.
SENSORS: dict[str, list[tuple[np.ndarray, float]]] = {
    "enmap": [(np.arange(420.0, 950.0, 6.5), 8.1), (np.arange(955.0, 2450.1, 10.0), 12.5)],
    "prisma": [(np.linspace(403.0, 1000.0, 66), 11.0), (np.arange(1005.0, 2497.1, 9.2), 11.0)],
}
_CLEAR_SKY = {"zenith": 30.0, "precipitable_water": 1.4, "aerosol_turbidity": 0.1}  # the augmentation's sky
_G173_AOI_DEG = 48.19 - 37.0  # AM1.5 sun zenith minus the standard's 37° tilt


def names(*, in_distribution: bool | None = None) -> list[str]:
    """The nuisances' names, in the order of the table above; only one kind when
    ``in_distribution`` is True or False."""
    return [n for n, v in NUISANCES.items() if in_distribution is None or v.in_distribution == in_distribution]


def get(name: str) -> Nuisance:
    """The :class:`Nuisance` called ``name``."""
    if name not in NUISANCES:
        raise ValueError(f"unknown nuisance {name!r}; known: {names()}")
    return NUISANCES[name]


def other_sample(name: str, wavelength: Any) -> str | None:
    """A different measured USGS sample of the mineral ``name`` complete on ``wavelength``, or None."""
    from .library import usgs_names

    mineral = str(name).split("_")[0]
    if "+" in mineral:
        return None
    for cand in usgs_names(wavelength):
        if cand != name and cand.split("_")[0] == mineral and "+" not in cand:
            return cand
    return None


def missing_requirement(dataset: xr.Dataset, name: str) -> str | None:
    """Why nuisance ``name`` cannot run on ``dataset`` (a sentence), or None when it can."""
    needs = get(name).needs
    if needs == "reflectance":
        quantity, _ = quantity_of(dataset)
        if quantity != "reflectance":
            return (f"{name} needs reflectance; these spectra are {quantity!r} "
                    "(convert with hsaug.datasets.to_reflectance where that is exact)")
    if needs in ("scene", "samples"):
        if "endmembers" not in dataset or "mixing" not in dataset.attrs:
            return f"{name} needs a synthetic scene (its endmembers and mixing model); this dataset has none"
    if needs == "samples":
        try:
            alts = _alternates(dataset)
        except ValueError as err:
            return f"{name}: the USGS library cannot be read on this grid ({err})"
        if not alts:
            have = [str(e) for e in dataset["endmember"].values]
            return (f"{name} needs an endmember of which the USGS library holds a second measured sample on this "
                    f"grid; this scene's endmembers {have} have none (the 'hard' preset's illite has one)")
    return None


def _alternates(ds: xr.Dataset) -> dict[int, str]:
    wl = np.asarray(ds["wavelength"].values, dtype=float)
    out = {}
    for k, em in enumerate(ds["endmember"].values):
        alt = other_sample(str(em), wl)
        if alt is not None:
            out[k] = alt
    return out


def _generator(name: str, seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed) * 1009 + names().index(name))


def _interp(x: torch.Tensor, src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
    """Spectra x (N, B) sampled at ``src`` (B,) evaluated at ``dst`` (B',) by linear
    interpolation, the edge values held beyond ``src``; batched (one gather)."""
    d = dst.clamp(src[0], src[-1])
    hi = torch.searchsorted(src, d).clamp(1, src.numel() - 1)
    lo = hi - 1
    w = ((d - src[lo]) / (src[hi] - src[lo])).to(x.dtype)
    return x[:, lo] * (1 - w) + x[:, hi] * w


def _interp_matrix(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """(B_dst, B_src) matrix of linear interpolation from ``src`` to ``dst`` (edges held)."""
    eye = torch.eye(src.size, dtype=torch.float64)
    return _interp(eye, torch.as_tensor(src, dtype=torch.float64), torch.as_tensor(dst, dtype=torch.float64)).T.numpy()


@functools.lru_cache(maxsize=16)
def _sensor_matrix(sensor: str, grid: tuple[float, ...]) -> np.ndarray:
    wl = np.asarray(grid)
    centres, responses = [], []
    for c, fwhm in SENSORS[sensor]:
        c = c[(c >= wl[0] - fwhm) & (c <= wl[-1] + fwhm)]
        if c.size:
            centres.append(c)
            responses.append(gaussian_response(wl, c, fwhm))
    c = np.concatenate(centres)
    return _interp_matrix(c, wl) @ np.concatenate(responses)  # model grid -> sensor bands -> model grid


def sensor_matrix(sensor: str, wavelength: Any) -> torch.Tensor:
    """(B, B) float64 matrix A: ``x @ A.T`` is x (N, B) on ``wavelength`` [nm] seen through
    ``sensor``'s bands (Gaussian responses) and linearly interpolated back."""
    if sensor not in SENSORS:
        raise ValueError(f"sensor must be one of {sorted(SENSORS)}; got {sensor!r}")
    return torch.as_tensor(_sensor_matrix(sensor, tuple(float(w) for w in np.asarray(wavelength, float))))


@functools.lru_cache(maxsize=32)
def _atmosphere_ratio(grid: tuple[float, ...], water: float, aerosol: float) -> np.ndarray:
    from .illumination import clear_sky

    wl = np.asarray(grid)
    mu = math.cos(math.radians(_CLEAR_SKY["zenith"]))
    assumed = clear_sky(wl, **_CLEAR_SKY)
    true = clear_sky(wl, zenith=_CLEAR_SKY["zenith"], precipitable_water=water, aerosol_turbidity=aerosol)
    g0 = assumed["e_sun"].values * mu + assumed["e_sky"].values
    g1 = true["e_sun"].values * mu + true["e_sky"].values
    eps = 0.01 * float(g0.max())
    return (g1 + eps) / (g0 + eps)


@functools.lru_cache(maxsize=1)
def _g173_augmentation() -> Any:
    import importlib.resources

    import pandas as pd

    from .illumination import Illumination

    path = importlib.resources.files("pvlib").joinpath("data/ASTMG173.csv")
    with path.open("rb") as fh:
        table = pd.read_csv(fh, skiprows=1)
    table.columns = ["wavelength", "extraterrestrial", "global", "direct"]
    direct = table["direct"].to_numpy(float)
    sky = np.clip(table["global"].to_numpy(float) - direct * math.cos(math.radians(_G173_AOI_DEG)), 0.0, None)
    ill = Illumination(table["wavelength"].to_numpy(float), direct, sky,
                       "ASTM G173-03 (pvlib data/ASTMG173.csv): E_sun = direct, E_sky = global - direct cos 11.2 deg")
    return augment.get("atmospheric", illumination=ill)


def _remix(ds: xr.Dataset, rows: np.ndarray, a: np.ndarray, new_m: np.ndarray, x: torch.Tensor) -> torch.Tensor:
    m = ds["endmembers"].values.astype(np.float64)
    delta = mix(a, new_m, ds.attrs["mixing"]) - mix(ds["target"].values[rows].astype(np.float64), m, ds.attrs["mixing"])
    return x + torch.as_tensor(delta, dtype=torch.float32)


def perturb(dataset: xr.Dataset, name: str, strength: float, rows: Any = None, *, seed: int = 0) -> torch.Tensor:
    """Spectra (n, B) float32 of ``dataset``'s ``rows`` (default all) under nuisance
    ``name`` at ``strength`` (in its unit; 0 returns the spectra unchanged). ``seed``
    fixes the random draws of ``noise``, ``signal_noise`` and ``endmember_variability``."""
    ds = check_dataset(dataset)
    nuisance = get(name)
    reason = missing_requirement(ds, name)
    if reason:
        raise ValueError(reason)
    try:
        strength = float(strength)
    except (TypeError, ValueError):
        raise ValueError(f"strength of {name} must be a number of {nuisance.unit or 'its unit'}; "
                         f"got {strength!r}") from None
    if not nuisance.low <= strength <= nuisance.high:  # NaN fails too
        raise ValueError(f"strength of {name} must be in [{nuisance.low:g}, {nuisance.high:g}] "
                         f"{nuisance.unit}; got {strength!r}")
    rows = np.arange(ds.sizes["sample"]) if rows is None else np.asarray(rows, dtype=np.int64)
    x = torch.as_tensor(ds["spectra"].values[rows], dtype=torch.float32)
    if strength == 0.0:
        return x
    if nuisance.needs == "reflectance":
        _, scale = quantity_of(ds)
        if scale is not None and scale != 1.0:  # e.g. reflectance x 10000: the physics acts on fractions
            to_r, from_r = reflectance_transform(ds)
            fractions = ds.copy()
            fractions["spectra"] = ds["spectra"].copy(data=to_r(torch.as_tensor(ds["spectra"].values)).numpy())
            fractions.attrs["reflectance_scale"] = 1.0
            return from_r(perturb(fractions, name, strength, rows, seed=seed))
    wl_np = np.array(ds["wavelength"].values, dtype=np.float64)
    wl = torch.tensor(wl_np, dtype=torch.float32)
    if name == "calibration_shift":
        return augment.get("shift").apply(x, wl, delta=strength)
    if name == "illumination":
        return augment.get("atmospheric").apply(x, wl, mu1=math.cos(math.radians(strength)), mu2=1.0)
    if name == "illumination_g173":
        return _g173_augmentation().apply(x, wl, mu1=math.cos(math.radians(strength)), mu2=1.0)
    if name == "geometry":
        mu = math.cos(math.radians(_GEOMETRY_DEG + strength))
        return augment.get("scattering").apply(x, wl, mu1=mu, mu2=mu)
    if name in ("sensor_enmap", "sensor_prisma"):
        seen = (x.double() @ sensor_matrix(name.split("_")[1], wl_np).T).float()
        return x + strength * (seen - x)
    if name in ("wavelength_stretch", "wavelength_warp"):
        w64 = torch.as_tensor(wl_np)
        centre, half = 0.5 * (w64[0] + w64[-1]), 0.5 * (w64[-1] - w64[0])
        u = (w64 - centre) / half
        reads = w64 + strength * (u if name == "wavelength_stretch" else u.square())
        return _interp(x.double(), w64, reads).float()
    if name == "band_broadening":
        blur = torch.as_tensor(gaussian_response(wl_np, wl_np, strength))
        return (x.double() @ blur.T).float()
    if name in ("water_vapour", "aerosol"):
        water = _CLEAR_SKY["precipitable_water"] + (strength if name == "water_vapour" else 0.0)
        aod = _CLEAR_SKY["aerosol_turbidity"] + (strength if name == "aerosol" else 0.0)
        return x * torch.as_tensor(_atmosphere_ratio(tuple(wl_np.tolist()), water, aod), dtype=torch.float32)
    if name == "endmember_samples":
        alts = _alternates(ds)
        from .library import usgs_spectra

        m = ds["endmembers"].values.astype(np.float64).copy()
        other = usgs_spectra(wl_np, names=list(alts.values())).values.astype(np.float64)
        for row, k in enumerate(alts):  # a loop over a scene's few endmembers, not spectra
            m[k] = (1.0 - strength) * m[k] + strength * other[row]
        return _remix(ds, rows, ds["target"].values[rows].astype(np.float64), m, x)
    gen = _generator(name, seed)
    if name == "noise":
        z = torch.randn(x.shape, generator=gen)
        return x + strength * x.square().mean().sqrt() * z
    if name == "signal_noise":
        z = torch.randn(x.shape, generator=gen)
        return x + strength * (x.abs() * x.square().mean().sqrt()).sqrt() * z
    # endmember variability: x + mix(a * psi, M) - mix(a, M), the scene's own mixing model
    a = ds["target"].values[rows].astype(np.float64)
    psi = (1.0 + strength * torch.randn(a.shape, generator=gen).double().numpy()).clip(min=0.0)
    return _remix(ds, rows, a * psi, ds["endmembers"].values.astype(np.float64), x)
