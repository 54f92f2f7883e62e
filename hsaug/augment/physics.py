"""Physics-based augmentations: Hapke scattering (eqs. 3–4) and atmospheric illumination (eq. 5).

Both change a reflectance spectrum band by band (no resampling), so they are a handful of
elementwise tensor operations over the (N, B) batch. Angles are given as cosines μ
(unitless, in [0.05, 1], i.e. 0°–87°), as in the paper. Random draws follow the authors'
code: uniform in the angle θ = arccos μ over the configured cosine range (so the default
range cos 85° ≤ μ ≤ 1 is θ ~ U(0°, 85°)).
"""

from __future__ import annotations

import math
import os
from typing import Any

import torch

from ..illumination import CLEAR_SKY_LIMITS, Illumination, clear_sky_illumination, from_file
from .base import Augmentation, Option, Param, Params
from .warp import keep_rows

__all__ = [
    "Scattering", "Atmospheric", "hapke_reflectance", "hapke_albedo", "uniform_angle",
    "MU_LOW", "COS_30", "REFLECTANCE_LIMIT",
]

MU_LOW = 0.05
"""Smallest accepted cosine (θ ≈ 87°)."""
COS_30 = math.cos(math.radians(30.0))
"""The authors' input geometry μ0 = μ = cos 30°."""
COS_85 = math.cos(math.radians(85.0))
REFLECTANCE_LIMIT = 3.0
"""Scattering rejects a batch whose mean is above this: it is not reflectance in [0, 1]
(percent or digital numbers); divide by 100 or calibrate first. The mean, not the
maximum, is tested because noisy data (the paper's 10–20 dB scenes) have single values
far outside [0, 1], and eq. (11)'s post-nonlinear mixtures x = Ma + Ma⊙Ma reach 2 for
bright endmembers; percent reflectance has a mean far above 3."""


def uniform_angle(n: int, mu_low: float, mu_high: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """(n,) float32 CPU cosines μ = cos θ with θ uniform over [arccos μ_high, arccos μ_low].

    A degenerate range (μ_low == μ_high) returns that value exactly.
    """
    if mu_low == mu_high:
        return torch.full((n,), mu_low, dtype=torch.float32)
    u = torch.rand(n, generator=generator, dtype=torch.float64)
    lo, hi = math.acos(mu_high), math.acos(mu_low)
    return torch.cos(lo + (hi - lo) * u).float()


def hapke_reflectance(w: Any, mu1: Any, mu2: Any) -> torch.Tensor:
    """Eq. (3): reflectance w / ((1 + 2μ1√(1−w))(1 + 2μ2√(1−w))) from single-scattering albedo w.

    Plain reference form (tensors broadcast; w in [0, 1], cosines in (0, 1]).
    """
    w, mu1, mu2 = (torch.as_tensor(v) for v in (w, mu1, mu2))
    g = (1.0 - w).sqrt()
    return w / ((1.0 + 2.0 * mu1 * g) * (1.0 + 2.0 * mu2 * g))


def hapke_albedo(x: Any, mu0: Any, mu: Any) -> torch.Tensor:
    """Eq. (4), corrected: the single-scattering albedo w whose eq. (3) reflectance at (μ0, μ) is x.

    w = 1 − g², g = (√((μ0+μ)²x² + (1 + 4μ0μx)(1 − x)) − (μ0+μ)x) / (1 + 4μ0μx); x in [0, 1].
    (The paper prints μ0⁴x² for (μ0+μ)²x² = 4μ0²x² at μ = μ0.)
    """
    x, mu0, mu = (torch.as_tensor(v) for v in (x, mu0, mu))
    a, b = mu0 + mu, mu0 * mu
    g = (((a * x) ** 2 + (1.0 + 4.0 * b * x) * (1.0 - x)).sqrt() - a * x) / (1.0 + 4.0 * b * x)
    return 1.0 - g * g


def _check_cosine(owner: str, name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not MU_LOW <= v <= 1.0:  # also rejects NaN
        raise ValueError(f"{owner}: {name} must be a cosine in [{MU_LOW:g}, 1]; got {value!r}")
    return v


def _mu_param(name: str, default: float, doc: str, sample_range: tuple[float, float]) -> Param:
    return Param(name, MU_LOW, 1.0, default, unit="", label=f"μ{name[-1]}", doc=doc,
                 sample_range=sample_range, step=0.005)


class Scattering(Augmentation):
    """Hapke scattering, eqs. (3)–(4): re-view a reflectance under a new geometry.

    The input reflectance x [0–1] was measured with incidence/emergence cosines
    ``mu0``/``mu`` (constructor settings, default cos 30° as in the authors' code).
    Eq. (3) is inverted there for the single-scattering albedo w — in the corrected
    form of eq. (4) (the printed μ0⁴x² must read (μ0+μ)²x²):

        g = (√((μ0+μ)²x² + (1 + 4μ0μx)(1 − x)) − (μ0+μ)x) / (1 + 4μ0μx),  w = 1 − g²

    and eq. (3) is re-applied at the new cosines: x̃ = w / ((1 + 2μ1 g)(1 + 2μ2 g)).
    Neutral (identity, exactly): μ1 = μ0 and μ2 = μ.

    Reflectance outside [0, 1]: the model is evaluated at x clipped to [0, 1] and the
    excess (x − clip(x), e.g. noise below 0 or a specular value above 1) is added back
    unchanged, so the output stays finite and continuous. Values above
    A batch whose mean is above :data:`REFLECTANCE_LIMIT` (3) raises ValueError: it
    looks like percent.

    Draws (``draw`` option): ``"paired"`` (default, the authors') draws one angle per
    spectrum, θ ~ U over μ1's range (cos 85° to 1, i.e. 0°–85°), and sets μ1 = μ2 = cos θ;
    ``"independent"`` draws μ1 and μ2 each from its own range, uniform in angle.

    An instance keeps one work buffer the size of its last batch (so it is not meant to be
    called from several threads at once).
    """

    name = "scattering"
    options = (
        Option("draw", ("paired", "independent"), "paired",
               "paired: one angle per spectrum, mu1 = mu2 = cos(theta); independent: one each"),
    )

    def __init__(self, mu0: float = COS_30, mu: float = COS_30, **config: Any) -> None:
        self.mu0 = _check_cosine("scattering", "mu0", mu0)
        self.mu = _check_cosine("scattering", "mu", mu)
        self._scratch: torch.Tensor | None = None
        if config.get("draw", "paired") == "paired" and "mu2" in config:
            raise ValueError(
                "scattering: with draw='paired' mu2 always equals mu1, so a range for 'mu2' is not used; "
                f"got mu2={config['mu2']!r}. Pass draw='independent' to draw mu2 from its own range"
            )
        super().__init__(**config)

    @property
    def params(self) -> tuple[Param, ...]:
        return (
            _mu_param("mu1", self.mu0, "new cosine of incidence (neutral: mu0)", (COS_85, 1.0)),
            _mu_param("mu2", self.mu, "new cosine of emergence (neutral: mu)", (COS_85, 1.0)),
        )

    def extra_repr(self) -> str:
        return f"mu0={self.mu0:.4g}, mu={self.mu:.4g}"

    def _sample(self, n: int, generator: torch.Generator | None, wavelength: Any) -> Params:
        """Per-spectrum (n,) cosines, uniform in angle; μ2 = μ1 when ``draw="paired"``."""
        mu1 = uniform_angle(n, *self.ranges["mu1"], generator)
        if self.option_values["draw"] == "paired":
            return {"mu1": mu1, "mu2": mu1.clone()}
        return {"mu1": mu1, "mu2": uniform_angle(n, *self.ranges["mu2"], generator)}

    def _scratch_like(self, t: torch.Tensor) -> torch.Tensor:
        """A work buffer like ``t``, kept between calls of the same shape (saves page faults)."""
        buf = self._scratch
        if buf is None or buf.shape != t.shape or buf.dtype != t.dtype or buf.device != t.device:
            buf = self._scratch = torch.empty_like(t)
        return buf

    def _apply(self, x: torch.Tensor, wavelength: torch.Tensor, params: Params, index: Any) -> torch.Tensor:
        dtype = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
        xf = x.to(dtype)
        low, top = (float(v) for v in torch.aminmax(xf))
        if top > REFLECTANCE_LIMIT and float(xf.mean()) > REFLECTANCE_LIMIT:
            raise ValueError(
                f"scattering: x must be reflectance in [0, 1] (a mean up to {REFLECTANCE_LIMIT:g} is "
                f"tolerated); got a mean of {float(xf.mean()):g} and a maximum of {top:g}. "
                "Percent reflectance must be divided by 100"
            )
        inside = low >= 0.0 and top <= 1.0
        r = xf if inside else xf.clamp(0.0, 1.0)
        # eq. (4), corrected, rationalised: with D = (mu0+mu)^2 x^2 + (1 + 4 mu0 mu x)(1 - x)
        # = 1 + x (4 mu0 mu - 1 + (mu0 - mu)^2 x),   g = sqrt(1 - w) = (1 - x) / (sqrt(D) + (mu0 + mu) x)
        # (no cancellation near x = 1). Fused in-place ops on two (N, B) buffers: the output and
        # a scratch buffer kept between calls (a fresh one each call costs more in page faults
        # than the arithmetic)
        a, c1, c2 = self.mu0 + self.mu, 4.0 * self.mu0 * self.mu - 1.0, (self.mu0 - self.mu) ** 2
        one = torch.ones((), dtype=dtype, device=x.device)
        g = torch.addcmul(one * c1, r, one * c2)  # c1 + c2 x
        torch.addcmul(one, g, r, out=g).sqrt_().add_(r, alpha=a).reciprocal_()  # 1 / (sqrt(D) + a x)
        g.addcmul_(r, g, value=-1.0)  # (1 - x) / (sqrt(D) + a x)
        # eq. (3) at (mu1, mu2) with w = 1 - g^2 (no sqrt(1 - w) round-off), signs folded in:
        # -(1 + 2 mu1 g)(1 + 2 mu2 g) = -1 + g (-2 (mu1 + mu2) - 4 mu1 mu2 g)
        mu1, mu2 = params["mu1"].to(dtype)[:, None], params["mu2"].to(dtype)[:, None]
        neg_den = torch.addcmul(-2.0 * (mu1 + mu2), g, -4.0 * mu1 * mu2, out=self._scratch_like(g))
        torch.addcmul(-one, neg_den, g, out=neg_den)
        out = torch.addcmul(-one, g, g, out=g).div_(neg_den)  # (g^2 - 1) / -(...) = w / (...)
        if not inside:
            out.add_(xf - r)  # carry the part outside [0, 1] through unchanged
        out = out.to(x.dtype)
        neutral = (params["mu1"] == torch.tensor(self.mu0, dtype=torch.float32)) & (
            params["mu2"] == torch.tensor(self.mu, dtype=torch.float32)
        )
        return keep_rows(x, out, neutral)


class Atmospheric(Augmentation):
    """Atmospheric illumination change, eq. (5): x̃ = x (E_sun μ1 + E_sky) / (E_sun μ2 + E_sky).

    E_sun is the direct normal and E_sky the diffuse irradiance (see
    :mod:`hsaug.illumination`), interpolated onto the data's grid. μ1 is the cosine of the
    sun's angle to the surface normal at the pixel, μ2 at the calibration panel; the
    identity is μ1 = μ2 (default 1, both facing the sun).

    Draws: μ1 uniform in angle over its range (default θ ~ U(0°, 85°)) and μ2 fixed at 1,
    as in the authors' code (which divides by E_sun + E_sky); give ``mu2=(low, high)`` to
    draw it too (uniform in angle, independently).

    Illumination: ``illumination=`` an :class:`~hsaug.illumination.Illumination` or the
    path of a CSV file (see :func:`~hsaug.illumination.from_file`); otherwise SPECTRL2
    clear sky with the keywords ``zenith`` [deg], ``precipitable_water`` [cm],
    ``aerosol_turbidity`` (AOD at 500 nm) and ``ozone`` [atm-cm].
    """

    name = "atmospheric"
    param_specs = (
        _mu_param("mu1", 1.0, "cosine of the sun's angle to the pixel's surface normal", (COS_85, 1.0)),
        _mu_param("mu2", 1.0, "cosine of the sun's angle to the calibration panel's normal", (1.0, 1.0)),
    )

    def __init__(self, illumination: Illumination | str | os.PathLike | None = None, **config: Any) -> None:
        sky = {k: config.pop(k) for k in list(config) if k in CLEAR_SKY_LIMITS}
        if illumination is None:
            illumination = clear_sky_illumination(**sky)
        elif sky:
            raise ValueError(
                f"atmospheric: give either illumination= or clear-sky settings {sorted(CLEAR_SKY_LIMITS)}, "
                f"not both; got illumination and {sorted(sky)}"
            )
        elif isinstance(illumination, (str, os.PathLike)):
            illumination = from_file(illumination)
        elif not isinstance(illumination, Illumination):
            raise ValueError(
                "atmospheric: illumination must be an hsaug.illumination.Illumination, a CSV path or None; "
                f"got {type(illumination).__name__}"
            )
        self.illumination: Illumination = illumination
        self._cache: dict[tuple[str, torch.dtype], tuple[torch.Tensor, torch.Tensor]] = {}
        super().__init__(**config)

    def extra_repr(self) -> str:
        return f"illumination={self.illumination.source!r}"

    def _sample(self, n: int, generator: torch.Generator | None, wavelength: Any) -> Params:
        """Per-spectrum (n,) cosines, each uniform in angle over its range."""
        return {p.name: uniform_angle(n, *self.ranges[p.name], generator) for p in self.params}

    def sun_to_sky(self, wavelength: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """E_sun / E_sky on ``wavelength`` (B,) [nm], on its device; cached per grid.

        Where E_sky = 0 the ratio is capped at 1e30 (the eq. 5 factor becomes μ1/μ2);
        where both are 0 it is 0 (factor 1).
        """
        key = (str(wavelength.device), dtype)
        hit = self._cache.get(key)
        if hit is not None and hit[0].shape == wavelength.shape and torch.equal(hit[0], wavelength):
            return hit[1]
        ill = self.illumination.on(wavelength.detach().double().cpu().numpy())
        sun = torch.from_numpy(ill.e_sun.copy())
        sky = torch.from_numpy(ill.e_sky.copy())
        ratio = torch.where(sky > 0, sun / sky.clamp_min(1e-300), torch.where(sun > 0, 1e30, 0.0))
        ratio = ratio.clamp_max(1e30).to(device=wavelength.device, dtype=dtype)
        self._cache[key] = (wavelength.detach().clone(), ratio)
        return ratio

    def _apply(self, x: torch.Tensor, wavelength: torch.Tensor, params: Params, index: Any) -> torch.Tensor:
        dtype = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
        r = self.sun_to_sky(wavelength, dtype)  # (B,) E_sun / E_sky
        mu1, mu2 = params["mu1"].to(dtype), params["mu2"].to(dtype)
        # (E_sun mu1 + E_sky) / (E_sun mu2 + E_sky) = 1 + (mu1 - mu2) q,  q = r / (1 + r mu2):
        # exactly 1 where mu1 = mu2, and q is one (B,) vector when the batch shares mu2 (the default)
        dmu = (mu1 - mu2)[:, None]
        if bool((mu2 == mu2[0]).all()):
            q = (r / (1.0 + r * mu2[0]))[None, :]
            out = torch.mul(q, dmu)
        else:
            out = torch.mul(mu2[:, None], r).add_(1.0).reciprocal_().mul_(r).mul_(dmu)
        return out.add_(1.0).mul_(x)
