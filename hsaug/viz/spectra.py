"""The explorer's spectrum figure: original and augmented curves, the marks of an
augmentation (elastic displacement, erased bands, moved blocks), and a standalone SVG."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import plotly.graph_objects as go

from ..spectra import check_wavelength
from .style import AUGMENTED, ORIGINAL, PALETTE, per_band, styled

__all__ = ["spectrum_figure", "explorer_figure", "update_marks", "to_svg"]


def spectrum_figure(
    wavelength: Any, original: Any, augmented: Any = None, *, title: str = "",
    ylabel: str = "reflectance", names: tuple[str, str] = ("original", "augmented"),
) -> go.Figure:
    """Original spectrum (B,) and, when given, its augmented version (B,) over ``wavelength`` [nm].

    Always two traces (the second empty when ``augmented`` is None), so widgets can update
    ``fig.data[1].y`` in place.
    """
    wl = check_wavelength(wavelength).double().numpy()
    x0 = per_band("original", original, wl)
    x1 = None if augmented is None else per_band("augmented", augmented, wl)
    fig = go.Figure([
        go.Scatter(x=wl, y=x0, name=names[0], mode="lines", line=dict(color=ORIGINAL, width=2)),
        go.Scatter(x=wl, y=x1 if x1 is not None else [], name=names[1], mode="lines",
                   line=dict(color=AUGMENTED, width=2)),
    ])
    fig.update_xaxes(title_text="wavelength [nm]")
    fig.update_yaxes(title_text=ylabel)
    return styled(fig, title=title)


def explorer_figure(wavelength: Any, original: Any, augmented: Any = None, *, title: str = "") -> go.Figure:
    """The explorer's figure: original and augmented spectrum (B,) over ``wavelength`` [nm]
    (row 1), and a small second row for the elastic displacement ε(λ) [nm] with its kernel
    centres (hidden until :func:`update_marks` gets a displacement). Traces: original,
    augmented, ε(λ), kernel centres. Legend under the axes, width from the container."""
    fig = spectrum_figure(wavelength, original, augmented, title=title)
    fig.add_trace(go.Scatter(x=[], y=[], name="ε(λ) elastic displacement", mode="lines", xaxis="x", yaxis="y2",
                             line=dict(color=PALETTE[2], width=2), visible=False,
                             hovertemplate="λ = %{x:.0f} nm: ε = %{y:.2f} nm<extra></extra>"))
    fig.add_trace(go.Scatter(x=[], y=[], name="kernel centres λᵢ", mode="markers+text", xaxis="x", yaxis="y2",
                             marker=dict(color=PALETTE[2], size=9, symbol="diamond"), textposition="top center",
                             cliponaxis=False,
                             textfont=dict(size=10), visible=False, showlegend=False,
                             hovertemplate="λ = %{x:.0f} nm, A = %{y:.1f} nm<extra></extra>"))
    fig.update_layout(
        height=470, margin=dict(l=60, r=16, t=78, b=40),
        title=dict(font=dict(size=14)),
        yaxis=dict(domain=[0.0, 1.0]),
        yaxis2=dict(domain=[0.0, 0.001], anchor="x", visible=False, title_text="ε [nm]", zeroline=True, zerolinecolor="#999"),
        legend=dict(orientation="h", yanchor="top", y=-0.14, xanchor="left", x=0.0),
    )
    return fig


def update_marks(fig: go.Figure, wavelength: Any, marks: Mapping[str, Any]) -> None:
    """Draw :func:`hsaug.augment.preview.marks` on an :func:`explorer_figure`: the ε(λ) row
    and kernel centres (elastic), shaded erased bands, shaded moved blocks with block ticks
    (permutation); everything else cleared. Call inside ``fig.batch_update()``."""
    wl = np.asarray(wavelength, dtype=float)
    elastic = "displacement" in marks
    eps, cen = fig.data[2], fig.data[3]
    eps.visible = cen.visible = elastic
    if elastic:
        eps.x, eps.y = wl, np.asarray(marks["displacement"], dtype=float)
        centres = marks["centres"]
        cen.x = [c for c, _ in centres]
        cen.y = [a for _, a in centres]
        cen.text = [f"λ{i + 1}" for i in range(len(centres))]
        fig.layout.yaxis.domain = [0.36, 1.0]
        fig.layout.yaxis2.domain = [0.0, 0.24]
        fig.layout.yaxis2.visible = True
        fig.layout.xaxis.anchor = "y2"
    else:
        fig.layout.yaxis.domain = [0.0, 1.0]
        fig.layout.yaxis2.domain = [0.0, 0.001]  # hidden (a zero-height domain stops plotly drawing row 1)
        fig.layout.yaxis2.visible = False
        fig.layout.xaxis.anchor = "y"
    # one path shape per kind (not one shape per band or block): plotly validates every shape
    # on each update, which made a redraw with 20 blocks 4x slower
    shapes = []
    for key, colour in (("erased", "rgba(214,39,40,0.13)"), ("moved", "rgba(148,103,189,0.13)")):
        runs = marks.get(key, [])
        if runs:
            path = " ".join(f"M{lo:.3f},0 L{hi:.3f},0 L{hi:.3f},1 L{lo:.3f},1 Z" for lo, hi in runs)
            shapes.append(dict(type="path", path=path, xref="x", yref="y domain", layer="below",
                               fillcolor=colour, line=dict(width=0)))
    if marks.get("blocks"):
        path = " ".join(f"M{b:.3f},0 L{b:.3f},0.04" for b in marks["blocks"])
        shapes.append(dict(type="path", path=path, xref="x", yref="y domain", line=dict(color="#888", width=1)))
    fig.layout.shapes = shapes
    note = ("shaded: erased bands" if marks.get("erased") else "shaded: moved blocks, ticks: block edges"
            if marks.get("moved") else "")
    fig.layout.annotations = [dict(text=note, xref="paper", yref="paper", x=1.0, y=1.0, xanchor="right",
                                   yanchor="bottom", showarrow=False, font=dict(size=11, color="#666"))] if note else []


def to_svg(fig: go.Figure, *, title: str = "", width: int = 720, height: int = 400) -> str:
    """A standalone SVG of a figure's line traces on its first axes (no browser or kaleido):
    polylines in their colours, wavelength and value ticks, a legend and ``title`` (plain
    text; ``<br>`` becomes a second line). For the explorer's export."""
    lines = [t for t in fig.data if getattr(t, "type", "") == "scatter" and getattr(t, "yaxis", "y") in (None, "y")
             and t.x is not None and len(t.x) and t.y is not None and len(t.y) and t.visible is not False]
    if not lines:
        raise ValueError("the figure has no line to draw")
    xs = np.concatenate([np.asarray(t.x, dtype=float) for t in lines])
    ys = np.concatenate([np.asarray(t.y, dtype=float) for t in lines])
    ys = ys[np.isfinite(ys)]
    x0, x1 = float(np.nanmin(xs)), float(np.nanmax(xs))
    y0, y1 = float(ys.min()), float(ys.max())
    if y1 <= y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    pad = 0.05 * (y1 - y0)
    y0, y1 = y0 - pad, y1 + pad
    left, right, top, bottom = 70, 20, 70, 70
    pw, ph = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return top + (1 - (y - y0) / (y1 - y0)) * ph

    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
           f"font-family='Arial, Helvetica, sans-serif' font-size='12'>",
           f"<rect width='{width}' height='{height}' fill='white'/>"]
    for i, part in enumerate(re.sub(r"<[^>]+>", "\n", (title or "").replace("<br>", "\n")).split("\n")[:2]):
        if part.strip():
            out.append(f"<text x='{left}' y='{22 + 18 * i}' font-size='{14 - 2 * i}'>{html.escape(part.strip())}</text>")
    out.append(f"<rect x='{left}' y='{top}' width='{pw}' height='{ph}' fill='none' stroke='#444'/>")
    for tx in np.linspace(x0, x1, 6):
        out.append(f"<line x1='{px(tx):.1f}' y1='{top + ph}' x2='{px(tx):.1f}' y2='{top + ph + 5}' stroke='#444'/>"
                   f"<text x='{px(tx):.1f}' y='{top + ph + 18}' text-anchor='middle'>{tx:.0f}</text>")
    for ty in np.linspace(y0, y1, 5):
        out.append(f"<line x1='{left - 5}' y1='{py(ty):.1f}' x2='{left}' y2='{py(ty):.1f}' stroke='#444'/>"
                   f"<text x='{left - 8}' y='{py(ty) + 4:.1f}' text-anchor='end'>{ty:.3g}</text>")
    xt = fig.layout.xaxis.title.text or "wavelength [nm]"
    yt = fig.layout.yaxis.title.text or ""
    out.append(f"<text x='{left + pw / 2}' y='{height - 28}' text-anchor='middle'>{html.escape(xt)}</text>")
    out.append(f"<text transform='translate(16 {top + ph / 2}) rotate(-90)' text-anchor='middle'>"
               f"{html.escape(yt)}</text>")
    for i, t in enumerate(lines):
        pts = " ".join(f"{px(a):.2f},{py(b):.2f}" for a, b in zip(np.asarray(t.x, float), np.asarray(t.y, float))
                       if np.isfinite(b))
        colour = (t.line.color if t.line and t.line.color else PALETTE[i % len(PALETTE)])
        out.append(f"<polyline points='{pts}' fill='none' stroke='{colour}' stroke-width='1.8'/>")
        lx = left + 10 + 150 * i
        out.append(f"<line x1='{lx}' y1='{height - 10}' x2='{lx + 20}' y2='{height - 10}' stroke='{colour}' "
                   f"stroke-width='2'/><text x='{lx + 25}' y='{height - 6}'>{html.escape(str(t.name or ''))}</text>")
    out.append("</svg>")
    return "\n".join(out)
