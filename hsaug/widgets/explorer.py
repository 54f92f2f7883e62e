"""The augmentation explorer: one spectrum, one augmentation, one control per parameter,
the augmented curve and its marks redrawn live; export as CSV, SVG and HTML. :func:`explore`
is what notebook 01 shows (the explorer and the gallery, or the same views as figures)."""

from __future__ import annotations

import base64
import html
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go
import torch

from .. import augment, viz
from ..augment import preview
from ..augment.base import Augmentation
from ..spectra import as_spectra, check_wavelength
from ..viz.augmentation import heading
from .controls import (DESC, FULL, SliderView, controls_box, cosine_row, css_row, figure_box, help_html,
                       param_control, show_angles, widen)
from .figure import Resizer, live_figure
from .gallery import AugmentationGallery
from .picker import SpectrumPicker

__all__ = ["LIVE_LIMIT_S", "AugmentationExplorer", "explore", "check_augmentation"]

#: A redraw slower than this [s] makes sliders update on release instead of while dragging.
LIVE_LIMIT_S = 0.04


def check_augmentation(name: str) -> None:
    """Refuse a name that is not a registered augmentation."""
    if name not in augment.names():
        raise ValueError(f"augmentation must be one of {augment.names()}; got {name!r}")


def _download_link(name: str, data: bytes, mime: str) -> str:
    b64 = base64.b64encode(data).decode("ascii")
    return f"<a download='{html.escape(name)}' href='data:{mime};base64,{b64}' target='_blank'>{html.escape(name)}</a>"


class AugmentationExplorer(SliderView, W.VBox):
    """Original vs augmented spectrum with one control per augmentation parameter.

    ``source``: a name from :data:`SOURCES` or spectra (DataArray/Dataset); ``sample``: the
    row (or label) of the spectrum shown first; ``augmentation``: a registered name;
    ``options``: initial option values (e.g. ``{"n_kernels": 2}``); ``seed`` seeds the
    random draws; ``live``: sliders redraw while dragging (None: when a redraw is fast);
    ``picker``: share another explorer's :class:`SpectrumPicker` instead of a new one.

    Drive it in-process: ``set(**values)`` moves sliders and redraws once,
    ``random_draw()`` samples and moves the sliders, ``paper()`` the Fig. 2 setting,
    ``values()`` reads them, ``augmented()`` is the plotted augmented curve, ``figure``
    the :class:`LiveFigure`, ``export(folder)`` writes CSV, SVG and HTML.
    """

    def __init__(
        self, source: Any = "usgs", augmentation: str = "shift", *, sample: int | str = 0,
        options: Mapping[str, Any] | None = None, seed: int = 0, live: bool | None = None, limit: int = 500,
        picker: SpectrumPicker | None = None,
    ) -> None:
        check_augmentation(augmentation)
        self._seed = int(seed)
        self._generator = torch.Generator().manual_seed(self._seed)
        self._live = live
        self.redraw_seconds = 0.0
        self.picker = picker if picker is not None else SpectrumPicker(source, sample, limit=limit, seed=seed)
        self.chooser = W.Dropdown(options=augment.names(), value=augmentation, description="augmentation",
                                  style=DESC, layout=FULL)
        self.equation = W.HTMLMath(layout=FULL)
        self.random_button = W.Button(description="random draw", icon="random", button_style="primary",
                                      tooltip="sample parameters the way training does (seeded)",
                                      layout=W.Layout(width="auto"))
        self.reset_button = W.Button(description="reset", icon="undo", tooltip="neutral parameters (identity)",
                                     layout=W.Layout(width="auto"))
        self.paper_button = W.Button(description="paper Fig. 2", tooltip="the setting of the Fig. 2 gallery: "
                                     "one fixed value per parameter, inside the authors' ranges", layout=W.Layout(width="auto"))
        self.full_ranges = W.Checkbox(value=False, description="full slider ranges", indent=False,
                                      tooltip="sliders span every accepted value, not 2.5 × the random range",
                                      layout=W.Layout(width="auto"))
        self.export_button = W.Button(description="export", icon="download",
                                      tooltip="CSV (original, augmented, parameters), SVG and HTML of the figure",
                                      layout=W.Layout(width="auto"))
        self.downloads = W.HTML(layout=FULL)
        self.status = W.HTML(layout=FULL)
        self.help = W.HTML(layout=FULL)
        self.option_box = W.VBox(layout=FULL)
        self.slider_box = W.VBox(layout=FULL)
        self.sliders: dict[str, W.ValueWidget] = {}
        self.notes: dict[str, W.HTML] = {}
        self.options: dict[str, W.Dropdown] = {}
        self._x = self._wl = None
        self.augmentation: Augmentation | None = None
        self._index_in_reference = 0
        self.figure = live_figure(viz.explorer_figure(self.picker.wavelength, self.picker.spectrum))
        self._spectrum_changed(redraw=False)
        self._build(augmentation, dict(options or {}))
        buttons = W.Box([self.random_button, self.reset_button, self.paper_button, self.export_button],
                        layout=W.Layout(display="flex", flex_flow="row wrap", width="100%"))
        controls = controls_box([self.chooser, self.equation, self.option_box, self.slider_box, buttons,
                                  self.full_ranges, self.status, self.help, self.downloads])
        super().__init__([self.picker, css_row([controls, figure_box(self.figure)]), Resizer()], layout=FULL)
        self.add_class("hsaug-explorer")
        self.picker.on_change(self._spectrum_changed)
        self.chooser.observe(lambda ch: self._build(ch["new"], {}), names="value")
        self.random_button.on_click(lambda _: self.random_draw())
        self.reset_button.on_click(lambda _: self.reset())
        self.paper_button.on_click(lambda _: self.paper())
        self.full_ranges.observe(lambda _: self._build(self.chooser.value, self._option_values()), names="value")
        self.export_button.on_click(lambda _: self._offer_downloads())

    # -- building --------------------------------------------------------------------
    def _fit(self, aug: Augmentation) -> None:
        """Fit a reference-based augmentation on the spectra of the chosen one's group."""
        if aug.needs_reference:
            ref, self._index_in_reference = self.picker.reference()
            aug.fit(as_spectra(ref))
        else:
            self._index_in_reference = self.picker.index

    def _spectrum_changed(self, redraw: bool = True) -> None:
        self._x = torch.as_tensor(self.picker.spectrum)[None, :]
        self._wl = check_wavelength(self.picker.wavelength)
        wl = self.picker.wavelength
        if self.augmentation is not None:
            self._fit(self.augmentation)
            self._limit_k()
        with self.figure.batch_update():
            self.figure.data[0].x, self.figure.data[0].y = wl, self.picker.spectrum
            self.figure.data[1].x = wl
        if redraw:
            self.redraw()

    def _option_values(self) -> dict[str, Any]:
        return {k: dd.value for k, dd in self.options.items()}

    def _build(self, name: str, option_values: dict[str, Any]) -> None:
        """(Re)create the augmentation, its option dropdowns and controls; keep shared values."""
        old = self.values() if self.augmentation is not None and self.augmentation.name == name else {}
        aug = preview.prepare(name, None, **option_values)
        self._fit(aug)
        self.augmentation = aug
        if not option_values or set(self.options) != {o.name for o in aug.options}:
            self.options = {}
            for o in aug.options:
                dd = W.Dropdown(options=list(o.choices), value=aug.option_values[o.name], description=o.name,
                                tooltip=o.doc, style=DESC, layout=FULL)
                dd.observe(self._on_option, names="value")
                self.options[o.name] = dd
            self.option_box.children = tuple(self.options.values())
        values = dict(aug.neutral(), **{k: v for k, v in old.items() if k in aug.neutral()})
        if name == "elastic":
            values = preview.kernel_order(values)  # added kernels take their place in wavelength order
        live = self._live if self._live is not None else self._time_redraw(aug) <= LIVE_LIMIT_S
        self.sliders, self.notes, rows = {}, {}, []
        for p in aug.params:
            s = param_control(p, values[p.name], continuous=live, full=self.full_ranges.value)
            s.observe(self._on_slider, names="value")
            self.sliders[p.name] = s
            if preview.is_cosine(p):
                row, self.notes[p.name] = cosine_row(s)
                rows.append(row)
            else:
                rows.append(s)
        self.slider_box.children = tuple(rows)
        number, formula = preview.equation(aug)
        self.equation.value = f"<small><b>{number}</b> {html.escape(formula)}</small>"
        self.help.value = help_html([f"<b>{html.escape(p.display)}</b>: {html.escape(preview.role(aug, p))}"
                                     for p in aug.params])
        self.status.value = "" if live else "<small>slow to compute: redraws when a slider is released</small>"
        self._limit_k()
        self.redraw()

    def _limit_k(self) -> None:
        """Nearest neighbour: k at most the spectra of the chosen one's group."""
        if self.augmentation is None or self.augmentation.name != "nearest_neighbor" or "k" not in self.sliders:
            return
        ref, _ = self.picker.reference()
        n = ref.sizes["sample"]
        k = self.sliders["k"]
        with self._held():
            k.max = max(1, min(int(self.augmentation.spec("k").high), n))
            k.min = 1
            k.value = min(k.value, k.max)
        group = str(ref["group"].values[0]) if "group" in ref.coords else "all"
        note = (f"neighbours come from the {n} spectra of group <i>{html.escape(group)}</i> in this source"
                + (" — nothing to average: pick the synthetic or soil source" if n == 1 else ""))
        self.status.value = f"<small>{note}</small>"

    def _time_redraw(self, aug: Augmentation) -> float:
        t = time.perf_counter()
        aug.apply(self._x, self._wl, index=self._index(), **aug.neutral())
        return time.perf_counter() - t

    def _on_option(self, change: Mapping) -> None:
        self._build(self.chooser.value, self._option_values())

    def _index(self) -> torch.Tensor:
        return torch.tensor([self._index_in_reference])

    # -- public ------------------------------------------------------------------------
    def augmented(self) -> np.ndarray:
        """The augmented curve currently plotted (B,)."""
        return np.asarray(self.figure.data[1].y, dtype=float)

    def compute(self) -> np.ndarray:
        """The augmentation's output (B,) for the current spectrum and parameter values."""
        out = self.augmentation.apply(self._x, self._wl, index=self._index(), **self.values())
        return out[0].numpy()

    def title(self) -> str:
        """The figure title: augmentation, equation and every parameter value; the spectrum."""
        aug = self.augmentation
        return (f"{heading(aug)}: {viz.format_params(aug, self.values(), limit=None)}"
                f"<br><span style='font-size:11px'>{html.escape(self.picker.label)}</span>")

    def redraw(self) -> None:
        """Recompute the augmented spectrum and its marks; update the figure in one batch."""
        t = time.perf_counter()
        try:
            y = self.compute()
        except ValueError as err:  # e.g. a parameter combination the augmentation rejects
            self.status.value = f"<span style='color:#b00'>{html.escape(str(err))}</span>"
            return
        values = self.values()
        marks = preview.marks(self.augmentation, self._wl, values)
        with self.figure.batch_update():
            self.figure.data[1].y = y
            viz.update_marks(self.figure, self.picker.wavelength, marks)
            self.figure.layout.title.text = self.title()
        show_angles(self.notes, values)
        self.redraw_seconds = time.perf_counter() - t

    def set(self, **values: float) -> None:
        """Move controls to ``values`` (parameter name -> value) and redraw once; a slider
        widens to show a value outside its span."""
        unknown = set(values) - set(self.sliders)
        if unknown:
            raise ValueError(f"{self.augmentation.name} has no parameter(s) {sorted(unknown)}; "
                             f"sliders: {list(self.sliders)}")
        with self._held():
            for k, v in values.items():
                p, s = self.augmentation.spec(k), self.sliders[k]
                v = int(round(v)) if isinstance(s, (W.IntSlider, W.BoundedIntText)) else float(v)
                widen(s, v, p)
                s.value = v
        self.redraw()

    def random_draw(self) -> dict[str, float]:
        """Sample parameters from the augmentation's random ranges, move the sliders there."""
        self.set(**preview.feasible(self.augmentation, preview.draw_params(self.augmentation, self._generator,
                                                                            self._wl)))
        return self.values()

    def reset(self) -> None:
        """Neutral parameters (the augmented curve equals the original) and the seed's first draw next."""
        self._generator = torch.Generator().manual_seed(self._seed)
        self.set(**self.augmentation.neutral())

    def paper(self) -> dict[str, float]:
        """The Fig. 2 setting of this augmentation (:data:`hsaug.augment.preview.PAPER_FIG2`)."""
        self.set(**preview.paper_setting(self.augmentation))
        return self.values()

    def select(self, augmentation: str | None = None, *, source: str | None = None,
               sample: int | None = None) -> None:
        """Switch augmentation, source or spectrum as the dropdowns would."""
        if source is not None:
            self.picker.source.value = source
        if sample is not None:
            self.picker.sample.value = int(sample)
        if augmentation is not None:
            self.chooser.value = augmentation

    # -- export ----------------------------------------------------------------------------
    def _stem(self) -> str:
        return f"hsaug-{self.augmentation.name}-{self.picker.source_name}-{self.picker.index}"

    def csv_text(self) -> str:
        """Original and augmented spectrum with the parameters used, as CSV text (``#`` header lines)."""
        lines, rows = preview.table(self.picker.wavelength, self.picker.spectrum, self.augmented(),
                                    self.augmentation, self.values(), source=self.picker.source_name,
                                    spectrum=self.picker.label)
        body = "\n".join(",".join(f"{v:.8g}" for v in row) for row in rows)
        return "".join(f"# {line}\n" for line in lines) + "wavelength_nm,original,augmented\n" + body + "\n"

    def svg_text(self) -> str:
        """The figure as a standalone SVG (no browser needed)."""
        return viz.to_svg(self.figure, title=self.title())

    def export(self, folder: str | Path = "exports") -> dict[str, Path]:
        """Write ``<stem>.csv`` (original, augmented, parameters), ``.svg`` and ``.html`` (plotly,
        loading plotly.js from its CDN) into ``folder``; return the paths by kind."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"csv": out / f"{self._stem()}.csv", "svg": out / f"{self._stem()}.svg",
                 "html": out / f"{self._stem()}.html"}
        paths["csv"].write_text(self.csv_text(), encoding="utf-8")
        paths["svg"].write_text(self.svg_text(), encoding="utf-8")
        go.Figure(self.figure).write_html(paths["html"], include_plotlyjs="cdn")
        return paths

    def _offer_downloads(self) -> None:
        stem = self._stem()
        self.downloads.value = "<small>download: " + " · ".join([
            _download_link(f"{stem}.csv", self.csv_text().encode(), "text/csv"),
            _download_link(f"{stem}.svg", self.svg_text().encode(), "image/svg+xml"),
        ]) + " (PNG: the camera in the figure's toolbar)</small>"


def explore(
    source: Any = "usgs", augmentation: str = "shift", *, sample: int | str = 0, seed: int = 0,
    interactive: bool = True,
) -> list[Any]:
    """What notebook 01 displays: the explorer and the gallery sharing one spectrum picker
    (``interactive``), or the same two views as static figures — one seeded random draw of
    ``augmentation`` on the chosen spectrum, and every augmentation side by side."""
    if interactive:
        ex = AugmentationExplorer(source, augmentation, sample=sample, seed=seed)
        return [ex, AugmentationGallery(picker=ex.picker, seed=seed)]
    check_augmentation(augmentation)
    picker = SpectrumPicker(source, sample, seed=seed)
    ref, row = picker.reference()
    aug = preview.prepare(augmentation, ref)
    params = preview.feasible(aug, preview.draw_params(aug, seed, picker.wavelength))
    return [
        viz.augmentation_figure(aug, picker.spectrum, picker.wavelength, params, index=row,
                                title=f"{aug.name}: {viz.format_params(aug, params, limit=None)} — {picker.label}"),
        viz.gallery_figure(picker.spectrum, picker.wavelength, reference=ref, index=row,
                           seed=seed, title=f"all augmentations — {picker.label}"),
    ]
