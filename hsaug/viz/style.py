"""The house style every figure shares: colours, font, the common layout, per-band checks."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from ..spectra import describe

__all__ = ["ORIGINAL", "AUGMENTED", "SUN", "SKY", "PALETTE", "FONT", "styled", "per_band"]

ORIGINAL = "#4a4a4a"  # original spectrum: dark grey
AUGMENTED = "#d62728"  # augmented spectrum: red
SUN, SKY = "#ff7f0e", "#1f77b4"
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
FONT = dict(family="Arial, Helvetica, sans-serif", size=13)


def styled(fig: go.Figure, *, title: str = "", height: int = 380, **kw: Any) -> go.Figure:
    """The common layout: white template, house font, ``height`` [px], title top left, legend
    in a row above the axes; ``kw`` goes to ``update_layout``. Returns ``fig``."""
    fig.update_layout(
        template="plotly_white", font=FONT, height=height, title=dict(text=title, x=0.01, xanchor="left"),
        margin=dict(l=60, r=20, t=60 if title else 30, b=50),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0), **kw,
    )
    return fig


def per_band(name: str, values: Any, wavelength: np.ndarray) -> np.ndarray:
    """``values`` flattened to float (B,), refused unless there is one per band of ``wavelength`` (B,)."""
    a = np.asarray(values, dtype=float).reshape(-1)
    if a.shape != wavelength.shape:
        raise ValueError(f"{name} must have one value per band ({wavelength.size}); got {describe(values)}")
    return a
