"""Shift, flip and elastic: the contract every augmentation follows, plus their physics."""

import numpy as np
import pytest
import torch

from hsaug import augment
from hsaug.augment.interp import interp_rows

from conftest import smooth_spectra

WARP = ["shift", "flip", "elastic"]


@pytest.mark.parametrize("name", WARP)
def test_identity_at_neutral(name, spectra, wavelength):
    aug = augment.get(name)
    assert torch.equal(aug.apply(spectra, wavelength, **aug.neutral()), spectra)


@pytest.mark.parametrize("name", WARP)
def test_shape_dtype_kept_and_seeded(name, spectra, wavelength):
    aug = augment.get(name)
    out = aug(spectra.double(), wavelength, torch.Generator().manual_seed(3))
    assert out.shape == spectra.shape and out.dtype == torch.float64
    a = aug(spectra, wavelength, torch.Generator().manual_seed(7))
    b = aug(spectra, wavelength, torch.Generator().manual_seed(7))
    c = aug(spectra, wavelength, torch.Generator().manual_seed(8))
    assert torch.equal(a, b)
    if name != "flip":  # flip's draw is always amount = 1
        assert not torch.equal(a, c)


@pytest.mark.parametrize("name", WARP)
def test_replay_last_params(name, spectra, wavelength):
    aug = augment.get(name)
    out = aug(spectra, wavelength, torch.Generator().manual_seed(1))
    assert torch.equal(aug.apply(spectra, wavelength, **aug.last_params), out)


def test_shift_matches_numpy_interp_and_moves_features(wavelength):
    x = smooth_spectra(4, wavelength)
    delta = torch.tensor([0.0, 5.0, -12.5, 30.0])
    out = augment.get("shift").apply(x, wavelength, delta=delta)
    wl = wavelength.numpy()
    for i in range(4):
        ref = np.interp(wl - delta[i].item(), wl, x[i].numpy())
        inside = (wl - delta[i].item() >= wl[0]) & (wl - delta[i].item() <= wl[-1])
        np.testing.assert_allclose(out[i].numpy()[inside], ref[inside], atol=1e-5)
    # a feature at band j moves to wavelength + delta
    peak = torch.zeros(1, 224)
    peak[0, 100] = 1.0
    moved = augment.get("shift").apply(peak, wavelength, delta=float(wavelength[103] - wavelength[100]))
    assert int(moved.argmax()) == 103


def test_shift_there_and_back_is_identity_away_from_edges(spectra, wavelength):
    s = augment.get("shift")
    back = s.apply(s.apply(spectra, wavelength, delta=17.3), wavelength, delta=-17.3)
    torch.testing.assert_close(back[:, 5:-5], spectra[:, 5:-5], atol=2e-3, rtol=0)


@pytest.mark.parametrize("edge", ["extrapolate", "repeat"])
def test_shift_edge_rules(edge, wavelength):
    x = torch.linspace(0.1, 0.5, 224)[None, :]
    out = augment.get("shift", edge=edge).apply(x, wavelength, delta=50.0)
    if edge == "extrapolate":  # a straight line stays a straight line
        torch.testing.assert_close(out, x - (0.4 / 2100) * 50.0, atol=1e-5, rtol=0)
    else:  # the exposed left edge holds the first value
        assert torch.allclose(out[0, :5], x[0, 0])


def test_flip_twice_is_identity_and_reverses_even_grid(spectra, wavelength):
    f = augment.get("flip")
    once = f.apply(spectra, wavelength, amount=1.0)
    torch.testing.assert_close(once, spectra.flip(1), atol=1e-5, rtol=0)
    torch.testing.assert_close(f.apply(once, wavelength, amount=1.0), spectra, atol=1e-5, rtol=0)


def test_flip_uneven_grid_follows_eq2():
    # water bands removed: index reversal is wrong, eq. (2) interpolates
    wl = torch.cat([torch.linspace(400, 1300, 50), torch.linspace(1500, 2500, 60)])
    x = (wl / 2500.0)[None, :] ** 2
    out = augment.get("flip").apply(x, wl, amount=1.0)
    expected = ((wl[0] + wl[-1] - wl) / 2500.0) ** 2
    # piecewise-linear interpolation of a smooth curve: close, not equal
    torch.testing.assert_close(out[0], expected, atol=2e-3, rtol=0)
    assert not torch.allclose(out[0], x[0].flip(0), atol=1e-2)


def test_elastic_zero_amplitude_is_identity_and_bump_displaces_locally(wavelength):
    x = torch.linspace(0.1, 0.5, 224)[None, :]
    e = augment.get("elastic", n_kernels=1)
    out = e.apply(x, wavelength, A_1=20.0, lambda_1=1400.0, sigma=50.0)
    diff = (out - x)[0]
    # a straight line x(λ + ε(λ)) moves by slope·ε: largest at the kernel centre, ~0 far away
    centre = int((wavelength - 1400).abs().argmin())
    assert diff.abs().argmax().item() in range(centre - 2, centre + 3)
    torch.testing.assert_close(diff[centre], torch.tensor(0.4 / 2100 * 20.0), atol=1e-4, rtol=0)
    assert diff[:50].abs().max() < 1e-6


def test_elastic_specs_follow_n_kernels():
    names = [p.name for p in augment.get("elastic", n_kernels=2).params]
    assert names == ["A_1", "A_2", "lambda_1", "lambda_2", "sigma"]


def test_interp_reflect_mirrors_about_edge_band():
    wl = torch.arange(10.0)
    x = torch.arange(10.0)[None, :] ** 2
    out = interp_rows(x, wl, torch.tensor([[-2.0, 11.0] + [0.0] * 8]), "reflect")
    torch.testing.assert_close(out[0, :2], torch.tensor([4.0, 49.0]))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda a, x, wl: a.apply(x, wl, delta=500.0), r"delta must lie in \[-200, 200\] nm; got 500"),
        (lambda a, x, wl: a.apply(x, wl, delta=torch.zeros(3)), r"shape \(64,\)"),
        (lambda a, x, wl: a.apply(x, wl, gamma=1.0), "unknown parameter"),
        (lambda a, x, wl: a.apply(x[0], wl), "2-D"),
        (lambda a, x, wl: a.apply(x, wl[:-1]), "223 values but the spectra have 224 bands"),
        (lambda a, x, wl: a.apply(x, wl.flip(0)), "strictly increasing"),
        (lambda a, x, wl: a.apply(torch.full_like(x, float("inf")), wl), "finite"),
    ],
)
def test_bad_input_gets_clear_value_error(call, match, spectra, wavelength):
    with pytest.raises(ValueError, match=match):
        call(augment.get("shift"), spectra, wavelength)


def test_bad_config_and_unknown_name():
    with pytest.raises(ValueError, match=r"known: \['shift', 'flip'"):
        augment.get("rotate")
    with pytest.raises(ValueError, match="must lie within"):
        augment.get("shift", delta=(-300, 0))
    with pytest.raises(ValueError, match="option 'edge' must be one of"):
        augment.get("shift", edge="wrap")
    with pytest.raises(ValueError, match="unknown setting"):
        augment.get("shift", sigma=3)


def test_sample_respects_configured_range_and_positions(wavelength):
    g = torch.Generator().manual_seed(0)
    p = augment.get("shift", delta=(2.0, 3.0)).sample(1000, g)
    assert p["delta"].min() >= 2.0 and p["delta"].max() <= 3.0
    soil_grid = torch.linspace(1130, 2450, 100)
    q = augment.get("elastic").sample(500, g, soil_grid)
    assert q["lambda_1"].min() >= 1130 and q["lambda_1"].max() <= 2450


def test_cuda_device_kept_when_available(spectra, wavelength):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device here")
    for name in WARP:
        out = augment.get(name)(spectra.cuda(), wavelength, torch.Generator().manual_seed(0))
        assert out.is_cuda
