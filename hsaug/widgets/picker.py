"""The spectrum picker every explorer starts from: a source and one spectrum in it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as W
import numpy as np
import xarray as xr

from ..sources import SOURCES, load_source, reference_rows

__all__ = ["SpectrumPicker"]


class SpectrumPicker(W.Box):
    """Two dropdowns: the source (``SOURCES`` or given spectra) and one spectrum in it.

    ``spectra`` is the loaded DataArray (sample, wavelength), ``index`` the chosen row,
    ``spectrum`` (B,) and ``wavelength`` (B,) [nm] its values; ``on_change(fn)`` calls
    ``fn()`` after either dropdown changes. One picker can drive several explorers.
    """

    max_listed = 60

    def __init__(self, source: Any = "usgs", sample: int | str = 0, *, limit: int = 500, seed: int = 0) -> None:
        self._limit, self._seed = limit, seed
        self._callbacks: list[Callable[[], None]] = []
        self._custom = None if isinstance(source, str) else load_source(source, limit=limit, seed=seed)
        names = (["custom"] if self._custom is not None else []) + list(SOURCES)
        if self._custom is None and source not in SOURCES:
            raise ValueError(f"source must be one of {list(SOURCES)} or spectra; got {source!r}")
        self.source = W.Dropdown(options=names, value="custom" if self._custom is not None else source,
                                 description="source", style={"description_width": "50px"},
                                 layout=W.Layout(width="190px"))
        self.sample = W.Dropdown(description="spectrum", style={"description_width": "62px"},
                                 layout=W.Layout(flex="1 1 260px", min_width="0", max_width="520px"))
        self.spectra = self._load()
        self._fill(sample)
        super().__init__([self.source, self.sample],
                         layout=W.Layout(display="flex", flex_flow="row wrap", width="100%"))
        self.source.observe(self._on_source, names="value")
        self.sample.observe(self._on_sample, names="value")

    def _load(self) -> xr.DataArray:
        if self.source.value == "custom":
            return self._custom
        return load_source(self.source.value, limit=self._limit, seed=self._seed)

    def _fill(self, sample: int | str = 0) -> None:
        labels = [str(s) for s in self.spectra["label"].values[: self.max_listed]]
        if isinstance(sample, str):
            if sample not in labels:
                raise ValueError(f"sample {sample!r} is not a spectrum of this source; choose from {labels}")
            sample = labels.index(sample)
        if not 0 <= int(sample) < len(labels):
            raise ValueError(f"sample must be a row in [0, {len(labels) - 1}] of this source; got {sample}")
        self.sample.options = [(lab, i) for i, lab in enumerate(labels)]
        self.sample.value = int(sample)

    def _on_source(self, change: Mapping) -> None:
        self.spectra = self._load()
        with self.sample.hold_trait_notifications():
            self._fill(0)
        self._notify()

    def _on_sample(self, change: Mapping) -> None:
        if change["new"] is not None:
            self._notify()

    def _notify(self) -> None:
        for fn in self._callbacks:
            fn()

    def on_change(self, fn: Callable[[], None]) -> None:
        self._callbacks.append(fn)

    @property
    def index(self) -> int:
        return int(self.sample.value or 0)

    @property
    def spectrum(self) -> np.ndarray:
        return np.asarray(self.spectra.values[self.index], dtype=np.float32)

    @property
    def wavelength(self) -> np.ndarray:
        return np.asarray(self.spectra["wavelength"].values, dtype=float)

    @property
    def label(self) -> str:
        return str(self.spectra["label"].values[self.index])

    def reference(self) -> tuple[xr.DataArray, int]:
        """The spectra a reference-based augmentation may use for the chosen one (its group:
        same material for USGS, the scene, the soil set) and its row among them."""
        rows, row = reference_rows(self.spectra, self.index)
        return self.spectra.isel(sample=rows), row

    @property
    def source_name(self) -> str:
        return str(self.source.value)
