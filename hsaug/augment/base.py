"""The augmentation contract: parameter specs, deterministic batched ``apply``, seeded ``sample``.

One small base class with two override points, in the spirit of torchvision v2:

* ``_apply(x, wavelength, params, index)`` — the deterministic transform, batched over
  ``x`` (N, B) with ``params`` a dict of per-sample tensors (N,);
* ``_sample(n, generator, wavelength)`` — draws per-sample parameters (only override when
  the draw is not uniform over the configured range). The public ``sample`` checks its
  arguments and calls it; subclasses never override ``sample``, ``apply`` or ``__call__``.

Two more hooks, both optional: ``extra_repr()`` adds instance settings to ``repr``, and
``fit(reference)`` stores a reference set (the training spectra) for augmentations that
declare ``needs_reference = True`` (nearest neighbour); for the rest it does nothing.
Per-member drawing for batched ensembles (:meth:`Augmentation.apply_members`) is written
here and in :mod:`hsaug.augment.compose`, once.

Parameter specs (:class:`Param`) are the single source for sliders, validation and random
ranges. Every augmentation is the identity at its spec defaults (its neutral setting).
Calling an augmentation draws parameters, keeps them in ``last_params`` and applies them,
so a draw can be replayed exactly with ``apply(x, wavelength, **aug.last_params)``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any, ClassVar

import torch

from ..params import Option, Param, uniform
from ..spectra import as_spectra, check_wavelength, describe

__all__ = ["Param", "Option", "Augmentation", "Params", "uniform", "check_count"]

Params = dict[str, torch.Tensor]


def check_count(n: Any, name: str = "n") -> int:
    """``n`` as an int if it is a whole number >= 1 (int, numpy or 0-d torch integer), else
    ValueError naming ``name``, the value and what is accepted."""
    try:
        value = None if isinstance(n, bool) else operator.index(n)
    except TypeError:
        value = None
    if value is None or value < 1:
        raise ValueError(f"{name} must be a positive whole number of spectra (1, 2, ...); got {n!r}")
    return value


class Augmentation:
    """Base class: subclasses set ``name``, ``param_specs``, ``options`` and ``_apply``.

    Construct with ``Aug(**config)``: for a parameter name, a ``(low, high)`` random range
    or a single value to always use; for an option name, one of its choices.

    Declared attributes (class level):

    * ``needs_reference`` — ``apply`` uses a reference set given by :meth:`fit` (the
      training spectra) and each spectrum's row ``index`` in it;
    * ``merge_draws`` — drawing n + m values at once from one generator gives the same
      numbers as drawing n, then m (true of the base uniform draw); per-member drawing then
      draws consecutive blocks of one generator in one call. A subclass that overrides
      ``_sample`` is taken to be False unless it says otherwise.

    ``needs_wavelength`` (per instance) is True when a parameter is a wavelength position,
    whose random range is narrowed to the data's grid.
    """

    name: ClassVar[str] = ""
    param_specs: ClassVar[tuple[Param, ...]] = ()
    options: ClassVar[tuple[Option, ...]] = ()
    needs_reference: ClassVar[bool] = False
    merge_draws: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "_sample" in cls.__dict__ and "merge_draws" not in cls.__dict__:
            cls.merge_draws = False

    def __init__(self, **config: Any) -> None:
        self.last_params: Params | None = None
        self.option_values: dict[str, Any] = {o.name: o.default for o in self.options}
        self.ranges: dict[str, tuple[float, float]] = {}
        self._configure(config)
        self.needs_wavelength: bool = any(p.position for p in self.params)

    def fit(self, reference: Any) -> Augmentation:
        """Store what the augmentation needs from a reference set (R, B) of spectra; returns
        ``self``. Does nothing unless the augmentation declares ``needs_reference``."""
        return self

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
        interval = f"[{spec.low:g}, {spec.high:g}] {spec.unit}".rstrip()
        if isinstance(value, (tuple, list)):
            if len(value) != 2:
                raise ValueError(f"{self.name}: range for {spec.name!r} must be (low, high); got {value!r}")
            ends = value
        else:
            ends = (value, value)
        try:
            lo, hi = float(ends[0]), float(ends[1])
        except (TypeError, ValueError):
            raise ValueError(
                f"{self.name}: {spec.name} must be a number or a (low, high) range in {interval}; got {value!r}"
            ) from None
        if not (spec.low <= lo <= hi <= spec.high):
            raise ValueError(
                f"{self.name}: {spec.name} range must lie within {interval} with low <= high; got {value!r}"
            )
        if spec.integer and (lo != math.floor(lo) or hi != math.floor(hi)):
            raise ValueError(
                f"{self.name}: {spec.name} counts whole {spec.unit or 'units'}: give whole numbers in {interval} "
                f"(e.g. {math.floor(lo):g} or {math.ceil(hi):g}); got {value!r}"
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

    def extra_repr(self) -> str:
        """Instance settings beyond ranges and options for ``repr`` (override; "" by default)."""
        return ""

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.option_values.items())
        rng = ", ".join(f"{k}={v}" for k, v in self.ranges.items())
        parts = (rng, opts, self.extra_repr())
        return f"{type(self).__name__}({', '.join(s for s in parts if s)})"

    # -- parameters ----------------------------------------------------------------
    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        wavelength: Any | None = None,
    ) -> Params:
        """Draw per-sample parameters: a dict of (n,) float32 CPU tensors.

        ``n`` spectra (a whole number >= 1), ``generator`` a CPU ``torch.Generator`` (the
        only source of randomness, so the same seed gives the same numbers on any device),
        ``wavelength`` (B,) [nm] the data's grid, for augmentations whose draw depends on it
        (position parameters are drawn inside its range). Checks the arguments and calls
        :meth:`_sample`.
        """
        n = check_count(n)
        wl = None if wavelength is None else check_wavelength(wavelength)
        return self._sample(n, generator, wl)

    def _sample(self, n: int, generator: torch.Generator | None, wavelength: torch.Tensor | None) -> Params:
        """The draw (override point): uniform over each configured range (integers uniform
        over whole values); ``wavelength`` is a checked (B,) tensor or None."""
        wl_range = None
        if wavelength is not None:
            wl_range = (float(wavelength[0]), float(wavelength[-1]))
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
                    f"one value per spectrum; got {describe(value)}"
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
        whole = self._integer_rows()
        if whole is not None:
            ints = stacked[whole]
            frac = ints != ints.floor()
            if bool(frac.any()):
                row = int(frac.any(dim=1).nonzero()[0])
                p = self.params[int(whole[row])]
                bad = ints[row][frac[row]][0].item()
                raise ValueError(
                    f"{self.name}: parameter {p.name} must be a whole number in [{p.low:g}, {p.high:g}] "
                    f"{p.unit}".rstrip() + f"; got {bad:g}"
                )
        return dict(zip(specs, stacked.to(device).unbind(0)))

    def _integer_rows(self) -> torch.Tensor | None:
        """Rows of the integer specs in :attr:`params` (None if there are none)."""
        rows = [i for i, p in enumerate(self.params) if p.integer]
        return torch.tensor(rows) if rows else None

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
                raise ValueError(f"{self.name}: index must have shape ({x.shape[0]},); got {describe(index)}")
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

    def apply_members(
        self,
        x: torch.Tensor,
        wavelength: torch.Tensor,
        generators: Sequence[torch.Generator | None],
        counts: Sequence[int],
        index: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Augment rows that belong to several ensemble members, each drawing from its own
        generator: ``x`` (R, B) holds consecutive blocks, ``counts[g]`` rows for member g,
        whose parameters come from ``generators[g]`` alone, in the order the member's own
        call ``self(x_g, wavelength, generators[g])`` would draw them. The transform runs once
        on all R rows. ``x`` and ``wavelength`` must be checked tensors (no validation here);
        ``index`` (R,) gives each row's place in the reference set. ``last_params`` keeps the
        (R,) parameters.
        """
        wl_arg = wavelength if self.needs_wavelength else None
        gens, counts = list(generators), list(counts)
        if self.merge_draws:  # i.i.d. draws: consecutive blocks of one generator draw at once
            gens, counts = _merge_blocks(gens, counts)
        drawn = [self._sample(c, g, wl_arg) for g, c in zip(gens, counts) if c > 0]
        params = {k: torch.cat([d[k] for d in drawn]) for k in drawn[0]}
        self.last_params = params
        return self.apply(x, wavelength, index=index, validate=False, **params)

    def _apply(
        self, x: torch.Tensor, wavelength: torch.Tensor, params: Params, index: torch.Tensor | None
    ) -> torch.Tensor:
        raise NotImplementedError


def _merge_blocks(gens: list, counts: list[int]) -> tuple[list, list[int]]:
    """Join consecutive blocks drawn from the same generator object."""
    out_g: list = []
    out_c: list[int] = []
    for g, c in zip(gens, counts):
        if out_g and out_g[-1] is g:
            out_c[-1] += c
        else:
            out_g.append(g)
            out_c.append(c)
    return out_g, out_c
