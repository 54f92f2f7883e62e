"""Figures of experiment results: error distributions (Fig. 3), the α × r sweep, Tables 1/2
as bars, robustness under test-time nuisances and R² by training-set size.

Each takes a finished result (a Dataset or dict the experiments write); nothing here trains.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..stats import robustness_summary
from .style import AUGMENTED, ORIGINAL, PALETTE, SKY, styled

__all__ = ["error_figure", "sweep_figure", "comparison_figure", "robustness_figure", "training_size_figure"]


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
    return styled(fig, title="Prediction error distribution" + (f" — {output}" if output else ""),
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
    return styled(fig, title=f"Test R² with {sweep.attrs.get('augmentation', '')}: α × r",
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
    return styled(fig, title=title, yaxis_title="R²")


def _method_colors(methods: Sequence[str]) -> dict[str, str]:
    fixed = {"ridge": "#7f7f7f", "pls": "#bcbd22", "mlp": ORIGINAL}
    rest = iter(PALETTE)
    return {m: fixed.get(m) or next(rest, None) or PALETTE[i % len(PALETTE)] for i, m in enumerate(methods)}


def _robustness_stats(result: Any, methods: Sequence[str] | None) -> tuple[Any, list[str]]:
    table = robustness_summary(result)
    names = [str(m) for m in result["method"].values]
    chosen = names if methods is None else list(methods)
    unknown = [m for m in chosen if m not in names]
    if unknown:
        raise ValueError(f"methods {unknown} are not in this result; it has {names}")
    return table, chosen


def _method_curve(x: Any, part: Any, method: str, colour: str, **kw: Any) -> go.Scatter:
    """One method's mean test R² over ``x`` with its 95 % interval as error bars (rows of
    :func:`hsaug.stats.robustness_summary`); linear baselines dotted."""
    return go.Scatter(x=x, y=part.r2_mean, mode="lines+markers", name=method, **kw,
                      line=dict(color=colour, dash="dot" if method in ("ridge", "pls") else "solid"),
                      error_y=dict(type="data", array=part.r2_ci.fillna(0.0), thickness=1, width=3))


def _legend_right(fig: go.Figure) -> go.Figure:
    """The legend in a column right of the axes (one entry per method)."""
    return fig.update_layout(legend=dict(orientation="v", yanchor="top", y=1.0, xanchor="left", x=1.01),
                             margin=dict(r=200))


def robustness_figure(result: Any, *, train_size: int | None = None, methods: Sequence[str] | None = None,
                      columns: int = 3, r2_floor: float | None = -0.5) -> go.Figure:
    """Test R² against nuisance strength, one panel per nuisance and one curve per method
    (mean over seeds, bars: 95 % interval): the Dataset of :func:`hsaug.experiments.robustness`
    at ``train_size`` (default the largest). ``methods``: which to draw (default all).
    The R² axes stop at ``r2_floor`` (a collapse to R² = −6 would flatten every other
    curve; hover or zoom out for the values), None to show everything."""
    from ..nuisances import get as get_nuisance  # here, not on top: it brings the synthetic scene model

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
            fig.add_trace(_method_curve(part.strength, part, m, colors[m], legendgroup=m, showlegend=i == 0),
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
    styled(fig, title=title, height=330 * rows + 90)
    return _legend_right(fig)


def training_size_figure(result: Any, *, methods: Sequence[str] | None = None) -> go.Figure:
    """Clean test R² against the number of training spectra (log axis), one curve per
    method (mean over seeds, bars: 95 % interval)."""
    table, chosen = _robustness_stats(result, methods)
    colors = _method_colors(chosen)
    clean = table[table.nuisance == "clean"]
    fig = go.Figure()
    for m in chosen:
        part = clean[clean.method == m].sort_values("train_size")
        fig.add_trace(_method_curve(part.train_size, part, m, colors[m]))
    fig.update_xaxes(type="log")
    styled(fig, title="Clean test R² by training-set size", xaxis_title="training spectra", yaxis_title="test R²")
    return _legend_right(fig)
