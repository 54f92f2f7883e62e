"""Shared fixtures: a 224-band grid and smooth, realistic reflectance spectra."""

import numpy as np
import pytest
import torch

from hsaug.spectra import sensor_grid


@pytest.fixture
def wavelength() -> torch.Tensor:
    """AVIRIS-like grid: 224 bands over 400–2500 nm, float32 tensor (B,)."""
    return torch.tensor(sensor_grid(), dtype=torch.float32)


def smooth_spectra(n: int, wavelength: np.ndarray | torch.Tensor, seed: int = 0) -> torch.Tensor:
    """(n, B) smooth reflectance-like spectra in (0.05, 0.9): sums of broad Gaussian features."""
    rng = np.random.default_rng(seed)
    wl = np.asarray(wavelength, dtype=float)
    base = rng.uniform(0.2, 0.5, (n, 1)) + rng.uniform(-1e-4, 1e-4, (n, 1)) * (wl - 1450)
    centres = rng.uniform(wl[0], wl[-1], (n, 3, 1))
    widths = rng.uniform(50, 300, (n, 3, 1))
    depth = rng.uniform(-0.15, 0.15, (n, 3, 1))
    x = base + (depth * np.exp(-0.5 * ((wl - centres) / widths) ** 2)).sum(1)
    return torch.tensor(np.clip(x, 0.05, 0.9), dtype=torch.float32)


@pytest.fixture
def spectra(wavelength) -> torch.Tensor:
    return smooth_spectra(64, wavelength)


def wavy_spectra(wavelength: np.ndarray, n: int = 12, seed: int = 0) -> np.ndarray:
    """Smooth positive reflectance-like spectra (n, B) in (0, 1): a sine plus one dip."""
    rng = np.random.default_rng(seed)
    wl = np.asarray(wavelength, dtype=float)
    t = (wl - wl[0]) / (wl[-1] - wl[0])
    base = 0.3 + 0.2 * np.sin(2 * np.pi * (t[None, :] * rng.uniform(1, 3, (n, 1)) + rng.uniform(0, 1, (n, 1))))
    dip = 0.15 * np.exp(-0.5 * ((wl[None, :] - rng.uniform(900, 2200, (n, 1))) / 60.0) ** 2)
    return (base - dip).astype(np.float32)


@pytest.fixture
def one_thread():
    """Run a test with one torch thread (bitwise comparisons, and fair on a loaded machine)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
