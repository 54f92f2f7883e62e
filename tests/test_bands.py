"""Band erasure and band permutation: the augmentation contract plus what each must do."""

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hsaug import augment
from hsaug.augment.bands import BandErasure, BandPermutation, fill_gaps, hash32

from conftest import smooth_spectra

CONFIGS = [
    ("band_erasure", {}),
    ("band_erasure", {"fill": "interpolate"}),
    ("band_erasure", {"fill": "interpolate", "width": (1, 12)}),
    ("band_permutation", {}),
    ("band_permutation", {"block": (1, 40), "share": (0.2, 1.0)}),
]
IDS = [f"{n}-{c}" for n, c in CONFIGS]


def params(**values):
    return {k: torch.as_tensor(v, dtype=torch.float32) for k, v in values.items()}


@pytest.mark.parametrize(("name", "cfg"), CONFIGS, ids=IDS)
def test_identity_at_neutral(name, cfg, spectra, wavelength):
    aug = augment.get(name, **cfg)
    assert torch.equal(aug.apply(spectra, wavelength, **aug.neutral()), spectra)
    assert torch.equal(aug.apply(spectra, wavelength), spectra)


@pytest.mark.parametrize(("name", "cfg"), CONFIGS, ids=IDS)
def test_shape_dtype_kept_seeded_and_replayable(name, cfg, spectra, wavelength):
    aug = augment.get(name, **cfg)
    out = aug(spectra.double(), wavelength, torch.Generator().manual_seed(3))
    assert out.shape == spectra.shape and out.dtype == torch.float64
    a = aug(spectra, wavelength, torch.Generator().manual_seed(7))
    replay = aug.apply(spectra, wavelength, **aug.last_params)
    b = aug(spectra, wavelength, torch.Generator().manual_seed(7))
    c = aug(spectra, wavelength, torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and torch.equal(a, replay)
    assert not torch.equal(a, c)
    assert not torch.equal(a, spectra)
    # apply is a pure function of its parameters: a fresh instance gives the same result
    fresh = augment.get(name, **cfg).apply(spectra, wavelength, **aug.last_params)
    assert torch.equal(fresh, c)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
@pytest.mark.parametrize(("name", "cfg"), CONFIGS, ids=IDS)
def test_same_result_on_gpu(name, cfg, spectra, wavelength):
    aug = augment.get(name, **cfg)
    cpu = aug(spectra, wavelength, torch.Generator().manual_seed(5))
    gpu = aug.apply(spectra.cuda(), wavelength, **aug.last_params)
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-6, rtol=0)


# -- band erasure --------------------------------------------------------------------

def test_erasure_erases_the_right_fraction_in_runs_of_width():
    e = BandErasure()
    g = torch.Generator().manual_seed(0)
    n, b = 400, 224
    p = params(fraction=torch.rand(n, generator=g) * 0.9, width=torch.randint(0, 65, (n,), generator=g),
               position=torch.rand(n, generator=g))
    mask = e.mask(b, p)
    expected = torch.round(p["fraction"].double() * b).long()
    assert torch.equal(mask.sum(1), expected)
    start, length = e.runs(b, p)
    width = p["width"].long()
    assert ((length <= width[:, None]) | (width[:, None] == 0)).all()
    assert torch.equal(length.sum(1), expected)
    # runs are disjoint and in order (unused runs, of length 0, are ignored)
    end = start + length
    used = length > 0
    nxt = torch.where(used[:, 1:], start[:, 1:], torch.full_like(start[:, 1:], b))
    assert ((nxt >= end[:, :-1]) | ~used[:, :-1]).all()


def test_erasure_single_run_placement_and_zero_fill(wavelength):
    x = smooth_spectra(3, wavelength)
    out = augment.get("band_erasure").apply(x, wavelength, fraction=0.1, position=torch.tensor([0.0, 0.5, 1.0]))
    zero = out == 0
    n_erase = round(0.1 * 224)
    assert (zero.sum(1) == n_erase).all()
    firsts = zero.float().argmax(1)
    assert firsts.tolist() == [0, int(0.5 * (224 - n_erase + 1)), 224 - n_erase]
    for i, f in enumerate(firsts.tolist()):  # one contiguous run, the rest untouched
        assert zero[i, f:f + n_erase].all()
    assert torch.equal(out[~zero], x[~zero])


def test_erasure_several_runs_spread_along_the_axis():
    e = BandErasure()
    mask = e.mask(30, params(fraction=[0.2], width=[2], position=[0.0]))
    assert mask[0].nonzero().flatten().tolist() == [0, 1, 10, 11, 20, 21]
    mask = e.mask(30, params(fraction=[0.2], width=[2], position=[1.0]))
    assert mask[0].nonzero().flatten().tolist() == [8, 9, 18, 19, 28, 29]


def test_interpolate_fill_is_linear_across_a_gap():
    wl = torch.tensor([400.0, 410.0, 420.0, 440.0, 480.0, 500.0])  # uneven grid
    x = torch.tensor([[1.0, 2.0, 5.0, 7.0, 3.0, 4.0]])
    erased = torch.tensor([[False, False, True, True, False, False]])
    out = fill_gaps(x, wl, erased)
    # straight line in wavelength from (410, 2) to (480, 3)
    expected = torch.tensor([[1.0, 2.0, 2.0 + 10 / 70, 2.0 + 30 / 70, 3.0, 4.0]])
    torch.testing.assert_close(out, expected)
    # end gaps hold the nearest kept value
    ends = torch.tensor([[True, True, False, False, True, True]])
    assert fill_gaps(x, wl, ends).tolist() == [[5.0, 5.0, 5.0, 7.0, 7.0, 7.0]]
    assert fill_gaps(x, wl, torch.ones_like(ends)).tolist() == [[0.0] * 6]


def test_interpolate_option_reproduces_a_straight_spectrum(wavelength):
    x = (0.2 + 1e-4 * (wavelength - 400))[None, :].expand(4, -1).contiguous()
    for width in (0, 3):
        aug = augment.get("band_erasure", fill="interpolate")
        out = aug.apply(x, wavelength, fraction=0.3, width=width, position=torch.tensor([0.3, 0.4, 0.6, 0.7]))  # no end gaps
        torch.testing.assert_close(out, x, atol=1e-6, rtol=0)
        assert not torch.equal(augment.get("band_erasure").apply(x, wavelength, fraction=0.3, width=width), x)


@pytest.mark.parametrize("n_bands", [3, 17, 224])
def test_interpolate_run_path_equals_general_gap_filling(n_bands):
    # the option fills per run (touching runs merge into one gap); fill_gaps works from the mask
    g = torch.Generator().manual_seed(n_bands)
    x = torch.rand(300, n_bands, generator=g)
    wl = torch.cumsum(torch.rand(n_bands, generator=g) + 0.5, 0) + 400  # uneven grid
    e = BandErasure(fill="interpolate")
    p = params(fraction=torch.rand(300, generator=g) * 0.9, width=torch.randint(0, 8, (300,), generator=g),
               position=torch.rand(300, generator=g))
    p["fraction"][:20] = 0.9  # crowded runs that touch, and (for 3 bands) nothing kept
    out = e.apply(x, wl, **p)
    torch.testing.assert_close(out, fill_gaps(x, wl, e.mask(n_bands, p)), atol=1e-6, rtol=0)
    one_run = {**p, "width": torch.zeros(300)}
    torch.testing.assert_close(e.apply(x, wl, **one_run), fill_gaps(x, wl, e.mask(n_bands, one_run)),
                               atol=1e-6, rtol=0)


def test_erasure_rejects_bad_settings(spectra, wavelength):
    with pytest.raises(ValueError, match="fraction"):
        augment.get("band_erasure").apply(spectra, wavelength, fraction=0.95)
    with pytest.raises(ValueError, match="fill"):
        augment.get("band_erasure", fill="mean")
    with pytest.raises(ValueError, match="width"):
        augment.get("band_erasure", width=(-1, 3))


# -- band permutation ----------------------------------------------------------------

def test_hash32_is_lowbias32_and_bijective():
    ref = _lowbias32  # the plain-Python reference, defined with the per-row references below
    values = [0, 1, 2, 12345, 2**24 - 1, 2**31 + 7, 2**32 - 1]
    assert hash32(torch.tensor(values)).tolist() == [ref(v) for v in values]
    h = hash32(torch.arange(100_000))
    assert h.unique().numel() == 100_000 and int(h.min()) >= 0 and int(h.max()) < 2**32


def test_permutation_is_a_permutation_of_bands(wavelength):
    x = smooth_spectra(200, wavelength, seed=1)
    aug = augment.get("band_permutation", block=(1, 60), share=(0.0, 1.0))
    out = aug(x, wavelength, torch.Generator().manual_seed(0))
    assert torch.equal(out.sort(1).values, x.sort(1).values)
    src = aug.source(224, aug.last_params)
    assert torch.equal(src.sort(1).values, torch.arange(224).expand(200, -1))
    assert torch.equal(out, x.gather(1, src))


def test_permutation_moves_whole_blocks_and_the_share_asked(wavelength):
    x = torch.arange(224.0)[None, :].repeat(5, 1)  # value = band index
    share = torch.tensor([1.0, 0.5, 0.25, 1 / 11, 1.0])
    out = augment.get("band_permutation").apply(x, wavelength, block=20, share=share, seed=torch.arange(5.0))
    blocks = out[:, :220].view(5, 11, 20)
    # every block is a whole input block, in order inside
    assert torch.equal(blocks - blocks[..., :1], torch.arange(20.0).expand(5, 11, 20))
    assert (blocks[..., 0] % 20 == 0).all()
    moved = (blocks[..., 0] != torch.arange(0.0, 220.0, 20.0)).sum(1)
    assert moved.tolist() == [11, 6, 3, 0, 11]  # round(share * 11); a single block cannot move
    assert torch.equal(out[:, 220:], x[:, 220:])  # the trailing partial block stays
    assert not torch.equal(out[0], out[4])  # the seed decides the order


def test_permutation_per_spectrum_block_sizes_match_uniform_path(spectra, wavelength):
    p = augment.get("band_permutation")
    seeds = torch.arange(64.0) * 1000
    uniform = p.apply(spectra, wavelength, block=16, share=1.0, seed=seeds)
    mixed_block = torch.full((64,), 16.0)
    mixed_block[-1] = 7.0  # forces the general per-spectrum path
    mixed = p.apply(spectra, wavelength, block=mixed_block, share=1.0, seed=seeds)
    assert torch.equal(mixed[:-1], uniform[:-1])
    assert torch.equal(mixed[-1].sort().values, spectra[-1].sort().values)


def test_permutation_with_block_past_the_band_count_is_identity(spectra, wavelength):
    out = augment.get("band_permutation").apply(spectra, wavelength, block=256, share=1.0, seed=3)
    assert torch.equal(out, spectra)


def test_permutation_rejects_bad_settings(spectra, wavelength):
    p = augment.get("band_permutation")
    with pytest.raises(ValueError, match="share"):
        p.apply(spectra, wavelength, share=1.5)
    with pytest.raises(ValueError, match="block"):
        p.apply(spectra, wavelength, block=0)
    with pytest.raises(ValueError, match="seed"):
        p.apply(spectra, wavelength, seed=-1)


# -- pinned to plain per-row references (one Python loop per spectrum) ----------------

def _lowbias32(v):
    v &= 0xFFFFFFFF
    v ^= v >> 16
    v = (v * 0x7FEB352D) & 0xFFFFFFFF
    v ^= v >> 15
    v = (v * 0x846CA68B) & 0xFFFFFFFF
    return v ^ (v >> 16)


def _erased_bands(b, fraction, width, position):
    """The erased band indices of one spectrum, from the stretch rule of the docstring."""
    ne = min(max(round(float(np.float32(fraction)) * b), 0), b)
    w = round(float(width))
    runs = -(-ne // w) if w > 0 else int(ne > 0)
    runs_or_1, kept = max(runs, 1), b - ne
    bands = []
    for r in range(runs):
        erased_before = r * ne // runs_or_1
        kept_before = -(-r * kept // runs_or_1)
        length = (r + 1) * ne // runs_or_1 - erased_before
        free = -(-(r + 1) * kept // runs_or_1) - kept_before
        offset = min(int(float(np.float32(position)) * (free + 1)), free)
        first = erased_before + kept_before + offset
        bands += range(first, first + length)
    return bands


def _fill_row(x, wl, erased):
    """Straight lines in wavelength across each gap; end gaps hold the nearest kept value."""
    kept = [j for j in range(len(x)) if j not in erased]
    out = list(x)
    if not kept:
        return [0.0] * len(x)
    for j in erased:
        lo = max((k for k in kept if k < j), default=None)
        hi = min((k for k in kept if k > j), default=None)
        lo, hi = (hi if lo is None else lo), (lo if hi is None else hi)
        t = 0.0 if lo == hi else (wl[j] - wl[lo]) / (wl[hi] - wl[lo])
        out[j] = x[lo] + t * (x[hi] - x[lo])
    return out


@pytest.mark.parametrize("n_bands", [2, 17, 30, 224])
def test_erasure_matches_a_per_row_reference(n_bands):
    g = torch.Generator().manual_seed(n_bands)
    n = 60
    x = torch.rand(n, n_bands, generator=g) + 0.1
    wl = torch.cumsum(torch.rand(n_bands, generator=g) + 0.5, 0) + 400
    p = params(fraction=torch.rand(n, generator=g) * 0.9, position=torch.rand(n, generator=g),
               width=torch.randint(0, 9, (n,), generator=g))
    p["fraction"][:4] = torch.tensor([0.0, 0.9, 0.9, 0.5])
    p["position"][4:8] = torch.tensor([0.0, 1.0, 0.0, 1.0])
    # mixed, one run, several runs; a tenth of the fractions takes the scatter path of zero fill
    for width, fraction in itertools.product((p["width"], torch.zeros(n), torch.full((n,), 3.0)),
                                             (p["fraction"], p["fraction"] / 10)):
        q = {**p, "width": width, "fraction": fraction}
        zero = BandErasure().apply(x, wl, **q)
        filled = BandErasure(fill="interpolate").apply(x.double(), wl, **q)
        for i in range(n):
            erased = _erased_bands(n_bands, q["fraction"][i], q["width"][i], q["position"][i])
            assert len(set(erased)) == len(erased)
            expected = x[i].clone()
            expected[erased] = 0.0
            assert torch.equal(zero[i], expected), i
            line = _fill_row(x[i].double().tolist(), wl.double().tolist(), erased)
            torch.testing.assert_close(filled[i], torch.tensor(line, dtype=torch.float64), atol=1e-6, rtol=0)


def test_permutation_matches_a_per_row_reference():
    g = torch.Generator().manual_seed(0)
    n, b = 80, 50
    x = torch.rand(n, b, generator=g)
    seed = torch.randint(0, 2**24, (n,), generator=g).float()
    share = torch.rand(n, generator=g)
    share[:3] = torch.tensor([0.0, 1.0, 1.0])
    blocks = {"one size": torch.full((n,), 7.0), "a few sizes": torch.tensor([1.0, 3.0, 16.0, 50.0]).repeat(20),
              "many sizes": torch.arange(1.0, n + 1.0)}  # > 32 distinct sizes, some past b
    for block in blocks.values():
        out = BandPermutation().apply(x, torch.linspace(400, 900, b), block=block, share=share, seed=seed)
        for i in range(n):
            size = min(int(block[i]), b)
            nb = b // size
            m = round(float(share[i]) * nb)
            h = _lowbias32(int(seed[i]))
            order = sorted(range(nb), key=lambda s: _lowbias32(h + s))  # random order; the first m move
            src = list(range(nb))
            for k in range(m):  # slot order[k] receives block order[k - 1] (a cycle)
                src[order[k]] = order[(k - 1) % m]
            bands = [src[j // size] * size + j % size if j < nb * size else j for j in range(b)]
            assert torch.equal(out[i], x[i, bands]), i


# -- any parameter value within the specs --------------------------------------------

def _spec_values(cls):
    return st.fixed_dictionaries({
        p.name: (st.integers(int(p.low), int(p.high)).map(float) if p.integer
                 else st.floats(p.low, p.high, allow_nan=False))
        for p in cls.param_specs
    })


@settings(max_examples=25, deadline=None)
@given(values=_spec_values(BandErasure), fill=st.sampled_from(["zero", "interpolate"]),
       n_bands=st.integers(2, 80))
def test_erasure_finite_for_any_spec_value(values, fill, n_bands):
    wl = torch.linspace(400.0, 2500.0, n_bands)
    x = torch.rand(3, n_bands) + 0.1
    out = BandErasure(fill=fill).apply(x, wl, **values)
    assert out.shape == x.shape and torch.isfinite(out).all()
    erased = BandErasure().mask(n_bands, params(**{k: [v] * 3 for k, v in values.items()}))
    assert int(erased[0].sum()) == round(np.float64(np.float32(values["fraction"])) * n_bands)


@settings(max_examples=25, deadline=None)
@given(values=_spec_values(BandPermutation), n_bands=st.integers(2, 80))
def test_permutation_finite_for_any_spec_value(values, n_bands):
    wl = torch.linspace(400.0, 2500.0, n_bands)
    x = torch.rand(3, n_bands)
    out = BandPermutation().apply(x, wl, **values)
    assert torch.isfinite(out).all()
    assert torch.equal(out.sort(1).values, x.sort(1).values)
