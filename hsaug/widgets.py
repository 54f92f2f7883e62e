"""Interactive explorers for notebooks: ipywidgets controls around plotly ``FigureWidget``s.

* :class:`AugmentationExplorer` — pick a spectrum (synthetic scene pixel, USGS library
  spectrum, soil spectrum) and an augmentation; one slider per parameter, generated from
  its :class:`~hsaug.augment.Param` spec (label and unit, range, step), one dropdown per
  option; the augmented curve is redrawn live. "random draw" samples parameters and moves
  the sliders to them.
* :class:`AugmentationGallery` — every augmentation side by side (the paper's Fig. 2).

Each explorer is an ``ipywidgets.VBox``: display it, or drive it from Python
(``explorer.set(delta=5.0)``, ``explorer.random_draw()``, ``explorer.figure``) — the
figure's data are updated in-process, so tests and benchmarks need no browser.
Figures come from :mod:`hsaug.viz`; plotly ≥ 6 needs ``anywidget`` for ``FigureWidget``.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go
import torch
import xarray as xr

from . import augment, viz
from .augment.base import Augmentation, Param
from .spectra import _describe, as_spectra, check_wavelength, sensor_grid

__all__ = [
    "SOURCES",
    "load_source",
    "SpectrumPicker",
    "AugmentationExplorer",
    "AugmentationGallery",
    "param_slider",
]

#: Named spectrum sources offered by the pickers.
SOURCES = ("synthetic", "usgs", "soil")
#: A redraw slower than this [s] makes sliders update on release instead of while dragging.
LIVE_LIMIT_S = 0.04
_CONTROL_WIDTH = "380px"
_DESC = {"description_width": "110px"}


# -- spectrum sources -----------------------------------------------------------------
def _labelled(spectra: xr.DataArray, labels: Any, source: str) -> xr.DataArray:
    da = spectra.assign_coords(label=("sample", [str(s) for s in labels]))
    da.attrs = dict(spectra.attrs, hsaug_source=source)
    return da


@functools.lru_cache(maxsize=8)
def _load_named(source: str, limit: int, seed: int) -> xr.DataArray:
    if source == "usgs":
        from .library import usgs_spectra

        da = usgs_spectra(sensor_grid(224))
        return _labelled(da, da["name"].values, source)
    if source == "synthetic":
        from .synthetic import make_scene

        cols = min(25, limit)
        ds = make_scene("paper", n_rows=math.ceil(limit / cols), n_cols=cols, seed=seed)
        da = ds["spectra"].isel(sample=slice(0, limit))
        return _labelled(da, [f"pixel (y={y}, x={x})" for y, x in zip(da["y"].values, da["x"].values)], source)
    if source == "soil":
        from .datasets import load_soil

        ds = load_soil()
        da = ds["spectra"].isel(sample=slice(0, limit))
        return _labelled(da, [f"soil {i}" for i in range(da.sizes["sample"])], source)
    raise ValueError(f"source must be one of {list(SOURCES)} or spectra (a DataArray/Dataset); got {source!r}")


def load_source(source: str | xr.DataArray | xr.Dataset, *, limit: int = 500, seed: int = 0) -> xr.DataArray:
    """Spectra (sample, wavelength) [nm] with a string ``label`` coordinate for pickers.

    ``source`` is a name from :data:`SOURCES` — ``"synthetic"`` (pixels of a seeded
    synthetic scene), ``"usgs"`` (measured USGS splib07 spectra on a 224-band grid),
    ``"soil"`` (bundled soil spectra) — or a DataArray (sample, wavelength) / Dataset with
    ``spectra``. At most ``limit`` spectra are kept (they are also the reference set of
    augmentations that need one, e.g. nearest neighbour). Named sources are cached.
    """
    if isinstance(source, xr.Dataset):
        if "spectra" not in source:
            raise ValueError(f"source Dataset must hold 'spectra'; got variables {sorted(source.data_vars)}")
        source = source["spectra"]
    if isinstance(source, xr.DataArray):
        as_spectra(source, name="source")
        check_wavelength(source["wavelength"].values, name="source wavelength")
        da = source.isel(sample=slice(0, limit))
        if "label" in da.coords:
            return da
        labels = da["name"].values if "name" in da.coords else [f"spectrum {i}" for i in range(da.sizes["sample"])]
        return _labelled(da, labels, "custom")
    if not isinstance(source, str):
        raise ValueError(f"source must be one of {list(SOURCES)} or spectra (a DataArray/Dataset); got {_describe(source)}")
    if limit < 1:
        raise ValueError(f"limit must be a positive number of spectra; got {limit}")
    return _load_named(source, int(limit), int(seed))


# -- controls from specs ---------------------------------------------------------------
def _decimals(step: float) -> int:
    return int(min(4, max(0, -math.floor(math.log10(step) + 1e-9)))) if step > 0 else 2


def param_slider(p: Param, value: float | None = None, *, continuous: bool = True) -> W.ValueWidget:
    """An ipywidgets slider for a parameter spec: description ``p.display`` (label [unit]),
    range [low, high], step ``p.slider_step``, tooltip ``p.doc``; IntSlider for integers."""
    v = p.default if value is None else value
    common = dict(description=p.display, tooltip=p.doc or p.display, continuous_update=continuous,
                  style=_DESC, layout=W.Layout(width=_CONTROL_WIDTH))
    if p.integer:
        return W.IntSlider(value=int(round(v)), min=int(math.ceil(p.low)), max=int(math.floor(p.high)),
                           step=max(1, int(round(p.slider_step))), **common)
    step = float(p.slider_step)
    return W.FloatSlider(value=float(v), min=float(p.low), max=float(p.high), step=step,
                         readout_format=f".{_decimals(step)}f", **common)


class SpectrumPicker(W.HBox):
    """Two dropdowns: the source (``SOURCES`` or given spectra) and one spectrum in it.

    ``spectra`` is the loaded DataArray (sample, wavelength), ``index`` the chosen row,
    ``spectrum`` (B,) and ``wavelength`` (B,) [nm] its values; ``on_change(fn)`` calls
    ``fn()`` after either dropdown changes.
    """

    max_listed = 60

    def __init__(self, source: Any = "usgs", sample: int | str = 0, *, limit: int = 500, seed: int = 0) -> None:
        self._limit, self._seed = limit, seed
        self._callbacks: list[Callable[[], None]] = []
        self._custom = None if isinstance(source, str) else load_source(source, limit=limit, seed=seed)
        names = (["custom"] if self._custom is not None else []) + list(SOURCES)
        self.source = W.Dropdown(options=names, value="custom" if self._custom is not None else source,
                                 description="source", style={"description_width": "50px"},
                                 layout=W.Layout(width="200px"))
        if self._custom is None and source not in SOURCES:
            raise ValueError(f"source must be one of {list(SOURCES)} or spectra; got {source!r}")
        self.sample = W.Dropdown(description="spectrum", style={"description_width": "60px"},
                                 layout=W.Layout(width="420px"))
        self.spectra = self._load()
        self._fill(sample)
        super().__init__([self.source, self.sample])
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


class AugmentationExplorer(W.VBox):
    """Original vs augmented spectrum with one slider per augmentation parameter.

    ``source``: a name from :data:`SOURCES` or spectra (DataArray/Dataset); ``sample``: the
    row (or label) of the spectrum shown first; ``augmentation``: a registered name;
    ``options``: initial option values (e.g. ``{"n_kernels": 2}``); ``seed`` seeds the
    random draws; ``live``: sliders redraw while dragging (None: when a redraw is fast).

    Drive it in-process: ``set(**values)`` moves sliders and redraws once,
    ``random_draw()`` samples and moves the sliders, ``values()`` reads them,
    ``augmented()`` is the plotted augmented curve, ``figure`` the ``FigureWidget``.
    """

    def __init__(
        self, source: Any = "usgs", augmentation: str = "shift", *, sample: int | str = 0,
        options: Mapping[str, Any] | None = None, seed: int = 0, live: bool | None = None, limit: int = 500,
    ) -> None:
        if augmentation not in augment.names():
            raise ValueError(f"augmentation must be one of {augment.names()}; got {augmentation!r}")
        self._generator = torch.Generator().manual_seed(int(seed))
        self._live = live
        self._hold = False
        self.redraw_seconds = 0.0
        self.picker = SpectrumPicker(source, sample, limit=limit, seed=seed)
        self.chooser = W.Dropdown(options=augment.names(), value=augmentation, description="augmentation",
                                  style=_DESC, layout=W.Layout(width=_CONTROL_WIDTH))
        self.random_button = W.Button(description="random draw", icon="random", button_style="primary",
                                      tooltip="sample parameters from the augmentation's random ranges",
                                      layout=W.Layout(width="150px"))
        self.reset_button = W.Button(description="reset", icon="undo", tooltip="neutral parameters (identity)",
                                     layout=W.Layout(width="100px"))
        self.status = W.HTML(layout=W.Layout(width=_CONTROL_WIDTH))
        self.option_box = W.VBox()
        self.slider_box = W.VBox()
        self.sliders: dict[str, W.ValueWidget] = {}
        self.options: dict[str, W.Dropdown] = {}
        self._x = self._wl = None
        self.augmentation: Augmentation | None = None
        self.figure = go.FigureWidget(viz.spectrum_figure(self.picker.wavelength, self.picker.spectrum))
        self.figure.update_layout(height=460, width=720, margin=dict(l=60, r=20, t=70, b=50))
        self._spectrum_changed(redraw=False)
        self._build(augmentation, dict(options or {}))
        controls = W.VBox(
            [self.chooser, self.option_box, self.slider_box, W.HBox([self.random_button, self.reset_button]),
             self.status],
            layout=W.Layout(width="400px", min_width="400px"),
        )
        super().__init__([self.picker, W.HBox([controls, self.figure])])
        self.picker.on_change(self._spectrum_changed)
        self.chooser.observe(lambda ch: self._build(ch["new"], {}), names="value")
        self.random_button.on_click(lambda _: self.random_draw())
        self.reset_button.on_click(lambda _: self.reset())

    # -- building --------------------------------------------------------------------
    def _spectrum_changed(self, redraw: bool = True) -> None:
        self._x = torch.as_tensor(self.picker.spectrum)[None, :]
        self._wl = check_wavelength(self.picker.wavelength)
        wl = self.picker.wavelength
        if self.augmentation is not None and callable(getattr(self.augmentation, "fit", None)):
            self.augmentation.fit(as_spectra(self.picker.spectra))
        with self.figure.batch_update():
            self.figure.data[0].x, self.figure.data[0].y = wl, self.picker.spectrum
            self.figure.data[1].x = wl
        if redraw:
            self.redraw()

    def _build(self, name: str, option_values: dict[str, Any]) -> None:
        """(Re)create the augmentation, its option dropdowns and sliders; keep shared values."""
        old = {k: s.value for k, s in self.sliders.items()} if self.augmentation is not None and \
            self.augmentation.name == name else {}
        aug = viz.prepare(name, self.picker.spectra, **option_values)
        self.augmentation = aug
        if not option_values or set(self.options) != {o.name for o in aug.options}:
            self.options = {}
            for o in aug.options:
                dd = W.Dropdown(options=list(o.choices), value=aug.option_values[o.name], description=o.name,
                                tooltip=o.doc, style=_DESC, layout=W.Layout(width=_CONTROL_WIDTH))
                dd.observe(self._on_option, names="value")
                self.options[o.name] = dd
            self.option_box.children = tuple(self.options.values())
        live = self._live if self._live is not None else self._time_redraw(aug) <= LIVE_LIMIT_S
        self.sliders = {}
        for p in aug.params:
            s = param_slider(p, old.get(p.name), continuous=live)
            s.observe(self._on_slider, names="value")
            self.sliders[p.name] = s
        self.slider_box.children = tuple(self.sliders.values())
        self.status.value = "" if live else "<small>slow to compute: redraws when a slider is released</small>"
        self.redraw()

    def _time_redraw(self, aug: Augmentation) -> float:
        t = time.perf_counter()
        aug.apply(self._x, self._wl, index=self._index(), **aug.neutral())
        return time.perf_counter() - t

    def _on_option(self, change: Mapping) -> None:
        self._build(self.chooser.value, {k: dd.value for k, dd in self.options.items()})

    def _on_slider(self, change: Mapping) -> None:
        if not self._hold:
            self.redraw()

    def _index(self) -> torch.Tensor:
        return torch.tensor([self.picker.index])

    # -- public ------------------------------------------------------------------------
    def values(self) -> dict[str, float]:
        """Current slider values, by parameter name."""
        return {k: float(s.value) for k, s in self.sliders.items()}

    def augmented(self) -> np.ndarray:
        """The augmented curve currently plotted (B,)."""
        return np.asarray(self.figure.data[1].y, dtype=float)

    def compute(self) -> np.ndarray:
        """The augmentation's output (B,) for the current spectrum and slider values."""
        out = self.augmentation.apply(self._x, self._wl, index=self._index(), **self.values())
        return out[0].numpy()

    def redraw(self) -> None:
        """Recompute the augmented spectrum and replace the figure's trace (one batch update)."""
        t = time.perf_counter()
        try:
            y = self.compute()
        except ValueError as err:  # e.g. a parameter combination the augmentation rejects
            self.status.value = f"<span style='color:#b00'>{err}</span>"
            return
        title = f"{self.augmentation.name.replace('_', ' ')} — {self.picker.label}"
        with self.figure.batch_update():
            self.figure.data[1].y = y
            self.figure.layout.title.text = title
        self.redraw_seconds = time.perf_counter() - t

    def set(self, **values: float) -> None:
        """Move sliders to ``values`` (parameter name -> value) and redraw once."""
        unknown = set(values) - set(self.sliders)
        if unknown:
            raise ValueError(f"{self.augmentation.name} has no parameter(s) {sorted(unknown)}; "
                             f"sliders: {list(self.sliders)}")
        self._hold = True
        try:
            for k, v in values.items():
                self.sliders[k].value = int(round(v)) if isinstance(self.sliders[k], W.IntSlider) else float(v)
        finally:
            self._hold = False
        self.redraw()

    def random_draw(self) -> dict[str, float]:
        """Sample parameters from the augmentation's random ranges, move the sliders there."""
        drawn = viz.draw_params(self.augmentation, self._generator, self._wl)
        self.set(**drawn)
        return self.values()

    def reset(self) -> None:
        """Neutral parameters: the augmented curve equals the original."""
        self.set(**self.augmentation.neutral())

    def select(self, augmentation: str | None = None, *, source: str | None = None,
               sample: int | None = None) -> None:
        """Switch augmentation, source or spectrum as the dropdowns would."""
        if source is not None:
            self.picker.source.value = source
        if sample is not None:
            self.picker.sample.value = int(sample)
        if augmentation is not None:
            self.chooser.value = augmentation


class AugmentationGallery(W.VBox):
    """Every augmentation side by side on one spectrum (the paper's Fig. 2), one random
    draw each; "random draw" redraws them all. ``augmentations`` defaults to all names."""

    def __init__(self, source: Any = "usgs", *, sample: int | str = 0, augmentations: list[str] | None = None,
                 seed: int = 0, cols: int = 4, limit: int = 500) -> None:
        self.names = list(augmentations) if augmentations is not None else augment.names()
        self._generator = torch.Generator().manual_seed(int(seed))
        self._cols = cols
        self.picker = SpectrumPicker(source, sample, limit=limit, seed=seed)
        self.random_button = W.Button(description="random draw", icon="random", button_style="primary",
                                      layout=W.Layout(width="150px"))
        self.augmentations = [viz.prepare(n, self.picker.spectra) for n in self.names]
        self.params: dict[str, dict[str, float]] = {}
        self.figure = go.FigureWidget(self._figure())
        super().__init__([W.HBox([self.picker, self.random_button]), self.figure])
        self.picker.on_change(self._on_spectrum)
        self.random_button.on_click(lambda _: self.random_draw())

    def _figure(self) -> go.Figure:
        wl = self.picker.wavelength
        self.params = {a.name: viz.draw_params(a, self._generator, wl) for a in self.augmentations}
        return viz.gallery_figure(self.picker.spectrum, wl, self.augmentations, params=self.params,
                                  index=self.picker.index, cols=self._cols)

    def _on_spectrum(self) -> None:
        for a in self.augmentations:
            if callable(getattr(a, "fit", None)):
                a.fit(as_spectra(self.picker.spectra))
        self.random_draw()

    def random_draw(self) -> None:
        """New parameters for every panel; the traces are replaced in one batch update."""
        new = self._figure()
        with self.figure.batch_update():
            for old, fresh in zip(self.figure.data, new.data):
                old.x, old.y = fresh.x, fresh.y
