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
from .optim import SUBNORMAL_EVERY, adam, zero_tiny_moments

from .augment.members import augment_members, fit_reference

__all__ = ["fit_members", "cycled"]


def _streams(seed: int) -> list[torch.Generator]:
    seqs = np.random.SeedSequence([3, int(seed)]).spawn(3)  # phase 3: cross-validation members
    return [torch.Generator().manual_seed(int(s.generate_state(1, np.uint64)[0])) for s in seqs]


def cycled(rows: torch.Tensor, length: int, gen: torch.Generator) -> torch.Tensor:
    """``length`` of ``rows`` in random order: permutations of them, one after the other."""
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
    mse_on_views: Sequence[bool] | bool = False,
    augmentation: Any = None,
    epochs: int = 200,
    checkpoints: Sequence[int] | None = None,
    predict_rows: Any = None,
    standardize: bool = True,
    batch_size: int = 32,
    lr: float = 1e-3,
    feature_widths: Sequence[int] = FEATURE_WIDTHS,
    head_widths: Sequence[int] = HEAD_WIDTHS,
    device: Any = "cpu",
) -> dict[str, Any]:
    """Train M members, member m on rows ``train_rows[m]`` of ``x`` (N, B) to predict column
    ``target_index[m]`` of ``y`` (N, S) — or the columns it lists (one list length for all:
    one multi-output regressor per member, the ball test on all its outputs, as in
    :func:`hsaug.training.fit`); return predictions at each checkpoint.

    ``alpha``, ``r``, ``mse_on_views``: one value or one per member (α = 0: no contrastive
    term). ``augmentation``: one spec for all members or a list of one spec (or None) per
    member; views are drawn for members with a spec (needed for α > 0 or ``mse_on_views``),
    one augmentation per batch when a spec is a combination (the authors' loop), one call
    per distinct spec. ``predict_rows``: the rows predicted at each checkpoint (default
    all). ``standardize``: inputs standardised per band by each member's training rows
    (False: raw spectra, as :func:`hsaug.training.fit`). Returns ``{"predictions": (C, M,
    N') — (C, M, N', s) for list targets — float64 in the target's units, "checkpoints": [C epochs], "rows": the N' rows,
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
    single = target_index is None or all(isinstance(t, (int, np.integer)) for t in target_index)
    tix = [[0]] * m if target_index is None else [[int(t)] if isinstance(t, (int, np.integer)) else
                                                   [int(u) for u in t] for t in target_index]
    seed_list = list(range(m)) if seeds is None else [int(s) for s in seeds]
    if len(tix) != m or len(seed_list) != m or len({len(t) for t in tix}) != 1 or \
            any(not 0 <= u < yt.shape[1] for t in tix for u in t):
        raise ValueError(f"target_index and seeds must give one value per member ({m}), targets (ints, or "
                         f"lists of one length) in 0 … {yt.shape[1] - 1}")
    n_out = len(tix[0])
    alphas = torch.as_tensor(np.broadcast_to(np.asarray(alpha, dtype=np.float32), (m,)).copy())
    radii = torch.as_tensor(np.broadcast_to(np.asarray(r, dtype=np.float32), (m,)).copy())
    on_views = torch.as_tensor(np.broadcast_to(np.asarray(mse_on_views, dtype=bool), (m,)).copy())
    check_loss_name(loss)
    specs = list(augmentation) if isinstance(augmentation, (list, tuple)) and len(augmentation) == m \
        and m > 1 else [augmentation] * m
    needs = (alphas > 0) | on_views
    if any(bool(needs[k]) and specs[k] is None for k in range(m)):
        raise ValueError("alpha > 0 or mse_on_views needs an augmentation to make the views; got None")
    contrastive = bool((alphas > 0).any())
    any_views = any(sp is not None for sp in specs)
    cps = sorted({int(c) for c in (checkpoints or (epochs,))})
    if cps[0] < 1 or cps[-1] > epochs:
        raise ValueError(f"checkpoints must be epochs in 1 … {epochs}; got {checkpoints!r}")

    # per member: input standardisation and target scaling from its own training rows
    ym = torch.stack([yt[:, t] for t in tix])  # (M, N, s)
    if standardize:
        mu = torch.stack([xt[rw].mean(0) for rw in rows_of])[:, None]  # (M, 1, B)
        sd = torch.stack([xt[rw].std(0) for rw in rows_of])[:, None].clamp_min(1e-6)
    else:
        mu, sd = torch.zeros(m, 1, xt.shape[1]), torch.ones(m, 1, xt.shape[1])
    lo = torch.stack([ym[k, rw].min(0).values for k, rw in enumerate(rows_of)])[:, None]  # (M, 1, s)
    span = torch.stack([ym[k, rw].max(0).values for k, rw in enumerate(rows_of)])[:, None] - lo
    span = torch.where(span > 0, span, torch.ones_like(span))
    ys = ((ym - lo) / span).float().to(dev)

    gens = [_streams(s) for s in seed_list]
    model = MLPEnsemble(xt.shape[1], n_out, m, feature_widths=feature_widths, head_widths=head_widths,
                        init=[g[0] for g in gens], device=dev)
    opt = adam(model.parameters(), lr)
    groups = []  # (member indices, built augmentation, their generators) per distinct spec
    for key in dict.fromkeys(repr(sp) for sp in specs if sp is not None):
        idx = [k for k in range(m) if specs[k] is not None and repr(specs[k]) == key]
        aug = augment.build(specs[idx[0]])
        fit_reference(aug, xt)
        groups.append((torch.as_tensor(idx), aug, [gens[k][2] for k in idx]))
    pred_rows = torch.arange(xt.shape[0]) if predict_rows is None else \
        torch.as_tensor(np.asarray(predict_rows, dtype=np.int64).ravel())
    xd, wld, mud, sdd = xt.to(dev), wl.to(dev), mu.to(dev), sd.to(dev)
    any_on_views = bool(on_views.any())  # decided once: no device sync per step
    alphas, radii, on_views = alphas.to(dev), radii.to(dev), on_views.to(dev)
    x_pred = xd[pred_rows.to(dev)][None]
    length = max(rw.numel() for rw in rows_of)
    bs = min(int(batch_size), min(rw.numel() for rw in rows_of))
    member_ix = torch.arange(m, device=dev)[:, None]
    preds = []
    steps = 0
    for epoch in range(1, cps[-1] + 1):
        perms = torch.stack([cycled(rw, length, g[1]) for rw, g in zip(rows_of, gens)]).to(dev)
        for a in range(0, length, bs):
            rows = perms[:, a:a + bs]
            n = rows.shape[1]
            if n < 2 and contrastive:
                continue
            xb = xd[rows]
            yb = ys[member_ix, rows]  # (M, n, s)
            if any_views:
                xa = xb.clone()  # members without an augmentation: views unused (no loss on them)
                for idx, aug, ggens in groups:
                    idx_d = idx.to(dev)
                    xa[idx_d] = augment_members(aug, xb[idx_d], wld, ggens, rows[idx_d])
                f, p = model((torch.cat([xb, xa], 1) - mud) / sdd)
                mse = (p[:, :n] - yb).square().sum(-1).mean(-1)
                if any_on_views:
                    both = 0.5 * (mse + (p[:, n:] - yb).square().sum(-1).mean(-1))
                    mse = torch.where(on_views, both, mse)
                total = mse + alphas * LOSSES[loss](f, yb, radii, tau) if contrastive else mse
            else:
                p = model((xb - mud) / sdd)[1]
                total = (p - yb).square().sum(-1).mean(-1)
            opt.zero_grad(set_to_none=True)
            total.sum().backward()
            opt.step()
            steps += 1
            if steps % SUBNORMAL_EVERY == 0:  # subnormal Adam moments of dead units (hsaug.optim)
                zero_tiny_moments(opt)
        if epoch in cps:
            with torch.no_grad():
                out = model((x_pred - mud) / sdd)[1].double().cpu()  # (M, N', s)
            out = out * span + lo
            preds.append((out[..., 0] if single else out).numpy())
    return {"predictions": np.stack(preds), "checkpoints": cps, "rows": pred_rows.numpy(),
            "seconds": time.perf_counter() - t0, "members": m}
