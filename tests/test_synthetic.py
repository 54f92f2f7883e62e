import itertools
import math

import numpy as np
import pytest
import xarray as xr

from hsaug import synthetic as syn
from hsaug.library import usgs_names, usgs_spectra
from hsaug.spectra import check_dataset, sensor_grid

SMALL = {"n_rows": 8, "n_cols": 12}
# what the "hard-v1" rule picks on the default 224-band grid (documented in hsaug.synthetic)
HARD_V1 = ["Calcite_WS272_BECKa_AREF", "Dolomite_HS102.3B_BECKb_AREF",
        "Calcite.5+Dolomite.5_AMX8_BECKb_AREF", "Chrysotile_HS323.1B_BECKa_AREF"]
HARD = list(syn.HARD_ENDMEMBERS)  # similar but distinct minerals


def _snr_db(clean: np.ndarray, noisy: np.ndarray) -> float:
    return 10 * math.log10(np.mean(clean**2) / np.mean((noisy - clean) ** 2))


def test_default_scene_is_the_paper_shape():
    ds = syn.make_scene()
    check_dataset(ds)
    assert ds["spectra"].shape == (100 * 100, 224)
    assert ds["target"].shape == (100 * 100, 4)
    assert ds["endmembers"].dims == ("endmember", "wavelength") and ds["endmembers"].shape == (4, 224)
    np.testing.assert_allclose(ds["wavelength"].values, sensor_grid())
    assert ds["spectra"].dtype == np.float32


def test_structure_coords_and_attrs():
    ds = syn.make_scene(**SMALL, seed=3)
    names = ds.attrs["endmember_names"]
    assert list(ds["output"].values) == names == list(ds["endmember"].values)
    assert set(names) <= set(usgs_names(sensor_grid()))
    np.testing.assert_array_equal(ds["y"].values, np.repeat(np.arange(8), 12))
    np.testing.assert_array_equal(ds["x"].values, np.tile(np.arange(12), 8))
    for key in ("preset", "snr_db", "mixing", "seed", "concentration", "quantity", "noise_std"):
        assert key in ds.attrs
    assert ds.attrs["quantity"] == "reflectance" and ds.attrs["seed"] == 3 and ds.attrs["preset"] == "none"
    np.testing.assert_allclose(ds["endmembers"].values, usgs_spectra(sensor_grid(), names=names).values)


def test_abundances_on_the_simplex():
    for conc in (1.0, 0.2, [5.0, 1.0, 0.5, 2.0]):
        a = syn.make_scene(**SMALL, concentration=conc)["target"].values
        assert (a >= 0).all()
        np.testing.assert_allclose(a.sum(axis=1), 1.0, atol=1e-6)


def test_mixing_formulas_by_hand():
    lin = syn.make_scene(**SMALL, mixing="linear", snr_db=None)
    pnl = syn.make_scene(**SMALL, mixing="postnonlinear", snr_db=math.inf)
    np.testing.assert_array_equal(lin["target"].values, pnl["target"].values)  # same abundance stream
    a = pnl["target"].values.astype(float)
    m = pnl["endmembers"].values
    for i in (0, 17, 95):
        ma = [sum(a[i, k] * m[k, b] for k in range(4)) for b in range(0, 224, 37)]
        np.testing.assert_allclose(lin["spectra"].values[i, ::37], ma, rtol=1e-5)
        np.testing.assert_allclose(pnl["spectra"].values[i, ::37], [v + v * v for v in ma], rtol=1e-5)
    assert lin.attrs["noise_std"] == 0.0 and pnl.attrs["snr_db"] == math.inf


@pytest.mark.parametrize("snr", [20.0, 10.0, 35.0])
def test_measured_snr_matches_request(snr):
    noisy = syn.make_scene(n_rows=20, n_cols=20, snr_db=snr, seed=1)
    clean = syn.make_scene(n_rows=20, n_cols=20, snr_db=None, seed=1)
    assert abs(_snr_db(clean["spectra"].values.astype(float), noisy["spectra"].values.astype(float)) - snr) < 0.5
    sigma = noisy.attrs["noise_std"]
    assert sigma == pytest.approx(math.sqrt(np.mean(clean["spectra"].values.astype(float) ** 2) / 10 ** (snr / 10)),
                                  rel=1e-4)


def test_seed_reproducible_and_different():
    a, b = syn.make_scene(**SMALL, seed=5), syn.make_scene(**SMALL, seed=5)
    assert a.identical(b)
    c = syn.make_scene(**SMALL, seed=6)
    assert not np.allclose(a["target"].values, c["target"].values)
    draws = {tuple(syn.make_scene("paper", n_rows=1, n_cols=2, seed=s).attrs["endmember_names"]) for s in range(6)}
    assert len(draws) > 1


def test_streams_are_independent():
    base = syn.make_scene(**SMALL, seed=2)
    louder = syn.make_scene(**SMALL, seed=2, snr_db=40.0)
    np.testing.assert_array_equal(base["target"].values, louder["target"].values)
    named = syn.make_scene(**SMALL, seed=2, endmembers=base.attrs["endmember_names"])
    assert named.identical(base)


def test_presets():
    paper = syn.make_scene("paper", **SMALL)
    assert (paper.attrs["preset"], paper.attrs["snr_db"], paper.attrs["mixing"]) == ("paper", 20.0, "postnonlinear")
    assert paper.attrs["concentration"] == [1.0] * 4
    assert paper.identical(syn.make_scene(**SMALL).assign_attrs(preset="paper"))
    assert syn.similar_endmembers(4) == HARD_V1
    assert syn.make_scene("hard-v1", **SMALL).attrs["endmember_names"] == HARD_V1
    hard = syn.make_scene("hard", **SMALL)
    assert hard.attrs["snr_db"] == syn.PRESETS["hard"]["snr_db"] == 10.0
    assert hard.attrs["endmember_names"] == HARD
    assert hard.attrs["concentration"] == [syn.PRESETS["hard"]["concentration"]] * 4
    # the hard draw does not depend on the seed; explicit arguments override the preset
    assert syn.make_scene("hard", **SMALL, seed=9).attrs["endmember_names"] == HARD
    quiet = syn.make_scene("hard", **SMALL, snr_db=None)
    assert "Illite_GDS4_Marblehead_ASDNGb_AREF" in usgs_names(sensor_grid())  # the second illite sample
    assert quiet.attrs["snr_db"] == math.inf and quiet.attrs["endmember_names"] == HARD


def test_hard_abundances_are_identifiable_and_v1_not():
    new, old = syn.identifiability(HARD), syn.identifiability(HARD_V1)
    assert new["condition"] < 100 and new["lstsq_r2"] > 0.9999 and new["lstsq_max_error"] < 1e-5
    assert old["condition"] > 1e6 and old["lstsq_r2"] < 0.95  # AMX8 = mean of calcite and dolomite
    assert 2.0 < new["angle_min_deg"] and new["angle_mean_deg"] < 10.0  # similar, not equal
    with pytest.raises(ValueError, match="endmembers"):
        syn.identifiability(np.ones((3, 2)))


def _mean_angle(x: np.ndarray) -> float:
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    ang = np.arccos(np.clip(u @ u.T, -1, 1))
    return float(np.mean([ang[i, j] for i, j in itertools.combinations(range(len(x)), 2)]))


def test_similar_endmembers_minimises_mean_angle():
    lib = usgs_spectra(sensor_grid())
    pair = syn.similar_endmembers(2)
    best = min(itertools.combinations(range(lib.sizes["sample"]), 2), key=lambda p: _mean_angle(lib.values[list(p)]))
    assert pair == [str(lib["name"].values[i]) for i in best]
    four = _mean_angle(usgs_spectra(sensor_grid(), names=syn.similar_endmembers(4)).values)
    rng = np.random.default_rng(0)
    for _ in range(50):
        pick = rng.choice(lib.sizes["sample"], 4, replace=False)
        assert four <= _mean_angle(lib.values[pick]) + 1e-12


def test_scene_image_round_trip():
    ds = syn.make_scene(**SMALL)
    img = syn.scene_image(ds)
    assert img.dims == ("y", "x", "wavelength") and img.shape == (8, 12, 224)
    np.testing.assert_array_equal(img.values[3, 7], ds["spectra"].values[3 * 12 + 7])
    assert syn.scene_image(ds, "target").shape == (8, 12, 4)
    with pytest.raises(ValueError, match="var must name"):
        syn.scene_image(ds, "nope")


def test_netcdf_round_trip(tmp_path):
    ds = syn.make_scene(**SMALL)
    ds.to_netcdf(tmp_path / "s.nc", engine="h5netcdf")
    back = xr.load_dataset(tmp_path / "s.nc", engine="h5netcdf")
    np.testing.assert_array_equal(back["spectra"].values, ds["spectra"].values)
    assert list(back.attrs["endmember_names"]) == ds.attrs["endmember_names"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"preset": "easy"}, "preset must be one of"),
        ({"mixing": "bilinear"}, "mixing must be one of"),
        ({"snr_db": float("nan")}, "snr_db must be"),
        ({"snr_db": "20"}, "snr_db must be"),
        ({"n_rows": 0}, "n_rows must be a positive integer"),
        ({"n_cols": 2.5}, "n_cols must be a positive integer"),
        ({"concentration": -1.0}, "concentration must be"),
        ({"concentration": [1.0, 2.0]}, "4 positive numbers"),
        ({"endmembers": 1}, "endmembers must be from 2"),
        ({"endmembers": 99}, "endmembers must be from 2"),
        ({"endmembers": ["Calcite_WS272_BECKa_AREF"]}, "at least 2"),
        ({"endmembers": "Calcite_WS272_BECKa_AREF"}, "integer count or a list"),
        ({"endmembers": ["Calcite_WS272_BECKa_AREF", "Calcyte"]}, "unknown USGS name"),
        ({"seed": -1}, "seed must be"),
        ({"wavelength": sensor_grid() / 1000}, "350-2500"),
    ],
)
def test_bad_arguments(kwargs, match):
    kwargs = {**SMALL, **kwargs}
    preset = kwargs.pop("preset", None)
    with pytest.raises(ValueError, match=match):
        syn.make_scene(preset, **kwargs)
