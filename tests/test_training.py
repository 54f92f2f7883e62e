"""Training: metrics, splits, determinism, ensemble = alone, early stopping, results, bad input."""

import json

import numpy as np
import pytest
import torch
import xarray as xr
from sklearn.metrics import mean_absolute_error
from sklearn.metrics import r2_score as sk_r2

from hsaug import augment
from hsaug.spectra import make_dataset, sensor_grid
from hsaug.baselines import fit_baselines
from hsaug.config import Config
from hsaug.metrics import mae, mae_summed, r2_score
from hsaug.results import HISTORY_KEYS, save_result
from hsaug.splits import member_generators, split_indices
from hsaug.training import augment_members, fit


pytestmark = pytest.mark.usefixtures("one_thread")


def scene(n=150, bands=48, seed=0):
    """Post-nonlinear mixtures of 3 smooth endmembers, Dirichlet(1) abundances, a little noise."""
    rng = np.random.default_rng(seed)
    wl = sensor_grid(bands)
    t = (wl - wl[0]) / (wl[-1] - wl[0])
    em = np.stack([0.1 + 0.3 * t, 0.45 - 0.3 * t, 0.2 + 0.15 * np.sin(6 * t)])
    ab = rng.dirichlet(np.ones(3), n)
    lin = ab @ em
    x = lin + lin * lin + 0.005 * rng.standard_normal((n, bands))
    return make_dataset(x, ab, wl, outputs=["a", "b", "c"])


@pytest.fixture(scope="module")
def ds():
    return scene()


QUICK = dict(epochs=2, progress=False)


# -- metrics and splits ---------------------------------------------------------------------------
def test_metrics_match_scikit_learn():
    rng = np.random.default_rng(0)
    y = rng.random((40, 3))
    p = y + 0.1 * rng.standard_normal((40, 3))
    assert r2_score(y, p) == pytest.approx(sk_r2(y, p), rel=1e-12)
    assert mae(y, p) == pytest.approx(mean_absolute_error(y, p), rel=1e-12)
    assert mae_summed(y, p) == pytest.approx(3 * mean_absolute_error(y, p), rel=1e-12)  # the authors' MAE
    y[:, 1] = 0.5  # a constant output: scikit-learn's force_finite rule
    assert r2_score(y, p) == pytest.approx(sk_r2(y, p), rel=1e-12)
    p[:, 1] = 0.5
    assert r2_score(y, p) == pytest.approx(sk_r2(y, p), rel=1e-12)
    batched = r2_score(y, np.stack([p, y]))  # several models at once
    assert batched.shape == (2,) and batched[1] == 1.0 and batched[0] == pytest.approx(sk_r2(y, p))
    assert r2_score(y[:, 0], p[:, 0]) == pytest.approx(sk_r2(y[:, 0], p[:, 0]))
    with pytest.raises(ValueError, match="y_pred must have shape"):
        r2_score(y, p[:, :2])


def test_split_indices_are_seeded_disjoint_and_complete():
    a = split_indices(100, 0.1, 0.2, seed=3)
    assert [a[k].size for k in ("train", "val", "test")] == [70, 10, 20]
    assert np.array_equal(np.sort(np.concatenate(list(a.values()))), np.arange(100))
    b = split_indices(100, 0.1, 0.2, seed=3)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["test"], split_indices(100, 0.1, 0.2, seed=4)["test"])
    with pytest.raises(ValueError, match="val_fraction"):
        split_indices(10, 1.2, 0.1)
    with pytest.raises(ValueError, match="no training rows"):
        split_indices(2, 0.5, 0.5)


def test_member_generators_are_independent_streams():
    init, order, aug = member_generators(5)
    draws = [torch.rand(3, generator=g) for g in (init, order, aug)]
    assert not torch.equal(draws[0], draws[1]) and not torch.equal(draws[1], draws[2])
    again = member_generators(5)
    assert torch.equal(torch.rand(3, generator=again[0]), draws[0])


# -- augmentation of several members ----------------------------------------------------------------
@pytest.mark.parametrize("spec", ["shift", "elastic", "flip+elastic", "nearest_neighbor"])
def test_augment_members_draws_each_member_from_its_own_generator(ds, spec):
    x = torch.as_tensor(ds["spectra"].values[:24]).reshape(3, 8, -1)
    wl = torch.tensor(ds["wavelength"].values, dtype=torch.float32)
    index = torch.arange(24).reshape(3, 8)
    aug = augment.build(spec)
    if spec == "nearest_neighbor":
        aug.fit(x.reshape(24, -1))
    gens = [torch.Generator().manual_seed(s) for s in (1, 2, 3)]
    out = augment_members(aug, x, wl, gens, index)
    assert out.shape == x.shape and not torch.equal(out, x)
    for g in range(3):  # member g alone, and the plain call the draws follow
        alone = augment_members(aug, x[g:g + 1], wl, [torch.Generator().manual_seed(g + 1)], index[g:g + 1])
        assert torch.equal(alone[0], out[g])
        direct = aug(x[g], wl, torch.Generator().manual_seed(g + 1), index=index[g])
        assert torch.allclose(direct, out[g], atol=1e-6)


# -- training -------------------------------------------------------------------------------------
def test_loss_decreases_and_predictions_improve(ds):
    res = fit(ds, configs=[Config.baseline(), Config("shift", alpha=0.01)], seeds=[0], epochs=10, lr=3e-3,
              batch_size=8, progress=False, preprocess="none")  # raw inputs: R² starts near 0
    h = res.history
    assert (h["loss"][:, -1] < 0.5 * h["loss"][:, 0]).all()
    assert (h["contrastive"][1, -1] < h["contrastive"][1, 0]) and (h["contrastive"][0] == 0).all()
    assert (h["val_r2"][:, -1] > 0.3).all() and (h["val_r2"][:, 0] < 0.1).all()
    assert (res.metrics["test_r2"] > 0.3).all()


def test_same_seed_same_numbers_other_seed_other_numbers(ds):
    cfg = [Config("shift")]
    a = fit(ds, configs=cfg, seeds=[4], **QUICK)
    b = fit(ds, configs=cfg, seeds=[4], **QUICK)
    c = fit(ds, configs=cfg, seeds=[5], **QUICK)
    assert np.array_equal(a.predictions, b.predictions)
    assert all(np.array_equal(a.history[k], b.history[k]) for k in HISTORY_KEYS)
    assert not np.array_equal(a.predictions, c.predictions)


def test_member_trained_in_an_ensemble_equals_it_trained_alone(ds):
    # 150 spectra: 120 train (batches 32, 32, 32, 24), mixed losses, augmentations and a OneOf
    configs = [
        Config.baseline(),
        Config("shift"),
        Config("flip+elastic", loss="supcon", tau=0.5),
        Config("nearest_neighbor", loss="bce", r=0.1),
        Config("elastic", loss="rnc", alpha=0.01),
        Config("shift", alpha=0.0, mse_on_views=True),
        Config("flip", mse_on_views=True),
    ]
    seeds = [0, 1]
    big = fit(ds, configs=configs, seeds=seeds, **QUICK)
    assert big.n_members == 14
    for c, s in [(0, 1), (1, 1), (2, 0), (3, 0), (4, 1), (5, 0), (6, 1)]:
        alone = fit(ds, configs=[configs[c]], seeds=[s], **QUICK)
        m = 2 * c + seeds.index(s)
        assert big.configs[m] == configs[c] and big.seeds[m] == s
        # bitwise: stacked weights, bmm and Adam give member m exactly its own numbers
        assert np.array_equal(alone.predictions[0], big.predictions[m]), configs[c].label
        for k in HISTORY_KEYS:
            assert np.array_equal(alone.history[k][0], big.history[k][m])
        for a, b in zip(alone.model.parameters(), big.model.parameters()):
            assert torch.equal(a[0], b[m])


def test_mse_on_views_is_plain_augmentation_without_the_contrastive_term(ds):
    plain = Config("shift", alpha=0.0, mse_on_views=True)
    assert plain.label == "shift (MSE only)" and not plain.contrastive and plain.uses_views
    assert plain.to_dict()["mse_on_views"] is True and "mse_on_views" not in Config("shift").to_dict()
    assert Config("shift", mse_on_views=True).label == "shift + MSE on views"
    res = fit(ds, configs=[Config.baseline(), plain, Config("shift", alpha=0.0)], seeds=[0], **QUICK)
    # alpha = 0 without views is the baseline exactly; with views the MSE sees shifted spectra
    assert np.array_equal(res.predictions[0], res.predictions[2])
    assert not np.allclose(res.predictions[0], res.predictions[1])
    assert (res.history["contrastive"][1] == 0).all() and (res.history["mse"][1] > 0).all()


def test_early_stopping_keeps_the_best_epoch(ds):
    res = fit(ds, configs=[Config.baseline(), Config("flip")], seeds=[0, 1], epochs=25, lr=0.05, patience=2,
              progress=False)
    assert (res.epochs_trained <= 25).all() and (res.epochs_trained < 25).any()
    for m in range(res.n_members):
        stop, best = res.epochs_trained[m], res.best_epoch[m]
        assert stop - best == 2 or stop == 25
        h = res.history["val_r2"][m]
        assert np.isnan(h[stop:]).all() and np.isfinite(h[:stop]).all()
        # the kept weights are the best epoch's: their validation R² is the history's at that epoch
        assert res.metrics["val_r2"][m] == pytest.approx(h[best - 1], abs=1e-9)
        assert best == 1 + int(np.nanargmin(res.history["val_mse"][m]))


def test_results_convert_and_predict(ds):
    res = fit(ds, configs=[None, "shift"], seeds=[0, 1], **QUICK)
    assert [c.label for c in res.configs] == ["baseline", "baseline", "shift", "shift"]
    n_test = res.split["test"].size
    assert res.predictions.shape == (4, n_test, 3) and res.target.shape == (n_test, 3)
    assert np.allclose(res.target, ds["target"].values[res.split["test"]])
    assert res.errors(1).shape == (n_test, 3)
    # metrics are those of the stored predictions, in the data's units
    assert res.metrics["test_r2"][2] == pytest.approx(r2_score(res.target, res.predictions[2]))
    assert res.metrics["test_mae_summed"][3] == pytest.approx(3 * res.metrics["test_mae"][3])
    new = res.predict(ds["spectra"].values[res.split["test"]])
    assert np.allclose(new, res.predictions, atol=1e-6)
    assert res.predict(ds["spectra"], member=0).shape == (150, 3)
    doc = json.loads(res.to_json(predictions=True))
    assert len(doc["members"]) == 4 and doc["members"][2]["config"]["augmentation"] == "shift"
    assert len(doc["members"][0]["history"]["val_r2"]) == 2 and "test_r2" in doc["members"][0]["metrics"]
    xds = res.to_xarray()
    assert isinstance(xds, xr.Dataset) and xds["prediction"].dims == ("member", "test_sample", "output")
    assert list(xds["output"].values) == ["a", "b", "c"] and xds["history_loss"].shape == (4, 2)
    assert list(res.summary().index) == ["baseline", "shift"]
    assert len(res.table()) == 4 and res.epoch_seconds.shape == (2,)


def test_callback_sees_each_epoch_and_results_save(ds, tmp_path):
    seen = []
    res = fit(ds, configs=[Config("shift"), None], seeds=[0], callback=lambda e, m: seen.append((e, m)), **QUICK)
    assert [e for e, _ in seen] == [1, 2] and set(seen[0][1]) == set(HISTORY_KEYS)
    for k in HISTORY_KEYS:  # members in the result's order (the baseline is trained second internally)
        assert np.array_equal(seen[1][1][k], res.history[k][:, 1])
    paths = save_result(res, tmp_path / "out", name="run")
    assert all(p.exists() for p in paths.values())
    back = xr.open_dataset(paths["netcdf"], engine="h5netcdf")
    assert np.allclose(back["prediction"].values, res.predictions)
    assert json.loads(paths["json"].read_text())["members"][0]["config"]["name"] == "shift"
    from hsaug.predictor import load_model

    saved = load_model(paths["model"])  # a Model: safetensors + JSON, loaded without executing anything
    assert saved.n_members == 2 and saved.outputs == ["a", "b", "c"]
    assert np.allclose(saved.predict(ds["spectra"].values[res.split["test"]], members=True), res.predictions,
                       atol=1e-5)
    with pytest.raises(ValueError, match="callback"):
        fit(ds, callback="print", **QUICK)


def test_threads_are_set_for_training_and_restored(ds):
    res = fit(ds, configs=[Config("flip")], threads=2, **QUICK)
    assert res.settings["threads"] == 2 and torch.get_num_threads() == 1
    with pytest.raises(ValueError, match="threads"):
        fit(ds, threads=0, **QUICK)


def test_spectra_target_wavelength_input(ds):
    x, y, wl = ds["spectra"].values, ds["target"].values[:, 0], ds["wavelength"].values
    res = fit(x, y, wl, configs=[Config("flip")], seeds=[0], epochs=1, progress=False)
    assert res.predictions.shape[-1] == 1 and res.outputs == ["target_0"]
    res = fit(ds["spectra"], y, configs=[Config("flip")], seeds=[0], epochs=1, progress=False,
              split={"train": np.arange(100), "test": np.arange(100, 150)})
    assert res.split["val"].size == 0 and np.isnan(res.history["val_r2"]).all()


def test_linear_baselines(ds):
    out = fit_baselines(ds)
    assert set(out) == {"ridge", "pls"}
    for res in out.values():
        assert res["test_r2"] > 0.9  # nearly linear data
        assert res["predictions"].shape == (15, 3)
        assert res["test_mae_summed"] == pytest.approx(3 * res["test_mae"])
        assert res["estimator"].predict(ds["spectra"].values.astype(float)).reshape(150, 3).shape == (150, 3)
    assert "alpha" in out["ridge"]["params"] and "n_components" in out["pls"]["params"]
    with pytest.raises(ValueError, match="methods"):
        fit_baselines(ds, methods=["lasso"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu_closely(ds):
    cpu = fit(ds, configs=[Config("shift")], seeds=[0], **QUICK)
    gpu = fit(ds, configs=[Config("shift")], seeds=[0], device="cuda", **QUICK)
    assert np.allclose(cpu.predictions, gpu.predictions, atol=1e-3)


def test_augmentation_that_cannot_run_on_the_data_fails_before_training(ds):
    bright = ds.copy()
    bright["spectra"] = ds["spectra"] * 10  # not reflectance: scattering refuses it
    with pytest.raises(ValueError, match="augmentation 'scattering'"):  # not reflectance, or not declared
        fit(bright, configs=[Config("scattering")], **QUICK)


@pytest.mark.parametrize(
    "change, match",
    [
        ({"target": "short"}, "target has 149 rows"),
        ({"target": "nan"}, "finite"),
        ({"configs": [{"augmentation": "shift", "r": 0.0}]}, "r .*> 0"),
        ({"configs": [{"augmentation": "shift", "r": -0.1}]}, "r .*> 0"),
        ({"configs": [{"augmentation": "shift", "tau": 0}]}, "tau"),
        ({"configs": [{"augmentation": "shift", "alpha": -1}]}, "alpha"),
        ({"configs": [{"augmentation": "sharpen"}]}, "unknown augmentation"),
        ({"configs": [{"augmentation": "shift", "loss": "triplet"}]}, "loss must be one of"),
        ({"configs": [{"augmentation": "shift", "beta": 1}]}, "unknown keys"),
        ({"configs": [{"augmentation": None, "alpha": 0, "mse_on_views": True}]}, "mse_on_views needs"),
        ({"configs": [{"augmentation": "shift", "mse_on_views": "yes"}]}, "mse_on_views must be"),
        ({"batch_size": 121}, "batch_size must be at most"),
        ({"batch_size": 0}, "batch_size"),
        ({"epochs": 0}, "epochs"),
        ({"lr": -1.0}, "lr"),
        ({"seeds": [1, 1]}, "distinct"),
        ({"seeds": [-1]}, "seeds"),
        ({"patience": 3, "val_fraction": 0.0}, "validation set"),
        ({"device": "tpu"}, "device"),
        ({"configs": []}, "at least one"),
    ],
)
def test_bad_input_gives_clear_errors(ds, change, match):
    x, y, wl = ds["spectra"].values, ds["target"].values.copy(), ds["wavelength"].values
    kwargs = {"configs": [Config("shift")], "epochs": 1, "progress": False}
    target = change.pop("target", None)
    if target == "short":
        y = y[:-1]
    elif target == "nan":
        y[3, 1] = np.nan
    kwargs.update(change)
    with pytest.raises(ValueError, match=match):
        fit(x, y, wl, **kwargs)


def test_cuda_refused_when_absent(ds):
    if torch.cuda.is_available():
        pytest.skip("CUDA is present here")
    with pytest.raises(ValueError, match="CUDA is not available"):
        fit(ds, device="cuda", **QUICK)


def test_dataset_and_arrays_together_is_an_error(ds):
    with pytest.raises(ValueError, match="not both"):
        fit(ds, ds["target"].values, **QUICK)
    with pytest.raises(ValueError, match="wavelength"):
        fit(ds["spectra"].values, ds["target"].values, **QUICK)


def test_adam_moments_never_turn_subnormal(ds, monkeypatch):
    """Dead ReLU units' first moments decay by 0.9 a step into subnormal floats (slow on CPU
    worker threads) unless training zeroes them first; the numbers must not change."""
    import hsaug.training as training

    optimizers = []
    make = training._make_optimizer
    monkeypatch.setattr(training, "_make_optimizer", lambda *a: optimizers.append(make(*a)) or optimizers[-1])
    # 120 training spectra in batches of 8: 15 steps an epoch, ~900 steps in all
    res = fit(ds, configs=[Config.baseline(), Config("flip")], seeds=[0, 1], epochs=60, batch_size=8,
              progress=False)
    moments = [st["exp_avg"] for st in optimizers[-1].state.values()]
    zeros = sum(int((m == 0).sum()) for m in moments)
    subnormal = sum(int(((m != 0) & (m.abs() < torch.finfo(torch.float32).tiny)).sum()) for m in moments)
    assert zeros > 0 and subnormal == 0  # units did die, and their moments went to zero, not below 1e-38
    monkeypatch.setattr(training, "SUBNORMAL_EVERY", 10**9)  # the same training, never zeroing
    plain = fit(ds, configs=[Config.baseline(), Config("flip")], seeds=[0, 1], epochs=60, batch_size=8,
                progress=False)
    np.testing.assert_array_equal(res.predict(ds["spectra"]), plain.predict(ds["spectra"]))
    moments = [st["exp_avg"] for st in optimizers[-1].state.values()]
    assert sum(int(((m != 0) & (m.abs() < torch.finfo(torch.float32).tiny)).sum()) for m in moments) > 0
