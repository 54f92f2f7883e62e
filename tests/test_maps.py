"""Scene maps: in memory vs dask chunks vs files (ENVI, NetCDF, zarr) vs a LocalCluster; writing rules."""

import socket
import time

import numpy as np
import pytest
import torch
import xarray as xr

from hsaug import preprocess as P
from hsaug.losses import LabelScaling
from hsaug.maps import map_figure, open_scene, predict_map
from hsaug.models import MLPEnsemble
from hsaug.predictor import Model

WL = np.linspace(400.0, 2500.0, 48)
ROWS, COLS = 37, 29
TOL = {"rtol": 0, "atol": 1e-6}  # chunks change GEMM blocking: equal up to float32 rounding


def make_scene(nan=True):
    rng = np.random.default_rng(0)
    t = (WL - 400) / 2100
    a = rng.random((ROWS, COLS, 1))
    cube = (0.2 + 0.3 * a * np.sin(2 * np.pi * t)[None, None] + 0.05 * rng.random((ROWS, COLS, 1))).astype(np.float32)
    if nan:
        cube[5, 7, 11] = np.nan
        cube[20, :3, :] = np.nan
    return xr.DataArray(cube, dims=("y", "x", "wavelength"),
                        coords={"y": 1000.0 - 30 * np.arange(ROWS), "x": 500.0 + 30 * np.arange(COLS),
                                "wavelength": ("wavelength", WL, {"units": "nm"})},
                        attrs={"quantity": "reflectance", "reflectance_scale": 1.0}, name="spectra")


@pytest.fixture(scope="module")
def model():
    x = make_scene(nan=False).values.reshape(-1, WL.size)
    net = MLPEnsemble(WL.size, 2, 2, init=[0, 1])
    return Model(net, LabelScaling.fit(torch.rand(20, 2) * 10), WL, ["clay", "soc"], units=["%", "g/kg"],
                 preprocess=P.build("standardize").fit(torch.tensor(x[:300])), quantity="reflectance")


@pytest.fixture(scope="module")
def reference(model):
    return predict_map(model, make_scene())


def test_in_memory_map_has_coordinates_and_nan_where_the_scene_has_no_data(model, reference):
    assert reference.dims == ("y", "x", "output") and reference.shape == (ROWS, COLS, 2)
    assert np.array_equal(reference["x"].values, make_scene()["x"].values)
    assert list(reference["output"].values) == ["clay", "soc"] and list(reference["units"].values) == ["%", "g/kg"]
    nan = np.isnan(reference.values).any(-1)
    expect = np.zeros((ROWS, COLS), bool)
    expect[5, 7] = True
    expect[20, :3] = True
    assert np.array_equal(nan, expect) and np.isnan(reference.values[expect]).all()
    flat = make_scene().values.reshape(-1, WL.size)
    np.testing.assert_array_equal(reference.values.reshape(-1, 2), model.predict(flat))


@pytest.mark.parametrize("chunks", [7, (10, 29), {"y": 37, "x": 5}])
def test_dask_chunked_map_stays_lazy_and_equals_in_memory(model, reference, chunks):
    lazy = predict_map(model, make_scene(), chunks=chunks)
    assert lazy.chunks is not None  # nothing computed yet
    np.testing.assert_allclose(lazy.compute().values, reference.values, **TOL)


def test_split_wavelength_chunks_are_joined(model, reference):
    scene = make_scene().chunk({"y": 10, "x": 10, "wavelength": 16})
    np.testing.assert_allclose(predict_map(model, scene).compute().values, reference.values, **TOL)


@pytest.mark.parametrize("interleave", ["bip", "bil", "bsq"])
def test_envi_scene_read_lazily_equals_in_memory(model, reference, tmp_path, interleave):
    from spectral.io import envi

    cube = make_scene().values.copy()
    cube[np.isnan(cube)] = -9999.0
    meta = {"wavelength": [f"{w:.6f}" for w in WL], "wavelength units": "Nanometers", "data ignore value": -9999}
    envi.save_image(str(tmp_path / "scene.hdr"), cube, metadata=meta, interleave=interleave, ext=".img")
    scene = open_scene(tmp_path / "scene.hdr", chunks=8)
    assert scene.chunks is not None and scene.dims == ("y", "x", "wavelength")
    got = predict_map(model, tmp_path / "scene.hdr", chunks=8).compute()
    np.testing.assert_allclose(got.values, reference.values, **TOL)


def test_netcdf_and_zarr_scenes_and_outputs(model, reference, tmp_path):
    make_scene().to_dataset().to_netcdf(tmp_path / "scene.nc", engine="h5netcdf")
    make_scene().to_dataset().to_zarr(tmp_path / "scene.zarr", mode="w", consolidated=False)
    for src in ("scene.nc", "scene.zarr"):
        for dst in ("map.nc", "map.zarr"):
            out = tmp_path / f"{src}-{dst}"
            written = predict_map(model, tmp_path / src, chunks=9, out=out)
            np.testing.assert_allclose(written.values, reference.values, **TOL)
            assert list(written["output"].values) == ["clay", "soc"]


def test_existing_output_is_kept_unless_overwrite(model, tmp_path):
    out = tmp_path / "map.nc"
    predict_map(model, make_scene(), out=out)
    before = out.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        predict_map(model, make_scene() * 2, out=out)
    assert out.read_bytes() == before
    again = predict_map(model, make_scene(nan=False), out=out, overwrite=True)
    assert np.isfinite(again.values).all()
    with pytest.raises(ValueError, match="suffix must be one of"):
        predict_map(model, make_scene(), out=tmp_path / "map.txt")


def test_geotiff_needs_a_crs(model, reference, tmp_path):
    import rioxarray

    with pytest.raises(ValueError, match="needs a coordinate reference system"):
        predict_map(model, make_scene(), out=tmp_path / "map.tif")
    scene = make_scene().rio.write_crs("EPSG:32633")
    written = predict_map(model, scene, chunks=10, out=tmp_path / "map.tif")
    back = rioxarray.open_rasterio(tmp_path / "map.tif")
    assert back.rio.crs.to_epsg() == 32633 and back.shape == (2, ROWS, COLS)
    np.testing.assert_allclose(back.values.transpose(1, 2, 0), reference.values, **TOL)
    np.testing.assert_array_equal(back["x"].values, scene["x"].values)
    assert written.shape == (2, ROWS, COLS)


def test_scene_bands_that_do_not_cover_the_model_are_refused(model):
    scene = make_scene().assign_coords(wavelength=np.linspace(600, 2500, WL.size))
    with pytest.raises(ValueError, match="does not cover the model's"):
        predict_map(model, scene)
    with pytest.raises(ValueError, match=r"dims \('y', 'x', 'wavelength'\)"):
        predict_map(model, make_scene().isel(y=0))


def test_an_address_that_does_not_answer_fails_within_the_timeout(model):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    with pytest.raises(ConnectionError, match="no dask scheduler answered within 2 s"):
        predict_map(model, make_scene(), chunks=10, scheduler=f"tcp://127.0.0.1:{port}", timeout=2)
    assert time.perf_counter() - t0 < 15


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc, \
            Client(lc) as client:
        yield client


def test_local_cluster_map_equals_single_process(model, reference, cluster, tmp_path):
    got = predict_map(model, make_scene(), chunks=10, scheduler=cluster)
    np.testing.assert_allclose(got.values, reference.values, **TOL)
    written = predict_map(model, make_scene(), chunks=10, scheduler=cluster.scheduler.address,
                          out=tmp_path / "map.zarr")
    np.testing.assert_allclose(written.values, reference.values, **TOL)
    nc = predict_map(model, make_scene(), chunks=10, scheduler=cluster, out=tmp_path / "map.nc")
    np.testing.assert_allclose(nc.values, reference.values, **TOL)
    # scenes opened lazily from files: the workers read their chunks themselves
    from spectral.io import envi

    cube = make_scene().values.copy()
    meta = {"wavelength": [f"{w:.6f}" for w in WL], "wavelength units": "Nanometers"}
    envi.save_image(str(tmp_path / "scene.hdr"), cube, metadata=meta, interleave="bip", ext=".img")
    make_scene().to_dataset().to_netcdf(tmp_path / "scene.nc", engine="h5netcdf")
    for src in ("scene.hdr", "scene.nc"):
        got = predict_map(model, tmp_path / src, chunks=10, scheduler=cluster)
        np.testing.assert_allclose(got.values, reference.values, **TOL)


def test_map_figure_panels(reference):
    fig = map_figure(reference)
    assert len(fig.data) == 2
    fig = map_figure(reference, truth=reference + 0.5, outputs=["soc"])
    assert len(fig.data) == 3
    err = np.asarray(fig.data[2].z)
    assert np.allclose(err[np.isfinite(err)], -0.5)
    with pytest.raises(ValueError, match="outputs"):
        map_figure(reference, outputs=["sand"])


def test_envi_scene_follows_the_readers_header_rules(tmp_path):
    from spectral.io import envi

    cube = make_scene(nan=False).values.copy()
    wl = WL.copy()
    wl[[10, 11]] = wl[[11, 10]]  # overlapping detectors: a band list that goes back
    cube[..., [10, 11]] = cube[..., [11, 10]]
    bbl = ["1"] * WL.size
    bbl[3] = "0"
    cube[0, 0, 5] = -1e34  # the readers' no-data rule: float values below -1e30
    meta = {"wavelength": [f"{w / 1000:.8f}" for w in wl], "wavelength units": "Micrometers", "bbl": bbl}
    envi.save_image(str(tmp_path / "s.hdr"), cube, metadata=meta, interleave="bsq", ext=".img")
    with pytest.raises(ValueError, match="strictly increasing.*bands='sort'"):
        open_scene(tmp_path / "s.hdr")
    scene = open_scene(tmp_path / "s.hdr", bands="sort", chunks=10)
    expect_wl = np.delete(WL, 3)
    np.testing.assert_allclose(scene["wavelength"].values, expect_wl, rtol=1e-7)
    values = scene.values
    np.testing.assert_array_equal(values[1:, 1:], np.delete(make_scene(nan=False).values, 3, axis=-1)[1:, 1:])
    assert np.isnan(values[0, 0]).sum() == 1
