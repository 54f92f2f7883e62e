"""Test-time nuisances and the robustness protocol: identity at zero, no leakage, resuming."""

import json

import numpy as np
import pytest
import torch

from hsaug import augment, experiments, nuisances, splits, stats, synthetic, training
from hsaug.experiments import runner
from hsaug.config import Config, TrainSettings

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def scene():
    return synthetic.make_scene("paper", n_rows=15, n_cols=15, seed=0)


TINY = dict(progress=False)


def tiny(seeds, **kw):
    """Tiny training settings: ``seeds`` seeds, 2 epochs of batches of 16."""
    return TrainSettings(seeds=seeds, **{"epochs": 2, "batch_size": 16, **kw})
METHODS = [Config.baseline("mlp"), Config("shift", alpha=0.0, mse_on_views=True, name="mlp + aug"),
           Config("shift", name="ball")]


# -- nuisances -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hard_scene():
    return synthetic.make_scene("hard", n_rows=8, n_cols=8, seed=0)  # holds illite: every nuisance runs


@pytest.mark.parametrize("name", nuisances.names())
def test_every_nuisance_is_the_identity_at_zero_and_finite_over_its_sweep(scene, hard_scene, name):
    if nuisances.missing_requirement(scene, name):
        scene = hard_scene
    x = torch.as_tensor(scene["spectra"].values[:40])
    assert torch.equal(nuisances.perturb(scene, name, 0.0, rows=range(40), seed=3), x)
    for s in nuisances.get(name).strengths[1:]:
        out = nuisances.perturb(scene, name, s, rows=range(40), seed=3)
        assert out.shape == x.shape and out.dtype == torch.float32 and torch.isfinite(out).all()
        assert not torch.equal(out, x), f"{name} at {s} changed nothing"


def test_nuisances_are_the_augmentations_with_fixed_parameters(scene):
    x = torch.as_tensor(scene["spectra"].values[:10])
    wl = torch.tensor(scene["wavelength"].values, dtype=torch.float32)
    assert torch.equal(nuisances.perturb(scene, "calibration_shift", 5.0, rows=range(10)),
                       augment.get("shift").apply(x, wl, delta=5.0))
    mu = float(np.cos(np.radians(30 + 20)))
    assert torch.equal(nuisances.perturb(scene, "geometry", 20.0, rows=range(10)),
                       augment.get("scattering").apply(x, wl, mu1=mu, mu2=mu))
    lit = augment.get("atmospheric").apply(x, wl, mu1=float(np.cos(np.radians(45))), mu2=1.0)
    assert torch.equal(nuisances.perturb(scene, "illumination", 45.0, rows=range(10)), lit)


def test_random_nuisances_are_seeded_and_scale_one_draw(scene):
    x = torch.as_tensor(scene["spectra"].values)
    for name in ("noise", "endmember_variability"):
        a = nuisances.perturb(scene, name, 0.1, seed=1)
        assert torch.equal(a, nuisances.perturb(scene, name, 0.1, seed=1))
        assert not torch.equal(a, nuisances.perturb(scene, name, 0.1, seed=2))
    # noise: one draw scaled by the strength; its std is that fraction of the spectra's RMS
    d1 = nuisances.perturb(scene, "noise", 0.1, seed=1) - x
    d2 = nuisances.perturb(scene, "noise", 0.2, seed=1) - x
    torch.testing.assert_close(d2, 2 * d1, rtol=1e-4, atol=1e-6)
    assert float(d1.std()) == pytest.approx(0.1 * float(x.square().mean().sqrt()), rel=0.02)


def test_endmember_variability_remixes_scaled_endmembers():
    lin = synthetic.make_scene("paper", n_rows=6, n_cols=6, mixing="linear", snr_db=None, seed=2)
    out = nuisances.perturb(lin, "endmember_variability", 0.2, seed=4).double().numpy()
    a, m = lin["target"].values, lin["endmembers"].values
    # linear mixing: x' = sum_k a_k psi_k M_k with psi = 1 + 0.2 N(0, 1) per pixel and endmember
    psi = np.linalg.lstsq(m.T, out.T, rcond=None)[0].T / a
    assert np.allclose(a * psi @ m, out, atol=1e-5)
    assert 0.1 < psi.std() < 0.3 and abs(psi.mean() - 1) < 0.1


def test_requirements_and_bad_input(scene):
    absorb = scene.assign_attrs(quantity="absorbance")
    assert "reflectance" in nuisances.missing_requirement(absorb, "illumination")
    assert nuisances.missing_requirement(scene, "illumination") is None
    plain = scene.drop_vars("endmembers")
    assert "synthetic scene" in nuisances.missing_requirement(plain, "endmember_variability")
    with pytest.raises(ValueError, match="needs a synthetic scene"):
        nuisances.perturb(plain, "endmember_variability", 0.1)
    with pytest.raises(ValueError, match=r"unknown nuisance 'fog'; known: \['calibration_shift'"):
        nuisances.get("fog")
    with pytest.raises(ValueError, match=r"strength of illumination must be in \[0, 87\] deg; got 95"):
        nuisances.perturb(scene, "illumination", 95)
    with pytest.raises(ValueError, match="strength of noise"):
        nuisances.perturb(scene, "noise", float("nan"))


# -- the protocol --------------------------------------------------------------------------------
def test_splits_are_nested_and_never_touch_test_or_validation_rows():
    parts = splits.robustness_splits(1000, [50, 200, None], split_seed=3)
    assert list(parts) == [50, 200, 800]
    test, val = set(parts[800]["test"]), set(parts[800]["val"])
    previous: set = set()
    for size, part in parts.items():
        train = set(part["train"])
        assert len(train) == size and not train & test and not train & val and previous <= train
        assert set(part["test"]) == test and set(part["val"]) == val
        previous = train
    with pytest.raises(ValueError, match="train_sizes must be from 1 to the 800"):
        splits.robustness_splits(1000, [900])


def test_protocol_trains_only_on_training_rows_and_zero_strength_is_the_clean_score(scene, tmp_path,
                                                                                   monkeypatch):
    seen = []
    monkeypatch.setattr(runner, "fit", lambda *a, **k: seen.append(k["settings"].split) or training.fit(*a, **k))
    res = experiments.robustness(scene, methods=METHODS, train_sizes=(40, None), settings=tiny(2),
                                 results_dir=tmp_path, strengths={"noise": (0.0, 0.1), "calibration_shift": (0.0, 10.0)}, **TINY)
    assert list(res["method"].values) == ["mlp", "mlp + aug", "ball", "ridge", "pls"]
    assert list(res["train_size"].values) == [40, 181] and res.sizes["seed"] == 2
    test = set(splits.robustness_splits(225, [None])[181]["test"])
    assert len(seen) == 2 and all(not set(s["train"]) & test for s in seen)
    assert sorted(len(s["train"]) for s in seen) == [40, 181]
    r2 = res["r2"].values
    assert np.isfinite(r2).all()
    assert res["nuisance"].values[0] == "clean"
    for c in np.flatnonzero(res["strength"].values == 0):  # every sweep starts at the clean score
        np.testing.assert_array_equal(r2[..., c], r2[..., 0])
    # ... which is the score fit() itself reported on the same test rows
    for path in (tmp_path / "robustness").glob("*.json"):
        stored = json.loads(path.read_text())
        run, size = stored["result"], len(stored["config"]["train"]["split"]["train"])
        m, k = ["mlp", "mlp + aug", "ball"].index(run["config"]["name"]), [40, 181].index(size)
        assert run["metrics"]["test_r2"] == pytest.approx(r2[m, k, run["seed"], 0], abs=1e-6)
    # a real nuisance moves the score
    assert not np.array_equal(r2[..., -1], r2[..., 0])
    table = experiments.robustness_summary(res)
    assert len(table) == 5 * 2 * res.sizes["cell"] and {"r2_mean", "r2_ci", "mae_mean"} <= set(table.columns)


def test_protocol_resumes_after_an_interruption_without_recomputing(scene, tmp_path, monkeypatch):
    kw = dict(methods=METHODS, train_sizes=(40, None), settings=tiny([0, 1]), nuisances=["noise"], members_per_fit=2,
              **TINY)
    calls = []

    def interrupted(*a, **k):
        if len(calls) == 2:
            raise KeyboardInterrupt  # the user stops it after two ensembles
        calls.append(k)
        return training.fit(*a, **k)

    monkeypatch.setattr(runner, "fit", interrupted)
    with pytest.raises(KeyboardInterrupt):
        experiments.robustness(scene, results_dir=tmp_path, **kw)
    assert len(list((tmp_path / "robustness").glob("*.json"))) == 4  # two ensembles of two members kept
    calls.clear()
    monkeypatch.setattr(runner, "fit", lambda *a, **k: calls.append(k) or training.fit(*a, **k))
    resumed = experiments.robustness(scene, results_dir=tmp_path, **kw)
    members = sum(len(c["configs"]) * len(c["settings"].seeds) for c in calls)
    assert members == 3 * 2 * 2 - 4  # only what was missing
    fresh = experiments.robustness(scene, results_dir=tmp_path / "fresh", **kw)
    np.testing.assert_array_equal(resumed["r2"].values, fresh["r2"].values)
    calls.clear()
    experiments.robustness(scene, results_dir=tmp_path, **kw)
    assert calls == []


def test_unsupported_nuisances_are_skipped_with_the_reason(scene):
    absorb = scene.assign_attrs(quantity="absorbance").drop_vars("endmembers")
    res = experiments.robustness(absorb, methods=METHODS[:1], linear=(), train_sizes=(None, 5000), settings=tiny(1),
                                 strengths={"noise": (0.0, 0.05)}, **TINY)
    skipped = json.loads(res.attrs["skipped"])
    needing = {n for n in nuisances.names() if nuisances.get(n).needs}  # reflectance or a scene
    assert {"illumination", "geometry", "endmember_variability"} <= needing
    assert set(skipped) == needing
    assert "reflectance" in skipped["illumination"]
    assert set(res["nuisance"].values) == {"clean", *(set(nuisances.names()) - needing)}
    assert "5000" in json.loads(res.attrs["notes"])[0]


def test_bad_protocol_input(scene):
    with pytest.raises(ValueError, match="strengths given for nuisances not run"):
        experiments.robustness(scene, nuisances=["noise"], strengths={"geometry": [0, 10]}, **TINY)
    with pytest.raises(ValueError, match=r"strengths of noise must be numbers in \[0, 10\]"):
        experiments.robustness(scene, strengths={"noise": [-1]}, **TINY)
    with pytest.raises(ValueError, match="distinct names"):
        experiments.robustness(scene, methods=[Config("shift"), Config("shift")], **TINY)
    with pytest.raises(ValueError, match="unknown nuisance"):
        experiments.robustness(scene, nuisances=["fog"], **TINY)
    with pytest.raises(ValueError, match="train_sizes must include None or a size up to the 181"):
        experiments.robustness(scene, train_sizes=(5000,), **TINY)


def test_default_methods_cover_the_issue():
    names = [c.label for c in experiments.robustness_methods()]
    assert names[:2] == ["mlp", "mlp + aug"]
    assert {"ball α=0.001 r=0.03", "supcon α=0.001 r=0.03", "bce α=0.001 r=0.03", "rnc α=0.001 r=0.03",
            "ball α=1 r=0.3"} <= set(names)
    assert len(names) == len(set(names)) == 2 + 4 + 7


def test_summary_and_paired_effects_by_hand():
    import xarray as xr

    r2 = np.zeros((2, 1, 3, 2))
    r2[0, 0, :, 0] = [0.5, 0.6, 0.7]  # "mlp" clean
    r2[1, 0, :, 0] = [0.6, 0.7, 0.8]  # "ball" clean: +0.1 on every seed
    r2[0, 0, :, 1] = [0.1, 0.2, 0.3]
    r2[1, 0, :, 1] = [0.1, 0.3, 0.2]
    res = xr.Dataset({"r2": (("method", "train_size", "seed", "cell"), r2),
                      "mae": (("method", "train_size", "seed", "cell"), np.ones_like(r2))},
                     coords={"method": ["mlp", "ball"], "train_size": [10], "seed": [0, 1, 2], "cell": [0, 1],
                             "nuisance": ("cell", ["clean", "noise"]), "strength": ("cell", [0.0, 0.1])})
    table = experiments.robustness_summary(res)
    row = table[(table.method == "mlp") & (table.nuisance == "clean")].iloc[0]
    # t(0.975, 2) = 4.3027; std 0.1; interval 4.3027 * 0.1 / sqrt(3)
    assert row.r2_mean == pytest.approx(0.6) and row.r2_ci == pytest.approx(4.302653 * 0.1 / np.sqrt(3), rel=1e-5)
    eff = experiments.robustness_effects(res, "ball", "mlp")
    clean, noise = eff.iloc[0], eff.iloc[1]
    assert clean.delta_r2 == pytest.approx(0.1) and clean.ci == pytest.approx(0.0, abs=1e-12) and clean.significant
    assert noise.delta_r2 == pytest.approx(0.0, abs=1e-12) and not noise.significant
    with pytest.raises(ValueError, match="not in this result"):
        experiments.robustness_effects(res, "rnc")


def test_figures_draw_one_curve_per_method_and_panel_per_nuisance(scene):
    from hsaug import viz

    res = experiments.robustness(scene, methods=METHODS[:2], train_sizes=(40, None), settings=tiny(2),
                                 nuisances=["noise", "calibration_shift"], **TINY)
    fig = viz.robustness_figure(res)
    assert len(fig.data) == 4 * 2  # 4 methods (2 MLPs, ridge, PLS) x 2 nuisances
    assert {a.text for a in fig.layout.annotations} == {"noise", "calibration_shift"}
    noise = [t for t in fig.data if t.name == "ridge"][0]
    assert list(noise.x) == list(nuisances.get("noise").strengths)
    sizes = viz.training_size_figure(res, methods=["mlp", "ridge"])
    assert [t.name for t in sizes.data] == ["mlp", "ridge"] and list(sizes.data[0].x) == [40, 181]
    with pytest.raises(ValueError, match="not in this result"):
        viz.robustness_figure(res, methods=["rnc"])
    with pytest.raises(ValueError, match="train_size must be one of"):
        viz.robustness_figure(res, train_size=7)


def test_identical_scores_have_an_interval_of_exactly_zero():
    same = np.full((1, 5), 0.1 + 0.2)  # float noise in the mean must not give a 1e-17 "interval"
    assert stats.t_half_width(same, 0.95)[0] == 0.0


def test_main_methods_keep_one_point_of_the_alpha_r_grid():
    import xarray as xr

    names = [c.label for c in experiments.robustness_methods()] + ["ridge", "pls"]
    res = xr.Dataset(coords={"method": names})
    main = experiments.robustness_main_methods(res)
    assert main == ["mlp", "mlp + aug", "ball α=0.001 r=0.03", "supcon α=0.001 r=0.03", "bce α=0.001 r=0.03",
                    "rnc α=0.001 r=0.03", "ridge", "pls"]
    assert "ball α=0.1 r=0.3" in experiments.robustness_main_methods(res, also=["ball α=0.1 r=0.3"])
