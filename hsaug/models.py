"""The paper's regressor (§3.1, Fig. 1) and batched ensembles of it.

Feature extractor Φw: b → 128 → 64 → 32, regression head gθ: 32 → 16 → s, fully
connected, ReLU between layers (widths configurable). The features F used by the
contrastive loss are the output of Φw's last layer *before* its ReLU (the head starts
with that ReLU), so cosine similarities can take any sign; the predictions are those of
the plain MLP b → 128 → 64 → 32 → 16 → s with ReLU after every hidden layer.

:class:`MLPEnsemble` holds M independent copies with stacked weights (M, in, out) and runs
them as one batched computation (``torch.baddbmm``); on CPU each member's numbers are
bitwise those of the same member run alone (M = 1). :class:`Regressor` is one plain
``nn.Module`` copy (``ensemble.member(m)``), for use outside this package.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

__all__ = ["FEATURE_WIDTHS", "HEAD_WIDTHS", "MLPEnsemble", "Regressor", "check_widths"]

FEATURE_WIDTHS = (128, 64, 32)
HEAD_WIDTHS = (16,)


def check_widths(widths: Any, name: str, allow_empty: bool = False) -> tuple[int, ...]:
    """Layer widths as a tuple of positive ints; ValueError otherwise."""
    if isinstance(widths, (str, bytes)):
        raise ValueError(f"{name} must be a sequence of positive layer widths; got {widths!r}")
    try:
        out = tuple(int(w) for w in widths)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of positive layer widths; got {widths!r}") from None
    if any(w < 1 or w != float(v) for w, v in zip(out, widths)) or (not out and not allow_empty):
        raise ValueError(f"{name} must be a {'' if allow_empty else 'non-empty '}sequence of positive "
                         f"integer layer widths; got {widths!r}")
    return out


ALIGN = 16  # floats: each member's block of a parameter is padded to a multiple of this


def _alloc(n_members: int, shape: tuple[int, int], dtype: torch.dtype) -> torch.Tensor:
    """Zeroed storage for one parameter of all members: (M, *shape), or (M, P_padded) when the
    per-member size P is not a multiple of ``ALIGN``.

    Why: CPU kernels (fused Adam among them) run a vector loop and a scalar tail whose
    rounding can differ by an ulp; with every member's block starting and ending on a
    vector boundary, a member's numbers do not depend on the ensemble around it.
    """
    size = shape[0] * shape[1]
    pad = -size % ALIGN
    return torch.zeros(n_members, size + pad, dtype=dtype) if pad else torch.zeros(n_members, *shape, dtype=dtype)


def _view(raw: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    if raw.ndim == 3:
        return raw
    return raw[:, :shape[0] * shape[1]].view(raw.shape[0], *shape)


def _generator(g: torch.Generator | int | None) -> torch.Generator:
    if isinstance(g, torch.Generator):
        return g
    gen = torch.Generator()
    if g is None:
        gen.seed()
    else:
        gen.manual_seed(int(g))
    return gen


class MLPEnsemble(nn.Module):
    """M regressors Φw + gθ with stacked weights, run as one batched computation.

    ``n_bands`` inputs b, ``n_outputs`` outputs s, ``n_members`` M. ``init`` gives each
    member its initial weights: a sequence of M seeds or CPU ``torch.Generator`` (None:
    random). Initialisation is PyTorch's ``nn.Linear`` default, U(±1/√fan_in) for weights
    and biases, drawn layer by layer (weight, then bias) from the member's own generator,
    so a member's weights depend only on its own seed.

    ``weights[l]`` is (M, in, out) and ``biases[l]`` (M, 1, out): ``h ↦ h @ W + b``.
    """

    def __init__(
        self,
        n_bands: int,
        n_outputs: int,
        n_members: int = 1,
        *,
        feature_widths: Sequence[int] = FEATURE_WIDTHS,
        head_widths: Sequence[int] = HEAD_WIDTHS,
        init: Sequence[torch.Generator | int] | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        for value, name in ((n_bands, "n_bands"), (n_outputs, "n_outputs"), (n_members, "n_members")):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        self.feature_widths = check_widths(feature_widths, "feature_widths")
        self.head_widths = check_widths(head_widths, "head_widths", allow_empty=True)
        self.n_bands, self.n_outputs, self.n_members = n_bands, n_outputs, n_members
        dims = (n_bands, *self.feature_widths, *self.head_widths, n_outputs)
        self.dims = dims
        if init is not None and len(init) != n_members:
            raise ValueError(f"init must give one seed or generator per member ({n_members}); got {len(init)}")
        gens = [_generator(g) for g in (init if init is not None else [None] * n_members)]
        self.shapes: list[tuple[int, int]] = []
        for fan_in, fan_out in zip(dims[:-1], dims[1:]):
            self.shapes += [(fan_in, fan_out), (1, fan_out)]
        self.raw = nn.ParameterList([nn.Parameter(_alloc(n_members, shape, dtype)) for shape in self.shapes])
        with torch.no_grad():
            views = self._views()
            for m, g in enumerate(gens):  # a loop over members, only at construction
                for i, v in enumerate(views):  # weight then bias, layer by layer
                    bound = 1.0 / math.sqrt(self.shapes[i - i % 2][0])  # 1 / sqrt(fan_in)
                    v[m] = (torch.rand(v.shape[1:], generator=g) * 2 - 1) * bound
        if device is not None:
            self.to(device)

    def _views(self) -> list[torch.Tensor]:
        return [_view(raw, shape) for raw, shape in zip(self.raw, self.shapes)]

    @property
    def weights(self) -> list[torch.Tensor]:
        """Per layer, the (M, in, out) weights (views of the parameters)."""
        return self._views()[0::2]

    @property
    def biases(self) -> list[torch.Tensor]:
        """Per layer, the (M, 1, out) biases (views of the parameters)."""
        return self._views()[1::2]

    @property
    def n_layers(self) -> int:
        return len(self.weights)

    @property
    def n_features(self) -> int:
        """d, the width of the features F."""
        return self.feature_widths[-1]

    def config(self) -> dict[str, Any]:
        """Keyword arguments that rebuild this architecture (with ``load_state_dict``)."""
        return {"n_bands": self.n_bands, "n_outputs": self.n_outputs, "n_members": self.n_members,
                "feature_widths": list(self.feature_widths), "head_widths": list(self.head_widths)}

    def forward(self, x: torch.Tensor, members: slice | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Features (M', n, d) and predictions (M', n, s) of members ``members`` (a slice, default all).

        ``x`` is (M', n, b), one batch per selected member, or (n, b), the same batch for all.
        """
        views = self._views() if members is None else [v[members] for v in self._views()]
        ws, bs = views[0::2], views[1::2]
        h = x if x.ndim == 3 else x.expand(ws[0].shape[0], *x.shape)
        n_feat = len(self.feature_widths)
        features = h
        for layer, (w, b) in enumerate(zip(ws, bs)):
            h = torch.baddbmm(b, h, w)
            if layer == n_feat - 1:
                features = h
            if layer < len(ws) - 1:
                h = torch.relu(h)
        return features, h

    @torch.no_grad()
    def predict(self, x: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
        """Predictions (M, N, s) for spectra ``x`` (N, b), in chunks of ``chunk`` spectra."""
        parts = [self(x[i:i + chunk])[1] for i in range(0, x.shape[0], chunk)]
        return torch.cat(parts, dim=1)

    def select(self, members: Sequence[int] | torch.Tensor) -> MLPEnsemble:
        """A new ensemble holding copies of the given members, in the given order."""
        idx = torch.as_tensor(members, dtype=torch.long)
        if idx.ndim != 1 or idx.numel() == 0 or int(idx.min()) < 0 or int(idx.max()) >= self.n_members:
            raise ValueError(f"members must be indices in 0 … {self.n_members - 1}; got {members!r}")
        out = MLPEnsemble(self.n_bands, self.n_outputs, idx.numel(), feature_widths=self.feature_widths,
                          head_widths=self.head_widths, init=[0] * idx.numel(),
                          device=self.raw[0].device, dtype=self.raw[0].dtype)
        with torch.no_grad():
            for dst, src in zip(out.raw, self.raw):
                dst.copy_(src[idx.to(src.device)])
        return out

    @classmethod
    def concat(cls, ensembles: Sequence[MLPEnsemble]) -> MLPEnsemble:
        """One ensemble holding copies of all members of ``ensembles`` (same architecture), in order."""
        first = ensembles[0]
        if any(e.dims != first.dims for e in ensembles):
            raise ValueError(f"ensembles must share one architecture; got {[e.dims for e in ensembles]}")
        total = sum(e.n_members for e in ensembles)
        out = cls(first.n_bands, first.n_outputs, total, feature_widths=first.feature_widths,
                  head_widths=first.head_widths, init=[0] * total, device=first.raw[0].device,
                  dtype=first.raw[0].dtype)
        with torch.no_grad():
            for i, dst in enumerate(out.raw):
                dst.copy_(torch.cat([e.raw[i] for e in ensembles]))
        return out

    def member(self, m: int) -> Regressor:
        """Member ``m`` as a plain :class:`Regressor` (a copy of its weights)."""
        if not 0 <= m < self.n_members:
            raise ValueError(f"member must be in 0 … {self.n_members - 1}; got {m!r}")
        reg = Regressor(self.n_bands, self.n_outputs, feature_widths=self.feature_widths,
                        head_widths=self.head_widths)
        linears = [mod for mod in reg.modules() if isinstance(mod, nn.Linear)]
        with torch.no_grad():
            for lin, w, b in zip(linears, self.weights, self.biases):
                lin.weight.copy_(w[m].T)
                lin.bias.copy_(b[m, 0])
        return reg.to(self.raw[0].device)


class Regressor(nn.Module):
    """One regressor: ``forward(x)`` → (features (N, d), predictions (N, s)) for x (N, b).

    ``feature_extractor`` is Φw (Linear/ReLU…, ending on a Linear: the features) and
    ``head`` is gθ (ReLU, Linear, …). ``seed`` initialises it exactly as member 0 of an
    :class:`MLPEnsemble` with ``init=[seed]``.
    """

    def __init__(
        self,
        n_bands: int,
        n_outputs: int,
        *,
        feature_widths: Sequence[int] = FEATURE_WIDTHS,
        head_widths: Sequence[int] = HEAD_WIDTHS,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        fw = check_widths(feature_widths, "feature_widths")
        hw = check_widths(head_widths, "head_widths", allow_empty=True)
        dims = (n_bands, *fw)
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
            layers += [nn.Linear(a, b)] + ([nn.ReLU()] if i < len(fw) - 1 else [])
        self.feature_extractor = nn.Sequential(*layers)
        head: list[nn.Module] = []
        hdims = (fw[-1], *hw, n_outputs)
        for a, b in zip(hdims[:-1], hdims[1:]):
            head += [nn.ReLU(), nn.Linear(a, b)]
        self.head = nn.Sequential(*head)
        if seed is not None:
            src = MLPEnsemble(n_bands, n_outputs, 1, feature_widths=fw, head_widths=hw, init=[seed])
            self.load_state_dict(src.member(0).state_dict())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.feature_extractor(x)
        return features, self.head(features)
