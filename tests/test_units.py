"""hsaug.spectra's unit vocabulary, band order and the robust wavelength-check cache."""

import warnings

import numpy as np
import pytest
import torch

from hsaug import spectra as sp

# ---------------------------------------------------------------- to_nanometres


@pytest.mark.parametrize("unit", ["nm", "Nanometers", "nanometres", " NM "])
def test_nanometre_spellings_keep_values(unit):
    np.testing.assert_array_equal(sp.to_nanometres([400, 500], unit), [400, 500])


@pytest.mark.parametrize(
    "unit", ["um", "µm", "μm", "Micrometers", "micrometres", "micron", "microns", "Micrometer"]
)
def test_micrometre_spellings_multiply_by_1000(unit):  # µ: U+00B5 and μ: U+03BC both accepted
    np.testing.assert_allclose(sp.to_nanometres([0.4, 2.5], unit), [400, 2500])


@pytest.mark.parametrize("unit", ["cm-1", "cm^-1", "cm⁻¹", "1/cm", "Wavenumber"])
def test_wavenumbers_become_nm(unit):
    np.testing.assert_allclose(sp.to_nanometres([4000.0, 10000.0], unit), [2500.0, 1000.0])


def test_undeclared_grid_that_looks_like_micrometres_is_converted_with_a_warning():
    with pytest.warns(sp.UnitsWarning, match=r"grid: wavelengths 1.1-2.48 declare no unit .* micrometres: converted"):
        out = sp.to_nanometres([1.1, 1.5, 2.48], None, "grid")
    np.testing.assert_allclose(out, [1100, 1500, 2480])
    with pytest.raises(ValueError, match="grid: wavelengths 1.1-2.48 .*look like micrometres; declare the unit"):
        sp.to_nanometres([1.1, 2.48], "unknown", "grid", strict=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nm-looking grids, undeclared: no warning
        np.testing.assert_array_equal(sp.to_nanometres([400, 2500], ""), [400, 2500])


def test_unknown_units_and_bad_values_are_refused():
    with pytest.raises(ValueError, match="f.hdr: wavelength units 'furlongs' are not known; accepted are nm"):
        sp.to_nanometres([1, 2], "furlongs", "f.hdr")
    with pytest.raises(ValueError, match="wavenumbers must be positive"):
        sp.to_nanometres([0.0, 10.0], "cm-1")
    with pytest.raises(ValueError, match="must be numeric"):
        sp.to_nanometres(["a", "b"], "nm")


# ---------------------------------------------------------------- order_bands

AVIRIS_LIKE = [655.8, 665.5, 675.6, 664.1, 673.8, 683.6]  # two detectors overlap at 664-676 nm


def test_overlapping_detectors_default_error_names_the_pair_and_the_options():
    with pytest.raises(ValueError, match=r"scene.hdr: wavelength must be strictly increasing; band 2 at 675.6 nm "
                                         r"is followed by band 3 at 664.1 nm. Pass bands='sort'"):
        sp.order_bands(AVIRIS_LIKE, source="scene.hdr: wavelength")


def test_sort_interleaves_detectors_stably_and_applies_to_any_leading_shape():
    order = sp.order_bands(AVIRIS_LIKE, "sort")
    np.testing.assert_array_equal(order.wavelength, sorted(AVIRIS_LIKE))
    x = np.arange(2 * 3 * 6, dtype=float).reshape(2, 3, 6)
    np.testing.assert_array_equal(order.apply(x), x[..., [0, 3, 1, 4, 2, 5]])


def test_average_merges_equal_wavelengths_and_sort_refuses_them():
    wl = [400.0, 500.0, 600.0, 500.0, 700.0]
    with pytest.raises(ValueError, match="repeated wavelength .500 nm twice.*bands='average'"):
        sp.order_bands(wl, "sort")
    with pytest.raises(ValueError, match="Pass bands='average'"):
        sp.order_bands(wl)
    order = sp.order_bands(wl, "average")
    np.testing.assert_array_equal(order.wavelength, [400, 500, 600, 700])
    x = np.array([[1.0, 2.0, 3.0, 4.0, 5.0]])
    np.testing.assert_array_equal(order.apply(x), [[1.0, 3.0, 3.0, 5.0]])


def test_band_order_on_dask_stays_lazy_and_equals_numpy():
    import dask.array as da

    x = np.random.default_rng(0).normal(size=(8, 6, 6))
    for mode, wl in (("sort", AVIRIS_LIKE), ("average", [1, 2, 2, 3, 5, 4])):
        order = sp.order_bands(np.asarray(wl, float) * 100, mode)
        lazy = order.apply(da.from_array(x, chunks=(4, 3, 2)))
        assert type(lazy).__module__.startswith("dask")
        np.testing.assert_allclose(lazy.compute(), order.apply(x))


def test_increasing_grid_is_untouched_and_bad_mode_named():
    order = sp.order_bands([1.0, 2.0, 3.0])
    assert order.identity
    x = np.ones((2, 3))
    assert order.apply(x) is x
    with pytest.raises(ValueError, match=r"bands must be one of \('error', 'sort', 'average'\); got 'shuffle'"):
        sp.order_bands([1.0, 2.0], "shuffle")


# ---------------------------------------------------------------- cached wavelength check


def test_cache_sees_in_place_edits_through_numpy_and_data():
    wl = torch.linspace(400.0, 2500.0, 10)
    sp.check_wavelength(wl, 10)
    wl.numpy()[3] = 100.0  # bumps no version counter
    with pytest.raises(ValueError, match="strictly increasing"):
        sp.check_wavelength(wl, 10)
    wl = torch.linspace(400.0, 2500.0, 10)
    sp.check_wavelength(wl, 10)
    wl.data[5] = float("nan")  # neither does .data
    with pytest.raises(ValueError, match="finite"):
        sp.check_wavelength(wl, 10)
    wl.data[5] = 1400.0  # repaired in place: accepted again
    assert sp.check_wavelength(wl, 10).shape == (10,)


def test_public_describe():
    assert sp.describe(np.zeros((2, 3))) == "ndarray of shape (2, 3) and dtype float64"


def test_sort_undoes_any_permutation_of_bands():
    rng = np.random.default_rng(3)
    wl = np.sort(rng.uniform(400, 2500, 50))
    x = rng.normal(size=(4, 50))
    for _ in range(20):
        perm = rng.permutation(50)
        order = sp.order_bands(wl[perm], "sort")
        np.testing.assert_array_equal(order.wavelength, wl)
        np.testing.assert_array_equal(order.apply(x[:, perm]), x)
