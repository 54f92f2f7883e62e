"""What pretraining and its downstream uses share: Φw's features, the members' random
streams, Adam with its subnormal guard, argument checks, and the two augmented views."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import xarray as xr

from .. import augment
from ..augment.members import augment_members, fit_reference
from ..models import MLPEnsemble
from ..spectra import as_spectra, check_wavelength

__all__ = ["DEFAULT_AUGMENTATION", "features", "member_streams", "check_seeds", "positive_int", "check_device", "read_spectra",
           "build_augmentation", "two_views"]

DEFAULT_AUGMENTATION = "shift+atmospheric+scattering"


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


def member_streams(seed: int, phase: int) -> list[torch.Generator]:
    """Five independent CPU generators for one member and phase (1 pretraining, 2 fine-tuning)."""
    seqs = np.random.SeedSequence([phase, int(seed)]).spawn(5)
    return [torch.Generator().manual_seed(int(s.generate_state(1, np.uint64)[0])) for s in seqs]


def check_seeds(seeds: Any) -> list[int]:
    """One or more distinct non-negative integer seeds as a list, else a ValueError."""
    out = [seeds] if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool) else list(seeds)
    if not out or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0 for s in out) \
            or len(set(out)) != len(out):
        raise ValueError(f"seeds must be one or more distinct non-negative integers; got {seeds!r}")
    return [int(s) for s in out]


def positive_int(value: Any, name: str) -> int:
    """``value`` as an int if it is a positive integer, else a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def check_device(device: Any) -> torch.device:
    """A torch device from 'cpu', 'cuda', 'cuda:N' or 'auto', else a ValueError."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (TypeError, RuntimeError):
        raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto'; got {device!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for CUDA, which is not available here")
    return dev


def read_spectra(spectra: Any, wavelength: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Spectra (N, B) float32 and their wavelength [nm] (B,) from an array, DataArray or Dataset."""
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


def build_augmentation(spec: Any, x: torch.Tensor, mode: str) -> Any:
    """The augmentation ``spec`` built in ``mode`` with its reference fitted on x (N, B); None is refused."""
    aug = augment.build(spec, mode=mode)
    if aug is None:
        raise ValueError("augmentation must name at least one augmentation for self-supervised views; got None")
    fit_reference(aug, x)
    return aug


def two_views(aug: Any, x: torch.Tensor, rows: torch.Tensor, wl: torch.Tensor, gens: list[torch.Generator]
           ) -> torch.Tensor:
    """Two augmented views (M, 2n, B) of the rows (M, n) of x, each member drawing from its generator."""
    xb = x[rows]
    v1 = augment_members(aug, xb, wl, gens, rows)
    v2 = augment_members(aug, xb, wl, gens, rows)
    return torch.cat([v1, v2], dim=1)


