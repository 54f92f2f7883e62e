"""Fitted preprocessing: numbers against scipy / numpy references, composition, exact state round trip."""

import json

import numpy as np
import pytest
import torch
from scipy.signal import savgol_filter

from hsaug import preprocess as P


@pytest.fixture
def x64():
    rng = np.random.default_rng(3)
    return rng.normal(size=(17, 60)).cumsum(axis=1) + 5.0


@pytest.mark.parametrize("window,polyorder,deriv,delta", [(5, 2, 0, 1.0), (11, 3, 1, 2.5), (7, 2, 2, 1.0),
                                                          (3, 1, 0, 1.0), (15, 4, 1, 9.375)])
def test_savgol_equals_scipy(x64, window, polyorder, deriv, delta):
    step = P.build(f"savgol(window={window},polyorder={polyorder},deriv={deriv},delta={delta})")
    ref = savgol_filter(x64, window, polyorder, deriv=deriv, delta=delta, axis=-1, mode="interp")
    np.testing.assert_allclose(step(torch.tensor(x64)).numpy(), ref, rtol=0, atol=1e-10)
    out32 = step(torch.tensor(x64, dtype=torch.float32))
    assert out32.dtype == torch.float32
    np.testing.assert_allclose(out32.numpy(), ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())


def test_savgol_checks_its_parameters():
    with pytest.raises(ValueError, match="window must be odd"):
        P.SavGol(window=10)
    with pytest.raises(ValueError, match="polyorder must be less than window"):
        P.SavGol(window=5, polyorder=5)
    with pytest.raises(ValueError, match="delta must be a positive"):
        P.SavGol(delta=0)
    with pytest.raises(ValueError, match="must not exceed the number of bands"):
        P.SavGol(window=11)(torch.zeros(2, 9))


def test_snv_and_standardize_equal_numpy(x64):
    snv = P.build("snv")(torch.tensor(x64)).numpy()
    ref = (x64 - x64.mean(1, keepdims=True)) / x64.std(1, keepdims=True)
    np.testing.assert_allclose(snv, ref, atol=1e-12)
    x = x64.copy()
    x[:, 7] = 2.0  # a constant band: std 1, so it becomes 0
    train = x[:10]
    std = P.build("standardize").fit(torch.tensor(train, dtype=torch.float32))
    np.testing.assert_allclose(std.mean.numpy(), train.mean(0), rtol=1e-6)
    expect_std = train.std(0)
    expect_std[7] = 1.0
    np.testing.assert_allclose(std.std.numpy(), expect_std, rtol=1e-6)
    out = std(torch.tensor(x, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(out, (x - train.mean(0)) / expect_std, rtol=1e-5, atol=1e-5)
    assert np.all(out[:, 7] == 0)


def test_scale_uses_one_mean_and_std_over_all_bands(x64):
    step = P.build("scale").fit(torch.tensor(x64[:10]))
    np.testing.assert_allclose(float(step.mean), x64[:10].mean(), rtol=1e-6)
    np.testing.assert_allclose(float(step.std), x64[:10].std(), rtol=1e-6)
    out = step(torch.tensor(x64)).numpy()
    np.testing.assert_allclose(out, (x64 - x64[:10].mean()) / x64[:10].std(), rtol=1e-5, atol=1e-5)


def test_standardize_is_fitted_on_the_rows_it_is_given_only(x64):
    a = P.build("standardize").fit(torch.tensor(x64[:8]))
    b = P.build("standardize").fit(torch.tensor(np.concatenate([x64[:8], 1e3 + x64[8:]])))
    assert not torch.equal(a.mean, b.mean)
    c = P.build("standardize").fit(torch.tensor(x64[:8]))
    assert torch.equal(a.mean, c.mean) and torch.equal(a.std, c.std)


def test_chain_applies_left_to_right_and_fits_each_step_on_the_previous_output(x64):
    x = torch.tensor(x64, dtype=torch.float32)
    chain = P.build("snv+savgol(window=7,polyorder=2,deriv=1)+standardize").fit(x[:12])
    assert isinstance(chain, P.Chain) and chain.spec == "snv+savgol(window=7,polyorder=2,deriv=1,delta=1)+standardize"
    s1 = P.build("snv")(x)
    s2 = P.build("savgol(window=7,polyorder=2,deriv=1)")(s1)
    s3 = P.build("standardize").fit(s2[:12])
    assert torch.equal(chain(x), s3(s2))


@pytest.mark.parametrize("spec", ["none", "standardize", "scale", "snv", "savgol", "scale+savgol", "snv+savgol(window=9,polyorder=3,deriv=2)",
                                  "savgol(window=5,polyorder=2,deriv=1,delta=9.4)+standardize"])
def test_state_round_trip_through_json_is_bitwise(x64, spec):
    x = torch.tensor(x64, dtype=torch.float32)
    step = P.build(spec).fit(x[:9])
    state = json.loads(json.dumps(step.state()))
    again = P.from_state(state)
    assert again.spec == step.spec
    assert torch.equal(again(x), step(x))


def test_unfitted_and_mismatched_use_is_refused(x64):
    with pytest.raises(ValueError, match="not fitted"):
        P.build("standardize")(torch.zeros(2, 5))
    std = P.build("standardize").fit(torch.ones(3, 5))
    with pytest.raises(ValueError, match="fitted on 5 bands; got spectra with 6"):
        std(torch.zeros(2, 6))
    with pytest.raises(ValueError, match="finite"):
        P.build("standardize").fit(torch.tensor([[1.0, float("nan")]]))


@pytest.mark.parametrize("bad", ["standardise", "snv+", "savgol(window=abc)", "snv(window=3)", "savgol(w=3)", 3])
def test_bad_names_name_what_is_accepted(bad):
    with pytest.raises(ValueError, match="preprocess"):
        P.build(bad)


def test_nan_stays_in_its_own_spectrum(x64):
    x = torch.tensor(x64, dtype=torch.float32)
    x[2, 30] = float("nan")
    out = P.build("snv+savgol").fit(x[3:])(x)
    assert torch.isnan(out[2]).any() and torch.isfinite(out[[0, 1, *range(3, 17)]]).all()
