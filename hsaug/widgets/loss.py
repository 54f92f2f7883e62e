"""The contrastive-loss explorer (eqs. 7–8, teaching): a small labelled batch and its
augmented view, the anchor's label distances and ball, its softmax weights (τ), and each
pair's role in the chosen loss."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go
import torch
import xarray as xr

from .. import augment, viz
from ..augment import preview
from ..spectra import as_spectra, check_wavelength, describe
from ..viz.loss import sample_names
from .controls import DESC, FULL, SliderView, controls_box, css_row, figure_box, help_html
from .figure import Resizer, live_figure

__all__ = ["LOSS_NOTES", "pair_roles", "anchor_weights", "LossExplorer"]


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
    from ..losses import ball_mask, check_loss_name

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


class LossExplorer(SliderView, W.VBox):
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
        from .. import losses

        self._losses = losses
        x, y, wl = self._batch(spectra, labels, wavelength, n, seed)
        self._x, self._wl, self._seed = x, wl, seed
        self.labels = losses.LabelScaling.fit(y)(y)
        self._fixed_features = None if features is None else self._check_features(features, x.shape[0])
        n2 = 2 * x.shape[0]
        names = sample_names(n2)
        if not 0.005 <= r <= 1.0 or not 0.02 <= tau <= 2.0:
            raise ValueError(f"r must be in [0.005, 1] and tau in [0.02, 2]; got r={r!r}, tau={tau!r}")
        self._start = {"r": float(r), "tau": float(tau)}
        self.sliders = {
            "r": W.FloatSlider(value=r, min=0.005, max=1.0, step=0.005, description="r", readout_format=".3f",
                               tooltip="ball radius (eq. 7), a fraction of each target's range",
                               style={"description_width": "24px"}, layout=FULL),
            "tau": W.FloatSlider(value=tau, min=0.02, max=2.0, step=0.01, description="τ", readout_format=".2f",
                                 tooltip="temperature (eq. 8): similarities are divided by τ",
                                 style={"description_width": "24px"}, layout=FULL),
        }
        self.loss_choice = W.Dropdown(options=losses.loss_names(), value=losses.check_loss_name(loss),
                                      description="loss", style=DESC, layout=FULL)
        self.anchor = W.Dropdown(options=[(nm, i) for i, nm in enumerate(names)], value=0, description="anchor",
                                 style=DESC, layout=FULL)
        self.view = W.Dropdown(options=augment.names(), value=augmentation, description="second view",
                               disabled=features is not None, style=DESC, layout=FULL)
        self.reset_button = W.Button(description="reset", icon="undo", layout=W.Layout(width="auto"))
        self.help = W.HTML(help_html([
            "<b>r</b>: ball radius (eq. 7), a fraction of each target's range: j is a positive of i when "
            "‖yᵢ − yⱼ‖ ≤ r",
            "<b>τ</b>: temperature (eq. 8): s = cos / τ; a small τ puts the anchor's weight on its most similar "
            "samples",
            "<b>j′</b>: the augmented view of sample j"]), layout=FULL)
        self.readout = W.HTML(layout=FULL)
        self.features = self._features()
        self.value = float("nan")
        self.figure = live_figure(self._figure())
        self.redraw()
        controls = controls_box([self.sliders["r"], self.sliders["tau"], self.loss_choice, self.anchor, self.view,
                                  self.reset_button, self.readout, self.help])
        super().__init__([css_row([controls, figure_box(self.figure, "480px")]), Resizer()], layout=FULL)
        self.add_class("hsaug-loss")
        for s in self.sliders.values():
            s.observe(self._on_slider, names="value")
        for w in (self.loss_choice, self.anchor):
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
            from ..synthetic import make_scene

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

    def _figure(self, c: Mapping[str, Any] | None = None) -> go.Figure:
        c = self.compute() if c is None else c
        return viz.loss_figure(self.labels.numpy(), c["cosine"], c["roles"], radius=c["r"], anchor=c["anchor"],
                               loss=c["loss"], weights=c["weights"], loss_name=c["name"], tau=c["tau"])

    def redraw(self) -> None:
        """Recompute and replace every trace, title and frame in one batch update."""
        c = self.compute()
        fresh = self._figure(c)
        with self.figure.batch_update():
            for old, new in zip(self.figure.data, fresh.data):
                old.update(new.to_plotly_json())
            self.figure.layout.title.text = fresh.layout.title.text
            self.figure.layout.shapes = fresh.layout.shapes
            for old, new in zip(self.figure.layout.annotations, fresh.layout.annotations):
                old.text = new.text
        self.value = c["loss"]
        roles = c["roles"]
        n2 = roles.shape[0]
        n_pos = int((roles == 2).sum())
        self.readout.value = (f"<b>{c['name']} loss = {c['loss']:.4f}</b><div style='font-size:11px;"
                              f"line-height:1.35'>{n_pos} positive pairs of {n2 * (n2 - 1)}; the anchor has "
                              f"{int((roles[c['anchor']] == 2).sum())} (its own view included)<br><span "
                              f"style='color:#444'>{html.escape(LOSS_NOTES[c['name']])}</span></div>")
