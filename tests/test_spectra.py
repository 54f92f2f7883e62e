import numpy as np
import pytest
import torch
import xarray as xr

from hsaug import spectra as sp


def test_check_wavelength_accepts_and_converts():
    wl = sp.check_wavelength([400, 500.5, 600])
    assert wl.dtype == torch.float32 and wl.shape == (3,)


@pytest.mark.parametrize(
    "bad, match",
    [
        ([400, 400, 500], "strictly increasing"),
        ([500, 400], "strictly increasing"),
        ([[400, 500]], "1-D"),
        ([400], "at least 2"),
        ([400, np.nan], "finite"),
        (["a", "b"], "numeric"),
    ],
)
def test_check_wavelength_rejects(bad, match):
    with pytest.raises(ValueError, match=match):
        sp.check_wavelength(bad)


def test_check_wavelength_band_count_mismatch_names_both():
    with pytest.raises(ValueError, match="3 values but the spectra have 4 bands"):
        sp.check_wavelength([1, 2, 3], 4)


def test_as_spectra_rejects_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        sp.as_spectra(torch.zeros(5))
    x = torch.ones(3, 4)
    x[1, 2] = float("nan")
    with pytest.raises(ValueError, match="1 spectra contain NaN or inf .first at row 1"):
        sp.as_spectra(x)
    with pytest.raises(ValueError, match="dims"):
        sp.as_spectra(xr.DataArray(np.ones((2, 3)), dims=("a", "b")))


def test_as_spectra_keeps_tensor_and_casts_numpy():
    t = torch.ones(2, 3, dtype=torch.float64)
    assert sp.as_spectra(t).dtype == torch.float64
    assert sp.as_spectra(np.ones((2, 3))).dtype == torch.float32


def test_dataset_round_trip(tmp_path):
    wl = sp.sensor_grid(10)
    x = np.random.default_rng(0).random((5, 10))
    ds = sp.make_dataset(x, np.arange(5.0), wl, outputs=["soc"], target_units="%", attrs={"quantity": "reflectance"})
    assert ds["spectra"].dims == ("sample", "wavelength")
    assert ds["wavelength"].attrs["units"] == "nm"
    assert list(ds["output"].values) == ["soc"]
    path = tmp_path / "d.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    back = sp.check_dataset(xr.load_dataset(path, engine="h5netcdf"))
    xt, yt, wlt = sp.dataset_tensors(back)
    assert xt.shape == (5, 10) and yt.shape == (5, 1) and wlt.shape == (10,)
    np.testing.assert_allclose(xt.numpy(), x, rtol=1e-6)


def test_make_dataset_rejects_mismatch_and_nan():
    wl = sp.sensor_grid(4)
    with pytest.raises(ValueError, match="target has 2 rows but spectra have 3"):
        sp.make_dataset(np.ones((3, 4)), np.ones(2), wl)
    with pytest.raises(ValueError, match="target must be finite"):
        sp.make_dataset(np.ones((2, 4)), [1.0, np.nan], wl)


def test_resample_preserves_flat_spectrum_and_rejects_outside():
    src = np.arange(350.0, 2501.0)
    dst = sp.sensor_grid()
    flat = np.full((2, src.size), 0.3)
    out = sp.resample(flat, src, dst)
    assert out.shape == (2, 224)
    np.testing.assert_allclose(out, 0.3, rtol=1e-9)
    with pytest.raises(ValueError, match="outside the source grid"):
        sp.gaussian_response(src, np.array([100.0, 200.0]), fwhm=1.0)


def test_resample_gaussian_band_matches_band_centre_for_linear_spectrum():
    src = np.arange(350.0, 2501.0)
    dst = sp.sensor_grid()
    line = (src / 1000.0)[None, :]
    out = sp.resample(line, src, dst)
    # symmetric response: a linear spectrum is read at the band centre (away from edges)
    np.testing.assert_allclose(out[0, 5:-5], dst[5:-5] / 1000.0, atol=1e-6)


def test_checked_wavelength_tensor_is_rechecked_after_modification():
    wl = torch.linspace(400, 2500, 10)
    sp.check_wavelength(wl, 10)
    sp.check_wavelength(wl, 10)  # cached: fine
    with pytest.raises(ValueError, match="9 bands"):
        sp.check_wavelength(wl, 9)
    wl[3] = 100.0  # in-place change bumps the version: checked again
    with pytest.raises(ValueError, match="strictly increasing"):
        sp.check_wavelength(wl, 10)


def test_finite_fast_path_still_names_the_row():
    x = torch.ones(4, 3)
    x[2, 0] = float("-inf")
    with pytest.raises(ValueError, match="first at row 2"):
        sp.as_spectra(x)
    big = torch.full((2, 3), 3e38)  # the sum overflows, the values are finite
    assert sp.as_spectra(big) is big
