"""The augmentation contract: parameter specs, deterministic batched ``apply``, seeded ``sample``.

One small base class with two override points, in the spirit of torchvision v2:

* ``_apply(x, wavelength, params, index)`` — the deterministic transform, batched over
  ``x`` (N, B) with ``params`` a dict of per-sample tensors (N,);
* ``sample(n, generator, wavelength)`` — draws per-sample parameters (only override when
  the draw is not uniform over the configured range).

Parameter specs (:class:`Param`) are the single source for sliders, validation and random
ranges. Every augmentation is the identity at its spec defaults (its neutral setting).
Calling an augmentation draws parameters, keeps them in ``last_params`` and applies them,
so a draw can be replayed exactly with ``apply(x, wavelength, **aug.last_params)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from ..spectra import as_spectra, check_wavelength, describe as _describe

__all__ = ["Param", "Option", "Augmentation", "Params"]

Params = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Param:
    """A numeric parameter: accepted interval, neutral default, unit and random range.

    ``low``/``high`` bound what ``apply`` accepts (and the slider); ``default`` is the
    neutral value at which the augmentation is the identity; ``sample_range`` is the
    default interval ``sample`` draws from (configurable per instance). ``position``
    marks a wavelength position [nm] whose random range is narrowed to the data's grid.
    """

    name: str
    low: float
    high: float
    default: float
    unit: str = ""
    doc: str = ""
    label: str = ""
    integer: bool = False
    sample_range: tuple[float, float] | None = None
    position: bool = False
    step: float | None = None

    def __post_init__(self) -> None:
        if not self.low <= self.default <= self.high:
            raise ValueError(f"Param {self.name}: default {self.default} outside [{self.low}, {self.high}]")

    @property
    def display(self) -> str:
        """Slider label with unit, e.g. ``Δ [nm]``."""
        text = self.label or self.name
        return f"{text} [{self.unit}]" if self.unit else text

    @property
    def slider_step(self) -> float:
        if self.step is not None:
            return self.step
        if self.integer:
            return 1.0
        return (self.high - self.low) / 200.0


@dataclass(frozen=True)
class Option:
    """A categorical setting fixed per instance (e.g. the edge rule of a shift)."""

    name: str
    choices: tuple[Any, ...]
    default: Any
    doc: str = ""


class Augmentation:
    """Base class: subclasses set ``name``, ``param_specs``, ``options`` and ``_apply``.

    Construct with ``Aug(**config)``: for a parameter name, a ``(low, high)`` random range
    or a single value to always use; for an option name, one of its choices.
    """

    name: ClassVar[str] = ""
    param_specs: ClassVar[tuple[Param, ...]] = ()
    options: ClassVar[tuple[Option, ...]] = ()

    def __init__(self, **config: Any) -> None:
        self.last_params: Params | None = None
        self.option_values: dict[str, Any] = {o.name: o.default for o in self.options}
        self.ranges: dict[str, tuple[float, float]] = {}
        self._configure(config)

    # -- configuration -------------------------------------------------------------
    def _configure(self, config: dict[str, Any]) -> None:
        specs = {p.name: p for p in self.params}
        opts = {o.name: o for o in self.options}
        for key, value in config.items():
            if key in opts:
                if value not in opts[key].choices:
                    raise ValueError(
                        f"{self.name}: option {key!r} must be one of {list(opts[key].choices)}; got {value!r}"
                    )
                self.option_values[key] = value
            elif key in specs:
                self.ranges[key] = self._check_range(specs[key], value)
            else:
                raise ValueError(
                    f"{self.name}: unknown setting {key!r}; accepted: "
                    f"{sorted(specs) + sorted(opts)}"
                )
        for p in self.params:
            if p.name not in self.ranges:
                self.ranges[p.name] = p.sample_range if p.sample_range is not None else (p.low, p.high)

    def _check_range(self, spec: Param, value: Any) -> tuple[float, float]:
        if isinstance(value, (tuple, list)):
            if len(value) != 2:
                raise ValueError(f"{self.name}: range for {spec.name!r} must be (low, high); got {value!r}")
            lo, hi = float(value[0]), float(value[1])
        else:
            lo = hi = float(value)
        if not (spec.low <= lo <= hi <= spec.high):
            raise ValueError(
                f"{self.name}: {spec.name} range must lie within [{spec.low:g}, {spec.high:g}] "
                f"{spec.unit} with low <= high; got {value!r}"
            )
        return lo, hi

    @property
    def params(self) -> tuple[Param, ...]:
        """The parameter specs of this instance (may depend on its options)."""
        return self.param_specs

    def spec(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise ValueError(f"{self.name} has no parameter {name!r}; it has {[p.name for p in self.params]}")

    def neutral(self) -> dict[str, float]:
        """The parameter values at which this augmentation is the identity."""
        return {p.name: p.default for p in self.params}

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.option_values.items())
        rng = ", ".join(f"{k}={v}" for k, v in self.ranges.items())
        return f"{type(self).__name__}({', '.join(s for s in (rng, opts) if s)})"

    # -- parameters ----------------------------------------------------------------
    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        wavelength: Any | None = None,
    ) -> Params:
        """Draw per-sample parameters: a dict of (n,) float32 CPU tensors.

        Uniform over each configured range (integers uniform over whole values). Draws
        use only ``generator`` (a CPU ``torch.Generator``), so the same seed gives the
        same numbers on any device. Position parameters are drawn inside ``wavelength``'s
        range when it is given.
        """
        if n < 1:
            raise ValueError(f"n must be a positive number of spectra; got {n}")
        wl_range = None
        if wavelength is not None:
            wl = check_wavelength(wavelength)
            wl_range = (float(wl[0]), float(wl[-1]))
        out: Params = {}
        for p in self.params:
            lo, hi = self.ranges[p.name]
            if p.position and wl_range is not None:
                lo, hi = max(lo, wl_range[0]), min(hi, wl_range[1])
                if lo > hi:
                    lo = hi = min(max(p.default, wl_range[0]), wl_range[1])
            out[p.name] = uniform(n, lo, hi, generator, integer=p.integer)
        return out

    def check_params(self, n: int, params: dict[str, Any], device: torch.device) -> Params:
        """Validate parameter values (scalar or (n,)) against the spec; fill in defaults."""
        specs = {p.name: p for p in self.params}
        unknown = set(params) - set(specs)
        if unknown:
            raise ValueError(
                f"{self.name}: unknown parameter(s) {sorted(unknown)}; accepted: {sorted(specs)}"
            )
        values = []
        for name, p in specs.items():
            value = params.get(name, p.default)
            t = torch.as_tensor(value, dtype=torch.float32).detach().cpu()
            if t.ndim == 0:
                t = t.expand(n)
            elif t.shape != (n,):
                raise ValueError(
                    f"{self.name}: parameter {name} must be a scalar or have shape ({n},), "
                    f"one value per spectrum; got {_describe(value)}"
                )
            values.append(t)
        # every bound in one comparison (NaN fails both sides, so it is refused too)
        stacked = torch.stack(values)  # (P, n)
        low, high = self._bounds()
        ok = (stacked >= low) & (stacked <= high)
        if not bool(ok.all()):
            row = int((~ok).any(dim=1).nonzero()[0])
            p = self.params[row]
            bad = stacked[row][~ok[row]][0].item()
            raise ValueError(
                f"{self.name}: parameter {p.name} must lie in [{p.low:g}, {p.high:g}] {p.unit}".rstrip()
                + f"; got {bad:g}"
            )
        return dict(zip(specs, stacked.to(device).unbind(0)))

    def _bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(P, 1) lower and upper bounds of the specs, with a relative tolerance of 1e-6."""
        names = tuple(p.name for p in self.params)
        cached = getattr(self, "_bounds_cache", None)
        if cached is None or cached[0] != names:
            low = torch.tensor([[p.low - 1e-6 * max(1.0, abs(p.low))] for p in self.params])
            high = torch.tensor([[p.high + 1e-6 * max(1.0, abs(p.high))] for p in self.params])
            cached = self._bounds_cache = (names, low, high)
        return cached[1], cached[2]

    # -- transform -----------------------------------------------------------------
    def apply(
        self,
        x: Any,
        wavelength: Any,
        *,
        index: torch.Tensor | None = None,
        validate: bool = True,
        **params: Any,
    ) -> torch.Tensor:
        """Apply with given parameters: deterministic and batched.

        ``x`` (N, B) spectra (tensor on any device, kept; float32 by default),
        ``wavelength`` (B,) in nm, each parameter a scalar or an (N,) tensor (missing ones
        take their neutral default). ``index`` (N,) gives each spectrum's row in the
        reference set, for augmentations that use one. Returns a tensor like ``x``.
        ``validate=False`` skips the finite/shape checks (for hot loops over data that
        were checked once).
        """
        if validate:
            x = as_spectra(x)
            wl = check_wavelength(wavelength, x.shape[1], device=x.device)
        else:
            wl = wavelength.to(device=x.device, dtype=torch.float32) if isinstance(wavelength, torch.Tensor) \
                else torch.as_tensor(wavelength, dtype=torch.float32, device=x.device)
        p = self.check_params(x.shape[0], params, x.device)
        if index is not None:
            index = torch.as_tensor(index, device=x.device).long()
            if index.shape != (x.shape[0],):
                raise ValueError(f"{self.name}: index must have shape ({x.shape[0]},); got {_describe(index)}")
        out = self._apply(x, wl, p, index)
        return out.to(dtype=x.dtype)

    def __call__(
        self,
        x: Any,
        wavelength: Any,
        generator: torch.Generator | None = None,
        *,
        index: torch.Tensor | None = None,
        validate: bool = True,
    ) -> torch.Tensor:
        """Draw parameters for each spectrum (kept in ``last_params``) and apply them."""
        if validate:  # once here; the draw and the transform reuse the checked tensors
            x = as_spectra(x)
            wavelength = check_wavelength(wavelength, x.shape[1], device=x.device)
        params = self.sample(x.shape[0], generator, wavelength if validate else None)
        self.last_params = params
        return self.apply(x, wavelength, index=index, validate=False, **params)

    def _apply(
        self, x: torch.Tensor, wavelength: torch.Tensor, params: Params, index: torch.Tensor | None
    ) -> torch.Tensor:
        raise NotImplementedError


def uniform(
    n: int, low: float, high: float, generator: torch.Generator | None = None, *, integer: bool = False
) -> torch.Tensor:
    """(n,) float32 CPU draws uniform in [low, high] (whole numbers when ``integer``)."""
    if integer:
        lo, hi = math.ceil(low), math.floor(high)
        return torch.randint(lo, hi + 1, (n,), generator=generator).float()
    u = torch.rand(n, generator=generator)
    return (low + (high - low) * u).float()
