"""The numbers the paper reports (Tables 1–4), to print beside ours.

Values are copied from Dhaini et al., ICASSP 2024. Table 1/2 give mean ± std over runs
(the paper does not say how many); Tables 3/4 give R² and its gain ΔR² at each greedy step.
Keys are hsaug's augmentation names; ``"baseline"`` is the MLP without contrastive loss.
"""

from __future__ import annotations

__all__ = ["TABLES", "table"]

# name -> (R² mean, R² std, MAE mean, MAE std)
_TABLE1 = {
    "baseline": (0.55, 0.004, 0.073, 0.07),
    "band_erasure": (0.62, 0.003, 0.064, 0.05),
    "band_permutation": (0.63, 0.003, 0.063, 0.05),
    "nearest_neighbor": (0.61, 0.004, 0.065, 0.05),
    "scattering": (0.64, 0.004, 0.061, 0.06),
    "atmospheric": (0.65, 0.004, 0.059, 0.06),
    "flip": (0.62, 0.005, 0.062, 0.07),
    "elastic": (0.66, 0.003, 0.058, 0.05),
    "shift": (0.75, 0.003, 0.053, 0.05),
}
_TABLE2 = {
    "baseline": (0.45, 0.002, 2274.04, 21.2),
    "band_erasure": (0.54, 0.003, 1620.22, 18.1),
    "band_permutation": (0.53, 0.003, 1700.04, 20.5),
    "nearest_neighbor": (0.54, 0.003, 1850.40, 34.5),
    "scattering": (0.56, 0.003, 1737.26, 18.2),
    "atmospheric": (0.55, 0.002, 1796.63, 16.1),
    "elastic": (0.58, 0.002, 1709.33, 18.3),
    "flip": (0.59, 0.002, 1708.52, 18.4),
    "shift": (0.59, 0.002, 1380.37, 16.5),
}
# greedy steps: (augmentations so far, R², ΔR² or None)
_TABLE3 = [
    (("shift",), 0.7522, None),
    (("shift", "atmospheric"), 0.7774, 0.0252),
    (("shift", "atmospheric", "scattering"), 0.7921, 0.0147),
    (("shift", "atmospheric", "scattering", "elastic"), 0.7922, 0.0001),
]
_TABLE4 = [
    (("shift",), 0.59000, None),
    (("shift", "atmospheric"), 0.60639, 0.01639),
    (("shift", "atmospheric", "elastic"), 0.61791, 0.01152),
    (("shift", "atmospheric", "elastic", "scattering"), 0.61793, 0.00002),
]

TABLES = {
    "table1": {"title": "Regression results on synthetic data", "kind": "comparison", "rows": _TABLE1,
               "mae_unit": "abundance"},
    "table2": {"title": "Regression results on real soil data", "kind": "comparison", "rows": _TABLE2,
               "mae_unit": "mg/kg"},
    "table3": {"title": "Combination study on synthetic data", "kind": "greedy", "rows": _TABLE3},
    "table4": {"title": "Combination study on real soil data", "kind": "greedy", "rows": _TABLE4},
}


def table(name: str) -> dict:
    """The paper's table by name (``"table1"`` … ``"table4"``)."""
    if name not in TABLES:
        raise ValueError(f"unknown paper table {name!r}; known: {sorted(TABLES)}")
    return TABLES[name]
