"""Many small regressors at once, each on its own rows: cross-validation folds as ensemble members.

:func:`hsaug.training.fit` trains many configurations on one shared split. Cross-validation
needs the opposite: the same model on many different training parts (outer folds × inner
folds × targets × configurations). :func:`fit_members` trains M such members as one
batched :class:`hsaug.models.MLPEnsemble` — one ``bmm`` per layer and one Adam for all —
each member with its own training rows, target column, input standardisation and
contrastive settings, and returns every member's predictions for *all* rows at a few
checkpoint epochs, so that the caller chooses the epoch count by inner cross-validation
and reads outer-test predictions of the chosen epoch only.

Per member m and step: a batch of its rows (a permutation of its training rows per epoch,
cycled to the longest member's length so that all members step together — folds of one
set differ by a row or two), spectra standardised per band by the member's own training
mean and std, the target scaled to [0, 1] by its training min/max, and

    L_m = MSE (eq. 10) [+ MSE on the augmented views, mean of the two, if ``mse_on_views``]
          + α_m · contrastive(features of batch and views, r_m, τ)   (eq. 9; α_m = 0: none)

Augmented views (raw spectra, before standardisation) are drawn per member from its own
generator (:func:`hsaug.augment.members.augment_members`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from . import augment
from .losses import LOSSES, check_loss_name
from .models import FEATURE_WIDTHS, HEAD_WIDTHS, MLPEnsemble

try:
    from .augment.members import augment_members, fit_reference
except ImportError:  # pragma: no cover - the older home of the same functions
    from .training import _fit_reference as fit_reference
    from .training import augment_members

__all__ = ["fit_members"]


def _streams(seed: int) -> list[torch.Generator]:
    seqs = np.random.SeedSequence([3, int(seed)]).spawn(3)  # phase 3: cross-validation members
    return [torch.Generator().manual_seed(int(s.generate_state(1, np.uint64)[0])) for s in seqs]


def _cycled(rows: torch.Tensor, length: int, gen: torch.Generator) -> torch.Tensor:
    parts, have = [], 0
    while have < length:
        parts.append(rows[torch.randperm(rows.numel(), generator=gen)])
        have += rows.numel()
    return torch.cat(parts)[:length]


def fit_members(
    x: Any,
    y: Any,
    wavelength: Any,
    train_rows: Sequence[Any],
    *,
    target_index: Sequence[int] | None = None,
    seeds: Sequence[int] | None = None,
    alpha: Sequence[float] | float = 0.0,
    r: Sequence[float] | float = 0.03,
    tau: float = 1.0,
    loss: str = "ball",
    mse_on_views: bool = False,
    augmentation: Any = None,
    epochs: int = 200,
    checkpoints: Sequence[int] | None = None,
    batch_size: int = 32,
    lr: float = 1e-3,
    feature_widths: Sequence[int] = FEATURE_WIDTHS,
    head_widths: Sequence[int] = HEAD_WIDTHS,
    device: Any = "cpu",
) -> dict[str, Any]:
    """Train M members, member m on rows ``train_rows[m]`` of ``x`` (N, B) to predict column
    ``target_index[m]`` of ``y`` (N, S); return predictions for all N rows at each checkpoint.

    ``alpha``, ``r``: one value or one per member (α = 0: no contrastive term). Views are
    drawn when ``augmentation`` is given (needed for α > 0 or ``mse_on_views``), one
    augmentation per batch when it is a combination (the authors' loop). Returns
    ``{"predictions": (C, M, N) float64 in the target's units, "checkpoints": [C epochs],
    "seconds": wall time, "members": M}``.
    """
    t0 = time.perf_counter()
    dev = torch.device(device)
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32))
    yt = torch.as_tensor(np.asarray(y, dtype=np.float64))
    if yt.ndim == 1:
        yt = yt[:, None]
    wl = torch.as_tensor(np.asarray(wavelength, dtype=np.float32))
    if xt.ndim != 2 or yt.shape[0] != xt.shape[0] or wl.shape != (xt.shape[1],):
        raise ValueError(f"x must be (N, B), y (N, S) and wavelength (B,); got {tuple(xt.shape)}, "
                         f"{tuple(yt.shape)}, {tuple(wl.shape)}")
    m = len(train_rows)
    if m < 1:
        raise ValueError("train_rows must give at least one member's rows; got none")
    rows_of = [torch.as_tensor(np.asarray(rw, dtype=np.int64).ravel()) for rw in train_rows]
    if any(rw.numel() < 2 or int(rw.min()) < 0 or int(rw.max()) >= xt.shape[0] for rw in rows_of):
        raise ValueError(f"train_rows must hold at least 2 row indices in 0 … {xt.shape[0] - 1} per member")
    tix = [0] * m if target_index is None else [int(t) for t in target_index]
    seed_list = list(range(m)) if seeds is None else [int(s) for s in seeds]
    if len(tix) != m or len(seed_list) != m or any(not 0 <= t < yt.shape[1] for t in tix):
        raise ValueError(f"target_index and seeds must give one value per member ({m}), targets in 0 … "
                         f"{yt.shape[1] - 1}")
    alphas = torch.as_tensor(np.broadcast_to(np.asarray(alpha, dtype=np.float32), (m,)).copy())
    radii = torch.as_tensor(np.broadcast_to(np.asarray(r, dtype=np.float32), (m,)).copy())
    check_loss_name(loss)
    contrastive = bool((alphas > 0).any())
    if (contrastive or mse_on_views) and augmentation is None:
        raise ValueError("alpha > 0 or mse_on_views needs an augmentation to make the views; got None")
    cps = sorted({int(c) for c in (checkpoints or (epochs,))})
    if cps[0] < 1 or cps[-1] > epochs:
        raise ValueError(f"checkpoints must be epochs in 1 … {epochs}; got {checkpoints!r}")

    # per member: input standardisation and target scaling from its own training rows
    ym = yt[:, tix].T.contiguous()  # (M, N)
    mu = torch.stack([xt[rw].mean(0) for rw in rows_of])[:, None]  # (M, 1, B)
    sd = torch.stack([xt[rw].std(0) for rw in rows_of])[:, None].clamp_min(1e-6)
    lo = torch.stack([ym[k, rw].min() for k, rw in enumerate(rows_of)])[:, None]
    span = torch.stack([ym[k, rw].max() for k, rw in enumerate(rows_of)])[:, None] - lo
    span = torch.where(span > 0, span, torch.ones_like(span))
    ys = ((ym - lo) / span).float().to(dev)

    gens = [_streams(s) for s in seed_list]
    model = MLPEnsemble(xt.shape[1], 1, m, feature_widths=feature_widths, head_widths=head_widths,
                        init=[g[0] for g in gens], device=dev)
    try:
        opt = torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        opt = torch.optim.Adam(model.parameters(), lr=lr, foreach=True)
    aug = augment.build(augmentation) if augmentation is not None else None
    if aug is not None:
        fit_reference(aug, xt)
    xd, wld, mud, sdd = xt.to(dev), wl.to(dev), mu.to(dev), sd.to(dev)
    alphas, radii = alphas.to(dev), radii.to(dev)
    length = max(rw.numel() for rw in rows_of)
    bs = min(int(batch_size), min(rw.numel() for rw in rows_of))
    member_ix = torch.arange(m, device=dev)[:, None]
    preds = []
    steps = 0
    for epoch in range(1, cps[-1] + 1):
        perms = torch.stack([_cycled(rw, length, g[1]) for rw, g in zip(rows_of, gens)]).to(dev)
        for a in range(0, length, bs):
            rows = perms[:, a:a + bs]
            n = rows.shape[1]
            if n < 2 and contrastive:
                continue
            xb = xd[rows]
            yb = ys[member_ix, rows][..., None]  # (M, n, 1)
            if aug is not None:
                xa = augment_members(aug, xb, wld, [g[2] for g in gens], rows)
                f, p = model((torch.cat([xb, xa], 1) - mud) / sdd)
                mse = (p[:, :n] - yb).square().sum(-1).mean(-1)
                if mse_on_views:
                    mse = 0.5 * (mse + (p[:, n:] - yb).square().sum(-1).mean(-1))
                total = mse + alphas * LOSSES[loss](f, yb, radii, tau) if contrastive else mse
            else:
                p = model((xb - mud) / sdd)[1]
                total = (p - yb).square().sum(-1).mean(-1)
            opt.zero_grad(set_to_none=True)
            total.sum().backward()
            opt.step()
            steps += 1
            if steps % 64 == 0:  # subnormal Adam moments of dead units (see hsaug.training)
                with torch.no_grad():
                    for state in opt.state.values():
                        state["exp_avg"].masked_fill_(state["exp_avg"].abs() < 1e-30, 0.0)
        if epoch in cps:
            with torch.no_grad():
                out = model((xd[None] - mud) / sdd)[1][..., 0].double().cpu()  # (M, N)
            preds.append((out * span + lo).numpy())
    return {"predictions": np.stack(preds), "checkpoints": cps, "seconds": time.perf_counter() - t0, "members": m}
