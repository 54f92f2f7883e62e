"""Interactive explorers for notebooks and Voilà: ipywidgets controls around plotly figures.

* :class:`AugmentationExplorer` — pick a spectrum (synthetic scene pixel, USGS library
  spectrum, soil spectrum) and an augmentation; one control per parameter, generated from
  its :class:`~hsaug.augment.Param` spec, with its role in words, the paper's equation and,
  for cosines, the angle; the augmented curve, the elastic displacement ε(λ), erased bands
  and moved blocks are redrawn live. Buttons: random draw, reset, the paper's Fig. 2
  setting, full slider ranges, export (CSV + SVG + HTML).
* :class:`AugmentationGallery` — every augmentation side by side (the paper's Fig. 2),
  sharing the explorer's spectrum when built with ``picker=explorer.picker``.
* :class:`IlluminationExplorer` — clear-sky E_sun / E_sky (eq. 5) as the sun zenith, water
  vapour, aerosol and ozone change, and what they do to a spectrum.
* :class:`LossExplorer` — teaching view of the contrastive losses (eqs. 7–8): the anchor's
  label distances and ball, its softmax weights (τ), the loss's own positive/negative pairs.
* :class:`TrainingMonitor` — live training curves, one per configuration;
  ``update(epoch, metrics)`` is a training callback. :func:`train` runs a comparison with
  a monitor, keeps the finished epochs on an interrupt and says when a gap is within noise.

Every figure is a :class:`LiveFigure`: its synced state follows each update, so a page
reload, a second view of the same output and Voilà show what the kernel holds. Widths
follow the container (plotly autosize, flex layouts that wrap); no fixed pixel widths.
Drive any explorer from Python (``explorer.set(delta=5.0)``, ``explorer.random_draw()``,
``explorer.figure``): tests and benchmarks need no browser.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import html
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets as W
import numpy as np
import plotly.graph_objects as go
import torch
import xarray as xr

from . import augment, viz
from .augment import preview
from .augment.base import Augmentation
from .params import Param
from .sources import SOURCES, load_source, reference_rows
from .spectra import as_spectra, check_wavelength
from .spectra import describe

__all__ = [
    "SOURCES",
    "load_source",
    "LiveFigure",
    "Resizer",
    "SpectrumPicker",
    "AugmentationExplorer",
    "AugmentationGallery",
    "param_control",
    "param_slider",
    "slider_span",
    "explore",
    "IlluminationExplorer",
    "LossExplorer",
    "pair_roles",
    "TrainingMonitor",
    "train",
]

#: A redraw slower than this [s] makes sliders update on release instead of while dragging.
LIVE_LIMIT_S = 0.04
#: Integer parameters with more whole values than this get a text box, not a slider.
TEXT_BOX_ABOVE = 1000
CONTROLS_WIDTH = "340px"  # the control column; the figure takes the rest and wraps below when narrow
_DESC = {"description_width": "92px"}
_FULL = W.Layout(width="100%")


def _css_row(children: Sequence[W.Widget], min_figure: str = "420px") -> W.Box:
    """Controls (fixed column) beside a figure box that grows; wraps when there is no room."""
    return W.Box(list(children), layout=W.Layout(display="flex", flex_flow="row wrap", align_items="flex-start",
                                                 width="100%", grid_gap="8px"))


def _figure_box(figure: W.Widget, min_width: str = "420px") -> W.VBox:
    return W.VBox([figure], layout=W.Layout(flex="1 1 0%", min_width=min_width, width="auto"))


def _controls_box(children: Sequence[W.Widget]) -> W.VBox:
    return W.VBox(list(children), layout=W.Layout(flex=f"0 0 {CONTROLS_WIDTH}", width=CONTROLS_WIDTH,
                                                  max_width="100%"))


# -- figures that follow their container -------------------------------------------------
class Resizer(anywidget.AnyWidget):
    """An invisible widget that keeps the plotly figures of its parent box as wide as the box.

    Plotly sizes an autosized figure once, when it is drawn — often before the notebook has
    laid out the output, so the figure comes out 700 px wide whatever the room — and again
    only on a window resize. This widget watches its parent element (a ResizeObserver, so
    also when JupyterLab's side panel opens or closes) and, after each plot is drawn, checks
    that every plot inside is as wide as its element; when not, it sends the window a
    resize event, and plotly fits every responsive figure to its container.
    """

    _esm = """
    function render({ el }) {
      el.style.display = "none";
      let observer = null, frame = 0, last = -1, box = null;
      const timers = [];
      const nudge = () => {
        cancelAnimationFrame(frame);
        frame = requestAnimationFrame(() => window.dispatchEvent(new Event("resize")));
      };
      // a plot drawn at another width than its element (plotly's 700 px default): resize
      const check = () => {
        if (!box) return;
        for (const gd of box.querySelectorAll(".js-plotly-plot")) {
          const svg = gd.querySelector(".main-svg");
          const want = gd.getBoundingClientRect().width;
          if (svg && want > 0 && Math.abs(svg.getBoundingClientRect().width - want) > 2) { nudge(); return; }
        }
      };
      const later = () => { for (const ms of [50, 300, 1000, 3000]) timers.push(setTimeout(check, ms)); };
      const start = () => {
        box = el.parentElement;
        if (!el.isConnected || !box) { frame = requestAnimationFrame(start); return; }
        observer = new ResizeObserver(() => {
          const w = Math.round(box.getBoundingClientRect().width);
          if (w !== last) { last = w; nudge(); later(); }
        });
        observer.observe(box);
        later();
      };
      document.addEventListener("plotlywidget-after-render", later);
      start();
      return () => {
        cancelAnimationFrame(frame);
        timers.forEach(clearTimeout);
        document.removeEventListener("plotlywidget-after-render", later);
        if (observer) observer.disconnect();
      };
    }
    export default { render };
    """


# -- figures whose synced state follows every update ------------------------------------
class LiveFigure(go.FigureWidget):
    """A ``go.FigureWidget`` whose synced state (``_widget_data``/``_widget_layout``) is
    brought up to date after each :meth:`batch_update`.

    Plotly sends changes made after construction only as messages to the views open at
    that moment; a view made later (a page reload, a second view, Voilà) starts from the
    synced state, which plotly sets only when the figure is displayed on its own. Here it
    is re-synced after every batch update, so every new view shows what the kernel holds.
    """

    @contextlib.contextmanager
    def batch_update(self) -> Iterator[None]:
        with super().batch_update():
            yield
        self.resync()

    def resync(self) -> None:
        """Copy the figure's current data and layout into the synced state."""
        self._widget_data = copy.deepcopy(self._data)
        self._widget_layout = copy.deepcopy(self._layout_obj._props)


def _live(fig: go.Figure) -> LiveFigure:
    """A LiveFigure of a finished figure: autosized width, the modebar's PNG named after the title."""
    fig.update_layout(autosize=True, width=None)
    live = LiveFigure(fig)
    live._config = {"responsive": True, "displaylogo": False,
                    "toImageButtonOptions": {"format": "png", "scale": 2, "filename": "hsaug-figure"}}
    return live


# -- controls from specs ---------------------------------------------------------------
def _decimals(step: float) -> int:
    return int(min(4, max(0, -math.floor(math.log10(step) + 1e-9)))) if step > 0 else 2


def slider_span(p: Param, full: bool = False) -> tuple[float, float]:
    """The range a slider shows for ``p``: 2.5 × its random range around the centre (e.g.
    Δ: ±20 nm drawn -> ±50 nm shown) within [low, high], always holding the default;
    the whole [low, high] with ``full`` or when the random range is a single value."""
    lo, hi = p.sample_range if p.sample_range is not None else (p.low, p.high)
    if full or hi <= lo or preview.is_cosine(p):
        return float(p.low), float(p.high)
    centre, half = (lo + hi) / 2.0, 1.25 * (hi - lo)
    a, b = max(p.low, centre - half), min(p.high, centre + half)
    a, b = min(a, p.default, lo), max(b, p.default, hi)
    if not p.integer and p.step:  # on the slider's grid, so the ends are whole steps from the default
        a = a if a == p.low else p.default - math.floor((p.default - a) / p.step + 1e-9) * p.step
        b = b if b == p.high else p.default + math.floor((b - p.default) / p.step + 1e-9) * p.step
    return float(a), float(b)


def _step(p: Param) -> float:
    return min(float(p.slider_step), 0.001) if preview.is_cosine(p) else float(p.slider_step)


def param_slider(p: Param, value: float | None = None, *, continuous: bool = True, full: bool = True
                 ) -> W.ValueWidget:
    """An ipywidgets slider for a parameter spec: description ``p.display`` (label [unit]),
    range :func:`slider_span` (``full``: [low, high]), step ``p.slider_step`` (cosines:
    0.001), tooltip ``p.doc``; IntSlider for integers."""
    v = p.default if value is None else value
    lo, hi = slider_span(p, full)
    lo, hi = min(lo, v), max(hi, v)
    common = dict(description=p.display, tooltip=p.doc or p.display, continuous_update=continuous,
                  style=_DESC, layout=W.Layout(width="100%"))
    if p.integer:
        return W.IntSlider(value=int(round(v)), min=int(math.ceil(lo)), max=int(math.floor(hi)),
                           step=max(1, int(round(p.slider_step))), **common)
    step = _step(p)
    return W.FloatSlider(value=float(v), min=lo, max=hi, step=step, readout_format=f".{_decimals(step)}f", **common)


def param_control(p: Param, value: float | None = None, *, continuous: bool = True, full: bool = False
                  ) -> W.ValueWidget:
    """The control for a spec: a slider (:func:`param_slider`, span :func:`slider_span`), or
    for an integer with more than :data:`TEXT_BOX_ABOVE` values (a seed) a bounded text box."""
    if p.integer and p.high - p.low > TEXT_BOX_ABOVE:
        v = p.default if value is None else value
        return W.BoundedIntText(value=int(round(v)), min=int(p.low), max=int(p.high), description=p.display,
                                tooltip=p.doc, continuous_update=False, style=_DESC, layout=W.Layout(width="100%"))
    return param_slider(p, value, continuous=continuous, full=full)


def _widen(control: W.ValueWidget, value: float, p: Param) -> None:
    """Let a slider show ``value`` (inside the spec's [low, high]) by widening its span."""
    if isinstance(control, (W.FloatSlider, W.IntSlider)):
        if value < control.min:
            control.min = max(p.low, value)
        if value > control.max:
            control.max = min(p.high, value)


class SpectrumPicker(W.Box):
    """Two dropdowns: the source (``SOURCES`` or given spectra) and one spectrum in it.

    ``spectra`` is the loaded DataArray (sample, wavelength), ``index`` the chosen row,
    ``spectrum`` (B,) and ``wavelength`` (B,) [nm] its values; ``on_change(fn)`` calls
    ``fn()`` after either dropdown changes. One picker can drive several explorers.
    """

    max_listed = 60

    def __init__(self, source: Any = "usgs", sample: int | str = 0, *, limit: int = 500, seed: int = 0) -> None:
        self._limit, self._seed = limit, seed
        self._callbacks: list[Callable[[], None]] = []
        self._custom = None if isinstance(source, str) else load_source(source, limit=limit, seed=seed)
        names = (["custom"] if self._custom is not None else []) + list(SOURCES)
        if self._custom is None and source not in SOURCES:
            raise ValueError(f"source must be one of {list(SOURCES)} or spectra; got {source!r}")
        self.source = W.Dropdown(options=names, value="custom" if self._custom is not None else source,
                                 description="source", style={"description_width": "50px"},
                                 layout=W.Layout(width="190px"))
        self.sample = W.Dropdown(description="spectrum", style={"description_width": "62px"},
                                 layout=W.Layout(flex="1 1 260px", min_width="0", max_width="520px"))
        self.spectra = self._load()
        self._fill(sample)
        super().__init__([self.source, self.sample],
                         layout=W.Layout(display="flex", flex_flow="row wrap", width="100%"))
        self.source.observe(self._on_source, names="value")
        self.sample.observe(self._on_sample, names="value")

    def _load(self) -> xr.DataArray:
        if self.source.value == "custom":
            return self._custom
        return load_source(self.source.value, limit=self._limit, seed=self._seed)

    def _fill(self, sample: int | str = 0) -> None:
        labels = [str(s) for s in self.spectra["label"].values[: self.max_listed]]
        if isinstance(sample, str):
            if sample not in labels:
                raise ValueError(f"sample {sample!r} is not a spectrum of this source; choose from {labels}")
            sample = labels.index(sample)
        if not 0 <= int(sample) < len(labels):
            raise ValueError(f"sample must be a row in [0, {len(labels) - 1}] of this source; got {sample}")
        self.sample.options = [(lab, i) for i, lab in enumerate(labels)]
        self.sample.value = int(sample)

    def _on_source(self, change: Mapping) -> None:
        self.spectra = self._load()
        with self.sample.hold_trait_notifications():
            self._fill(0)
        self._notify()

    def _on_sample(self, change: Mapping) -> None:
        if change["new"] is not None:
            self._notify()

    def _notify(self) -> None:
        for fn in self._callbacks:
            fn()

    def on_change(self, fn: Callable[[], None]) -> None:
        self._callbacks.append(fn)

    @property
    def index(self) -> int:
        return int(self.sample.value or 0)

    @property
    def spectrum(self) -> np.ndarray:
        return np.asarray(self.spectra.values[self.index], dtype=np.float32)

    @property
    def wavelength(self) -> np.ndarray:
        return np.asarray(self.spectra["wavelength"].values, dtype=float)

    @property
    def label(self) -> str:
        return str(self.spectra["label"].values[self.index])

    def reference(self) -> tuple[xr.DataArray, int]:
        """The spectra a reference-based augmentation may use for the chosen one (its group:
        same material for USGS, the scene, the soil set) and its row among them."""
        rows, row = reference_rows(self.spectra, self.index)
        return self.spectra.isel(sample=rows), row

    @property
    def source_name(self) -> str:
        return str(self.source.value)


def _download_link(name: str, data: bytes, mime: str) -> str:
    b64 = base64.b64encode(data).decode("ascii")
    return f"<a download='{html.escape(name)}' href='data:{mime};base64,{b64}' target='_blank'>{html.escape(name)}</a>"


class AugmentationExplorer(W.VBox):
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
        if augmentation not in augment.names():
            raise ValueError(f"augmentation must be one of {augment.names()}; got {augmentation!r}")
        self._seed = int(seed)
        self._generator = torch.Generator().manual_seed(self._seed)
        self._live = live
        self._hold = False
        self.redraw_seconds = 0.0
        self.picker = picker if picker is not None else SpectrumPicker(source, sample, limit=limit, seed=seed)
        self.chooser = W.Dropdown(options=augment.names(), value=augmentation, description="augmentation",
                                  style=_DESC, layout=_FULL)
        self.equation = W.HTMLMath(layout=_FULL)
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
        self.downloads = W.HTML(layout=_FULL)
        self.status = W.HTML(layout=_FULL)
        self.help = W.HTML(layout=_FULL)
        self.option_box = W.VBox(layout=_FULL)
        self.slider_box = W.VBox(layout=_FULL)
        self.sliders: dict[str, W.ValueWidget] = {}
        self.notes: dict[str, W.HTML] = {}
        self.options: dict[str, W.Dropdown] = {}
        self._x = self._wl = None
        self.augmentation: Augmentation | None = None
        self._index_in_reference = 0
        self.figure = _live(viz.explorer_figure(self.picker.wavelength, self.picker.spectrum))
        self._spectrum_changed(redraw=False)
        self._build(augmentation, dict(options or {}))
        buttons = W.Box([self.random_button, self.reset_button, self.paper_button, self.export_button],
                        layout=W.Layout(display="flex", flex_flow="row wrap", width="100%"))
        controls = _controls_box([self.chooser, self.equation, self.option_box, self.slider_box, buttons,
                                  self.full_ranges, self.status, self.help, self.downloads])
        super().__init__([self.picker, _css_row([controls, _figure_box(self.figure)]), Resizer()], layout=_FULL)
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
                                tooltip=o.doc, style=_DESC, layout=_FULL)
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
                s.layout.width = "calc(100% - 66px)"
                self.notes[p.name] = W.HTML(layout=W.Layout(width="62px"))
                rows.append(W.HBox([s, self.notes[p.name]], layout=_FULL))
            else:
                rows.append(s)
        self.slider_box.children = tuple(rows)
        number, formula = preview.equation(aug)
        self.equation.value = f"<small><b>{number}</b> {html.escape(formula)}</small>"
        self.help.value = "<div style='font-size:11px;line-height:1.35;color:#444'>" + "<br>".join(
            f"<b>{html.escape(p.display)}</b>: {html.escape(preview.role(aug, p))}" for p in aug.params) + "</div>"
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

    @contextlib.contextmanager
    def _held(self) -> Iterator[None]:
        hold, self._hold = self._hold, True
        try:
            yield
        finally:
            self._hold = hold

    def _time_redraw(self, aug: Augmentation) -> float:
        t = time.perf_counter()
        aug.apply(self._x, self._wl, index=self._index(), **aug.neutral())
        return time.perf_counter() - t

    def _on_option(self, change: Mapping) -> None:
        self._build(self.chooser.value, self._option_values())

    def _on_slider(self, change: Mapping) -> None:
        if not self._hold:
            self.redraw()

    def _index(self) -> torch.Tensor:
        return torch.tensor([self._index_in_reference])

    # -- public ------------------------------------------------------------------------
    def values(self) -> dict[str, float]:
        """Current parameter values, by name."""
        return {k: float(s.value) for k, s in self.sliders.items()}

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
        number, _ = preview.equation(aug)
        head = f"{aug.name.replace('_', ' ')} ({number})" if number else aug.name.replace("_", " ")
        return (f"{head}: {viz.format_params(aug, self.values(), limit=None)}"
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
        for name, note in self.notes.items():
            note.value = f"<small>θ = {preview.angle_deg(values[name]):.1f}°</small>"
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
                _widen(s, v, p)
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
        want = {k: v for k, v in preview.PAPER_FIG2.get(self.augmentation.name, {}).items() if k in self.sliders}
        self.set(**preview.feasible(self.augmentation, dict(self.augmentation.neutral(), **want)))
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


class AugmentationGallery(W.VBox):
    """Every augmentation side by side on one spectrum (the paper's Fig. 2), every parameter
    value under each name. "random draw" draws the next setting from ``seed``, "paper Fig. 2"
    shows the fixed setting of :data:`hsaug.augment.preview.PAPER_FIG2`, "reset" goes back
    to the seed's first draw; the seed box changes the seed. Pass ``picker=`` (e.g. an
    explorer's) to follow another view's spectrum; ``augmentations`` defaults to all names.
    """

    def __init__(self, source: Any = "usgs", *, sample: int | str = 0, augmentations: list[str] | None = None,
                 seed: int = 0, cols: int = 4, limit: int = 500, picker: SpectrumPicker | None = None,
                 preset: str = "random") -> None:
        if preset not in ("random", "paper"):
            raise ValueError(f"preset must be 'random' or 'paper'; got {preset!r}")
        self.names = list(augmentations) if augmentations is not None else augment.names()
        self._cols = cols
        self._shared = picker is not None
        self.picker = picker if picker is not None else SpectrumPicker(source, sample, limit=limit, seed=seed)
        self.seed = W.BoundedIntText(value=int(seed), min=0, max=2**31 - 1, description="seed",
                                     style={"description_width": "36px"}, layout=W.Layout(width="150px"))
        self.random_button = W.Button(description="random draw", icon="random", button_style="primary",
                                      layout=W.Layout(width="auto"))
        self.paper_button = W.Button(description="paper Fig. 2", layout=W.Layout(width="auto"),
                                     tooltip="one fixed value per parameter, inside the authors' ranges")
        self.reset_button = W.Button(description="reset", icon="undo", layout=W.Layout(width="auto"),
                                     tooltip="the seed's first draw")
        self._generator = torch.Generator().manual_seed(int(seed))
        self.augmentations = [preview.prepare(n) for n in self.names]
        self._index_in_reference = self.picker.index
        self._fit()
        self.params: dict[str, dict[str, float]] = self._draw() if preset == "random" else self._paper()
        self.figure = _live(self._figure())
        note = W.HTML("<small>spectrum: chosen in the explorer above</small>") if self._shared else self.picker
        bar = W.Box([self.seed, self.random_button, self.paper_button, self.reset_button],
                    layout=W.Layout(display="flex", flex_flow="row wrap"))
        super().__init__([W.Box([note, bar], layout=W.Layout(display="flex", flex_flow="row wrap", width="100%")),
                          self.figure, Resizer()], layout=_FULL)
        self.add_class("hsaug-gallery")
        self.picker.on_change(self._on_spectrum)
        self.random_button.on_click(lambda _: self.random_draw())
        self.paper_button.on_click(lambda _: self.paper())
        self.reset_button.on_click(lambda _: self.reset())
        self.seed.observe(lambda _: self.reset(), names="value")

    def _fit(self) -> None:
        ref, self._index_in_reference = self.picker.reference()
        self._group_size = ref.sizes["sample"]
        for a in self.augmentations:
            if a.needs_reference:
                a.fit(as_spectra(ref))

    def _clip(self, params: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        return {a.name: preview.feasible(a, params[a.name]) for a in self.augmentations if a.name in params}

    def _draw(self) -> dict[str, dict[str, float]]:
        wl = self.picker.wavelength
        return self._clip({a.name: preview.draw_params(a, self._generator, wl) for a in self.augmentations})

    def _paper(self) -> dict[str, dict[str, float]]:
        return self._clip({a.name: dict(a.neutral(), **{k: v for k, v in preview.PAPER_FIG2.get(a.name, {}).items()
                                                        if k in a.neutral()}) for a in self.augmentations})

    def _figure(self) -> go.Figure:
        return viz.gallery_figure(self.picker.spectrum, self.picker.wavelength, self.augmentations,
                                  params=self.params, index=self._index_in_reference, cols=self._cols,
                                  title=f"all augmentations — {self.picker.label}")

    def _on_spectrum(self) -> None:
        self._fit()
        self._show(self._clip(self.params))

    def _show(self, params: dict[str, dict[str, float]]) -> None:
        self.params = params
        new = self._figure()
        with self.figure.batch_update():
            for old, fresh in zip(self.figure.data, new.data):
                old.x, old.y, old.hovertext = fresh.x, fresh.y, fresh.hovertext
            for old, fresh in zip(self.figure.layout.annotations, new.layout.annotations):
                old.text = fresh.text
            self.figure.layout.title.text = new.layout.title.text

    def random_draw(self) -> None:
        """New parameters for every panel from the seeded sequence, in one batch update."""
        self._show(self._draw())

    def paper(self) -> None:
        """Every panel at its Fig. 2 setting."""
        self._show(self._paper())

    def reset(self) -> None:
        """Restart the seeded sequence (at the seed box's value) and show its first draw."""
        self._generator = torch.Generator().manual_seed(int(self.seed.value))
        self.random_draw()


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
    if augmentation not in augment.names():
        raise ValueError(f"augmentation must be one of {augment.names()}; got {augmentation!r}")
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


# -- illumination ---------------------------------------------------------------------
_SKY_SLIDERS = {  # clear-sky setting -> (label, step, role); ranges from hsaug.illumination.CLEAR_SKY_LIMITS
    "zenith": ("sun zenith", 1.0, "sun's angle from the vertical; sets cos θz in the radiance"),
    "precipitable_water": ("water vapour", 0.1, "deepens the 940, 1140, 1400 and 1900 nm bands of E_sun"),
    "aerosol_turbidity": ("aerosol AOD₅₀₀", 0.01, "haze: less direct E_sun, more diffuse E_sky"),
    "ozone": ("ozone", 0.01, "absorbs below ~350 nm and near 600 nm (Chappuis band)"),
}


class IlluminationExplorer(W.VBox):
    """E_sun and E_sky from the clear-sky model and their effect on a spectrum.

    Sliders: sun zenith [deg], precipitable water vapour [cm], aerosol optical depth at
    500 nm, ozone [atm-cm] (SPECTRL2, :func:`hsaug.illumination.clear_sky`), and the
    cosines μ1 (pixel) and μ2 (calibration panel) of the atmospheric augmentation, each
    with its angle. Rows: the two irradiances; the radiance the chosen surface reflects on
    flat ground (:func:`hsaug.illumination.surface_radiance`); the reflectance and its eq. (5)
    version x (E_sun μ1 + E_sky) / (E_sun μ2 + E_sky). "reset" restores the start values.
    """

    def __init__(self, source: Any = "usgs", *, sample: int | str = 0, mu1: float = 0.5, mu2: float = 1.0,
                 limit: int = 500, picker: SpectrumPicker | None = None, **sky: float) -> None:
        from .illumination import CLEAR_SKY_LIMITS

        unknown = set(sky) - set(CLEAR_SKY_LIMITS)
        if unknown:
            raise ValueError(f"unknown clear-sky setting(s) {sorted(unknown)}; accepted: {sorted(CLEAR_SKY_LIMITS)}")
        self.picker = picker if picker is not None else SpectrumPicker(source, sample, limit=limit)
        self.sliders: dict[str, W.ValueWidget] = {}
        self.notes: dict[str, W.HTML] = {}
        defaults = {"zenith": 30.0, "precipitable_water": 1.4, "aerosol_turbidity": 0.1, "ozone": 0.3}
        roles = []
        for name, (label, step, what) in _SKY_SLIDERS.items():
            lo, hi, unit = CLEAR_SKY_LIMITS[name]
            p = Param(name, lo, hi, float(sky.get(name, defaults[name])), unit=unit, label=label, step=step)
            self.sliders[name] = param_slider(p)
            roles.append(f"<b>{html.escape(p.display)}</b>: {html.escape(what)}")
        rows: list[W.Widget] = list(self.sliders.values())
        atmos = augment.get("atmospheric")
        for p in atmos.params:
            s = param_slider(p, {"mu1": mu1, "mu2": mu2}[p.name])
            s.description = f"{p.display} {'pixel' if p.name == 'mu1' else 'panel'}"
            s.layout.width = "calc(100% - 66px)"
            self.sliders[p.name] = s
            self.notes[p.name] = W.HTML(layout=W.Layout(width="62px"))
            rows.append(W.HBox([s, self.notes[p.name]], layout=_FULL))
            roles.append(f"<b>{p.label}</b>: {html.escape(preview.role(atmos, p))}")
        self._start = {k: s.value for k, s in self.sliders.items()}
        self.reset_button = W.Button(description="reset", icon="undo", layout=W.Layout(width="auto"))
        self.status = W.HTML(layout=_FULL)
        self.help = W.HTML("<div style='font-size:11px;line-height:1.35;color:#444'>eq. 5: "
                           "x̃ = x (E_sun μ1 + E_sky) / (E_sun μ2 + E_sky)<br>" + "<br>".join(roles) + "</div>",
                           layout=_FULL)
        self._hold = False
        wl, e_sun, e_sky, x, adjusted, radiance = self._compute()
        fig = viz.illumination_figure(wl, e_sun, e_sky, x, adjusted, radiance=radiance)
        fig.update_layout(height=720)
        self.figure = _live(fig)
        self.redraw()
        controls = _controls_box(rows + [self.reset_button, self.status, self.help])
        super().__init__([self.picker, _css_row([controls, _figure_box(self.figure)]), Resizer()], layout=_FULL)
        self.add_class("hsaug-illumination")
        for sl in self.sliders.values():
            sl.observe(self._on_slider, names="value")
        self.picker.on_change(self.redraw)
        self.reset_button.on_click(lambda _: self.set(**self._start))

    def _on_slider(self, change: Mapping) -> None:
        if not self._hold:
            self.redraw()

    def values(self) -> dict[str, float]:
        return {k: float(s.value) for k, s in self.sliders.items()}

    def illumination(self) -> xr.Dataset:
        """The current clear-sky ``e_sun`` and ``e_sky`` on the spectrum's grid."""
        from .illumination import clear_sky

        v = self.values()
        return clear_sky(self.picker.wavelength, **{k: v[k] for k in _SKY_SLIDERS})

    def _compute(self) -> tuple[np.ndarray, ...]:
        """(wavelength, e_sun, e_sky, spectrum, adjusted, radiance) for the current sliders."""
        from .illumination import Illumination
        from .illumination import surface_radiance

        v = self.values()
        ill = self.illumination()
        wl, x = self.picker.wavelength, self.picker.spectrum
        e_sun, e_sky = ill["e_sun"].values, ill["e_sky"].values
        atmos = augment.get("atmospheric", illumination=Illumination(wl, e_sun, e_sky, "clear sky"))
        adjusted = atmos.apply(torch.as_tensor(x)[None], wl, mu1=v["mu1"], mu2=v["mu2"])[0].numpy()
        return wl, e_sun, e_sky, x, adjusted, surface_radiance(x, e_sun, e_sky, v["zenith"])

    def redraw(self) -> None:
        """Recompute illumination and spectra; replace the five traces in one batch update."""
        wl, e_sun, e_sky, x, adjusted, radiance = self._compute()
        v = self.values()
        with self.figure.batch_update():
            for trace, y in zip(self.figure.data, (e_sun, e_sky, radiance, x, adjusted)):
                trace.x, trace.y = wl, y
            self.figure.layout.title.text = (
                f"clear sky: sun zenith {v['zenith']:g}°, water {v['precipitable_water']:g} cm, "
                f"AOD {v['aerosol_turbidity']:g}, ozone {v['ozone']:g} atm-cm<br><span style='font-size:11px'>"
                f"eq. 5 with μ1 = {v['mu1']:.3f} (θ = {preview.angle_deg(v['mu1']):.1f}°), μ2 = {v['mu2']:.3f} "
                f"(θ = {preview.angle_deg(v['mu2']):.1f}°) — {html.escape(self.picker.label)}</span>")
        for name, note in self.notes.items():
            note.value = f"<small>θ = {preview.angle_deg(v[name]):.1f}°</small>"
        self.status.value = (f"<small>broadband direct {np.trapezoid(e_sun, wl):.0f}, diffuse "
                             f"{np.trapezoid(e_sky, wl):.0f} W m⁻² over {wl[0]:.0f}–{wl[-1]:.0f} nm</small>")

    def set(self, **values: float) -> None:
        """Move sliders (by name) and redraw once."""
        unknown = set(values) - set(self.sliders)
        if unknown:
            raise ValueError(f"unknown slider(s) {sorted(unknown)}; sliders: {list(self.sliders)}")
        self._hold = True
        try:
            for k, v in values.items():
                self.sliders[k].value = float(v)
        finally:
            self._hold = False
        self.redraw()


# -- contrastive loss (teaching) ----------------------------------------------------------
#: What each loss's value means: sign and scale, for the readout.
LOSS_NOTES = {
    "ball": "eq. 8: Σ over the anchor's positives j of −log(exp(s_ij) / Σ over negatives k of exp(s_ik)), summed over "
            "the 2N anchors and divided by N. The denominator holds negatives only, so a positive more "
            "similar than all negatives together gives a negative term: the loss can be below 0, and it "
            "grows with the number of positives (a sum, not a mean).",
    "supcon": "SupCon: the same log-ratio with every k ≠ i in the denominator, averaged over each anchor's "
              "positives and over anchors. Always ≥ 0; log(2N − 1) when all similarities are equal.",
    "bce": "The authors' code: binary cross-entropy of σ(s_ij) against 'j in the ball' over the pairs i < j, "
           "averaged. ≥ 0; log 2 ≈ 0.693 when every s_ij = 0.",
    "rnc": "Rank-N-Contrast: every j ≠ i is a positive once; its negatives are the k at least as far in "
           "label. Mean over pairs, ≥ 0. No radius: r is not used.",
}


def pair_roles(loss: str, labels: Any, r: float) -> np.ndarray:
    """(2N, 2N) codes of each pair's role in ``loss`` for labels (2N, s) and radius ``r``:
    2 = positive (numerator; for rnc every j ≠ i), 1 = negative (denominator only),
    0 = not used (the anchor itself; for bce the lower triangle)."""
    y = torch.as_tensor(np.asarray(labels, dtype=np.float32))
    n2 = y.shape[0]
    from .losses import ball_mask, check_loss_name

    name = check_loss_name(loss)
    eye = np.eye(n2, dtype=bool)
    inside = ball_mask(y, r, n2).numpy() & ~eye
    roles = np.where(inside, 2, 1)
    if name == "rnc":
        roles = np.full((n2, n2), 2)
    roles[eye] = 0
    if name == "bce":
        roles[np.tril(np.ones((n2, n2), dtype=bool))] = 0
    return roles


def anchor_weights(loss: str, similarity: np.ndarray, roles: np.ndarray, anchor: int) -> np.ndarray:
    """The anchor row's weights (2N,) for ``loss`` at similarities s = cos / τ (2N, 2N):
    softmax of s over the row's denominator set (ball: negatives and each positive in turn,
    shown as e^{s_ij} / Σ_{k in the denominator} e^{s_ik}; supcon, rnc: every k ≠ i), or
    for bce σ(s_ij). 0 for the anchor itself."""
    s = np.asarray(similarity, dtype=float)[anchor]
    row = roles[anchor]
    if loss == "bce":
        w = 1.0 / (1.0 + np.exp(-s))
        w[anchor] = 0.0
        return w
    keep = np.ones_like(s, dtype=bool)
    keep[anchor] = False
    if loss == "ball":
        keep &= row == 1  # the denominator: negatives only
    m = s[keep].max() if keep.any() else 0.0
    denom = np.exp(s[keep] - m).sum() if keep.any() else 1.0
    w = np.exp(s - m) / denom
    w[anchor] = 0.0
    return w


class LossExplorer(W.VBox):
    """A contrastive loss on a small labelled batch, with sliders for r and τ.

    The batch: ``spectra`` (N, B) with ``labels`` (N, s) and ``wavelength`` [nm], or by
    default ``n`` pixels of a seeded synthetic scene (labels: abundances). Features are
    the batch and one augmented view of it (``augmentation``, drawn with ``seed``), centred:
    f = [x; x̃] − mean — a stand-in for a feature extractor; pass ``features`` (2N, d) to
    use a model's. Labels are rescaled to [0, 1] per output over the batch, as training does
    (:class:`hsaug.losses.LabelScaling`), so r is in those units.

    Panels: the anchor's label distances and the ball (eq. 7), the anchor row's weights
    e^{s_ij}/Σ e^{s_ik} (what τ changes), the cosine similarity (fixed scale −1…1) and the
    pairs' roles in the chosen loss (positive / negative / unused), the anchor's row framed.
    """

    def __init__(self, spectra: Any = None, labels: Any = None, wavelength: Any = None, *, n: int = 8,
                 augmentation: str = "shift", features: Any = None, r: float = 0.3, tau: float = 0.5,
                 loss: str = "ball", seed: int = 0) -> None:
        from . import losses

        self._losses = losses
        x, y, wl = self._batch(spectra, labels, wavelength, n, seed)
        self._x, self._wl, self._seed = x, wl, seed
        self.labels = losses.LabelScaling.fit(y)(y)
        self._fixed_features = None if features is None else self._check_features(features, x.shape[0])
        n2 = 2 * x.shape[0]
        names = [f"{i}" if i < n2 // 2 else f"{i - n2 // 2}′" for i in range(n2)]
        if not 0.005 <= r <= 1.0 or not 0.02 <= tau <= 2.0:
            raise ValueError(f"r must be in [0.005, 1] and tau in [0.02, 2]; got r={r!r}, tau={tau!r}")
        self._start = {"r": float(r), "tau": float(tau)}
        self.sliders = {
            "r": W.FloatSlider(value=r, min=0.005, max=1.0, step=0.005, description="r", readout_format=".3f",
                               tooltip="ball radius (eq. 7), a fraction of each target's range",
                               style={"description_width": "24px"}, layout=_FULL),
            "tau": W.FloatSlider(value=tau, min=0.02, max=2.0, step=0.01, description="τ", readout_format=".2f",
                                 tooltip="temperature (eq. 8): similarities are divided by τ",
                                 style={"description_width": "24px"}, layout=_FULL),
        }
        self.loss_choice = W.Dropdown(options=losses.loss_names(), value=losses.check_loss_name(loss),
                                      description="loss", style=_DESC, layout=_FULL)
        self.anchor = W.Dropdown(options=[(nm, i) for i, nm in enumerate(names)], value=0, description="anchor",
                                 style=_DESC, layout=_FULL)
        self.view = W.Dropdown(options=augment.names(), value=augmentation, description="second view",
                               disabled=features is not None, style=_DESC, layout=_FULL)
        self.reset_button = W.Button(description="reset", icon="undo", layout=W.Layout(width="auto"))
        self.help = W.HTML("<div style='font-size:11px;line-height:1.35;color:#444'>"
                           "<b>r</b>: ball radius (eq. 7), a fraction of each target's range: j is a positive "
                           "of i when ‖yᵢ − yⱼ‖ ≤ r<br><b>τ</b>: temperature (eq. 8): s = cos / τ; a small τ "
                           "puts the anchor's weight on its most similar samples<br><b>j′</b>: the augmented "
                           "view of sample j</div>", layout=_FULL)
        self.readout = W.HTML(layout=_FULL)
        self.features = self._features()
        self.value = float("nan")
        self.figure = _live(self._figure())
        self.redraw()
        controls = _controls_box([self.sliders["r"], self.sliders["tau"], self.loss_choice, self.anchor, self.view,
                                  self.reset_button, self.readout, self.help])
        super().__init__([_css_row([controls, _figure_box(self.figure, "480px")]), Resizer()], layout=_FULL)
        self.add_class("hsaug-loss")
        for w in (*self.sliders.values(), self.loss_choice, self.anchor):
            w.observe(lambda _: self.redraw(), names="value")
        self.view.observe(self._on_view, names="value")
        self.reset_button.on_click(lambda _: self.set(**self._start))

    @staticmethod
    def _batch(spectra: Any, labels: Any, wavelength: Any, n: int, seed: int):
        if spectra is None:
            if labels is not None or wavelength is not None:
                raise ValueError("labels and wavelength go with spectra; got them without spectra")
            if not 2 <= n <= 64:
                raise ValueError(f"n must be a batch size in [2, 64]; got {n}")
            from .synthetic import make_scene

            ds = make_scene("paper", n_rows=1, n_cols=n, seed=seed)
            spectra, labels, wavelength = ds["spectra"].values, ds["target"].values, ds["wavelength"].values
        if isinstance(spectra, xr.Dataset):
            labels = spectra["target"].values if labels is None else labels
            wavelength = spectra["wavelength"].values if wavelength is None else wavelength
            spectra = spectra["spectra"]
        if isinstance(spectra, xr.DataArray) and wavelength is None:
            wavelength = spectra["wavelength"].values
        x = as_spectra(spectra, name="spectra").float()
        if x.shape[0] > 64:
            raise ValueError(f"spectra must be a small batch (at most 64 spectra) for this view; got {x.shape[0]}")
        wl = check_wavelength(wavelength, x.shape[1])
        if labels is None:
            raise ValueError("labels (N, s) are needed with spectra")
        y = torch.as_tensor(np.asarray(labels, dtype=np.float32))
        y = y[:, None] if y.ndim == 1 else y
        if y.ndim != 2 or y.shape[0] != x.shape[0]:
            raise ValueError(f"labels must be (N, s) with N = {x.shape[0]} like spectra; got {describe(labels)}")
        return x, y, wl

    @staticmethod
    def _check_features(features: Any, n: int) -> torch.Tensor:
        f = torch.as_tensor(np.asarray(features, dtype=np.float32))
        if f.ndim != 2 or f.shape[0] != 2 * n:
            raise ValueError(f"features must be (2N, d) = ({2 * n}, d): the batch, then its augmented view; "
                             f"got {describe(features)}")
        return f

    def _features(self) -> torch.Tensor:
        if self._fixed_features is not None:
            return self._fixed_features
        aug = preview.prepare(self.view.value, self._x)
        gen = torch.Generator().manual_seed(self._seed)
        view = aug(self._x, self._wl, gen, index=torch.arange(self._x.shape[0]))
        f = torch.cat([self._x, view])
        return f - f.mean(dim=0)

    def _on_view(self, change: Mapping) -> None:
        self.features = self._features()
        self.redraw()

    def compute(self) -> dict[str, Any]:
        """similarity s = cos/τ (2N, 2N), cosine (2N, 2N), positives (2N, 2N) bool (ball of eq. 7,
        j ≠ i), the loss's pair ``roles``, the anchor row's ``weights`` and the loss value."""
        L = self._losses
        r, tau = float(self.sliders["r"].value), float(self.sliders["tau"].value)
        n2 = self.features.shape[0]
        name = self.loss_choice.value
        sim = L.similarity(self.features, tau).numpy()
        cosine = L.similarity(self.features, 1.0).numpy()
        pos = (L.ball_mask(self.labels, r, n2) & ~torch.eye(n2, dtype=torch.bool)).numpy()
        y2 = np.concatenate([self.labels.numpy()] * 2)
        roles = pair_roles(name, y2, r)
        anchor = int(self.anchor.value)
        value = float(L.contrastive_loss(self.features, self.labels, r=r, tau=tau, loss=name))
        return {"similarity": sim, "cosine": cosine, "positives": pos, "roles": roles, "loss": value, "r": r,
                "tau": tau, "name": name, "weights": anchor_weights(name, sim, roles, anchor), "anchor": anchor}

    def static_figure(self) -> go.Figure:
        """The current view as a static figure (for ``interactive = False`` notebooks)."""
        return self._figure()

    def _figure(self) -> go.Figure:
        c = self.compute()
        return viz.loss_figure(self.labels.numpy(), c["cosine"], c["roles"], radius=c["r"], anchor=c["anchor"],
                               loss=c["loss"], weights=c["weights"], loss_name=c["name"], tau=c["tau"])

    def redraw(self) -> None:
        """Recompute and replace every trace, title and frame in one batch update."""
        fresh = self._figure()
        with self.figure.batch_update():
            for old, new in zip(self.figure.data, fresh.data):
                old.update(new.to_plotly_json())
            self.figure.layout.title.text = fresh.layout.title.text
            self.figure.layout.shapes = fresh.layout.shapes
            for old, new in zip(self.figure.layout.annotations, fresh.layout.annotations):
                old.text = new.text
        c = self.compute()
        self.value = c["loss"]
        roles = c["roles"]
        n2 = roles.shape[0]
        n_pos = int((roles == 2).sum())
        self.readout.value = (f"<b>{c['name']} loss = {c['loss']:.4f}</b><div style='font-size:11px;"
                              f"line-height:1.35'>{n_pos} positive pairs of {n2 * (n2 - 1)}; the anchor has "
                              f"{int((roles[c['anchor']] == 2).sum())} (its own view included)<br><span "
                              f"style='color:#444'>{html.escape(LOSS_NOTES[c['name']])}</span></div>")

    def set(self, **values: float) -> None:
        """Set ``r`` and/or ``tau`` and redraw."""
        unknown = set(values) - set(self.sliders)
        if unknown:
            raise ValueError(f"unknown slider(s) {sorted(unknown)}; sliders: {list(self.sliders)}")
        for k, v in values.items():
            self.sliders[k].value = float(v)


# -- live training curves ---------------------------------------------------------------
_PANELS = ("loss", "α · contrastive", "metric")


def _panel(name: str) -> str:
    low = name.lower()
    if "contrastive" in low:
        return "α · contrastive"
    if any(w in low for w in ("loss", "mse")):
        return "loss"
    return "metric"


class TrainingMonitor(W.VBox):
    """Live training curves in a notebook: call ``update(epoch, metrics)`` after each epoch.

    ``metrics`` maps a name to a number (e.g. ``{"loss": 0.3, "val_r2": 0.71}``) or to one
    value per ensemble member (M,). ``members`` names each member's configuration (e.g.
    ``["baseline", "baseline", "shift", "shift"]`` for two configurations × two seeds): one
    curve per configuration (mean over its seeds), coloured by configuration. Panels:
    losses (MSE), the weighted contrastive term α · contrastive on its own axis (from a
    :func:`hsaug.training.fit` history: ``loss − mse``), and the other metrics (R², MAE).
    A message stands in the figure until the first epoch. The monitor is callable
    (``monitor(epoch, metrics)``), so it is a training callback; ``every`` redraws only
    each n-th epoch (the history is always kept). :meth:`from_history` shows a finished run.
    """

    def __init__(self, *, title: str = "training", members: Sequence[str] | None = None, log_loss: bool = False,
                 every: int = 1, total_epochs: int | None = None) -> None:
        if every < 1:
            raise ValueError(f"every must be a positive number of epochs; got {every}")
        self.title, self.log_loss, self.every, self.total_epochs = title, log_loss, every, total_epochs
        self.members = None if members is None else [str(m) for m in members]
        self.epochs: list[float] = []
        self.history: dict[str, list[float]] = {}
        self.started = time.perf_counter()
        self.status = W.HTML("<small>training: the curves appear after the first epoch (a few seconds)…</small>")
        self.figure = _live(viz.curves_figure({}, title=title, waiting=True))
        super().__init__([self.status, self.figure, Resizer()], layout=_FULL)
        self.add_class("hsaug-training")

    def _groups(self, n: int) -> dict[str, np.ndarray]:
        if self.members is None or len(self.members) != n:
            return {"": np.arange(n)}
        names = list(dict.fromkeys(self.members))
        return {g: np.array([i for i, m in enumerate(self.members) if m == g]) for g in names}

    def _series(self, values: Mapping[str, np.ndarray]) -> dict[str, float]:
        """name → value, one per (metric, configuration), means over a configuration's members."""
        out: dict[str, float] = {}
        v = dict(values)
        if "loss" in v and "mse" in v and "contrastive" in v:  # a fit history: weight the contrastive term
            v = {"train mse": v["mse"], "α · contrastive": v["loss"] - v["mse"],
                 **{k.replace("val_", "val ").replace("r2", "R²"): a for k, a in v.items()
                    if k in ("val_mse", "val_r2")}}
        for k, arr in v.items():
            arr = np.atleast_1d(arr)
            for g, idx in self._groups(arr.size).items():
                part = arr[idx] if idx.max(initial=-1) < arr.size else arr
                finite = part[np.isfinite(part)]
                out[f"{k} | {g}" if g else k] = float(finite.mean()) if finite.size else float("nan")
        return out

    def update(self, epoch: float, metrics: Mapping[str, Any]) -> None:
        """Record one epoch's metrics (numbers, 0-d tensors or (M,) per member) and redraw."""
        values = {}
        for k, v in dict(metrics).items():
            try:
                values[str(k)] = np.asarray(v.detach().cpu() if isinstance(v, torch.Tensor) else v, dtype=float)
            except (TypeError, ValueError):
                raise ValueError(f"metrics must map names to numbers (or one per member); got {k!r}: "
                                 f"{describe(v)}") from None
        series = self._series(values)
        new_names = [k for k in series if k not in self.history]
        for k in new_names:
            self.history[k] = [float("nan")] * len(self.epochs)
        self.epochs.append(float(epoch))
        for k in self.history:
            self.history[k].append(series.get(k, float("nan")))
        if new_names:  # the set of curves changed: new traces and panels, in one batch
            fresh = self._figure().update_layout(autosize=True)  # the container sets the width
            with self.figure.batch_update():
                self.figure.data = ()
                self.figure.add_traces(list(fresh.data))
                self.figure.layout = fresh.layout
        elif len(self.epochs) % self.every == 0:
            self.redraw()
        now = time.perf_counter()
        elapsed = now - self.started
        if len(self.epochs) == 1:
            self._first_epoch_at = now
        of = f" of {self.total_epochs}" if self.total_epochs else ""
        eta = ""
        if self.total_epochs and 1 < len(self.epochs) < self.total_epochs:  # the pace after the first epoch
            pace = (now - self._first_epoch_at) / (len(self.epochs) - 1)
            eta = f", about {pace * (self.total_epochs - len(self.epochs)):.0f} s left"
        shown = ", ".join(f"{k} {v:.4g}" for k, v in series.items() if "R²" in k or k.startswith("val"))
        self.status.value = f"<small>epoch {epoch:g}{of} ({elapsed:.0f} s{eta}){': ' + shown if shown else ''}</small>"

    __call__ = update

    @classmethod
    def from_history(cls, history: Mapping[str, Any], **kwargs: Any) -> TrainingMonitor:
        """A monitor showing a recorded history: name -> values per epoch, (epochs,) or
        (M, epochs) per member (e.g. ``hsaug.training.FitResult.history``)."""
        mon = cls(**kwargs)
        arrays = {k: np.atleast_2d(np.asarray(v, dtype=float)) for k, v in history.items()}
        n = max((a.shape[1] for a in arrays.values()), default=0)
        for epoch in range(n):
            mon.update(epoch + 1, {k: a[:, epoch] for k, a in arrays.items() if epoch < a.shape[1]})
        return mon

    def static_figure(self) -> go.Figure:
        """The curves so far as a static figure (papermill runs, ``interactive = False``)."""
        return self._figure()

    def _figure(self) -> go.Figure:
        panels: dict[str, dict[str, list[float]]] = {}
        for k, v in self.history.items():
            panels.setdefault(_panel(k.split(" | ")[0]), {})[k] = v
        return viz.curves_figure({p: panels[p] for p in _PANELS if p in panels}, epochs=self.epochs,
                                 title=self.title, log_loss=self.log_loss)

    def redraw(self) -> None:
        """Replace every curve's data in one batch update."""
        with self.figure.batch_update():
            for trace in self.figure.data:
                trace.x, trace.y = self.epochs, self.history[trace.name]


def train(dataset: Any, configs: Sequence[Any], *, monitor: TrainingMonitor | None = None, **fit_args: Any
          ) -> Any:
    """:func:`hsaug.training.fit` with a live ``monitor``; an interrupt (the stop button,
    Ctrl-C) stops it without a traceback and keeps the finished epochs.

    Returns the ``FitResult``, or after an interrupt an ``xarray.Dataset`` of the finished
    epochs' curves (one per configuration, from the monitor; no test metrics: the test set
    is read only at the end of a full run), with ``attrs["interrupted"] = 1``.
    """
    from . import training

    try:
        return training.fit(dataset, configs=list(configs), callback=monitor, **fit_args)
    except KeyboardInterrupt:
        if monitor is None or not monitor.epochs:
            print("interrupted before the first epoch finished: nothing to keep")
            return None
        print(f"interrupted after {len(monitor.epochs)} epoch(s): the curves of the finished epochs are kept "
              "(no test metrics: they need a full run)")
        data = {k.replace(" | ", "-").replace("·", "").replace(" ", "_"): ("epoch", np.asarray(v)) for k, v in monitor.history.items()}
        return xr.Dataset(data, coords={"epoch": np.asarray(monitor.epochs)}, attrs={"interrupted": 1})
