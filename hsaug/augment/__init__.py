"""Spectral augmentations (paper §3.2), one module per family, found by name.

>>> from hsaug import augment
>>> augment.names()
['shift', 'flip', 'scattering', 'atmospheric', 'elastic', 'band_erasure', 'band_permutation', 'nearest_neighbor']
>>> shift = augment.get("shift", delta=(-10, 10))
>>> [p.name for p in shift.params]
['delta']
>>> augment.range_sets()
['hsaug', 'authors']
>>> [round(v, 1) for v in augment.get("shift", ranges="authors").ranges["delta"]]  # 1–20 bands of 9.417 nm
[9.4, 188.3]
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from ..params import Option, Param, uniform
from .base import Augmentation, Params
from .compose import Compose, OneOf
from .members import apply_rows, augment_members, fit_reference
from .ranges import RANGES, range_config, range_sets

__all__ = [
    "names", "get", "get_class", "Augmentation", "Param", "Option", "Params", "Compose", "OneOf", "uniform",
    "build", "apply_rows", "augment_members", "fit_reference", "RANGES", "range_sets", "range_config",
]

# name -> (module, class); modules are imported on first use
_REGISTRY: dict[str, tuple[str, str]] = {
    "shift": ("warp", "Shift"),
    "flip": ("warp", "Flip"),
    "scattering": ("physics", "Scattering"),
    "atmospheric": ("physics", "Atmospheric"),
    "elastic": ("warp", "Elastic"),
    "band_erasure": ("bands", "BandErasure"),
    "band_permutation": ("bands", "BandPermutation"),
    "nearest_neighbor": ("neighbors", "NearestNeighbor"),
}


def names() -> list[str]:
    """The registered augmentation names, in the paper's order of presentation."""
    return list(_REGISTRY)


def get_class(name: str) -> type[Augmentation]:
    """The augmentation class registered under ``name``."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown augmentation {name!r}; known: {names()}")
    module, cls = _REGISTRY[name]
    return getattr(import_module(f"{__name__}.{module}"), cls)


def get(name: str, ranges: str = "hsaug", **config: Any) -> Augmentation:
    """A new augmentation by name, configured with parameter ranges and options.

    ``ranges`` names a set of random ranges (:func:`range_sets`: ``"hsaug"``, the class
    defaults, or ``"authors"``, the authors' code; see :mod:`hsaug.augment.ranges`).
    ``config`` maps a parameter to a ``(low, high)`` random range or a fixed value, and an
    option to one of its choices, e.g. ``get("shift", delta=(-5, 5), edge="repeat")``; it
    overrides the set's settings.
    """
    cls = get_class(name)
    return cls(**{**range_config(name, ranges), **config})


def build(spec: Any, mode: str = "batch", ranges: str = "hsaug") -> Augmentation | Compose | OneOf | None:
    """An augmentation from a loose spec: None, a name, an augmentation, or a list of those.

    A list becomes :class:`OneOf` (one member per batch, as in the authors' training
    loop, or per sample with ``mode="sample"``); a name joined with ``+`` (``"shift+elastic"``)
    is read as a list of names. Names are built with the range set ``ranges`` (see :func:`get`).
    """
    if spec is None or isinstance(spec, (Augmentation, Compose, OneOf)):
        return spec
    if isinstance(spec, str):
        parts = [s.strip() for s in spec.split("+") if s.strip()]
        if len(parts) == 1:
            return get(parts[0], ranges=ranges)
        spec = parts
    if isinstance(spec, (list, tuple)):
        members = [build(s, ranges=ranges) for s in spec]
        if any(m is None for m in members):
            raise ValueError(f"augmentation list {spec!r} must not contain None")
        return members[0] if len(members) == 1 else OneOf(members, mode=mode)
    raise ValueError(f"augmentation must be None, a name, an Augmentation or a list of them; got {spec!r}")
