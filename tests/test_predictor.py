"""The Model object: predict on every input kind, save → load bitwise, ONNX, bad files, other grids."""

import json
import warnings

import numpy as np
import pytest
import torch
import xarray as xr

from hsaug import preprocess as P
from hsaug.losses import LabelScaling
from hsaug.models import MLPEnsemble
from hsaug.predictor import ConversionWarning, Model, ResampleWarning, load_model

WL = np.linspace(400.0, 2500.0, 64)


def spectra(n=300, seed=0):
    rng = np.random.default_rng(seed)
    t = (WL - 400) / 2100
    x = 0.3 + 0.2 * np.sin(2 * np.pi * (t[None] * rng.uniform(1, 3, (n, 1)) + rng.uniform(0, 1, (n, 1))))
    return x.astype(np.float32)


def make_model(members=3, outputs=("a", "b", "c"), pre="snv+savgol(window=7,polyorder=2,deriv=1)+standardize",
               constraint="none", quantity="reflectance"):
    x = spectra()
    net = MLPEnsemble(WL.size, len(outputs), members, init=list(range(members)))
    y = torch.tensor(np.random.default_rng(1).random((50, len(outputs))) * 40 + 5, dtype=torch.float32)
    return Model(net, LabelScaling.fit(y), WL, list(outputs), units=["%"] * len(outputs),
                 preprocess=P.build(pre).fit(torch.tensor(x[:200])), constraint=constraint, quantity=quantity,
                 training={"settings": {"epochs": 3}}, members=[{"seed": s} for s in range(members)])


@pytest.fixture(scope="module")
def model():
    return make_model()


def test_predict_is_the_pipeline_and_the_ensemble_mean(model):
    x = spectra(40, seed=5)
    got = model.predict(x)
    assert got.shape == (40, 3) and got.dtype == np.float32
    per = model.predict(x, members=True)
    assert per.shape == (3, 40, 3)
    np.testing.assert_allclose(got, per.mean(0), rtol=1e-6, atol=1e-6)
    raw = model.network.predict(model.preprocess(torch.tensor(x)))
    np.testing.assert_array_equal(per, model.scaling.inverse(raw).numpy())
    t = model.predict(torch.tensor(x))
    assert isinstance(t, torch.Tensor) and np.array_equal(t.numpy(), got)


def test_dataarray_in_dataarray_out_with_coordinates(model):
    x = spectra(10)
    da = xr.DataArray(x, dims=("sample", "wavelength"),
                      coords={"sample": np.arange(100, 110), "wavelength": ("wavelength", WL, {"units": "nm"})},
                      attrs={"quantity": "reflectance", "reflectance_scale": 1.0, "site": "A"})
    out = model.predict(da)
    assert out.dims == ("sample", "output") and list(out["output"].values) == ["a", "b", "c"]
    assert list(out["sample"].values) == list(range(100, 110)) and list(out["units"].values) == ["%"] * 3
    assert out.attrs["site"] == "A" and "hsaug_version" in out.attrs
    np.testing.assert_array_equal(out.values, model.predict(x))
    img = xr.DataArray(x.reshape(2, 5, -1), dims=("y", "x", "wavelength"), coords={"wavelength": WL})
    out = model.predict(img, members=True)
    assert out.dims == ("member", "y", "x", "output") and out.shape == (3, 2, 5, 3)


def test_nan_pixels_come_out_nan_and_leave_the_others_alone(model):
    x = spectra(20)
    x[4, 10] = np.nan
    x[9, :] = np.inf
    got = model.predict(x)
    assert np.isnan(got[[4, 9]]).all()
    ok = [i for i in range(20) if i not in (4, 9)]
    np.testing.assert_array_equal(got[ok], model.predict(x[ok]))


def test_save_load_predict_is_bitwise(model, tmp_path):
    path = model.save(tmp_path / "m.safetensors")
    again = load_model(path)
    x = spectra(77, seed=9)
    assert np.array_equal(again.predict(x), model.predict(x))
    assert np.array_equal(again.predict(x, members=True), model.predict(x, members=True))
    assert again.outputs == model.outputs and again.units == model.units and again.constraint == model.constraint
    assert np.array_equal(again.wavelength, model.wavelength) and again.preprocess.spec == model.preprocess.spec
    assert again.training == {"settings": {"epochs": 3}} and again.members[2] == {"seed": 2}
    assert again.metadata() == model.metadata()
    with pytest.raises(FileExistsError):
        model.save(path, overwrite=False)


def test_the_file_is_safetensors_with_json_metadata_and_nothing_executable(model, tmp_path):
    from safetensors import safe_open

    path = model.save(tmp_path / "m.safetensors")
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()["hsaug"])
        keys = list(f.keys())
    assert meta["format"] == "hsaug-model" and meta["hsaug_version"] and meta["quantity"]["quantity"] == "reflectance"
    assert all(k.startswith("network.raw.") for k in keys)


def test_bad_files_give_clear_errors(model, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_model(tmp_path / "missing.safetensors")
    path = model.save(tmp_path / "m.safetensors")
    data = path.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated"):
        load_model(cut)
    text = tmp_path / "notes.safetensors"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a readable hsaug model"):
        load_model(text)
    pt = tmp_path / "weights.pt"
    torch.save({"a": torch.zeros(2)}, pt)
    with pytest.raises(ValueError, match="not a readable hsaug model"):
        load_model(pt)
    from safetensors.torch import save_file

    other = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(3)}, str(other))
    with pytest.raises(ValueError, match="not an hsaug model"):
        load_model(other)


def test_another_grid_is_resampled_when_it_covers_and_refused_otherwise(model):
    fine = np.linspace(380.0, 2520.0, 300)
    t = (fine - 400) / 2100
    xf = (0.3 + 0.1 * np.sin(2 * np.pi * 1.5 * t))[None].repeat(4, 0).astype(np.float32)
    with pytest.warns(ResampleWarning, match="resampling to the model's grid"):
        got = model.predict(xf, wavelength=fine)
    from hsaug.spectra import resample

    np.testing.assert_allclose(got, model.predict(resample(xf, fine, WL).astype(np.float32)), rtol=1e-5, atol=1e-5)
    da = xr.DataArray(xf, dims=("sample", "wavelength"), coords={"wavelength": fine})
    with pytest.warns(ResampleWarning):
        np.testing.assert_allclose(model.predict(da).values, got, rtol=1e-6, atol=1e-6)
    short = np.linspace(500.0, 2500.0, 64)
    with pytest.raises(ValueError, match="does not cover the model's"):
        model.predict(xf[:, :64], wavelength=short)
    with pytest.raises(ValueError, match="has 63 bands but the model takes 64"):
        model.predict(xf[:, :63])


def test_declared_quantity_is_converted_exactly_or_refused(model):
    x = spectra(6)
    da = xr.DataArray(x * 10000, dims=("sample", "wavelength"), coords={"wavelength": WL},
                      attrs={"quantity": "reflectance", "reflectance_scale": 10000})
    with pytest.warns(ConversionWarning, match="converting exactly"):
        got = model.predict(da).values
    np.testing.assert_allclose(got, model.predict(x), rtol=1e-5, atol=1e-4)
    ab = da.copy(data=-np.log10(x)).assign_attrs(quantity="absorbance")
    with pytest.warns(ConversionWarning):
        np.testing.assert_allclose(model.predict(ab).values, model.predict(x), rtol=1e-4, atol=1e-3)
    with pytest.raises(ValueError, match="no exact conversion"):
        model.predict(da.assign_attrs(quantity="radiance"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the model's own quantity: nothing said
        model.predict(da.copy(data=x).assign_attrs(reflectance_scale=1.0))


@pytest.mark.parametrize("constraint", ["nonneg", "sum_to_one"])
def test_output_constraints(constraint):
    m = make_model(constraint=constraint, pre="standardize")
    y = m.predict(spectra(50), members=True)
    assert (y >= 0).all()
    if constraint == "sum_to_one":
        np.testing.assert_allclose(y.sum(-1), 1.0, atol=1e-6)
    with pytest.raises(ValueError, match="constraint must be one of"):
        make_model(constraint="positive")


@pytest.mark.parametrize("constraint", ["none", "sum_to_one"])
def test_onnx_runtime_gives_the_same_numbers(tmp_path, constraint):
    import onnxruntime as ort

    m = make_model(constraint=constraint)
    path = m.to_onnx(tmp_path / "m.onnx")
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for n in (1, 33, 500):  # the batch axis is dynamic
        x = spectra(n, seed=n)
        got = sess.run(None, {"spectra": x})[0]
        np.testing.assert_allclose(got, m.predict(x), rtol=1e-5, atol=1e-5)
    per = m.to_onnx(tmp_path / "members.onnx", members=True)
    got = ort.InferenceSession(str(per), providers=["CPUExecutionProvider"]).run(None, {"spectra": spectra(9)})[0]
    np.testing.assert_allclose(got, m.predict(spectra(9), members=True), rtol=1e-5, atol=1e-5)


def test_bad_arguments_are_named(model):
    with pytest.raises(ValueError, match="2-D spectra"):
        model.predict(np.zeros(64))
    with pytest.raises(ValueError, match="'wavelength' dim"):
        model.predict(xr.DataArray(np.zeros((2, 64)), dims=("sample", "band")))
    with pytest.raises(ValueError, match="batch_size"):
        model.predict(spectra(2), batch_size=0)
    with pytest.raises(ValueError, match="must be fitted"):
        Model(MLPEnsemble(64, 1), LabelScaling.identity(1), WL, ["a"], preprocess="standardize")
