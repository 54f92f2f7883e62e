"""The self-supervised objectives, batched over members ((M, ·, p) → (M,)): SimCLR's NT-Xent
and VICReg, and the method names :func:`hsaug.pretrain.pretrain` accepts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

__all__ = ["METHODS", "VICREG_WEIGHTS", "nt_xent", "vicreg_loss", "ssl_loss", "check_method"]

METHODS = ("simclr", "vicreg")
VICREG_WEIGHTS = (25.0, 25.0, 1.0)  # invariance, variance, covariance (Bardes et al. 2022)


def nt_xent(z: torch.Tensor, tau: float = 0.1) -> torch.Tensor:
    """SimCLR's NT-Xent over (M, 2N, p) projections: rows i and i + N are the two views of one
    spectrum. Cosine similarity / τ; the log-sum-exp subtracts 1/τ (the largest possible
    similarity), so no exp underflows to a subnormal for τ ≥ 0.03. Returns (M,)."""
    n2 = z.shape[-2]
    n = n2 // 2
    zn = torch.nn.functional.normalize(z, dim=-1, eps=1e-12)
    sim = zn @ zn.transpose(-1, -2) / tau
    off = 1.0 - torch.eye(n2, dtype=sim.dtype, device=sim.device)
    lse = torch.log((torch.exp(sim - 1.0 / tau) * off).sum(-1)) + 1.0 / tau
    idx = torch.arange(n2, device=sim.device)
    pos = sim[..., idx, (idx + n) % n2]
    return (lse - pos).mean(-1)


def vicreg_loss(z1: torch.Tensor, z2: torch.Tensor, weights: Sequence[float] = VICREG_WEIGHTS) -> torch.Tensor:
    """VICReg over two views' projections (M, N, p) each: invariance + variance + covariance. (M,)"""
    inv_w, var_w, cov_w = weights
    p = z1.shape[-1]
    inv = (z1 - z2).square().mean(dim=(-1, -2))

    def var_cov(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        zc = z - z.mean(dim=-2, keepdim=True)
        n = z.shape[-2]
        std = torch.sqrt(zc.square().sum(-2) / max(n - 1, 1) + 1e-4)
        cov = zc.transpose(-1, -2) @ zc / max(n - 1, 1)
        off = cov.square().sum((-1, -2)) - cov.diagonal(dim1=-2, dim2=-1).square().sum(-1)
        return torch.relu(1.0 - std).mean(-1), off / p

    v1, c1 = var_cov(z1)
    v2, c2 = var_cov(z2)
    return inv_w * inv + var_w * (v1 + v2) + cov_w * (c1 + c2)


def ssl_loss(method: str, z: torch.Tensor, n: int, tau: float) -> torch.Tensor:
    """The self-supervised loss (M,) of ``method`` on projections z (M, 2n, p): NT-Xent at ``tau``, or VICReg on the halves."""
    return nt_xent(z, tau) if method == "simclr" else vicreg_loss(z[:, :n], z[:, n:])


def check_method(method: Any) -> str:
    """``method`` if it is one of :data:`METHODS`, else a ValueError naming the accepted ones."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}; got {method!r}")
    return method
