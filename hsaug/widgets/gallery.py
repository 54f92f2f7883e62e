"""The gallery: every augmentation side by side on one spectrum (the paper's Fig. 2)."""

from __future__ import annotations

from typing import Any

import ipywidgets as W
import plotly.graph_objects as go
import torch

from .. import augment, viz
from ..augment import preview
from ..spectra import as_spectra
from .controls import FULL
from .figure import Resizer, live_figure
from .picker import SpectrumPicker

__all__ = ["AugmentationGallery"]


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
        self.figure = live_figure(self._figure())
        note = W.HTML("<small>spectrum: chosen in the explorer above</small>") if self._shared else self.picker
        bar = W.Box([self.seed, self.random_button, self.paper_button, self.reset_button],
                    layout=W.Layout(display="flex", flex_flow="row wrap"))
        super().__init__([W.Box([note, bar], layout=W.Layout(display="flex", flex_flow="row wrap", width="100%")),
                          self.figure, Resizer()], layout=FULL)
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
        return {a.name: preview.paper_setting(a) for a in self.augmentations}

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
