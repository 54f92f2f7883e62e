"""Batched linear interpolation of spectra at per-sample query wavelengths.

The work is one fused ``grid_sample`` call in band-index space. Query wavelengths become
fractional band indices by arithmetic on an evenly spaced grid, or by ``searchsorted`` on
an uneven one (e.g. with water bands removed), so both are exact piecewise-linear
interpolation on the data's own grid.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["EDGE_RULES", "interp_rows", "interp_index", "fractional_index", "is_even"]

EDGE_RULES = ("extrapolate", "repeat", "reflect")


def is_even(wavelength: torch.Tensor, rtol: float = 1e-4) -> bool:
    """True when the grid's steps are equal to within ``rtol`` of the mean step."""
    steps = wavelength[1:] - wavelength[:-1]
    mean = (wavelength[-1] - wavelength[0]) / (wavelength.shape[0] - 1)
    return bool(((steps - mean).abs() <= rtol * mean).all())


def fractional_index(wavelength: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
    """Fractional band index (same shape as ``query``) of query wavelengths [nm].

    Linear in wavelength between bands and continued linearly beyond the grid's ends
    with the edge step, so index 0 is ``wavelength[0]`` and B−1 is ``wavelength[-1]``.
    """
    b = wavelength.shape[0]
    if is_even(wavelength):
        step = (wavelength[-1] - wavelength[0]) / (b - 1)
        return (query - wavelength[0]) / step
    idx = torch.searchsorted(wavelength, query.contiguous(), right=True).sub_(1).clamp_(0, b - 2)
    w0 = wavelength[idx]
    return idx.to(query.dtype) + (query - w0) / (wavelength[idx + 1] - w0)


def interp_rows(
    x: torch.Tensor, wavelength: torch.Tensor, query: torch.Tensor, edge: str = "extrapolate"
) -> torch.Tensor:
    """Values of each spectrum at its own query wavelengths, by linear interpolation.

    ``x`` (N, B) spectra on the grid ``wavelength`` (B,) [nm, strictly increasing, possibly
    uneven]; ``query`` (N, B) wavelengths [nm]. Outside the grid, ``edge`` decides:
    ``"extrapolate"`` continues the edge segment's line, ``"repeat"`` holds the edge
    value, ``"reflect"`` mirrors the query about the edge band. Returns (N, B).
    """
    if edge not in EDGE_RULES:
        raise ValueError(f"edge must be one of {EDGE_RULES}; got {edge!r}")
    return interp_index(x, fractional_index(wavelength, query), edge)


def interp_index(x: torch.Tensor, pos: torch.Tensor, edge: str = "extrapolate") -> torch.Tensor:
    """Like :func:`interp_rows` with queries already given as fractional band indices (N, B)."""
    work = x if x.dtype in (torch.float32, torch.float64) else x.float()
    n, b = work.shape
    grid = torch.empty(n, 1, pos.shape[1], 2, dtype=work.dtype, device=x.device)
    grid[..., 1] = 0.0
    torch.mul(pos, 2.0 / (b - 1), out=grid[:, 0, :, 0]).sub_(1.0)
    padding = "reflection" if edge == "reflect" else "border"
    out = F.grid_sample(work[:, None, None, :], grid, mode="bilinear", padding_mode=padding,
                        align_corners=True)[:, 0, 0]
    if edge == "extrapolate":
        # beyond the grid, continue the edge segment's line: the border value plus distance times
        # the edge slope. Row by row (no batch-wide padding), so a spectrum's result never depends
        # on the other spectra in its batch (in-range queries add an exact 0).
        if float(pos.min()) < 0:
            out = out.addcmul_(pos.clamp(max=0.0), work[:, 1:2] - work[:, :1])
        if float(pos.max()) > b - 1:
            out = out.addcmul_((pos - (b - 1)).clamp_(min=0.0), work[:, -1:] - work[:, -2:-1])
    return out.to(x.dtype)
