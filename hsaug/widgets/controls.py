"""Controls shared by every explorer: one widget per parameter spec, the layout of a control
column beside a figure, cosine sliders with their angle, help text, and the rule that
several slider moves redraw a view once.

* :func:`param_slider`, :func:`param_control`, :func:`slider_span` — a slider (or a text box
  for a seed) from a :class:`~hsaug.params.Param`: label [unit], span, step, tooltip;
* :func:`css_row`, :func:`controls_box`, :func:`figure_box` — controls (fixed column) beside a
  figure that takes the rest of the width and wraps below when narrow;
* :class:`SliderView` — ``values()``, a held redraw, the slider observer.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping, Sequence

import ipywidgets as W

from ..augment import preview
from ..params import Param

__all__ = [
    "TEXT_BOX_ABOVE", "CONTROLS_WIDTH", "DESC", "FULL", "css_row", "figure_box", "controls_box", "slider_span",
    "param_slider", "param_control", "widen", "cosine_row", "show_angles", "help_html", "SliderView",
]

#: Integer parameters with more whole values than this get a text box, not a slider.
TEXT_BOX_ABOVE = 1000
CONTROLS_WIDTH = "340px"  # the control column; the figure takes the rest and wraps below when narrow
DESC = {"description_width": "92px"}
#: Full width; one Layout shared by the widgets that use it.
FULL = W.Layout(width="100%")


# -- layout: a control column beside a figure ------------------------------------------------
def css_row(children: Sequence[W.Widget]) -> W.Box:
    """Controls (fixed column) beside a figure box that grows; wraps when there is no room."""
    return W.Box(list(children), layout=W.Layout(display="flex", flex_flow="row wrap", align_items="flex-start",
                                                 width="100%", grid_gap="8px"))


def figure_box(figure: W.Widget, min_width: str = "420px") -> W.VBox:
    """The figure's box: takes the width the controls leave, at least ``min_width``."""
    return W.VBox([figure], layout=W.Layout(flex="1 1 0%", min_width=min_width, width="auto"))


def controls_box(children: Sequence[W.Widget]) -> W.VBox:
    """The control column, :data:`CONTROLS_WIDTH` wide (at most the container)."""
    return W.VBox(list(children), layout=W.Layout(flex=f"0 0 {CONTROLS_WIDTH}", width=CONTROLS_WIDTH,
                                                  max_width="100%"))


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
                  style=DESC, layout=W.Layout(width="100%"))
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
                                tooltip=p.doc, continuous_update=False, style=DESC, layout=W.Layout(width="100%"))
    return param_slider(p, value, continuous=continuous, full=full)


def widen(control: W.ValueWidget, value: float, p: Param) -> None:
    """Let a slider show ``value`` (inside the spec's [low, high]) by widening its span."""
    if isinstance(control, (W.FloatSlider, W.IntSlider)):
        if value < control.min:
            control.min = max(p.low, value)
        if value > control.max:
            control.max = min(p.high, value)


def cosine_row(slider: W.ValueWidget) -> tuple[W.HBox, W.HTML]:
    """A cosine's slider with a note beside it for its angle (fill it with :func:`show_angles`)."""
    slider.layout.width = "calc(100% - 66px)"
    note = W.HTML(layout=W.Layout(width="62px"))
    return W.HBox([slider, note], layout=FULL), note


def show_angles(notes: Mapping[str, W.HTML], values: Mapping[str, float]) -> None:
    """Write θ = arccos(value) [deg] into each cosine's note."""
    for name, note in notes.items():
        note.value = f"<small>θ = {preview.angle_deg(values[name]):.1f}°</small>"


def help_html(lines: Sequence[str]) -> str:
    """Help under the controls: ``lines`` (HTML) in small grey type, one per line."""
    return "<div style='font-size:11px;line-height:1.35;color:#444'>" + "<br>".join(lines) + "</div>"


class SliderView:
    """Mixin for a view with ``sliders`` (name -> control) whose changes call ``redraw()``:
    observe each with :meth:`_on_slider`; moves made inside :meth:`_held` do not redraw, so
    :meth:`set` moves several sliders and redraws once."""

    sliders: dict[str, W.ValueWidget]
    _hold = False

    def values(self) -> dict[str, float]:
        """Current slider values, by name."""
        return {k: float(s.value) for k, s in self.sliders.items()}

    def set(self, **values: float) -> None:
        """Move sliders (by name) and redraw once."""
        unknown = set(values) - set(self.sliders)
        if unknown:
            raise ValueError(f"unknown slider(s) {sorted(unknown)}; sliders: {list(self.sliders)}")
        with self._held():
            for k, v in values.items():
                self.sliders[k].value = float(v)
        self.redraw()

    @contextlib.contextmanager
    def _held(self) -> Iterator[None]:
        hold, self._hold = self._hold, True
        try:
            yield
        finally:
            self._hold = hold

    def _on_slider(self, change: Mapping) -> None:
        if not self._hold:
            self.redraw()
