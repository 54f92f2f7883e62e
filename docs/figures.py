"""Render result figures for the docs as PNG, with headless Chromium (playwright driving the
system browser: ``apt-get install chromium``; never ``playwright install``).

    python docs/figures.py robustness RESULTS_DIR NAME   # RESULTS_DIR/robustness.nc -> docs/img/NAME-*.png
    python docs/figures.py fewlabels FEW.json NAME       # hsaug.fewlabels result -> docs/img/NAME.png
    python docs/figures.py budget BUDGET.json NAME       # hsaug.budget result -> docs/img/NAME.png
    python docs/figures.py shifts ROBUSTNESS.nc NAME     # R² under every nuisance, in- and out-of-distribution

Writes ``NAME-nuisances.png`` (R² against each nuisance's strength) and ``NAME-sizes.png``
(clean R² against training-set size), drawing ridge, PLS, the MLP, the MLP with augmentation,
each contrastive loss at the authors' α = 0.001, r = 0.03, and the ball loss at α = 0.1, r = 0.3.
"""

from __future__ import annotations

import sys
from pathlib import Path

import xarray as xr

from hsaug import experiments, viz

IMG = Path(__file__).resolve().parent / "img"
CHROMIUM = "/usr/bin/chromium"


def save_png(fig, path: Path, width: int = 1300) -> None:
    """Screenshot the figure as Chromium renders it (the same plotly.js a notebook uses)."""
    from playwright.sync_api import sync_playwright

    html = fig.to_html(include_plotlyjs=True, full_html=True, config={"displayModeBar": False})
    height = int(fig.layout.height or 450)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": width, "height": height + 20}, device_scale_factor=1)
        page.set_content(html)
        page.wait_for_selector(".main-svg")
        page.locator(".plotly-graph-div").first.screenshot(path=str(path))
        browser.close()
    print(f"wrote {path}")


def robustness(results_dir: str, name: str = "robustness") -> None:
    result = xr.open_dataset(Path(results_dir) / "robustness.nc")
    # the authors' setting and a strong one of the ball loss's α × r grid
    main = experiments.robustness_main_methods(result, also=["ball α=0.1 r=0.3"])
    fig = viz.robustness_figure(result, methods=main)
    fig.update_layout(width=1300)
    save_png(fig, IMG / f"{name}-nuisances.png")
    sizes = viz.training_size_figure(result, methods=main)
    sizes.update_layout(width=1000, height=420)
    save_png(sizes, IMG / f"{name}-sizes.png", width=1000)


def fewlabels(path: str, name: str = "fewlabels") -> None:
    """Test R² against the number of labels, one line per method (mean ± 95 % t over seeds)."""
    import json
    import math

    import numpy as np
    import plotly.graph_objects as go
    from scipy import stats

    res = json.loads(Path(path).read_text())
    counts = res["settings"]["label_counts"]
    fig = go.Figure()
    for method in dict.fromkeys(r["method"] for r in res["rows"]):
        means, halves = [], []
        for c in counts:
            v = np.array([r["test_r2"] for r in res["rows"] if r["method"] == method and r["n_labels"] == c])
            means.append(v.mean())
            halves.append(0.0 if v.size < 2 or np.all(v == v[0]) else
                          stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
        dash = "dot" if method in ("ridge", "pls") else "solid"
        fig.add_trace(go.Scatter(x=counts, y=means, name=method, mode="lines+markers", line={"dash": dash},
                                 error_y={"type": "data", "array": halves, "visible": True}))
    fig.update_layout(xaxis={"type": "log", "title": "labelled training pixels", "tickvals": counts},
                      yaxis={"title": "test R²"},
                      width=900, height=450, title=res.get("title", "few labels"), template="plotly_white")
    save_png(fig, IMG / f"{name}.png", width=900)


def budget(path: str, name: str = "budget") -> None:
    """Paired ΔR² (configuration − baseline, ± 95 % t) against epochs, one panel per training size."""
    import json

    import numpy as np
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from hsaug.experiments.budget import paired

    res = json.loads(Path(path).read_text())
    t = np.array(res["test_r2"])
    names, sizes, cps = res["configs"], res["sizes"], res["checkpoints"]
    base = names.index("baseline")
    fig = make_subplots(rows=1, cols=len(sizes), subplot_titles=[f"{s} pixels" for s in sizes], shared_yaxes=True)
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
    for ci, c in enumerate(names):
        if ci == base:
            continue
        for i in range(len(sizes)):
            m, h = paired(t[i, :, ci], t[i, :, base])
            fig.add_trace(go.Scatter(x=cps, y=m, error_y={"type": "data", "array": h, "visible": True},
                                     name=c, legendgroup=c, showlegend=i == 0, mode="lines+markers",
                                     line={"color": colors[ci % len(colors)]}), row=1, col=i + 1)
    for i in range(len(sizes)):
        fig.add_hline(y=0, line={"color": "gray", "width": 1}, row=1, col=i + 1)
        fig.update_xaxes(type="log", title="epochs", tickvals=cps, row=1, col=i + 1)
    fig.update_yaxes(title="ΔR² vs baseline (paired)", row=1, col=1)
    fig.update_layout(width=300 * len(sizes) + 200, height=450, template="plotly_white",
                      title="Gain over the baseline MLP by training budget")
    save_png(fig, IMG / f"{name}.png", width=300 * len(sizes) + 200)


def shifts(path: str, name: str = "shifts") -> None:
    """R² against strength for every nuisance of a robustness result (in- and out-of-distribution)."""
    result = xr.open_dataset(path)
    fig = viz.robustness_figure(result, methods=[str(m) for m in result["method"].values])
    fig.update_layout(width=1400)
    save_png(fig, IMG / f"{name}.png", width=1400)


if __name__ == "__main__":
    commands = {"robustness": robustness, "fewlabels": fewlabels, "budget": budget, "shifts": shifts}
    if len(sys.argv) < 3 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](*sys.argv[2:])
