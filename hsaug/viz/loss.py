"""The contrastive-loss teaching figure: label distances and the ball (eq. 7), the anchor's
weights (τ), the cosine similarity and each pair's role in the loss."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..spectra import describe
from .style import AUGMENTED, PALETTE, styled

__all__ = ["ROLE_COLORS", "sample_names", "loss_figure"]


def sample_names(n2: int) -> list[str]:
    """Names of a batch of N samples and its augmented view (2N rows): ``0 … N−1`` then ``0′ … (N−1)′``."""
    half = n2 // 2
    return [f"{i}" if i < half else f"{i - half}′" for i in range(n2)]


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
    names = sample_names(n2)
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
    return styled(fig, title=title, height=720)
