"""Named random-range sets: hsaug's defaults and the authors' code (hsaug.augment.ranges)."""

import numpy as np
import pytest
import torch

from hsaug import augment
from hsaug.augment.ranges import AVIRIS_BAND_NM, RANGES
from hsaug.augment.warp import gaussian_bumps

WL = torch.linspace(400.0, 2500.0, 224)


def test_sets_are_named_and_cover_every_augmentation():
    assert augment.range_sets() == ["hsaug", "authors"]
    assert set(RANGES["authors"]) == set(augment.names())
    with pytest.raises(ValueError, match=r"ranges must be one of \['hsaug', 'authors'\]; got 'paper'"):
        augment.get("shift", ranges="paper")


@pytest.mark.parametrize("name", augment.names())
def test_authors_ranges_lie_within_the_limits_and_draws_inside_them(name):
    aug = augment.get(name, ranges="authors")
    settings = RANGES["authors"][name]
    for p in aug.params:
        lo, hi = aug.ranges[p.name]
        assert p.low <= lo <= hi <= p.high, (p.name, lo, hi)
        if p.name in settings:  # the set's value, unchanged
            want = settings[p.name]
            assert (lo, hi) == (tuple(float(v) for v in want) if isinstance(want, tuple) else (want, want))
    draws = aug.sample(2000, torch.Generator().manual_seed(0), WL)
    for p in aug.params:
        lo, hi = aug.ranges[p.name]
        if p.position:
            lo, hi = max(lo, float(WL[0])), min(hi, float(WL[-1]))
        d = draws[p.name]
        assert float(d.min()) >= lo - 1e-5 and float(d.max()) <= hi + 1e-5, p.name
        if lo < hi:  # a range is used, not a point of it
            assert float(d.max() - d.min()) > 0.9 * (hi - lo), p.name
    for key, value in settings.items():
        if key in aug.option_values:
            assert aug.option_values[key] == value


def test_authors_shift_is_one_to_twenty_bands_to_the_right():
    lo, hi = augment.get("shift", ranges="authors").ranges["delta"]
    assert lo == pytest.approx(2100 / 223) and hi == pytest.approx(20 * 2100 / 223)
    assert (round(lo), round(hi)) == (9, 188)


def test_config_overrides_the_set_and_hsaug_is_the_class_default():
    assert augment.get("shift", ranges="authors", delta=(1.0, 2.0)).ranges["delta"] == (1.0, 2.0)
    assert repr(augment.get("shift", ranges="hsaug")) == repr(augment.get("shift"))
    combo = augment.build("shift+elastic", ranges="authors")
    assert combo.augmentations[0].ranges["delta"][0] == pytest.approx(AVIRIS_BAND_NM)


def _median_largest(displacement):
    return float(np.median(np.abs(displacement).max(axis=1)))


def test_authors_elastic_matches_their_displacement():
    """Median over spectra of the largest |displacement| [nm]: the authors' smoothed-noise field
    (alpha ~ randint(1, 50), sigma ~ randint(1, 10) bands, 224 bands of 9.417 nm) against
    eq. (6) with the "authors" set; hsaug's default is ten times gentler."""
    from scipy.ndimage import gaussian_filter1d

    rng = np.random.default_rng(0)
    alpha, sigma = rng.integers(1, 50, 3000), rng.integers(1, 10, 3000)
    noise = rng.uniform(-1, 1, (3000, 224))
    theirs = np.stack([gaussian_filter1d(noise[i], sigma[i]) * alpha[i] for i in range(3000)]) * AVIRIS_BAND_NM

    def ours(ranges):
        aug = augment.get("elastic", ranges=ranges)
        p = aug.sample(3000, torch.Generator().manual_seed(0), WL)
        k = sum(name.startswith("A_") for name in p)
        amps = torch.stack([p[f"A_{i}"] for i in range(1, k + 1)], 1)
        centres = torch.stack([p[f"lambda_{i}"] for i in range(1, k + 1)], 1)
        return gaussian_bumps(WL, amps, centres, p["sigma"]).numpy()

    t, a, h = _median_largest(theirs), _median_largest(ours("authors")), _median_largest(ours("hsaug"))
    assert 75 < t < 90  # 82.2 nm
    assert abs(a - t) < 0.1 * t  # 82 nm
    assert h < t / 5  # 7.9 nm


def test_cli_listing_shows_both_sets(capsys):
    from hsaug.cli import main

    assert main(["augmentations", "shift"]) == 0
    out = capsys.readouterr().out
    assert "draws hsaug (-20, 20); authors (9.417, 188.3)" in out
