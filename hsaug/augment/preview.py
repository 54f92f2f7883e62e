"""One augmentation on one spectrum, for people looking at it: build and fit, draw, apply,
say in words what each parameter does, and where on the axis the change happens.

Used by :mod:`hsaug.viz` (figures) and :mod:`hsaug.widgets` (explorers); nothing here
draws. Shapes: a spectrum is (B,) or (1, B), a grid (B,) in nm, a reference set (R, B).

* :func:`prepare`, :func:`apply_one`, :func:`draw_params` — an augmentation ready to apply,
  applied once with scalar parameters, one seeded random draw as plain floats;
* :func:`equation`, :func:`role`, :func:`is_cosine`, :func:`angle_deg` — the paper's equation
  for each augmentation, each parameter's role in words, cosines as angles;
* :func:`marks` — what to draw beside the curves: the elastic displacement ε(λ) and its
  kernel centres, the erased bands, the moved blocks of a permutation;
* :func:`table` — original and augmented spectrum with the parameters used (CSV export).
* :func:`feasible`, :func:`paper_setting` — parameters brought inside what a fitted
  augmentation can take; the Fig. 2 setting of :data:`PAPER_FIG2`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from ..spectra import as_spectra, check_wavelength, describe
from ..params import Param
from .base import Augmentation

__all__ = [
    "prepare", "apply_one", "draw_params", "one_spectrum", "equation", "role", "is_cosine", "angle_deg", "marks",
    "table", "kernel_order", "feasible", "paper_setting", "PAPER_FIG2",
]

#: The paper's equation for each augmentation: (number, formula).
EQUATIONS: dict[str, tuple[str, str]] = {
    "shift": ("eq. 1", "x̃(λ) = x(λ − Δ)"),
    "flip": ("eq. 2", "x̃(λ) = x(λ_min + λ_max − λ)"),
    "scattering": ("eqs. 3–4", "x̃ = w / ((1 + 2μ1√(1−w))(1 + 2μ2√(1−w))), w from x at μ0, μ"),
    "atmospheric": ("eq. 5", "x̃ = x (E_sun μ1 + E_sky) / (E_sun μ2 + E_sky)"),
    "elastic": ("eq. 6", "x̃(λ) = x(λ + ε(λ)),  ε(λ) = Σᵢ Aᵢ exp(−(λ − λᵢ)² / 2σ²)"),
    "band_erasure": ("§3.2", "a share of the bands set to 0 (or bridged by a line)"),
    "band_permutation": ("§3.2", "blocks of bands trade places"),
    "nearest_neighbor": ("§3.2", "x̃ = mean of x and its k − 1 nearest reference spectra"),
}

#: Each parameter's role in words, where the spec's doc does not say enough.
_ROLES: dict[tuple[str, str], str] = {
    ("shift", "delta"): "moves every feature by Δ; + is towards longer wavelengths",
    ("flip", "amount"): "0 = original, 1 = the spectrum mirrored about the centre of its range",
    ("scattering", "mu1"): "cosine of the new incidence angle (sun to surface normal); neutral μ0 = cos 30°",
    ("scattering", "mu2"): "cosine of the new emergence angle (surface normal to sensor); neutral μ = cos 30°",
    ("atmospheric", "mu1"): "cosine of the sun's angle to the pixel's surface normal (its illumination)",
    ("atmospheric", "mu2"): "cosine of the sun's angle to the calibration panel's normal; μ1 = μ2 is neutral",
    ("elastic", "sigma"): "width σ shared by all kernels",
    ("band_erasure", "fraction"): "share of the bands erased (shaded)",
    ("band_erasure", "width"): "bands per erased run; 0 = one run",
    ("band_erasure", "position"): "where each run sits in its stretch (0 = start, 1 = end)",
    ("band_permutation", "block"): "bands per block (boundaries drawn as ticks)",
    ("band_permutation", "share"): "share of the blocks that move (moved blocks shaded)",
    ("band_permutation", "seed"): "which blocks move and where: any whole number below 2²⁴",
    ("nearest_neighbor", "k"): "spectra averaged, the spectrum itself included",
}

#: A Fig. 2 setting: one fixed value per parameter inside the authors' ranges (shift of 20 nm,
#: θ = 60°, 10 % erased as one run, all blocks of 20 moved, k = 5), chosen to show each effect;
#: the paper does not print the settings of its Fig. 2.
PAPER_FIG2: dict[str, dict[str, float]] = {
    "shift": {"delta": 20.0},
    "flip": {"amount": 1.0},
    "scattering": {"mu1": math.cos(math.radians(60.0)), "mu2": math.cos(math.radians(60.0))},
    "atmospheric": {"mu1": math.cos(math.radians(60.0)), "mu2": 1.0},
    "elastic": {"A_1": 10.0, "A_2": -10.0, "A_3": 10.0, "lambda_1": 750.0, "lambda_2": 1450.0,
                "lambda_3": 2150.0, "sigma": 100.0},
    "band_erasure": {"fraction": 0.1, "width": 0.0, "position": 0.5},
    "band_permutation": {"block": 20.0, "share": 1.0, "seed": 1.0},
    "nearest_neighbor": {"k": 5.0},
}


def prepare(augmentation: str | Augmentation, reference: Any = None, **config: Any) -> Augmentation:
    """An augmentation ready to apply: built by name (with ``config``) and, when it learns
    from a reference set (e.g. nearest neighbour), fitted on ``reference`` (R, B)."""
    from . import get, names

    if isinstance(augmentation, Augmentation):
        aug = augmentation
        if config:
            raise ValueError(f"config {sorted(config)} only applies when augmentation is a name; got {aug!r}")
    elif isinstance(augmentation, str):
        aug = get(augmentation, **config)
    else:
        raise ValueError(f"augmentation must be a name from {names()} or an Augmentation; "
                         f"got {describe(augmentation)}")
    if reference is not None and aug.needs_reference:
        aug.fit(as_spectra(reference, name="reference"))
    return aug


def one_spectrum(spectrum: Any, wavelength: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """spectrum (B,) or (1, B) and grid (B,) as float32 tensors (1, B), (B,)."""
    arr = spectrum.values if hasattr(spectrum, "dims") else spectrum
    t = arr.float() if isinstance(arr, torch.Tensor) else torch.as_tensor(np.asarray(arr, dtype=np.float32))
    if t.ndim == 1:
        t = t[None, :]
    if t.ndim != 2 or t.shape[0] != 1:
        raise ValueError(f"spectrum must be one spectrum, shape (B,) or (1, B); got {describe(spectrum)}")
    x = as_spectra(t, name="spectrum")
    return x, check_wavelength(wavelength, x.shape[1])


def apply_one(
    aug: Augmentation, spectrum: Any, wavelength: Any, params: Mapping[str, float] | None = None,
    *, index: int | None = None,
) -> np.ndarray:
    """``aug`` applied to one spectrum (B,) with scalar ``params``: a float32 array (B,).

    ``index`` is the spectrum's row in the reference set of augmentations that use one.
    Missing parameters take their neutral default.
    """
    x, wl = one_spectrum(spectrum, wavelength)
    idx = None if index is None else torch.tensor([int(index)])
    out = aug.apply(x, wl, index=idx, **{k: float(v) for k, v in (params or {}).items()})
    return out[0].detach().cpu().numpy()


def draw_params(
    aug: Augmentation, seed: int | torch.Generator | None = 0, wavelength: Any = None
) -> dict[str, float]:
    """One random draw of ``aug``'s parameters as plain floats (seeded, CPU generator)."""
    gen = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(int(seed or 0))
    return {k: float(v[0]) for k, v in aug.sample(1, gen, wavelength).items()}


# -- words -------------------------------------------------------------------------------
def equation(aug: Augmentation | str) -> tuple[str, str]:
    """(equation number, formula) of an augmentation, e.g. ``("eq. 1", "x̃(λ) = x(λ − Δ)")``."""
    name = aug if isinstance(aug, str) else aug.name
    return EQUATIONS.get(name, ("", ""))


def role(aug: Augmentation, p: Param) -> str:
    """What parameter ``p`` of ``aug`` does, in words (with unit where it has one)."""
    if aug.name == "elastic" and p.name.startswith("A_"):
        text = (f"amplitude of kernel {p.name[2:]}: ε peaks at Aᵢ there; the curve is read at λ + ε, "
                "so + A moves features towards shorter wavelengths (opposite to a shift's + Δ)")
    elif aug.name == "elastic" and p.name.startswith("lambda_"):
        text = f"centre of kernel {p.name[7:]} (kernels are kept in wavelength order)"
    else:
        text = _ROLES.get((aug.name, p.name), p.doc or p.display)
    return text


def is_cosine(p: Param) -> bool:
    """Whether ``p`` is the cosine of an angle (μ0, μ, μ1, μ2): unitless, inside (0, 1]."""
    return p.name.startswith("mu") and not p.unit and 0.0 <= p.low and p.high <= 1.0


def angle_deg(mu: float) -> float:
    """θ = arccos μ in degrees (μ clipped to [−1, 1])."""
    return math.degrees(math.acos(max(-1.0, min(1.0, float(mu)))))


def kernel_order(params: Mapping[str, float]) -> dict[str, float]:
    """Elastic parameters with the kernels (A_i, λ_i) renumbered in wavelength order: the
    same displacement, kernel 1 the leftmost."""
    k = sum(1 for name in params if name.startswith("lambda_"))
    pairs = sorted(((params[f"lambda_{i}"], params.get(f"A_{i}", 0.0)) for i in range(1, k + 1)),
                   key=lambda pair: pair[0])
    out = dict(params)
    for i, (lam, amp) in enumerate(pairs, start=1):
        out[f"lambda_{i}"], out[f"A_{i}"] = lam, amp
    return out


# -- where the change happens -------------------------------------------------------------
def _runs(mask: np.ndarray, wl: np.ndarray) -> list[tuple[float, float]]:
    """[(first, last) nm] of each run of True in ``mask`` (B,), edges half a band out."""
    if not mask.any():
        return []
    edges = np.concatenate([[wl[0] - (wl[1] - wl[0]) / 2], (wl[1:] + wl[:-1]) / 2, [wl[-1] + (wl[-1] - wl[-2]) / 2]])
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    starts = np.flatnonzero(np.diff(padded) == 1)
    stops = np.flatnonzero(np.diff(padded) == -1)
    return [(float(edges[a]), float(edges[b])) for a, b in zip(starts, stops)]


def marks(aug: Augmentation, wavelength: Any, params: Mapping[str, float]) -> dict[str, Any]:
    """What to draw beside the curves for ``aug`` at scalar ``params`` on ``wavelength`` (B,) nm.

    ``displacement`` (B,) nm and ``centres`` [(λᵢ, Aᵢ)] for elastic (ε(λ) of eq. 6);
    ``erased`` [(from, to) nm] runs for band erasure; ``moved`` [(from, to) nm] blocks and
    ``blocks`` (boundaries, nm) for band permutation; an empty dict otherwise.
    """
    wl = check_wavelength(wavelength)
    wl_np = wl.double().numpy()
    full = dict(aug.neutral(), **{k: float(v) for k, v in params.items()})
    one = {k: torch.tensor([v], dtype=torch.float32) for k, v in full.items()}
    if aug.name == "elastic":
        from .warp import gaussian_bumps

        k = sum(1 for p in aug.params if p.name.startswith("A_"))
        amps = torch.stack([one[f"A_{i}"] for i in range(1, k + 1)], dim=1)
        centres = torch.stack([one[f"lambda_{i}"] for i in range(1, k + 1)], dim=1)
        eps = gaussian_bumps(wl, amps, centres, one["sigma"])[0].double().numpy()
        return {"displacement": eps, "centres": [(full[f"lambda_{i}"], full[f"A_{i}"]) for i in range(1, k + 1)]}
    if aug.name == "band_erasure" and hasattr(aug, "mask"):
        return {"erased": _runs(aug.mask(wl.shape[0], one)[0].numpy(), wl_np)}
    if aug.name == "band_permutation" and hasattr(aug, "source"):
        b = wl.shape[0]
        moved = aug.source(b, one)[0].numpy() != np.arange(b)
        block = max(1, min(b, int(round(full["block"]))))
        starts = range(0, b - b % block, block)  # only full blocks move
        runs = [_runs(np.isin(np.arange(b), range(s, s + block)), wl_np)[0] for s in starts if moved[s:s + block].any()]
        bounds = [float((wl_np[s - 1] + wl_np[s]) / 2) for s in starts if s > 0]
        return {"moved": runs, "blocks": bounds}
    return {}


def table(
    wavelength: Any, original: Any, augmented: Any, aug: Augmentation, params: Mapping[str, float],
    **context: Any,
) -> tuple[list[str], np.ndarray]:
    """Header lines and a (B, 3) array [wavelength nm, original, augmented] for a CSV.

    The header names the augmentation, its equation, options, every parameter with its unit
    (and angle for cosines) and ``context`` (e.g. source, spectrum), one ``# key: value`` a line.
    """
    wl = check_wavelength(wavelength).double().numpy()
    x0 = np.asarray(original, dtype=float).reshape(-1)
    x1 = np.asarray(augmented, dtype=float).reshape(-1)
    if not x0.shape == x1.shape == wl.shape:
        raise ValueError(f"original and augmented must have one value per band ({wl.size}); "
                         f"got {describe(original)} and {describe(augmented)}")
    lines = [f"augmentation: {aug.name} ({' '.join(equation(aug))})".rstrip()]
    lines += [f"option {k}: {v}" for k, v in aug.option_values.items()]
    for p in aug.params:
        v = float(params.get(p.name, p.default))
        extra = f" (θ = {angle_deg(v):.2f}°)" if is_cosine(p) else ""
        lines.append(f"{p.name}: {v:.6g}{(' ' + p.unit) if p.unit else ''}{extra}")
    lines += [f"{k}: {v}" for k, v in context.items()]
    return lines, np.stack([wl, x0, x1], axis=1)


def feasible(aug: Augmentation, params: Mapping[str, float]) -> dict[str, float]:
    """``params`` with the values the fitted augmentation cannot take brought inside: nearest
    neighbour's ``k`` at most the rows of its reference set."""
    out = {k: float(v) for k, v in params.items()}
    ref = getattr(aug, "reference", None)
    if aug.name == "nearest_neighbor" and "k" in out and ref is not None:
        out["k"] = float(min(out["k"], ref.shape[0]))
    return out


def paper_setting(aug: Augmentation) -> dict[str, float]:
    """The Fig. 2 setting of ``aug`` (:data:`PAPER_FIG2`, neutral where it sets nothing),
    brought inside what the fitted augmentation can take (:func:`feasible`)."""
    neutral = aug.neutral()
    return feasible(aug, dict(neutral, **{k: v for k, v in PAPER_FIG2.get(aug.name, {}).items() if k in neutral}))
