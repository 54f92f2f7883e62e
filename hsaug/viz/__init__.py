"""Plotly figures: pure functions returning ``go.Figure``, used statically and by the widgets.

Every figure here is built from plain arrays (spectra (B,) or (N, B), wavelength (B,) in
nm) plus, for the augmentation figures, an :class:`~hsaug.augment.Augmentation`. The
widgets in :mod:`hsaug.widgets` wrap the same figures in a ``go.FigureWidget`` and only
replace trace data when a slider moves, so a static figure and a widget frame for the
same parameters are identical.

One module per idea: :mod:`~hsaug.viz.style` (colours, the common layout),
:mod:`~hsaug.viz.spectra` (the explorer's spectrum figure, its marks, SVG export),
:mod:`~hsaug.viz.augmentation` (one augmentation, the Fig. 2 gallery, parameters in words),
:mod:`~hsaug.viz.illumination`, :mod:`~hsaug.viz.loss` (the contrastive-loss view),
:mod:`~hsaug.viz.curves` (training curves) and :mod:`~hsaug.viz.results` (error, sweep,
comparison, robustness and training-size figures). Nothing here trains or runs experiments.
"""

from __future__ import annotations

from .augmentation import augmentation_figure, format_params, gallery_figure
from .curves import curves_figure, training_figure
from .illumination import illumination_figure
from .loss import ROLE_COLORS, loss_figure
from .results import comparison_figure, error_figure, robustness_figure, sweep_figure, training_size_figure
from .spectra import explorer_figure, spectrum_figure, to_svg, update_marks
from .style import AUGMENTED, FONT, ORIGINAL, PALETTE, SKY, SUN  # the colours stay reachable as viz.PALETTE …

__all__ = [
    "ORIGINAL",
    "AUGMENTED",
    "format_params",
    "spectrum_figure",
    "explorer_figure",
    "update_marks",
    "to_svg",
    "augmentation_figure",
    "gallery_figure",
    "illumination_figure",
    "loss_figure",
    "training_figure",
    "curves_figure",
    "error_figure",
    "sweep_figure",
    "comparison_figure",
    "robustness_figure",
    "training_size_figure",
]
