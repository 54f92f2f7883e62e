"""Named sets of random ranges: hsaug's defaults and the authors' code.

A range set maps an augmentation name to the settings its constructor takes (a
``(low, high)`` random range or a fixed value per parameter, options by name).
``augment.get(name, ranges="authors")`` builds an augmentation with a set; settings
given beside it override the set's.

``"hsaug"`` — the defaults of each class (its specs' ``sample_range``): gentle draws
(shift ±20 nm, elastic amplitudes ±10 nm) meant for exploring and for the paper's
protocols as this project runs them.

``"authors"`` — the ranges of the authors' public code, read from
``mohamaddhaini/contrastive-learning-hyperspectral`` (facts in
``shared/paper/reference-facts.md``, table "Transforms as coded"):

* **shift**: an integer shift of 1–20 bands to the right. On the 224-band 400–2500 nm
  grid of the paper's scenes one band is 2100 / 223 = 9.417 nm, so Δ ~ U(9.417, 188.3) nm
  (continuous here, whole bands there), ``edge="extrapolate"`` (their linear fill).
* **flip**: band reversal, ``amount`` = 1.
* **scattering**: input geometry μ0 = μ = cos 30°; θ ~ U(0°, 85°) per spectrum and
  μ1 = μ2 = cos θ (``draw="paired"``, μ1 drawn over [cos 85°, 1] uniform in angle).
* **atmospheric**: θ ~ U(0°, 85°) per spectrum, μ1 = cos θ; the panel term is
  E_sun + E_sky, i.e. μ2 = 1.
* **elastic**: their displacement is a smoothed noise field,
  ``gaussian_filter1d(U(-1, 1) per band, σ) · α`` with α ~ randint(1, 50) and
  σ ~ randint(1, 10) bands; eq. (6)'s Gaussian kernels cannot copy it, so the set matches
  its size and scale: σ over 1–9 bands (9.4–84.8 nm) and three kernels with amplitudes
  ±105 nm. The median over spectra of the largest |displacement| is then 83.7 nm against
  their 80.1 nm (3,000 draws each, seed 0, 224-band grid; hsaug's default gives 8.0 nm),
  measured by ``test_authors_elastic_matches_their_displacement`` in
  ``tests/test_augment_ranges.py``.
* **band_erasure**: 10 % of the bands as one contiguous run set to 0 (``fraction`` 0.1,
  ``width`` 0, ``fill="zero"``); their run starts at one place shared by the batch,
  here each spectrum draws its own.
* **band_permutation**: blocks of 20 bands, all of them shuffled (``share`` = 1).
* **nearest_neighbor**: the mean of the 5 nearest rows, the row itself included (k = 5).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["RANGES", "range_sets", "range_config", "AVIRIS_BAND_NM"]

AVIRIS_BAND_NM = 2100.0 / 223.0
"""One band of a 224-band 400–2500 nm grid [nm] (the authors' shift is counted in bands)."""
_COS_30 = math.cos(math.radians(30.0))
_COS_85 = math.cos(math.radians(85.0))
_ELASTIC_KERNELS = 3
_ELASTIC_AMPLITUDE = 105.0  # nm; see the module docstring for how it was matched

RANGES: dict[str, dict[str, dict[str, Any]]] = {
    "hsaug": {},  # every class's own defaults
    "authors": {
        "shift": {"delta": (AVIRIS_BAND_NM, 20 * AVIRIS_BAND_NM), "edge": "extrapolate"},
        "flip": {"amount": 1.0},
        "scattering": {"mu0": _COS_30, "mu": _COS_30, "draw": "paired", "mu1": (_COS_85, 1.0)},
        "atmospheric": {"mu1": (_COS_85, 1.0), "mu2": 1.0},
        "elastic": {
            "n_kernels": _ELASTIC_KERNELS,
            **{f"A_{i}": (-_ELASTIC_AMPLITUDE, _ELASTIC_AMPLITUDE) for i in range(1, _ELASTIC_KERNELS + 1)},
            "sigma": (AVIRIS_BAND_NM, 9 * AVIRIS_BAND_NM),
        },
        "band_erasure": {"fraction": 0.1, "width": 0, "fill": "zero"},
        "band_permutation": {"block": 20, "share": 1.0},
        "nearest_neighbor": {"k": 5},
    },
}
"""Range set name → augmentation name → constructor settings (see the module docstring)."""


def range_sets() -> list[str]:
    """The names of the range sets: ``["hsaug", "authors"]``."""
    return list(RANGES)


def range_config(name: str, ranges: str = "hsaug") -> dict[str, Any]:
    """The settings range set ``ranges`` gives augmentation ``name`` (a new dict; empty
    where the set keeps the class defaults)."""
    if ranges not in RANGES:
        raise ValueError(f"ranges must be one of {range_sets()}; got {ranges!r}")
    return dict(RANGES[ranges].get(name, {}))
