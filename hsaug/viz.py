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
from .spectra import as_spectra, check_wavelength, describe as _describe

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
    "loss_distances",
    "training_figure",
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


def _panel_title(aug: Augmentation, params: Mapping[str, float]) -> str:
    """``shift<br>Δ=12.5 nm``: the name, and the first parameter in small type."""
    detail = format_params(aug, params, limit=1)
    name = aug.name.replace("_", " ")
    return f"{name}<br><span style='font-size:11px'>{detail}</span>" if detail else name


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
    ncols = min(cols, len(augs))
    fig = make_subplots(rows=rows, cols=ncols, shared_yaxes=True,
                        subplot_titles=[_panel_title(aug, p) for aug, p, _ in drawn],
                        horizontal_spacing=0.025, vertical_spacing=0.18)
    for i, (aug, p, y) in enumerate(drawn):
        r, c = divmod(i, cols)
        fig.add_trace(go.Scatter(x=wl_np, y=x0, name="original", legendgroup="original", showlegend=i == 0,
                                 mode="lines", line=dict(color=ORIGINAL, width=1.5)), row=r + 1, col=c + 1)
        fig.add_trace(go.Scatter(x=wl_np, y=y, name="augmented", legendgroup="augmented", showlegend=i == 0,
                                 mode="lines", line=dict(color=AUGMENTED, width=1.5),
                                 hovertext=format_params(aug, p), hoverinfo="x+y+text"), row=r + 1, col=c + 1)
    fig.update_xaxes(title_text="wavelength [nm]", row=rows)
    fig.update_xaxes(nticks=5, tickangle=0)
    fig.update_yaxes(title_text="reflectance", col=1)
    _layout(fig, title=title, height=250 * rows + 110, width=270 * ncols + 90)
    fig.update_layout(margin=dict(t=110 if title else 85), legend=dict(y=0.99, yanchor="top", yref="container", x=0.0, xanchor="left"))
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
            raise ValueError(f"{k} must have one value per band ({wl.size}); got {_describe(v)}")
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


def loss_distances(labels: np.ndarray, positives: np.ndarray, anchor: int) -> tuple[list[str], np.ndarray, list[str]]:
    """Sample names (j′ = augmented view of j), label distances to ``anchor`` and bar colours
    (anchor blue, its positives red, the rest grey) for labels (2N, s) and positives (2N, 2N)."""
    n2 = labels.shape[0]
    half = n2 // 2
    names = [f"{i}" if i < half else f"{i - half}′" for i in range(n2)]
    dist = np.linalg.norm(labels - labels[anchor], axis=1)
    colour = [PALETTE[0] if i == anchor else AUGMENTED if positives[anchor, i] else "#b0b0b0" for i in range(n2)]
    return names, dist, colour


def loss_figure(
    labels: Any, similarity: Any, positives: Any, *, radius: float | None = None, anchor: int = 0,
    loss: float | None = None, title: str | None = None,
) -> go.Figure:
    """Teaching view of the ball contrastive loss on a batch and its augmented copy.

    ``labels`` (2N, s) or (N, s) (tiled to 2N), ``similarity`` (2N, 2N) (cosine / τ),
    ``positives`` (2N, 2N) bool (j in the ball B_i of eq. 7, j ≠ i). Left: each sample's
    label distance ‖y_j − y_anchor‖ to sample ``anchor`` with the radius ``radius`` — the
    ball is everything left of the dashed line. Middle: the similarity matrix. Right: the
    positive pairs. ``loss`` goes into the title. Traces: distances, radius line, similarity, positives.
    """
    y = np.asarray(labels, dtype=float)
    if y.ndim == 1:
        y = y[:, None]
    s = np.asarray(similarity, dtype=float)
    pos = np.asarray(positives, dtype=bool)
    if s.ndim != 2 or s.shape[0] != s.shape[1] or s.shape[0] < 2:
        raise ValueError(f"similarity must be a square (2N, 2N) matrix; got shape {s.shape}")
    n2 = s.shape[0]
    if y.ndim != 2 or y.shape[0] not in (n2, n2 // 2):
        raise ValueError(f"labels must be (N, s) or (2N, s) for a {n2} x {n2} similarity; got {_describe(labels)}")
    if y.shape[0] != n2:
        y = np.concatenate([y, y])
    if pos.shape != (n2, n2):
        raise ValueError(f"positives must be ({n2}, {n2}) like similarity; got shape {pos.shape}")
    if not 0 <= anchor < n2:
        raise ValueError(f"anchor must be a sample index in [0, {n2 - 1}]; got {anchor}")
    names, dist, colour = loss_distances(y, pos, anchor)
    fig = make_subplots(rows=1, cols=3, column_widths=[0.28, 0.36, 0.36], horizontal_spacing=0.08,
                        subplot_titles=(f"‖yⱼ − y_{names[anchor]}‖ (anchor {names[anchor]})",
                                        "similarity sim(fᵢ, fⱼ) / τ", "positive pairs: ‖yᵢ − yⱼ‖ ≤ r, j ≠ i"))
    fig.add_trace(go.Bar(x=dist, y=names, orientation="h", marker_color=colour, name="label distance",
                         showlegend=False, hovertemplate="sample %{y}: %{x:.3f}<extra></extra>"), row=1, col=1)
    r = float("nan") if radius is None else float(radius)
    fig.add_trace(go.Scatter(x=[r, r], y=[names[0], names[-1]], mode="lines+text", text=["", f"r = {r:.3g}"],
                             textposition="bottom right", line=dict(color=PALETTE[0], dash="dash", width=2),
                             name="radius r", showlegend=False, hoverinfo="skip"), row=1, col=1)
    fig.add_trace(go.Heatmap(z=s, x=names, y=names, colorscale="RdBu_r", zmid=0, name="similarity",
                             colorbar=dict(x=0.64, len=0.85, thickness=10),
                             hovertemplate="i=%{y}, j=%{x}: %{z:.3f}<extra></extra>"), row=1, col=2)
    fig.add_trace(go.Heatmap(z=pos.astype(float), x=names, y=names, colorscale=[[0, "#f2f2f2"], [1, AUGMENTED]],
                             zmin=0, zmax=1, showscale=False, name="positives",
                             hovertemplate="i=%{y}, j=%{x}: %{z}<extra></extra>"), row=1, col=3)
    fig.update_xaxes(title_text="label distance", row=1, col=1)
    for c in (1, 2, 3):
        fig.update_yaxes(autorange="reversed", type="category", row=1, col=c)
    for c in (2, 3):
        fig.update_xaxes(type="category", side="bottom", row=1, col=c)
    if title is None:
        title = f"contrastive loss = {loss:.4f}" if loss is not None else ""
    return _layout(fig, title=title, height=460)


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
