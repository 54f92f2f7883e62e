"""Hapke scattering (eqs. 3-4) and atmospheric illumination (eq. 5) augmentations."""

import numpy as np
import pytest
import torch
from conftest import smooth_spectra
from hypothesis import given, settings
from hypothesis import strategies as st

from hsaug import augment
from hsaug.augment.physics import (
    COS_30,
    Atmospheric,
    Scattering,
    hapke_albedo,
    hapke_reflectance,
    uniform_angle,
)
from hsaug.illumination import Illumination, clear_sky
from hsaug.spectra import sensor_grid

GRID = torch.tensor(sensor_grid(), dtype=torch.float32)
X = smooth_spectra(32, GRID)
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def hapke_numpy(w, mu1, mu2):
    """Eq. (3) in float64 numpy, the independent reference."""
    g = np.sqrt(1.0 - w)
    return w / ((1.0 + 2.0 * mu1 * g) * (1.0 + 2.0 * mu2 * g))


# -- registry ---------------------------------------------------------------------------
def test_registered_by_name():
    assert isinstance(augment.get("scattering"), Scattering)
    assert isinstance(augment.get("atmospheric"), Atmospheric)
    assert [p.name for p in augment.get("scattering").params] == ["mu1", "mu2"]


# -- scattering -------------------------------------------------------------------------
@pytest.mark.parametrize("geometry", [{}, {"mu0": 0.5, "mu": 0.9}])
def test_scattering_identity_at_neutral(geometry):
    aug = Scattering(**geometry)
    neutral = aug.neutral()
    assert neutral == {"mu1": aug.mu0, "mu2": aug.mu}
    assert torch.equal(aug.apply(X, GRID, **neutral), X)
    noisy = X.clone()
    noisy[0, :5] = -0.03
    noisy[1, :5] = 1.2
    assert torch.equal(aug.apply(noisy, GRID, **neutral), noisy)


def test_hapke_round_trip_functions():
    x = torch.linspace(0.0, 1.0, 201, dtype=torch.float64)
    for mu0, mu in [(COS_30, COS_30), (0.3, 0.95), (1.0, 0.05)]:
        w = hapke_albedo(x, mu0, mu)
        assert ((w >= 0) & (w <= 1)).all()
        torch.testing.assert_close(hapke_reflectance(w, mu0, mu), x, atol=1e-8, rtol=0)
    # the formula as printed (mu0^4 x^2 under the root) does not round-trip: the typo is real
    m = COS_30
    xs = x[1:-1]
    g_printed = (((m**4) * xs**2 + (1 + 4 * m**2 * xs) * (1 - xs)).sqrt() - 2 * m * xs) / (1 + 4 * m**2 * xs)
    assert (hapke_reflectance(1 - g_printed**2, m, m) - xs).abs().max() > 1e-3


@pytest.mark.parametrize("geometry", [(COS_30, COS_30), (0.4, 0.9)])
def test_scattering_matches_numpy_eq3(geometry):
    mu0, mu = geometry
    rng = np.random.default_rng(1)
    w = rng.uniform(0.0, 1.0, (16, 50))
    x = torch.tensor(hapke_numpy(w, mu0, mu), dtype=torch.float32)  # reflectance of albedo w at (mu0, mu)
    mu1 = rng.uniform(0.05, 1.0, 16)
    mu2 = rng.uniform(0.05, 1.0, 16)
    out = Scattering(mu0=mu0, mu=mu).apply(x, torch.arange(50.0) + 400, mu1=mu1, mu2=mu2)
    expected = hapke_numpy(w, mu1[:, None].astype(np.float32), mu2[:, None].astype(np.float32))
    np.testing.assert_allclose(out.numpy(), expected, atol=2e-6, rtol=0)


def test_scattering_round_trip_through_new_geometry():
    """Move to (mu1, mu2), then back with a second instance whose input geometry is (mu1, mu2)."""
    mu1, mu2 = 0.3, 0.7
    there = Scattering().apply(X, GRID, mu1=mu1, mu2=mu2)
    assert (there - X).abs().max() > 0.01
    back = Scattering(mu0=mu1, mu=mu2).apply(there, GRID, mu1=COS_30, mu2=COS_30)
    torch.testing.assert_close(back, X, atol=2e-6, rtol=0)


def test_scattering_oblique_view_brightens():
    """Eq. (3) decreases with mu: larger angles than the input's 30 deg give higher reflectance."""
    out = Scattering().apply(X, GRID, mu1=0.2, mu2=0.2)
    assert (out >= X).all() and (out - X).mean() > 0.02
    assert (Scattering().apply(X, GRID, mu1=1.0, mu2=1.0) <= X).all()


def test_scattering_outside_unit_interval_keeps_excess():
    x = X[:2].clone()
    x[0, 0], x[0, 1], x[1, 0], x[1, 1] = -0.05, 1.1, 0.0, 1.0
    out = Scattering().apply(x, GRID, mu1=0.4, mu2=0.6)
    assert torch.isfinite(out).all()
    # clip to [0, 1] -> model (0 -> 0, 1 -> 1) -> excess added back
    torch.testing.assert_close(out[:, :2], x[:, :2], atol=1e-6, rtol=0)
    assert (out[:, 2:] != x[:, 2:]).any()


def test_scattering_rejects_percent():
    with pytest.raises(ValueError, match=r"reflectance in \[0, 1\].*mean of \d+.*divided by 100"):
        Scattering().apply(X * 100, GRID, mu1=0.5, mu2=0.5)


def test_scattering_paired_draw_is_the_authors():
    aug = Scattering()
    p = aug.sample(20000, torch.Generator().manual_seed(0))
    assert torch.equal(p["mu1"], p["mu2"])
    theta = torch.rad2deg(torch.arccos(p["mu1"].double()))
    assert theta.min() >= 0 and theta.max() <= 85.0 + 1e-3
    assert abs(float(theta.mean()) - 42.5) < 1.0  # uniform in angle, not in cosine (mean 48 deg)
    assert abs(float((theta < 42.5).double().mean()) - 0.5) < 0.02


def test_scattering_independent_draw():
    with pytest.raises(ValueError, match="draw='independent'"):
        Scattering(mu2=(0.5, 1.0))
    aug = Scattering(draw="independent", mu1=(0.5, 0.5), mu2=(0.2, 0.9))
    p = aug.sample(1000, torch.Generator().manual_seed(0))
    assert (p["mu1"] == 0.5).all()
    assert p["mu2"].min() >= 0.2 - 1e-6 and p["mu2"].max() <= 0.9 + 1e-6 and p["mu2"].std() > 0.1


def test_uniform_angle_degenerate_range_is_exact():
    assert (uniform_angle(5, 1.0, 1.0) == 1.0).all()
    assert (uniform_angle(5, COS_30, COS_30) == torch.tensor(COS_30, dtype=torch.float32)).all()


@pytest.mark.parametrize("cls", [Scattering, Atmospheric])
def test_bad_parameters_name_the_interval(cls):
    aug = cls()
    with pytest.raises(ValueError, match=r"mu1 must lie in \[0.05, 1\]"):
        aug.apply(X, GRID, mu1=0.01)
    with pytest.raises(ValueError, match=r"mu2 must lie in \[0.05, 1\]"):
        aug.apply(X, GRID, mu2=torch.full((X.shape[0],), 1.5))
    with pytest.raises(ValueError, match=r"mu1 range must lie within \[0.05, 1\]"):
        cls(mu1=(0.0, 1.0))


def test_bad_geometry():
    with pytest.raises(ValueError, match=r"mu0 must be a cosine in \[0.05, 1\]; got 0"):
        Scattering(mu0=0)
    with pytest.raises(ValueError, match=r"mu must be a cosine in \[0.05, 1\]"):
        Scattering(mu=float("nan"))


# -- atmospheric ------------------------------------------------------------------------
def test_atmospheric_identity_when_mu1_equals_mu2():
    aug = Atmospheric()
    assert torch.equal(aug.apply(X, GRID, **aug.neutral()), X)
    mu = torch.linspace(0.05, 1.0, X.shape[0])
    assert torch.equal(aug.apply(X, GRID, mu1=mu, mu2=mu), X)


def test_atmospheric_matches_hand_computation():
    aug = Atmospheric(zenith=40.0, precipitable_water=2.0)
    ds = clear_sky(GRID.double().numpy(), zenith=40.0, precipitable_water=2.0)
    sun, sky = ds["e_sun"].values, ds["e_sky"].values
    mu1 = np.linspace(0.1, 1.0, X.shape[0])
    for mu2 in (np.linspace(1.0, 0.3, X.shape[0]), np.full(X.shape[0], 0.5)):  # per-row and shared mu2
        out = aug.apply(X, GRID, mu1=mu1, mu2=mu2)
        expected = X.double().numpy() * (sun * mu1[:, None] + sky) / (sun * mu2[:, None] + sky)
        np.testing.assert_allclose(out.numpy(), expected, rtol=2e-6, atol=0)
    # a grazing sun darkens the pixel most where direct light dominates (NIR) vs the blue
    dark = aug.apply(X, GRID, mu1=0.1, mu2=1.0) / X
    assert float(dark[:, GRID > 800].mean()) < float(dark[:, GRID < 450].mean()) < 1.0


def test_atmospheric_custom_illumination_and_zero_sky(tmp_path):
    wl = np.array([400.0, 500.0, 600.0, 700.0])
    ill = Illumination(wl, [1.0, 1.0, 2.0, 0.0], [0.25, 0.0, 1.0, 0.0])
    x = torch.full((2, 4), 0.5)
    out = Atmospheric(illumination=ill).apply(x, wl, mu1=torch.tensor([0.5, 0.2]), mu2=1.0)
    expected = 0.5 * torch.tensor([
        [(0.5 + 0.25) / 1.25, 0.5, (1.0 + 1.0) / 3.0, 1.0],  # E_sky = 0: mu1/mu2; both 0: 1
        [(0.2 + 0.25) / 1.25, 0.2, (0.4 + 1.0) / 3.0, 1.0],
    ])
    torch.testing.assert_close(out, expected, atol=1e-7, rtol=1e-6)
    path = tmp_path / "ill.csv"
    ill.to_csv(path)
    from_path = Atmospheric(illumination=path).apply(x, wl, mu1=torch.tensor([0.5, 0.2]), mu2=1.0)
    assert torch.equal(from_path, out)


def test_atmospheric_settings_errors():
    with pytest.raises(ValueError, match="not both"):
        Atmospheric(illumination=Atmospheric().illumination, zenith=10.0)
    with pytest.raises(ValueError, match="must be an hsaug.illumination.Illumination"):
        Atmospheric(illumination=42)
    with pytest.raises(ValueError, match=r"zenith must lie in \[0, 85\] deg"):
        Atmospheric(zenith=95.0)


def test_atmospheric_draw_and_grid_cache():
    aug = Atmospheric()
    p = aug.sample(5000, torch.Generator().manual_seed(0))
    assert (p["mu2"] == 1.0).all()  # calibration panel facing the sun, as in the authors' code
    theta = torch.rad2deg(torch.arccos(p["mu1"].double()))
    assert theta.max() <= 85.0 + 1e-3 and abs(float(theta.mean()) - 42.5) < 1.5
    r1 = aug.sun_to_sky(GRID)
    assert aug.sun_to_sky(GRID.clone()) is r1  # equal grid: cache hit
    r2 = aug.sun_to_sky(GRID + 1.0)
    assert r2 is not r1 and not torch.equal(r1, r2)


# -- shared contract ----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["scattering", "atmospheric"])
def test_same_seed_same_output(name):
    a, b = augment.get(name), augment.get(name)
    out1 = a(X, GRID, torch.Generator().manual_seed(7))
    out2 = b(X, GRID, torch.Generator().manual_seed(7))
    out3 = a(X, GRID, torch.Generator().manual_seed(8))
    assert torch.equal(out1, out2) and not torch.equal(out1, out3)
    assert torch.equal(a.apply(X, GRID, **a.last_params), out3)  # replay


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", ["scattering", "atmospheric"])
def test_shape_dtype_device_kept(name, dtype, device):
    x = X.to(device=device, dtype=dtype)
    out = augment.get(name)(x, GRID.to(device), torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == dtype and out.device == x.device
    assert torch.isfinite(out).all()


cosines = st.floats(0.05, 1.0)


@settings(max_examples=25, deadline=None)
@given(mu0=cosines, mu=cosines, mu1=cosines, mu2=cosines, seed=st.integers(0, 2**16))
def test_scattering_finite_over_spec(mu0, mu, mu1, mu2, seed):
    x = smooth_spectra(4, GRID, seed=seed)
    x[0, :3] = torch.tensor([0.0, 1.0, -0.2])
    x[1, :3] = torch.tensor([1.5, 1e-7, 1.0 - 1e-7])
    out = Scattering(mu0=mu0, mu=mu).apply(x, GRID, mu1=mu1, mu2=mu2)
    assert torch.isfinite(out).all()
    inside = (x >= 0) & (x <= 1)
    assert ((out[inside] >= 0) & (out[inside] <= 1 + 1e-6)).all()


@settings(max_examples=25, deadline=None)
@given(mu1=cosines, mu2=cosines, zenith=st.floats(0.0, 85.0), seed=st.integers(0, 2**16))
def test_atmospheric_finite_over_spec(mu1, mu2, zenith, seed):
    x = smooth_spectra(4, GRID, seed=seed)
    out = Atmospheric(zenith=round(zenith)).apply(x, GRID, mu1=mu1, mu2=mu2)
    assert torch.isfinite(out).all()
    bound = max(mu1 / mu2, 1.0) * (1 + 1e-5)  # the eq. 5 factor lies between 1 and mu1/mu2
    assert (out <= x * bound).all() and (out >= x * min(mu1 / mu2, 1.0) * (1 - 1e-5)).all()


def test_scattering_accepts_post_nonlinear_mixtures_above_one():
    # eq. (11): x = Ma + Ma*Ma reaches 2 for bright endmembers; that is not percent data
    bright = torch.full((2, GRID.shape[0]), 0.9)
    mixed = bright + bright * bright  # 1.71
    mixed[0, 3] = 3.9  # a 10 dB noise spike
    out = Scattering().apply(mixed, GRID, mu1=0.5, mu2=0.5)
    assert torch.isfinite(out).all() and out.shape == mixed.shape
