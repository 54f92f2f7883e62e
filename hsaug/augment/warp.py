"""Augmentations that move spectra along the wavelength axis: shift (eq. 1), flip (eq. 2),
elastic distortion (eq. 6). All resample by linear interpolation on the data's own grid,
so uneven grids (e.g. with water bands removed) are handled exactly as the equations say.
"""

from __future__ import annotations

from typing import Any

import torch

from .base import Augmentation, Option, Param, Params
from .interp import interp_index, interp_rows, is_even

__all__ = ["Shift", "Flip", "Elastic"]


def keep_rows(x: torch.Tensor, out: torch.Tensor, neutral: torch.Tensor) -> torch.Tensor:
    """``out`` with the rows flagged ``neutral`` (N,) replaced by ``x``: exact identity there
    (grid_sample's float32 coordinates would otherwise add ~1e-5 band of rounding)."""
    if bool(neutral.any()):
        out[neutral] = x[neutral]
    return out


def gaussian_bumps(
    wavelength: torch.Tensor, amps: torch.Tensor, centres: torch.Tensor, sigma: torch.Tensor
) -> torch.Tensor:
    """Σ_i A_i exp(−(λ − λ_i)² / 2σ²) for each spectrum: (N, B) from amps, centres (N, K), sigma (N,).

    The exponent is a quadratic in λ, so all N·K kernels come from one float64 matmul of
    their coefficients with [λ², λ, 1] (centred, in µm), and the sum over kernels is a bmm.
    """
    n, k = amps.shape
    lam = (wavelength.double() - wavelength.double().mean()) / 1000.0  # (B,) µm, centred
    c = (centres.double() - wavelength.double().mean()) / 1000.0  # (N, K)
    inv = 1.0 / (2.0 * (sigma.double() / 1000.0) ** 2)[:, None].expand(n, k)  # (N, K)
    coeffs = torch.stack([-inv, 2.0 * c * inv, -c * c * inv], dim=-1)  # (N, K, 3)
    basis = torch.stack([lam * lam, lam, torch.ones_like(lam)])  # (3, B)
    # exponents below -60 (e^-60 ~ 1e-26) are clamped: far tails would otherwise hit exp's
    # slow denormal path, at no visible change to the displacement
    exponent = (coeffs.reshape(n * k, 3) @ basis).float().clamp_min_(-60.0)
    bumps = exponent.exp_().view(n, k, -1)  # (N, K, B)
    return torch.bmm(amps.float()[:, None, :], bumps)[:, 0]


class Shift(Augmentation):
    """Spectral shift, eq. (1): x̃(λ) = x(λ − Δ), fractional Δ by linear interpolation.

    The band exposed at one edge is filled by the ``edge`` rule: ``"extrapolate"``
    (the authors' code) continues the edge slope, ``"repeat"`` holds the edge value.
    The authors' code shifts by 1–20 whole bands to the right (≈ 9–190 nm on a 224-band
    AVIRIS grid); the default random range here is ±20 nm, configurable.
    """

    name = "shift"
    param_specs = (
        Param("delta", -200.0, 200.0, 0.0, unit="nm", label="Δ",
              doc="shift towards longer wavelengths", sample_range=(-20.0, 20.0), step=0.5),
    )
    options = (Option("edge", ("extrapolate", "repeat"), "extrapolate", "fill rule for the exposed edge"),)

    def _apply(self, x: torch.Tensor, wavelength: torch.Tensor, params: Params, index: Any) -> torch.Tensor:
        delta = params["delta"]
        edge = self.option_values["edge"]
        if is_even(wavelength):  # fractional band index directly: one broadcast subtraction
            step = (wavelength[-1] - wavelength[0]) / (wavelength.shape[0] - 1)
            bands = torch.arange(wavelength.shape[0], dtype=x.dtype, device=x.device)
            out = interp_index(x, bands[None, :] - (delta / step)[:, None].to(x.dtype), edge)
        else:
            out = interp_rows(x, wavelength, wavelength[None, :] - delta[:, None], edge)
        return keep_rows(x, out, delta == 0)


class Flip(Augmentation):
    """Spectral flip, eq. (2): x̃(λ) = x(λ_min + λ_max − λ), blended by ``amount``.

    ``amount`` = 1 flips, 0 is the identity; values between mix the two linearly
    (a teaching aid; training draws 1). On an even grid this is the band reversal of the
    authors' code; on an uneven grid it interpolates, as eq. (2) requires.
    """

    name = "flip"
    param_specs = (
        Param("amount", 0.0, 1.0, 0.0, doc="0 = original, 1 = flipped", sample_range=(1.0, 1.0), step=0.05),
    )

    def _apply(self, x: torch.Tensor, wavelength: torch.Tensor, params: Params, index: Any) -> torch.Tensor:
        if is_even(wavelength):  # eq. (2) is exactly the band reversal here
            flipped = x.flip(1)
        else:
            query = (wavelength[0] + wavelength[-1] - wavelength).expand(x.shape[0], -1)
            flipped = interp_rows(x, wavelength, query, "repeat")
        amount = params["amount"]
        if bool((amount == 1).all()):
            return flipped
        return torch.lerp(x, flipped, amount[:, None].to(x.dtype))


class Elastic(Augmentation):
    """Elastic distortion, eq. (6): x̃(λ) = x(λ + Σ_i A_i exp(−(λ − λ_i)² / 2σ²)).

    ``n_kernels`` Gaussian kernels (N_G), each with amplitude ``A_i`` [nm] and centre
    ``lambda_i`` [nm], sharing the width ``sigma`` [nm]. Neutral: all A_i = 0. Edges are
    reflected (as in the authors' code). Amplitudes up to ±200 nm are accepted (the
    ``"authors"`` range set draws ±105 nm); the default draw is ±10 nm.
    """

    name = "elastic"
    options = (Option("n_kernels", tuple(range(1, 9)), 3, "number of Gaussian kernels N_G"),)

    def __init__(self, **config: Any) -> None:
        # the parameter specs depend on n_kernels, so set it before configuring ranges
        n = config.get("n_kernels", 3)
        if n not in range(1, 9):
            raise ValueError(f"elastic: option 'n_kernels' must be one of {list(range(1, 9))}; got {n!r}")
        self._n_kernels = n
        super().__init__(**config)

    @property
    def params(self) -> tuple[Param, ...]:
        k = self._n_kernels
        amps = tuple(
            Param(f"A_{i}", -200.0, 200.0, 0.0, unit="nm", label=f"A_{i}", doc=f"amplitude of kernel {i}",
                  sample_range=(-10.0, 10.0), step=0.5)
            for i in range(1, k + 1)
        )
        centres = tuple(
            Param(f"lambda_{i}", 300.0, 2600.0, 400.0 + (2100.0 * (i - 0.5) / k), unit="nm", label=f"λ_{i}",
                  doc=f"centre of kernel {i}", position=True, step=5.0)
            for i in range(1, k + 1)
        )
        sigma = Param("sigma", 5.0, 500.0, 100.0, unit="nm", label="σ", doc="kernel width",
                      sample_range=(20.0, 200.0), step=1.0)
        return amps + centres + (sigma,)

    def _apply(self, x: torch.Tensor, wavelength: torch.Tensor, params: Params, index: Any) -> torch.Tensor:
        k = self._n_kernels
        amps = torch.stack([params[f"A_{i}"] for i in range(1, k + 1)], dim=1)  # (N, K)
        centres = torch.stack([params[f"lambda_{i}"] for i in range(1, k + 1)], dim=1)  # (N, K)
        displacement = gaussian_bumps(wavelength, amps, centres, params["sigma"])
        out = interp_rows(x, wavelength, wavelength[None, :] + displacement, "reflect")
        return keep_rows(x, out, (amps == 0).all(dim=1))
