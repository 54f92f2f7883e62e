"""Synthetic mixed scenes (paper §4.1): Dirichlet abundances, linear or post-nonlinear
mixing of measured USGS endmembers (eq. 11), additive Gaussian noise at a given SNR.

A scene is a labelled set in hsaug's form: ``spectra`` (sample, wavelength) are the mixed
pixels, ``target`` (sample, output) their abundances (one output per endmember, named by
its USGS name), ``y``/``x`` coordinates on ``sample`` give each pixel's image row/column
(sample = y * n_cols + x), and ``endmembers`` (endmember, wavelength) holds M.

Mixing, for abundances a (K,) on the simplex and endmember matrix M (B, K):

* ``"linear"``: x = Ma + n;
* ``"postnonlinear"`` (eq. 11): x = Ma + Ma ⊙ Ma + n, the element-wise square of the
  linear mixture added to it (reflectances can then exceed 1).

Noise n is zero-mean Gaussian with one variance σ² per scene:
SNR_dB = 10 log10(mean(x_clean²) / σ²), the mean over all pixels and bands of the clean
scene. ``snr_db=None`` or ``inf`` adds no noise.

Presets (any argument given explicitly overrides its preset value):

========  ==============================================  ======  =============  =============
preset    endmembers                                      snr_db  concentration  mixing
========  ==============================================  ======  =============  =============
paper     4 drawn at random (with ``seed``) from           20      1 (uniform)    postnonlinear
          :func:`hsaug.library.usgs_names`
hard      the 4 most similar (:func:`similar_endmembers`)  10      0.3 (sparse)   postnonlinear
========  ==============================================  ======  =============  =============

"paper" is what §4.1 says: four random USGS endmembers, 224 bands, 100 × 100 pixels,
Dirichlet abundances, 20 dB; the paper gives no concentration, so it is 1 (uniform on the
simplex). The paper does not say which four; its baseline R² = 0.55 (Table 1) is far below
what random draws give here (~0.96), so "hard" is a deterministic scene of that difficulty:
the four library spectra with the smallest mean pairwise spectral angle on the grid, at
10 dB. On the default grid they are calcite, dolomite, their 50/50 physical mixture
(USGS AMX8) and chrysotile (mean angle 2.1°); at concentration 1 these gave R² ≈ 0.31,
too hard, so the abundances are sparser (Dirichlet 0.3: most pixels dominated by one
endmember), which brings R² to ≈ 0.57.

Measured difficulty: a plain MLP of the paper's shape (224-128-64-32-16-4, ReLU, Adam,
MSE, 100 epochs, batch 32, raw reflectance input) as scikit-learn 1.9
``MLPRegressor(hidden_layer_sizes=(128, 64, 32, 16), max_iter=100, batch_size=32,
random_state=0)``, trained on a random 80 % of a full 100 × 100 scene (no subsampling),
R² (uniform average over outputs) on the other 20 %:

* paper, seeds 0 / 1 / 2: 0.962 / 0.945 / 0.973
* hard, seeds 0 / 1 / 2: 0.568 / 0.591 / 0.561
* hard with concentration 1, seeds 0 / 1: 0.313 / 0.347; with concentration 0.4, seed 0: 0.530

(In "hard" the per-output R² is ≈ 0.7 calcite, 0.8 dolomite, 0.3 for their mixture,
0.5 chrysotile: the mixture is nearly the mean of two others.)

One seed drives everything: ``np.random.SeedSequence(seed)`` spawns three independent
streams, for the endmember draw, the abundances and the noise, so changing the SNR keeps
the abundances, and naming the endmembers drawn by "paper" reproduces its abundances.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from .library import SOURCE, usgs_names, usgs_spectra
from .spectra import make_dataset, sensor_grid

__all__ = ["PRESETS", "PRESET", "MIXINGS", "make_scene", "similar_endmembers", "mix", "scene_image"]

MIXINGS = ("linear", "postnonlinear")
#: Preset values; "similar" means :func:`similar_endmembers` on the scene's grid.
PRESETS: dict[str, dict[str, Any]] = {
    "paper": {"endmembers": 4, "snr_db": 20.0, "concentration": 1.0, "mixing": "postnonlinear"},
    "hard": {"endmembers": "similar", "snr_db": 10.0, "concentration": 0.3, "mixing": "postnonlinear"},
}
_BASE = PRESETS["paper"]


class _Preset:
    def __repr__(self) -> str:
        return "<preset>"


#: Default of the preset-controlled arguments: the preset's value (or "paper"'s without one).
PRESET: Any = _Preset()


def similar_endmembers(k: int = 4, wavelength: Any = None) -> list[str]:
    """The ``k`` USGS spectra with the smallest mean pairwise spectral angle on ``wavelength``.

    Exhaustive over all k-subsets of :func:`hsaug.library.usgs_names` (default grid:
    :func:`hsaug.spectra.sensor_grid`); ties go to the earlier names. Returned in library order.
    """
    wl = sensor_grid() if wavelength is None else wavelength
    lib = usgs_spectra(wl)
    n = lib.sizes["sample"]
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 2 <= k <= n:
        raise ValueError(f"k must be an integer from 2 to {n} (the library size on this grid); got {k!r}")
    unit = lib.values / np.linalg.norm(lib.values, axis=1, keepdims=True)
    angle = np.arccos(np.clip(unit @ unit.T, -1.0, 1.0))
    if math.comb(n, k) > 2_000_000:
        raise ValueError(f"k={k} gives {math.comb(n, k)} subsets of {n} spectra; too many to search")
    combos = np.array(list(itertools.combinations(range(n), k)))
    pairs = list(itertools.combinations(range(k), 2))
    mean = np.mean([angle[combos[:, i], combos[:, j]] for i, j in pairs], axis=0)
    best = combos[int(np.argmin(mean))]
    return [str(s) for s in lib["name"].values[best]]


def mix(abundances: np.ndarray, endmembers: np.ndarray, mixing: str = "postnonlinear") -> np.ndarray:
    """Noise-free mixed spectra (N, B) from abundances (N, K) and endmembers (K, B)."""
    if mixing not in MIXINGS:
        raise ValueError(f"mixing must be one of {MIXINGS}; got {mixing!r}")
    linear = np.asarray(abundances, float) @ np.asarray(endmembers, float)
    return linear if mixing == "linear" else linear + linear * linear


def _resolve(preset: str | None, given: dict[str, Any]) -> dict[str, Any]:
    if preset is not None and preset not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)} or None; got {preset!r}")
    base = PRESETS[preset] if preset is not None else _BASE
    return {key: (base[key] if value is PRESET else value) for key, value in given.items()}


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def make_scene(
    preset: str | None = None,
    *,
    endmembers: int | Sequence[str] = PRESET,
    n_rows: int = 100,
    n_cols: int = 100,
    concentration: float | Sequence[float] = PRESET,
    mixing: str = PRESET,
    snr_db: float | None = PRESET,
    wavelength: Any = None,
    seed: int = 0,
) -> xr.Dataset:
    """A synthetic scene of ``n_rows`` × ``n_cols`` mixed pixels (see the module docstring).

    ``endmembers``: how many to draw at random from the USGS library (without replacement,
    with ``seed``), or a list of USGS names. ``concentration``: the Dirichlet parameter,
    one value for all endmembers or one per endmember (1 = uniform on the simplex).
    ``mixing``: ``"linear"`` or ``"postnonlinear"`` (eq. 11). ``snr_db``: per-scene SNR in
    dB, ``None``/``inf`` for no noise. ``wavelength`` [nm]: the sensor grid (default
    :func:`hsaug.spectra.sensor_grid`, 224 bands over 400-2500 nm). Returns a Dataset with
    ``spectra`` (sample, wavelength) float32, ``target`` (sample, output) abundances,
    ``endmembers`` (endmember, wavelength), coordinates ``y``, ``x`` on sample, and attrs
    recording every setting.
    """
    opts = _resolve(preset, {"endmembers": endmembers, "concentration": concentration,
                             "mixing": mixing, "snr_db": snr_db})
    n_rows, n_cols = _positive_int(n_rows, "n_rows"), _positive_int(n_cols, "n_cols")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    if opts["mixing"] not in MIXINGS:
        raise ValueError(f"mixing must be one of {MIXINGS}; got {opts['mixing']!r}")
    snr = opts["snr_db"]
    if snr is None:
        snr = math.inf
    if isinstance(snr, bool) or not isinstance(snr, (int, float, np.floating, np.integer)) or math.isnan(snr) \
            or snr == -math.inf:
        raise ValueError(f"snr_db must be a number of dB, or None/inf for no noise; got {opts['snr_db']!r}")
    snr = float(snr)
    wl = np.asarray(sensor_grid() if wavelength is None else wavelength, float)

    pick_rng, abund_rng, noise_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(3))
    em = opts["endmembers"]
    if isinstance(em, str) and em == "similar":
        names = similar_endmembers(4, wl)
    elif isinstance(em, (int, np.integer)) and not isinstance(em, bool):
        available = usgs_names(wl)
        if not 2 <= em <= len(available):
            raise ValueError(
                f"endmembers must be from 2 to {len(available)} (the USGS spectra complete over "
                f"this grid), or a list of names; got {em!r}"
            )
        names = [available[i] for i in sorted(pick_rng.choice(len(available), size=int(em), replace=False))]
    elif isinstance(em, Sequence) and not isinstance(em, str):
        names = list(em)
        if len(names) < 2:
            raise ValueError(f"endmembers must name at least 2 USGS spectra; got {names!r}")
    else:
        raise ValueError(f"endmembers must be an integer count or a list of USGS names; got {em!r}")
    library = usgs_spectra(wl, names=names)  # checks the names and the grid
    names = [str(n) for n in library["name"].values]
    k = len(names)

    conc = opts["concentration"]
    alpha = np.broadcast_to(np.asarray(conc, float), (k,)) if np.ndim(conc) == 0 else np.asarray(conc, float)
    if alpha.shape != (k,) or not (np.isfinite(alpha).all() and (alpha > 0).all()):
        raise ValueError(
            f"concentration must be a positive number or {k} positive numbers (one per endmember); got {conc!r}"
        )

    n = n_rows * n_cols
    abundances = abund_rng.dirichlet(alpha, size=n)
    clean = mix(abundances, library.values, opts["mixing"])
    if math.isinf(snr):
        sigma = 0.0
        noisy = clean
    else:
        sigma = float(np.sqrt(np.mean(clean**2) / 10.0 ** (snr / 10.0)))
        noisy = clean + sigma * noise_rng.standard_normal(clean.shape)

    attrs = {
        "preset": preset if preset is not None else "none",
        "endmember_names": names,
        "n_rows": n_rows,
        "n_cols": n_cols,
        "concentration": [float(a) for a in alpha],
        "mixing": opts["mixing"],
        "snr_db": snr,
        "noise_std": sigma,
        "seed": int(seed),
        "quantity": "reflectance",
        "model": "x = Ma + n" if opts["mixing"] == "linear" else "x = Ma + Ma*Ma + n (eq. 11)",
        "endmember_source": SOURCE,
    }
    ds = make_dataset(noisy, abundances, wl, outputs=names, target_units="fraction", attrs=attrs)
    row, col = np.divmod(np.arange(n), n_cols)
    ds = ds.assign_coords(y=("sample", row), x=("sample", col))
    ds["endmembers"] = xr.DataArray(
        library.values, dims=("endmember", "wavelength"), coords={"endmember": names},
        attrs={"quantity": "reflectance", "source": SOURCE},
    )
    return ds


def scene_image(ds: xr.Dataset, var: str = "spectra") -> xr.DataArray:
    """``ds[var]`` (sample, ...) reshaped to an image (y, x, ...) using the ``y``/``x`` coordinates."""
    if not isinstance(ds, xr.Dataset) or var not in ds:
        have = sorted(ds.data_vars) if isinstance(ds, xr.Dataset) else type(ds).__name__
        raise ValueError(f"var must name a variable of the scene; got {var!r}, available: {have}")
    da = ds[var]
    if "sample" not in da.dims or "y" not in da.coords or "x" not in da.coords:
        raise ValueError(f"ds[{var!r}] needs a 'sample' dim with 'y' and 'x' coordinates (a make_scene result)")
    image = da.drop_vars("sample").set_index(sample=["y", "x"]).unstack("sample")
    return image.transpose("y", "x", ...)
