"""E_sun / E_sky spectra: SPECTRL2 clear sky, interpolation, cache, CSV files."""

import numpy as np
import pytest
import xarray as xr

from hsaug import illumination as il
from hsaug.spectra import sensor_grid

GRID = sensor_grid()


def test_native_grid_is_spectrl2s():
    ill = il.clear_sky_illumination()
    assert ill.wavelength.shape == (122,)
    assert ill.wavelength[0] == 300.0 and ill.wavelength[-1] == 4000.0
    assert ((ill.wavelength >= 400) & (ill.wavelength <= 2500)).sum() == 92
    assert "SPECTRL2" in ill.source


def test_clear_sky_dataset_positive_and_units():
    ds = il.clear_sky(GRID)
    assert isinstance(ds, xr.Dataset)
    assert set(ds.data_vars) == {"e_sun", "e_sky"}
    np.testing.assert_array_equal(ds["wavelength"].values, GRID)
    assert ds["wavelength"].attrs["units"] == "nm"
    for v in ("e_sun", "e_sky"):
        assert ds[v].attrs["units"] == il.IRRADIANCE_UNITS
        assert ds[v].dims == ("wavelength",)
        assert np.isfinite(ds[v]).all() and (ds[v] > 0).all()
    # peak direct irradiance in the visible, of the order of 1.5 W m-2 nm-1 at sea level
    sun = ds["e_sun"]
    assert 450 <= GRID[int(np.argmax(sun.values))] <= 700
    assert 1.0 < float(sun.max()) < 2.2


def test_sky_below_sun_in_nir_at_low_zenith():
    ds = il.clear_sky(GRID, zenith=10.0)
    nir = ds.sel(wavelength=slice(750, 1300))
    assert (nir["e_sky"] < nir["e_sun"]).all()
    assert (nir["e_sky"] < 0.2 * nir["e_sun"]).all()  # diffuse is a small share in the NIR
    # and a larger share in the blue (Rayleigh scattering)
    blue = ds.sel(wavelength=slice(400, 450))
    assert float((blue["e_sky"] / blue["e_sun"]).mean()) > float((nir["e_sky"] / nir["e_sun"]).mean())


def test_parameters_act_physically():
    low, high = il.clear_sky_illumination(zenith=0.0), il.clear_sky_illumination(zenith=70.0)
    i550 = int(np.argmin(np.abs(low.wavelength - 550)))
    assert high.e_sun[i550] < low.e_sun[i550]  # longer path, less direct light
    dry, wet = il.clear_sky_illumination(precipitable_water=0.5), il.clear_sky_illumination(precipitable_water=5)
    i940 = int(np.argmin(np.abs(dry.wavelength - 940)))
    assert wet.e_sun[i940] < 0.8 * dry.e_sun[i940]  # water vapour band
    clean, hazy = il.clear_sky_illumination(aerosol_turbidity=0.0), il.clear_sky_illumination(aerosol_turbidity=0.5)
    assert hazy.e_sky[i550] > clean.e_sky[i550] and hazy.e_sun[i550] < clean.e_sun[i550]


def test_cache_hit_returns_same_object_and_values():
    a = il.clear_sky_illumination(zenith=42.0)
    b = il.clear_sky_illumination(zenith=42)  # int and float give the same key
    assert a is b
    assert not a.e_sun.flags.writeable  # shared cached arrays cannot be changed by a caller
    with pytest.raises(ValueError):
        a.e_sun[0] = 0.0
    info = il._clear_sky_on.cache_info()
    d1 = il.clear_sky(GRID, zenith=42.0)
    d2 = il.clear_sky(GRID.copy(), zenith=42.0)
    assert il._clear_sky_on.cache_info().hits >= info.hits + 1
    xr.testing.assert_identical(d1, d2)
    d1["e_sun"][:] = 0.0  # the returned Dataset is the caller's own
    assert (il.clear_sky(GRID, zenith=42.0)["e_sun"] > 0).all()


def test_interpolation_and_edges():
    ill = il.clear_sky_illumination()
    wl = np.array([250.0, 300.0, 302.5, 1000.0, 4000.0, 4500.0])
    ds = il.clear_sky(wl)
    np.testing.assert_allclose(ds["e_sun"].values, np.interp(wl, ill.wavelength, ill.e_sun))
    assert ds["e_sun"].values[0] == ill.e_sun[0] and ds["e_sun"].values[-1] == ill.e_sun[-1]  # held
    np.testing.assert_allclose(ds["e_sky"].values[2], 0.5 * (ill.e_sky[0] + ill.e_sky[1]))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"zenith": 90.0}, r"zenith must lie in \[0, 85\] deg"),
        ({"zenith": float("nan")}, r"zenith must lie in \[0, 85\]"),
        ({"precipitable_water": -1}, r"precipitable_water must lie in \[0, 10\] cm"),
        ({"aerosol_turbidity": 3.0}, r"aerosol_turbidity must lie in \[0, 2\]"),
        ({"ozone": "thick"}, r"ozone must be a number in \[0, 1\] atm-cm"),
    ],
)
def test_bad_clear_sky_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        il.clear_sky(GRID, **kwargs)
    with pytest.raises(ValueError, match=match):
        il.clear_sky_illumination(**kwargs)


def test_bad_grid():
    with pytest.raises(ValueError, match="strictly increasing"):
        il.clear_sky([500.0, 400.0])


def test_csv_round_trip(tmp_path):
    ill = il.clear_sky(GRID, zenith=20.0)
    source = il.Illumination(GRID, ill["e_sun"].values, ill["e_sky"].values, source="test")
    path = tmp_path / "sun.csv"
    source.to_csv(path)
    back = il.from_file(path)
    np.testing.assert_array_equal(back.wavelength, source.wavelength)
    np.testing.assert_array_equal(back.e_sun, source.e_sun)
    np.testing.assert_array_equal(back.e_sky, source.e_sky)
    assert str(path) in back.source


def test_csv_loose_format(tmp_path):
    path = tmp_path / "loose.csv"
    path.write_text("# measured on site\nWavelength, E_SUN, e_sky, note\n400, 1.0, 0.5, a\n500, 1.5, 0.25, b\n")
    ill = il.from_file(path)
    np.testing.assert_array_equal(ill.e_sun, [1.0, 1.5])
    np.testing.assert_array_equal(ill.on([450.0, 500.0]).e_sky, [0.375, 0.25])


@pytest.mark.parametrize(
    "text, match",
    [
        ("wavelength,e_sun\n400,1\n500,2\n", r"lacks column\(s\) \['e_sky'\]"),
        ("wavelength,e_sun,e_sky\n500,1,1\n400,1,1\n", "strictly increasing"),
        ("wavelength,e_sun,e_sky\n400,1,1\n400,1,1\n", "strictly increasing"),
        ("wavelength,e_sun,e_sky\n400,1,-0.1\n500,1,1\n", r"e_sky must be non-negative.*-0.1 at 400 nm"),
        ("wavelength,e_sun,e_sky\n400,x,1\n500,1,1\n", "column e_sun must be numeric"),
        ("wavelength,e_sun,e_sky\n400,1,1\n", "at least 2 bands"),
        ("", "empty"),
    ],
)
def test_bad_files(tmp_path, text, match):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        il.from_file(path)


def test_illumination_checks():
    with pytest.raises(ValueError, match=r"e_sun must have one value per wavelength, shape \(3,\)"):
        il.Illumination([1.0, 2.0, 3.0], [1.0, 1.0], [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="finite"):
        il.Illumination([1.0, 2.0], [1.0, np.inf], [1.0, 1.0])
    caller = np.array([1.0, 2.0])
    ill = il.Illumination([1.0, 2.0], caller, [0.0, 0.0])
    caller[0] = 5.0  # a copy was taken
    assert ill.e_sun[0] == 1.0


def test_clear_sky_settings_are_param_specs():
    import inspect

    from hsaug.params import Param

    assert all(isinstance(p, Param) for p in il.CLEAR_SKY_PARAMS)
    assert il.CLEAR_SKY_LIMITS == {p.name: (p.low, p.high, p.unit) for p in il.CLEAR_SKY_PARAMS}
    for fn in (il.clear_sky_illumination, il.clear_sky):
        defaults = {k: v.default for k, v in inspect.signature(fn).parameters.items() if k in il.CLEAR_SKY_LIMITS}
        assert defaults == {p.name: p.default for p in il.CLEAR_SKY_PARAMS}
    # the spec's check is the one the functions use: same message
    with pytest.raises(ValueError, match=r"zenith must lie in \[0, 85\] deg; got 90"):
        il.CLEAR_SKY_PARAMS[0].check(90)
