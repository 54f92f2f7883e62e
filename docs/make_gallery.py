"""Write docs/gallery.html: the paper's Fig. 2 as a static page, for readers with no kernel.

For three spectra — a USGS library spectrum, a synthetic scene pixel, a soil spectrum —
every augmentation side by side at the fixed Fig. 2 setting
(:data:`hsaug.augment.preview.PAPER_FIG2`) and at one seeded random draw, drawn by
:func:`hsaug.viz.gallery_figure` (the figure the notebook's gallery shows). plotly.js is
loaded from its CDN (``include_plotlyjs="cdn"``), so the page is small but needs a network;
``--inline`` embeds plotly.js (≈ 4.7 MB) for offline reading.

    python docs/make_gallery.py [--out docs/gallery.html] [--seed 3] [--inline]
"""

from __future__ import annotations

import argparse
import html
import sys
from pathlib import Path

import plotly.io as pio

SPECTRA = (("usgs", 0), ("synthetic", 0), ("soil", 0))


def build(seed: int = 3, inline: bool = False) -> str:
    from hsaug import augment, viz
    from hsaug.augment import preview
    from hsaug.sources import load_source, reference_rows

    parts = []
    first = True
    for source, row in SPECTRA:
        spectra = load_source(source)
        rows, index = reference_rows(spectra, row)
        ref = spectra.isel(sample=rows)
        label = str(spectra["label"].values[row])
        augs = [preview.prepare(n, ref) for n in augment.names()]
        fixed = {a.name: preview.feasible(a, dict(a.neutral(), **{k: v for k, v in preview.PAPER_FIG2[a.name].items()
                                                                   if k in a.neutral()})) for a in augs}
        for kind, params in (("Fig. 2 setting", fixed), (f"random draw, seed {seed}", None)):
            fig = viz.gallery_figure(spectra.values[row], spectra["wavelength"].values, augs, params=params,
                                     seed=seed, index=index, title=f"{source}: {label} — {kind}")
            parts.append(pio.to_html(fig, include_plotlyjs=("cdn" if not inline else True) if first else False,
                                     full_html=False, default_height=f"{fig.layout.height}px",
                                     config={"responsive": True, "displaylogo": False}))
            first = False
    head = ("<!doctype html><html><head><meta charset='utf-8'><title>hsaug: the augmentations of Fig. 2</title>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            "<style>body{font-family:Arial,Helvetica,sans-serif;max-width:1200px;margin:auto;padding:0 12px}"
            "</style></head><body>")
    intro = ("<h1>The spectral augmentations (paper Fig. 2)</h1><p>Every augmentation of "
             "<code>hsaug.augment</code> on three spectra: grey the original, red the augmented spectrum; "
             "each panel names its equation and every parameter value. The <i>Fig. 2 setting</i> is fixed "
             "(<code>hsaug.augment.preview.PAPER_FIG2</code>: one value per parameter inside the authors' ranges "
             "— the paper does not print Fig. 2's settings); the random draw "
             "is what training would draw with this seed. Nearest neighbour averages spectra of the same group "
             "only (a USGS material has one spectrum here, so k = 1). Made by "
             f"<code>python docs/make_gallery.py</code>; live version: notebook "
             "<code>01-explore-augmentations.ipynb</code>.</p>")
    return head + intro + "\n".join(parts) + "</body></html>"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).with_name("gallery.html")))
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--inline", action="store_true", help="embed plotly.js instead of loading it from the CDN")
    args = ap.parse_args(argv)
    text = build(args.seed, args.inline)
    Path(args.out).write_text(text, encoding="utf-8")
    print(f"wrote {html.escape(args.out)} ({len(text) / 1e3:.0f} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
