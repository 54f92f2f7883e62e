"""Cross-validation members in one ensemble: each member learns only from its own rows."""

import numpy as np
import pytest

from hsaug import synthetic
from hsaug.folds import fit_members

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def scene():
    ds = synthetic.make_scene("paper", n_rows=8, n_cols=8, seed=0)
    return ds["spectra"].values, ds["target"].values, ds["wavelength"].values


KW = dict(epochs=3, checkpoints=(1, 3), batch_size=8)


@pytest.mark.parametrize("aug", [None, "shift"])
def test_a_member_never_sees_labels_outside_its_rows(scene, aug):
    x, y, wl = scene
    rows = [np.arange(0, 40), np.arange(20, 64)]
    kw = dict(KW, alpha=[0.0, 0.1] if aug else 0.0, augmentation=aug, target_index=[0, 1], seeds=[5, 6])
    a = fit_members(x, y, wl, rows, **kw)
    poisoned = y.copy()
    poisoned[40:, 0] = 1e3  # outside member 0's rows, target 0
    b = fit_members(x, poisoned, wl, rows, **kw)
    assert a["predictions"].shape == (2, 2, 64) and a["checkpoints"] == [1, 3]
    np.testing.assert_array_equal(a["predictions"][:, 0], b["predictions"][:, 0])
    np.testing.assert_array_equal(a["predictions"][:, 1], b["predictions"][:, 1])  # member 1 uses target 1


def test_same_rows_and_seed_give_the_same_member_and_per_member_specs(scene):
    x, y, wl = scene
    rows = [np.arange(48)] * 3
    out = fit_members(x, y, wl, rows, seeds=[1, 1, 2], augmentation=[None, None, "shift"], alpha=[0, 0, 0.01],
                      mse_on_views=[False, False, True], predict_rows=np.arange(48, 64), **KW)
    p = out["predictions"]
    assert p.shape == (2, 3, 16)
    np.testing.assert_array_equal(p[:, 0], p[:, 1])
    assert not np.array_equal(p[:, 0], p[:, 2])
    with pytest.raises(ValueError, match="needs an augmentation"):
        fit_members(x, y, wl, rows[:1], alpha=0.1, **KW)
    with pytest.raises(ValueError, match="at least 2 row indices"):
        fit_members(x, y, wl, [np.array([0])], **KW)
