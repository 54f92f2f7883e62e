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

One module per idea: :mod:`~hsaug.widgets.controls` (controls from specs, the control
column's layout), :mod:`~hsaug.widgets.figure` (:class:`LiveFigure`, :class:`Resizer`),
:mod:`~hsaug.widgets.picker` (:class:`SpectrumPicker`), :mod:`~hsaug.widgets.explorer`,
:mod:`~hsaug.widgets.gallery`, :mod:`~hsaug.widgets.illumination`,
:mod:`~hsaug.widgets.loss` and :mod:`~hsaug.widgets.monitor`; figures come from
:mod:`hsaug.viz`.
"""

from __future__ import annotations

from ..sources import SOURCES, load_source
from .controls import CONTROLS_WIDTH, TEXT_BOX_ABOVE, param_control, param_slider, slider_span  # constants: as before
from .explorer import LIVE_LIMIT_S, AugmentationExplorer, explore
from .figure import LiveFigure, Resizer
from .gallery import AugmentationGallery
from .illumination import IlluminationExplorer
from .loss import LOSS_NOTES, LossExplorer, anchor_weights, pair_roles
from .monitor import TrainingMonitor, train
from .picker import SpectrumPicker

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
