"""Shifts the model never saw: identity at 0, batched, physically what they say."""

import math

import numpy as np
import pytest
import torch

from hsaug import nuisances, synthetic
from hsaug.library import usgs_spectra

pytestmark = pytest.mark.usefixtures("one_thread")

NEW = ["endmember_variability", "sensor_enmap", "sensor_prisma", "wavelength_stretch", "wavelength_warp",
       "band_broadening", "signal_noise", "water_vapour", "aerosol", "illumination_g173", "endmember_samples"]


@pytest.fixture(scope="module")
def hard():
    return synthetic.make_scene("hard", n_rows=6, n_cols=6, seed=1)


def test_kinds_are_labelled():
    assert nuisances.names(in_distribution=True) == ["calibration_shift", "illumination", "geometry", "noise"]
    assert nuisances.names(in_distribution=False) == NEW
    assert nuisances.names() == nuisances.names(in_distribution=True) + NEW


@pytest.mark.parametrize("name", NEW)
def test_new_nuisances_identity_at_zero_batched_and_monotone_in_size(hard, name):
    x = torch.as_tensor(hard["spectra"].values)
    assert torch.equal(nuisances.perturb(hard, name, 0.0, seed=2), x)
    sweep = nuisances.get(name).strengths
    assert sweep[0] == 0.0
    change = []
    for s in sweep[1:]:
        out = nuisances.perturb(hard, name, s, seed=2)
        part = nuisances.perturb(hard, name, s, rows=[5, 0, 17], seed=2)
        if name not in ("noise", "signal_noise", "endmember_variability"):  # draws depend on the rows asked
            torch.testing.assert_close(part, out[[5, 0, 17]], rtol=0, atol=1e-6)
        change.append(float((out - x).abs().mean()))
    assert change[0] > 0 and change[-1] > change[0]


def test_sensor_keeps_a_flat_spectrum_and_smooths():
    wl = synthetic.sensor_grid()
    for sensor in nuisances.SENSORS:
        a = nuisances.sensor_matrix(sensor, wl)
        assert a.shape == (224, 224)
        torch.testing.assert_close(a.sum(dim=1), torch.ones(224, dtype=torch.float64), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="sensor must be one of"):
        nuisances.sensor_matrix("landsat", wl)


def test_stretch_and_warp_read_the_wavelengths_they_say():
    # a spectrum linear in wavelength: x(λ) = λ / 1000, so reading λ' gives λ'/1000 (inside the grid)
    wl = synthetic.sensor_grid()
    ds = synthetic.make_scene("paper", n_rows=1, n_cols=2, snr_db=None)
    ds["spectra"].values[:] = (wl / 1000.0)[None].astype(np.float32)
    c, h = 0.5 * (wl[0] + wl[-1]), 0.5 * (wl[-1] - wl[0])
    inner = slice(10, -10)
    u = (wl - c) / h
    out = nuisances.perturb(ds, "wavelength_stretch", 10.0).numpy()[0]
    np.testing.assert_allclose(out[inner], ((wl + 10.0 * u) / 1000.0)[inner], atol=1e-6)
    out = nuisances.perturb(ds, "wavelength_warp", 10.0).numpy()[0]
    np.testing.assert_allclose(out[inner], ((wl + 10.0 * u * u) / 1000.0)[inner], atol=1e-6)
    assert abs(out[112] - wl[112] / 1000) < 2e-5  # no error at the centre: not a constant shift


def test_atmosphere_outside_training_deepens_water_bands(hard):
    x = torch.as_tensor(hard["spectra"].values)
    wl = hard["wavelength"].values
    ratio = (nuisances.perturb(hard, "water_vapour", 4.0) / x).mean(dim=0).numpy()
    band = (wl > 1100) & (wl < 1200)  # 1.14 µm water band
    clear = (wl > 1600) & (wl < 1700)
    assert ratio[band].mean() < 0.9 and abs(ratio[clear].mean() - 1) < 0.05
    aer = (nuisances.perturb(hard, "aerosol", 1.0) / x).mean(dim=0).numpy()
    assert aer[wl < 600].mean() < aer[(wl > 2000) & (wl < 2300)].mean()  # aerosol dims the blue most


def test_g173_differs_from_spectrl2_but_has_its_shape(hard):
    a = nuisances.perturb(hard, "illumination", 45.0)
    b = nuisances.perturb(hard, "illumination_g173", 45.0)
    assert not torch.allclose(a, b, atol=1e-4)
    assert float((a - b).abs().mean()) < 0.2 * float((a - torch.as_tensor(hard["spectra"].values)).abs().mean())


def test_endmember_samples_swaps_in_the_other_illite(hard):
    assert nuisances.other_sample("Illite_IMt-1.b_lt2um_BECKa_AREF", hard["wavelength"].values) == \
        "Illite_GDS4_Marblehead_ASDNGb_AREF"
    assert nuisances.other_sample("Calcite_WS272_BECKa_AREF", hard["wavelength"].values) is None
    quiet = synthetic.make_scene("hard", n_rows=4, n_cols=4, snr_db=None, seed=3)
    out = nuisances.perturb(quiet, "endmember_samples", 1.0).double().numpy()
    names = list(quiet.attrs["endmember_names"])
    names[0] = "Illite_GDS4_Marblehead_ASDNGb_AREF"
    m = usgs_spectra(quiet["wavelength"].values, names=names).values
    expect = synthetic.mix(quiet["target"].values, m, "postnonlinear")
    np.testing.assert_allclose(out, expect, atol=2e-6)


def test_samples_need_a_mineral_with_a_second_sample():
    paper = synthetic.make_scene("paper", n_rows=3, n_cols=3, seed=0)
    if not any(nuisances.other_sample(e, paper["wavelength"].values) for e in paper.attrs["endmember_names"]):
        msg = nuisances.missing_requirement(paper, "endmember_samples")
        assert "second measured sample" in msg
        with pytest.raises(ValueError, match="second measured sample"):
            nuisances.perturb(paper, "endmember_samples", 0.5)


def test_signal_noise_grows_with_the_signal(hard):
    x = torch.as_tensor(hard["spectra"].values)
    d = nuisances.perturb(hard, "signal_noise", 0.1, seed=5) - x
    bright, dark = x > x.median(), x <= x.median()
    assert float(d[bright].std()) > float(d[dark].std())
    rms = float(x.square().mean().sqrt())
    assert float((d / (x.abs() * rms).sqrt()).std()) == pytest.approx(0.1, rel=0.05)
    assert math.isfinite(float(d.abs().max()))


@pytest.mark.parametrize("name", ["illumination", "geometry", "water_vapour", "aerosol", "illumination_g173"])
def test_physics_nuisances_act_on_reflectance_fractions_of_scaled_data(hard, name):
    """Data stored as reflectance x 10000: the physics runs on R = x / 10000, the result is scaled back."""
    scaled = hard.copy(deep=True)
    scaled["spectra"] = hard["spectra"] * 10000.0
    scaled.attrs.update(quantity="reflectance", reflectance_scale=10000.0)
    strength = nuisances.get(name).strengths[-1]
    plain = nuisances.perturb(hard, name, strength, rows=[3, 0, 7])
    out = nuisances.perturb(scaled, name, strength, rows=[3, 0, 7])
    torch.testing.assert_close(out, plain * 10000.0, rtol=1e-5, atol=1e-3)
    assert nuisances.missing_requirement(scaled, name) is None
    counts = scaled.copy()
    counts.attrs.update(quantity="radiance")
    counts.attrs.pop("reflectance_scale")
    assert "needs reflectance" in nuisances.missing_requirement(counts, name)
