"""hsaug: spectral augmentations and contrastive regression for hyperspectral data.

Implements Dhaini, Berar, Honeine & Van Exem, "Contrastive Learning for Regression on
Hyperspectral Data", ICASSP 2024, as a small library behind notebooks.
"""

__version__ = "0.1.0"
