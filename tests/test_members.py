"""Per-member drawing lives in the augment package and draws exactly as before.

``_old_apply_rows`` is a frozen copy of the function that lived in hsaug/training.py
(c93eaf3, lines 284–353) before the logic moved to ``apply_members``; the one change is
its test for "the base draw" (``type(aug).sample is Augmentation.sample`` then, ``_sample``
now that ``_sample`` is the override point). The new path must match it bitwise.
"""

import pytest
import torch

from hsaug import augment
from hsaug.augment import Augmentation, Compose, OneOf, Param
from hsaug.augment.members import apply_rows, augment_members, fit_reference


def _old_merge_blocks(gens, counts):
    out_g, out_c = [], []
    for g, c in zip(gens, counts):
        if out_g and out_g[-1] is g:
            out_c[-1] += c
        else:
            out_g.append(g)
            out_c.append(c)
    return out_g, out_c


def _old_apply_rows(aug, x, wl, gens, counts, index):
    if isinstance(aug, Augmentation):
        wl_arg = wl if any(p.position for p in aug.params) else None
        if type(aug)._sample is Augmentation._sample:
            gens, counts = _old_merge_blocks(gens, counts)
        drawn = [aug.sample(c, g, wl_arg) for g, c in zip(gens, counts) if c > 0]
        params = {k: torch.cat([d[k] for d in drawn]) for k in drawn[0]}
        return aug.apply(x, wl, index=index, validate=False, **params)
    if isinstance(aug, Compose):
        for sub in aug.augmentations:
            x = _old_apply_rows(sub, x, wl, gens, counts, index)
        return x
    if isinstance(aug, OneOf):
        live = list(zip(gens, counts))
        if aug.mode == "batch":
            choice = torch.cat([
                torch.multinomial(aug.weights, 1, generator=g).expand(c) if c > 0 else torch.empty(0, dtype=torch.long)
                for g, c in live
            ])
        else:
            choice = torch.cat([
                torch.multinomial(aug.weights, c, replacement=True, generator=g) if c > 0
                else torch.empty(0, dtype=torch.long) for g, c in live
            ])
        owner = torch.repeat_interleave(torch.arange(len(counts)), torch.as_tensor(counts))
        out = torch.empty_like(x)
        for k, sub in enumerate(aug.augmentations):
            rows = (choice == k).nonzero().flatten()
            if rows.numel() == 0:
                continue
            sub_counts = torch.bincount(owner[rows], minlength=len(counts)).tolist()
            sub_index = None if index is None else index[rows]
            out[rows] = _old_apply_rows(sub, x[rows], wl, gens, sub_counts, sub_index)
        return out
    raise AssertionError("not used here")


B = 48
WL = torch.linspace(400.0, 2500.0, B)
X = torch.rand(30, B, generator=torch.Generator().manual_seed(5)) * 0.8 + 0.1


def _configs():
    nn = augment.get("nearest_neighbor", k=(1, 6)).fit(X)
    return {
        "shift": augment.get("shift"),
        "elastic": augment.get("elastic", n_kernels=4),
        "scattering_independent": augment.get("scattering", draw="independent", mu2=(0.3, 1.0)),
        "atmospheric": augment.get("atmospheric", mu2=(0.5, 1.0)),
        "band_erasure": augment.get("band_erasure", width=(0, 8), fraction=(0.0, 0.3)),
        "nearest_neighbor": nn,
        "oneof_batch": augment.build("shift+elastic+scattering"),
        "oneof_sample": OneOf([augment.get("shift"), augment.get("scattering"), augment.get("atmospheric")],
                              mode="sample", weights=[1, 2, 3]),
        "nested": Compose([augment.get("elastic"),
                           OneOf([Compose([augment.get("shift"), augment.get("scattering")]),
                                  augment.get("band_permutation")], mode="sample")]),
    }


@pytest.mark.parametrize("name", list(_configs()))
@pytest.mark.parametrize("seed", [0, 3])
def test_new_path_matches_the_old_training_code_bitwise(name, seed):
    aug = _configs()[name]
    # the training loop's chunk pattern: each member's generator repeated for several batches
    sizes = [4, 6, 5]
    for grid in (WL, torch.cat([WL[:20], WL[28:]])):
        x = X[:, :grid.numel()]
        rows = torch.randint(0, 30, (30,), generator=torch.Generator().manual_seed(seed))
        outs = []
        for f in (_old_apply_rows, apply_rows):
            gens = [torch.Generator().manual_seed(seed * 10 + g) for g in range(2)]
            gl = [g for g in gens for _ in sizes]
            aug_x = x[rows] if name != "nearest_neighbor" else X[rows]
            g_wl = grid if name != "nearest_neighbor" else WL
            outs.append(f(aug, aug_x, g_wl, gl, sizes * 2, rows))
        assert torch.equal(outs[0], outs[1])


def test_plain_call_is_the_one_member_case():
    for aug in (augment.build("shift+scattering"), OneOf([augment.get("shift"), augment.get("flip")], mode="sample"),
                Compose([augment.get("elastic"), augment.get("shift")])):
        a = aug(X, WL, torch.Generator().manual_seed(4))
        b = augment_members(aug, X[None], WL, [torch.Generator().manual_seed(4)])[0]
        assert torch.equal(a, b)


def test_training_uses_the_augment_package():
    from hsaug import training

    assert training.augment_members is augment_members
    assert not hasattr(training, "_apply_rows") and not hasattr(training, "_needs_wavelength")


def test_fit_reference_reaches_members_and_skips_the_rest():
    nn = augment.get("nearest_neighbor")
    combo = OneOf([augment.get("shift"), Compose([augment.get("flip"), nn])])
    assert combo.needs_reference and not augment.build("shift+flip").needs_reference
    assert fit_reference(combo, X) is combo and nn.reference is not None and nn.reference.shape == X.shape
    assert fit_reference(None, X) is None
    shift = augment.get("shift")
    assert shift.fit(X) is shift and not shift.needs_reference


def test_declared_attributes_replace_probing():
    assert augment.get("elastic").needs_wavelength and not augment.get("shift").needs_wavelength
    assert augment.get("nearest_neighbor").needs_reference
    assert augment.get("shift").merge_draws and not augment.get("scattering").merge_draws

    class Custom(Augmentation):
        name = "custom"
        param_specs = (Param("a", 0.0, 1.0, 0.0),)

        def _sample(self, n, generator, wavelength):
            return {"a": torch.rand(n, generator=generator).sort().values}

    assert not Custom.merge_draws  # an own draw is never merged across blocks unless declared


def test_generators_count_checked():
    with pytest.raises(ValueError, match="one generator per member"):
        augment_members(augment.get("shift"), X.reshape(3, 10, B), WL, [torch.Generator()])
