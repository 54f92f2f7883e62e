"""Training the contrastive regressor (eqs. 9–10), many models at once, and evaluating it.

:func:`fit` trains every pair (configuration, seed) — a *member* — as one batched
ensemble (:class:`hsaug.models.MLPEnsemble`): stacked weights, one ``bmm`` per layer,
one Adam. A :class:`Config` is an augmentation (or None), the trade-off α of eq. (9),
the ball radius r, the temperature τ and the contrastive loss's name; α = 0 is the
plain MLP trained on MSE alone (no augmentation is drawn then).

Per step and member: a batch of N spectra X, its augmented copy X̃ (contrastive members
only), ``L = L_R + α L_contrastive`` with ``L_R = 1/N Σ_i ‖y_i − ŷ_i‖²`` (eq. 10: squared
error summed over the outputs, averaged over the batch) and the contrastive loss on the
2N features (see :mod:`hsaug.losses`). The ensemble minimises the sum of the members'
losses, so each member gets exactly its own gradient.

Targets: every output is scaled to [0, 1] by its training-set min and max
(:class:`hsaug.losses.LabelScaling`); the network regresses the scaled targets, the ball
test uses them (so r is a fraction of each output's range), and predictions and metrics
are given back in the data's units.

Randomness: one seeded train/validation/test split shared by all members
(``split_seed``); each member's ``seed`` spawns three independent streams
(``numpy.random.SeedSequence(seed).spawn(3)``) for its initial weights, its data order
(a fresh permutation of the training rows every epoch) and its augmentation draws. Two
members with the same seed therefore start from the same weights and see the same
batches, whatever their configuration (a paired comparison); a member's numbers do not
depend on which other members share its ensemble (on CPU, bitwise — a test checks it).

Augmentations are drawn per member and per batch from the member's own generator and
applied once per group of members sharing an augmentation, ``AUG_CHUNK`` batches at a
time (a loop over configurations, never over spectra). A combination (``"shift+elastic"``,
a list) is a :class:`hsaug.augment.OneOf`: one member augmentation per batch, as in the
authors' loop.

Inputs: the model's first stage is a preprocessing fitted on the training rows only
(``TrainSettings.preprocess``, default ``"standardize"``; ``"none"`` is the paper's protocol and
adds no operation). Augmentations act on the spectra as the data declare them, before it; one
that contains a physics augmentation (scattering, atmospheric) acts on exact reflectance
converted from the declared ``quantity`` / ``reflectance_scale``
(:func:`hsaug.datasets.reflectance_transform`) and converted back, or is refused when the data
do not say what they are; ``FitResult.conversions`` lists every conversion made.
``TrainSettings.constraint`` (:mod:`hsaug.predictor`) fixes the output head.

Speed (benchmarks/training_throughput.py, 2 cores): the Table-1 protocol, 45 models ×
100 epochs × 8,000 pixels, runs as one call in ≈ 2.2 s per epoch when the cores are free
(≈ 3.7 min), against ≈ 0.33 s per epoch for one contrastive model alone (≈ 24 min for
45 one after the other). On a shared or CPU-quota machine pass ``threads=1``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import xarray as xr

from . import augment
from . import preprocess as _preprocess
from .config import Config, TrainSettings, as_config, resolve_device
from .losses import LOSSES, LabelScaling, loss_names
from .metrics import METRICS, mae, r2_score, regression_metrics
from .models import MLPEnsemble
from .optim import SUBNORMAL_EVERY, adam, zero_tiny_moments
from .predictor import constrain
from .results import HISTORY_KEYS, FitResult
from .spectra import as_spectra, check_wavelength, dataset_tensors, describe
from .splits import member_generators, resolve_split

__all__ = ["fit", "load_training_data", "augment_members", "Config", "describe_conversions"]

AUG_CHUNK = 16  # batches augmented per call (fewer, larger augmentation calls)


# -- augmentation of several members, each with its own generator ------------------------------------
# written once, with the augmentations: hsaug.augment.members and each class's apply_members
augment_members = augment.augment_members


# -- data ------------------------------------------------------------------------------------------
def load_training_data(data: Any, target: Any, wavelength: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[str]]:
    if isinstance(data, xr.Dataset):
        if target is not None or wavelength is not None:
            raise ValueError("pass either a Dataset (with 'spectra' and 'target') or spectra with target and "
                             "wavelength, not both")
        x, y, wl = dataset_tensors(data)
        outputs = [str(o) for o in data["output"].values] if "output" in data.coords else \
            [f"target_{i}" for i in range(y.shape[1])]
        return x, y, wl, outputs
    if target is None:
        raise ValueError("target is required when data is not an xarray.Dataset; got None")
    if wavelength is None and isinstance(data, xr.DataArray) and "wavelength" in data.coords:
        wavelength = data["wavelength"].values
    if wavelength is None:
        raise ValueError("wavelength [nm] is required with spectra that are not a DataArray; got None")
    x = as_spectra(data, name="spectra", dtype=torch.float32)
    wl = check_wavelength(wavelength, x.shape[1])
    try:
        y = torch.as_tensor(np.asarray(target.detach().cpu() if isinstance(target, torch.Tensor) else target,
                                       dtype=np.float32))
    except (TypeError, ValueError) as err:
        raise ValueError(f"target must hold numbers (N,) or (N, s); got {describe(target)} ({err})") from None
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2:
        raise ValueError(f"target must be (N,) or (N, s); got {describe(target)}")
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"target has {y.shape[0]} rows but spectra have {x.shape[0]}; they must match")
    if not torch.isfinite(y).all():
        bad = int((~torch.isfinite(y)).any(dim=1).sum())
        raise ValueError(f"target must be finite; {bad} rows contain NaN or inf")
    return x.cpu(), y, wl, [f"target_{i}" for i in range(y.shape[1])]


# -- what the spectra are, and what physics augmentations need --------------------------------------
#: augmentations defined on reflectance in [0, 1] (an augmentation may also declare ``needs_reflectance``)
REFLECTANCE_AUGMENTATIONS = ("scattering", "atmospheric")


def _declared(data: Any) -> tuple[Any, dict[str, Any], list[str]]:
    """(the xarray object that declares the quantity or None, {"quantity", "reflectance_scale"},
    target units per output) of the training data."""
    from .datasets import quantity_of

    if not isinstance(data, (xr.Dataset, xr.DataArray)):
        return None, {"quantity": "unknown", "reflectance_scale": None}, []
    q, scale = quantity_of(data)
    if q == "reflectance" and scale is None:
        scale = 1.0
    units: list[str] = []
    if isinstance(data, xr.Dataset) and "target" in data:
        u = data["target"].attrs.get("units", "")
        n = data.sizes.get("output", 1)
        units = [str(v) for v in u] if isinstance(u, (list, tuple, np.ndarray)) else [str(u)] * n
    return data, {"quantity": q, "reflectance_scale": scale}, units


def _needs_reflectance(aug: Any) -> list[str]:
    """Names of the augmentations inside ``aug`` that are defined on reflectance."""
    if aug is None:
        return []
    out = []
    for sub in getattr(aug, "augmentations", ()):
        out += _needs_reflectance(sub)
    flag = getattr(aug, "needs_reflectance", None)
    if flag is True or (flag is None and getattr(aug, "name", None) in REFLECTANCE_AUGMENTATIONS):
        out.append(aug.name)
    return out


def _reflectance_io(declaring: Any, quantity: dict[str, Any], label: str, physics: list[str]) -> tuple[Any, Any, str]:
    """(to_reflectance, from_reflectance, what was done) for the augmentation ``label`` that contains the
    physics augmentations ``physics``: exact torch maps from the declared values, or ValueError."""
    q, scale = quantity["quantity"], quantity["reflectance_scale"]
    why = (f"augmentation {label!r} contains {', '.join(physics)}, defined on reflectance in [0, 1] (eq. 3-5)")
    if declaring is None or q == "unknown":
        raise ValueError(f"{why}, but the spectra do not say what they are (quantity {q!r}). Pass an xarray Dataset "
                         "whose attrs declare quantity='reflectance' (with reflectance_scale=100 for percent, 10000 "
                         "for scaled integers) or 'absorbance', e.g. from hsaug.datasets.read_dataset(..., "
                         "quantity=...), or leave physics augmentations out")
    from .datasets import reflectance_transform

    try:
        to_r, from_r = reflectance_transform(declaring)
    except ValueError as err:
        raise ValueError(f"{why}; {err}") from None
    if q == "reflectance" and float(scale) == 1.0:
        return to_r, from_r, ""
    if q == "reflectance":
        what = (f"augmentation {label!r}: spectra declared reflectance × {float(scale):g} were divided by "
                f"{float(scale):g} (÷ {float(scale):g}) for {', '.join(physics)} and multiplied back after it; the "
                "model sees them as declared")
    elif q == "absorbance":
        what = (f"augmentation {label!r}: spectra declared {q} A were converted to reflectance R = 10^(-A) for "
                f"{', '.join(physics)} and back (A = -log10 R) after it; the model sees them as declared")
    else:
        what = (f"augmentation {label!r}: spectra declared {q} were converted exactly to reflectance for "
                f"{', '.join(physics)} (hsaug.datasets.reflectance_transform) and back after it; the model sees "
                "them as declared")
    return to_r, from_r, what


def describe_conversions(data: Any, augmentations: Sequence[Any]) -> list[str]:
    """What :func:`fit` will do to ``data`` (a Dataset or DataArray declaring its quantity) for each of
    ``augmentations`` (specs as :class:`Config` takes them): one line per augmentation that contains a physics
    augmentation and needs a conversion (none for reflectance as fractions, none for the others, which act on
    the spectra as declared). ValueError, saying why, when one cannot be converted exactly. Trains nothing."""
    declaring, quantity, _ = _declared(data)
    out = []
    for spec in augmentations:
        cfg = as_config(spec)
        physics = _needs_reflectance(cfg.build())
        if physics:
            what = _reflectance_io(declaring, quantity, cfg.label, physics)[2]
            if what:
                out.append(what)
    return out


# -- training --------------------------------------------------------------------------------------
def _runs(keys: Sequence[Any]) -> list[tuple[slice, Any]]:
    """Consecutive runs of equal keys: [(slice, key), ...]."""
    out, start = [], 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[start]:
            out.append((slice(start, i), keys[start]))
            start = i
    return out


def _make_optimizer(params: Any, lr: float, device: torch.device) -> torch.optim.Optimizer:
    return adam(params, lr)


def fit(
    data: Any,
    target: Any = None,
    wavelength: Any = None,
    *,
    configs: Any = None,
    settings: TrainSettings | None = None,
    progress: bool = True,
    callback: Any = None,
    **overrides: Any,
) -> FitResult:
    """Train every (configuration, seed) pair as one batched ensemble; evaluate on the test set.

    ``data``: an ``xarray.Dataset`` with ``spectra`` (sample, wavelength) and ``target``
    (sample, output), or spectra (N, B) with ``target`` (N,) / (N, s) and ``wavelength``
    (B,) [nm]. ``configs``: a :class:`~hsaug.config.Config`, a list of them (or dicts of
    their fields, augmentation specs, None for the baseline); default ``[Config()]``
    (shift, eq. 8). ``settings``: a :class:`~hsaug.config.TrainSettings` (epochs, batch
    size, lr, seeds, split, patience, widths, device, threads; its defaults otherwise);
    ``overrides``: any of its fields by name, for a quick call (``fit(ds, epochs=5)``) —
    here ``seeds=3`` means the one seed 3 (a list gives several). Patience: early stopping
    per member, keeping its best epoch's weights (needs a validation set); the default
    ``"auto"`` is 10 % of the epochs, at least 5, with a validation set (none without one):
    epochs are a selection on validation data (:attr:`TrainSettings.early_stopping`). ``progress``: a
    tqdm bar over epochs. ``callback(epoch, metrics)`` is called after every epoch with
    ``metrics`` mapping each of ``HISTORY_KEYS`` to that epoch's (M,) values, members in
    the result's order (e.g. :class:`hsaug.widgets.TrainingMonitor`). ``threads`` (a
    setting): torch CPU threads while training, restored afterwards; on a shared or
    CPU-quota machine (Binder, CI) use 1: with more threads than free cores every parallel
    op waits for a descheduled thread, and epochs run tens of times slower.

    Raises ``FloatingPointError`` naming the member (configuration and seed) and the epoch
    when a member's training loss turns NaN or infinite (a learning rate or α too large).
    """
    if isinstance(overrides.get("seeds"), (int, np.integer)) and not isinstance(overrides["seeds"], bool):
        if overrides["seeds"] < 0:
            raise ValueError(f"seeds must be one or more non-negative integers; got {overrides['seeds']!r}")
        overrides["seeds"] = (overrides["seeds"],)  # fit(seeds=3): the seed 3, as before
    settings = TrainSettings.build(settings, **overrides)
    x_all, y_all, wl, outputs = load_training_data(data, target, wavelength)
    declaring, quantity, units = _declared(data)
    cfgs = [as_config(c) for c in (configs if isinstance(configs, (list, tuple)) else
                                   [Config() if configs is None else configs])]
    if not cfgs:
        raise ValueError("configs must hold at least one configuration; got an empty list")
    seed_list = list(settings.seeds)
    if callback is not None and not callable(callback):
        raise ValueError(f"callback must be callable as callback(epoch, metrics); got {callback!r}")
    fw, hw, batch_size, patience, threads = (settings.feature_widths, settings.head_widths, settings.batch_size,
                                            settings.early_stopping, settings.threads)
    dev = resolve_device(settings.device)
    parts = resolve_split(x_all.shape[0], settings.split, settings.val_fraction, settings.test_fraction,
                          settings.split_seed)
    n_train = parts["train"].size
    if batch_size > n_train:
        raise ValueError(f"batch_size must be at most the number of training spectra ({n_train}); got {batch_size}")
    if patience is not None and parts["val"].size == 0:
        raise ValueError("patience (early stopping) needs a validation set; got val_fraction=0 / an empty split['val']")

    members = [(c, int(s)) for c in cfgs for s in seed_list]
    t0 = time.perf_counter()
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        trainer = _Trainer(members, x_all, y_all, wl, parts, batch_size=batch_size, lr=settings.lr, fw=fw, hw=hw,
                           device=dev, preprocess=settings.preprocess, constraint=settings.constraint,
                           declaring=declaring, quantity=quantity)
        trainer.train(settings.epochs, patience, progress, callback)
    finally:
        torch.set_num_threads(before)
    record = {"epochs": settings.epochs, "batch_size": batch_size, "lr": settings.lr,
              "val_fraction": settings.val_fraction, "test_fraction": settings.test_fraction,
              "split_seed": settings.split_seed, "patience": patience,
              "feature_widths": list(fw), "head_widths": list(hw), "device": str(dev),
              "threads": threads if threads is not None else before,
              "n_train": int(n_train), "n_val": int(parts["val"].size), "n_test": int(parts["test"].size),
              "optimizer": "Adam", "regression_loss": "eq. 10: squared error summed over outputs, batch mean",
              "target_scaling": "per output to [0, 1] by training min/max",
              "preprocess": settings.preprocess, "constraint": settings.constraint, "quantity": quantity,
              "conversions": list(trainer.conversions)}
    result = trainer.result(cfgs, seed_list, outputs, record)
    result.units = units or [""] * len(outputs)
    result.seconds = time.perf_counter() - t0
    return result


class _Trainer:
    """The batched training loop. Members are kept internally in an order that makes every
    group (contrastive or not, loss name, augmentation) a contiguous slice."""

    def __init__(self, members: list[tuple[Config, int]], x: torch.Tensor, y: torch.Tensor, wl: torch.Tensor,
                 parts: dict[str, np.ndarray], *, batch_size: int, lr: float, fw: tuple[int, ...],
                 hw: tuple[int, ...], device: torch.device, preprocess: Any = "none", constraint: str = "none",
                 declaring: Any = None, quantity: dict[str, Any] | None = None) -> None:
        self.device = device
        self.batch_size = batch_size
        aug_keys: dict[Any, int] = {}
        for c, _ in members:
            aug_keys.setdefault(c._aug_key, len(aug_keys))
        loss_order = {n: i for i, n in enumerate(loss_names())}
        # members drawing views first ([0, mc)), contrastive ones first among them ([0, n_con))
        self.order = sorted(range(len(members)), key=lambda m: (
            not members[m][0].uses_views, not members[m][0].contrastive, loss_order[members[m][0].loss],
            aug_keys[members[m][0]._aug_key]))
        mem = [members[m] for m in self.order]
        self.members = mem
        self.m = len(mem)
        self.mc = sum(c.uses_views for c, _ in mem)
        self.n_con = sum(c.contrastive for c, _ in mem)
        self.views_mse = torch.tensor([c.mse_on_views for c, _ in mem[:self.mc]], device=device)
        self.any_views_mse = bool(self.views_mse.any())

        self.split = parts
        tr, va, te = (torch.as_tensor(parts[k]) for k in ("train", "val", "test"))
        self.scaling = LabelScaling.fit(y[tr])
        # the model's first stage, fitted on the training rows only; augmentations act on the physical
        # spectra (x_phys) before it. "none" adds no operation: the numbers are those of the spectra as given
        self.pre = _preprocess.build(preprocess).fit(x[tr]).to(device)
        self.pre_identity = isinstance(self.pre, _preprocess.Identity)
        self.x_phys = x[tr].to(device)
        self.x_train = self.x_phys if self.pre_identity else self.pre(self.x_phys)
        self.y_train = self.scaling(y[tr]).to(device)
        self.x_val, self.y_val = self.pre(x[va].to(device)), y[va]
        self.x_test, self.y_test = self.pre(x[te].to(device)), y[te]
        self.constraint = constraint
        self.low, self.span = self.scaling.low.to(device), self.scaling.span.to(device)
        self.wl = wl.to(device)
        self.n_train = tr.numel()

        gens = [member_generators(s) for _, s in mem]
        self.order_gens = [g[1] for g in gens]
        self.aug_gens = [g[2] for g in gens]
        # two ensembles, contrastive members [0, mc) and MSE-only members [mc, M): each runs whole
        # (no slicing of stacked weights, whose backward would copy the full gradients)
        self.groups: list[tuple[slice, MLPEnsemble]] = []
        for sl in (slice(0, self.mc), slice(self.mc, self.m)):
            if sl.stop > sl.start:
                self.groups.append((sl, MLPEnsemble(x.shape[1], y.shape[1], sl.stop - sl.start, feature_widths=fw,
                                                    head_widths=hw, init=[g[0] for g in gens[sl]], device=device)))
        self.params = [(p, sl) for sl, model in self.groups for p in model.parameters()]
        self.lr = lr
        self.opt = _make_optimizer([p for p, _ in self.params], lr, device)
        self.steps = 0

        self.alpha, self.r, self.tau = (torch.tensor([getattr(c, a) for c, _ in mem], dtype=torch.float32,
                                                     device=device) for a in ("alpha", "r", "tau"))
        self.loss_runs = _runs([c.loss for c, _ in mem[:self.n_con]])
        # one augmentation object per distinct spec, fitted on the training spectra when it needs it; one
        # containing physics (scattering, atmospheric) acts on exact reflectance converted from the declared
        # quantity and converted back, the others on the spectra as declared
        built: dict[Any, Any] = {}
        io: dict[Any, tuple[Any, Any]] = {}
        self.conversions: list[str] = []
        quantity = quantity or {"quantity": "unknown", "reflectance_scale": None}
        views = mem[:self.mc]
        for c, _ in views:
            if c._aug_key not in built:
                built[c._aug_key] = aug = c.build()
                physics = _needs_reflectance(aug)
                if physics:
                    to_r, from_r, what = _reflectance_io(declaring, quantity, c.label, physics)
                    if what:
                        self.conversions.append(what)
                else:
                    to_r = from_r = None
                io[c._aug_key] = (to_r, from_r)
                source = self.x_phys if to_r is None else to_r(self.x_phys)
                augment.fit_reference(aug, source)
                if aug is not None:  # one pass over the training set: fail now, not mid-training
                    try:
                        augment_members(aug, source[None], self.wl, [torch.Generator().manual_seed(0)],
                                        torch.arange(self.n_train, device=device)[None])
                    except ValueError as err:
                        raise ValueError(f"augmentation {c.label!r} cannot be applied to the training "
                                         f"spectra: {err}") from None
        self.aug_runs = [(sl, built[key], *io[key]) for sl, key in _runs([c._aug_key for c, _ in views])]

        self.history = {k: [] for k in HISTORY_KEYS}
        self.best_val = torch.full((self.m,), math.inf)
        self.best_epoch = np.zeros(self.m, dtype=np.int64)
        self.stopped_at = np.zeros(self.m, dtype=np.int64)  # 0 = still running
        self.best_state: list[torch.Tensor] | None = None

    def augment_chunk(self, rows: torch.Tensor, sizes: list[int]) -> torch.Tensor:
        """Augmented views (Mc, R, B) of the training rows ``rows`` (Mc, R) of the members
        drawing views, R = sum of the batch ``sizes``: one augmentation call per group for several
        batches, each batch of each member drawing from that member's generator."""
        b = self.x_phys.shape[1]
        xa = self.x_phys.index_select(0, rows.reshape(-1)).view(*rows.shape, b)
        for sl, aug, to_r, from_r in self.aug_runs:
            if aug is None:
                continue
            g = sl.stop - sl.start
            gens = [gen for gen in self.aug_gens[sl] for _ in sizes]
            src = xa[sl].reshape(-1, b)
            out = augment.apply_rows(aug, src if to_r is None else to_r(src), self.wl, gens, sizes * g,
                                     rows[sl].reshape(-1))
            xa[sl] = (out if from_r is None else from_r(out)).view(g, -1, b)
        if not self.pre_identity:  # the model's first stage, after the augmentation
            xa = self.pre(xa.reshape(-1, b)).view(*rows.shape, b)
        return xa

    def head(self, p: torch.Tensor, training: bool = False) -> torch.Tensor:
        """Network outputs → scaled predictions under the output constraint (``"none"``: the outputs
        themselves, no operation). ``"sum_to_one"`` (a softmax) is trained through; ``"nonneg"`` is a
        projection of the predictions only: a relu inside the loss passes no gradient to a negative
        output, and an output stuck there stays at 0 (measured: docs/models.md)."""
        if self.constraint == "none" or (training and self.constraint == "nonneg"):
            return p
        return (constrain(p, self.low, self.span, self.constraint) - self.low) / self.span

    # one optimisation step for all members; returns per-member (loss, mse, contrastive)
    def step(self, idx: torch.Tensor, xa: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``idx`` (M, n) training rows of each member's batch, ``xa`` (Mc, n, B) their augmented views."""
        mc, m, n_con = self.mc, self.m, self.n_con
        flat = idx.reshape(-1)
        xb = self.x_train.index_select(0, flat).view(*idx.shape, -1)  # (M, n, B)
        yb = self.y_train.index_select(0, flat).view(*idx.shape, -1)  # (M, n, s)
        n = idx.shape[1]
        mses, feats = [], None
        if mc:
            f, p = self.groups[0][1](torch.cat([xb[:mc], xa], dim=1))
            p = self.head(p, training=True)
            mse = (p[:, :n] - yb[:mc]).square().sum(dim=-1).mean(dim=-1)  # eq. (10), (Mc,)
            if self.any_views_mse:  # mean of the batch's and the views' MSE for those members
                on_views = (p[:, n:] - yb[:mc]).square().sum(dim=-1).mean(dim=-1)
                mse = torch.where(self.views_mse, 0.5 * (mse + on_views), mse)
            mses.append(mse)
            feats = f
        if mc < m:
            mses.append((self.head(self.groups[-1][1](xb[mc:])[1], training=True) - yb[mc:]).square().sum(dim=-1)
                        .mean(dim=-1))
        mse = mses[0] if len(mses) == 1 else torch.cat(mses)
        if n_con:
            con = [LOSSES[name](feats[sl], yb[sl], self.r[sl], self.tau[sl]) for sl, name in self.loss_runs]
            if n_con < m:
                con.append(torch.zeros(m - n_con, device=self.device))
            contrastive = con[0] if len(con) == 1 else torch.cat(con)
            total = mse + self.alpha * contrastive
        else:
            contrastive = torch.zeros_like(mse)
            total = mse
        self.opt.zero_grad(set_to_none=True)
        total.sum().backward()
        self.opt.step()
        self.steps += 1
        if self.steps % SUBNORMAL_EVERY == 0:  # see hsaug.optim
            zero_tiny_moments(self.opt)
        return total.detach(), mse.detach(), contrastive.detach()

    @torch.no_grad()
    def predict_scaled(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.head(model.predict(x)) for _, model in self.groups]).cpu()

    def train(self, epochs: int, patience: int | None, progress: bool, callback: Any = None) -> None:
        from tqdm.auto import tqdm

        bs, n_train = self.batch_size, self.n_train
        has_val = self.x_val.shape[0] > 0
        if patience is not None:
            self.best_state = [p.detach().clone() for p, _ in self.params]
        bar = tqdm(range(1, epochs + 1), desc=f"training {self.m} model{'s' * (self.m > 1)}", disable=not progress,
                   leave=False)
        self.epoch_seconds = []
        for epoch in bar:
            t_epoch = time.perf_counter()
            perms = torch.stack([torch.randperm(n_train, generator=g) for g in self.order_gens]).to(self.device)
            sums = torch.zeros(3, self.m, device=self.device)
            batches = [(a, min(a + bs, n_train)) for a in range(0, n_train, bs)]
            n_batches = len(batches)
            for c0 in range(0, n_batches, AUG_CHUNK):  # augment AUG_CHUNK batches at a time
                chunk = batches[c0:c0 + AUG_CHUNK]
                lo, hi = chunk[0][0], chunk[-1][1]
                xa = self.augment_chunk(perms[:self.mc, lo:hi], [b - a for a, b in chunk]) if self.mc else None
                for a, b in chunk:
                    out = self.step(perms[:, a:b], None if xa is None else xa[:, a - lo:b - lo])
                    sums += torch.stack(out)
            means = (sums / n_batches).cpu().numpy()
            self._check_finite(means[0], epoch)
            for k, v in zip(("loss", "mse", "contrastive"), means):
                self.history[k].append(v)
            if has_val:
                pred = self.scaling.inverse(self.predict_scaled(self.x_val))
                val_mse = (self.scaling(pred) - self.scaling(self.y_val)).square().sum(-1).mean(-1)
                self.history["val_mse"].append(val_mse.numpy())
                self.history["val_r2"].append(np.asarray(r2_score(self.y_val, pred), dtype=np.float64))
                self.history["val_mae"].append(np.asarray(mae(self.y_val, pred), dtype=np.float64))
            else:
                for k in ("val_mse", "val_r2", "val_mae"):
                    self.history[k].append(np.full(self.m, np.nan))
            running = self.stopped_at == 0
            if has_val:
                val = torch.as_tensor(self.history["val_mse"][-1], dtype=torch.float32)
                better = (val < self.best_val) & torch.as_tensor(running)
                self.best_val = torch.where(better, val, self.best_val)
                self.best_epoch[better.numpy()] = epoch
                if patience is not None and bool(better.any()):
                    for keep, (p, sl) in zip(self.best_state, self.params):
                        sel = better[sl].to(self.device)
                        keep[sel] = p.detach()[sel]
            if patience is not None:
                done = running & (epoch - self.best_epoch >= patience)
                self.stopped_at[done] = epoch
            self.epoch_seconds.append(time.perf_counter() - t_epoch)
            if callback is not None:
                user = np.argsort(self.order)
                callback(epoch, {k: np.asarray(v[-1], dtype=np.float64)[user] for k, v in self.history.items()})
            if progress:
                post = {"loss": f"{float(np.mean(means[0])):.4g}"}
                if has_val:
                    post["val_r2"] = f"{float(np.mean(self.history['val_r2'][-1])):.3f}"
                bar.set_postfix(post)
            if patience is not None and (self.stopped_at > 0).all():
                break
        bar.close()
        self.epochs_run = epoch
        self.stopped_at[self.stopped_at == 0] = epoch
        if patience is not None:
            with torch.no_grad():
                for keep, (p, _) in zip(self.best_state, self.params):
                    p.copy_(keep)
        elif not has_val:
            self.best_epoch[:] = epoch

    def _check_finite(self, losses: np.ndarray, epoch: int) -> None:
        """Stop on the first member (internal order) whose mean training loss is NaN or infinite."""
        bad = ~np.isfinite(losses) & (self.stopped_at == 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            cfg, seed = self.members[i]
            others = int(bad.sum()) - 1
            raise FloatingPointError(
                f"training diverged: member {cfg.label!r} (seed {seed}; alpha={cfg.alpha:g}, r={cfg.r:g}, "
                f"tau={cfg.tau:g}, loss={cfg.loss!r}) has {'a NaN' if np.isnan(losses[i]) else 'an infinite'} "
                f"training loss in epoch {epoch}" + (f" ({others} other member(s) too)" if others else "")
                + f"; lower lr (now {self.lr:g}) or alpha")

    def result(self, cfgs: list[Config], seeds: list, outputs: list[str], settings: dict) -> FitResult:
        inv = np.argsort(self.order)  # internal position of each user-order member
        hist = {}
        for k, rows in self.history.items():
            a = np.stack(rows, axis=1).astype(np.float64)  # (M, epochs_run)
            ep = np.arange(1, a.shape[1] + 1)
            a[ep[None, :] > self.stopped_at[:, None]] = np.nan  # after a member stopped
            hist[k] = a[inv]
        metrics: dict[str, np.ndarray] = {}
        pred_test = self.scaling.inverse(self.predict_scaled(self.x_test)).numpy()[inv] \
            if self.x_test.shape[0] else np.zeros((self.m, 0, self.y_test.shape[1]))
        for part, xs, ys in (("test", self.x_test, self.y_test), ("val", self.x_val, self.y_val)):
            if xs.shape[0]:
                pred = pred_test if part == "test" else self.scaling.inverse(self.predict_scaled(xs)).numpy()[inv]
                vals = regression_metrics(ys, pred)
            else:
                vals = {k: np.full(self.m, np.nan) for k in METRICS}
            metrics.update({f"{part}_{k}": np.asarray(v, dtype=np.float64).reshape(self.m) for k, v in vals.items()})
        model = MLPEnsemble.concat([model for _, model in self.groups]).select(torch.as_tensor(inv))
        return FitResult(
            configs=[c for c in cfgs for _ in seeds], seeds=[int(s) for _ in cfgs for s in seeds],
            history=hist, metrics=metrics, predictions=pred_test.astype(np.float64),
            target=self.y_test.numpy().astype(np.float64),
            split={k: np.asarray(v) for k, v in self.split.items()},
            outputs=outputs, wavelength=self.wl.cpu().numpy(), model=model, scaling=self.scaling,
            epochs_trained=self.stopped_at[inv].copy(), best_epoch=self.best_epoch[inv].copy(),
            settings=settings, epoch_seconds=np.asarray(self.epoch_seconds), preprocess=self.pre.cpu(),
            constraint=self.constraint, quantity=settings.get("quantity"), conversions=list(self.conversions))
