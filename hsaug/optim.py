"""The optimiser every batched training loop uses (training, folds, pretraining): Adam, and the
guard against subnormal moments.

Adam's first moment of a weight whose gradient stays zero (a dead ReLU unit) decays by 0.9 a
step and passes through the subnormal floats (< 1.2e-38) after ~800 steps; CPU arithmetic on
them is many times slower (epochs took twice as long from the fourth on, and flushing
subnormals per thread does not reach torch's worker threads). Every :data:`SUBNORMAL_EVERY`
steps, moments below :data:`SUBNORMAL_FLOOR` are set to zero: over that many steps a larger one
cannot decay below 1.2e-38, and the update it would have made (lr * 1e-30 / eps) is below
float32 resolution of any weight.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

__all__ = ["SUBNORMAL_EVERY", "SUBNORMAL_FLOOR", "adam", "zero_tiny_moments"]

SUBNORMAL_EVERY, SUBNORMAL_FLOOR = 64, 1e-30


def adam(params: Iterable[torch.nn.Parameter], lr: float) -> torch.optim.Optimizer:
    """Adam at ``lr``, fused where the device allows it, else foreach."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):  # fused not supported here
        return torch.optim.Adam(params, lr=lr, foreach=True)


@torch.no_grad()
def zero_tiny_moments(opt: torch.optim.Optimizer) -> None:
    """Zero Adam's first moments below :data:`SUBNORMAL_FLOOR` (see the module docstring)."""
    for state in opt.state.values():
        if "exp_avg" in state:
            state["exp_avg"].masked_fill_(state["exp_avg"].abs() < SUBNORMAL_FLOOR, 0.0)
