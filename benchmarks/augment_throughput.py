"""Throughput of every augmentation: hsaug's batched torch vs a per-spectrum numpy/scipy loop.

    python benchmarks/augment_throughput.py [--n 4096] [--repeats 20] [--ref-n 512]

Times ``aug(x, wavelength, generator)`` exactly as training calls it (parameter draw,
validation and transform) on N × 224 float32 spectra, and a straightforward per-spectrum
implementation of the same transform with the same drawn parameters (run on ``--ref-n``
spectra and scaled). Prints spectra/s for both, the ratio, and whether each meets the
targets: ≥ 10× the reference and ≥ 0.5 M spectra/s.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from scipy.interpolate import interp1d
from scipy.ndimage import map_coordinates

from hsaug import augment
from hsaug.spectra import sensor_grid

# ---- per-spectrum references: one Python iteration per spectrum, numpy/scipy inside -----


def ref_shift(x, wl, p, aug):
    out = np.empty_like(x)
    for i in range(len(x)):
        f = interp1d(wl, x[i], kind="linear", fill_value="extrapolate", assume_sorted=True)
        out[i] = f(wl - p["delta"][i])
    return out


def ref_flip(x, wl, p, aug):
    out = np.empty_like(x)
    for i in range(len(x)):
        flipped = np.interp(wl[0] + wl[-1] - wl, wl, x[i])
        out[i] = (1 - p["amount"][i]) * x[i] + p["amount"][i] * flipped
    return out


def ref_elastic(x, wl, p, aug):
    out = np.empty_like(x)
    k = sum(1 for name in p if name.startswith("A_"))
    step = wl[1] - wl[0]
    for i in range(len(x)):
        eps = np.zeros_like(wl)
        for j in range(1, k + 1):
            eps += p[f"A_{j}"][i] * np.exp(-((wl - p[f"lambda_{j}"][i]) ** 2) / (2 * p["sigma"][i] ** 2))
        coords = np.arange(len(wl)) + eps / step
        out[i] = map_coordinates(x[i], [coords], order=1, mode="mirror")
    return out


def ref_scattering(x, wl, p, aug):
    """Hapke: invert eq. 3 at (mu0, mu) (corrected eq. 4), re-apply at (mu1, mu2), one spectrum at a time."""
    out = np.empty_like(x)
    m0, m = aug.mu0, aug.mu
    for i in range(len(x)):
        r = np.clip(x[i], 0.0, 1.0)
        d = (m0 + m) ** 2 * r**2 + (1 + 4 * m0 * m * r) * (1 - r)
        g = (np.sqrt(d) - (m0 + m) * r) / (1 + 4 * m0 * m * r)
        w = 1 - g**2
        out[i] = w / ((1 + 2 * p["mu1"][i] * g) * (1 + 2 * p["mu2"][i] * g)) + (x[i] - r)
    return out


def ref_atmospheric(x, wl, p, aug):
    """Eq. 5 with the same SPECTRL2 illumination, one spectrum at a time."""
    ill = aug.illumination.on(wl)
    out = np.empty_like(x)
    for i in range(len(x)):
        out[i] = x[i] * (ill.e_sun * p["mu1"][i] + ill.e_sky) / (ill.e_sun * p["mu2"][i] + ill.e_sky)
    return out


def ref_band_erasure(x, wl, p, aug):
    """One contiguous run of round(fraction * B) bands set to zero (the authors' default), per spectrum."""
    out = x.copy()
    b = x.shape[1]
    for i in range(len(x)):
        n = int(np.round(p["fraction"][i] * b))
        start = min(int(p["position"][i] * (b - n + 1)), b - n)
        out[i, start:start + n] = 0.0
    return out


def ref_band_permutation(x, wl, p, aug):
    """The authors' per-spectrum block shuffle (a different random permutation: timing only)."""
    out = np.empty_like(x)
    rng = np.random.default_rng(0)
    for i in range(len(x)):
        block = int(p["block"][i])
        n = x.shape[1] // block
        order = rng.permutation(n)
        out[i, : n * block] = x[i, : n * block].reshape(n, block)[order].ravel()
        out[i, n * block:] = x[i, n * block:]
    return out


def ref_nearest_neighbor(x, wl, p, aug):
    """Mean of each spectrum and its k - 1 precomputed nearest reference spectra, one at a time."""
    ref = aug.reference.numpy().astype(np.float64)
    nbrs = aug.neighbors.numpy()
    out = np.empty_like(x)
    for i in range(len(x)):
        k = int(p["k"][i])
        out[i] = (x[i] + ref[nbrs[i, 1:k]].sum(0)) / k
    return out


REFERENCES = {"shift": ref_shift, "flip": ref_flip, "scattering": ref_scattering, "atmospheric": ref_atmospheric,
              "elastic": ref_elastic, "band_erasure": ref_band_erasure, "band_permutation": ref_band_permutation,
              "nearest_neighbor": ref_nearest_neighbor}
TIMING_ONLY = {"band_permutation"}


def make_spectra(n: int, wl: np.ndarray, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.uniform(wl[0], wl[-1], (n, 3, 1))
    depth = rng.uniform(-0.15, 0.15, (n, 3, 1))
    x = 0.4 + (depth * np.exp(-0.5 * ((wl - centres) / 150.0) ** 2)).sum(1)
    return x.astype(np.float32)


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def prepare(name: str, x: torch.Tensor):
    aug = augment.get(name)
    if hasattr(aug, "fit"):
        aug.fit(x)
    return aug


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--ref-n", type=int, default=512)
    args = parser.parse_args()

    wl_np = sensor_grid()
    wl = torch.tensor(wl_np, dtype=torch.float32)
    x = torch.tensor(make_spectra(args.n, wl_np))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.n} x {len(wl_np)} float32\n")
    header = f"{'augmentation':<18}{'hsaug [M/s]':>12}{'reference [k/s]':>17}{'ratio':>9}  target (>=10x, >=0.5 M/s)"
    print(header)
    print("-" * len(header))
    for name in augment.names():
        aug = prepare(name, x)
        g = torch.Generator().manual_seed(0)
        index = torch.arange(args.n)
        kwargs = {"index": index} if hasattr(aug, "fit") else {}
        t = timed(lambda: aug(x, wl, g, **kwargs), args.repeats)
        rate = args.n / t
        ref = REFERENCES[name]
        sub = x[: args.ref_n].numpy().astype(np.float64)
        aug(x[: args.ref_n], wl, g, **({"index": index[: args.ref_n]} if kwargs else {}))
        params = {k: v.numpy().astype(np.float64) for k, v in aug.last_params.items()}
        t_ref = timed(lambda: ref(sub, wl_np, params, aug), 1)
        ref_rate = args.ref_n / t_ref
        expected = aug.apply(x[: args.ref_n], wl, **aug.last_params, **({"index": index[: args.ref_n]} if kwargs else {}))
        err = float(np.abs(ref(sub, wl_np, params, aug) - expected.numpy()).max())
        ok = rate / ref_rate >= 10 and rate >= 0.5e6
        check = "timing only" if name in TIMING_ONLY else f"max |hsaug - reference| = {err:.1e}"
        print(f"{name:<18}{rate / 1e6:>12.2f}{ref_rate / 1e3:>17.1f}{rate / ref_rate:>8.0f}x  "
              f"{'PASS' if ok else 'FAIL'}   ({check})")


if __name__ == "__main__":
    main()
