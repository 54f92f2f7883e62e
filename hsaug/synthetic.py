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

=======  ================================================  ======  =============  =============
preset   endmembers                                        snr_db  concentration  mixing
=======  ================================================  ======  =============  =============
paper    4 drawn at random (with ``seed``) from             20      1 (uniform)    postnonlinear
         :func:`hsaug.library.usgs_names`
hard     illite (IMt-1), calcite, dolomite, chrysotile     10      0.3 (sparse)   postnonlinear
         (``HARD_ENDMEMBERS``): similar, distinct minerals
hard-v1  the 4 most similar (:func:`similar_endmembers`):   10      0.3 (sparse)   postnonlinear
         calcite, dolomite, AMX8 (their 50/50 mixture),
         chrysotile — abundances NOT identifiable
=======  ================================================  ======  =============  =============

"paper" is what §4.1 says: four random USGS endmembers, 224 bands, 100 × 100 pixels,
Dirichlet abundances, 20 dB; the paper gives no concentration, so it is 1 (uniform on the
simplex). The paper does not say which four; its baseline R² = 0.55 (Table 1) is far below
what random draws give here (~0.96), so a harder scene is offered too.

"hard-v1" (this project's first "hard", kept so that stored results still refer to it) took
the four library spectra with the smallest mean pairwise spectral angle: calcite, dolomite,
USGS AMX8 — a 50/50 calcite + dolomite mixture — and chrysotile. One endmember is then the
mean of two others: the endmember matrix has condition number 1.6e8 (smallest singular
value 1.5e-7 of the largest's 24), so the abundances are not identifiable and part of its R²
ceiling is no method's fault (least squares knowing the endmembers recovers noise-free
float32 mixtures only to R² = 0.916, errors up to 0.32; see :func:`identifiability`).

"hard" keeps the difficulty's sources — similar minerals (mean pairwise angle 8.1°,
calcite–dolomite 2.4°), sparse abundances, 10 dB — with identifiable abundances: among the
10 pure-mineral spectra of the library complete over 400–2500 nm (every 4-subset checked,
vegetation, water, snow and mixtures excluded, at most one illite), it is the most similar
set that contains illite, the only mineral with a second, different measured sample over
the whole range (``Illite_GDS4_Marblehead_ASDNGb_AREF``; used by
:mod:`hsaug.nuisances` for endmember variability from measured samples). Checked with
:func:`identifiability` on the default grid: condition number 68 (smallest singular value
0.32), least-squares recovery from noise-free float32 mixtures R² = 1.0000 (max error
1.3e-7), against 1.6e8 and R² = 0.916 for "hard-v1"; ridge/PLS on the scene at 10 dB reach R² 0.639 / 0.638
(hard-v1: 0.437 / 0.452).

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

__all__ = ["PRESETS", "PRESET", "MIXINGS", "HARD_ENDMEMBERS", "make_scene", "similar_endmembers", "mix",
           "identifiability", "scene_image"]

MIXINGS = ("linear", "postnonlinear")
#: Preset values; "similar" means :func:`similar_endmembers` on the scene's grid.
#: The "hard" preset's minerals: similar (carbonates, sheet silicates) but distinct.
HARD_ENDMEMBERS = ("Illite_IMt-1.b_lt2um_BECKa_AREF", "Calcite_WS272_BECKa_AREF",
                   "Dolomite_HS102.3B_BECKb_AREF", "Chrysotile_HS323.1B_BECKa_AREF")
PRESETS: dict[str, dict[str, Any]] = {
    "paper": {"endmembers": 4, "snr_db": 20.0, "concentration": 1.0, "mixing": "postnonlinear"},
    "hard": {"endmembers": list(HARD_ENDMEMBERS), "snr_db": 10.0, "concentration": 0.3, "mixing": "postnonlinear"},
    "hard-v1": {"endmembers": "similar", "snr_db": 10.0, "concentration": 0.3, "mixing": "postnonlinear"},
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


def identifiability(endmembers: Any, wavelength: Any = None, *, n: int = 2000, seed: int = 0) -> dict[str, float]:
    """How well abundances can be told apart: endmember names (or a (K, B) array) on ``wavelength``.

    Returns the endmember matrix's singular values' extremes and condition number, the mean
    and smallest pairwise spectral angles [deg], and least-squares recovery of ``n``
    noiseless Dirichlet(1) abundances from their linear mixtures, stored as float32 like a
    scene's spectra (a relative perturbation of ~1e-7), knowing the endmembers
    (``lstsq_r2``, uniform R² over endmembers, and ``lstsq_max_error``): R² ≈ 1 means the
    abundances are identifiable from noise-free spectra. Post-nonlinear mixtures (eq. 11)
    invert to linear ones exactly, so the check covers both mixings.
    """
    if isinstance(endmembers, np.ndarray):
        e = np.asarray(endmembers, float)
    else:
        wl = sensor_grid() if wavelength is None else wavelength
        e = usgs_spectra(wl, names=list(endmembers)).values.astype(float)
    if e.ndim != 2 or e.shape[0] < 2 or e.shape[1] < e.shape[0] or not np.isfinite(e).all():
        raise ValueError(f"endmembers must be >= 2 names or a finite (K, B) array with K <= B; got shape {e.shape}")
    sv = np.linalg.svd(e, compute_uv=False)
    unit = e / np.linalg.norm(e, axis=1, keepdims=True)
    ang = np.degrees(np.arccos(np.clip(unit @ unit.T, -1.0, 1.0)))[np.triu_indices(e.shape[0], 1)]
    a = np.random.default_rng(seed).dirichlet(np.ones(e.shape[0]), size=n)
    x = (a @ e).astype(np.float32).astype(np.float64)
    est = np.linalg.lstsq(e.T, x.T, rcond=None)[0].T
    ss_res, ss_tot = ((a - est) ** 2).sum(0), ((a - a.mean(0)) ** 2).sum(0)
    return {"sv_max": float(sv[0]), "sv_min": float(sv[-1]), "condition": float(sv[0] / sv[-1]),
            "angle_mean_deg": float(ang.mean()), "angle_min_deg": float(ang.min()),
            "lstsq_r2": float(np.mean(1 - ss_res / ss_tot)), "lstsq_max_error": float(np.abs(a - est).max())}


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
