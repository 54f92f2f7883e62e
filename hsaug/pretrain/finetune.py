"""Fine-tuning with few labels: MSE (eq. 10), optionally the paper's contrastive term (eq. 9)
and the semi-supervised self-supervised term on unlabelled spectra."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ..augment.members import augment_members
from ..losses import LOSSES, LabelScaling, check_loss_name, check_positive
from ..models import FEATURE_WIDTHS, HEAD_WIDTHS, MLPEnsemble, check_widths
from ..spectra import as_spectra
from ..optim import SUBNORMAL_EVERY, adam, zero_tiny_moments
from .common import (DEFAULT_AUGMENTATION, build_augmentation, check_device, check_seeds, features,
                     member_streams, positive_int, two_views)
from .labelled import FineTuned, final_metrics, load_labelled, r2_per_member
from .loop import Pretrained
from .objectives import check_method, ssl_loss

__all__ = ["finetune"]


def finetune(
    pre: Pretrained | None,
    data: Any,
    target: Any = None,
    wavelength: Any = None,
    *,
    split: dict[str, Any],
    seeds: int | Sequence[int] | None = None,
    epochs: int = 100,
    batch_size: int = 32,
    lr: float = 1e-3,
    freeze: bool = False,
    alpha: float = 0.0,
    r: float = 0.03,
    tau: float = 1.0,
    loss: str = "ball",
    augmentation: Any = DEFAULT_AUGMENTATION,
    unlabelled: Any = None,
    ssl_weight: float = 0.0,
    ssl_method: str | None = None,
    ssl_batch: int = 256,
    ssl_tau: float = 0.1,
    feature_widths: Sequence[int] = FEATURE_WIDTHS,
    head_widths: Sequence[int] = HEAD_WIDTHS,
    device: Any = "cpu",
    threads: int | None = None,
) -> FineTuned:
    """Train the regressor on the labelled ``split["train"]`` rows of ``data`` (a Dataset, or
    spectra with ``target`` and ``wavelength``), one member per seed, as one batched ensemble.

    ``pre``: a :class:`Pretrained` whose Φw starts every member (member m from ``pre``'s
    member with the same seed; ``seeds`` default ``pre.seeds``), or None for fresh weights.
    ``freeze``: train the head only. ``alpha`` > 0 adds eq. (8)-family loss ``loss`` (radius
    ``r``, temperature ``tau``) on the labelled batch and its augmented views (one
    augmentation per batch, the authors' loop). ``ssl_weight`` > 0 with ``unlabelled``
    (U, B) spectra on the same grid adds the self-supervised loss (``ssl_method``, default
    ``pre.method`` or "simclr") on a batch of ``ssl_batch`` unlabelled spectra per step,
    through ``pre``'s projector (or a fresh one). The epoch is chosen per member on the
    validation rows (lowest validation MSE); test rows are predicted once at the end.
    """
    t0 = time.perf_counter()
    x, y, wl, parts = load_labelled(data, target, wavelength, split)
    seed_list = check_seeds(pre.seeds if seeds is None and pre is not None else (0 if seeds is None else seeds))
    if pre is not None and seed_list != pre.seeds:
        raise ValueError(f"seeds must match the pretrained members' seeds {pre.seeds}; got {seed_list}")
    epochs = positive_int(epochs, "epochs")
    batch_size = positive_int(batch_size, "batch_size")
    n_train = parts["train"].size
    if batch_size > n_train:
        batch_size = n_train  # few labels: one batch of all of them
    lr = float(check_positive(lr, "lr", "the learning rate"))
    try:
        alpha, ssl_weight = float(alpha), float(ssl_weight)
    except (TypeError, ValueError):
        raise ValueError(f"alpha and ssl_weight must be numbers >= 0; got {alpha!r}, {ssl_weight!r}") from None
    if not (math.isfinite(alpha) and alpha >= 0 and math.isfinite(ssl_weight) and ssl_weight >= 0):
        raise ValueError(f"alpha and ssl_weight must be >= 0 and finite; got {alpha!r}, {ssl_weight!r}")
    check_loss_name(loss)
    r = float(check_positive(r, "r", "the ball radius"))
    tau = float(check_positive(tau, "tau", "the temperature"))
    method = check_method(ssl_method or (pre.method if pre is not None else "simclr"))
    if ssl_weight > 0:
        if unlabelled is None:
            raise ValueError("ssl_weight > 0 needs unlabelled spectra (unlabelled=); got None")
        xu = as_spectra(unlabelled, name="unlabelled", dtype=torch.float32)
        if xu.shape[1] != x.shape[1]:
            raise ValueError(f"unlabelled must have the labelled data's {x.shape[1]} bands; got {xu.shape[1]}")
        ssl_batch = min(positive_int(ssl_batch, "ssl_batch"), xu.shape[0])
        if ssl_batch < 2:
            raise ValueError("unlabelled must hold at least 2 spectra for the self-supervised term")
    fw, hw = check_widths(feature_widths, "feature_widths"), check_widths(head_widths, "head_widths", True)
    if pre is not None:
        fw, hw = pre.model.feature_widths, pre.model.head_widths
    dev = check_device(device)
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(positive_int(threads, "threads"))
    try:
        m = len(seed_list)
        gens = [member_streams(s, 2) for s in seed_list]
        model = MLPEnsemble(x.shape[1], y.shape[1], m, feature_widths=fw, head_widths=hw,
                            init=[g[0] for g in gens], device=dev)
        n_feat = 2 * len(fw)
        if pre is not None:
            with torch.no_grad():
                for i in range(n_feat):
                    model.raw[i].copy_(pre.model.raw[i])
        proj_net = None
        if ssl_weight > 0:
            proj_net = pre.projector.select(list(range(m))) if pre is not None else MLPEnsemble(
                fw[-1], 64, m, feature_widths=(64,), head_widths=(), init=[g[3] for g in gens], device=dev)
        trainable = [p for i, p in enumerate(model.raw) if not (freeze and i < n_feat)]
        if proj_net is not None and not freeze:
            trainable += list(proj_net.parameters())
        opt = adam(trainable, lr)
        scaling = LabelScaling.fit(y[parts["train"]])
        tr = torch.as_tensor(parts["train"])
        x_tr, y_tr = x[tr].to(dev), scaling(y[tr]).to(dev)
        wld = wl.to(dev)
        aug_lab = build_augmentation(augmentation, x[tr], "batch") if alpha > 0 else None
        aug_ssl = build_augmentation(augmentation, xu, "sample") if ssl_weight > 0 else None
        xu_d = xu.to(dev) if ssl_weight > 0 else None
        va = parts["val"]
        x_va = x[torch.as_tensor(va)].to(dev) if va.size else None
        y_va = scaling(y[torch.as_tensor(va)]) if va.size else None
        best_val = torch.full((m,), math.inf)
        best_epoch = np.zeros(m, dtype=np.int64)
        best_state = [p.detach().clone() for p in model.raw]
        val_hist, steps = [], 0
        u_perm, u_pos = None, 0
        for epoch in range(1, epochs + 1):
            perms = torch.stack([torch.randperm(n_train, generator=g[1]) for g in gens]).to(dev)
            for a in range(0, n_train, batch_size):
                rows = perms[:, a:a + batch_size]
                n = rows.shape[1]
                xb, yb = x_tr[rows], y_tr[rows]
                if freeze:
                    with torch.no_grad():
                        f = features(model, xb)
                    pred = _head(model, f, n_feat)
                    total = (pred - yb).square().sum(-1).mean(-1)
                elif alpha > 0 and n >= 2:
                    xa = augment_members(aug_lab, xb, wld, [g[2] for g in gens], rows)
                    f = features(model, torch.cat([xb, xa], dim=1))
                    pred = _head(model, f[:, :n], n_feat)
                    total = (pred - yb).square().sum(-1).mean(-1)
                    total = total + alpha * LOSSES[loss](f, yb, r, tau)
                else:
                    pred = _head(model, features(model, xb), n_feat)
                    total = (pred - yb).square().sum(-1).mean(-1)
                if ssl_weight > 0 and not freeze:
                    if u_perm is None or u_pos + ssl_batch > xu.shape[0]:
                        u_perm = torch.stack([torch.randperm(xu.shape[0], generator=g[4]) for g in gens]).to(dev)
                        u_pos = 0
                    urows = u_perm[:, u_pos:u_pos + ssl_batch]
                    u_pos += ssl_batch
                    v = two_views(aug_ssl, xu_d, urows, wld, [g[2] for g in gens])
                    z = proj_net(features(model, v))[1]
                    total = total + ssl_weight * ssl_loss(method, z, ssl_batch, ssl_tau)
                opt.zero_grad(set_to_none=True)
                total.sum().backward()
                opt.step()
                steps += 1
                if steps % SUBNORMAL_EVERY == 0:
                    zero_tiny_moments(opt)
            if x_va is not None:
                with torch.no_grad():
                    pv = model(x_va)[1].cpu()
                val_mse = (pv - y_va).square().sum(-1).mean(-1)
                val_hist.append(r2_per_member(y[torch.as_tensor(va)].double().numpy(), scaling.inverse(pv).double().numpy()))
                better = val_mse < best_val
                if bool(better.any()):
                    best_val = torch.where(better, val_mse, best_val)
                    best_epoch[better.numpy()] = epoch
                    with torch.no_grad():
                        for keep, p in zip(best_state, model.raw):
                            keep[better.to(dev)] = p.detach()[better.to(dev)]
        if x_va is not None:
            with torch.no_grad():
                for keep, p in zip(best_state, model.raw):
                    p.copy_(keep)
        else:
            best_epoch[:] = epochs
    finally:
        torch.set_num_threads(before)

    @torch.no_grad()
    def predict(rows: np.ndarray) -> np.ndarray:
        return scaling.inverse(model.predict(x[torch.as_tensor(rows)].to(dev)).cpu()).double().numpy()

    metrics, test_pred = final_metrics(y, parts, predict)
    settings = {"pretrained": None if pre is None else pre.settings, "epochs": epochs, "batch_size": batch_size,
                "lr": lr, "freeze": bool(freeze), "alpha": alpha, "r": r, "tau": tau, "loss": loss,
                "augmentation": str(augmentation), "ssl_weight": ssl_weight, "ssl_method": method,
                "n_train": int(n_train), "n_val": int(va.size), "n_test": int(parts["test"].size),
                "selection": "epoch with the lowest validation MSE, per member"}
    hist = {"val_r2": np.stack(val_hist, axis=1) if val_hist else np.zeros((m, 0))}
    return FineTuned(metrics, test_pred, hist, best_epoch, model, scaling, settings, time.perf_counter() - t0)


def _head(model: MLPEnsemble, f: torch.Tensor, n_feat: int) -> torch.Tensor:
    """The head gθ on features f (M, n, d): ReLU then the remaining layers."""
    ws, bs = model.weights[n_feat // 2:], model.biases[n_feat // 2:]
    h = f
    for w, b in zip(ws, bs):
        h = torch.baddbmm(b, torch.relu(h), w)
    return h
