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
from .spectra import _describe, as_spectra, check_wavelength

__all__ = [
    "ORIGINAL",
    "AUGMENTED",
    "prepare",
    "apply_one",
    "draw_params",
    "format_params",
    "spectrum_figure",
    "augmentation_figure",
    "gallery_figure",
    "illumination_figure",
    "loss_figure",
    "training_figure",
]

ORIGINAL = "#4a4a4a"  # original spectrum: dark grey
AUGMENTED = "#d62728"  # augmented spectrum: red
SUN, SKY = "#ff7f0e", "#1f77b4"
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
FONT = dict(family="Arial, Helvetica, sans-serif", size=13)


# -- augmentations on one spectrum --------------------------------------------------------
def prepare(augmentation: str | Augmentation, reference: Any = None, **config: Any) -> Augmentation:
    """An augmentation ready to apply: built by name (with ``config``) and, when it learns
    from a reference set (``fit``, e.g. nearest neighbour), fitted on ``reference`` (N, B)."""
    if isinstance(augmentation, Augmentation):
        aug = augmentation
        if config:
            raise ValueError(f"config {sorted(config)} only applies when augmentation is a name; got {aug!r}")
    elif isinstance(augmentation, str):
        aug = augment.get(augmentation, **config)
    else:
        raise ValueError(f"augmentation must be a name from {augment.names()} or an Augmentation; "
                         f"got {_describe(augmentation)}")
    fit = getattr(aug, "fit", None)
    if callable(fit) and reference is not None:
        fit(as_spectra(reference, name="reference"))
    return aug


def _one(spectrum: Any, wavelength: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """spectrum (B,) or (1, B) and grid (B,) as float32 tensors (1, B), (B,)."""
    arr = spectrum.values if hasattr(spectrum, "dims") else spectrum
    t = torch.as_tensor(np.asarray(arr, dtype=np.float32)) if not isinstance(arr, torch.Tensor) else arr.float()
    if t.ndim == 1:
        t = t[None, :]
    if t.ndim != 2 or t.shape[0] != 1:
        raise ValueError(f"spectrum must be one spectrum, shape (B,) or (1, B); got {_describe(spectrum)}")
    x = as_spectra(t, name="spectrum")
    return x, check_wavelength(wavelength, x.shape[1])


def apply_one(
    aug: Augmentation, spectrum: Any, wavelength: Any, params: Mapping[str, float] | None = None,
    *, index: int | None = None,
) -> np.ndarray:
    """``aug`` applied to one spectrum (B,) with scalar ``params``: a float32 array (B,).

    ``index`` is the spectrum's row in the reference set of augmentations that use one.
    Missing parameters take their neutral default.
    """
    x, wl = _one(spectrum, wavelength)
    idx = None if index is None else torch.tensor([int(index)])
    out = aug.apply(x, wl, index=idx, **{k: float(v) for k, v in (params or {}).items()})
    return out[0].detach().cpu().numpy()


def draw_params(
    aug: Augmentation, seed: int | torch.Generator | None = 0, wavelength: Any = None
) -> dict[str, float]:
    """One random draw of ``aug``'s parameters as plain floats (seeded, CPU generator)."""
    gen = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(int(seed or 0))
    return {k: float(v[0]) for k, v in aug.sample(1, gen, wavelength).items()}


def format_params(aug: Augmentation, params: Mapping[str, float], limit: int = 3) -> str:
    """``Δ=12.5 nm, …`` for a figure title: the first ``limit`` parameters, with units."""
    parts = []
    for p in aug.params[:limit]:
        if p.name in params:
            v = float(params[p.name])
            text = f"{v:.0f}" if p.integer else f"{v:.3g}"
            parts.append(f"{p.label or p.name}={text}{(' ' + p.unit) if p.unit else ''}")
    if len(aug.params) > limit:
        parts.append("…")
    return ", ".join(parts)


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
        raise ValueError(f"original must have one value per band ({wl.size}); got {_describe(original)}")
    x1 = None if augmented is None else np.asarray(augmented, dtype=float).reshape(-1)
    if x1 is not None and x1.shape != wl.shape:
        raise ValueError(f"augmented must have one value per band ({wl.size}); got {_describe(augmented)}")
    fig = go.Figure([
        go.Scatter(x=wl, y=x0, name=names[0], mode="lines", line=dict(color=ORIGINAL, width=2)),
        go.Scatter(x=wl, y=x1 if x1 is not None else [], name=names[1], mode="lines",
                   line=dict(color=AUGMENTED, width=2)),
    ])
    fig.update_xaxes(title_text="wavelength [nm]")
    fig.update_yaxes(title_text=ylabel)
    return _layout(fig, title=title)


def augmentation_figure(
    augmentation: str | Augmentation, spectrum: Any, wavelength: Any,
    params: Mapping[str, float] | None = None, *, index: int | None = None, reference: Any = None,
    title: str | None = None,
) -> go.Figure:
    """Original and augmented spectrum for one augmentation at ``params`` (default: neutral)."""
    aug = prepare(augmentation, reference)
    params = dict(aug.neutral(), **(params or {}))
    y = apply_one(aug, spectrum, wavelength, params, index=index)
    if title is None:
        title = f"{aug.name}: {format_params(aug, params)}"
    return spectrum_figure(wavelength, np.asarray(getattr(spectrum, "values", spectrum)).reshape(-1), y, title=title)


def gallery_figure(
    spectrum: Any, wavelength: Any, augmentations: Sequence[str | Augmentation] | None = None, *,
    params: Mapping[str, Mapping[str, float]] | None = None, seed: int = 0, reference: Any = None,
    index: int | None = None, cols: int = 4, title: str = "",
) -> go.Figure:
    """All augmentations side by side (the paper's Fig. 2): one panel per augmentation
    overlaying the original spectrum (B,) and one augmented draw.

    ``augmentations`` defaults to every registered name; ``params`` maps a name to fixed
    parameters (others are drawn with ``seed``); ``reference`` (N, B) fits augmentations
    that need a reference set, with ``index`` the spectrum's row in it.
    """
    augs = [prepare(a, reference) for a in (augmentations if augmentations is not None else augment.names())]
    if not augs:
        raise ValueError("augmentations must name at least one augmentation; got an empty list")
    if cols < 1:
        raise ValueError(f"cols must be a positive number of panels per row; got {cols}")
    x, wl = _one(spectrum, wavelength)
    wl_np = wl.double().numpy()
    x0 = x[0].numpy()
    rows = math.ceil(len(augs) / cols)
    gen = torch.Generator().manual_seed(int(seed))
    drawn = []
    for aug in augs:
        p = dict((params or {}).get(aug.name) or draw_params(aug, gen, wl))
        drawn.append((aug, p, apply_one(aug, x0, wl, p, index=index)))
    fig = make_subplots(rows=rows, cols=min(cols, len(augs)), shared_yaxes=True,
                        subplot_titles=[aug.name.replace("_", " ") for aug, _, _ in drawn],
                        horizontal_spacing=0.02, vertical_spacing=0.14)
    for i, (aug, p, y) in enumerate(drawn):
        r, c = divmod(i, cols)
        fig.add_trace(go.Scatter(x=wl_np, y=x0, name="original", legendgroup="original", showlegend=i == 0,
                                 mode="lines", line=dict(color=ORIGINAL, width=1.5)), row=r + 1, col=c + 1)
        fig.add_trace(go.Scatter(x=wl_np, y=y, name="augmented", legendgroup="augmented", showlegend=i == 0,
                                 mode="lines", line=dict(color=AUGMENTED, width=1.5),
                                 hovertext=format_params(aug, p), hoverinfo="x+y+text"), row=r + 1, col=c + 1)
    fig.update_xaxes(title_text="wavelength [nm]", row=rows)
    fig.update_yaxes(title_text="reflectance", col=1)
    return _layout(fig, title=title, height=260 * rows + 80)


def illumination_figure(
    wavelength: Any, e_sun: Any, e_sky: Any, spectrum: Any = None, adjusted: Any = None, *,
    title: str = "", irradiance_units: str = "W m⁻² nm⁻¹",
) -> go.Figure:
    """Top: direct E_sun and diffuse E_sky (B,) over ``wavelength`` [nm]. Bottom (when
    ``spectrum`` is given): the spectrum and its ``adjusted`` version under this illumination."""
    wl = check_wavelength(wavelength).double().numpy()
    arrays = {"e_sun": e_sun, "e_sky": e_sky, "spectrum": spectrum, "adjusted": adjusted}
    vals = {}
    for k, v in arrays.items():
        if v is None:
            continue
        a = np.asarray(v, dtype=float).reshape(-1)
        if a.shape != wl.shape:
            raise ValueError(f"{k} must have one value per band ({wl.size}); got {_describe(v)}")
        vals[k] = a
    two = spectrum is not None
    fig = make_subplots(rows=2 if two else 1, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    fig.add_trace(go.Scatter(x=wl, y=vals["e_sun"], name="E_sun (direct)", mode="lines",
                             line=dict(color=SUN, width=2)), row=1, col=1)
    fig.add_trace(go.Scatter(x=wl, y=vals["e_sky"], name="E_sky (diffuse)", mode="lines",
                             line=dict(color=SKY, width=2)), row=1, col=1)
    fig.update_yaxes(title_text=f"irradiance [{irradiance_units}]", row=1, col=1)
    if two:
        fig.add_trace(go.Scatter(x=wl, y=vals["spectrum"], name="original", mode="lines",
                                 line=dict(color=ORIGINAL, width=2)), row=2, col=1)
        fig.add_trace(go.Scatter(x=wl, y=vals.get("adjusted", []), name="under this illumination", mode="lines",
                                 line=dict(color=AUGMENTED, width=2)), row=2, col=1)
        fig.update_yaxes(title_text="reflectance", row=2, col=1)
    fig.update_xaxes(title_text="wavelength [nm]", row=2 if two else 1, col=1)
    return _layout(fig, title=title, height=560 if two else 360)


def loss_figure(
    labels: Any, similarity: Any, positives: Any, *, radius: float | None = None, anchor: int = 0,
    loss: float | None = None, title: str | None = None,
) -> go.Figure:
    """Teaching view of the ball contrastive loss on a small batch.

    Left: the labels (N, S) in label space (first two outputs), the ball of radius ``radius``
    (eq. 7) around sample ``anchor``, its positives filled. Middle: the similarity matrix
    (N, N). Right: the positive-pair mask (N, N). ``loss`` goes into the title.
    """
    y = np.asarray(labels, dtype=float)
    if y.ndim == 1:
        y = y[:, None]
    n = y.shape[0]
    s = np.asarray(similarity, dtype=float)
    pos = np.asarray(positives, dtype=bool)
    if y.ndim != 2 or n < 2:
        raise ValueError(f"labels must be (N, S) with N >= 2; got {_describe(labels)}")
    for name, m in (("similarity", s), ("positives", pos)):
        if m.shape != (n, n):
            raise ValueError(f"{name} must be ({n}, {n}) for {n} labels; got shape {m.shape}")
    if not 0 <= anchor < n:
        raise ValueError(f"anchor must be a sample index in [0, {n - 1}]; got {anchor}")
    fig = make_subplots(rows=1, cols=3, column_widths=[0.34, 0.33, 0.33], horizontal_spacing=0.09,
                        subplot_titles=("label space: ball around the anchor", "similarity sim(fᵢ, fⱼ)/τ",
                                        "positive pairs ‖yᵢ − yⱼ‖ ≤ r"))
    yx = y[:, 0]
    yy = y[:, 1] if y.shape[1] > 1 else np.zeros(n)
    inside = pos[anchor]
    text = [str(i) for i in range(n)]
    fig.add_trace(go.Scatter(x=yx, y=yy, mode="markers+text", text=text, textposition="top center", name="samples",
                             marker=dict(size=11, color=np.where(inside, PALETTE[1], "#bbbbbb"),
                                         line=dict(color="#333", width=1)), showlegend=False), row=1, col=1)
    fig.add_trace(go.Scatter(x=[yx[anchor]], y=[yy[anchor]], mode="markers", name="anchor", showlegend=False,
                             marker=dict(size=16, symbol="star", color=PALETTE[0])), row=1, col=1)
    if radius is not None:
        t = np.linspace(0, 2 * np.pi, 121)
        fig.add_trace(go.Scatter(x=yx[anchor] + radius * np.cos(t), y=yy[anchor] + radius * np.sin(t),
                                 mode="lines", line=dict(color=PALETTE[0], dash="dash"), name="ball",
                                 showlegend=False), row=1, col=1)
    fig.add_trace(go.Heatmap(z=s, colorscale="RdBu_r", zmid=0, showscale=True, name="similarity",
                             colorbar=dict(x=0.635, len=0.9, thickness=10)), row=1, col=2)
    fig.add_trace(go.Heatmap(z=pos.astype(float), colorscale=[[0, "#f2f2f2"], [1, PALETTE[1]]], zmin=0, zmax=1,
                             showscale=False, name="positives"), row=1, col=3)
    fig.update_xaxes(title_text="y₁", row=1, col=1)
    fig.update_yaxes(title_text="y₂", row=1, col=1, scaleanchor="x", scaleratio=1)
    for c in (2, 3):
        fig.update_yaxes(autorange="reversed", row=1, col=c)
    if title is None:
        title = f"contrastive loss = {loss:.4f}" if loss is not None else ""
    return _layout(fig, title=title, height=420)


def training_figure(history: Mapping[str, Sequence[float]] | None = None, *, epochs: Sequence[float] | None = None,
                    title: str = "", log_y: bool = False) -> go.Figure:
    """Training curves: one line per metric in ``history`` (name -> values per epoch)."""
    fig = go.Figure()
    for i, (name, values) in enumerate((history or {}).items()):
        v = np.asarray(values, dtype=float).reshape(-1)
        x = np.arange(1, v.size + 1) if epochs is None else np.asarray(epochs, dtype=float)[: v.size]
        fig.add_trace(go.Scatter(x=x, y=v, name=name, mode="lines+markers", marker=dict(size=4),
                                 line=dict(color=PALETTE[i % len(PALETTE)], width=2)))
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text="value", type="log" if log_y else "linear")
    return _layout(fig, title=title, height=360)
