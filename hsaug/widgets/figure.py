"""Figure plumbing shared by every explorer: a plotly figure widget whose synced state
follows each update (:class:`LiveFigure`, so a reload, a second view and Voilà show what the
kernel holds) and an invisible :class:`Resizer` that keeps figures as wide as their box."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator

import anywidget
import plotly.graph_objects as go

__all__ = ["Resizer", "LiveFigure", "live_figure"]


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


def live_figure(fig: go.Figure) -> LiveFigure:
    """A LiveFigure of a finished figure: autosized width, responsive, the modebar's PNG at
    twice the resolution as ``hsaug-figure.png``."""
    fig.update_layout(autosize=True, width=None)
    widget = LiveFigure(fig)
    widget._config = {"responsive": True, "displaylogo": False,
                      "toImageButtonOptions": {"format": "png", "scale": 2, "filename": "hsaug-figure"}}
    return widget
