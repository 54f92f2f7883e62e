"""Radiance a flat Lambertian surface sends up under a given illumination.

L = x (E_sun cos θz + E_sky) / π  [W m⁻² sr⁻¹ nm⁻¹] for reflectance x (B,) or (N, B),
direct-normal E_sun and diffuse E_sky (B,) [W m⁻² nm⁻¹] and the sun zenith θz [deg].
(Beside :mod:`hsaug.illumination`, which gives E_sun and E_sky; kept apart so the
explorers do not hold the formula.)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["surface_radiance"]


def surface_radiance(reflectance: Any, e_sun: Any, e_sky: Any, zenith: float) -> np.ndarray:
    """x (E_sun cos θz + E_sky) / π for a horizontal surface; ``zenith`` in degrees [0, 90]."""
    if not 0.0 <= float(zenith) <= 90.0:
        raise ValueError(f"zenith must be a sun zenith angle in [0, 90] degrees; got {zenith!r}")
    x = np.asarray(reflectance, dtype=float)
    sun, sky = np.asarray(e_sun, dtype=float), np.asarray(e_sky, dtype=float)
    if sun.shape != sky.shape or x.shape[-1:] != sun.shape:
        raise ValueError(f"reflectance (…, B), e_sun (B,) and e_sky (B,) must share the band axis; "
                         f"got shapes {x.shape}, {sun.shape}, {sky.shape}")
    return x * (sun * math.cos(math.radians(float(zenith))) + sky) / math.pi
