"""Plotly figures: pure functions returning ``go.Figure``, used statically and by the widgets.

Every figure here is built from plain arrays (spectra (B,) or (N, B), wavelength (B,) in
nm) plus, for the augmentation figures, an :class:`~hsaug.augment.Augmentation`. The
widgets in :mod:`hsaug.widgets` wrap the same figures in a ``go.FigureWidget`` and only
replace trace data when a slider moves, so a static figure and a widget frame for the
same parameters are identical.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from . import augment
from .augment.base import Augmentation
from .augment.preview import apply_one, draw_params, one_spectrum, prepare
from .spectra import check_wavelength
from .spectra import describe

__all__ = [
    "ORIGINAL",
    "AUGMENTED",
    "format_params",
    "spectrum_figure",
    "explorer_figure",
    "update_marks",
    "to_svg",
    "augmentation_figure",
    "gallery_figure",
    "illumination_figure",
    "loss_figure",
    "training_figure",
    "curves_figure",
    "error_figure",
    "sweep_figure",
    "comparison_figure",
    "robustness_figure",
    "training_size_figure",
]

ORIGINAL = "#4a4a4a"  # original spectrum: dark grey
AUGMENTED = "#d62728"  # augmented spectrum: red
SUN, SKY = "#ff7f0e", "#1f77b4"
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
FONT = dict(family="Arial, Helvetica, sans-serif", size=13)


# -- words ------------------------------------------------------------------------------
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
    from .augment.preview import angle_deg, is_cosine

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


# -- figures --------------------------------------------------------------------------
def _layout(fig: go.Figure, *, title: str = "", height: int = 380, **kw: Any) -> go.Figure:
    fig.update_layout(
        template="plotly_white", font=FONT, height=height, title=dict(text=title, x=0.01, xanchor="left"),
        margin=dict(l=60, r=20, t=60 if title else 30, b=50),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0), **kw,
    )
    return fig


def spectrum_figure(
    wavelength: Any, original: Any, augmented: Any = None, *, title: str = "",
    ylabel: str = "reflectance", names: tuple[str, str] = ("original", "augmented"),
) -> go.Figure:
    """Original spectrum (B,) and, when given, its augmented version (B,) over ``wavelength`` [nm].

    Always two traces (the second empty when ``augmented`` is None), so widgets can update
    ``fig.data[1].y`` in place.
    """
    wl = check_wavelength(wavelength).double().numpy()
    x0 = np.asarray(original, dtype=float).reshape(-1)
    if x0.shape != wl.shape:
        raise ValueError(f"original must have one value per band ({wl.size}); got {describe(original)}")
    x1 = None if augmented is None else np.asarray(augmented, dtype=float).reshape(-1)
    if x1 is not None and x1.shape != wl.shape:
        raise ValueError(f"augmented must have one value per band ({wl.size}); got {describe(augmented)}")
    fig = go.Figure([
        go.Scatter(x=wl, y=x0, name=names[0], mode="lines", line=dict(color=ORIGINAL, width=2)),
        go.Scatter(x=wl, y=x1 if x1 is not None else [], name=names[1], mode="lines",
                   line=dict(color=AUGMENTED, width=2)),
    ])
    fig.update_xaxes(title_text="wavelength [nm]")
    fig.update_yaxes(title_text=ylabel)
    return _layout(fig, title=title)


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


def augmentation_figure(
    augmentation: str | Augmentation, spectrum: Any, wavelength: Any,
    params: Mapping[str, float] | None = None, *, index: int | None = None, reference: Any = None,
    title: str | None = None,
) -> go.Figure:
    """Original and augmented spectrum for one augmentation at ``params`` (default: neutral),
    with its marks (ε(λ), erased bands, moved blocks) as in the explorer."""
    from .augment.preview import equation, marks

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
    from .augment.preview import equation

    detail = format_params(aug, params, limit=None, line_chars=26)
    number = equation(aug)[0]
    name = aug.name.replace("_", " ") + (f" ({number})" if number else "")
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
    container (autosize); height 270 px per row.
    """
    from .augment.preview import feasible

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
    _layout(fig, title=title, height=290 * rows + 120)
    fig.update_layout(margin=dict(l=56, r=12, t=120 if title else 96, b=70),
                      legend=dict(orientation="h", y=-0.08 if rows > 1 else -0.2, yanchor="top", x=0.0,
                                  xanchor="left"))
    return fig


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
        a = np.asarray(v, dtype=float).reshape(-1)
        if a.shape != wl.shape:
            raise ValueError(f"{k} must have one value per band ({wl.size}); got {describe(v)}")
        vals[k] = a
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
    return _layout(fig, title=title, height=200 + 190 * rows)


ROLE_COLORS = [[0.0, "#f4f4f4"], [0.33, "#f4f4f4"], [0.34, "#9ecae1"], [0.66, "#9ecae1"], [0.67, AUGMENTED],
               [1.0, AUGMENTED]]


def loss_figure(
    labels: Any, cosine: Any, roles: Any, *, radius: float | None = None, anchor: int = 0,
    loss: float | None = None, weights: Any = None, loss_name: str = "ball", tau: float | None = None,
    title: str | None = None,
) -> go.Figure:
    """Teaching view of a contrastive loss on a batch and its augmented copy (2N samples;
    j′ is the view of j).

    ``labels`` (2N, s) or (N, s) (tiled to 2N), ``cosine`` (2N, 2N) cosine similarities,
    ``roles`` (2N, 2N) codes of :func:`hsaug.widgets.pair_roles` (2 positive, 1 negative,
    0 unused), ``weights`` (2N,) the anchor row's weights. Panels: (1) label distance
    ‖yⱼ − y_anchor‖ with the radius (the ball of eq. 7 left of the dashed line), the anchor
    a star and its positives red; (2) the anchor row's weights e^{s_ij} / Σ e^{s_ik}, s =
    cos / τ (τ changes these); (3) the cosine similarity on a fixed −1…1 scale; (4) the
    pairs' roles in ``loss_name``, the anchor's row framed. Traces: distances, radius line,
    weights, cosine, roles.
    """
    y = np.asarray(labels, dtype=float)
    if y.ndim == 1:
        y = y[:, None]
    s = np.asarray(cosine, dtype=float)
    role = np.asarray(roles, dtype=int)
    if s.ndim != 2 or s.shape[0] != s.shape[1] or s.shape[0] < 2:
        raise ValueError(f"cosine must be a square (2N, 2N) matrix; got shape {s.shape}")
    n2 = s.shape[0]
    if y.ndim != 2 or y.shape[0] not in (n2, n2 // 2):
        raise ValueError(f"labels must be (N, s) or (2N, s) for a {n2} x {n2} similarity; got {describe(labels)}")
    if y.shape[0] != n2:
        y = np.concatenate([y, y])
    if role.shape != (n2, n2):
        raise ValueError(f"roles must be ({n2}, {n2}) like cosine; got shape {role.shape}")
    if not 0 <= anchor < n2:
        raise ValueError(f"anchor must be a sample index in [0, {n2 - 1}]; got {anchor}")
    w = np.zeros(n2) if weights is None else np.asarray(weights, dtype=float).reshape(-1)
    half = n2 // 2
    names = [f"{i}" if i < half else f"{i - half}′" for i in range(n2)]
    dist = np.linalg.norm(y - y[anchor], axis=1)
    colour = [PALETTE[0] if i == anchor else AUGMENTED if role[anchor, i] == 2 else "#9ecae1" if role[anchor, i] == 1
              else "#b0b0b0" for i in range(n2)]
    symbol = ["star" if i == anchor else "circle" for i in range(n2)]
    a = names[anchor]
    tau_text = f", τ = {tau:.2f}" if tau is not None else ""
    fig = make_subplots(rows=2, cols=2, horizontal_spacing=0.14, vertical_spacing=0.2,
                        subplot_titles=(f"label distance to anchor {a}", f"anchor {a}'s weights{tau_text}",
                                        "cosine similarity", f"pairs in the {loss_name} loss"))
    fig.add_trace(go.Scatter(x=dist, y=names, mode="markers", marker=dict(color=colour, size=11, symbol=symbol,
                                                                             line=dict(color="#333", width=0.5)),
                             name="label distance", showlegend=False,
                             hovertemplate="sample %{y}: %{x:.3f}<extra></extra>"), row=1, col=1)
    r = float("nan") if radius is None else float(radius)
    fig.add_trace(go.Scatter(x=[r, r], y=[names[0], names[-1]], mode="lines+text", text=["", f"r = {r:.3g}"],
                             textposition="bottom right", line=dict(color=PALETTE[0], dash="dash", width=2),
                             name="radius r", showlegend=False, hoverinfo="skip"), row=1, col=1)
    wlabel = "σ(s_ij)" if loss_name == "bce" else "weight"
    fig.add_trace(go.Bar(x=names, y=w, marker_color=colour, name="anchor weights", showlegend=False,
                         hovertemplate=f"j=%{{x}}: {wlabel} = %{{y:.3f}}<extra></extra>"), row=1, col=2)
    fig.add_trace(go.Heatmap(z=s, x=names, y=names, colorscale="RdBu_r", zmin=-1, zmax=1, name="cosine",
                             colorbar=dict(x=0.43, y=0.0, yanchor="bottom", len=0.4, thickness=10),
                             hovertemplate="i=%{y}, j=%{x}: %{z:.3f}<extra></extra>"), row=2, col=1)
    fig.add_trace(go.Heatmap(z=role.astype(float), x=names, y=names, colorscale=ROLE_COLORS, zmin=0, zmax=2,
                             showscale=False, name="pair roles", customdata=np.array(
                                 [["unused", "negative", "positive"][k] for k in role.ravel()]).reshape(role.shape),
                             hovertemplate="i=%{y}, j=%{x}: %{customdata}<extra></extra>"), row=2, col=2)
    fig.update_xaxes(title_text="label distance", row=1, col=1)
    fig.update_yaxes(title_text=wlabel, row=1, col=2)
    fig.update_yaxes(autorange="reversed", type="category", row=1, col=1)
    for rr, c in ((2, 1), (2, 2)):
        fig.update_yaxes(autorange="reversed", type="category", row=rr, col=c)
        fig.update_xaxes(type="category", side="bottom", row=rr, col=c)
    fig.update_xaxes(type="category", row=1, col=2)
    fig.add_shape(type="rect", xref="x4", yref="y4", x0=-0.5, x1=n2 - 0.5, y0=anchor - 0.5, y1=anchor + 0.5,
                  line=dict(color=PALETTE[0], width=2), fillcolor="rgba(0,0,0,0)")
    fig.update_annotations(font=dict(size=12))
    fig.add_annotation(text="red positive · blue negative · grey unused", xref="x4 domain", yref="y4 domain",
                       x=0.5, y=-0.16, showarrow=False, font=dict(size=10, color="#555"))
    if title is None:
        title = f"{loss_name} contrastive loss = {loss:.4f}" if loss is not None else ""
    return _layout(fig, title=title, height=720)


def curves_figure(panels: Mapping[str, Mapping[str, Sequence[float]]], *, epochs: Sequence[float] | None = None,
                  title: str = "", log_loss: bool = False, waiting: bool = False) -> go.Figure:
    """Curves in panels side by side: ``panels`` maps a panel title to {curve name: values
    per epoch}. A curve named ``"metric | config"`` takes its colour from the configuration
    and its dash from the metric, so each configuration is one colour throughout. Lines
    with markers (one epoch is a visible point). ``waiting``: an empty figure saying the
    curves come after the first epoch."""
    names = list(panels) or ["loss"]
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names if len(names) > 1 else None,
                        horizontal_spacing=0.08)
    configs = list(dict.fromkeys(k.split(" | ")[1] for p in panels.values() for k in p if " | " in k))
    metrics = list(dict.fromkeys(k.split(" | ")[0] for p in panels.values() for k in p))
    dashes = ("solid", "dash", "dot", "dashdot")
    for c, panel in enumerate(names, start=1):
        for name, values in panels.get(panel, {}).items():
            metric, _, config = name.partition(" | ")
            colour = PALETTE[(configs.index(config) if config else metrics.index(metric)) % len(PALETTE)]
            v = np.asarray(values, dtype=float)
            x = np.arange(1, v.size + 1) if epochs is None else np.asarray(epochs, dtype=float)[: v.size]
            fig.add_trace(go.Scatter(x=x, y=v, name=name, mode="lines+markers", marker=dict(size=4),
                                     line=dict(color=colour, width=2,
                                               dash=dashes[metrics.index(metric) % len(dashes)] if config else "solid")),
                          row=1, col=c)
        if panel == "loss" and log_loss:
            fig.update_yaxes(type="log", row=1, col=c)
    fig.update_xaxes(title_text="epoch")
    if waiting:
        fig.add_annotation(text="training: the curves appear after the first epoch", xref="paper", yref="paper",
                           x=0.5, y=0.5, showarrow=False, font=dict(size=14, color="#666"))
    _layout(fig, title=title, height=400)
    return fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0.0),
                             margin=dict(b=90))


def to_svg(fig: go.Figure, *, title: str = "", width: int = 720, height: int = 400) -> str:
    """A standalone SVG of a figure's line traces on its first axes (no browser or kaleido):
    polylines in their colours, wavelength and value ticks, a legend and ``title`` (plain
    text; ``<br>`` becomes a second line). For the explorer's export."""
    import html as _html
    import re

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
            out.append(f"<text x='{left}' y='{22 + 18 * i}' font-size='{14 - 2 * i}'>{_html.escape(part.strip())}</text>")
    out.append(f"<rect x='{left}' y='{top}' width='{pw}' height='{ph}' fill='none' stroke='#444'/>")
    for tx in np.linspace(x0, x1, 6):
        out.append(f"<line x1='{px(tx):.1f}' y1='{top + ph}' x2='{px(tx):.1f}' y2='{top + ph + 5}' stroke='#444'/>"
                   f"<text x='{px(tx):.1f}' y='{top + ph + 18}' text-anchor='middle'>{tx:.0f}</text>")
    for ty in np.linspace(y0, y1, 5):
        out.append(f"<line x1='{left - 5}' y1='{py(ty):.1f}' x2='{left}' y2='{py(ty):.1f}' stroke='#444'/>"
                   f"<text x='{left - 8}' y='{py(ty) + 4:.1f}' text-anchor='end'>{ty:.3g}</text>")
    xt = fig.layout.xaxis.title.text or "wavelength [nm]"
    yt = fig.layout.yaxis.title.text or ""
    out.append(f"<text x='{left + pw / 2}' y='{height - 28}' text-anchor='middle'>{_html.escape(xt)}</text>")
    out.append(f"<text transform='translate(16 {top + ph / 2}) rotate(-90)' text-anchor='middle'>"
               f"{_html.escape(yt)}</text>")
    for i, t in enumerate(lines):
        pts = " ".join(f"{px(a):.2f},{py(b):.2f}" for a, b in zip(np.asarray(t.x, float), np.asarray(t.y, float))
                       if np.isfinite(b))
        colour = (t.line.color if t.line and t.line.color else PALETTE[i % len(PALETTE)])
        out.append(f"<polyline points='{pts}' fill='none' stroke='{colour}' stroke-width='1.8'/>")
        lx = left + 10 + 150 * i
        out.append(f"<line x1='{lx}' y1='{height - 10}' x2='{lx + 20}' y2='{height - 10}' stroke='{colour}' "
                   f"stroke-width='2'/><text x='{lx + 25}' y='{height - 6}'>{_html.escape(str(t.name or ''))}</text>")
    out.append("</svg>")
    return "\n".join(out)


def training_figure(history: Mapping[str, Sequence[float]] | None = None, *, epochs: Sequence[float] | None = None,
                    members: Sequence[str] | None = None, title: str = "", log_loss: bool = False) -> go.Figure:
    """Training curves: one line per metric in ``history`` (name -> one value per epoch,
    or (M, epochs) for an ensemble: one line per member, labelled by ``members``).

    Losses (names containing "loss", "mse" or "contrastive") go to the left panel (log
    scale with ``log_loss``), the others (R², MAE, …) to the right one; one panel when
    there is only one kind. NaN epochs (a member stopped early) are gaps.
    """
    history = dict(history or {})
    losses = [k for k in history if any(w in k.lower() for w in ("loss", "mse", "contrastive"))]
    others = [k for k in history if k not in losses]
    two = bool(losses) and bool(others)
    fig = make_subplots(rows=1, cols=2 if two else 1, horizontal_spacing=0.1)
    dashes = ("solid", "dash", "dot", "dashdot")
    for i, name in enumerate(losses + others):
        values = np.asarray(history[name], dtype=float)
        rows = values.reshape(1, -1) if values.ndim < 2 else values
        col = 2 if two and name in others else 1
        for m, v in enumerate(rows):
            x = np.arange(1, v.size + 1) if epochs is None else np.asarray(epochs, dtype=float)[: v.size]
            label = name if len(rows) == 1 else f"{name} · {members[m] if members else m}"
            color = PALETTE[(i if len(rows) == 1 else m) % len(PALETTE)]
            fig.add_trace(go.Scatter(x=x, y=v, name=label, mode="lines", legendgroup=label,
                                     line=dict(color=color, width=2, dash="solid" if len(rows) == 1
                                               else dashes[i % len(dashes)])), row=1, col=col)
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text="loss" if losses else "value", type="log" if log_loss and losses else "linear",
                     row=1, col=1)
    if two:
        fig.update_yaxes(title_text="metric", row=1, col=2)
    return _layout(fig, title=title, height=380)


def error_figure(errors: Any, *, output: str | None = None, bins: int = 60) -> go.Figure:
    """Fig. 3: distribution of test prediction errors (prediction − target, data units) per
    method, pooled over seeds and (unless ``output`` names one) over outputs.

    ``errors``: the Dataset of :func:`hsaug.experiments.error_distribution`.
    """
    err = errors["error"]
    if output is not None:
        err = err.sel(output=output)
    fig = go.Figure()
    for i, method in enumerate(err["method"].values):
        values = np.asarray(err.sel(method=method).values, dtype=float).ravel()
        mean = float(values.mean())
        fig.add_trace(go.Histogram(x=values, nbinsx=bins, name=f"{method} (mean {mean:+.4f})", opacity=0.6,
                                   marker_color=PALETTE[i % len(PALETTE)], histnorm="probability density"))
        fig.add_vline(x=mean, line=dict(color=PALETTE[i % len(PALETTE)], dash="dash"))
    fig.update_layout(barmode="overlay")
    return _layout(fig, title="Prediction error distribution" + (f" — {output}" if output else ""),
                   xaxis_title="prediction − target (target units)", yaxis_title="density")


def sweep_figure(sweep: Any) -> go.Figure:
    """Heat map of mean test R² over α (eq. 9) × r (eq. 7): the Dataset of
    :func:`hsaug.experiments.sweep`."""
    mean = np.asarray(sweep["r2_mean"].values, dtype=float)
    std = np.asarray(sweep["r2_std"].values, dtype=float)
    text = [[f"{m:.3f} ± {s:.3f}" for m, s in zip(rm, rs)] for rm, rs in zip(mean, std)]
    fig = go.Figure(go.Heatmap(z=mean, x=[str(r) for r in sweep["r"].values],
                               y=[str(a) for a in sweep["alpha"].values], text=text,
                               texttemplate="%{text}", colorscale="Viridis", colorbar=dict(title="R²")))
    return _layout(fig, title=f"Test R² with {sweep.attrs.get('augmentation', '')}: α × r",
                   xaxis_title="ball radius r (fraction of each target's range)", yaxis_title="α")


def comparison_figure(result: Mapping[str, Any], paper: Mapping[str, Any] | None = None) -> go.Figure:
    """Tables 1/2 as bars: our mean test R² ± std per method, the paper's R² as diamonds.

    ``result``: one comparison of :func:`hsaug.experiments.compare_augmentations` (or one
    of the ``sections`` a reproduction writes); ``paper``: :func:`hsaug.paper.table`.
    """
    rows = result["rows"]
    names = [r["name"] for r in rows]
    fig = go.Figure(go.Bar(
        x=names, y=[r["r2_mean"] for r in rows], name="ours (mean ± std over seeds)",
        error_y=dict(type="data", array=[r.get("r2_std") or 0.0 for r in rows]),
        marker_color=[ORIGINAL if n in ("baseline", "ridge", "pls") else AUGMENTED for n in names]))
    if paper is not None:
        known = [n for n in names if n in paper["rows"]]
        fig.add_trace(go.Scatter(x=known, y=[paper["rows"][n][0] for n in known], mode="markers",
                                 name="paper", marker=dict(symbol="diamond", size=11, color=SKY)))
    title = "Test R² per method" + (f" — {result['subtitle']}" if result.get("subtitle") else "")
    return _layout(fig, title=title, yaxis_title="R²")


def _method_colors(methods: Sequence[str]) -> dict[str, str]:
    fixed = {"ridge": "#7f7f7f", "pls": "#bcbd22", "mlp": ORIGINAL}
    rest = iter(PALETTE)
    return {m: fixed.get(m) or next(rest, None) or PALETTE[i % len(PALETTE)] for i, m in enumerate(methods)}


def _robustness_stats(result: Any, methods: Sequence[str] | None) -> tuple[Any, list[str]]:
    from .stats import robustness_summary

    table = robustness_summary(result)
    names = [str(m) for m in result["method"].values]
    chosen = names if methods is None else list(methods)
    unknown = [m for m in chosen if m not in names]
    if unknown:
        raise ValueError(f"methods {unknown} are not in this result; it has {names}")
    return table, chosen


def robustness_figure(result: Any, *, train_size: int | None = None, methods: Sequence[str] | None = None,
                      columns: int = 3, r2_floor: float | None = -0.5) -> go.Figure:
    """Test R² against nuisance strength, one panel per nuisance and one curve per method
    (mean over seeds, bars: 95 % interval): the Dataset of :func:`hsaug.experiments.robustness`
    at ``train_size`` (default the largest). ``methods``: which to draw (default all).
    The R² axes stop at ``r2_floor`` (a collapse to R² = −6 would flatten every other
    curve; hover or zoom out for the values), None to show everything."""
    from .nuisances import get as get_nuisance

    table, chosen = _robustness_stats(result, methods)
    sizes = [int(v) for v in result["train_size"].values]
    size = sizes[-1] if train_size is None else int(train_size)
    if size not in sizes:
        raise ValueError(f"train_size must be one of {sizes}; got {train_size!r}")
    names = list(dict.fromkeys(str(n) for n in result["nuisance"].values if n != "clean"))
    if not names:
        raise ValueError("this result has no nuisance sweep (only the clean test set)")
    rows = math.ceil(len(names) / columns)
    fig = make_subplots(rows=rows, cols=min(columns, len(names)), subplot_titles=names,
                        horizontal_spacing=0.07, vertical_spacing=0.16)
    colors = _method_colors(chosen)
    sel = table[table.train_size == size]
    for i, n in enumerate(names):
        nz = get_nuisance(n)
        for m in chosen:
            part = sel[(sel.method == m) & (sel.nuisance == n)].sort_values("strength")
            fig.add_trace(go.Scatter(
                x=part.strength, y=part.r2_mean, mode="lines+markers", name=m, legendgroup=m, showlegend=i == 0,
                line=dict(color=colors[m], dash="dot" if m in ("ridge", "pls") else "solid"),
                error_y=dict(type="data", array=part.r2_ci.fillna(0.0), thickness=1, width=3)),
                row=i // columns + 1, col=i % columns + 1)
        fig.update_xaxes(title_text=f"{nz.label}" + (f" [{nz.unit}]" if nz.unit else ""), row=i // columns + 1,
                         col=i % columns + 1, title_font=dict(size=11))
    fig.update_yaxes(title_text="test R²", col=1)
    if r2_floor is not None:
        shown = sel[sel.method.isin(chosen) & (sel.nuisance != "clean")].r2_mean
        fig.update_yaxes(range=[max(r2_floor, float(shown.min()) - 0.05), min(1.02, float(shown.max()) + 0.05)])
    title = f"Test R² under test-time nuisances, {size} training spectra"
    if "dataset" in result.attrs:
        title += f" — {result.attrs['dataset']}"
    _layout(fig, title=title, height=330 * rows + 90)
    return fig.update_layout(legend=dict(orientation="v", yanchor="top", y=1.0, xanchor="left", x=1.01),
                             margin=dict(r=200))


def training_size_figure(result: Any, *, methods: Sequence[str] | None = None) -> go.Figure:
    """Clean test R² against the number of training spectra (log axis), one curve per
    method (mean over seeds, bars: 95 % interval)."""
    table, chosen = _robustness_stats(result, methods)
    colors = _method_colors(chosen)
    clean = table[table.nuisance == "clean"]
    fig = go.Figure()
    for m in chosen:
        part = clean[clean.method == m].sort_values("train_size")
        fig.add_trace(go.Scatter(x=part.train_size, y=part.r2_mean, mode="lines+markers", name=m,
                                 line=dict(color=colors[m], dash="dot" if m in ("ridge", "pls") else "solid"),
                                 error_y=dict(type="data", array=part.r2_ci.fillna(0.0), thickness=1, width=3)))
    fig.update_xaxes(type="log")
    _layout(fig, title="Clean test R² by training-set size", xaxis_title="training spectra", yaxis_title="test R²")
    return fig.update_layout(legend=dict(orientation="v", yanchor="top", y=1.0, xanchor="left", x=1.01),
                             margin=dict(r=200))
