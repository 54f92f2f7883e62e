"""Clear-sky illumination figures: E_sun and E_sky, the radiance a surface reflects, and
what eq. (5) does to a reflectance spectrum."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..spectra import check_wavelength
from .style import AUGMENTED, ORIGINAL, PALETTE, SKY, SUN, per_band, styled

__all__ = ["illumination_figure"]


def illumination_figure(
    wavelength: Any, e_sun: Any, e_sky: Any, spectrum: Any = None, adjusted: Any = None, *,
    radiance: Any = None, title: str = "", irradiance_units: str = "W m⁻² nm⁻¹",
) -> go.Figure:
    """Illumination and its effect on a spectrum, all (B,) over ``wavelength`` [nm].

    Row 1: direct-normal E_sun and diffuse E_sky. Row 2 (when ``radiance`` is given): the
    radiance a surface of this reflectance sends up [W m⁻² sr⁻¹ nm⁻¹]. Last row (when
    ``spectrum`` is given): the reflectance and its ``adjusted`` version (eq. 5).
    Trace order: E_sun, E_sky, [radiance], [original, adjusted].
    """
    wl = check_wavelength(wavelength).double().numpy()
    arrays = {"e_sun": e_sun, "e_sky": e_sky, "radiance": radiance, "spectrum": spectrum, "adjusted": adjusted}
    vals = {}
    for k, v in arrays.items():
        if v is None:
            continue
        vals[k] = per_band(k, v, wl)
    rows = 1 + (radiance is not None) + (spectrum is not None)
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.07)
    fig.add_trace(go.Scatter(x=wl, y=vals["e_sun"], name="E_sun (direct normal)", mode="lines",
                             line=dict(color=SUN, width=2)), row=1, col=1)
    fig.add_trace(go.Scatter(x=wl, y=vals["e_sky"], name="E_sky (diffuse)", mode="lines",
                             line=dict(color=SKY, width=2)), row=1, col=1)
    fig.update_yaxes(title_text=f"irradiance<br>[{irradiance_units}]", row=1, col=1)
    row = 1
    if radiance is not None:
        row += 1
        fig.add_trace(go.Scatter(x=wl, y=vals["radiance"], name="reflected radiance", mode="lines",
                                 line=dict(color=PALETTE[3], width=2)), row=row, col=1)
        fig.update_yaxes(title_text="radiance<br>[W m⁻² sr⁻¹ nm⁻¹]", row=row, col=1)
    if spectrum is not None:
        row += 1
        fig.add_trace(go.Scatter(x=wl, y=vals["spectrum"], name="reflectance", mode="lines",
                                 line=dict(color=ORIGINAL, width=2)), row=row, col=1)
        fig.add_trace(go.Scatter(x=wl, y=vals.get("adjusted", []), name="eq. 5 (μ1, μ2)", mode="lines",
                                 line=dict(color=AUGMENTED, width=2)), row=row, col=1)
        fig.update_yaxes(title_text="reflectance", row=row, col=1)
    fig.update_xaxes(title_text="wavelength [nm]", row=rows, col=1)
    return styled(fig, title=title, height=200 + 190 * rows)
