"""Contrastive losses for regression (paper §3.3): the ball loss of eq. (8) and variants.

Every loss takes the features of a batch and of its augmented copy, ``features``
(2N, d) — rows 0…N−1 the batch, rows N…2N−1 the augmented views in the same order —
and the batch's labels (N, s), or (2N, s) when the two halves differ. Both may carry a
leading member axis M (an ensemble: (M, 2N, d) and (M, N, s)), and ``r``/``tau`` may
then be one value per member, (M,). Nothing loops over anchors or members.

Similarity is the cosine similarity divided by the temperature τ,
``s_ij = f_iᵀf_j / (‖f_i‖‖f_j‖ τ)``. Sample j is a *positive* of anchor i when
``‖y_i − y_j‖₂ ≤ r`` (the ball B_i of eq. 7), j ≠ i; every other sample is a
*negative*. An anchor's own augmented view always lies in its ball.

Labels in the ball test: the radius only means something in one unit, so training
rescales each output to [0, 1] by its training-set minimum and maximum
(:class:`LabelScaling`) before the ball test. Abundances, which already span ≈[0, 1],
are then nearly unchanged, so the authors' r = 0.03 keeps its meaning; a target in
mg/kg spanning 0–20 000 gets r = 0.03 ≙ 600 mg/kg. The loss functions themselves take
labels as given (pass scaled ones).

Losses (``LOSSES``, chosen by name):

``"ball"`` (default, eq. 8, as printed)
    ``L = −1/N Σ_{i=1}^{2N} Σ_{j∈B_i, j≠i} log( exp(s_ij) / Σ_{k∉B_i} exp(s_ik) )``.
    The denominator runs over negatives only. An anchor without any negative (every
    other sample lies in its ball) has an empty denominator: it is *skipped* — it adds
    nothing to the loss and gets no gradient (there is nothing to contrast against).
    The normalisation stays 1/N, as printed. An anchor whose only positive is its own
    view is an ordinary case (one term). Because the denominator excludes the
    positives, the loss can be negative.
``"supcon"``
    Supervised contrastive loss (Khosla et al. 2020, L_out) with ball positives: the
    denominator runs over all k ≠ i, each anchor's terms are averaged over its
    positives, and anchors are averaged (1/2N). Never empty: every anchor has its view.
``"bce"``
    The authors' idea, hsaug's normalisation: binary cross-entropy with logits s_ij over
    the strict upper triangle of the 2N × 2N pairs, target 1 inside the ball, averaged
    over those N(2N−1) pairs.
``"bce_authors"``
    The authors' code exactly (``contrast_learn.py``: ``torch.triu`` of the similarity
    and of the ball mask, then ``BCEWithLogitsLoss()``): the same terms averaged over
    **all (2N)² entries**, the lower triangle and the diagonal entering as logit 0 with
    target 0 (log 2 each). So ``bce_authors = (P · bce + ((2N)² − P) · log 2) / (2N)²``
    with P = N(2N − 1): for N = 32, 0.492 · bce + 0.352 (exactly affine; the authors'
    α therefore weighs the gradient ≈ 0.49× what the same α does with ``"bce"`` —
    their α = 0.001 corresponds to α ≈ 0.0005 here). A test re-computes it the
    authors' way.
``"rnc"``
    Rank-N-Contrast (Zha et al., NeurIPS 2023): for each anchor i and j ≠ i, the
    negatives of the pair are the k ≠ i with label distance ≥ ‖y_i − y_j‖ (ties
    included): ``L = −1/(2N(2N−1)) Σ_i Σ_{j≠i} log( exp(s_ij) / Σ_{k≠i: d_ik ≥ d_ij} exp(s_ik) )``.
    It has no radius (``r`` is ignored). Deviation from RnC's default: the similarity
    is the cosine / τ used by the other losses here (RnC uses −L2 distance), and label
    distance is L2 over outputs (RnC: L1; the same for one output).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from .spectra import describe

__all__ = [
    "LOSSES",
    "loss_names",
    "contrastive_loss",
    "ball_loss",
    "supcon_loss",
    "bce_loss",
    "bce_authors_loss",
    "rnc_loss",
    "similarity",
    "ball_mask",
    "positives_per_anchor",
    "LabelScaling",
]


# -- label scaling ------------------------------------------------------------------------------
@dataclass(frozen=True)
class LabelScaling:
    """Per-output affine scaling ``z = (y − low) / span`` to [0, 1] over the fitting set.

    ``low`` and ``span`` are (s,) float tensors; an output that is constant in the fitting
    set gets ``span = 1`` (no division by zero).
    """

    low: torch.Tensor
    span: torch.Tensor

    @classmethod
    def fit(cls, y: torch.Tensor) -> LabelScaling:
        """Scaling fitted on labels ``y`` (N, s): each output's min and max → 0 and 1."""
        y = torch.as_tensor(y, dtype=torch.float32)
        if y.ndim != 2 or y.shape[0] < 1:
            raise ValueError(f"labels must have shape (N, s) with N >= 1; got {describe(y)}")
        low = y.min(dim=0).values
        span = y.max(dim=0).values - low
        return cls(low, torch.where(span > 0, span, torch.ones_like(span)))

    @classmethod
    def identity(cls, n_outputs: int) -> LabelScaling:
        return cls(torch.zeros(n_outputs), torch.ones(n_outputs))

    def __call__(self, y: torch.Tensor) -> torch.Tensor:
        return (y - self.low.to(y.device)) / self.span.to(y.device)

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        return z * self.span.to(z.device) + self.low.to(z.device)

    def to_dict(self) -> dict[str, list[float]]:
        return {"low": self.low.tolist(), "span": self.span.tolist()}


# -- building blocks ----------------------------------------------------------------------------
def similarity(features: torch.Tensor, tau: torch.Tensor | float = 1.0) -> torch.Tensor:
    """Cosine similarity / τ between all rows: (..., 2N, d) → (..., 2N, 2N).

    ``tau`` is a float or one value per member (M,). A zero feature vector has
    similarity 0 to everything (finite, with a finite gradient).
    """
    fn = F.normalize(features, dim=-1, eps=1e-12)
    sim = fn @ fn.transpose(-1, -2)
    return sim / _per_member(tau, sim)


def _per_member(value: torch.Tensor | float, like: torch.Tensor) -> torch.Tensor | float:
    """A float, or (M,) values broadcast against (M, ·, ·)."""
    if isinstance(value, torch.Tensor) and value.ndim == 1:
        return value.to(like.device, like.dtype)[:, None, None]
    return value


def _label_distance2(labels: torch.Tensor, n2: int) -> torch.Tensor:
    """Squared label distances (..., 2N, 2N) from labels (..., N, s) or (..., 2N, s)."""
    d2 = (labels[..., :, None, :] - labels[..., None, :, :]).square().sum(-1)
    if labels.shape[-2] * 2 == n2:  # batch and augmented copy share labels
        d2 = d2.repeat(*([1] * (d2.ndim - 2)), 2, 2)
    return d2


def ball_mask(labels: torch.Tensor, r: torch.Tensor | float, n2: int | None = None) -> torch.Tensor:
    """(..., 2N, 2N) bool: True where ``‖y_i − y_j‖₂ ≤ r`` (the ball of eq. 7, diagonal included).

    ``labels`` (..., N, s) are tiled to the 2N rows (batch + augmented copy) unless they
    already have ``n2`` rows; ``r`` is a float or (M,).
    """
    n2 = 2 * labels.shape[-2] if n2 is None else n2
    d2 = _label_distance2(labels, n2)
    rr = _per_member(r, d2)
    return d2 <= rr * rr


def positives_per_anchor(
    labels: Any,
    radii: Any = (0.03,),
    *,
    batch_size: int = 32,
    n_batches: int = 200,
    seed: int = 0,
    scale: bool = True,
) -> Any:
    """How many positives the ball gives an anchor in random training batches, per radius.

    ``labels`` (N, s) or (N,); batches of ``batch_size`` rows drawn without replacement
    (``n_batches`` of them, seeded); labels scaled to [0, 1] per output first, as in
    training (``scale``). Returns a pandas DataFrame indexed by radius with the mean
    number of *other samples* of the batch inside an anchor's ball, the positives an
    anchor has *besides its own view* in the 2N batch (twice that: each other sample
    brings its view), the share of anchors whose only positive is their own view, and
    the share of anchors without any negative (skipped by eq. 8).
    """
    import numpy as np
    import pandas as pd

    y = torch.as_tensor(np.asarray(labels, dtype=np.float32))
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2 or y.shape[0] < 2:
        raise ValueError(f"labels must be (N, s) or (N,) with N >= 2; got {describe(labels)}")
    if not torch.isfinite(y).all():
        raise ValueError("labels must be finite; they contain NaN or inf")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 2 <= batch_size <= y.shape[0]:
        raise ValueError(f"batch_size must be an integer from 2 to the number of labels ({y.shape[0]}); "
                         f"got {batch_size!r}")
    rs = [float(check_positive(r, "radii", "ball radii")) for r in np.atleast_1d(np.asarray(radii, dtype=float))]
    if scale:
        y = LabelScaling.fit(y)(y)
    rng = np.random.default_rng(seed)
    rows = np.stack([rng.choice(y.shape[0], batch_size, replace=False) for _ in range(n_batches)])
    batch = y[torch.as_tensor(rows)]  # (n_batches, N, s)
    d2 = _label_distance2(batch, batch_size)  # (n_batches, N, N), own entry included
    out = []
    for r in rs:
        others = (d2 <= r * r).sum(dim=-1).double() - 1.0  # other samples in the ball
        out.append({"radius": r, "other samples in the ball": float(others.mean()),
                    "positives besides own view": float(2 * others.mean()),
                    "share with only own view": float((others == 0).double().mean()),
                    "share without negative": float((others == batch_size - 1).double().mean())})
    return pd.DataFrame(out).set_index("radius")


def _eye(n: int, device: torch.device) -> torch.Tensor:
    return torch.eye(n, dtype=torch.bool, device=device)


# -- the losses (unchecked: shapes (M, 2N, d), labels (M, N|2N, s), r/tau (M,) or float) ------------
def ball_loss(features: torch.Tensor, labels: torch.Tensor, r: Any = 0.03, tau: Any = 1.0) -> torch.Tensor:
    """Eq. (8): positives in the ball, denominator over negatives only; (M,) or scalar.

    Anchors with no negative are skipped (see the module docstring).
    """
    n2 = features.shape[-2]
    sim = similarity(features, tau)
    with torch.no_grad():
        inside = ball_mask(labels, r, n2)
        negf = (~inside).to(sim.dtype)
        has_neg = negf.amax(dim=-1)  # (..., 2N): 1 where the anchor has a negative
        posf = inside.to(sim.dtype)
        posf.diagonal(dim1=-2, dim2=-1).zero_()
        n_pos = posf.sum(dim=-1)
    lse = _masked_logsumexp(sim, inside, negf, has_neg)
    per_anchor = (sim * posf).sum(dim=-1) - n_pos * lse  # Σ_{j∈B_i} log(exp(s_ij) / Σ_neg exp(s_ik))
    return 0.0 - (per_anchor * has_neg).sum(dim=-1) / (n2 // 2)  # 0.0 − …: no −0.0


def _masked_logsumexp(sim: torch.Tensor, excluded: torch.Tensor, keepf: torch.Tensor,
                      has_any: torch.Tensor) -> torch.Tensor:
    """log Σ_k exp(sim_ik) over the k with ``keepf`` = 1 (not ``excluded``), row by row; 0 for rows
    with none (``has_any`` = 0), with a finite gradient everywhere.

    Not ``logsumexp`` over −inf-masked logits: exp of −inf or of anything below ≈ −87
    (float32 underflow) takes a slow path on CPU (7–20× slower here). Instead the row's
    maximum over kept entries m is subtracted, ``exp(min(s − m, 0))`` (≤ 1, no overflow)
    is multiplied by the mask, and m is a constant for autograd (the result does not
    depend on it).
    """
    with torch.no_grad():
        m = torch.where(excluded, torch.finfo(sim.dtype).min, sim).amax(dim=-1, keepdim=True)
        m = torch.where(has_any[..., None] > 0, m, 0.0)
    e = torch.exp((sim - m).clamp(max=0.0)) * keepf
    return m[..., 0] + torch.log(e.sum(dim=-1) + (1.0 - has_any))


def supcon_loss(features: torch.Tensor, labels: torch.Tensor, r: Any = 0.03, tau: Any = 1.0) -> torch.Tensor:
    """SupCon (Khosla et al. 2020, L_out) with ball positives: denominator over all k ≠ i."""
    n2 = features.shape[-2]
    sim = similarity(features, tau)
    with torch.no_grad():
        eye = _eye(n2, sim.device)
        posf = ball_mask(labels, r, n2).to(sim.dtype)
        posf.diagonal(dim1=-2, dim2=-1).zero_()
        n_pos = posf.sum(dim=-1)
        has_pos = (n_pos > 0).to(sim.dtype)
        others = (~eye).to(sim.dtype).expand_as(sim)
    lse = _masked_logsumexp(sim, eye, others, torch.ones_like(n_pos))
    per_anchor = ((sim * posf).sum(dim=-1) - n_pos * lse) / n_pos.clamp_min(1)
    return 0.0 - (per_anchor * has_pos).sum(dim=-1) / has_pos.sum(dim=-1).clamp_min(1)


def bce_loss(features: torch.Tensor, labels: torch.Tensor, r: Any = 0.03, tau: Any = 1.0) -> torch.Tensor:
    """The authors' code: BCE with logits s_ij over pairs i < j, target 1 inside the ball."""
    n2 = features.shape[-2]
    sim = similarity(features, tau)
    target = ball_mask(labels, r, n2).to(sim.dtype)
    upper = torch.ones(n2, n2, dtype=torch.bool, device=sim.device).triu(1)
    bce = F.binary_cross_entropy_with_logits(sim, target, reduction="none")
    return (bce * upper).sum(dim=(-1, -2)) / max(1, n2 * (n2 - 1) // 2)


def bce_authors_loss(features: torch.Tensor, labels: torch.Tensor, r: Any = 0.03, tau: Any = 1.0) -> torch.Tensor:
    """The authors' exact normalisation: the upper-triangle BCE terms, plus log 2 for each of the
    (2N)² − N(2N−1) lower-triangle and diagonal entries (logit 0, target 0), over (2N)²."""
    n2 = features.shape[-2]
    pairs = n2 * (n2 - 1) // 2
    per_pair = bce_loss(features, labels, r, tau)
    return (pairs * per_pair + (n2 * n2 - pairs) * math.log(2.0)) / (n2 * n2)


def rnc_loss(features: torch.Tensor, labels: torch.Tensor, r: Any = None, tau: Any = 1.0) -> torch.Tensor:
    """Rank-N-Contrast: for each pair (i, j), negatives are the k ≠ i at least as far in label.

    Computed without a (2N)³ tensor: each anchor's samples are sorted by label distance
    (the anchor itself first), suffix sums of exp(s − max) give every "at least as far"
    denominator, and each j uses the suffix from the start of its tie group. The sums
    run in float64 (no underflow for τ ≳ 0.003). ``r`` is ignored.
    """
    n2 = features.shape[-2]
    sim = similarity(features, tau)
    with torch.no_grad():
        eye = _eye(n2, sim.device)
        d2 = _label_distance2(labels, n2).masked_fill(eye, -1.0)  # the anchor sorts first
        sorted_d, order = d2.sort(dim=-1)
        pos = torch.arange(n2, device=sim.device).expand_as(sorted_d)
        new_group = torch.ones_like(sorted_d, dtype=torch.bool)
        new_group[..., 1:] = sorted_d[..., 1:] != sorted_d[..., :-1]
        start = torch.where(new_group, pos, 0).cummax(dim=-1).values  # first position of each tie group
        m = torch.where(eye, torch.finfo(sim.dtype).min, sim).amax(dim=-1, keepdim=True)
    sorted_s = sim.gather(-1, order)  # position 0 is the anchor itself
    e = torch.exp((sorted_s - m).double())
    suffix = e.flip(-1).cumsum(dim=-1).flip(-1)  # Σ over positions >= p
    log_denom = suffix.gather(-1, start).log().to(sim.dtype) + m
    log_prob = (sorted_s - log_denom)[..., 1:]  # drop the anchor (j ≠ i)
    return 0.0 - log_prob.sum(dim=(-1, -2)) / max(1, n2 * (n2 - 1))


LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    "ball": ball_loss,
    "supcon": supcon_loss,
    "bce": bce_loss,
    "rnc": rnc_loss,
    "bce_authors": bce_authors_loss,
}


def loss_names() -> list[str]:
    """The contrastive loss names, the default (eq. 8) first."""
    return list(LOSSES)


def check_loss_name(loss: Any) -> str:
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {loss_names()}; got {loss!r}")
    return loss


def check_positive(value: Any, name: str, what: str, n_members: int | None = None) -> torch.Tensor | float:
    """A positive finite float, or (M,) of them; ValueError otherwise."""
    if isinstance(value, torch.Tensor) and value.ndim > 0:
        t = value.detach().float()
        if t.ndim != 1 or (n_members is not None and t.shape[0] != n_members):
            raise ValueError(f"{name} must be a number or one value per member ({n_members},); got {describe(value)}")
        if not (torch.isfinite(t).all() and (t > 0).all()):
            raise ValueError(f"{name} ({what}) must be > 0 and finite; got {t.tolist()}")
        return t
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} ({what}) must be a positive number; got {describe(value)}") from None
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} ({what}) must be > 0 and finite; got {value!r}")
    return v


def contrastive_loss(
    features: Any,
    labels: Any,
    *,
    r: Any = 0.03,
    tau: Any = 1.0,
    loss: str = "ball",
) -> torch.Tensor:
    """A contrastive loss by name, with its inputs checked.

    ``features`` (2N, d) — batch then augmented views — or (M, 2N, d) for M members;
    ``labels`` (N, s) or (2N, s), or with the leading M, already scaled to the unit the
    radius is meant for (see :class:`LabelScaling`); ``r`` > 0 the ball radius and
    ``tau`` > 0 the temperature, each a float or (M,). Returns a scalar, or (M,) per member.
    """
    name = check_loss_name(loss)
    f = torch.as_tensor(features)
    y = torch.as_tensor(labels, device=f.device)
    if f.ndim not in (2, 3) or not torch.is_floating_point(f):
        raise ValueError(f"features must be a float tensor (2N, d) or (M, 2N, d); got {describe(features)}")
    if y.ndim == 1 and f.ndim == 2:
        y = y[:, None]
    if y.ndim != f.ndim or y.shape[:-2] != f.shape[:-2]:
        raise ValueError(
            f"labels must have shape (N, s) or (2N, s) matching features {tuple(f.shape)} "
            f"(with the same leading member axis); got {describe(labels)}"
        )
    n2 = f.shape[-2]
    if n2 < 2 or n2 % 2:
        raise ValueError(f"features must hold 2N rows (a batch and its augmented copy), N >= 1; got {n2} rows")
    if y.shape[-2] not in (n2, n2 // 2):
        raise ValueError(f"labels must have N = {n2 // 2} or 2N = {n2} rows; got {y.shape[-2]}")
    if not torch.isfinite(f).all():
        raise ValueError("features must be finite; they contain NaN or inf")
    if not torch.isfinite(y).all():
        raise ValueError("labels must be finite; they contain NaN or inf")
    m = f.shape[0] if f.ndim == 3 else None
    r = check_positive(r, "r", "the ball radius", m)
    tau = check_positive(tau, "tau", "the temperature", m)
    if f.ndim == 2 and (isinstance(r, torch.Tensor) or isinstance(tau, torch.Tensor)):
        raise ValueError("per-member r or tau (tensors) need features with a member axis (M, 2N, d)")
    return LOSSES[name](f, y.to(f.dtype), r, tau)
