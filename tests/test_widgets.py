"""Widgets driven in-process: sliders from specs, figure data equal to the augmentation output."""

from __future__ import annotations

import ipywidgets as W
import numpy as np
import pytest
import torch
import xarray as xr

from hsaug import augment, widgets
from hsaug.augment import preview
from conftest import wavy_spectra
from hsaug.spectra import sensor_grid, to_dataarray

WL = sensor_grid(224)


X = wavy_spectra(WL, 30)
SPECTRA = to_dataarray(X, WL)


def _expected(name: str, options: dict, row: int, params: dict) -> np.ndarray:
    """The augmentation's own output, computed without the widget."""
    aug = augment.get(name, **options).fit(X)
    return aug.apply(torch.as_tensor(X[row:row + 1]), WL, index=torch.tensor([row]), **params)[0].numpy()


@pytest.mark.parametrize("name", augment.names())
def test_sliders_follow_the_spec_and_the_figure_follows_the_sliders(name):
    ex = widgets.AugmentationExplorer(SPECTRA, name, sample=4, seed=1)
    aug = augment.get(name)
    assert list(ex.sliders) == [p.name for p in aug.params]
    for p in aug.params:
        s = ex.sliders[p.name]
        assert s.description == p.display
        if p.integer and p.high - p.low > widgets.TEXT_BOX_ABOVE:  # a seed: a text box, not a 16.7M slider
            assert isinstance(s, W.BoundedIntText) and (s.min, s.max) == (p.low, p.high)
        else:
            assert isinstance(s, W.IntSlider if p.integer else W.FloatSlider)
            assert (s.min, s.max) == pytest.approx(widgets.slider_span(p))
            assert p.low <= s.min <= min(p.default, *(p.sample_range or (p.default,)))
            assert p.high >= s.max >= max(p.default, *(p.sample_range or (p.default,)))
        assert s.value == pytest.approx(p.default)
    # neutral sliders: the augmented curve is the original
    np.testing.assert_allclose(ex.augmented(), X[4], atol=1e-6)
    # one slider set to a drawn value: the figure holds the augmentation's output for it
    drawn = preview.draw_params(aug, 7, WL)
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


def test_nearest_neighbor_stays_inside_the_spectrums_group():
    groups = ["a"] * 10 + ["b"] * 20
    da = SPECTRA.assign_coords(group=("sample", groups))
    ex = widgets.AugmentationExplorer(da, "nearest_neighbor", sample=12)
    assert ex.sliders["k"].max == 20 and "20 spectra of group" in ex.status.value
    ex.set(k=4)
    ref = torch.as_tensor(X[10:])
    d = ((ref - ref[2]) ** 2).sum(1)
    np.testing.assert_allclose(ex.augmented(), ref[torch.argsort(d)[:4]].mean(0).numpy(), rtol=1e-5, atol=1e-6)
    ex.select(sample=3)  # group a: 10 spectra, k capped
    assert ex.sliders["k"].max == 10 and ex.sliders["k"].value == 4
    usgs = widgets.load_source("usgs")
    assert usgs["group"].values[0] == str(usgs["label"].values[0]).split("_")[0]
    lone = widgets.AugmentationExplorer("usgs", "nearest_neighbor")
    lone.random_draw()  # k = 5 drawn, capped at the material's one spectrum
    assert lone.values()["k"] == 1 and "nothing to average" in lone.status.value


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
    assert ex.sliders["r"].value == 0.21  # linear slider: no snapping to a log grid (0.3 stayed 0.302 before)
    dots, line, weights, cosine, roles = ex.figure.data
    d = np.abs(np.concatenate([y, y]) - np.concatenate([y, y]).T)
    ball = (d <= 0.21) & ~np.eye(12, dtype=bool)
    np.testing.assert_array_equal(np.asarray(roles.z) == 2, ball)  # ball loss: positives are the ball
    np.testing.assert_array_equal(np.asarray(roles.z) == 1, ~ball & ~np.eye(12, dtype=bool))
    np.testing.assert_allclose(cosine.z, losses.similarity(f, 1.0).numpy(), rtol=1e-5)
    want = float(losses.contrastive_loss(f, torch.as_tensor(y), r=0.21, tau=0.2))
    assert ex.value == pytest.approx(want, rel=1e-5)
    assert f"{want:.4f}" in ex.figure.layout.title.text and f"{want:.4f}" in ex.readout.value
    # the anchor row's weights: e^{s_0j} over the negatives' sum; τ changes them, not only a colour scale
    s = losses.similarity(f, 0.2).numpy()[0]
    neg = ~ball[0] & (np.arange(12) != 0)
    np.testing.assert_allclose(weights.y, np.where(np.arange(12) == 0, 0, np.exp(s) / np.exp(s[neg]).sum()),
                               rtol=1e-4)
    before = np.array(weights.y)
    ex.set(tau=1.0)
    assert not np.allclose(ex.figure.data[2].y, before)
    assert np.asarray(ex.figure.data[3].z) == pytest.approx(np.asarray(cosine.z))  # cosine does not move
    # the anchor is a star with its own view at distance 0 (visible), and framed in the roles panel
    assert dots.marker.symbol[0] == "star" and dots.x[6] == 0.0
    ex.anchor.value = 3
    assert ex.figure.layout.shapes[0].y0 == 2.5 and "anchor 3" in ex.figure.layout.annotations[0].text
    ex.loss_choice.value = "supcon"
    assert ex.value == pytest.approx(float(losses.contrastive_loss(f, torch.as_tensor(y), r=0.21, tau=1.0,
                                                                   loss="supcon")), rel=1e-5)
    ex.loss_choice.value = "rnc"  # no ball: every j != i is a positive once
    z = np.asarray(ex.figure.data[4].z)
    assert (z[~np.eye(12, dtype=bool)] == 2).all() and "Rank-N-Contrast" in ex.readout.value
    ex.loss_choice.value = "bce"  # pairs i < j only
    z = np.asarray(ex.figure.data[4].z)
    assert (z[np.tril_indices(12)] == 0).all() and "log 2" in ex.readout.value
    ex.loss_choice.value = "ball"
    assert "can be below 0" in ex.readout.value
    with pytest.raises(ValueError, match="features must be"):
        widgets.LossExplorer(X[:6], y, WL, features=np.zeros((6, 3)))
    ex.reset_button.click()
    assert ex.sliders["r"].value == 0.25 and ex.sliders["tau"].value == 0.5


def test_loss_explorer_default_batch_is_a_synthetic_scene():
    ex = widgets.LossExplorer(n=6)
    assert ex.labels.shape == (6, 4)
    assert np.isfinite(ex.value)


def test_training_monitor_records_and_draws_each_epoch():
    mon = widgets.TrainingMonitor(title="fit")
    assert "first epoch" in mon.status.value and "first epoch" in mon.figure.layout.annotations[-1].text
    for epoch in range(1, 5):
        mon(epoch, {"train loss": 1.0 / epoch, "val R2": torch.tensor(1 - 1.0 / epoch)})
    assert mon.history["val R2"] == pytest.approx([0.0, 0.5, 2 / 3, 0.75])
    names = [t.name for t in mon.figure.data]
    assert names == ["train loss", "val R2"]
    assert all("markers" in t.mode for t in mon.figure.data)  # one epoch is a visible point
    np.testing.assert_allclose(mon.figure.data[0].y, [1.0, 0.5, 1 / 3, 0.25])
    mon.update(5, {"train loss": 0.1, "val MAE": 0.2})  # a new metric appears later
    assert [t.name for t in mon.figure.data] == ["train loss", "val R2", "val MAE"]
    assert np.isnan(mon.history["val MAE"][0]) and mon.history["val MAE"][-1] == 0.2
    assert "epoch 5" in mon.status.value
    assert mon.figure._widget_data[0]["y"] is not None and len(mon.figure._widget_data) == 3  # synced state
    assert mon.figure.layout.autosize and mon.figure.layout.width is None  # new panels keep the container's width
    with pytest.raises(ValueError, match="numbers"):
        mon.update(6, {"train loss": "low"})


def test_training_monitor_one_curve_per_configuration_and_the_weighted_term_apart():
    members = ["baseline", "baseline", "shift", "shift"]
    hist = {"loss": np.array([[1.0, 0.5], [3.0, 1.5], [1.2, 0.7], [3.2, 1.6]]),
            "mse": np.array([[1.0, 0.5], [3.0, 1.5], [1.0, 0.5], [3.0, 1.5]]),
            "contrastive": np.array([[0.0, 0.0], [0.0, 0.0], [200.0, 200.0], [200.0, 100.0]]),
            "val_mse": np.ones((4, 2)), "val_r2": np.array([[0.1, 0.4], [0.3, np.nan], [0.2, 0.5], [0.4, 0.7]]),
            "val_mae": np.ones((4, 2))}
    mon = widgets.TrainingMonitor.from_history(hist, members=members)
    assert mon.epochs == [1.0, 2.0]
    assert mon.history["train mse | baseline"] == pytest.approx([2.0, 1.0])
    assert mon.history["α · contrastive | shift"] == pytest.approx([0.2, 0.15])  # loss − mse: α applied
    assert mon.history["val R² | baseline"] == pytest.approx([0.2, 0.4])  # NaN (stopped member) left out
    by_name = {t.name: t for t in mon.figure.data}
    assert by_name["α · contrastive | shift"].xaxis == "x2" and by_name["val R² | shift"].xaxis == "x3"
    assert by_name["train mse | shift"].line.color == by_name["val R² | shift"].line.color  # one colour a config
    assert by_name["train mse | shift"].line.color != by_name["train mse | baseline"].line.color


def test_train_keeps_the_finished_epochs_on_an_interrupt(monkeypatch):
    from hsaug import training

    def fit(dataset, configs, callback, **kw):
        for epoch in (1, 2):
            callback(epoch, {"loss": np.array([1.0, 1.1]), "mse": np.array([1.0, 1.0]),
                             "contrastive": np.array([0.0, 100.0]), "val_mse": np.ones(2),
                             "val_r2": np.array([0.5, 0.6]), "val_mae": np.ones(2)})
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "fit", fit)
    mon = widgets.TrainingMonitor(members=["baseline", "shift"])
    kept = widgets.train(None, [None, None], monitor=mon)
    assert kept.attrs["interrupted"] == 1 and list(kept["epoch"].values) == [1.0, 2.0]
    assert kept["val_R²-shift"].values.tolist() == [0.6, 0.6]


def test_explore_gives_the_notebook_views_live_or_static():
    import plotly.graph_objects as go

    live = widgets.explore(SPECTRA, "elastic", sample=2, seed=1)
    assert isinstance(live[0], widgets.AugmentationExplorer) and isinstance(live[1], widgets.AugmentationGallery)
    fig, gallery = widgets.explore(SPECTRA, "elastic", sample=2, seed=1, interactive=False)
    assert isinstance(fig, go.Figure) and not isinstance(fig, go.FigureWidget)
    drawn = preview.draw_params(augment.get("elastic"), 1, WL)
    np.testing.assert_allclose(fig.data[1].y, _expected("elastic", {}, 2, drawn), rtol=1e-5, atol=1e-6)
    assert fig.data[2].visible and len(fig.data[3].x) == 3  # ε(λ) and the kernel centres are drawn
    assert len(gallery.data) == 2 * len(augment.names())
    with pytest.raises(ValueError, match="augmentation must be one of"):
        widgets.explore(SPECTRA, "warp", interactive=False)


def test_synced_state_holds_every_update_for_new_views():
    """A page reload, a second view or Voilà render from the synced state: it must follow the kernel."""
    ex = widgets.AugmentationExplorer(SPECTRA, "shift", sample=1)
    ex.set(delta=20.0)
    data, layout = ex.figure._widget_data, ex.figure._widget_layout
    np.testing.assert_allclose(np.asarray(data[1]["y"], dtype=float), ex.augmented())
    assert layout["title"]["text"] == ex.figure.layout.title.text and "Δ = 20 nm" in layout["title"]["text"]
    assert "width" not in layout or layout["width"] is None  # the container sets the width
    g = widgets.AugmentationGallery(picker=ex.picker, seed=0)
    g.random_draw()
    np.testing.assert_allclose(np.asarray(g.figure._widget_data[3]["y"], dtype=float), g.figure.data[3].y)
    assert g.figure._widget_layout["annotations"][0]["text"] == g.figure.layout.annotations[0].text
    loss = widgets.LossExplorer(n=4)
    loss.set(tau=0.1)
    assert loss.figure._widget_layout["title"]["text"] == loss.figure.layout.title.text


def test_controls_explain_themselves():
    ex = widgets.AugmentationExplorer(SPECTRA, "scattering")
    assert ex.notes["mu1"].value.endswith("θ = 30.0°</small>")  # the neutral cos 30°
    assert ex.sliders["mu1"].step == 0.001 and ex.sliders["mu1"].readout_format == ".3f"
    assert "eqs. 3–4" in ex.equation.value and "incidence" in ex.help.value
    ex.set(mu1=0.5)
    assert "θ = 60.0°" in ex.notes["mu1"].value and "μ1 = 0.5 (60°)" in ex.figure.layout.title.text
    ex.select("atmospheric")
    assert "calibration panel" in ex.help.value and "eq. 5" in ex.equation.value
    ex.select("elastic")
    assert "shorter wavelengths" in ex.help.value  # the sign of A against Δ, said in words
    ex.set(A_1=5.0, A_2=-3.0, A_3=2.0)
    title = ex.figure.layout.title.text
    assert "A = (5, −3, 2) nm" in title and "λ = (750, 1450, 2150) nm" in title and "σ = 100 nm" in title
    eps = preview.marks(ex.augmentation, WL, ex.values())["displacement"]
    np.testing.assert_allclose(ex.figure.data[2].y, eps)
    assert list(ex.figure.data[3].x) == [750.0, 1450.0, 2150.0] and ex.figure.data[2].visible
    ex.select("band_erasure")
    ex.set(fraction=0.2, position=0.5)
    assert not ex.figure.data[2].visible and len(ex.figure.layout.shapes) == 1  # one shaded erased run
    assert ex.figure.layout.shapes[0].path.count("Z") == 1
    ex.select("band_permutation")
    assert isinstance(ex.sliders["seed"], W.BoundedIntText)
    ex.paper()
    moved = preview.marks(ex.augmentation, WL, ex.values())["moved"]
    shaded, ticks = ex.figure.layout.shapes  # moved blocks shaded (one path), block edges ticked
    assert shaded.path.count("Z") == len(moved) > 0 and ticks.path.count("M") == 224 // 20 - 1


def test_slider_spans_widen_and_kernels_stay_in_wavelength_order():
    ex = widgets.AugmentationExplorer(SPECTRA, "shift")
    assert (ex.sliders["delta"].min, ex.sliders["delta"].max) == (-50.0, 50.0)
    ex.set(delta=150.0)  # outside the span, inside the spec: the slider widens
    assert ex.sliders["delta"].value == 150.0 and ex.sliders["delta"].max == 150.0
    ex.full_ranges.value = True
    assert (ex.sliders["delta"].min, ex.sliders["delta"].max) == (-200.0, 200.0)
    assert ex.values()["delta"] == 150.0
    el = widgets.AugmentationExplorer(SPECTRA, "elastic", options={"n_kernels": 2})
    el.set(A_2=7.0)
    before = el.augmented().copy()
    el.options["n_kernels"].value = 4
    lams = [el.values()[f"lambda_{i}"] for i in range(1, 5)]
    assert lams == sorted(lams)
    np.testing.assert_allclose(el.augmented(), before, rtol=1e-5, atol=1e-6)  # added kernels start at A = 0


def test_reset_paper_preset_and_export(tmp_path):
    ex = widgets.AugmentationExplorer(SPECTRA, "shift", seed=2)
    first = ex.random_draw()
    ex.random_draw()
    ex.reset()
    np.testing.assert_allclose(ex.augmented(), X[0], atol=1e-6)
    assert ex.random_draw() == first  # reset restarts the seeded sequence
    assert ex.paper() == {"delta": preview.PAPER_FIG2["shift"]["delta"]}
    paths = ex.export(tmp_path)
    import pandas as pd

    table = pd.read_csv(paths["csv"], comment="#")
    assert list(table.columns) == ["wavelength_nm", "original", "augmented"]
    np.testing.assert_allclose(table["augmented"], ex.augmented(), rtol=1e-6)
    header = paths["csv"].read_text().splitlines()[:4]
    assert header[0] == "# augmentation: shift (eq. 1 x̃(λ) = x(λ − Δ))" and "# delta: 20 nm" in header
    svg = paths["svg"].read_text()
    assert svg.startswith("<svg") and svg.count("<polyline") == 2 and "Δ = 20 nm" in svg
    assert "cdn.plot.ly" in paths["html"].read_text()
    ex.export_button.click()
    assert "data:text/csv;base64," in ex.downloads.value and "image/svg+xml" in ex.downloads.value


def test_gallery_follows_the_explorers_spectrum_and_names_every_parameter():
    ex, g = widgets.explore(SPECTRA, "shift", seed=0)
    assert g.picker is ex.picker
    ex.select(sample=5)
    np.testing.assert_allclose(g.figure.data[0].y, X[5])
    titles = [a.text for a in g.figure.layout.annotations]
    assert "A = (" in titles[4] and "σ =" in titles[4] and "seed =" in titles[6]
    g.paper()
    assert g.params["band_erasure"]["fraction"] == 0.1 and g.params["nearest_neighbor"]["k"] == 5
    g.seed.value = 7
    again = dict(g.params)
    g.reset()
    assert g.params == again


@pytest.mark.parametrize("make", [lambda: widgets.IlluminationExplorer(SPECTRA, sample=1),
                                  lambda: widgets.LossExplorer(X[:6], np.linspace(0, 1, 6), WL)],
                         ids=["illumination", "loss"])
def test_set_moves_several_sliders_and_redraws_once(make):
    ex = make()
    calls = []
    draw = ex.redraw
    ex.redraw = lambda: calls.append(1) or draw()
    title = ex.figure.layout.title.text
    first, second = list(ex.sliders)[:2]
    want = {first: ex.sliders[first].max, second: ex.sliders[second].min}
    ex.set(**want)
    assert len(calls) == 1 and {k: ex.values()[k] for k in want} == pytest.approx(want)
    assert ex.figure.layout.title.text != title  # the one redraw saw both values
    ex.sliders[first].value = ex.sliders[first].min  # a slider moved by hand still redraws
    assert len(calls) == 2
    with pytest.raises(ValueError, match=r"unknown slider\(s\) \['nope'\]"):
        ex.set(nope=1.0)
    assert len(calls) == 2


def test_paper_setting_is_the_fig2_table_inside_what_the_augmentation_takes():
    for name in augment.names():
        aug = preview.prepare(name, X)
        got = preview.paper_setting(aug)
        assert list(got) == [p.name for p in aug.params]
        for k, v in got.items():
            assert v == pytest.approx(preview.PAPER_FIG2.get(name, {}).get(k, aug.spec(k).default))
    few = preview.prepare("nearest_neighbor", X[:3])  # k = 5 of Fig. 2, three spectra to average
    assert preview.paper_setting(few) == {"k": 3.0}
