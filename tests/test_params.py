"""Param specs on the ground floor: importable alone, checked at construction and use."""

import math
import subprocess
import sys

import pytest
import torch

from hsaug.params import Option, Param, uniform


def test_params_imports_nothing_from_hsaug():
    code = "import sys, hsaug.params; print(sorted(m for m in sys.modules if m.startswith('hsaug.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['hsaug.params']"


def test_augment_reexports_the_same_objects():
    from hsaug import augment
    from hsaug.augment import base

    assert augment.Param is Param and base.Param is Param
    assert augment.Option is Option and augment.uniform is uniform


def test_param_refuses_default_or_sample_range_outside_limits():
    with pytest.raises(ValueError, match="default 5"):
        Param("a", 0.0, 1.0, 5.0)
    with pytest.raises(ValueError, match="sample_range"):
        Param("a", 0.0, 1.0, 0.0, sample_range=(0.5, 2.0))


@pytest.mark.parametrize("value, match", [
    (2.0, r"a must lie in \[0, 1\] nm; got 2"),
    (math.nan, r"a must lie in \[0, 1\] nm"),
    ("x", r"a must be a number in \[0, 1\] nm"),
])
def test_check_names_value_and_interval(value, match):
    with pytest.raises(ValueError, match=match):
        Param("a", 0.0, 1.0, 0.0, unit="nm").check(value)


def test_check_integer():
    k = Param("k", 1.0, 20.0, 1.0, integer=True)
    assert k.check(3) == 3.0
    with pytest.raises(ValueError, match=r"k must be a whole number in \[1, 20\]; got 2.5"):
        k.check(2.5)


def test_uniform_is_seeded_and_in_range():
    a = uniform(100, -2.0, 3.0, torch.Generator().manual_seed(1))
    b = uniform(100, -2.0, 3.0, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.dtype == torch.float32
    assert float(a.min()) >= -2.0 and float(a.max()) <= 3.0
    i = uniform(100, 1.0, 5.0, torch.Generator().manual_seed(1), integer=True)
    assert torch.equal(i, i.round()) and set(i.tolist()) <= {1.0, 2.0, 3.0, 4.0, 5.0}
