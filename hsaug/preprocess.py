"""Fitted input transforms that travel with a model: the first stage of :class:`hsaug.predictor.Model`.

Chosen by name (``build("standardize")``, ``build("snv+savgol(window=11,polyorder=2,deriv=1)")``)
and composed left to right with ``+``. Each step is a small ``torch.nn.Module`` on spectra
``x`` (N, B) float:

* ``none`` — the identity;
* ``standardize`` — per band ``(x − mean) / std``, mean and std fitted on the spectra given
  to :meth:`Preprocess.fit` (the training rows only; a constant band gets std 1);
* ``scale`` — ``(x − mean) / std`` with one mean and std over all bands and training spectra
  (units removed, spectral shape and relative band variance kept);
* ``snv`` — standard normal variate, per spectrum ``(x − mean_row) / std_row`` (nothing fitted);
* ``savgol`` — Savitzky–Golay smoothing or derivative along the bands, ``window`` (odd,
  > ``polyorder``), ``polyorder``, ``deriv`` and ``delta`` (the band spacing the derivative
  is taken over, default 1 = per band). Coefficients come from ``scipy.signal.savgol_coeffs``;
  the interior is one ``conv1d``, the first and last ``window // 2`` bands are fitted as
  ``scipy.signal.savgol_filter(mode="interp")`` does (a polynomial over the edge window), so
  the numbers equal scipy's.

Every step has ``fit(x)`` (returns self), ``__call__(x)`` / ``forward(x)``, ``state()`` (JSON-able,
floats exact: fitted statistics are float32 stored as the exact Python floats) and
:func:`from_state` rebuilds it bitwise. NaN in a spectrum stays in that spectrum.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from .spectra import describe

__all__ = ["Preprocess", "Identity", "Standardize", "Scale", "SNV", "SavGol", "Chain", "build", "from_state", "names",
           "DEFAULT"]

#: the default preprocessing of a trained model
DEFAULT = "standardize"


def _as_tensor(x: Any, name: str = "x") -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.as_tensor(x)
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch tensor or numpy array of spectra (N, B); got {describe(x)}")
    if x.ndim != 2 or x.shape[1] < 1:
        raise ValueError(f"{name} must be 2-D spectra (N spectra, B bands); got {describe(x)}")
    if not torch.is_floating_point(x):
        x = x.float()
    return x


class Preprocess(nn.Module):
    """One step. Subclasses set ``name``, implement ``forward`` and, when fitted, ``_fit`` and
    ``_state``/``_load``."""

    name: ClassVar[str] = ""
    fitted_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        super().__init__()
        self.n_bands: int | None = None

    # -- fitting -------------------------------------------------------------------------------
    def fit(self, x: Any) -> Preprocess:
        """Fit on spectra ``x`` (N, B) — the training rows only; returns self."""
        t = _as_tensor(x)
        if t.shape[0] < 1:
            raise ValueError(f"{self.name}: fit needs at least one spectrum; got {describe(x)}")
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"{self.name}: fit needs finite spectra; got NaN or inf in {describe(x)}")
        self._check_bands(t.shape[1], fitting=True)
        self.n_bands = int(t.shape[1])
        self._fit(t)
        return self

    def _fit(self, x: torch.Tensor) -> None:
        """Override to fit statistics from finite (N, B) spectra."""

    @property
    def fitted(self) -> bool:
        return self.n_bands is not None or not self.fitted_fields

    def _check_bands(self, n_bands: int, fitting: bool = False) -> None:
        if not fitting and self.fitted_fields and self.n_bands is None:
            raise ValueError(f"preprocessing {self.spec!r} is not fitted; call fit(training spectra) first")
        if not fitting and self.n_bands is not None and n_bands != self.n_bands:
            raise ValueError(f"preprocessing {self.spec!r} was fitted on {self.n_bands} bands; got spectra with "
                             f"{n_bands}")

    def __call__(self, x: Any) -> torch.Tensor:  # type: ignore[override]
        t = _as_tensor(x)
        self._check_bands(t.shape[1])
        return super().__call__(t)

    # -- description and state -----------------------------------------------------------------
    @property
    def spec(self) -> str:
        """The name that :func:`build` turns back into this step (unfitted)."""
        return self.name

    def state(self) -> dict[str, Any]:
        """JSON-able state: ``{"name", "spec", "n_bands", <fitted fields as lists of floats>}``."""
        out: dict[str, Any] = {"name": self.name, "spec": self.spec, "n_bands": self.n_bands}
        for f in self.fitted_fields:
            value = getattr(self, f)
            out[f] = None if value is None else [float(v) for v in value.double().tolist()]
        return out

    def _load(self, state: dict[str, Any]) -> None:
        self.n_bands = None if state.get("n_bands") is None else int(state["n_bands"])
        for f in self.fitted_fields:
            value = state.get(f)
            if value is None:
                continue
            t = torch.tensor(value, dtype=torch.float64).float()
            if self.n_bands is None or t.shape != (self.n_bands,):
                raise ValueError(f"preprocessing state {self.name!r}: field {f!r} must hold n_bands="
                                 f"{self.n_bands} values; got {tuple(t.shape)}")
            setattr(self, f, t)

    def extra_repr(self) -> str:
        return f"spec={self.spec!r}, n_bands={self.n_bands}"


class Identity(Preprocess):
    """``none``: spectra unchanged."""

    name = "none"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class Standardize(Preprocess):
    """``standardize``: per band ``(x − mean) / std`` with mean and std (population, ddof 0) of
    the fitting spectra, computed in float64 and kept as float32 (B,); std 0 → 1. Applied as
    ``x · (1/std) − mean/std`` (one fused pass; the factors rounded once from float64)."""

    name = "standardize"
    fitted_fields = ("mean", "std")

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", None)
        self.register_buffer("std", None)
        self._affine: tuple[torch.Tensor, torch.Tensor] | None = None

    def _fit(self, x: torch.Tensor) -> None:
        x64 = x.detach().double().cpu()
        mean = x64.mean(dim=0)
        std = x64.std(dim=0, correction=0)
        std = torch.where(std > 0, std, torch.ones_like(std))
        self.mean, self.std = mean.float(), std.float()
        self._affine = None

    def _load(self, state: dict[str, Any]) -> None:
        super()._load(state)
        self._affine = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x · (1/std) + (−mean/std) in one fused pass (addcmul): one output, no temporaries
        aff = getattr(self, "_affine", None)
        if aff is None or aff[0].device != x.device or aff[0].dtype != x.dtype:
            scale = (1.0 / self.std.double()).to(x.device, x.dtype)
            shift = (-self.mean.double() / self.std.double()).to(x.device, x.dtype)
            aff = self._affine = (scale, shift)
        return torch.addcmul(aff[1], x, aff[0])


class Scale(Preprocess):
    """``scale``: ``(x − mean) / std`` with one mean and one std (population) over every band and
    fitting spectrum, float64 kept as float32 scalars: the units go, the spectral shape and the bands'
    relative variance stay (unlike ``standardize``, a band with little variance is not blown up)."""

    name = "scale"
    fitted_fields = ("mean", "std")

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", None)
        self.register_buffer("std", None)

    def _fit(self, x: torch.Tensor) -> None:
        x64 = x.detach().double().cpu()
        std = x64.std(correction=0)
        self.mean = x64.mean().float().reshape(1)
        self.std = torch.where(std > 0, std, torch.ones_like(std)).float().reshape(1)

    def _load(self, state: dict[str, Any]) -> None:
        self.n_bands = None if state.get("n_bands") is None else int(state["n_bands"])
        self.mean = torch.tensor(state["mean"], dtype=torch.float64).float().reshape(1)
        self.std = torch.tensor(state["std"], dtype=torch.float64).float().reshape(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean.to(x.device, x.dtype)) / self.std.to(x.device, x.dtype)


class SNV(Preprocess):
    """``snv``: per spectrum ``(x − mean) / std`` over its bands (population std; a flat
    spectrum becomes zeros)."""

    name = "snv"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=1, keepdim=True)
        centred = x - mean
        std = centred.square().mean(dim=1, keepdim=True).sqrt()
        return centred / torch.where(std > 0, std, torch.ones_like(std))


class SavGol(Preprocess):
    """``savgol``: Savitzky–Golay filter along the bands, equal to
    ``scipy.signal.savgol_filter(x, window, polyorder, deriv, delta, axis=-1, mode="interp")``.

    ``window`` odd ≥ 3 and ≤ the number of bands; ``polyorder`` < ``window``; ``deriv`` ≥ 0
    (0 smooths); ``delta`` > 0, the spacing of the bands for derivatives (1: per band; the grid
    step in nm gives a derivative per nm).
    """

    name = "savgol"

    def __init__(self, window: int = 11, polyorder: int = 2, deriv: int = 0, delta: float = 1.0) -> None:
        super().__init__()
        for value, arg, low in ((window, "window", 3), (polyorder, "polyorder", 0), (deriv, "deriv", 0)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"savgol: {arg} must be an integer >= {low}; got {value!r}")
        if window % 2 != 1:
            raise ValueError(f"savgol: window must be odd (a centred window); got {window!r}")
        if polyorder >= window:
            raise ValueError(f"savgol: polyorder must be less than window ({window}); got {polyorder!r}")
        try:
            delta = float(delta)
        except (TypeError, ValueError):
            raise ValueError(f"savgol: delta must be a positive number (band spacing); got {delta!r}") from None
        if not (math.isfinite(delta) and delta > 0):
            raise ValueError(f"savgol: delta must be a positive number (band spacing); got {delta!r}")
        self.window, self.polyorder, self.deriv, self.delta = int(window), int(polyorder), int(deriv), delta
        from scipy.signal import savgol_coeffs

        half = self.window // 2
        # interior: y[i] = Σ_k c[k] x[i − half + k]  (conv1d is a correlation)
        centre = savgol_coeffs(self.window, self.polyorder, deriv=self.deriv, delta=self.delta, use="dot")
        # edges (scipy's mode="interp"): a polynomial fitted to the first / last window, evaluated at
        # each of the first / last `half` positions
        left = np.stack([savgol_coeffs(self.window, self.polyorder, deriv=self.deriv, delta=self.delta,
                                       pos=p, use="dot") for p in range(half)])
        right = np.stack([savgol_coeffs(self.window, self.polyorder, deriv=self.deriv, delta=self.delta,
                                        pos=p, use="dot") for p in range(half + 1, self.window)])
        # float64 coefficients, cast to the spectra's dtype when applied
        self.register_buffer("kernel", torch.tensor(centre, dtype=torch.float64).view(1, 1, -1), persistent=False)
        self.register_buffer("left", torch.tensor(left.T, dtype=torch.float64), persistent=False)    # (window, half)
        self.register_buffer("right", torch.tensor(right.T, dtype=torch.float64), persistent=False)  # (window, half)

    @property
    def spec(self) -> str:
        return f"savgol(window={self.window},polyorder={self.polyorder},deriv={self.deriv},delta={self.delta:g})"

    def _check_bands(self, n_bands: int, fitting: bool = False) -> None:
        if n_bands < self.window:
            raise ValueError(f"savgol: window ({self.window}) must not exceed the number of bands; got spectra with "
                             f"{n_bands} bands")
        super()._check_bands(n_bands, fitting)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w, half = self.window, self.window // 2
        k = self.kernel.to(x.device, x.dtype)
        mid = torch.nn.functional.conv1d(x.unsqueeze(1), k).squeeze(1)  # (N, B − 2·half)
        head = x[:, :w] @ self.left.to(x.device, x.dtype)
        tail = x[:, -w:] @ self.right.to(x.device, x.dtype)
        return torch.cat([head, mid, tail], dim=1)


class Chain(Preprocess):
    """Steps applied left to right (``"snv+savgol"``); each is fitted on the output of the ones before."""

    name = "chain"

    def __init__(self, steps: Sequence[Preprocess]) -> None:
        super().__init__()
        self.steps = nn.ModuleList(steps)

    @property
    def spec(self) -> str:
        return "+".join(s.spec for s in self.steps)

    @property
    def fitted(self) -> bool:
        return all(s.fitted for s in self.steps)

    def _check_bands(self, n_bands: int, fitting: bool = False) -> None:
        for s in self.steps:
            s._check_bands(n_bands, fitting)

    def _fit(self, x: torch.Tensor) -> None:
        for s in self.steps:
            s.fit(x)
            x = s(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for s in self.steps:
            x = s.forward(x)
        return x

    def state(self) -> dict[str, Any]:
        return {"name": self.name, "spec": self.spec, "n_bands": self.n_bands, "steps": [s.state() for s in self.steps]}

    def _load(self, state: dict[str, Any]) -> None:
        self.n_bands = None if state.get("n_bands") is None else int(state["n_bands"])
        for s, st in zip(self.steps, state["steps"]):
            s._load(st)


_STEPS: dict[str, type[Preprocess]] = {c.name: c for c in (Identity, Standardize, Scale, SNV, SavGol)}
_STEP_RE = re.compile(r"^\s*([a-z_]+)\s*(?:\((.*)\))?\s*$")


def names() -> list[str]:
    """Names accepted by :func:`build` (combine them with ``+``)."""
    return list(_STEPS)


def _parse_args(text: str, spec: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"preprocess {spec!r}: parameters must be written key=value; got {part!r}")
        value = value.strip()
        try:
            num = float(value)
        except ValueError:
            raise ValueError(f"preprocess {spec!r}: parameter {key.strip()!r} must be a number; got {value!r}") from None
        out[key.strip()] = int(num) if num.is_integer() and key.strip() != "delta" else num
    return out


def _one(text: str, spec: str) -> Preprocess:
    m = _STEP_RE.match(text)
    if m is None or m.group(1) not in _STEPS:
        raise ValueError(f"preprocess must be one of {names()} (combined with '+', parameters in brackets as "
                         f"'savgol(window=11,polyorder=2,deriv=1)'); got {spec!r}")
    cls = _STEPS[m.group(1)]
    kwargs = _parse_args(m.group(2) or "", spec)
    if kwargs and cls is not SavGol:
        raise ValueError(f"preprocess {m.group(1)!r} takes no parameters; got {kwargs} in {spec!r}")
    try:
        return cls(**kwargs)
    except TypeError:
        raise ValueError(f"preprocess {spec!r}: savgol accepts window, polyorder, deriv, delta; got "
                         f"{sorted(kwargs)}") from None


def build(spec: Any = DEFAULT) -> Preprocess:
    """An unfitted preprocessing from a name (``"standardize"``, ``"none"``, ``"snv"``, ``"savgol"``,
    ``"savgol(window=15,polyorder=3,deriv=1)"``), a ``+``-joined chain of them, a list of names,
    None (= ``"none"``) or a :class:`Preprocess` (returned as is)."""
    if isinstance(spec, Preprocess):
        return spec
    if spec is None:
        return Identity()
    if isinstance(spec, (list, tuple)):
        parts = [build(s) for s in spec]
    elif isinstance(spec, str):
        pieces = [p for p in _split_plus(spec)]
        if not pieces or any(not p.strip() for p in pieces):
            raise ValueError(f"preprocess must be one of {names()} or a '+'-joined chain of them; got {spec!r}")
        parts = [_one(p, spec) for p in pieces]
    else:
        raise ValueError(f"preprocess must be a name such as {names()}, a '+'-joined chain, a list of names or "
                         f"None; got {describe(spec)}")
    if not parts:
        raise ValueError(f"preprocess must name at least one step; got {spec!r}")
    return parts[0] if len(parts) == 1 else Chain(parts)


def _split_plus(spec: str) -> list[str]:
    """Split on '+' outside brackets."""
    out, depth, cur = [], 0, ""
    for ch in spec:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "+" and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


def from_state(state: dict[str, Any]) -> Preprocess:
    """Rebuild a (fitted) preprocessing from :meth:`Preprocess.state`, bitwise."""
    if not isinstance(state, dict) or "spec" not in state:
        raise ValueError(f"preprocessing state must be a dict from Preprocess.state(); got {describe(state)}")
    step = build(state["spec"])
    if isinstance(step, Chain) != (state.get("name") == "chain"):
        raise ValueError(f"preprocessing state {state.get('spec')!r} does not match its name {state.get('name')!r}")
    step._load(state)
    return step
