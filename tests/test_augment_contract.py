"""The contract every registered augmentation keeps (DESIGN.md, issue 2 §6)."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hsaug import augment

from conftest import smooth_spectra

NAMES = augment.names()
WL = torch.linspace(400.0, 2500.0, 224)
X = smooth_spectra(16, WL.numpy(), seed=1)


def make(name: str):
    aug = augment.get(name)
    if hasattr(aug, "fit"):  # nearest neighbour needs its reference set
        aug.fit(X)
    return aug


def kwargs(aug):
    return {"index": torch.arange(X.shape[0])} if hasattr(aug, "fit") else {}


def test_the_eight_names_in_the_papers_order():
    assert NAMES == ["shift", "flip", "scattering", "atmospheric", "elastic", "band_erasure",
                     "band_permutation", "nearest_neighbor"]


@pytest.mark.parametrize("name", NAMES)
def test_identity_at_neutral(name):
    aug = make(name)
    out = aug.apply(X, WL, **aug.neutral(), **kwargs(aug))
    torch.testing.assert_close(out, X, atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", NAMES)
def test_shape_dtype_seed_and_replay(name):
    aug = make(name)
    x64 = X.double()
    out = aug(x64, WL, torch.Generator().manual_seed(0), **kwargs(aug))
    assert out.shape == X.shape and out.dtype == torch.float64 and torch.isfinite(out).all()
    a = aug(X, WL, torch.Generator().manual_seed(5), **kwargs(aug))
    b = aug(X, WL, torch.Generator().manual_seed(5), **kwargs(aug))
    assert torch.equal(a, b)
    assert torch.equal(aug.apply(X, WL, **aug.last_params, **kwargs(aug)), b)


@pytest.mark.parametrize("name", NAMES)
def test_every_param_has_a_spec_that_makes_a_slider(name):
    aug = make(name)
    assert aug.params, name
    for p in aug.params:
        assert p.low <= p.default <= p.high and p.slider_step > 0 and p.display
        lo, hi = aug.ranges[p.name]
        assert p.low <= lo <= hi <= p.high


@pytest.mark.parametrize("name", NAMES)
def test_out_of_spec_parameter_is_refused_with_its_interval(name):
    aug = make(name)
    p = aug.params[0]
    with pytest.raises(ValueError, match=rf"{p.name} must lie in \["):
        aug.apply(X, WL, **{p.name: p.high + max(1.0, abs(p.high))}, **kwargs(aug))


@st.composite
def params_within_spec(draw, name):
    aug = make(name)
    values = {}
    for p in aug.params:
        if p.integer:
            values[p.name] = float(draw(st.integers(int(np.ceil(p.low)), int(np.floor(p.high)))))
        else:
            values[p.name] = draw(st.floats(p.low, p.high, allow_nan=False))
    return values


@pytest.mark.parametrize("name", NAMES)
def test_finite_over_the_whole_parameter_spec(name):
    aug = make(name)

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(params_within_spec(name))
    def check(values):
        try:
            out = aug.apply(X, WL, **values, **kwargs(aug))
        except ValueError as err:  # a combination the augmentation refuses must say so clearly
            assert name in str(err) or "must" in str(err)
            return
        assert torch.isfinite(out).all(), values

    check()


# -- the base class's override points --------------------------------------------------------------
@pytest.mark.parametrize("n", [0, -1, 2.5, True, "3", None])
def test_sample_refuses_a_bad_count(n):
    with pytest.raises(ValueError, match=r"n must be a positive whole number of spectra .*got"):
        augment.get("shift").sample(n, torch.Generator())
    with pytest.raises(ValueError, match=r"n must be a positive whole number"):
        augment.get("scattering").sample(n, torch.Generator())  # overrides _sample, not the check


def test_sample_accepts_numpy_and_torch_integers():
    import numpy as np

    assert augment.get("shift").sample(np.int64(3))["delta"].shape == (3,)
    assert augment.get("shift").sample(torch.tensor(2))["delta"].shape == (2,)


def test_extra_repr_is_appended_by_the_base():
    s = repr(augment.get("scattering"))
    assert s.startswith("Scattering(mu1=") and s.endswith("mu0=0.866, mu=0.866)")
    assert repr(augment.get("nearest_neighbor")).endswith(", unfitted)")
    assert repr(augment.get("shift")) == "Shift(delta=(-20.0, 20.0), edge='extrapolate')"


# -- fault battery (issue #10): integer parameters and OneOf weights -----------------------------------
@pytest.mark.parametrize("name, key", [("nearest_neighbor", "k"), ("band_permutation", "block"),
                                       ("band_erasure", "width")])
def test_integer_parameter_refuses_a_fraction_at_construction(name, key):
    with pytest.raises(ValueError, match=rf"{name}: {key} counts whole .*give whole numbers in \[.*got 2.5"):
        augment.get(name, **{key: 2.5})
    with pytest.raises(ValueError, match=rf"{key} counts whole"):
        augment.get(name, **{key: (2, 4.5)})
    augment.get(name, **{key: 3})  # whole numbers, int or float, are fine
    augment.get(name, **{key: (2.0, 4.0)})


def test_integer_parameter_refuses_a_fraction_in_apply(spectra, wavelength):
    nn = augment.get("nearest_neighbor").fit(spectra)
    with pytest.raises(ValueError, match=r"nearest_neighbor: parameter k must be a whole number in \[1, 20\]; got 2.5"):
        nn.apply(spectra, wavelength, k=2.5)
    perm = augment.get("band_permutation")
    with pytest.raises(ValueError, match=r"parameter block must be a whole number in \[1, 256\] bands; got 2.5"):
        perm.apply(spectra, wavelength, block=torch.full((spectra.shape[0],), 2.5), share=1.0)
    torch.testing.assert_close(nn.apply(spectra, wavelength, k=1), spectra)


@pytest.mark.parametrize("weights, match", [
    ([1.0, float("inf")], r"got inf"),
    ([1.0, -1.0], r"got -1.0"),
    ([float("nan"), 1.0], r"got nan"),
    ([0.0, 0.0], r"got all zero"),
    ([1.0], r"one per augmentation"),
    (["a", 1.0], r"got \['a', 1.0\]"),
])
def test_oneof_weights_refused_at_construction(weights, match):
    members = [augment.get("shift"), augment.get("flip")]
    with pytest.raises(ValueError, match=r"OneOf weights must be 2 finite non-negative numbers, not all zero.*" + match):
        augment.OneOf(members, weights=weights)


def test_oneof_weights_normalised():
    one = augment.OneOf([augment.get("shift"), augment.get("flip")], weights=[1, 3])
    assert one.weights.tolist() == [0.25, 0.75]
    assert augment.OneOf([augment.get("shift"), augment.get("flip")]).weights.tolist() == [0.5, 0.5]
