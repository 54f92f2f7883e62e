"""hsaug.datasets: quantity conversions exact both ways, and the torch reflectance transform
that training uses for physics augmentations."""

import numpy as np
import pytest
import torch
import xarray as xr

from hsaug import datasets as D
from hsaug.spectra import make_dataset

WL = np.linspace(1000.0, 2000.0, 7)


def _ds(values, **attrs):
    values = np.asarray(values, dtype=np.float64)
    return make_dataset(values, np.arange(values.shape[0], dtype=float), WL, attrs=attrs)


R = np.random.default_rng(0).uniform(0.02, 0.95, (5, 7))


@pytest.mark.parametrize("scale", [1.0, 100.0, 10000.0])
def test_reflectance_absorbance_round_trips_are_exact(scale):
    ds = _ds(R * scale, quantity="reflectance", reflectance_scale=scale)
    refl = D.to_reflectance(ds)
    np.testing.assert_allclose(refl.spectra.values, R, rtol=1e-6)
    a = D.to_absorbance(ds)
    assert a.attrs["quantity"] == "absorbance" and a.attrs["absorbance_basis"] == "reflectance"
    np.testing.assert_allclose(a.spectra.values, -np.log10(R), rtol=1e-5)
    np.testing.assert_allclose(D.to_reflectance(a).spectra.values, R, rtol=1e-5)
    np.testing.assert_allclose(D.to_absorbance(D.to_reflectance(a)).spectra.values, a.spectra.values, rtol=1e-5)


def test_transmittance_and_its_absorbance_convert_both_ways_but_not_to_reflectance():
    t = _ds(R * 100, quantity="transmittance", transmittance_scale=100.0)
    a = D.to_absorbance(t)
    assert a.attrs["absorbance_basis"] == "transmittance" and "transmittance_scale" not in a.attrs
    np.testing.assert_allclose(a.spectra.values, -np.log10(R), rtol=1e-5)
    back = D.to_transmittance(a)
    np.testing.assert_allclose(back.spectra.values, R, rtol=1e-5)
    assert back.attrs["quantity"] == "transmittance" and back.attrs["transmittance_scale"] == 1.0
    for data in (t, a):
        with pytest.raises(ValueError, match="transmittance is light passed through the sample"):
            D.to_reflectance(data)
        with pytest.raises(ValueError, match="transmittance is light passed through the sample"):
            D.reflectance_transform(data)
        assert not D.convertible_to_reflectance(data)
    with pytest.raises(ValueError, match="cannot convert spectra with quantity 'reflectance' to transmittance"):
        D.to_transmittance(_ds(R, quantity="reflectance"))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_reflectance_transform_on_tensors_is_exact_both_ways(dtype):
    tol = dict(rtol=1e-6, atol=0) if dtype == torch.float32 else dict(rtol=1e-12, atol=0)
    r = torch.as_tensor(R, dtype=dtype)
    for scale in (100.0, 10000.0):
        to_r, from_r = D.reflectance_transform(_ds(R * scale, quantity="reflectance", reflectance_scale=scale))
        x = r * scale
        torch.testing.assert_close(to_r(x), r, **tol)
        torch.testing.assert_close(from_r(to_r(x)), x, **tol)
    to_r, from_r = D.reflectance_transform(_ds(R, quantity="reflectance", reflectance_scale=1.0))
    assert to_r(r) is r and from_r(r) is r  # fractions: the identity, bitwise
    to_r, from_r = D.reflectance_transform(_ds(-np.log10(R), quantity="absorbance"))
    a = -torch.log10(r)
    torch.testing.assert_close(to_r(a), r, rtol=1e-5 if dtype == torch.float32 else 1e-12, atol=0)
    torch.testing.assert_close(from_r(to_r(a)), a, rtol=1e-5 if dtype == torch.float32 else 1e-12, atol=1e-7)
    # the same numbers as the xarray conversion
    ds = _ds(-np.log10(R), quantity="absorbance")
    np.testing.assert_allclose(to_r(torch.as_tensor(ds.spectra.values, dtype=dtype)).numpy(),
                               D.to_reflectance(ds).spectra.values, rtol=1e-6)


@pytest.mark.parametrize("quantity, why", [("unknown", "does not say"), ("radiance", "irradiance"),
                                           ("snv", "standard normal variate"), ("furlongs", "knows no exact")])
def test_reflectance_transform_refuses_with_the_reason(quantity, why):
    ds = _ds(R)
    ds.attrs["quantity"] = quantity
    with pytest.raises(ValueError, match=f"cannot convert spectra with quantity '{quantity}' to reflectance: .*{why}"):
        D.reflectance_transform(ds)
    assert not D.convertible_to_reflectance(ds)
    assert D.convertible_to_reflectance(_ds(R, quantity="reflectance", reflectance_scale=100))


def test_reflectance_transform_reads_image_arrays_and_overrides():
    img = xr.DataArray(np.full((2, 3, 7), 5000.0), dims=("y", "x", "wavelength"),
                       attrs={"quantity": "reflectance", "reflectance_scale": 10000})
    to_r, _ = D.reflectance_transform(img)
    assert float(to_r(torch.tensor(5000.0))) == 0.5
    to_r, _ = D.reflectance_transform(img, reflectance_scale=100)
    assert float(to_r(torch.tensor(50.0))) == 0.5
    with pytest.raises(ValueError, match="reflectance_scale must be a positive number"):
        D.reflectance_transform(img, reflectance_scale=-1)
