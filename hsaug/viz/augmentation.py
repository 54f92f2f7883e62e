"""Figures of augmentations: one augmentation on a spectrum with its marks, and every
augmentation side by side (the paper's Fig. 2); parameter values in words for titles."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from .. import augment
from ..augment.base import Augmentation
from ..augment.preview import (angle_deg, apply_one, draw_params, equation, feasible, is_cosine, marks,
                               one_spectrum, prepare)
from .spectra import explorer_figure, update_marks
from .style import AUGMENTED, ORIGINAL, styled

__all__ = ["format_params", "heading", "augmentation_figure", "gallery_figure"]

_SUPER = str.maketrans("-", "−")


def _num(v: float, integer: bool = False) -> str:
    """A parameter value for a title: whole numbers plain, ≥ 100 to 0.1, else 3 significant digits."""
    if integer or float(v).is_integer():
        text = f"{v:.0f}"
    elif abs(v) >= 100:
        text = f"{v:.0f}"
    else:
        text = f"{v:.3g}"
    return text.translate(_SUPER)


def format_params(aug: Augmentation, params: Mapping[str, float], limit: int | None = 3, *,
                  per_line: int | None = None, line_chars: int | None = None) -> str:
    """``Δ = 12.5 nm`` for a title: the parameters with units, at most ``limit`` of them
    (None: all; "…" marks the rest). Numbered families share one entry (``A = (10, −10) nm``),
    cosines carry their angle (``μ1 = 0.5 (60°)``). ``per_line`` entries per line, or lines of
    at most ``line_chars`` characters (``<br>`` between lines)."""
    entries: list[str] = []
    family: dict[str, list[Any]] = {}
    for p in aug.params:
        if p.name not in params:
            continue
        v = float(params[p.name])
        label = p.label or p.name
        base, _, tail = label.partition("_")
        if tail.isdigit():  # A_1, A_2 … -> A = (…, …)
            if base not in family:
                family[base] = [p, []]
                entries.append(base)
            family[base][1].append(_num(v, p.integer))
            continue
        text = _num(v, p.integer) + (f" {p.unit}" if p.unit else "")
        if is_cosine(p):
            text += f" ({angle_deg(v):.0f}°)"
        entries.append(f"{label} = {text}")
    out = []
    for e in entries:
        if e in family:
            p, vals = family[e]
            out.append(f"{e} = ({', '.join(vals)})" + (f" {p.unit}" if p.unit else "") if len(vals) > 1
                       else f"{e} = {vals[0]}" + (f" {p.unit}" if p.unit else ""))
        else:
            out.append(e)
    if limit is not None and len(out) > limit:
        out = out[:limit] + ["…"]
    if per_line:
        return "<br>".join(", ".join(out[i:i + per_line]) for i in range(0, len(out), per_line))
    if line_chars:  # greedy: entries joined until a line would pass line_chars
        lines: list[str] = []
        for e in out:
            if lines and len(lines[-1]) + 2 + len(e) <= line_chars:
                lines[-1] += ", " + e
            else:
                lines.append(e)
        return "<br>".join(lines)
    return ", ".join(out)


def heading(aug: Augmentation) -> str:
    """``band erasure (§3.2)``: the name in words and, when it has one, the paper's equation."""
    number = equation(aug)[0]
    return aug.name.replace("_", " ") + (f" ({number})" if number else "")


def augmentation_figure(
    augmentation: str | Augmentation, spectrum: Any, wavelength: Any,
    params: Mapping[str, float] | None = None, *, index: int | None = None, reference: Any = None,
    title: str | None = None,
) -> go.Figure:
    """Original and augmented spectrum for one augmentation at ``params`` (default: neutral),
    with its marks (ε(λ), erased bands, moved blocks) as in the explorer."""
    aug = prepare(augmentation, reference)
    params = dict(aug.neutral(), **(params or {}))
    y = apply_one(aug, spectrum, wavelength, params, index=index)
    if title is None:
        title = f"{aug.name} ({equation(aug)[0]}): {format_params(aug, params, limit=None)}"
    fig = explorer_figure(wavelength, np.asarray(getattr(spectrum, "values", spectrum)).reshape(-1), y, title=title)
    update_marks(fig, wavelength, marks(aug, wavelength, params))
    return fig


def _panel_title(aug: Augmentation, params: Mapping[str, float]) -> str:
    """``shift (eq. 1)<br>Δ = 12.5 nm``: the name, then every parameter in small type."""
    detail = format_params(aug, params, limit=None, line_chars=26)
    name = heading(aug)
    return f"{name}<br><span style='font-size:10px'>{detail}</span>" if detail else name


def gallery_figure(
    spectrum: Any, wavelength: Any, augmentations: Sequence[str | Augmentation] | None = None, *,
    params: Mapping[str, Mapping[str, float]] | None = None, seed: int = 0, reference: Any = None,
    index: int | None = None, cols: int = 4, title: str = "",
) -> go.Figure:
    """All augmentations side by side (the paper's Fig. 2): one panel per augmentation
    overlaying the original spectrum (B,) and one augmented draw, every parameter value
    under its name.

    ``augmentations`` defaults to every registered name; ``params`` maps a name to fixed
    parameters (others are drawn with ``seed``); ``reference`` (N, B) fits augmentations
    that need a reference set, with ``index`` the spectrum's row in it. Width follows the
    container (autosize); height 290 px per row, plus 120 px.
    """
    augs = [prepare(a, reference) for a in (augmentations if augmentations is not None else augment.names())]
    if not augs:
        raise ValueError("augmentations must name at least one augmentation; got an empty list")
    if cols < 1:
        raise ValueError(f"cols must be a positive number of panels per row; got {cols}")
    x, wl = one_spectrum(spectrum, wavelength)
    wl_np = wl.double().numpy()
    x0 = x[0].numpy()
    rows = math.ceil(len(augs) / cols)
    gen = torch.Generator().manual_seed(int(seed))
    drawn = []
    for aug in augs:
        p = feasible(aug, dict((params or {}).get(aug.name) or draw_params(aug, gen, wl)))
        drawn.append((aug, p, apply_one(aug, x0, wl, p, index=index)))
    ncols = min(cols, len(augs))
    fig = make_subplots(rows=rows, cols=ncols, shared_yaxes=True,
                        subplot_titles=[_panel_title(aug, p) for aug, p, _ in drawn],
                        horizontal_spacing=0.03, vertical_spacing=0.26 if rows > 1 else 0.1)
    for i, (aug, p, y) in enumerate(drawn):
        r, c = divmod(i, cols)
        fig.add_trace(go.Scatter(x=wl_np, y=x0, name="original", legendgroup="original", showlegend=i == 0,
                                 mode="lines", line=dict(color=ORIGINAL, width=1.5)), row=r + 1, col=c + 1)
        fig.add_trace(go.Scatter(x=wl_np, y=y, name="augmented", legendgroup="augmented", showlegend=i == 0,
                                 mode="lines", line=dict(color=AUGMENTED, width=1.5),
                                 hovertext=format_params(aug, p, limit=None), hoverinfo="x+y+text"),
                      row=r + 1, col=c + 1)
    fig.update_xaxes(title_text="wavelength [nm]", title_font=dict(size=11), row=rows)
    fig.update_xaxes(nticks=4, tickangle=0, tickfont=dict(size=10))
    fig.update_yaxes(title_text="reflectance", col=1)
    fig.update_annotations(font=dict(size=12))
    styled(fig, title=title, height=290 * rows + 120)
    fig.update_layout(margin=dict(l=56, r=12, t=120 if title else 96, b=70),
                      legend=dict(orientation="h", y=-0.08 if rows > 1 else -0.2, yanchor="top", x=0.0,
                                  xanchor="left"))
    return fig
