"""Render result figures for the docs as PNG, with headless Chromium (playwright driving the
system browser: ``apt-get install chromium``; never ``playwright install``).

    python docs/figures.py robustness RESULTS_DIR NAME   # RESULTS_DIR/robustness.nc -> docs/img/NAME-*.png

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


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "robustness":
        sys.exit(__doc__)
    robustness(*sys.argv[2:])
