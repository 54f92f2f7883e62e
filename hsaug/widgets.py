"""Interactive explorers for notebooks: ipywidgets controls around plotly ``FigureWidget``s.

* :class:`AugmentationExplorer` — pick a spectrum (synthetic scene pixel, USGS library
  spectrum, soil spectrum) and an augmentation; one slider per parameter, generated from
  its :class:`~hsaug.augment.Param` spec (label and unit, range, step), one dropdown per
  option; the augmented curve is redrawn live. "random draw" samples parameters and moves
  the sliders to them.
* :class:`AugmentationGallery` — every augmentation side by side (the paper's Fig. 2).
* :class:`IlluminationExplorer` — clear-sky E_sun / E_sky (eq. 5) as the sun zenith, water
  vapour, aerosol and ozone change, and what they do to a spectrum.
* :class:`LossExplorer` — teaching view of the ball contrastive loss (eqs. 7–8): radius r
  and temperature τ against the positives, the similarity matrix and the loss value.
* :class:`TrainingMonitor` — live training curves; ``update(epoch, metrics)`` is a callback.

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
from .spectra import as_spectra, check_wavelength, describe as _describe, sensor_grid

__all__ = [
    "SOURCES",
    "load_source",
    "SpectrumPicker",
    "AugmentationExplorer",
    "AugmentationGallery",
    "param_slider",
    "explore",
    "IlluminationExplorer",
    "LossExplorer",
    "TrainingMonitor",
]

#: Named spectrum sources offered by the pickers.
SOURCES = ("synthetic", "usgs", "soil")
#: A redraw slower than this [s] makes sliders update on release instead of while dragging.
LIVE_LIMIT_S = 0.04
_CONTROL_WIDTH = "360px"
_DESC = {"description_width": "100px"}
FIGURE_SIZE = (660, 440)  # explorer figure width, height [px]


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

        ds = load_soil().isel(sample=slice(0, limit))
        out = str(ds["output"].values[0])
        labels = [f"soil {i} ({out} {v:g})" for i, v in enumerate(ds["target"].values[:, 0])]
        return _labelled(ds["spectra"], labels, source)
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
        self.sample = W.Dropdown(description="spectrum", style={"description_width": "70px"},
                                 layout=W.Layout(width="460px"))
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
        self.figure.update_layout(width=FIGURE_SIZE[0], height=FIGURE_SIZE[1], margin=dict(l=60, r=20, t=70, b=50))
        self._spectrum_changed(redraw=False)
        self._build(augmentation, dict(options or {}))
        controls = W.VBox(
            [self.chooser, self.option_box, self.slider_box, W.HBox([self.random_button, self.reset_button]),
             self.status],
            layout=W.Layout(width="370px", min_width="370px"),
        )
        super().__init__([self.picker, W.HBox([controls, self.figure])])
        self.add_class("hsaug-explorer")
        self.layout.width = "fit-content"
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
        self.add_class("hsaug-gallery")
        self.layout.width = "fit-content"
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


def explore(
    source: Any = "usgs", augmentation: str = "shift", *, sample: int | str = 0, seed: int = 0,
    interactive: bool = True,
) -> list[Any]:
    """What notebook 01 displays: the explorer and the gallery (``interactive``), or the same
    two views as static figures — one seeded random draw of ``augmentation`` on the chosen
    spectrum, and every augmentation side by side."""
    if interactive:
        return [AugmentationExplorer(source, augmentation, sample=sample, seed=seed),
                AugmentationGallery(source, sample=sample, seed=seed)]
    if augmentation not in augment.names():
        raise ValueError(f"augmentation must be one of {augment.names()}; got {augmentation!r}")
    picker = SpectrumPicker(source, sample, seed=seed)
    aug = viz.prepare(augmentation, picker.spectra)
    params = viz.draw_params(aug, seed, picker.wavelength)
    return [
        viz.augmentation_figure(aug, picker.spectrum, picker.wavelength, params, index=picker.index,
                                title=f"{aug.name}: {viz.format_params(aug, params)} — {picker.label}"),
        viz.gallery_figure(picker.spectrum, picker.wavelength, reference=picker.spectra, index=picker.index,
                           seed=seed, title=f"all augmentations — {picker.label}"),
    ]


# -- illumination ---------------------------------------------------------------------
_SKY_SLIDERS = {  # clear-sky setting -> (label, step); ranges from hsaug.illumination.CLEAR_SKY_LIMITS
    "zenith": ("sun zenith", 1.0),
    "precipitable_water": ("water vapour", 0.1),
    "aerosol_turbidity": ("aerosol AOD₅₀₀", 0.01),
    "ozone": ("ozone", 0.01),
}


class IlluminationExplorer(W.VBox):
    """E_sun and E_sky from the clear-sky model and their effect on a spectrum.

    Sliders: sun zenith [deg], precipitable water vapour [cm], aerosol optical depth at
    500 nm, ozone [atm-cm] (SPECTRL2, :func:`hsaug.illumination.clear_sky`), and the
    cosines μ1 (pixel) and μ2 (calibration panel) of the atmospheric augmentation. Rows:
    the two irradiances; the radiance the chosen surface reflects on flat ground,
    x (E_sun cos θz + E_sky) / π; the reflectance and its eq. (5) version
    x (E_sun μ1 + E_sky) / (E_sun μ2 + E_sky).
    """

    def __init__(self, source: Any = "usgs", *, sample: int | str = 0, mu1: float = 0.5, mu2: float = 1.0,
                 limit: int = 500, **sky: float) -> None:
        from .illumination import CLEAR_SKY_LIMITS

        unknown = set(sky) - set(CLEAR_SKY_LIMITS)
        if unknown:
            raise ValueError(f"unknown clear-sky setting(s) {sorted(unknown)}; accepted: {sorted(CLEAR_SKY_LIMITS)}")
        self.picker = SpectrumPicker(source, sample, limit=limit)
        self.sliders: dict[str, W.ValueWidget] = {}
        defaults = {"zenith": 30.0, "precipitable_water": 1.4, "aerosol_turbidity": 0.1, "ozone": 0.3}
        for name, (label, step) in _SKY_SLIDERS.items():
            lo, hi, unit = CLEAR_SKY_LIMITS[name]
            p = Param(name, lo, hi, float(sky.get(name, defaults[name])), unit=unit, label=label, step=step)
            self.sliders[name] = param_slider(p)
        for p in augment.get("atmospheric").params:
            self.sliders[p.name] = param_slider(p, {"mu1": mu1, "mu2": mu2}[p.name])
            self.sliders[p.name].description = f"{p.display} {'pixel' if p.name == 'mu1' else 'panel'}"
        self.status = W.HTML(layout=W.Layout(width=_CONTROL_WIDTH))
        self._hold = False
        wl, e_sun, e_sky, x, adjusted, radiance = self._compute()
        self.figure = go.FigureWidget(viz.illumination_figure(wl, e_sun, e_sky, x, adjusted, radiance=radiance))
        self.figure.update_layout(width=FIGURE_SIZE[0], height=720, legend=dict(x=0.0, xanchor="left"))
        self.redraw()
        controls = W.VBox(list(self.sliders.values()) + [self.status],
                          layout=W.Layout(width="370px", min_width="370px"))
        super().__init__([self.picker, W.HBox([controls, self.figure])])
        self.add_class("hsaug-illumination")
        self.layout.width = "fit-content"
        for sl in self.sliders.values():
            sl.observe(self._on_slider, names="value")
        self.picker.on_change(self.redraw)

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

        v = self.values() if self.sliders else {}
        ill = self.illumination()
        wl, x = self.picker.wavelength, self.picker.spectrum
        e_sun, e_sky = ill["e_sun"].values, ill["e_sky"].values
        atmos = augment.get("atmospheric", illumination=Illumination(wl, e_sun, e_sky, "clear sky"))
        adjusted = atmos.apply(torch.as_tensor(x)[None], wl, mu1=v["mu1"], mu2=v["mu2"])[0].numpy()
        radiance = x * (e_sun * math.cos(math.radians(v["zenith"])) + e_sky) / math.pi
        return wl, e_sun, e_sky, x, adjusted, radiance

    def redraw(self) -> None:
        """Recompute illumination and spectra; replace the five traces in one batch update."""
        wl, e_sun, e_sky, x, adjusted, radiance = self._compute()
        with self.figure.batch_update():
            for trace, y in zip(self.figure.data, (e_sun, e_sky, radiance, x, adjusted)):
                trace.x, trace.y = wl, y
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
class LossExplorer(W.VBox):
    """The ball contrastive loss on a small labelled batch, with sliders for r and τ.

    The batch: ``spectra`` (N, B) with ``labels`` (N, s) and ``wavelength`` [nm], or by
    default ``n`` pixels of a seeded synthetic scene (labels: abundances). Features are
    the batch and one augmented view of it (``augmentation``, drawn with ``seed``), centred:
    f = [x; x̃] − mean — a stand-in for a feature extractor; pass ``features`` (2N, d) to
    use a model's. Labels are rescaled to [0, 1] per output over the batch, as training does
    (:class:`hsaug.losses.LabelScaling`), so r is in those units.

    Shows, for an anchor: every sample's label distance and the radius (the ball of eq. 7);
    the similarity matrix sim(fᵢ, fⱼ)/τ; the positive pairs; the loss value (``loss``:
    one of :func:`hsaug.losses.loss_names`, default eq. 8).
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
        self.sliders = {
            "r": W.FloatLogSlider(value=r, base=10, min=-3, max=0.5, step=0.01, description="r (ball radius)",
                                  readout_format=".3f", style=_DESC, layout=W.Layout(width=_CONTROL_WIDTH)),
            "tau": W.FloatLogSlider(value=tau, base=10, min=-2, max=1, step=0.01, description="τ (temperature)",
                                    readout_format=".3f", style=_DESC, layout=W.Layout(width=_CONTROL_WIDTH)),
        }
        self.loss_choice = W.Dropdown(options=losses.loss_names(), value=losses.check_loss_name(loss),
                                      description="loss", style=_DESC, layout=W.Layout(width=_CONTROL_WIDTH))
        self.anchor = W.Dropdown(options=[(nm, i) for i, nm in enumerate(names)], value=0, description="anchor",
                                 style=_DESC, layout=W.Layout(width=_CONTROL_WIDTH))
        self.view = W.Dropdown(options=augment.names(), value=augmentation, description="second view",
                               disabled=features is not None, style=_DESC, layout=W.Layout(width=_CONTROL_WIDTH))
        self.readout = W.HTML(layout=W.Layout(width=_CONTROL_WIDTH))
        self.features = self._features()
        self.figure = go.FigureWidget(self._figure())
        self.figure.update_layout(width=980, height=440)
        self.value = float("nan")
        self.redraw()
        controls = W.VBox([self.sliders["r"], self.sliders["tau"], self.loss_choice, self.anchor, self.view,
                           self.readout])
        super().__init__([controls, self.figure])
        self.add_class("hsaug-loss")
        self.layout.width = "fit-content"
        for w in (*self.sliders.values(), self.loss_choice, self.anchor):
            w.observe(lambda _: self.redraw(), names="value")
        self.view.observe(self._on_view, names="value")

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
            raise ValueError(f"labels must be (N, s) with N = {x.shape[0]} like spectra; got {_describe(labels)}")
        return x, y, wl

    @staticmethod
    def _check_features(features: Any, n: int) -> torch.Tensor:
        f = torch.as_tensor(np.asarray(features, dtype=np.float32))
        if f.ndim != 2 or f.shape[0] != 2 * n:
            raise ValueError(f"features must be (2N, d) = ({2 * n}, d): the batch, then its augmented view; "
                             f"got {_describe(features)}")
        return f

    def _features(self) -> torch.Tensor:
        if self._fixed_features is not None:
            return self._fixed_features
        aug = viz.prepare(self.view.value, self._x)
        gen = torch.Generator().manual_seed(self._seed)
        view = aug(self._x, self._wl, gen, index=torch.arange(self._x.shape[0]))
        f = torch.cat([self._x, view])
        return f - f.mean(dim=0)

    def _on_view(self, change: Mapping) -> None:
        self.features = self._features()
        self.redraw()

    def compute(self) -> dict[str, Any]:
        """similarity (2N, 2N), positives (2N, 2N) bool and the loss value for the controls."""
        L = self._losses
        r, tau = float(self.sliders["r"].value), float(self.sliders["tau"].value)
        n2 = self.features.shape[0]
        sim = L.similarity(self.features, tau)
        pos = L.ball_mask(self.labels, r, n2) & ~torch.eye(n2, dtype=torch.bool)
        value = float(L.contrastive_loss(self.features, self.labels, r=r, tau=tau, loss=self.loss_choice.value))
        return {"similarity": sim.numpy(), "positives": pos.numpy(), "loss": value, "r": r, "tau": tau}

    def static_figure(self) -> go.Figure:
        """The current view as a static figure (for ``interactive = False`` notebooks)."""
        return self._figure()

    def _figure(self) -> go.Figure:
        c = self.compute()
        return viz.loss_figure(self.labels.numpy(), c["similarity"], c["positives"], radius=c["r"],
                               anchor=int(self.anchor.value), loss=c["loss"])

    def redraw(self) -> None:
        """Recompute and replace the traces (distances, radius, similarity, positives) in one batch update."""
        c = self.compute()
        anchor = int(self.anchor.value)
        y = self.labels.numpy()
        y2 = np.concatenate([y, y])
        names, dist, colour = viz.loss_distances(y2, c["positives"], anchor)
        bars, line, sim, pos = self.figure.data
        with self.figure.batch_update():
            bars.x, bars.marker.color = dist, colour
            line.x, line.text = [c["r"], c["r"]], ["", f"r = {c['r']:.3g}"]
            sim.z, pos.z = c["similarity"], c["positives"].astype(float)
            self.figure.layout.title.text = f"{self.loss_choice.value} contrastive loss = {c['loss']:.4f}"
            self.figure.layout.annotations[0].text = f"‖yⱼ − y_{names[anchor]}‖ (anchor {names[anchor]})"
        self.value = c["loss"]
        n_pos = int(c["positives"].sum())
        n2 = c["positives"].shape[0]
        self.readout.value = (f"<b>{self.loss_choice.value} loss = {c['loss']:.4f}</b><br>"
                              f"<small>{n_pos} positive pairs of {n2 * (n2 - 1)} (each view with its "
                              f"original included)</small>")

    def set(self, **values: float) -> None:
        """Set ``r`` and/or ``tau`` and redraw."""
        unknown = set(values) - set(self.sliders)
        if unknown:
            raise ValueError(f"unknown slider(s) {sorted(unknown)}; sliders: {list(self.sliders)}")
        for k, v in values.items():
            self.sliders[k].value = float(v)


# -- live training curves ---------------------------------------------------------------
class TrainingMonitor(W.VBox):
    """Live training curves in a notebook: call ``update(epoch, metrics)`` after each epoch.

    ``metrics`` maps a name to a number (e.g. ``{"loss": 0.3, "val_r2": 0.71}``) or to one
    value per ensemble member (M,), plotted as the member mean; losses share the left
    panel, the rest the right one. The monitor is callable (``monitor(epoch, metrics)``),
    so it can be passed as a training callback. ``every`` redraws only each n-th epoch
    (the history is always kept). :meth:`from_history` shows a finished run's history.
    """

    def __init__(self, *, title: str = "training", log_loss: bool = False, every: int = 1) -> None:
        if every < 1:
            raise ValueError(f"every must be a positive number of epochs; got {every}")
        self.title, self.log_loss, self.every = title, log_loss, every
        self.epochs: list[float] = []
        self.history: dict[str, list[float]] = {}
        self.status = W.HTML()
        self.figure = go.FigureWidget(viz.training_figure({}, title=title))
        super().__init__([self.status, self.figure])
        self.add_class("hsaug-training")

    def update(self, epoch: float, metrics: Mapping[str, Any]) -> None:
        """Record one epoch's metrics (numbers or 0-d tensors) and redraw the curves."""
        values = {}
        for k, v in dict(metrics).items():
            try:
                arr = np.asarray(v.detach().cpu() if isinstance(v, torch.Tensor) else v, dtype=float)
            except (TypeError, ValueError):
                raise ValueError(f"metrics must map names to numbers (or one per member); got {k!r}: "
                                 f"{_describe(v)}") from None
            finite = arr[np.isfinite(arr)]
            values[str(k)] = float(finite.mean()) if finite.size else float("nan")
        new_names = [k for k in values if k not in self.history]
        for k in new_names:
            self.history[k] = [float("nan")] * len(self.epochs)
        self.epochs.append(float(epoch))
        for k in self.history:
            self.history[k].append(values.get(k, float("nan")))
        if new_names:  # the set of curves changed: a new figure with its panels
            self.figure = go.FigureWidget(self._figure())
            self.children = (self.status, self.figure)
        elif len(self.epochs) % self.every == 0:
            self.redraw()
        self.status.value = f"<small>epoch {epoch:g}: " + ", ".join(
            f"{k} {v:.4g}" for k, v in values.items()) + "</small>"

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

    def _figure(self) -> go.Figure:
        fig = viz.training_figure(self.history, epochs=self.epochs, title=self.title, log_loss=self.log_loss)
        fig.update_layout(width=FIGURE_SIZE[0] + 300)
        return fig

    def redraw(self) -> None:
        """Replace every curve's data in one batch update."""
        with self.figure.batch_update():
            for trace in self.figure.data:
                trace.x, trace.y = self.epochs, self.history[trace.name]
