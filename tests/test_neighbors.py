"""Nearest-neighbour augmentation: brute-force agreement, the gather path, errors."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hsaug import augment
from hsaug.augment import neighbors
from hsaug.augment.neighbors import NearestNeighbor, nearest
from hsaug.spectra import to_dataarray

from conftest import smooth_spectra


@pytest.fixture
def ref(wavelength):
    return smooth_spectra(120, wavelength, seed=4)


def brute_mean(x, reference, k):
    """Mean of x and its k − 1 nearest reference rows other than x itself (numpy, float64)."""
    x, r = np.asarray(x, float), np.asarray(reference, float)
    d = ((x[:, None, :] - r[None, :, :]) ** 2).sum(-1)
    d[d == 0] = np.inf  # x itself, when it is in the reference, counts once
    idx = np.argsort(d, axis=1, kind="stable")[:, : k - 1]
    return (x + r[idx].sum(1)) / k


def test_identity_at_neutral_with_and_without_reference(ref, wavelength):
    x = ref[:10]
    unfitted = augment.get("nearest_neighbor")
    assert torch.equal(unfitted.apply(x, wavelength, **unfitted.neutral()), x)
    nn = augment.get("nearest_neighbor", reference=ref)
    assert torch.equal(nn.apply(x, wavelength, k=1), x)
    assert torch.equal(nn.apply(x, wavelength, k=1, index=torch.arange(10)), x)
    assert torch.equal(nn.apply(x + 0.01, wavelength, k=torch.tensor([1.0] * 9 + [3.0]))[:9], x[:9] + 0.01)


def test_fit_matches_brute_force_neighbours(ref):
    table = NearestNeighbor(reference=ref).neighbors
    assert table.shape == (120, 20)
    assert torch.equal(table[:, 0], torch.arange(120))  # itself first
    r = ref.double().numpy()
    d = ((r[:, None] - r[None]) ** 2).sum(-1)
    expected = np.argsort(d, axis=1, kind="stable")[:, :5]
    assert np.array_equal(table[:, :5].numpy(), expected)


def test_fit_in_chunks_gives_the_same_table(ref, monkeypatch):
    whole = NearestNeighbor(reference=ref).neighbors
    monkeypatch.setattr(neighbors, "_CHUNK_ELEMENTS", 7 * 120)  # 7 rows per chunk
    assert torch.equal(NearestNeighbor(reference=ref).neighbors, whole)


def test_gather_path_matches_brute_force_k5(ref, wavelength):
    nn = augment.get("nearest_neighbor", reference=ref)
    index = torch.tensor([0, 5, 119, 5, 42])
    out = nn.apply(ref[index], wavelength, index=index, k=5)
    expected = brute_mean(ref[index].double(), ref.double(), 5)
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-6)
    assert not torch.allclose(out, ref[index])


def test_compute_path_matches_gather_path_on_reference_rows(ref, wavelength):
    nn = augment.get("nearest_neighbor", reference=ref)
    k = torch.randint(1, 21, (120,), generator=torch.Generator().manual_seed(0)).float()
    gathered = nn.apply(ref, wavelength, index=torch.arange(120), k=k)
    computed = nn.apply(ref, wavelength, k=k)
    torch.testing.assert_close(computed, gathered, atol=1e-6, rtol=0)


def test_compute_path_for_new_spectra_matches_brute_force(ref, wavelength):
    x = smooth_spectra(30, wavelength, seed=9)
    out = augment.get("nearest_neighbor", reference=ref).apply(x, wavelength, k=5)
    np.testing.assert_allclose(out.numpy(), brute_mean(x.double(), ref.double(), 5), atol=1e-6)


def test_per_sample_k(ref, wavelength):
    nn = augment.get("nearest_neighbor", reference=ref)
    index = torch.arange(6)
    k = torch.tensor([1.0, 2.0, 3.0, 5.0, 10.0, 20.0])
    out = nn.apply(ref[:6], wavelength, index=index, k=k)
    for i, ki in enumerate(k.long().tolist()):
        np.testing.assert_allclose(out[i].numpy(), brute_mean(ref[i:i + 1].double(), ref.double(), ki)[0],
                                   atol=1e-6)


def test_duplicates_in_the_reference(ref, wavelength):
    dup = torch.cat([ref[:50], ref[:1]])  # row 50 repeats row 0
    nn = NearestNeighbor(reference=dup)
    assert int(nn.neighbors[0, 0]) == 0 and int(nn.neighbors[0, 1]) == 50
    assert int(nn.neighbors[50, 0]) == 50 and int(nn.neighbors[50, 1]) == 0
    # the copy is a neighbour (counted once), on both paths
    k2 = nn.apply(dup[:1], wavelength, index=torch.tensor([0]), k=2)
    assert torch.equal(k2, dup[:1])
    torch.testing.assert_close(nn.apply(dup[:1], wavelength, k=3), nn.apply(dup[:1], wavelength, index=[0], k=3))


def test_fit_accepts_arrays_and_dataarrays(ref, wavelength):
    a = NearestNeighbor(reference=ref).neighbors
    assert torch.equal(NearestNeighbor().fit(ref.numpy()).neighbors, a)
    assert torch.equal(NearestNeighbor().fit(to_dataarray(ref, wavelength)).neighbors, a)
    assert torch.equal(augment.get("nearest_neighbor", k=(2, 4), reference=ref.double()).neighbors, a)


def test_shape_dtype_kept_seeded_and_replayable(ref, wavelength):
    nn = augment.get("nearest_neighbor", k=(1, 20), reference=ref)
    index = torch.arange(120)
    out = nn(ref.double(), wavelength, torch.Generator().manual_seed(1), index=index)
    assert out.shape == ref.shape and out.dtype == torch.float64
    a = nn(ref, wavelength, torch.Generator().manual_seed(2), index=index)
    assert torch.equal(nn.apply(ref, wavelength, index=index, **nn.last_params), a)
    assert torch.equal(nn(ref, wavelength, torch.Generator().manual_seed(2), index=index), a)
    assert not torch.equal(nn(ref, wavelength, torch.Generator().manual_seed(3), index=index), a)


def test_small_reference_caps_k(wavelength):
    few = smooth_spectra(4, wavelength)
    nn = NearestNeighbor(reference=few)
    assert nn.neighbors.shape == (4, 4)
    torch.testing.assert_close(nn.apply(few, wavelength, k=4, index=torch.arange(4)),
                               few.mean(0, keepdim=True).expand(4, -1))
    with pytest.raises(ValueError, match="k must be at most 4"):
        nn.apply(few, wavelength, k=5)


def test_errors(ref, wavelength):
    x = ref[:8]
    with pytest.raises(ValueError, match=r"fit\(reference\).*reference="):
        NearestNeighbor().apply(x, wavelength, k=5)
    with pytest.raises(ValueError, match=r"fit\(reference\)"):
        NearestNeighbor()(x, wavelength, torch.Generator().manual_seed(0))
    nn = NearestNeighbor(reference=ref)
    with pytest.raises(ValueError, match=r"k must lie in \[1, 20\]"):
        nn.apply(x, wavelength, k=21)
    with pytest.raises(ValueError, match="k must lie"):
        nn.apply(x, wavelength, k=0)
    with pytest.raises(ValueError, match="50 bands but the reference has 224"):
        nn.apply(x[:, :50], wavelength[:50], k=3)
    with pytest.raises(ValueError, match=r"index must have shape \(8,\)"):
        nn.apply(x, wavelength, k=3, index=torch.arange(7))
    with pytest.raises(ValueError, match=r"index must hold rows of the reference, 0 … 119"):
        nn.apply(x, wavelength, k=3, index=torch.arange(8) + 115)
    with pytest.raises(ValueError, match="reference must be finite"):
        NearestNeighbor(reference=torch.full((3, 224), float("nan")))
    with pytest.raises(ValueError, match="unknown setting 'refrence'"):
        NearestNeighbor(refrence=ref)


def test_nearest_self_rows_puts_each_row_first():
    r = torch.zeros(6, 3)  # all rows equal: only the self rule orders them
    assert torch.equal(nearest(r, r, 3, self_rows=True)[:, 0], torch.arange(6))


@settings(max_examples=20, deadline=None)
@given(k=st.integers(1, 20), n_ref=st.integers(20, 60), n_bands=st.integers(2, 40), use_index=st.booleans())
def test_finite_for_any_spec_value(k, n_ref, n_bands, use_index):
    g = torch.Generator().manual_seed(n_ref * n_bands)
    reference = torch.rand(n_ref, n_bands, generator=g)
    wl = torch.linspace(400.0, 2500.0, n_bands)
    nn = NearestNeighbor(reference=reference)
    index = torch.arange(n_ref) if use_index else None
    out = nn.apply(reference, wl, index=index, k=k)
    assert out.shape == reference.shape and torch.isfinite(out).all()
    # a mean of spectra lies within their per-band range
    assert (out >= reference.min(0).values - 1e-6).all() and (out <= reference.max(0).values + 1e-6).all()
