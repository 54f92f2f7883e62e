"""Widgets driven in-process: sliders from specs, figure data equal to the augmentation output."""

from __future__ import annotations

import ipywidgets as W
import numpy as np
import pytest
import torch
import xarray as xr

from hsaug import augment, viz, widgets
from conftest import wavy_spectra
from hsaug.spectra import sensor_grid, to_dataarray

WL = sensor_grid(224)


X = wavy_spectra(WL, 30)
SPECTRA = to_dataarray(X, WL)


def _expected(name: str, options: dict, row: int, params: dict) -> np.ndarray:
    """The augmentation's own output, computed without the widget."""
    aug = augment.get(name, **options)
    if hasattr(aug, "fit"):
        aug.fit(X)
    return aug.apply(torch.as_tensor(X[row:row + 1]), WL, index=torch.tensor([row]), **params)[0].numpy()


@pytest.mark.parametrize("name", augment.names())
def test_sliders_follow_the_spec_and_the_figure_follows_the_sliders(name):
    ex = widgets.AugmentationExplorer(SPECTRA, name, sample=4, seed=1)
    aug = augment.get(name)
    assert list(ex.sliders) == [p.name for p in aug.params]
    for p in aug.params:
        s = ex.sliders[p.name]
        assert s.description == p.display
        assert isinstance(s, W.IntSlider if p.integer else W.FloatSlider)
        assert (s.min, s.max) == pytest.approx((p.low, p.high))
        assert s.value == pytest.approx(p.default)
    # neutral sliders: the augmented curve is the original
    np.testing.assert_allclose(ex.augmented(), X[4], atol=1e-6)
    # one slider set to a drawn value: the figure holds the augmentation's output for it
    drawn = viz.draw_params(aug, 7, WL)
    key = aug.params[0].name
    if name == "band_permutation":  # its first slider (block) alone moves nothing at share 0
        key = "share"
    ex.sliders[key].value = drawn[key]
    values = dict(aug.neutral(), **{key: ex.sliders[key].value})
    np.testing.assert_allclose(ex.augmented(), _expected(name, {}, 4, values), rtol=1e-5, atol=1e-6)
    # every slider at once, through set()
    ex.set(**drawn)
    options = {k: dd.value for k, dd in ex.options.items()}
    want = _expected(name, options, 4, ex.values())
    np.testing.assert_allclose(ex.augmented(), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ex.figure.data[0].y, X[4])
    assert not np.allclose(want, X[4], atol=1e-4), "the drawn parameters should change the spectrum"


@pytest.mark.parametrize("name", ["shift", "elastic", "scattering", "band_erasure"])
def test_random_draw_moves_the_sliders_and_redraws(name):
    ex = widgets.AugmentationExplorer(SPECTRA, name, seed=3)
    before = ex.values()
    drawn = ex.random_draw()
    assert drawn == ex.values()
    assert drawn != before
    np.testing.assert_allclose(ex.augmented(), _expected(name, {}, 0, drawn), rtol=1e-5, atol=1e-6)
    # the button does the same as the method; the same seed gives the same sequence
    twin = widgets.AugmentationExplorer(SPECTRA, name, seed=3)
    twin.random_button.click()
    assert twin.values() == drawn
    ex.reset()
    np.testing.assert_allclose(ex.augmented(), X[0], atol=1e-6)


def test_option_change_rebuilds_sliders_and_keeps_shared_values():
    ex = widgets.AugmentationExplorer(SPECTRA, "elastic", options={"n_kernels": 2})
    assert [k for k in ex.sliders if k.startswith("A_")] == ["A_1", "A_2"]
    ex.set(A_1=20.0, sigma=150.0)
    ex.options["n_kernels"].value = 4
    assert [k for k in ex.sliders if k.startswith("A_")] == ["A_1", "A_2", "A_3", "A_4"]
    assert ex.sliders["A_1"].value == 20.0 and ex.sliders["sigma"].value == 150.0
    want = _expected("elastic", {"n_kernels": 4}, 0, ex.values())
    np.testing.assert_allclose(ex.augmented(), want, rtol=1e-5, atol=1e-6)
    ex.select("shift")
    assert list(ex.options) == ["edge"] and list(ex.sliders) == ["delta"]
    ex.set(delta=150.0)
    ex.options["edge"].value = "repeat"
    np.testing.assert_allclose(ex.augmented(), _expected("shift", {"edge": "repeat"}, 0, {"delta": 150.0}),
                               rtol=1e-5, atol=1e-6)


def test_changing_spectrum_redraws_both_traces():
    ex = widgets.AugmentationExplorer(SPECTRA, "shift")
    ex.set(delta=12.0)
    ex.select(sample=7)
    np.testing.assert_allclose(ex.figure.data[0].y, X[7])
    np.testing.assert_allclose(ex.augmented(), _expected("shift", {}, 7, {"delta": 12.0}), rtol=1e-5, atol=1e-6)
    assert "spectrum 7" in ex.figure.layout.title.text


def test_nearest_neighbor_uses_the_source_as_reference():
    ex = widgets.AugmentationExplorer(SPECTRA, "nearest_neighbor", sample=2)
    ex.set(k=5)
    ref = torch.as_tensor(X)
    d = ((ref - ref[2]) ** 2).sum(1)
    want = ref[torch.argsort(d)[:5]].mean(0).numpy()
    np.testing.assert_allclose(ex.augmented(), want, rtol=1e-5, atol=1e-6)


def test_set_rejects_unknown_parameters_and_bad_names():
    ex = widgets.AugmentationExplorer(SPECTRA, "shift")
    with pytest.raises(ValueError, match="no parameter"):
        ex.set(sigma=3.0)
    with pytest.raises(ValueError, match="augmentation must be one of"):
        widgets.AugmentationExplorer(SPECTRA, "warp")
    with pytest.raises(ValueError, match="source must be one of"):
        widgets.load_source("moon")
    with pytest.raises(ValueError, match="sample must be a row"):
        widgets.AugmentationExplorer(SPECTRA, "shift", sample=99)


def test_param_slider_labels_and_live_updates():
    shift = augment.get("shift").params[0]
    s = widgets.param_slider(shift)
    assert s.description == "Δ [nm]" and s.step == 0.5 and s.continuous_update
    assert not widgets.param_slider(shift, continuous=False).continuous_update
    ex = widgets.AugmentationExplorer(SPECTRA, "shift", live=False)
    assert not ex.sliders["delta"].continuous_update


def test_load_source_accepts_datasets_and_labels_names():
    ds = xr.Dataset({"spectra": SPECTRA.assign_coords(name=("sample", [f"m{i}" for i in range(30)]))})
    da = widgets.load_source(ds, limit=5)
    assert da.sizes["sample"] == 5 and list(da["label"].values) == ["m0", "m1", "m2", "m3", "m4"]
    with pytest.raises(ValueError, match="'spectra'"):
        widgets.load_source(xr.Dataset({"x": SPECTRA}))


def test_named_sources_load_real_spectra():
    usgs = widgets.load_source("usgs")
    assert usgs.sizes["wavelength"] == 224 and usgs.sizes["sample"] >= 10
    assert "Kaolinite" in " ".join(usgs["label"].values) or usgs["label"].values[0] != "spectrum 0"
    scene = widgets.load_source("synthetic", limit=50)
    assert scene.sizes["sample"] == 50 and str(scene["label"].values[0]).startswith("pixel")
    ex = widgets.AugmentationExplorer("usgs", "shift")
    ex.select(source="synthetic")
    np.testing.assert_allclose(ex.figure.data[0].y, widgets.load_source("synthetic").values[0], rtol=1e-6)


def test_soil_source():
    soil = widgets.load_source("soil", limit=20)
    assert soil.sizes["sample"] == 20 and soil.sizes["wavelength"] > 200
    assert str(soil["label"].values[0]).startswith("soil 0 (")  # the target value in the label


def test_gallery_widget_redraws_every_panel():
    g = widgets.AugmentationGallery(SPECTRA, seed=0)
    assert len(g.figure.data) == 2 * len(augment.names())
    before = [np.array(t.y) for t in g.figure.data[1::2]]
    g.random_button.click()
    after = [np.array(t.y) for t in g.figure.data[1::2]]
    assert sum(not np.allclose(a, b) for a, b in zip(before, after)) >= 3
    for aug, trace in zip(g.augmentations, g.figure.data[1::2]):
        np.testing.assert_allclose(trace.y, _expected(aug.name, {}, 0, g.params[aug.name]), rtol=1e-5, atol=1e-6)
    g.picker.sample.value = 3
    np.testing.assert_allclose(g.figure.data[0].y, X[3])


def test_illumination_explorer_follows_the_clear_sky_model():
    from hsaug.illumination import clear_sky

    ex = widgets.IlluminationExplorer(SPECTRA, sample=1)
    assert ex.sliders["zenith"].description == "sun zenith [deg]"
    assert ex.sliders["precipitable_water"].description == "water vapour [cm]"
    ex.set(zenith=60.0, precipitable_water=4.0, aerosol_turbidity=0.5, mu1=0.3, mu2=0.9)
    sky = clear_sky(WL, zenith=60.0, precipitable_water=4.0, aerosol_turbidity=0.5, ozone=0.3)
    e_sun, e_sky = sky["e_sun"].values, sky["e_sky"].values
    np.testing.assert_allclose(ex.figure.data[0].y, e_sun, rtol=1e-6)
    np.testing.assert_allclose(ex.figure.data[1].y, e_sky, rtol=1e-6)
    np.testing.assert_allclose(ex.figure.data[2].y, X[1] * (e_sun * 0.5 + e_sky) / np.pi, rtol=1e-4)
    want = X[1] * (e_sun * 0.3 + e_sky) / (e_sun * 0.9 + e_sky)  # eq. (5)
    np.testing.assert_allclose(ex.figure.data[4].y, want, rtol=1e-4)
    # more water vapour deepens the 1400 nm band of the direct beam
    band = np.argmin(np.abs(WL - 1400))
    wet = ex.figure.data[0].y[band]
    ex.sliders["precipitable_water"].value = 0.5
    assert ex.figure.data[0].y[band] > wet
    with pytest.raises(ValueError, match="unknown clear-sky"):
        widgets.IlluminationExplorer(SPECTRA, humidity=3)


def test_loss_explorer_positives_similarity_and_value():
    from hsaug import losses

    y = np.linspace(0, 1, 6)[:, None].astype(np.float32)  # labels already span [0, 1]
    ex = widgets.LossExplorer(X[:6], y, WL, augmentation="flip", r=0.25, tau=0.5)
    f = ex.features
    assert f.shape == (12, 224)
    ex.set(r=0.21, tau=0.2)
    pos = np.asarray(ex.figure.data[3].z, bool)
    d = np.abs(np.concatenate([y, y]) - np.concatenate([y, y]).T)
    np.testing.assert_array_equal(pos, (d <= 0.21) & ~np.eye(12, dtype=bool))
    np.testing.assert_allclose(ex.figure.data[2].z, losses.similarity(f, 0.2).numpy(), rtol=1e-5)
    want = float(losses.contrastive_loss(f, torch.as_tensor(y), r=0.21, tau=0.2))
    assert ex.value == pytest.approx(want, rel=1e-5)
    assert f"{want:.4f}" in ex.figure.layout.title.text
    ex.loss_choice.value = "supcon"
    assert ex.value == pytest.approx(float(losses.contrastive_loss(f, torch.as_tensor(y), r=0.21, tau=0.2,
                                                                   loss="supcon")), rel=1e-5)
    with pytest.raises(ValueError, match="features must be"):
        widgets.LossExplorer(X[:6], y, WL, features=np.zeros((6, 3)))


def test_loss_explorer_default_batch_is_a_synthetic_scene():
    ex = widgets.LossExplorer(n=6)
    assert ex.labels.shape == (6, 4)
    assert np.isfinite(ex.value)


def test_training_monitor_records_and_draws_each_epoch():
    mon = widgets.TrainingMonitor(title="fit")
    for epoch in range(1, 5):
        mon(epoch, {"train loss": 1.0 / epoch, "val R2": torch.tensor(1 - 1.0 / epoch)})
    assert mon.history["val R2"] == pytest.approx([0.0, 0.5, 2 / 3, 0.75])
    names = [t.name for t in mon.figure.data]
    assert names == ["train loss", "val R2"]
    np.testing.assert_allclose(mon.figure.data[0].y, [1.0, 0.5, 1 / 3, 0.25])
    mon.update(5, {"train loss": 0.1, "val MAE": 0.2})  # a new metric appears later
    assert [t.name for t in mon.figure.data] == ["train loss", "val R2", "val MAE"]
    assert np.isnan(mon.history["val MAE"][0]) and mon.history["val MAE"][-1] == 0.2
    assert "epoch 5" in mon.status.value
    with pytest.raises(ValueError, match="numbers"):
        mon.update(6, {"train loss": "low"})


def test_training_monitor_takes_member_arrays_and_recorded_histories():
    hist = {"loss": np.array([[1.0, 0.5, 0.2], [3.0, 1.5, 0.4]]), "val_r2": np.array([[0.1, 0.4, np.nan],
                                                                                     [0.3, 0.6, 0.8]])}
    mon = widgets.TrainingMonitor.from_history(hist)
    assert mon.epochs == [1.0, 2.0, 3.0]
    assert mon.history["loss"] == pytest.approx([2.0, 1.0, 0.3])
    assert mon.history["val_r2"] == pytest.approx([0.2, 0.5, 0.8])  # NaN (stopped member) left out
    assert mon.figure.data[1].xaxis == "x2"  # R² beside the loss, not on its scale


def test_explore_gives_the_notebook_views_live_or_static():
    import plotly.graph_objects as go

    live = widgets.explore(SPECTRA, "elastic", sample=2, seed=1)
    assert isinstance(live[0], widgets.AugmentationExplorer) and isinstance(live[1], widgets.AugmentationGallery)
    fig, gallery = widgets.explore(SPECTRA, "elastic", sample=2, seed=1, interactive=False)
    assert isinstance(fig, go.Figure) and not isinstance(fig, go.FigureWidget)
    drawn = viz.draw_params(augment.get("elastic"), 1, WL)
    np.testing.assert_allclose(fig.data[1].y, _expected("elastic", {}, 2, drawn), rtol=1e-5, atol=1e-6)
    assert len(gallery.data) == 2 * len(augment.names())
    with pytest.raises(ValueError, match="augmentation must be one of"):
        widgets.explore(SPECTRA, "warp", interactive=False)
