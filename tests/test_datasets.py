"""hsaug.datasets: the bundled LimeSoDa stand-in, quantity rules, and the readers on
small files the tests write themselves."""

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy.io import savemat
from spectral.io import envi

from hsaug import datasets as D
from hsaug.spectra import check_dataset, make_dataset

DOCS = Path(__file__).resolve().parents[1] / "docs" / "data.md"


@pytest.fixture(scope="module")
def soil() -> xr.Dataset:
    return D.load_soil(None)


# ---------------------------------------------------------------- bundled loader


def test_load_soil_default_is_ssp460_soc(soil):
    ds = D.load_soil()
    check_dataset(ds)
    assert dict(ds.sizes) == {"sample": 460, "wavelength": 830, "output": 1}
    assert ds.output.values.tolist() == ["SOC"]
    assert ds.target.attrs["units"] == "%"
    assert ds.wavelength.attrs["units"] == "nm"
    assert ds.wavelength.values[0] == 350.0 and ds.wavelength.values[-1] == 2498.0
    assert ds.spectra.dtype == np.float32 and ds.target.dtype == np.float32
    assert ds.attrs["quantity"] == "reflectance" and ds.attrs["reflectance_scale"] == 1.0
    assert ds.attrs["licence"] == "CC BY-SA 4.0" and "LimeSoDa" in ds.attrs["source"]
    assert "2502.20139" in ds.attrs["citation"]
    # reflectance fractions of soil, SOC in % (0.1-5.1 per LimeSoDa)
    assert 0.02 < float(ds.spectra.min()) and float(ds.spectra.max()) < 0.5
    assert 0.09 < float(ds.target.min()) and float(ds.target.max()) < 5.2


def test_load_soil_folds_are_limesodas_ten_equal_folds(soil):
    folds = soil.folds.values
    assert folds.dtype.kind == "i" and folds.shape == (460,)
    assert np.array_equal(np.bincount(folds)[1:], np.full(10, 46))
    with np.load(D._limesoda_file("SSP.460"), allow_pickle=True) as z:
        assert np.array_equal(folds, z["folds"])
        raw = z["dataset_data"]
    np.testing.assert_allclose(soil.spectra.values[:, 0], raw[:, 3] / 100, rtol=1e-6)
    np.testing.assert_allclose(soil.target.sel(output="pH").values, raw[:, 1], rtol=1e-6)


def test_load_soil_all_targets_units_and_percent_option(soil):
    assert soil.output.values.tolist() == ["SOC", "pH", "Clay"]
    assert soil.target.attrs["units"] == ["%", "1", "%"]
    pct = D.load_soil("clay", fraction=False)
    assert pct.output.values.tolist() == ["Clay"] and pct.attrs["reflectance_scale"] == 100.0
    np.testing.assert_allclose(pct.spectra.values, soil.spectra.values * 100, rtol=1e-6)


def test_band_range_crops_to_the_papers_range():
    ds = D.load_soil(band_range=D.PAPER_RANGE)
    wl = ds.wavelength.values
    assert wl.min() >= 1130 and wl.max() <= 2450 and wl.min() < 1140 and wl.max() > 2440
    with pytest.raises(ValueError, match="keeps 0 bands"):
        D.load_soil(band_range=(3000, 4000))


@pytest.mark.parametrize("name", D.limesoda_names())
def test_every_offered_limesoda_set_loads(name):
    ds = D.load_limesoda(name, None)
    check_dataset(ds)
    with np.load(D._limesoda_file(name), allow_pickle=True) as z:
        cols = [str(c) for c in z["dataset_columns"]]
        n = z["dataset_data"].shape[0]
    assert ds.sizes["wavelength"] == sum(c.startswith("wl_") for c in cols)
    assert ds.sizes["sample"] == n and set(np.unique(ds.folds.values)) == set(range(1, 11))
    assert len(ds.target.attrs["units"]) == 3
    assert 0 <= float(ds.spectra.min()) and float(ds.spectra.max()) < 1  # percent / 100


def test_limesoda_bad_name_and_target():
    with pytest.raises(ValueError, match="one of .*SSP.460"):
        D.load_limesoda("BB.250")  # a set without spectra
    with pytest.raises(ValueError, match="'SOC' is not in LimeSoDa set SL.125.*SOM"):
        D.load_limesoda("SL.125", "SOC")


# ---------------------------------------------------------------- quantity rules


def _small(quantity=None, scale=None, values=None):
    x = np.array([[20.0, 40.0, 60.0], [10.0, 30.0, 50.0]]) if values is None else values
    attrs = {} if quantity is None else {"quantity": quantity}
    if scale is not None:
        attrs["reflectance_scale"] = scale
    return make_dataset(x, [1.0, 2.0], [1200.0, 1300.0, 1400.0], attrs=attrs)


def test_percent_reflectance_converts_exactly():
    r = D.to_reflectance(_small("reflectance", 100))
    np.testing.assert_array_equal(r.spectra.values, np.float32([[0.2, 0.4, 0.6], [0.1, 0.3, 0.5]]))
    assert r.attrs["quantity"] == "reflectance" and r.attrs["reflectance_scale"] == 1.0


def test_absorbance_round_trip_is_exact():
    r = np.array([[0.2, 0.4, 0.6], [0.1, 0.3, 0.5]])
    ds = _small("absorbance", values=np.log10(1 / r))
    back = D.to_reflectance(ds)
    np.testing.assert_allclose(back.spectra.values, r, rtol=1e-6)
    a = D.to_absorbance(back)
    assert a.attrs["quantity"] == "absorbance" and "reflectance_scale" not in a.attrs
    np.testing.assert_allclose(a.spectra.values, ds.spectra.values, rtol=1e-5)


@pytest.mark.parametrize(
    "quantity, why",
    [(None, "does not say what its values are"), ("radiance", "irradiance"),
     ("SNV", "mean and scale"), ("derivative", "baseline"), ("banana", "no exact conversion")],
)
def test_unconvertible_quantities_are_refused_with_the_reason(quantity, why):
    with pytest.raises(ValueError, match=why) as err:
        D.to_reflectance(_small(quantity))
    assert "Hapke" in str(err.value) and "quantity" in str(err.value)


def test_require_reflectance_refuses_a_wrong_scale_and_names_the_purpose():
    with pytest.raises(ValueError, match=r"reflectance in \[0, 1\] is required for the Hapke augmentation, but the median is 35 "):
        D.require_reflectance(_small("reflectance", 1), purpose="the Hapke augmentation")
    ok = D.require_reflectance(_small("reflectance", 100))
    assert float(ok.spectra.max()) == pytest.approx(0.6)
    with pytest.raises(ValueError, match="reflectance is required for scattering and atmospheric augmentations: cannot convert"):
        D.require_reflectance(_small())


def test_to_absorbance_refuses_non_positive_reflectance():
    with pytest.raises(ValueError, match=r"needs R > 0; 1 spectra have R <= 0 \(first at sample 1\)"):
        D.to_absorbance(_small("reflectance", values=np.array([[0.2, 0.3, 0.4], [0.1, 0.0, 0.2]])))


def test_reader_quantity_declaration_is_validated(tmp_path):
    p = _write_csv(tmp_path / "q.csv", pd.DataFrame({"400": [0.1], "500": [0.2], "y": [1.0]}))
    with pytest.raises(ValueError, match="quantity must be one of"):
        D.read_csv(p, quantity="reflectence")
    with pytest.raises(ValueError, match="reflectance_scale applies only to quantity 'reflectance'"):
        D.read_csv(p, quantity="absorbance", reflectance_scale=100)
    with pytest.raises(ValueError, match="positive number"):
        D.read_csv(p, quantity="reflectance", reflectance_scale=0)
    assert D.read_csv(p).attrs["quantity"] == "unknown"


# ---------------------------------------------------------------- NetCDF


def test_netcdf_round_trip_is_lossless(tmp_path, soil):
    ds = soil.copy()
    ds.attrs.update(flag=True, nothing=None, params={"delta": [1.5, 2]}, tags=["a", "b"])
    ds["spectra"].attrs["note"] = {"k": 1}
    path = D.write_netcdf(ds, tmp_path / "sub" / "soil.nc")
    back = D.read_netcdf(path)
    xr.testing.assert_identical(back, ds)
    assert back.attrs["params"] == {"delta": [1.5, 2]} and back.attrs["flag"] is True
    assert back.spectra.dtype == np.float32 and back.folds.dtype == soil.folds.dtype
    assert "flag" not in soil.attrs  # writing did not touch the caller's dataset
    D.write_netcdf(back, tmp_path / "again.nc")
    xr.testing.assert_identical(D.read_netcdf(tmp_path / "again.nc"), ds)


def test_read_netcdf_errors_name_the_file(tmp_path):
    path = tmp_path / "bad.nc"
    xr.Dataset({"spectra": (("sample", "wavelength"), np.ones((2, 3)))},
               coords={"wavelength": [1.0, 2.0, 3.0]}).to_netcdf(path, engine="h5netcdf")
    unlabelled = D.read_netcdf(path, wavelength_units="nm")  # targets are optional: for prediction
    assert "target" not in unlabelled and unlabelled.spectra.shape == (2, 3)
    xr.Dataset({"spectra": (("wavelength", "sample"), np.ones((3, 2)))},
               coords={"wavelength": [1.0, 2.0, 3.0]}).to_netcdf(path, engine="h5netcdf")
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*'spectra'.*'target'"):
        D.read_netcdf(path, wavelength_units="nm")
    junk = tmp_path / "junk.nc"
    junk.write_text("not netcdf")
    with pytest.raises(ValueError, match="junk.nc: not a NetCDF file"):
        D.read_netcdf(junk)
    with pytest.raises(FileNotFoundError, match="missing.nc"):
        D.read_netcdf(tmp_path / "missing.nc")


def test_read_netcdf_classic_format_and_micrometres(tmp_path):
    ds = _small("reflectance")
    um = ds.assign_coords(wavelength=("wavelength", ds.wavelength.values / 1000, {"units": "micrometers"}))
    um.to_netcdf(tmp_path / "classic.nc", engine="scipy")
    back = D.read_netcdf(tmp_path / "classic.nc")
    np.testing.assert_allclose(back.wavelength.values, [1200, 1300, 1400])
    assert back.wavelength.attrs["units"] == "nm"
    bad = ds.assign_coords(wavelength=("wavelength", ds.wavelength.values, {"units": "furlongs"}))
    bad.to_netcdf(tmp_path / "fl.nc", engine="h5netcdf")
    with pytest.raises(ValueError, match="fl.nc: wavelength: wavelength units 'furlongs' are not known; accepted are nm"):
        D.read_netcdf(tmp_path / "fl.nc")


def test_read_netcdf_applies_the_nan_rule(tmp_path):
    ds = _small("reflectance")
    raw = ds.copy(deep=True)
    raw["spectra"].values[0, 1] = np.nan
    raw.to_netcdf(tmp_path / "nan.nc", engine="h5netcdf")
    with pytest.warns(D.DroppedRowsWarning, match="dropped 1 of 2 samples"):
        back = D.read_netcdf(tmp_path / "nan.nc")
    assert back.sizes["sample"] == 1 and int(back.sample[0]) == 1


# ---------------------------------------------------------------- CSV


def _write_csv(path, df):
    df.to_csv(path, index=False)
    return path


def _soil_table(n=5, wl=(400, 410, 425.5)):
    rng = np.random.default_rng(1)
    df = pd.DataFrame(rng.uniform(0.1, 0.6, (n, len(wl))), columns=[f"{w:g}" for w in wl])
    df.insert(0, "id", [f"s{i}" for i in range(n)])
    df["SOC"] = rng.uniform(0, 5, n)
    df["clay"] = rng.uniform(5, 60, n)
    return df


def test_read_csv_auto_targets_and_values(tmp_path):
    df = _soil_table()
    p = _write_csv(tmp_path / "s.csv", df)
    ds = D.read_csv(p, id_column="id", quantity="reflectance", target_units={"SOC": "%", "clay": "%"})
    check_dataset(ds)
    assert ds.output.values.tolist() == ["SOC", "clay"]
    np.testing.assert_array_equal(ds.wavelength.values, [400, 410, 425.5])
    np.testing.assert_allclose(ds.spectra.values, df[["400", "410", "425.5"]].to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(ds.target.values, df[["SOC", "clay"]].to_numpy(), rtol=1e-6)
    assert ds.sample_id.values.tolist() == df["id"].tolist()
    assert ds.target.attrs["units"] == "%" and ds.attrs["source"] == str(p)
    only = D.read_dataset(p, target="clay")  # other non-band columns (id, SOC) ignored
    assert only.output.values.tolist() == ["clay"]


def test_read_csv_prefix_and_nm_suffix(tmp_path):
    df = pd.DataFrame({"wl_350": [0.1, 0.2], "wl_351": [0.2, 0.3], "SOC_target": [1.0, 2.0]})
    ds = D.read_csv(_write_csv(tmp_path / "p.csv", df), band_prefix="wl_")
    assert ds.wavelength.values.tolist() == [350, 351] and ds.output.values.tolist() == ["SOC_target"]
    df = pd.DataFrame({"350 nm": [0.1], "360nm": [0.2], "y": [1.0]})
    assert D.read_csv(_write_csv(tmp_path / "n.csv", df)).wavelength.values.tolist() == [350, 360]


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda df: df.drop(columns=["SOC", "clay"]).assign(id=1), "no target column"),
        (lambda df: df.rename(columns={"410": "41O"}), "'41O' looks like a wavelength but is not a number"),
        (lambda df: df[["id", "400", "425.5", "410", "SOC", "clay"]],
         "wavelength columns must be strictly increasing; band 1 at 425.5 nm is followed by band 2 at 410 nm. Pass bands='sort'"),
        (lambda df: df.assign(**{"410": ["x"] + [0.2] * 4}), "wavelength column '410' has a non-numeric value 'x' at data row 0"),
        (lambda df: df.assign(SOC=["high"] + [1.0] * 4), "target column 'SOC' has a non-numeric value 'high'"),
        (lambda df: df[["id", "SOC", "clay"]].assign(**{"400": 0.1}), "found 1 wavelength columns"),
        (lambda df: df.assign(**{"410": np.inf}), "±inf"),
        (lambda df: df.assign(**{"410": np.nan}), r"band\(s\) at \[410.0\] nm are NaN in every sample"),
    ],
)
def test_read_csv_bad_input_names_file_and_problem(tmp_path, mutate, match):
    p = _write_csv(tmp_path / "bad.csv", mutate(_soil_table()))
    with pytest.raises(ValueError, match=match) as err:
        D.read_csv(p, id_column="id" if "id" in mutate(_soil_table()).columns else None)
    assert str(p) in str(err.value)


def test_read_csv_missing_target_and_repeated_columns(tmp_path):
    p = _write_csv(tmp_path / "s.csv", _soil_table())
    with pytest.raises(ValueError, match=r"s.csv: missing target column\(s\) \['OC'\]; non-wavelength columns present: \['id', 'SOC', 'clay'\]"):
        D.read_csv(p, target=["SOC", "OC"])
    dup = tmp_path / "dup.csv"
    dup.write_text("400,410,410,y\n0.1,0.2,0.3,1\n")
    with pytest.raises(ValueError, match=r"dup.csv: repeated column names \['410'\]"):
        D.read_csv(dup)


def test_read_csv_nan_rows_dropped_with_count_or_refused(tmp_path):
    df = _soil_table(n=6)
    df.loc[1, "410"] = np.nan
    df.loc[4, "clay"] = np.nan
    p = _write_csv(tmp_path / "nan.csv", df)
    with pytest.warns(D.DroppedRowsWarning, match=r"nan.csv: dropped 2 of 6 samples .*first at sample 1"):
        ds = D.read_csv(p, id_column="id")
    assert ds.sample_id.values.tolist() == ["s0", "s2", "s3", "s5"]
    with pytest.raises(ValueError, match="2 of 6 samples contain NaN.*nan='drop'"):
        D.read_csv(p, id_column="id", nan="raise")
    with pytest.raises(ValueError, match="nan must be one of"):
        D.read_csv(p, id_column="id", nan="ignore")


def test_csv_to_netcdf_round_trip(tmp_path):
    ds = D.read_csv(_write_csv(tmp_path / "s.csv", _soil_table()), id_column="id",
                    quantity="reflectance", target_units=["%", "g/kg"])
    D.write_netcdf(ds, tmp_path / "s.nc")
    xr.testing.assert_identical(D.read_dataset(tmp_path / "s.nc"), ds)


# ---------------------------------------------------------------- ENVI


ROWS, COLS, BANDS = 4, 5, 6
WL = [1000.0, 1200.0, 1400.0, 1600.0, 1800.0, 2000.0]


def _cube():
    """(rows, cols, bands) whose values encode their pixel: 1000 r + 100 c + band."""
    r, c, b = np.meshgrid(np.arange(ROWS), np.arange(COLS), np.arange(BANDS), indexing="ij")
    return (1000 * r + 100 * c + b).astype(np.int16)


def _envi(tmp_path, name="scene", meta=None, cube=None):
    metadata = {"wavelength": WL, "wavelength units": "Nanometers"} if meta is None else meta
    envi.save_image(str(tmp_path / f"{name}.hdr"), _cube() if cube is None else cube,
                    metadata=metadata, force=True, ext=".img")
    return tmp_path / f"{name}.hdr"


def test_read_envi_with_csv_targets(tmp_path):
    hdr = _envi(tmp_path, meta={"wavelength": WL, "wavelength units": "Nanometers",
                                "reflectance scale factor": 10000})
    labels = _write_csv(tmp_path / "labels.csv",
                        pd.DataFrame({"row": [3, 0, 2], "col": [4, 1, 0], "oil": [1.0, 2.0, 3.0], "pH": [5, 6, 7]}))
    ds = D.read_envi(hdr, labels, target_units={"oil": "mg/kg", "pH": "1"})
    check_dataset(ds)
    assert ds.row.values.tolist() == [3, 0, 2] and ds.col.values.tolist() == [4, 1, 0]
    np.testing.assert_array_equal(ds.spectra.values[:, 0], [3400, 100, 2000])
    np.testing.assert_array_equal(ds.target.sel(output="oil").values, [1, 2, 3])
    assert ds.attrs["quantity"] == "reflectance" and ds.attrs["reflectance_scale"] == 10000
    assert (ds.attrs["image_rows"], ds.attrs["image_cols"]) == (ROWS, COLS)
    assert ds.wavelength.values.tolist() == WL
    assert D.read_envi(tmp_path / "scene.img", labels, target="pH", quantity="unknown").attrs["quantity"] == "unknown"
    xr.testing.assert_identical(D.read_dataset(hdr, targets=labels), D.read_envi(hdr, labels))


def test_read_envi_with_envi_targets_drops_unlabelled_pixels(tmp_path):
    hdr = _envi(tmp_path, meta={"wavelength": [w / 1000 for w in WL], "wavelength units": "Micrometers"})
    tgt = np.arange(ROWS * COLS, dtype=np.float32).reshape(ROWS, COLS, 1)
    tgt[1, 2, 0] = np.nan
    tgt[0, 0, 0] = -1  # data ignore value
    thdr = _envi(tmp_path, "truth", meta={"band names": ["SOC"], "data ignore value": -1}, cube=tgt)
    with pytest.warns(D.DroppedRowsWarning, match="dropped 2 of 20 samples"):
        ds = D.read_envi(hdr, thdr)
    assert ds.sizes["sample"] == 18 and ds.output.values.tolist() == ["SOC"]
    np.testing.assert_allclose(ds.wavelength.values, WL)
    r, c = ds.row.values, ds.col.values
    np.testing.assert_array_equal(ds.target.values[:, 0], r * COLS + c)  # row-major pixels
    np.testing.assert_array_equal(ds.spectra.values[:, 2], 1000 * r + 100 * c + 2)


def test_read_envi_errors(tmp_path):
    hdr = _envi(tmp_path)
    small = _envi(tmp_path, "small", meta={}, cube=np.zeros((ROWS, COLS + 1, 1), np.float32))
    with pytest.raises(ValueError, match=r"shape mismatch: image .*scene.hdr is 4 x 5 pixels but targets .*small.hdr are 4 x 6"):
        D.read_envi(hdr, small)
    out = _write_csv(tmp_path / "out.csv", pd.DataFrame({"row": [0, 4], "col": [0, 0], "y": [1.0, 2.0]}))
    with pytest.raises(ValueError, match=r"out.csv: pixel \(row=4, col=0\) at data row 1 is outside the 4 x 5 image"):
        D.read_envi(hdr, out)
    norc = _write_csv(tmp_path / "norc.csv", pd.DataFrame({"x": [0], "col": [0], "y": [1.0]}))
    with pytest.raises(ValueError, match="norc.csv: needs columns 'row' and 'col'"):
        D.read_envi(hdr, norc)
    twice = _write_csv(tmp_path / "twice.csv", pd.DataFrame({"row": [1, 1], "col": [2, 2], "y": [1.0, 2.0]}))
    with pytest.raises(ValueError, match="more than once"):
        D.read_envi(hdr, twice)
    nowl = _envi(tmp_path, "nowl", meta={})
    ok = _write_csv(tmp_path / "ok.csv", pd.DataFrame({"row": [0], "col": [0], "y": [1.0]}))
    with pytest.raises(ValueError, match="nowl.hdr: the header has no 'wavelength' field"):
        D.read_envi(nowl, ok)
    assert D.read_envi(nowl, ok, wavelength=WL).sizes["wavelength"] == BANDS
    dec = _envi(tmp_path, "dec", meta={"wavelength": WL[::-1], "wavelength units": "nm"})
    with pytest.raises(ValueError, match="dec.hdr: wavelength must be strictly increasing"):
        D.read_envi(dec, ok)
    with pytest.raises(ValueError, match=r"ok.csv: missing target column\(s\) \['SOC'\]"):
        D.read_envi(hdr, ok, target="SOC")


# ---------------------------------------------------------------- MATLAB


MR, MC, MB = 3, 4, 5


def _bench(tmp_path, **extra):
    """A Samson/Jasper-style file: Y bands x pixels in MATLAB column-major pixel order."""
    r, c, b = np.meshgrid(np.arange(MR), np.arange(MC), np.arange(MB), indexing="ij")
    cube = 100.0 * r + 10.0 * c + b  # (rows, cols, bands)
    ab = np.stack([r[..., 0] / 10.0, c[..., 0] / 10.0], axis=-1)  # (rows, cols, 2)
    Y = cube.reshape(MR * MC, MB, order="F").T
    A = ab.reshape(MR * MC, 2, order="F").T
    content = {"Y": Y, "A": A, "nRow": MR, "nCol": MC, **extra}
    savemat(tmp_path / "bench.mat", content)
    return tmp_path / "bench.mat", cube, ab


def test_read_mat_column_major_pixels(tmp_path):
    path, cube, ab = _bench(tmp_path, wavelength=np.linspace(400, 800, MB))
    ds = D.read_mat(path)
    check_dataset(ds)
    r, c = ds.row.values, ds.col.values
    assert r.tolist()[:4] == [0, 1, 2, 0] and c.tolist()[:4] == [0, 0, 0, 1]  # k = row + col*nRow
    np.testing.assert_array_equal(ds.spectra.values, cube[r, c])
    np.testing.assert_allclose(ds.target.values, ab[r, c], rtol=1e-6)
    assert ds.output.values.tolist() == ["endmember_0", "endmember_1"] and ds.target.attrs["units"] == "1"
    assert ds.attrs["quantity"] == "unknown" and (ds.attrs["image_rows"], ds.attrs["image_cols"]) == (MR, MC)
    xr.testing.assert_identical(D.read_dataset(path), ds)
    rowmajor = D.read_mat(path, pixel_order="C")  # wrong order on purpose: pixels land elsewhere
    assert not np.array_equal(rowmajor.spectra.values, cube[rowmajor.row.values, rowmajor.col.values])


def test_read_mat_ground_truth_in_a_second_file_with_names(tmp_path):
    path, cube, ab = _bench(tmp_path)
    gt = tmp_path / "end2.mat"  # ground truth shipped beside the spectra, as the benchmarks do
    savemat(gt, {"A": ab.reshape(MR * MC, 2, order="F").T, "M": np.zeros((MB, 2)),
                 "cood": np.array(["Soil", "Water"], dtype=object)})
    savemat(tmp_path / "only_y.mat", {"Y": cube.reshape(MR * MC, MB, order="F"), "nRow": MR, "nCol": MC})  # pixels x bands
    ds = D.read_mat(tmp_path / "only_y.mat", abundances=gt, wavelength=np.arange(MB) * 10.0 + 900)
    assert ds.output.values.tolist() == ["Soil", "Water"]
    np.testing.assert_array_equal(ds.spectra.values, cube[ds.row.values, ds.col.values])
    assert ds.attrs["targets_source"] == str(gt)


def test_read_mat_cube_layout(tmp_path):
    _, cube, ab = _bench(tmp_path)
    savemat(tmp_path / "cube.mat", {"X": cube, "A": ab, "wl": np.linspace(1, 2, MB) * 1000})
    ds = D.read_mat(tmp_path / "cube.mat")
    np.testing.assert_array_equal(ds.spectra.values, cube[ds.row.values, ds.col.values])
    np.testing.assert_allclose(ds.target.values, ab[ds.row.values, ds.col.values], rtol=1e-6)
    assert ds.row.values.tolist()[:3] == [0, 0, 0]  # a cube is row-major


def test_read_mat_errors(tmp_path):
    path, cube, ab = _bench(tmp_path)
    with pytest.raises(ValueError, match="bench.mat: no wavelength key.*Samson, Jasper Ridge and Urban.*wavelength=.*5 band"):
        D.read_mat(path)
    wl = np.linspace(400, 800, MB)
    with pytest.raises(ValueError, match="shape mismatch: .*4 wavelengths for 5 bands"):
        D.read_mat(path, wavelength=wl[:4])
    savemat(tmp_path / "wrong.mat", {"Y": cube.reshape(-1, MB).T, "A": ab.reshape(-1, 2).T, "nRow": MR, "nCol": MC + 1})
    with pytest.raises(ValueError, match=r"shape mismatch: .*wrong.mat: spectra 'Y' has shape \(5, 12\) but the image has 15 pixels"):
        D.read_mat(tmp_path / "wrong.mat", wavelength=wl)
    savemat(tmp_path / "fewer.mat", {"Y": cube.reshape(-1, MB).T, "A": np.ones((2, 7))})
    with pytest.raises(ValueError, match=r"shape mismatch: .*fewer.mat: abundances 'A' has shape \(2, 7\) but the spectra in .*fewer.mat have 12 pixels"):
        D.read_mat(tmp_path / "fewer.mat", wavelength=wl)
    with pytest.raises(ValueError, match="no abundance key 'S'"):
        D.read_mat(path, wavelength=wl, abundance_key="S")
    with pytest.raises(ValueError, match=r"bench.mat: wavelength must be strictly increasing"):
        D.read_mat(path, wavelength=wl[::-1])
    bad = tmp_path / "bad.mat"
    bad.write_bytes(b"not a mat file at all" * 10)
    with pytest.raises(ValueError, match="bad.mat: cannot be read as a MATLAB .mat file"):
        D.read_mat(bad, wavelength=wl)


def test_read_dataset_rejects_unknown_suffix(tmp_path):
    with pytest.raises(ValueError, match=r"x.xlsx: unknown file type '.xlsx'; accepted suffixes"):
        D.read_dataset(tmp_path / "x.xlsx")


# ---------------------------------------------------------------- docs


def test_docs_examples_run(tmp_path, monkeypatch):
    """Every ```python block of docs/data.md runs as written (in a scratch directory)."""
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), re.S)
    assert len(blocks) >= 5
    with warnings.catch_warnings():
        warnings.simplefilter("error", D.DroppedRowsWarning)
        for i, block in enumerate(blocks):
            exec(compile(block, f"{DOCS.name}[python block {i}]", "exec"), {})
