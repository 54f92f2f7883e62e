import pytest
import torch

from hsaug import augment
from hsaug.augment import Compose, OneOf


def test_compose_chains_in_order(spectra, wavelength):
    s = augment.get("shift", delta=10.0)
    f = augment.get("flip")
    out = Compose([s, f])(spectra, wavelength, torch.Generator().manual_seed(0))
    ref = f.apply(s.apply(spectra, wavelength, delta=10.0), wavelength, amount=1.0)
    torch.testing.assert_close(out, ref)


def test_oneof_per_batch_uses_one_member(spectra, wavelength):
    one = OneOf([augment.get("shift", delta=10.0), augment.get("flip")], mode="batch")
    out = one(spectra, wavelength, torch.Generator().manual_seed(0))
    k = int(one.last_choice[0])
    assert (one.last_choice == k).all()
    member = one.augmentations[k]
    torch.testing.assert_close(out, member.apply(spectra, wavelength, **member.last_params))


def test_oneof_per_sample_groups_rows(spectra, wavelength):
    s, f = augment.get("shift", delta=10.0), augment.get("flip")
    one = OneOf([s, f], mode="sample")
    out = one(spectra, wavelength, torch.Generator().manual_seed(0))
    c = one.last_choice
    assert 0 < int(c.sum()) < len(c)  # both members used on 64 rows
    torch.testing.assert_close(out[c == 0], s.apply(spectra[c == 0], wavelength, delta=10.0))
    torch.testing.assert_close(out[c == 1], f.apply(spectra[c == 1], wavelength, amount=1.0))


def test_build_reads_names_and_lists():
    assert augment.build(None) is None
    assert augment.build("shift").name == "shift"
    combo = augment.build("shift+flip")
    assert isinstance(combo, OneOf) and combo.name == "shift+flip"
    with pytest.raises(ValueError, match="unknown augmentation"):
        augment.build("shift+nope")
    with pytest.raises(ValueError, match="mode must be"):
        OneOf([augment.get("flip")], mode="pixel")
