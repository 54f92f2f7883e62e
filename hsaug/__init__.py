"""hsaug: spectral augmentations and contrastive regression for hyperspectral data.

Implements Dhaini, Berar, Honeine & Van Exem, "Contrastive Learning for Regression on
Hyperspectral Data", ICASSP 2024, as a small library behind notebooks.
"""

__version__ = "0.1.0"

__all__ = ["Model", "load_model", "predict_map"]


def __getattr__(name: str):
    """``hsaug.Model``, ``hsaug.load_model``, ``hsaug.predict_map`` without importing torch at ``import hsaug``."""
    if name in ("Model", "load_model"):
        from . import predictor

        return getattr(predictor, name)
    if name == "predict_map":
        from . import maps

        return maps.predict_map
    raise AttributeError(f"module 'hsaug' has no attribute {name!r}")
