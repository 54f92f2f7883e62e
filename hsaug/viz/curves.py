"""Training curves: panels of curves per epoch (the live monitor's figure) and a history figure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .style import PALETTE, styled

__all__ = ["curves_figure", "training_figure"]

#: Line dashes, one per metric, so curves of one configuration share its colour.
DASHES = ("solid", "dash", "dot", "dashdot")


def epoch_axis(n: int, epochs: Sequence[float] | None) -> np.ndarray:
    """The x values of a curve of ``n`` epochs: the first ``n`` of ``epochs``, or 1 … n."""
    return np.arange(1, n + 1) if epochs is None else np.asarray(epochs, dtype=float)[:n]


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
    for c, panel in enumerate(names, start=1):
        for name, values in panels.get(panel, {}).items():
            metric, _, config = name.partition(" | ")
            colour = PALETTE[(configs.index(config) if config else metrics.index(metric)) % len(PALETTE)]
            v = np.asarray(values, dtype=float)
            x = epoch_axis(v.size, epochs)
            fig.add_trace(go.Scatter(x=x, y=v, name=name, mode="lines+markers", marker=dict(size=4),
                                     line=dict(color=colour, width=2,
                                               dash=DASHES[metrics.index(metric) % len(DASHES)] if config else "solid")),
                          row=1, col=c)
        if panel == "loss" and log_loss:
            fig.update_yaxes(type="log", row=1, col=c)
    fig.update_xaxes(title_text="epoch")
    if waiting:
        fig.add_annotation(text="training: the curves appear after the first epoch", xref="paper", yref="paper",
                           x=0.5, y=0.5, showarrow=False, font=dict(size=14, color="#666"))
    styled(fig, title=title, height=400)
    return fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0.0),
                             margin=dict(b=90))


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
    for i, name in enumerate(losses + others):
        values = np.asarray(history[name], dtype=float)
        rows = values.reshape(1, -1) if values.ndim < 2 else values
        col = 2 if two and name in others else 1
        for m, v in enumerate(rows):
            x = epoch_axis(v.size, epochs)
            label = name if len(rows) == 1 else f"{name} · {members[m] if members else m}"
            color = PALETTE[(i if len(rows) == 1 else m) % len(PALETTE)]
            fig.add_trace(go.Scatter(x=x, y=v, name=label, mode="lines", legendgroup=label,
                                     line=dict(color=color, width=2, dash="solid" if len(rows) == 1
                                               else DASHES[i % len(DASHES)])), row=1, col=col)
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text="loss" if losses else "value", type="log" if log_loss and losses else "linear",
                     row=1, col=1)
    if two:
        fig.update_yaxes(title_text="metric", row=1, col=2)
    return styled(fig, title=title, height=380)
