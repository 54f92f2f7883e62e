"""hsaug.readers on files written the way users have them: one ENVI door for images and
libraries, units, overlapping band lists, unlabelled and chunked scenes, and the
reader faults of the battery (#10)."""

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy.io import savemat
from spectral.io import envi

from hsaug import library as lib
from hsaug import readers as R
from hsaug.spectra import UnitsWarning

WL = [1000.0, 1200.0, 1400.0, 1600.0, 1800.0, 2000.0]
ROWS, COLS = 4, 5


def _cube(dtype=np.int16):
    """(rows, cols, bands) raw counts whose values encode their pixel: 1000 r + 100 c + band."""
    r, c, b = np.meshgrid(np.arange(ROWS), np.arange(COLS), np.arange(len(WL)), indexing="ij")
    return (1000 * r + 100 * c + b).astype(dtype)


def _image(tmp_path, name, meta, cube=None):
    envi.save_image(str(tmp_path / f"{name}.hdr"), _cube() if cube is None else cube,
                    metadata=meta, force=True, ext=".img")
    return tmp_path / f"{name}.hdr"


def _library(tmp_path, name, data, meta):
    envi.SpectralLibrary(np.asarray(data, np.float32), meta).save(str(tmp_path / name))
    return tmp_path / f"{name}.hdr"


# ---------------------------------------------------------------- one ENVI door, one rule


@pytest.mark.parametrize("unit", ["Micrometers", "micrometres", "μm", "µm", "microns", "um"])
def test_image_and_library_read_the_same_micrometre_spellings(tmp_path, unit):
    um = [w / 1000 for w in WL]
    img = R.read_envi(_image(tmp_path, "img", {"wavelength": um, "wavelength units": unit}))
    sli = lib.load_envi_library(_library(tmp_path, "lib", np.ones((2, 6)) * 0.5,
                                         {"wavelength": um, "wavelength units": unit}))
    np.testing.assert_allclose(img.wavelength.values, WL)
    np.testing.assert_allclose(sli.wavelength.values, WL)


def test_scale_factor_no_data_and_bbl_follow_one_rule(tmp_path):
    cube = _cube(np.float32)
    cube[1, 2, :] = -9999.0
    meta = {"wavelength": WL, "wavelength units": "nm", "reflectance scale factor": 10000,
            "data ignore value": -9999, "bbl": [1, 1, 0, 1, 1, 1]}
    img = R.read_envi(_image(tmp_path, "scene", meta, cube))
    assert img.dims == ("y", "x", "wavelength") and img.shape == (ROWS, COLS, 5)
    assert img.wavelength.values.tolist() == [1000, 1200, 1600, 1800, 2000]
    assert np.isnan(img.values[1, 2]).all() and np.isfinite(np.delete(img.values.reshape(-1, 5), 7, 0)).all()
    np.testing.assert_array_equal(img.values[3, 4], [3400, 3401, 3403, 3404, 3405])  # raw counts kept
    assert img.attrs["quantity"] == "reflectance" and img.attrs["reflectance_scale"] == 10000
    assert img.attrs["bad_bands_dropped"] == 1

    data = np.array([[1000.0, 2000.0, -9999.0, 3000.0, 4000.0, 5000.0],
                     [100.0, 200.0, 300.0, 400.0, 500.0, 600.0]])
    sli = lib.load_envi_library(_library(tmp_path, "lib", data, {**meta, "spectra names": ["a", "b"]}))
    # same bands dropped, same no-data rule (the ignored value sat in the bad band), scale applied
    assert sli.wavelength.values.tolist() == [1000, 1200, 1600, 1800, 2000]
    np.testing.assert_allclose(sli.values, [[0.1, 0.2, 0.3, 0.4, 0.5], [0.01, 0.02, 0.04, 0.05, 0.06]], rtol=1e-6)
    assert sli.attrs["reflectance_scale"] == 1.0 and sli.attrs["reflectance_scale_applied"] == 10000
    raw = lib.load_envi_library(_library(tmp_path, "lib", data, meta), apply_scale=False)
    assert raw.attrs["reflectance_scale"] == 10000 and raw.values.max() == 5000


def test_wavenumber_header_is_converted_and_reversed(tmp_path):
    wn = [1e7 / w for w in WL[::-1]]  # cm-1 increasing = nm decreasing
    img = R.read_envi(_image(tmp_path, "wn", {"wavelength": wn, "wavelength units": "cm-1"}))
    np.testing.assert_allclose(img.wavelength.values, WL)
    np.testing.assert_array_equal(img.values[0, 0], [5, 4, 3, 2, 1, 0])  # band order followed


def test_library_refuses_images_and_image_reader_refuses_libraries(tmp_path):
    hdr = _image(tmp_path, "img", {"wavelength": WL})
    with pytest.raises(ValueError, match="is an ENVI image, not a spectral library"):
        lib.load_envi_library(tmp_path / "img.hdr".replace("hdr", "hdr"))
    sli = _library(tmp_path, "lib", np.ones((2, 6)), {"wavelength": WL})
    with pytest.raises(ValueError, match="is an ENVI spectral library, not an image"):
        R.read_envi(sli)
    assert hdr.exists()


# ---------------------------------------------------------------- µm detection


def test_undeclared_micrometres_are_converted_with_a_warning_or_refused(tmp_path):
    um = [w / 1000 for w in WL]
    hdr = _image(tmp_path, "nounit", {"wavelength": um})
    with pytest.warns(UnitsWarning, match="nounit.hdr: wavelengths 1-2 declare no unit"):
        img = R.read_envi(hdr)
    np.testing.assert_allclose(img.wavelength.values, WL)
    with pytest.raises(ValueError, match="look like micrometres; declare the unit"):
        R.read_envi(hdr, strict_units=True)

    df = pd.DataFrame(np.full((3, 4), 0.3), columns=["1.1", "1.5", "2.0", "2.48"]).assign(SOC=[1.0, 2.0, 3.0])
    df.to_csv(tmp_path / "um.csv", index=False)
    with pytest.warns(UnitsWarning, match="um.csv: wavelength columns: wavelengths 1.1-2.48"):
        ds = R.read_csv(tmp_path / "um.csv")
    np.testing.assert_allclose(ds.wavelength.values, [1100, 1500, 2000, 2480])
    with pytest.raises(ValueError, match="um.csv.*look like micrometres"):
        R.read_csv(tmp_path / "um.csv", strict_units=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        declared = R.read_csv(tmp_path / "um.csv", wavelength_units="um")
    np.testing.assert_allclose(declared.wavelength.values, [1100, 1500, 2000, 2480])
    df.rename(columns=lambda c: f"{c} um" if c != "SOC" else c).to_csv(tmp_path / "suffix.csv", index=False)
    np.testing.assert_allclose(R.read_csv(tmp_path / "suffix.csv").wavelength.values, [1100, 1500, 2000, 2480])

    nc = xr.Dataset({"spectra": (("sample", "wavelength"), np.full((2, 3), 0.2)),
                     "target": (("sample", "output"), np.ones((2, 1)))},
                    coords={"wavelength": [1.2, 1.3, 1.4], "output": ["y"]})
    nc.to_netcdf(tmp_path / "nounits.nc", engine="h5netcdf")
    with pytest.warns(UnitsWarning, match="nounits.nc: wavelength"):
        back = R.read_netcdf(tmp_path / "nounits.nc")
    np.testing.assert_allclose(back.wavelength.values, [1200, 1300, 1400])
    assert back.wavelength.attrs["units"] == "nm"
    with pytest.raises(ValueError, match="look like micrometres"):
        R.read_netcdf(tmp_path / "nounits.nc", strict_units=True)


# ---------------------------------------------------------------- overlapping detectors

AVIRIS = [655.8, 665.5, 675.6, 664.1, 673.8, 683.6]
SORTED = [0, 3, 1, 4, 2, 5]


def test_every_reader_refuses_overlapping_bands_by_default_and_sorts_on_request(tmp_path):
    hdr = _image(tmp_path, "aviris", {"wavelength": AVIRIS, "wavelength units": "Nanometers"})
    df = pd.DataFrame(np.arange(12.0).reshape(2, 6), columns=[f"{w:g}" for w in AVIRIS]).assign(y=[1.0, 2.0])
    df.to_csv(tmp_path / "aviris.csv", index=False)
    nc = xr.Dataset({"spectra": (("sample", "wavelength"), np.arange(12.0).reshape(2, 6)),
                     "target": (("sample", "output"), np.ones((2, 1)))},
                    coords={"wavelength": ("wavelength", AVIRIS, {"units": "nm"}), "output": ["y"]})
    nc.to_netcdf(tmp_path / "aviris.nc", engine="h5netcdf")
    savemat(tmp_path / "aviris.mat", {"Y": np.arange(12.0).reshape(2, 6).T, "A": np.ones((1, 2))})
    calls = {
        "aviris.hdr": lambda **kw: R.read_envi(hdr, **kw),
        "aviris.csv": lambda **kw: R.read_csv(tmp_path / "aviris.csv", **kw),
        "aviris.nc": lambda **kw: R.read_netcdf(tmp_path / "aviris.nc", **kw),
        "aviris.mat": lambda **kw: R.read_mat(tmp_path / "aviris.mat", wavelength=AVIRIS, **kw),
    }
    for name, read in calls.items():
        with pytest.raises(ValueError, match=rf"{name}.*strictly increasing; band 2 at 675.6 nm is followed "
                                             rf"by band 3 at 664.1 nm. Pass bands='sort'"):
            read()
        out = read(bands="sort")
        np.testing.assert_allclose(out.wavelength.values, sorted(AVIRIS))
        if name != "aviris.hdr":  # the band values followed their wavelengths
            np.testing.assert_array_equal(out.spectra.values[0], np.arange(6.0)[SORTED])
    img = R.read_envi(hdr, bands="sort")
    np.testing.assert_array_equal(img.values[2, 3], _cube()[2, 3][SORTED])


def test_average_merges_a_repeated_band_in_files(tmp_path):
    wl = [1000.0, 1200.0, 1400.0, 1400.0, 1800.0, 2000.0]
    hdr = _image(tmp_path, "dup", {"wavelength": wl, "wavelength units": "nm"})
    with pytest.raises(ValueError, match="Pass bands='average'"):
        R.read_envi(hdr)
    img = R.read_envi(hdr, bands="average")
    assert img.wavelength.values.tolist() == [1000, 1200, 1400, 1800, 2000]
    np.testing.assert_array_equal(img.values[1, 1], [1100, 1101, 1102.5, 1104, 1105])
    cube = _cube()
    cube[0, 0, 3] = -9999
    hdr = _image(tmp_path, "dupnd", {"wavelength": wl, "data ignore value": -9999}, cube)
    img = R.read_envi(hdr, bands="average")  # no-data is NaN before averaging, never averaged in
    assert np.isnan(img.values[0, 0, 2]) and img.values[0, 1, 2] == 102.5


# ---------------------------------------------------------------- unlabelled, chunked, targets from files


def test_unlabelled_cube_reads_as_an_image_for_prediction_and_chunks_stay_lazy(tmp_path):
    meta = {"wavelength": WL, "wavelength units": "nm", "reflectance scale factor": 10000,
            "data ignore value": 3400}
    hdr = _image(tmp_path, "scene", meta)
    img = R.read_envi(hdr)
    assert isinstance(img, xr.DataArray) and img.dims == ("y", "x", "wavelength")
    assert img.y.values.tolist() == list(range(ROWS)) and img.x.values.tolist() == list(range(COLS))
    assert img.dtype == np.float32 and np.isnan(img.values[3, 4, 0])
    assert img.attrs["quantity"] == "reflectance" and img.attrs["reflectance_scale"] == 10000
    lazy = R.read_envi(hdr, chunks=2)
    assert type(lazy.data).__module__.startswith("dask")
    assert lazy.data.chunks[:2] == ((2, 2), (2, 2, 1)) and lazy.data.chunks[2] == (6,)
    xr.testing.assert_identical(lazy.compute(), img)
    sorted_lazy = R.read_envi(_image(tmp_path, "av", {"wavelength": AVIRIS}), chunks={"y": 3, "x": 5}, bands="sort")
    np.testing.assert_array_equal(sorted_lazy.values[2, 3], _cube()[2, 3][SORTED])
    with pytest.raises(ValueError, match="chunks applies to unlabelled images"):
        R.read_envi(hdr, tmp_path / "t.npy", chunks=2)


def test_targets_from_npy_and_quantity_declared_not_applied(tmp_path):
    hdr = _image(tmp_path, "scene", {"wavelength": WL, "reflectance scale factor": 10000})
    ab = np.random.default_rng(0).dirichlet(np.ones(3), (ROWS, COLS))
    np.save(tmp_path / "abund.npy", ab)
    ds = R.read_envi(hdr, tmp_path / "abund.npy", target=["soil", "veg", "water"])
    assert ds.output.values.tolist() == ["soil", "veg", "water"] and ds.sizes["sample"] == ROWS * COLS
    np.testing.assert_allclose(ds.target.values, ab.reshape(-1, 3), rtol=1e-6)
    np.testing.assert_array_equal(ds.spectra.values[7], _cube()[1, 2])  # values as stored
    assert ds.attrs["reflectance_scale"] == 10000 and ds.attrs["targets_source"].endswith("abund.npy")
    assert R.read_envi(hdr, tmp_path / "abund.npy").output.values.tolist() == ["target_0", "target_1", "target_2"]
    np.save(tmp_path / "small.npy", ab[:2])
    with pytest.raises(ValueError, match=r"shape mismatch: image .*scene.hdr is 4 x 5 pixels but targets .*small.npy"):
        R.read_envi(hdr, tmp_path / "small.npy")
    with pytest.raises(ValueError, match="target names .* for 3 target layers"):
        R.read_envi(hdr, tmp_path / "abund.npy", target="soil")


def test_netcdf_image_without_targets_and_chunks(tmp_path):
    cube = np.random.default_rng(1).uniform(0, 1, (6, 4, 3)).astype(np.float32)
    xr.Dataset({"spectra": (("y", "x", "wavelength"), cube)},
               coords={"wavelength": ("wavelength", [500.0, 600.0, 700.0], {"units": "nm"})},
               attrs={"quantity": "reflectance", "reflectance_scale": 1.0}).to_netcdf(tmp_path / "img.nc", engine="h5netcdf")
    eager = R.read_netcdf(tmp_path / "img.nc")
    assert "target" not in eager and eager.spectra.dims == ("y", "x", "wavelength")
    lazy = R.read_netcdf(tmp_path / "img.nc", chunks={"y": 2, "x": 2})
    assert type(lazy.spectra.data).__module__.startswith("dask")
    np.testing.assert_array_equal(lazy.spectra.values, cube)
    assert lazy.attrs["quantity"] == "reflectance"
    assert lazy.spectra.attrs["quantity"] == "reflectance" and lazy.spectra.attrs["source"].endswith("img.nc")
    lazy.close()


# ---------------------------------------------------------------- reader faults of the battery (#10)


def _labelled_nc(path, **attrs):
    xr.Dataset({"spectra": (("sample", "wavelength"), np.full((2, 3), 0.2)),
                "target": (("sample", "output"), np.ones((2, 1)))},
               coords={"wavelength": ("wavelength", [500.0, 600.0, 700.0], {"units": "nm"}), "output": ["y"]},
               attrs=attrs).to_netcdf(path, engine="h5netcdf")
    return path


def test_malformed_or_deep_tagged_json_attribute_names_file_and_attribute(tmp_path):
    bad = _labelled_nc(tmp_path / "bad.nc", protocol='__hsaug_json__:{"epochs": 3,')
    with pytest.raises(ValueError, match=r"bad.nc: attribute 'protocol' of the dataset is tagged JSON .* but malformed"):
        R.read_netcdf(bad)
    deep = _labelled_nc(tmp_path / "deep.nc", nest="__hsaug_json__:" + "[" * 200_000 + "]" * 200_000)
    with pytest.raises(ValueError, match=r"deep.nc: attribute 'nest' of the dataset is tagged JSON nested too deeply"):
        R.read_netcdf(deep)


def test_csv_without_header_semicolons_or_rows_says_so(tmp_path):
    (tmp_path / "nohead.csv").write_text("0.21,0.22,0.24,1.3\n0.18,0.19,0.20,2.1\n")
    with pytest.raises(ValueError, match="nohead.csv: the first row holds only numbers .* no header row"):
        R.read_csv(tmp_path / "nohead.csv")
    (tmp_path / "semi.csv").write_text("400;410;420;SOC\n0,21;0,22;0,24;1,3\n0,18;0,19;0,20;2,1\n")
    with pytest.raises(ValueError, match=r"semi.csv: .*looks separated by ';', not ',': pass sep=';' \(and decimal=','"):
        R.read_csv(tmp_path / "semi.csv")
    ds = R.read_csv(tmp_path / "semi.csv", sep=";", decimal=",")
    np.testing.assert_allclose(ds.spectra.values[0], [0.21, 0.22, 0.24], rtol=1e-6)
    (tmp_path / "head.csv").write_text("400,410,420,SOC\n")
    with pytest.raises(ValueError, match=r"head.csv: has a header row \(4 columns\) but no data rows"):
        R.read_csv(tmp_path / "head.csv")
    (tmp_path / "bom.csv").write_bytes("400,410,420,SOC\n0.1,0.2,0.3,1.0\n".encode("utf-8-sig"))  # Excel's BOM
    bom = R.read_csv(tmp_path / "bom.csv")
    assert bom.wavelength.values.tolist() == [400, 410, 420] and bom.output.values.tolist() == ["SOC"]
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="empty.csv: the file is empty"):
        R.read_csv(tmp_path / "empty.csv")


def test_truncated_envi_data_file_names_file_and_sizes(tmp_path):
    hdr = _image(tmp_path, "cut", {"wavelength": WL})
    data = tmp_path / "cut.img"
    full = data.stat().st_size
    assert full == ROWS * COLS * len(WL) * 2
    data.write_bytes(data.read_bytes()[: full - 7])
    for call in (lambda: R.read_envi(hdr), lambda: R.read_envi(data), lambda: R.read_envi(hdr, chunks=2)):
        with pytest.raises(ValueError, match=rf"cut.img: truncated ENVI data file: its header cut.hdr describes 4 "
                                             rf"lines x 5 samples x 6 bands of int16 = {full} bytes, but the file "
                                             rf"has {full - 7} bytes"):
            call()
    sli = _library(tmp_path, "lib", np.ones((3, 6)), {"wavelength": WL})
    sdata = tmp_path / "lib.sli"
    sdata.write_bytes(sdata.read_bytes()[:10])
    with pytest.raises(ValueError, match=r"lib.sli: truncated ENVI data file.* = 72 bytes, but the file has 10 bytes"):
        lib.load_envi_library(sli)


def test_public_names_resolve_and_datasets_reexports_the_file_functions():
    """hsaug.readers (a package of one module per idea) exposes every name in its __all__;
    hsaug.datasets re-exports exactly the file functions, as the same objects."""
    from hsaug import datasets as D

    missing = [n for n in R.__all__ if not hasattr(R, n)]
    assert not missing
    assert set(R.FILE_FUNCTIONS) <= set(R.__all__) and set(R.FILE_FUNCTIONS) <= set(D.__all__)
    for name in R.FILE_FUNCTIONS:
        assert getattr(D, name) is getattr(R, name)
        assert callable(getattr(R, name))
    assert set(D.__all__) - set(R.FILE_FUNCTIONS) >= {"load_soil", "to_reflectance"}
    assert not {n for n in D.__all__ if n.startswith("read_") or n == "write_netcdf"} - set(R.FILE_FUNCTIONS)


@pytest.mark.parametrize("interleave", ["bip", "bil", "bsq"])
def test_chunked_envi_holds_no_open_file_and_pickles(tmp_path, interleave):
    """The lazy cube's graph holds the file's path and layout: it pickles (a process-based dask cluster
    can take it) and computes, after the round trip, to the in-memory read."""
    import pickle

    meta = {"wavelength": WL, "wavelength units": "nm", "data ignore value": 3400, "byte order": 1}
    envi.save_image(str(tmp_path / "s.hdr"), _cube(), metadata=meta, force=True, ext=".img", interleave=interleave,
                    byteorder=1)
    img = R.read_envi(tmp_path / "s.hdr")
    lazy = R.read_envi(tmp_path / "s.hdr", chunks=2)
    again = pickle.loads(pickle.dumps(lazy))
    xr.testing.assert_identical(again.compute(), img)
    assert np.isnan(img.values).any()  # the ignore value became NaN on both paths
