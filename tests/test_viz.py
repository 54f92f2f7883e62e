"""Static plotly figures of hsaug.viz: traces hold what the augmentations compute."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hsaug import augment, viz
from hsaug.augment import preview
from conftest import wavy_spectra
from hsaug.spectra import sensor_grid

WL = sensor_grid(224)


X = wavy_spectra(WL, 12)


def test_spectrum_figure_has_original_and_augmented_traces():
    fig = viz.spectrum_figure(WL, X[0], X[1], title="t")
    assert [tr.name for tr in fig.data] == ["original", "augmented"]
    np.testing.assert_allclose(fig.data[0].y, X[0], rtol=1e-6)
    np.testing.assert_allclose(fig.data[1].y, X[1], rtol=1e-6)
    assert fig.layout.xaxis.title.text == "wavelength [nm]"
    empty = viz.spectrum_figure(WL, X[0])
    assert len(empty.data) == 2 and len(empty.data[1].y) == 0


def test_spectrum_figure_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="original must have one value per band"):
        viz.spectrum_figure(WL, X[0, :100])
    with pytest.raises(ValueError, match="augmented"):
        viz.spectrum_figure(WL, X[0], X[1, :10])


@pytest.mark.parametrize("name", augment.names())
def test_augmentation_figure_plots_the_augmentation_output(name):
    aug = preview.prepare(name, X)
    params = preview.draw_params(aug, seed=3, wavelength=WL)
    fig = viz.augmentation_figure(aug, X[2], WL, params, index=2)
    expected = augment.get(name).fit(X)
    want = expected.apply(torch.as_tensor(X[2:3]), WL, index=torch.tensor([2]), **params)[0].numpy()
    np.testing.assert_allclose(fig.data[1].y, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fig.data[0].y, X[2], rtol=1e-6)
    assert name in fig.layout.title.text


def test_neutral_params_give_identical_curves():
    fig = viz.gallery_figure(X[0], WL, reference=X, index=0,
                             params={n: preview.prepare(n, X).neutral() for n in augment.names()})
    assert len(fig.data) == 2 * len(augment.names())
    for orig, aug in zip(fig.data[::2], fig.data[1::2]):
        np.testing.assert_allclose(aug.y, orig.y, rtol=1e-5, atol=1e-6)


def test_gallery_shows_every_augmentation_with_a_visible_change():
    fig = viz.gallery_figure(X[0], WL, reference=X, index=0, seed=1)
    titles = [a.text for a in fig.layout.annotations]
    assert [t.split("<br>")[0].split(" (")[0] for t in titles] == [n.replace("_", " ") for n in augment.names()]
    assert "(eq. 1)" in titles[0] and "Δ = " in titles[0] and "nm" in titles[0]
    assert "width" not in fig.layout or fig.layout.width is None  # the container sets the width
    changed = [not np.allclose(a.y, o.y, atol=1e-4) for o, a in zip(fig.data[::2], fig.data[1::2])]
    assert sum(changed) >= len(augment.names()) - 1, changed  # a random draw changes (almost) every panel
    # seeded: the same seed redraws the same figure, another seed another one
    again = viz.gallery_figure(X[0], WL, reference=X, index=0, seed=1)
    other = viz.gallery_figure(X[0], WL, reference=X, index=0, seed=2)
    assert all(np.array_equal(a.y, b.y) for a, b in zip(fig.data, again.data))
    assert not all(np.array_equal(a.y, b.y) for a, b in zip(fig.data, other.data))


def test_gallery_checks_its_arguments():
    with pytest.raises(ValueError, match="at least one"):
        viz.gallery_figure(X[0], WL, [])
    with pytest.raises(ValueError, match="cols"):
        viz.gallery_figure(X[0], WL, ["shift"], cols=0)
    with pytest.raises(ValueError, match="unknown augmentation"):
        viz.gallery_figure(X[0], WL, ["nope"])


def test_apply_one_wants_a_single_spectrum():
    with pytest.raises(ValueError, match="one spectrum"):
        preview.apply_one(augment.get("shift"), X[:2], WL, {"delta": 1.0})
    with pytest.raises(ValueError, match="must match"):
        preview.apply_one(augment.get("shift"), X[0], WL[:-1], {"delta": 1.0})


def test_prepare_rejects_config_on_an_instance_and_other_types():
    with pytest.raises(ValueError, match="only applies"):
        preview.prepare(augment.get("shift"), delta=1.0)
    with pytest.raises(ValueError, match="augmentation must be"):
        preview.prepare(3)


def test_format_params_uses_labels_units_angles_and_families():
    aug = augment.get("shift")
    assert viz.format_params(aug, {"delta": 12.5}) == "Δ = 12.5 nm"
    assert viz.format_params(aug, {"delta": -145.25}) == "Δ = −145 nm"
    el = augment.get("elastic", n_kernels=2)
    p = {"A_1": 5.0, "A_2": -2.5, "lambda_1": 900.0, "lambda_2": 1800.0, "sigma": 60.0}
    assert viz.format_params(el, p, limit=None) == "A = (5, −2.5) nm, λ = (900, 1800) nm, σ = 60 nm"
    assert viz.format_params(el, p, limit=2) == "A = (5, −2.5) nm, λ = (900, 1800) nm, …"
    sc = augment.get("scattering")
    assert viz.format_params(sc, {"mu1": 0.5, "mu2": 1.0}) == "μ1 = 0.5 (60°), μ2 = 1 (0°)"


def test_illumination_figure():
    sun, sky = np.linspace(1, 2, WL.size), np.linspace(0.5, 0.1, WL.size)
    fig = viz.illumination_figure(WL, sun, sky, X[0], X[0] * 0.9, radiance=X[0] * 30)
    assert [t.name for t in fig.data] == ["E_sun (direct normal)", "E_sky (diffuse)", "reflected radiance",
                                          "reflectance", "eq. 5 (μ1, μ2)"]
    np.testing.assert_allclose(fig.data[4].y, X[0] * 0.9, rtol=1e-6)
    assert len(viz.illumination_figure(WL, sun, sky).data) == 2
    with pytest.raises(ValueError, match="e_sky"):
        viz.illumination_figure(WL, sun, sky[:5])


def test_loss_figure_marks_the_anchor_its_positives_and_the_roles():
    from hsaug.widgets import pair_roles

    y = np.array([[0.0, 0.0], [0.05, 0.0], [0.5, 0.5], [0.0, 0.9]])
    y2 = np.concatenate([y, y])
    roles = pair_roles("ball", y2, 0.1)
    w = np.linspace(0, 1, 8)
    fig = viz.loss_figure(y, np.eye(8), roles, radius=0.1, anchor=0, loss=1.25, weights=w, tau=0.5)
    assert "1.2500" in fig.layout.title.text and "τ = 0.50" in fig.layout.annotations[1].text and "anchor 0" in fig.layout.annotations[0].text
    dots, line, bars, cosine, heat = fig.data
    np.testing.assert_allclose(dots.x, np.linalg.norm(y2 - y2[0], axis=1))
    assert list(dots.y) == ["0", "1", "2", "3", "0′", "1′", "2′", "3′"]
    assert dots.marker.symbol[0] == "star"
    red = [c == viz.AUGMENTED for c in dots.marker.color]
    assert red == [False, True, False, False, True, True, False, False]  # 1, its view 1′ and the anchor's view 0′
    assert list(line.x) == [0.1, 0.1]
    np.testing.assert_allclose(bars.y, w)
    assert (cosine.zmin, cosine.zmax) == (-1, 1)  # a fixed scale: τ does not hide in the colour bar
    np.testing.assert_array_equal(heat.z, roles.astype(float))
    assert fig.layout.shapes[0].y0 == -0.5 and fig.layout.shapes[0].y1 == 0.5  # the anchor's row framed
    with pytest.raises(ValueError, match="roles"):
        viz.loss_figure(y, np.eye(8), roles[:4, :4])
    with pytest.raises(ValueError, match="labels"):
        viz.loss_figure(y[:3], np.eye(8), roles)
    with pytest.raises(ValueError, match="anchor"):
        viz.loss_figure(y, np.eye(8), roles, anchor=9)


def test_explorer_figure_marks_and_svg():
    aug = augment.get("band_erasure")
    fig = viz.augmentation_figure(aug, X[0], WL, {"fraction": 0.1, "position": 0.0})
    assert len(fig.layout.shapes) == 1 and float(fig.layout.shapes[0].path[1:].split(",")[0]) < WL[0]  # run at start
    assert "erased" in fig.layout.annotations[0].text
    svg = viz.to_svg(fig, title="band erasure<br>spectrum 0")
    assert svg.count("<polyline") == 2 and "spectrum 0" in svg
    with pytest.raises(ValueError, match="no line"):
        viz.to_svg(viz.curves_figure({}))


def test_training_figure_splits_losses_from_metrics():
    fig = viz.training_figure({"train loss": [3, 2, 1], "val R2": [0.1, 0.5]})
    assert [t.name for t in fig.data] == ["train loss", "val R2"]
    assert fig.data[0].xaxis == "x" and fig.data[1].xaxis == "x2"
    np.testing.assert_array_equal(fig.data[1].x, [1, 2])
    one = viz.training_figure({"R2": [0.1]})
    assert len(one.data) == 1 and "xaxis2" not in one.layout


def test_format_params_wraps_long_subtitles():
    el = augment.get("elastic")
    p = {"A_1": 5.44, "A_2": 4.87, "A_3": 1.89, "lambda_1": 2264.5, "lambda_2": 1347.2, "lambda_3": 2078.5,
         "sigma": 47.0}
    lines = viz.format_params(el, p, limit=None, line_chars=26).split("<br>")
    assert lines == ["A = (5.44, 4.87, 1.89) nm", "λ = (2264, 1347, 2078) nm", "σ = 47 nm"]


def test_preview_marks_say_where_the_change_happens():
    erase = augment.get("band_erasure")
    marks = preview.marks(erase, WL, {"fraction": 0.1, "position": 0.5})
    (lo, hi), = marks["erased"]
    out = preview.apply_one(erase, X[0], WL, {"fraction": 0.1, "position": 0.5})
    changed = WL[out != X[0]]
    assert lo < changed.min() and changed.max() < hi
    perm = augment.get("band_permutation")
    p = {"block": 20.0, "share": 0.3, "seed": 5.0}
    marks = preview.marks(perm, WL, p)
    out = preview.apply_one(perm, X[0], WL, p)
    moved = WL[out != X[0]]
    assert all(any(a < w < b for a, b in marks["moved"]) for w in moved)
    assert len(marks["blocks"]) == 224 // 20 - 1
    el = augment.get("elastic", n_kernels=1)
    marks = preview.marks(el, WL, {"A_1": 8.0, "lambda_1": 1000.0, "sigma": 50.0})
    assert marks["displacement"].max() == pytest.approx(8.0, rel=1e-2) and marks["centres"] == [(1000.0, 8.0)]
    assert preview.marks(augment.get("shift"), WL, {"delta": 3.0}) == {}


def test_preview_words_and_kernel_order():
    assert preview.equation("shift") == ("eq. 1", "x̃(λ) = x(λ − Δ)")
    sc = augment.get("scattering")
    assert preview.is_cosine(sc.spec("mu1")) and not preview.is_cosine(augment.get("shift").spec("delta"))
    assert preview.angle_deg(0.5) == pytest.approx(60.0)
    assert "incidence" in preview.role(sc, sc.spec("mu1"))
    out = preview.kernel_order({"A_1": 1.0, "A_2": 2.0, "lambda_1": 900.0, "lambda_2": 500.0, "sigma": 9.0})
    assert out == {"A_1": 2.0, "A_2": 1.0, "lambda_1": 500.0, "lambda_2": 900.0, "sigma": 9.0}
    lines, rows = preview.table(WL, X[0], X[1], sc, {"mu1": 0.5}, source="test")
    assert "mu1: 0.5 (θ = 60.00°)" in lines and lines[-1] == "source: test" and rows.shape == (224, 3)


def test_sources_group_materials_and_radiance():
    from hsaug.illumination import surface_radiance
    from hsaug.sources import load_source, reference_rows

    from hsaug.spectra import to_dataarray

    da = load_source(to_dataarray(X, WL).assign_coords(group=("sample", ["a", "b"] * 6)))
    rows, row = reference_rows(da, 5)
    assert list(rows) == [1, 3, 5, 7, 9, 11] and row == 2
    with pytest.raises(ValueError, match="row must be"):
        reference_rows(da, 12)
    sun, sky = np.full(224, 1.5), np.full(224, 0.2)
    np.testing.assert_allclose(surface_radiance(X[0], sun, sky, 60.0), X[0] * (0.75 + 0.2) / np.pi, rtol=1e-6)
    with pytest.raises(ValueError, match="zenith"):
        surface_radiance(X[0], sun, sky, 95.0)
