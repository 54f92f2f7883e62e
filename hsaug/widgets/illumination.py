"""The illumination explorer: clear-sky E_sun and E_sky (eq. 5) as sun, water vapour,
aerosol and ozone change, and what they do to a spectrum."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as W
import numpy as np
import torch
import xarray as xr

from .. import augment, viz
from ..augment import preview
from ..params import Param
from .controls import (FULL, SliderView, controls_box, cosine_row, css_row, figure_box, help_html,
                       param_slider, show_angles)
from .figure import Resizer, live_figure
from .picker import SpectrumPicker

__all__ = ["IlluminationExplorer"]

_SKY_SLIDERS = {  # clear-sky setting -> (label, step, role); ranges from hsaug.illumination.CLEAR_SKY_LIMITS
    "zenith": ("sun zenith", 1.0, "sun's angle from the vertical; sets cos θz in the radiance"),
    "precipitable_water": ("water vapour", 0.1, "deepens the 940, 1140, 1400 and 1900 nm bands of E_sun"),
    "aerosol_turbidity": ("aerosol AOD₅₀₀", 0.01, "haze: less direct E_sun, more diffuse E_sky"),
    "ozone": ("ozone", 0.01, "absorbs below ~350 nm and near 600 nm (Chappuis band)"),
}


class IlluminationExplorer(SliderView, W.VBox):
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
        from ..illumination import CLEAR_SKY_LIMITS

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
            self.sliders[p.name] = s
            row, self.notes[p.name] = cosine_row(s)
            rows.append(row)
            roles.append(f"<b>{p.label}</b>: {html.escape(preview.role(atmos, p))}")
        self._start = {k: s.value for k, s in self.sliders.items()}
        self.reset_button = W.Button(description="reset", icon="undo", layout=W.Layout(width="auto"))
        self.status = W.HTML(layout=FULL)
        self.help = W.HTML(help_html(["eq. 5: x̃ = x (E_sun μ1 + E_sky) / (E_sun μ2 + E_sky)", *roles]), layout=FULL)
        wl, e_sun, e_sky, x, adjusted, radiance = self._compute()
        fig = viz.illumination_figure(wl, e_sun, e_sky, x, adjusted, radiance=radiance)
        fig.update_layout(height=720)
        self.figure = live_figure(fig)
        self.redraw()
        controls = controls_box(rows + [self.reset_button, self.status, self.help])
        super().__init__([self.picker, css_row([controls, figure_box(self.figure)]), Resizer()], layout=FULL)
        self.add_class("hsaug-illumination")
        for sl in self.sliders.values():
            sl.observe(self._on_slider, names="value")
        self.picker.on_change(self.redraw)
        self.reset_button.on_click(lambda _: self.set(**self._start))

    def illumination(self) -> xr.Dataset:
        """The current clear-sky ``e_sun`` and ``e_sky`` on the spectrum's grid."""
        from ..illumination import clear_sky

        v = self.values()
        return clear_sky(self.picker.wavelength, **{k: v[k] for k in _SKY_SLIDERS})

    def _compute(self) -> tuple[np.ndarray, ...]:
        """(wavelength, e_sun, e_sky, spectrum, adjusted, radiance) for the current sliders."""
        from ..illumination import Illumination, surface_radiance

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
        show_angles(self.notes, v)
        self.status.value = (f"<small>broadband direct {np.trapezoid(e_sun, wl):.0f}, diffuse "
                             f"{np.trapezoid(e_sky, wl):.0f} W m⁻² over {wl[0]:.0f}–{wl[-1]:.0f} nm</small>")
