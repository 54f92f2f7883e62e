"""Test-time nuisances: controlled, physically meaningful differences between the spectra a
model was trained on and the spectra it is tested on, each swept over a strength.

Augmentations are meant to buy invariance to such variability; the robustness protocol
(:func:`hsaug.experiments.robustness`) trains on clean spectra and scores every model on
test spectra perturbed by these. Each nuisance is the identity at strength 0, exactly
(the same tensor values), so the first point of every sweep is the clean score.

==========================  =================  ==========================================  ==============
nuisance                    strength [unit]    what changes                                needs
==========================  =================  ==========================================  ==============
``calibration_shift``       Δ [nm]             the sensor's wavelength calibration: every  —
                                               test spectrum shifted by Δ (``shift``)
``illumination``            θ [deg]            the sun's angle to the surface normal       reflectance
                                               (``atmospheric``, μ1 = cos θ, panel μ2 = 1)
``geometry``                Δθ [deg]           Hapke viewing geometry: incidence and       reflectance
                                               emergence angles 30° + Δθ (``scattering``)
``noise``                   σ / RMS            added zero-mean Gaussian noise, std a       —
                                               fraction of the test spectra's RMS (0.1
                                               ≈ 20 dB, 0.01 ≈ 40 dB)
``endmember_variability``   s                  each pixel's endmembers scaled by factors   a synthetic
                                               1 + s·N(0, 1) (extended linear mixing       scene
                                               model, Drumetz et al. 2016), remixed
==========================  =================  ==========================================  ==============

Random draws (noise, scaling factors) come from one generator per (nuisance, seed) and are
the same at every strength, scaled by it, so a sweep's curve is not jagged by redraws.
Endmember variability adds ``mix(a ⊙ ψ, M) − mix(a, M)`` to the scene's pixels (ψ the
scaling factors, mix the scene's own model, eq. 11): the scene's noise is kept. The bundled
USGS library has no second sample of the presets' minerals complete over 400–2500 nm, so
variability is modelled by scaling, not by swapping in other measurements.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import xarray as xr

from . import augment
from .spectra import check_dataset
from .synthetic import mix

__all__ = ["Nuisance", "NUISANCES", "names", "get", "missing_requirement", "perturb"]


@dataclass(frozen=True)
class Nuisance:
    """One test-time nuisance: its name, axis label, unit, default sweep (first value 0 =
    clean), the strengths accepted [low, high], what data it needs (None,
    ``"reflectance"`` or ``"scene"``) and a line of doc."""

    name: str
    label: str
    unit: str
    strengths: tuple[float, ...]
    low: float
    high: float
    needs: str | None
    doc: str


NUISANCES: dict[str, Nuisance] = {n.name: n for n in (
    Nuisance("calibration_shift", "wavelength calibration shift Δ", "nm", (0.0, 1.0, 2.0, 5.0, 10.0, 20.0),
             -200.0, 200.0, None, "every test spectrum shifted by Δ nm"),
    Nuisance("illumination", "sun angle to the surface normal θ", "deg", (0.0, 15.0, 30.0, 45.0, 60.0, 75.0),
             0.0, 87.0, "reflectance", "eq. (5) with μ1 = cos θ, calibration panel facing the sun (μ2 = 1)"),
    Nuisance("geometry", "Hapke viewing angles changed by Δθ", "deg", (0.0, 10.0, 20.0, 30.0, 45.0, 55.0),
             -30.0, 57.0, "reflectance", "eq. (3) re-viewed at incidence = emergence = 30° + Δθ"),
    Nuisance("noise", "added noise std σ / RMS of the spectra", "", (0.0, 0.01, 0.03, 0.1, 0.3),
             0.0, 10.0, None, "zero-mean Gaussian noise, σ a fraction of the test spectra's RMS"),
    Nuisance("endmember_variability", "endmember scaling std s", "", (0.0, 0.05, 0.1, 0.2, 0.3),
             0.0, 2.0, "scene", "each pixel's endmembers scaled by 1 + s·N(0, 1), then remixed"),
)}

_GEOMETRY_DEG = 30.0  # the scattering augmentation's neutral angles (mu0 = mu = cos 30°)


def names() -> list[str]:
    """The nuisances' names, in the order of the table above."""
    return list(NUISANCES)


def get(name: str) -> Nuisance:
    """The :class:`Nuisance` called ``name``."""
    if name not in NUISANCES:
        raise ValueError(f"unknown nuisance {name!r}; known: {names()}")
    return NUISANCES[name]


def missing_requirement(dataset: xr.Dataset, name: str) -> str | None:
    """Why nuisance ``name`` cannot run on ``dataset`` (a sentence), or None when it can."""
    needs = get(name).needs
    if needs == "reflectance":
        quantity = str(dataset.attrs.get("quantity", "unknown"))
        if quantity != "reflectance":
            return (f"{name} needs reflectance in [0, 1]; these spectra are {quantity!r} "
                    "(convert with hsaug.datasets.to_reflectance where that is exact)")
    if needs == "scene":
        if "endmembers" not in dataset or "mixing" not in dataset.attrs:
            return f"{name} needs a synthetic scene (its endmembers and mixing model); this dataset has none"
    return None


def _generator(name: str, seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed) * 1009 + names().index(name))


def perturb(dataset: xr.Dataset, name: str, strength: float, rows: Any = None, *, seed: int = 0) -> torch.Tensor:
    """Spectra (n, B) float32 of ``dataset``'s ``rows`` (default all) under nuisance
    ``name`` at ``strength`` (in its unit; 0 returns the spectra unchanged). ``seed``
    fixes the random draws of ``noise`` and ``endmember_variability``."""
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
    wl = torch.tensor(np.asarray(ds["wavelength"].values, dtype=np.float32))
    if name == "calibration_shift":
        return augment.get("shift").apply(x, wl, delta=strength)
    if name == "illumination":
        return augment.get("atmospheric").apply(x, wl, mu1=math.cos(math.radians(strength)), mu2=1.0)
    if name == "geometry":
        mu = math.cos(math.radians(_GEOMETRY_DEG + strength))
        return augment.get("scattering").apply(x, wl, mu1=mu, mu2=mu)
    gen = _generator(name, seed)
    if name == "noise":
        z = torch.randn(x.shape, generator=gen)
        return x + strength * x.square().mean().sqrt() * z
    # endmember variability: x + mix(a * psi, M) - mix(a, M), the scene's own mixing model
    a = ds["target"].values[rows].astype(np.float64)
    m = ds["endmembers"].values.astype(np.float64)
    psi = (1.0 + strength * torch.randn(a.shape, generator=gen).double().numpy()).clip(min=0.0)
    delta = mix(a * psi, m, ds.attrs["mixing"]) - mix(a, m, ds.attrs["mixing"])
    return x + torch.as_tensor(delta, dtype=torch.float32)
