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
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import xarray as xr

from . import augment
from .losses import LOSSES, LabelScaling, check_loss_name, check_positive
from .models import FEATURE_WIDTHS, HEAD_WIDTHS, MLPEnsemble, check_widths
from .spectra import as_spectra, check_wavelength

from .augment.members import augment_members, fit_reference
from .metrics import mae, r2_score

__all__ = ["METHODS", "Pretrained", "FineTuned", "pretrain", "finetune", "linear_probe", "nt_xent", "vicreg_loss",
           "features"]

METHODS = ("simclr", "vicreg")
DEFAULT_AUGMENTATION = "shift+atmospheric+scattering"
VICREG_WEIGHTS = (25.0, 25.0, 1.0)  # invariance, variance, covariance (Bardes et al. 2022)
_SUBNORMAL_EVERY, _SUBNORMAL_FLOOR = 64, 1e-30  # see hsaug.training: Adam moments of dead units


# -- losses (batched over members: (M, ·, p) → (M,)) ----------------------------------------------
def nt_xent(z: torch.Tensor, tau: float = 0.1) -> torch.Tensor:
    """SimCLR's NT-Xent over (M, 2N, p) projections: rows i and i + N are the two views of one
    spectrum. Cosine similarity / τ; the log-sum-exp subtracts 1/τ (the largest possible
    similarity), so no exp underflows to a subnormal for τ ≥ 0.03. Returns (M,)."""
    n2 = z.shape[-2]
    n = n2 // 2
    zn = torch.nn.functional.normalize(z, dim=-1, eps=1e-12)
    sim = zn @ zn.transpose(-1, -2) / tau
    off = 1.0 - torch.eye(n2, dtype=sim.dtype, device=sim.device)
    lse = torch.log((torch.exp(sim - 1.0 / tau) * off).sum(-1)) + 1.0 / tau
    idx = torch.arange(n2, device=sim.device)
    pos = sim[..., idx, (idx + n) % n2]
    return (lse - pos).mean(-1)


def vicreg_loss(z1: torch.Tensor, z2: torch.Tensor, weights: Sequence[float] = VICREG_WEIGHTS) -> torch.Tensor:
    """VICReg over two views' projections (M, N, p) each: invariance + variance + covariance. (M,)"""
    inv_w, var_w, cov_w = weights
    p = z1.shape[-1]
    inv = (z1 - z2).square().mean(dim=(-1, -2))

    def var_cov(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        zc = z - z.mean(dim=-2, keepdim=True)
        n = z.shape[-2]
        std = torch.sqrt(zc.square().sum(-2) / max(n - 1, 1) + 1e-4)
        cov = zc.transpose(-1, -2) @ zc / max(n - 1, 1)
        off = cov.square().sum((-1, -2)) - cov.diagonal(dim1=-2, dim2=-1).square().sum(-1)
        return torch.relu(1.0 - std).mean(-1), off / p

    v1, c1 = var_cov(z1)
    v2, c2 = var_cov(z2)
    return inv_w * inv + var_w * (v1 + v2) + cov_w * (c1 + c2)


def _ssl_loss(method: str, z: torch.Tensor, n: int, tau: float) -> torch.Tensor:
    return nt_xent(z, tau) if method == "simclr" else vicreg_loss(z[:, :n], z[:, n:])


# -- helpers --------------------------------------------------------------------------------------
def features(model: MLPEnsemble, x: torch.Tensor) -> torch.Tensor:
    """Φw's features (M, n, d) of every member for x (n, b) or (M, n, b): the feature layers only."""
    ws, bs = model.weights, model.biases
    h = x if x.ndim == 3 else x.expand(ws[0].shape[0], *x.shape)
    k = len(model.feature_widths)
    for layer in range(k):
        h = torch.baddbmm(bs[layer], h, ws[layer])
        if layer < k - 1:
            h = torch.relu(h)
    return h


def _streams(seed: int, phase: int) -> list[torch.Generator]:
    """Five independent CPU generators for one member and phase (1 pretraining, 2 fine-tuning)."""
    seqs = np.random.SeedSequence([phase, int(seed)]).spawn(5)
    return [torch.Generator().manual_seed(int(s.generate_state(1, np.uint64)[0])) for s in seqs]


def _optimizer(params: list[torch.nn.Parameter], lr: float) -> torch.optim.Optimizer:
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr, foreach=True)


@torch.no_grad()
def _zero_tiny_moments(opt: torch.optim.Optimizer) -> None:
    for state in opt.state.values():
        if "exp_avg" in state:
            state["exp_avg"].masked_fill_(state["exp_avg"].abs() < _SUBNORMAL_FLOOR, 0.0)


def _seeds(seeds: Any) -> list[int]:
    out = [seeds] if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool) else list(seeds)
    if not out or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0 for s in out) \
            or len(set(out)) != len(out):
        raise ValueError(f"seeds must be one or more distinct non-negative integers; got {seeds!r}")
    return [int(s) for s in out]


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def _method(method: Any) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}; got {method!r}")
    return method


def _device(device: Any) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (TypeError, RuntimeError):
        raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto'; got {device!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for CUDA, which is not available here")
    return dev


def _spectra(spectra: Any, wavelength: Any) -> tuple[torch.Tensor, torch.Tensor]:
    if isinstance(spectra, xr.Dataset):
        if "spectra" not in spectra:
            raise ValueError(f"a Dataset of spectra needs a 'spectra' variable; got {sorted(spectra.data_vars)}")
        spectra = spectra["spectra"]
    if isinstance(spectra, xr.DataArray) and wavelength is None and "wavelength" in spectra.coords:
        wavelength = spectra["wavelength"].values
    if wavelength is None:
        raise ValueError("wavelength [nm] is required with spectra that are not a Dataset/DataArray; got None")
    x = as_spectra(spectra, name="spectra", dtype=torch.float32)
    return x, check_wavelength(wavelength, x.shape[1]).float()


def _build_aug(spec: Any, x: torch.Tensor, mode: str) -> Any:
    aug = augment.build(spec, mode=mode)
    if aug is None:
        raise ValueError("augmentation must name at least one augmentation for self-supervised views; got None")
    fit_reference(aug, x)
    return aug


def _views(aug: Any, x: torch.Tensor, rows: torch.Tensor, wl: torch.Tensor, gens: list[torch.Generator]
           ) -> torch.Tensor:
    """Two augmented views (M, 2n, B) of the rows (M, n) of x, each member drawing from its generator."""
    xb = x[rows]
    v1 = augment_members(aug, xb, wl, gens, rows)
    v2 = augment_members(aug, xb, wl, gens, rows)
    return torch.cat([v1, v2], dim=1)


# -- pretraining ----------------------------------------------------------------------------------
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
    method = _method(method)
    seed_list = _seeds(seeds)
    x, wl = _spectra(spectra, wavelength)
    epochs = _positive_int(epochs, "epochs")
    batch_size = _positive_int(batch_size, "batch_size")
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
    dev = _device(device)
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(_positive_int(threads, "threads"))
    try:
        aug = _build_aug(augmentation, x, "sample")
        gens = [_streams(s, 1) for s in seed_list]
        m = len(seed_list)
        model = MLPEnsemble(x.shape[1], 1, m, feature_widths=fw, head_widths=hw, init=[g[0] for g in gens],
                            device=dev)
        proj_net = MLPEnsemble(fw[-1], proj[-1], m, feature_widths=proj[:-1] or (proj[-1],), head_widths=(),
                               init=[g[3] for g in gens], device=dev)
        params = [p for i, p in enumerate(model.raw) if i < 2 * len(fw)] + list(proj_net.parameters())
        opt = _optimizer(params, lr)
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
                perms = torch.stack([_cycled(r, n, g[1]) for r, g in zip(rows_of, gens)]).to(dev)
            total = torch.zeros(m, device=dev)
            for b in range(n_batches):
                rows = perms[:, b * batch_size:(b + 1) * batch_size]
                v = _views(aug, xd, rows, wld, [g[2] for g in gens])
                z = proj_net(features(model, v))[1]
                loss = _ssl_loss(method, z, rows.shape[1], tau)
                opt.zero_grad(set_to_none=True)
                loss.sum().backward()
                opt.step()
                steps += 1
                if steps % _SUBNORMAL_EVERY == 0:
                    _zero_tiny_moments(opt)
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


def _cycled(rows: torch.Tensor, length: int, gen: torch.Generator) -> torch.Tensor:
    """``length`` of ``rows`` in random order: permutations of them, one after the other."""
    parts, have = [], 0
    while have < length:
        parts.append(rows[torch.randperm(rows.numel(), generator=gen)])
        have += rows.numel()
    return torch.cat(parts)[:length]


# -- labelled data --------------------------------------------------------------------------------
def _labelled(data: Any, target: Any, wavelength: Any, split: Any
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict[str, np.ndarray]]:
    from .training import load_training_data

    x, y, wl, _ = load_training_data(data, target, wavelength)
    if not isinstance(split, dict) or "train" not in split:
        raise ValueError(f"split must be a dict with 'train' (and 'val', 'test') row indices; got {split!r}")
    parts = {k: np.asarray(split.get(k, []), dtype=np.int64).ravel() for k in ("train", "val", "test")}
    for k, v in parts.items():
        if v.size and (v.min() < 0 or v.max() >= x.shape[0]):
            raise ValueError(f"split[{k!r}] must hold row indices in 0 … {x.shape[0] - 1}")
    if parts["train"].size < 2:
        raise ValueError(f"split['train'] must hold at least 2 rows; got {parts['train'].size}")
    return x, y, wl.float(), parts


def _r2(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    return np.asarray(r2_score(y, pred), dtype=np.float64)


@dataclass
class FineTuned:
    """Few-label results, per member (seed): ``metrics`` {"val_r2", "test_r2", "test_mae"} (M,),
    ``predictions`` (M, N_test, s) in the data's units, ``history["val_r2"]`` (M, epochs),
    ``best_epoch`` (M,), the fitted ``model`` (None for a linear probe), ``scaling``,
    ``settings`` and ``seconds``."""

    metrics: dict[str, np.ndarray]
    predictions: np.ndarray
    history: dict[str, np.ndarray]
    best_epoch: np.ndarray
    model: MLPEnsemble | None
    scaling: LabelScaling
    settings: dict[str, Any]
    seconds: float = 0.0


def _final(y: torch.Tensor, parts: dict, predict: Any) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Validation and test metrics, the test rows predicted once, here, at the end."""
    out = {}
    yn = y.double().numpy()
    for part in ("val", "test"):
        rows = parts[part]
        if rows.size:
            pred = predict(rows)
            out[f"{part}_r2"] = _r2(yn[rows], pred)
            if part == "test":
                out["test_mae"] = np.asarray(mae(yn[rows], pred), dtype=np.float64)
                test_pred = pred
    if not parts["test"].size:
        test_pred = np.zeros((0,))
    return out, test_pred


def linear_probe(
    pre: Pretrained,
    data: Any,
    target: Any = None,
    wavelength: Any = None,
    *,
    split: dict[str, Any],
    lambdas: Sequence[float] = tuple(10.0 ** k for k in range(-4, 5)),
) -> FineTuned:
    """Ridge regression on the frozen features of every member of ``pre`` (batched closed form).

    Features standardised by their training mean and std; ridge penalty λ·n_train on the
    coefficients (intercept free), chosen per member by validation R² from ``lambdas`` (by
    training R² when there is no validation part). The test rows are predicted once, at the end.
    """
    t0 = time.perf_counter()
    x, y, _, parts = _labelled(data, target, wavelength, split)
    lam = torch.as_tensor([float(check_positive(v, "lambdas", "ridge penalties")) for v in lambdas],
                          dtype=torch.float64)
    scaling = LabelScaling.fit(y[parts["train"]])
    model = pre.model
    dev = model.raw[0].device
    with torch.no_grad():
        f = features(model, x.to(dev)).double().cpu()  # (M, N, d)
    tr = torch.as_tensor(parts["train"])
    mu, sd = f[:, tr].mean(1, keepdim=True), f[:, tr].std(1, keepdim=True).clamp_min(1e-8)
    fz = (f - mu) / sd
    ys = scaling(y).double()
    ym = ys[tr].mean(0)
    ft, yt = fz[:, tr], ys[tr] - ym
    g = ft.transpose(1, 2) @ ft  # (M, d, d)
    rhs = ft.transpose(1, 2) @ yt  # (M, d, s)
    eye = torch.eye(g.shape[-1], dtype=torch.float64)
    w = torch.linalg.solve(g[None] + lam[:, None, None, None] * tr.numel() * eye, rhs[None])  # (L, M, d, s)
    sel_rows = parts["val"] if parts["val"].size else parts["train"]
    sel = torch.as_tensor(sel_rows)
    pred_sel = scaling.inverse(fz[None, :, sel] @ w + ym).numpy()  # (L, M, n, s)
    score = _r2(y[sel_rows].double().numpy(), pred_sel)  # (L, M)
    best = score.argmax(axis=0)
    wb = w[torch.as_tensor(best), torch.arange(w.shape[1])]  # (M, d, s)

    def predict(rows: np.ndarray) -> np.ndarray:
        return scaling.inverse(fz[:, torch.as_tensor(rows)] @ wb + ym).numpy()

    metrics, test_pred = _final(y, parts, predict)
    metrics["lambda"] = lam[torch.as_tensor(best)].numpy()
    return FineTuned(metrics, test_pred, {}, np.zeros(len(pre.seeds), dtype=np.int64), None, scaling,
                     {"probe": "ridge on standardised frozen features", "lambdas": lam.tolist(),
                      "selection": "validation R²" if parts["val"].size else "training R²"},
                     time.perf_counter() - t0)


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
    x, y, wl, parts = _labelled(data, target, wavelength, split)
    seed_list = _seeds(pre.seeds if seeds is None and pre is not None else (0 if seeds is None else seeds))
    if pre is not None and seed_list != pre.seeds:
        raise ValueError(f"seeds must match the pretrained members' seeds {pre.seeds}; got {seed_list}")
    epochs = _positive_int(epochs, "epochs")
    batch_size = _positive_int(batch_size, "batch_size")
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
    method = _method(ssl_method or (pre.method if pre is not None else "simclr"))
    if ssl_weight > 0:
        if unlabelled is None:
            raise ValueError("ssl_weight > 0 needs unlabelled spectra (unlabelled=); got None")
        xu = as_spectra(unlabelled, name="unlabelled", dtype=torch.float32)
        if xu.shape[1] != x.shape[1]:
            raise ValueError(f"unlabelled must have the labelled data's {x.shape[1]} bands; got {xu.shape[1]}")
        ssl_batch = min(_positive_int(ssl_batch, "ssl_batch"), xu.shape[0])
        if ssl_batch < 2:
            raise ValueError("unlabelled must hold at least 2 spectra for the self-supervised term")
    fw, hw = check_widths(feature_widths, "feature_widths"), check_widths(head_widths, "head_widths", True)
    if pre is not None:
        fw, hw = pre.model.feature_widths, pre.model.head_widths
    dev = _device(device)
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(_positive_int(threads, "threads"))
    try:
        m = len(seed_list)
        gens = [_streams(s, 2) for s in seed_list]
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
        opt = _optimizer(trainable, lr)
        scaling = LabelScaling.fit(y[parts["train"]])
        tr = torch.as_tensor(parts["train"])
        x_tr, y_tr = x[tr].to(dev), scaling(y[tr]).to(dev)
        wld = wl.to(dev)
        aug_lab = _build_aug(augmentation, x[tr], "batch") if alpha > 0 else None
        aug_ssl = _build_aug(augmentation, xu, "sample") if ssl_weight > 0 else None
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
                    v = _views(aug_ssl, xu_d, urows, wld, [g[2] for g in gens])
                    z = proj_net(features(model, v))[1]
                    total = total + ssl_weight * _ssl_loss(method, z, ssl_batch, ssl_tau)
                opt.zero_grad(set_to_none=True)
                total.sum().backward()
                opt.step()
                steps += 1
                if steps % _SUBNORMAL_EVERY == 0:
                    _zero_tiny_moments(opt)
            if x_va is not None:
                with torch.no_grad():
                    pv = model(x_va)[1].cpu()
                val_mse = (pv - y_va).square().sum(-1).mean(-1)
                val_hist.append(_r2(y[torch.as_tensor(va)].double().numpy(), scaling.inverse(pv).double().numpy()))
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

    metrics, test_pred = _final(y, parts, predict)
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
