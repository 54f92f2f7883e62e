"""Few labels, many unlabelled spectra: self-supervised pretraining of the feature extractor Φw.

A scene has thousands of unlabelled pixels and often only tens or hundreds of labels. Here
Φw (the paper's b → 128 → 64 → 32, :mod:`hsaug.models`) is first trained without labels on
all spectra, with the paper's augmentations making the views, then used with few labels:

* :func:`pretrain` — SimCLR (NT-Xent, Chen et al. 2020) or VICReg (Bardes et al. 2022) on
  two augmented views of every unlabelled spectrum, through a projector p (32 → 64 → 64,
  ReLU; discarded afterwards). Per batch of N spectra and member:

  - ``"simclr"``: z = normalised p(Φw(view)), s_ij = z_iᵀz_j / τ over the 2N views;
    ``L = −1/2N Σ_i log( exp(s_{i,i⁺}) / Σ_{k≠i} exp(s_ik) )``, i⁺ the other view of i.
  - ``"vicreg"``: z₁, z₂ the two views' projections (N, p); ``L = 25·mean‖z₁ − z₂‖²/p
    + 25·(v(z₁) + v(z₂)) + 1·(c(z₁) + c(z₂))``, v the mean over dimensions of
    max(0, 1 − √(Var + 1e-4)), c the squared off-diagonal covariances summed, over p.

* :func:`linear_probe` — Φw frozen, ridge regression on its features (per member, closed
  form, batched), the ridge λ chosen on the validation rows.
* :func:`finetune` — the whole regressor trained on the labelled rows (Φw from
  pretraining, the head fresh; ``freeze=True`` trains only the head), MSE (eq. 10), plus
  optionally the paper's contrastive term on the labelled batch (``alpha`` > 0, eq. 9) and
  the **semi-supervised** term: ``ssl_weight`` × the self-supervised loss on a batch of
  unlabelled spectra per step (``unlabelled=``). Without a pretrained model it is the plain
  MLP (and, with ``alpha``/``ssl_weight``, eq. 9 with a semi-supervised term).
  The epoch is chosen on validation (each member keeps its weights of the epoch with the
  lowest validation MSE); the test rows are predicted once, at the end.

Everything runs as a batched ensemble: M members (one per seed) with stacked weights share
every step (:class:`hsaug.models.MLPEnsemble`), never a Python loop over members or spectra.
Randomness: member seed s gives independent streams (``numpy.random.SeedSequence([phase,
s])``: initial weights, data order, augmentation draws, projector, unlabelled order) for the
pretraining phase and the fine-tuning phase, so pretraining then fine-tuning with the same
seed is bitwise repeatable on CPU (a test checks it, one thread).

Targets are scaled to [0, 1] per output by their training min/max (as in
:mod:`hsaug.training`); metrics and predictions are in the data's units.

The rooms: :mod:`.objectives` (NT-Xent, VICReg), :mod:`.common` (features, streams, checks,
views), :mod:`.loop` (:func:`pretrain`), :mod:`.labelled` (:class:`FineTuned`, metrics),
:mod:`.probe` (:func:`linear_probe`), :mod:`.finetune` (:func:`finetune`, eq. 9, semi-supervised).
"""

from __future__ import annotations

from .common import features
from .finetune import finetune
from .labelled import FineTuned
from .loop import Pretrained, pretrain
from .objectives import METHODS, nt_xent, vicreg_loss
from .probe import linear_probe

__all__ = ["METHODS", "Pretrained", "FineTuned", "pretrain", "finetune", "linear_probe", "nt_xent", "vicreg_loss",
           "features"]
