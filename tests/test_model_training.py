"""Training → Model: preprocessing fitted on the training rows, quantities honoured, constraints, CLI train → predict."""

import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from hsaug.predictor import load_model
from hsaug.synthetic import make_scene, scene_image
from hsaug.training import fit

ROOT = Path(__file__).resolve().parents[1]
FAST = {"epochs": 2, "progress": False, "threads": 1}


@pytest.fixture(scope="module")
def scene():
    return make_scene("paper", n_rows=12, n_cols=12, seed=0)


def test_standardize_is_the_default_and_is_fitted_on_the_training_rows_only(scene):
    res = fit(scene, configs=[None], **FAST)
    assert res.preprocess.spec == "standardize"
    x = scene["spectra"].values.astype(np.float64)
    train = x[res.split["train"]]
    np.testing.assert_allclose(res.preprocess.mean.numpy(), train.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(res.preprocess.std.numpy(), train.std(0), rtol=1e-5)
    assert not np.allclose(res.preprocess.mean.numpy(), x.mean(0), rtol=1e-7, atol=0)  # not all rows
    assert res.settings["preprocess"] == "standardize"


def test_preprocess_none_is_the_old_behaviour_bitwise(scene, one_thread):
    """'none' adds no operation: the same numbers as training on the spectra directly."""
    a = fit(scene, configs=[None, "shift"], seeds=[0, 1], preprocess="none", **FAST)
    b = fit(scene["spectra"].values, scene["target"].values, scene["wavelength"].values, configs=[None, "shift"],
            seeds=[0, 1], preprocess="none", **FAST)
    assert np.array_equal(a.predictions, b.predictions)
    assert a.preprocess.spec == "none"


def test_standardize_gives_scale_free_training(scene, one_thread):
    """Spectra × 10000 declared as such train to (nearly) the same model as the fractions under standardize."""
    scaled = scene.copy()
    scaled["spectra"] = scene["spectra"] * 10000
    scaled.attrs.update(quantity="reflectance", reflectance_scale=10000.0)
    a = fit(scene, configs=[None], **FAST)
    b = fit(scaled, configs=[None], **FAST)
    np.testing.assert_allclose(a.predictions, b.predictions, rtol=0, atol=2e-4)


def test_physics_augmentations_receive_exact_reflectance(scene, one_thread):
    scaled = scene.copy()
    scaled["spectra"] = scene["spectra"] * 100
    scaled.attrs.update(quantity="reflectance", reflectance_scale=100.0)
    a = fit(scene, configs=["scattering"], **FAST)
    b = fit(scaled, configs=["scattering"], **FAST)  # refused before: "percent reflectance…"
    np.testing.assert_allclose(a.predictions, b.predictions, rtol=0, atol=2e-4)
    assert any("÷ 100" in line and "scattering" in line for line in b.conversions)
    assert a.conversions == []
    absorb = scene.copy()
    absorb["spectra"] = -np.log10(scene["spectra"].clip(1e-4))
    absorb.attrs.update(quantity="absorbance")
    c = fit(absorb, configs=["atmospheric"], **FAST)
    assert any("10^(-A)" in line for line in c.conversions)
    assert b.settings["quantity"] == {"quantity": "reflectance", "reflectance_scale": 100.0}


def test_unknown_quantity_is_refused_for_physics_only(scene):
    unknown = scene.copy()
    unknown.attrs["quantity"] = "unknown"
    with pytest.raises(ValueError, match="scattering.*reflectance"):
        fit(unknown, configs=["scattering"], **FAST)
    fit(unknown, configs=["shift"], **FAST)  # no physics: nothing to convert
    with pytest.raises(ValueError, match="reflectance"):
        fit(scene["spectra"].values, scene["target"].values, scene["wavelength"].values, configs=["atmospheric"],
            **FAST)


@pytest.mark.parametrize("constraint", ["nonneg", "sum_to_one"])
def test_constraints_hold_on_test_predictions_and_in_the_model(scene, constraint):
    res = fit(scene, configs=[None], constraint=constraint, **FAST)
    assert (res.predictions >= 0).all()
    model = res.to_model()
    pred = model.predict(scene["spectra"].values)
    assert (pred >= 0).all() and model.constraint == constraint
    if constraint == "sum_to_one":
        np.testing.assert_allclose(pred.sum(1), 1.0, atol=1e-5)
        np.testing.assert_allclose(res.predictions.sum(-1), 1.0, atol=1e-5)


def test_result_gives_models_that_predict_as_the_result(scene, tmp_path):
    res = fit(scene, configs=[None, "shift"], seeds=[0, 1], **FAST)
    x = scene["spectra"].values[res.split["test"]]
    one = res.to_model(config="shift", seed=1)
    assert one.n_members == 1 and one.members[0]["seed"] == 1 and one.members[0]["config"]["name"] == "shift"
    np.testing.assert_allclose(one.predict(x), res.predictions[3], rtol=1e-5, atol=1e-6)
    both = res.to_model(config="shift")
    assert both.n_members == 2
    np.testing.assert_allclose(both.predict(x), res.predictions[2:].mean(0), rtol=1e-5, atol=1e-6)
    everything = res.to_model()
    assert everything.n_members == 4
    with pytest.raises(ValueError, match="config"):
        res.to_model(config="elastic")
    path = one.save(tmp_path / "m.safetensors")
    again = load_model(path)
    assert np.array_equal(again.predict(x), one.predict(x))
    assert again.training["settings"]["preprocess"] == "standardize"
    assert again.units == ["fraction"] * 4 and again.quantity["quantity"] == "reflectance"


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "hsaug.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_cli_train_then_predict_on_files_the_test_writes(tmp_path):
    from spectral.io import envi

    ds = make_scene("paper", n_rows=10, n_cols=10, seed=3)
    image = scene_image(ds).values.astype(np.float32) * 10000  # stored as scaled integers' reflectance
    image[2, 3, :] = np.nan
    meta = {"wavelength": [f"{w:.4f}" for w in ds["wavelength"].values], "wavelength units": "Nanometers",
            "reflectance scale factor": 10000}
    envi.save_image(str(tmp_path / "scene.hdr"), image, metadata=meta, interleave="bil", ext=".img")
    abund = scene_image(ds, "target").values
    rows, cols = np.nonzero(np.ones((10, 10), bool))
    lines = ["row,col," + ",".join(f"a{i}" for i in range(4))]
    lines += [f"{r},{c}," + ",".join(f"{v:.6f}" for v in abund[r, c]) for r, c in zip(rows, cols)
              if not (r == 2 and c == 3)]
    (tmp_path / "targets.csv").write_text("\n".join(lines) + "\n")
    model = tmp_path / "model.safetensors"
    run = _cli("train", tmp_path / "scene.hdr", "--targets", tmp_path / "targets.csv", "--target", "a0", "a1",
               "--augment", "shift+atmospheric", "--alpha", "0.001", "--epochs", "2", "--threads", "1",
               "--constraint", "nonneg", "--out", model, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert re.search(r"test R² -?\d\.\d{4}", run.stdout) and "÷ 10000" in run.stdout
    m = load_model(model)
    assert m.outputs == ["a0", "a1"] and m.quantity == {"quantity": "reflectance", "reflectance_scale": 10000.0}
    out = tmp_path / "map.nc"
    run = _cli("predict", model, tmp_path / "scene.hdr", "--out", out, "--chunks", "4", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    got = xr.open_dataarray(out)
    assert got.dims == ("y", "x", "output") and got.shape == (10, 10, 2)
    assert np.isnan(got.values[2, 3]).all() and np.isfinite(got.values[0, 0]).all() and (got.values[0] >= 0).all()
    flat = image.reshape(-1, image.shape[-1])
    expect = m.predict(flat).reshape(10, 10, 2)
    np.testing.assert_allclose(got.values, expect, rtol=0, atol=1e-5)
    again = _cli("predict", model, tmp_path / "scene.hdr", "--out", out, cwd=tmp_path)
    assert again.returncode == 1 and "--overwrite" in again.stderr
    bad = _cli("train", tmp_path / "scene.hdr", "--targets", tmp_path / "targets.csv", "--id-column", "id",
               "--out", tmp_path / "x.safetensors", cwd=tmp_path)
    assert bad.returncode == 1 and "--id-column does not apply to envi files" in bad.stderr


def test_docs_models_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = (ROOT / "docs" / "models.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 3
    for block in blocks:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(compile(block, "docs/models.md", "exec"), {})


def test_cli_train_and_predict_a_csv_table_with_ids(tmp_path):
    import pandas as pd

    ds = make_scene("paper", n_rows=8, n_cols=8, seed=1)
    df = pd.DataFrame(ds["spectra"].values * 100, columns=[f"{w:.2f}" for w in ds["wavelength"].values])
    df.insert(0, "id", [f"s{i}" for i in range(len(df))])
    df["clay"] = ds["target"].values[:, 0] * 50
    df.to_csv(tmp_path / "soil.csv", index=False)
    run = _cli("train", tmp_path / "soil.csv", "--target", "clay", "--id-column", "id", "--quantity", "reflectance",
               "--reflectance-scale", "100", "--augment", "scattering", "--epochs", "2", "--threads", "1",
               "--out", tmp_path / "m.safetensors", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "÷ 100" in run.stdout
    run = _cli("predict", tmp_path / "m.safetensors", tmp_path / "soil.csv", "--id-column", "id", "--out",
               tmp_path / "pred.csv", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    pred = pd.read_csv(tmp_path / "pred.csv", index_col=0)
    assert list(pred.index[:2]) == ["s0", "s1"] and list(pred.columns) == ["clay"]
    expect = load_model(tmp_path / "m.safetensors").predict(df.iloc[:, 1:-1].to_numpy(np.float32))
    np.testing.assert_allclose(pred["clay"].to_numpy(), expect[:, 0], rtol=1e-5, atol=1e-5)
