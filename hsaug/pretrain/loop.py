"""The batched self-supervised pretraining loop: :func:`pretrain` and its :class:`Pretrained`."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..folds import cycled
from ..losses import check_positive
from ..models import FEATURE_WIDTHS, HEAD_WIDTHS, MLPEnsemble, check_widths
from ..optim import SUBNORMAL_EVERY, adam, zero_tiny_moments
from .common import (DEFAULT_AUGMENTATION, build_augmentation, check_device, check_seeds, features,
                     member_streams, positive_int, read_spectra, two_views)
from .objectives import check_method, ssl_loss

__all__ = ["Pretrained", "pretrain"]


@dataclass
class Pretrained:
    """What :func:`pretrain` returns: ``model`` (M members; Φw trained, the head as
    initialised), ``projector``, the members' ``seeds``, ``method``, ``history["loss"]``
    (M, epochs) mean loss per epoch, the ``settings`` and the wall-clock ``seconds``."""

    model: MLPEnsemble
    projector: MLPEnsemble
    seeds: list[int]
    method: str
    history: dict[str, np.ndarray]
    settings: dict[str, Any]
    seconds: float = 0.0
    epoch_seconds: list[float] = field(default_factory=list)


def pretrain(
    spectra: Any,
    wavelength: Any = None,
    *,
    method: str = "simclr",
    augmentation: Any = DEFAULT_AUGMENTATION,
    seeds: int | Sequence[int] = (0,),
    epochs: int = 20,
    batch_size: int = 256,
    lr: float = 1e-3,
    tau: float = 0.1,
    projector: Sequence[int] = (64, 64),
    feature_widths: Sequence[int] = FEATURE_WIDTHS,
    head_widths: Sequence[int] = HEAD_WIDTHS,
    member_rows: Sequence[Any] | None = None,
    device: Any = "cpu",
    threads: int | None = None,
    progress: bool = False,
) -> Pretrained:
    """Self-supervised pretraining of Φw on unlabelled ``spectra`` (N, B) [on ``wavelength``
    nm] or a Dataset/DataArray, one member per seed, all in one batched ensemble.

    ``method``: ``"simclr"`` or ``"vicreg"``. ``augmentation``: what
    :func:`hsaug.augment.build` accepts; a combination draws one augmentation per spectrum
    (``mode="sample"``), two views per spectrum. ``epochs`` passes over the spectra in
    batches of ``batch_size`` (the last, smaller batch is dropped when there is more than
    one), Adam at ``lr``; ``tau`` the NT-Xent temperature; ``projector`` the widths of p.
    ``member_rows``: one array of row indices per member (e.g. each cross-validation fold's
    training part); a member's epoch is a permutation of its own rows, cycled to the
    longest member's length so that all members step together. Default: all rows, all members.
    """
    t0 = time.perf_counter()
    method = check_method(method)
    seed_list = check_seeds(seeds)
    x, wl = read_spectra(spectra, wavelength)
    epochs = positive_int(epochs, "epochs")
    batch_size = positive_int(batch_size, "batch_size")
    if member_rows is None:
        rows_of = None
        n_rows = x.shape[0]
    else:
        if len(member_rows) != len(seed_list):
            raise ValueError(f"member_rows must give one row array per seed ({len(seed_list)}); got {len(member_rows)}")
        rows_of = [torch.as_tensor(np.asarray(r, dtype=np.int64).ravel()) for r in member_rows]
        if any(r.numel() < 2 or int(r.min()) < 0 or int(r.max()) >= x.shape[0] for r in rows_of):
            raise ValueError(f"member_rows must hold at least 2 row indices in 0 … {x.shape[0] - 1} per member")
        n_rows = max(r.numel() for r in rows_of)
    if not 2 <= batch_size <= n_rows:
        raise ValueError(f"batch_size must be from 2 to the number of spectra ({n_rows}); got {batch_size}")
    lr = float(check_positive(lr, "lr", "the learning rate"))
    tau = float(check_positive(tau, "tau", "the NT-Xent temperature"))
    proj = check_widths(projector, "projector")
    fw, hw = check_widths(feature_widths, "feature_widths"), check_widths(head_widths, "head_widths", True)
    dev = check_device(device)
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(positive_int(threads, "threads"))
    try:
        aug = build_augmentation(augmentation, x, "sample")
        gens = [member_streams(s, 1) for s in seed_list]
        m = len(seed_list)
        model = MLPEnsemble(x.shape[1], 1, m, feature_widths=fw, head_widths=hw, init=[g[0] for g in gens],
                            device=dev)
        proj_net = MLPEnsemble(fw[-1], proj[-1], m, feature_widths=proj[:-1] or (proj[-1],), head_widths=(),
                               init=[g[3] for g in gens], device=dev)
        params = [p for i, p in enumerate(model.raw) if i < 2 * len(fw)] + list(proj_net.parameters())
        opt = adam(params, lr)
        xd, wld = x.to(dev), wl.to(dev)
        n = n_rows
        n_batches = max(1, n // batch_size)
        history: list[np.ndarray] = []
        epoch_seconds = []
        steps = 0
        for _ in range(epochs):
            te = time.perf_counter()
            if rows_of is None:
                perms = torch.stack([torch.randperm(n, generator=g[1]) for g in gens]).to(dev)
            else:
                perms = torch.stack([cycled(r, n, g[1]) for r, g in zip(rows_of, gens)]).to(dev)
            total = torch.zeros(m, device=dev)
            for b in range(n_batches):
                rows = perms[:, b * batch_size:(b + 1) * batch_size]
                v = two_views(aug, xd, rows, wld, [g[2] for g in gens])
                z = proj_net(features(model, v))[1]
                loss = ssl_loss(method, z, rows.shape[1], tau)
                opt.zero_grad(set_to_none=True)
                loss.sum().backward()
                opt.step()
                steps += 1
                if steps % SUBNORMAL_EVERY == 0:
                    zero_tiny_moments(opt)
                total += loss.detach()
            history.append((total / n_batches).cpu().numpy())
            epoch_seconds.append(time.perf_counter() - te)
            if progress:
                print(f"pretrain {method}: epoch {len(history)}/{epochs} loss {float(history[-1].mean()):.4f}")
    finally:
        torch.set_num_threads(before)
    settings = {"method": method, "augmentation": str(augmentation), "epochs": epochs, "batch_size": batch_size,
                "lr": lr, "tau": tau, "projector": list(proj), "feature_widths": list(fw), "head_widths": list(hw),
                "n_spectra": int(n), "device": str(dev)}
    return Pretrained(model, proj_net, seed_list, method, {"loss": np.stack(history, axis=1)}, settings,
                      time.perf_counter() - t0, epoch_seconds)
