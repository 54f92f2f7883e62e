"""Augmentations that act on whole bands by index: band erasure and band permutation
(paper §3.2, after Hu et al. 2021). Both are pure index arithmetic on (N, B) tensors:
erased runs are written by one scatter (or masked), permutations come from integer
hashes and move whole blocks with one ``index_select``; no loop over spectra.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .base import Augmentation, Option, Param, Params

__all__ = ["BandErasure", "BandPermutation", "fill_gaps", "hash32"]


def _mul32(x: torch.Tensor, c: int) -> torch.Tensor:
    """(x · c) mod 2³² for int64 ``x`` in [0, 2³²): split ``c`` in 16-bit halves so that no
    product leaves int64 (signed overflow would be device-dependent)."""
    hi, lo = c >> 16, c & 0xFFFF
    high = (x * hi).bitwise_and_(0xFFFF).bitwise_left_shift_(16)
    return high.add_(x, alpha=lo).bitwise_and_(0xFFFFFFFF)  # in place on a fresh tensor


def hash32(x: torch.Tensor) -> torch.Tensor:
    """A bijective 32-bit integer hash (Wellons' *lowbias32*), elementwise on int64 tensors.

    Same numbers on every device; used to turn a per-sample ``seed`` into random keys.
    In-place steps on one fresh tensor: the (N, blocks) keys are a hot path.
    """
    x = x & 0xFFFFFFFF
    x ^= x >> 16
    x = _mul32(x, 0x7FEB352D)
    x ^= x >> 15
    x = _mul32(x, 0x846CA68B)
    x ^= x >> 16
    return x


def _argsort_rows(key: torch.Tensor) -> torch.Tensor:
    """``key.argsort(dim=1)`` for (N, W) int64 keys that are distinct within each row (so any
    sort gives the same order). On the CPU numpy's sort of short rows is about twice as fast
    as torch's, which sorts the rows one after another in one thread."""
    if key.device.type == "cpu":
        return torch.from_numpy(np.argsort(key.numpy(), axis=1))
    return key.argsort(dim=1)


class BandErasure(Augmentation):
    """Band erasure: a ``fraction`` of the bands is erased, as contiguous runs.

    ``round(fraction · B)`` bands are erased per spectrum. ``width`` = 0 (the authors' code)
    erases them as one contiguous run; ``width`` = w > 0 splits them into
    ``ceil(erased / w)`` runs of at most w bands (near-equal lengths), spread along the
    axis: the band axis is tiled by as many stretches, each holding one run and an even
    share of the kept bands. ``position`` in [0, 1] places every run inside its stretch
    (0 = at its start, 1 = at its end); for one run it is the run's start as a fraction of
    the free range 0 … B − erased, so a uniform draw gives a uniform start band.

    ``fill``: ``"zero"`` (the authors' code) sets erased bands to 0; ``"interpolate"``
    draws a straight line in wavelength across each gap between the kept bands either
    side; a gap at an end of the spectrum holds the nearest kept value.
    Neutral: ``fraction`` = 0. The authors erase 10 % as one run at one start shared by the
    batch; here each spectrum draws its own start.
    """

    name = "band_erasure"
    param_specs = (
        Param("fraction", 0.0, 0.9, 0.0, doc="share of the bands erased", sample_range=(0.1, 0.1), step=0.01),
        Param("width", 0.0, 64.0, 0.0, unit="bands", integer=True,
              doc="bands per run; 0 = all erased bands in one run", sample_range=(0.0, 0.0)),
        Param("position", 0.0, 1.0, 0.0, doc="place of each run inside its stretch (0 = start, 1 = end)",
              step=0.01),
    )
    options = (Option("fill", ("zero", "interpolate"), "zero", "value given to erased bands"),)

    def runs(self, n_bands: int, params: Params, device: torch.device | None = None
             ) -> tuple[torch.Tensor, torch.Tensor]:
        """First band and length (N, R) of each erased run, R = the most runs in the batch;
        unused runs have length 0. Runs lie in consecutive disjoint stretches, left to right."""
        b = n_bands
        n_erase = torch.round(params["fraction"].to(device).double() * b).long().clamp_(0, b)  # (N,)
        width = params["width"].to(device).round().long()
        n_runs = torch.where(width > 0, (n_erase + width - 1) // width.clamp(min=1), (n_erase > 0).long())
        ne, kept = n_erase[:, None], (b - n_erase)[:, None]
        position = params["position"].to(device).double()[:, None]
        n_max = int(n_runs.max())
        if n_max <= 1:  # one run per spectrum: the general formulas below at r = 0, R = 1
            return torch.minimum((position * (kept + 1)).long(), kept), ne
        runs = n_runs.clamp(min=1)[:, None]  # (N, 1)
        r = torch.arange(n_max, device=device)[None, :]  # (1, R)
        # stretch r holds run r (erased bands shared out evenly) and its share of the kept
        # bands; the stretches tile the axis, so runs never overlap and exactly n_erase go
        erased_before = (r * ne) // runs
        kept_before = (r * kept + runs - 1) // runs
        length = torch.where(r < runs, ((r + 1) * ne) // runs - erased_before, 0)
        free = ((r + 1) * kept + runs - 1) // runs - kept_before
        offset = torch.minimum((position * (free + 1)).long(), free)
        start = erased_before + kept_before + offset
        return start.clamp(max=b), length

    def mask(self, n_bands: int, params: Params, device: torch.device | None = None) -> torch.Tensor:
        """The (N, B) boolean mask of erased bands for per-sample ``params`` (N,) each."""
        return _run_mask(*self.runs(n_bands, params, device), n_bands)

    def _apply(self, x: torch.Tensor, wavelength: torch.Tensor, params: Params, index: Any) -> torch.Tensor:
        start, length = self.runs(x.shape[1], params, x.device)
        if self.option_values["fill"] == "zero":
            return _zero_runs(x, start, length)
        return _fill_runs(x, wavelength, _run_mask(start, length, x.shape[1]), start, length)


def _zero_runs(x: torch.Tensor, start: torch.Tensor, length: torch.Tensor) -> torch.Tensor:
    """``x`` (N, B) with the runs [start, start + length) (N, R) set to 0. Few erased bands:
    a copy, then a scatter to those bands only; many: an (N, B) mask and ``where``."""
    b = x.shape[1]
    k = torch.arange(int(length.max()), device=x.device)  # (L,) place inside a run
    # the scatter's cost grows with R·L, a mask's does not: measured break-even near B/8
    # for one run, B/3 for several (their mask costs more)
    if start.shape[1] * k.numel() > (b // 8 if start.shape[1] == 1 else b // 3):
        return torch.where(_run_mask(start, length, b), 0.0, x)
    # (N, R·L) bands: slots past a run's end repeat its last band, an empty run points at
    # the row's first run (never empty when the row erases anything), and a row with
    # nothing to erase writes its first run's band back with its own value
    first = start[:, :1].clamp(max=b - 1)
    base = torch.where(length > 0, start, first)
    cells = (base[:, :, None] + torch.minimum(k, (length - 1).clamp_(min=0)[:, :, None])).flatten(1)
    value = torch.where(length[:, :1] > 0, 0.0, x.gather(1, first))  # (N, 1)
    return x.clone(memory_format=torch.contiguous_format).scatter_(1, cells, value.expand_as(cells))


def _run_mask(start: torch.Tensor, length: torch.Tensor, n_bands: int) -> torch.Tensor:
    """(N, B) bool: True inside the runs [start, start + length) given as (N, R)."""
    b, device = n_bands, start.device
    end = (start + length).clamp(max=b)
    if start.shape[1] == 1:  # one run: rows of a (B + 1, B) table "band >= v", XORed
        at_least = torch.arange(b, device=device) >= torch.arange(b + 1, device=device)[:, None]
        return at_least.index_select(0, start[:, 0]).logical_xor_(at_least.index_select(0, end[:, 0]))
    # several runs: +1 at each start, −1 at each end, running sum (0 or 1: runs are
    # disjoint) is 1 inside a run; int8 halves the scan's memory traffic
    ones = torch.ones_like(start, dtype=torch.int8)
    edges = torch.zeros(start.shape[0], b + 1, dtype=torch.int8, device=device)
    edges.scatter_add_(1, start, ones).scatter_add_(1, end, -ones)
    return edges[:, :b].cumsum(dim=1, dtype=torch.int8) > 0


def fill_gaps(x: torch.Tensor, wavelength: torch.Tensor, erased: torch.Tensor) -> torch.Tensor:
    """``x`` (N, B) with the ``erased`` (N, B) bands replaced by straight lines in wavelength
    [nm] between the nearest kept bands; end gaps hold the nearest kept value, and a
    spectrum with no kept band becomes 0. Works for any mask: the nearest kept band on
    each side comes from running max / min of kept band indices (no loops).
    """
    n, b = x.shape
    j = torch.arange(b, dtype=torch.int32, device=x.device).expand(n, b)  # int32: 2x faster scans
    kept = ~erased
    left = torch.where(kept, j, -1).cummax(dim=1).values
    right = torch.where(kept, j, b).flip(1).cummin(dim=1).values.flip(1)
    # an end gap takes its one kept neighbour at both ends, so the line there is flat
    lc = torch.where(left < 0, right, left).clamp_(max=b - 1).long()
    rc = torch.where(right >= b, left, right).clamp_(min=0).long()
    wl = wavelength.to(x.dtype)
    grid = wl.expand(lc.shape[0], -1)
    wl_l = grid.gather(1, lc)
    span = (grid.gather(1, rc) - wl_l).clamp_(min=1e-6)  # 0 only where lc = rc: t is 0 or moot
    filled = torch.lerp(x.gather(1, lc), x.gather(1, rc), (wl - wl_l) / span)
    out = torch.where(erased, filled, x)
    none_kept = erased.all(dim=1)
    if bool(none_kept.any()):
        out[none_kept] = 0.0
    return out


def _fill_runs(
    x: torch.Tensor, wavelength: torch.Tensor, erased: torch.Tensor, start: torch.Tensor, length: torch.Tensor
) -> torch.Tensor:
    """:func:`fill_gaps` for gaps given as sorted disjoint runs (N, R): the kept neighbours,
    values and line of each run are found per run, then spread to its bands."""
    n, b = x.shape
    end = start + length
    # a run that starts where the previous one ends is the same gap: it shares its neighbours
    touch = torch.zeros_like(start, dtype=torch.bool)
    touch[:, 1:] = (start[:, 1:] == end[:, :-1]) & (length[:, :-1] > 0)
    touch_next = torch.cat([touch[:, 1:], torch.zeros_like(touch[:, :1])], dim=1)
    left = torch.where(touch, -1, start - 1).cummax(dim=1).values
    right = torch.where(touch_next, b, end).flip(1).cummin(dim=1).values.flip(1)
    # an end gap takes its one kept neighbour at both ends, so the line there is flat
    lc = torch.where(left < 0, right, left).clamp_(max=b - 1)
    rc = torch.where(right >= b, left, right).clamp_(min=0)
    wl = wavelength.to(x.dtype)
    xl, xr, wl_l = x.gather(1, lc), x.gather(1, rc), wl[lc]
    span = (wl[rc] - wl_l).clamp_(min=1e-6)
    if start.shape[1] > 1:  # spread the run values to the bands of each run
        marks = torch.zeros(n, b + 1, dtype=torch.int32, device=x.device)
        marks.scatter_add_(1, start, torch.ones_like(start, dtype=torch.int32))  # +1 at each run's start
        run = marks[:, :b].cumsum(dim=1, dtype=torch.int32).sub_(1).clamp_(min=0).long()
        xl, xr, wl_l, span = (v.gather(1, run) for v in (xl, xr, wl_l, span))
    out = torch.where(erased, torch.lerp(xl, xr, (wl - wl_l) / span), x)
    none_kept = length.sum(dim=1) >= b
    if bool(none_kept.any()):
        out[none_kept] = 0.0
    return out


class BandPermutation(Augmentation):
    """Band permutation: the bands are cut into blocks of ``block`` bands and a ``share`` of
    the blocks trade places.

    ``m = round(share · n_blocks)`` blocks are chosen at random and moved along one random
    cycle, so every chosen block leaves its place when m ≥ 2 (m = 1 moves nothing). The
    choice and the cycle come from ``seed`` (a whole number, one per spectrum) through an
    integer hash, so ``apply`` is deterministic and identical on every device. Only full
    blocks move: the trailing ``B mod block`` bands stay at the end. The result is always
    a permutation of the bands (values are moved, never changed).
    Neutral: ``share`` = 0. The authors' code shuffles all blocks of 20 bands
    (``share`` = 1, ``block`` = 20), where a uniform shuffle may leave some blocks in place.
    """

    name = "band_permutation"
    param_specs = (
        Param("block", 1.0, 256.0, 20.0, unit="bands", integer=True, doc="bands per block",
              sample_range=(20.0, 20.0)),
        Param("share", 0.0, 1.0, 0.0, doc="share of the blocks that move", sample_range=(1.0, 1.0), step=0.01),
        Param("seed", 0.0, float(2**24 - 1), 0.0, integer=True,
              doc="which blocks move and where (any whole number < 2**24)"),
    )

    def block_map(self, n_bands: int, params: Params, device: torch.device | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor]:
        """Block size (N,) and the source block of each block slot (N, max blocks + 1);
        the last slot, and every slot past a spectrum's full blocks, maps to itself."""
        block, perm = self._blocks(n_bands, params, device)
        spare = torch.full_like(perm[:, :1], perm.shape[1])  # never moves (for trailing bands)
        return block, torch.cat([perm, spare], dim=1)

    def _blocks(self, n_bands: int, params: Params, device: torch.device | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`block_map` without the spare slot: block size (N,), sources (N, max blocks)."""
        b = n_bands
        block = params["block"].to(device).round().long().clamp(1, b)  # (N,)
        n_blocks = b // block
        m = torch.round(params["share"].to(device).double() * n_blocks).long()  # blocks that move
        seed = params["seed"].to(device).round().long()
        fewest, most = (int(v) for v in n_blocks.aminmax())
        slot = torch.arange(most, device=device)
        # distinct random keys per row (hash32 is a bijection), unused slots last in order
        key = hash32(hash32(seed)[:, None] + slot)
        if fewest < most:
            key = torch.where(slot < n_blocks[:, None], key, (1 << 32) + slot)
        order = _argsort_rows(key)  # random order of the blocks; the first m move
        # slot order[i] receives block order[i - 1] along the cycle (i < m), slot order[0]
        # block order[m - 1]; other slots keep theirs. A roll is that cycle when all move
        src = order.roll(1, dims=1)
        if int(m.min()) < most:
            src = torch.where(slot < m[:, None], src, order)
            src[:, 0] = order.gather(1, (m - 1).clamp(min=0)[:, None])[:, 0]  # m = 0: order[0]
        return block, torch.empty_like(order).scatter_(1, order, src)

    def source(self, n_bands: int, params: Params, device: torch.device | None = None) -> torch.Tensor:
        """(N, B) long: the input band that lands at each output band (a permutation per row)."""
        block, perm = self.block_map(n_bands, params, device)
        moved = perm - torch.arange(perm.shape[1], device=device)  # block offset of each slot
        j = torch.arange(n_bands, device=device)
        # block of each band, floor((j + ½) / block): exact in float32 for these sizes
        jb = ((j.float() + 0.5)[None, :] / block[:, None].float()).long().clamp_(max=perm.shape[1] - 1)
        return j + moved.gather(1, jb) * block[:, None]

    def _apply(self, x: torch.Tensor, wavelength: torch.Tensor, params: Params, index: Any) -> torch.Tensor:
        if not bool((params["share"] > 0).any()):
            return x.clone()
        sizes = params["block"].round().clamp(1, x.shape[1])
        smallest, largest = (int(v) for v in sizes.aminmax())
        if smallest == largest:
            return self._permute_blocks(x, params, smallest)
        distinct = sizes.unique()
        if distinct.numel() > 32:  # many sizes: one gather of a per-band source index
            return x.gather(1, self.source(x.shape[1], params, x.device))
        # a few sizes: whole-block gathers per size (a loop over sizes, not spectra),
        # so that small blocks in some rows do not widen the work of all rows
        out = torch.empty_like(x)
        for size in distinct.tolist():
            rows = (sizes == size).nonzero().flatten()
            out[rows] = self._permute_blocks(x[rows], {k: v[rows] for k, v in params.items()}, int(size))
        return out

    def _permute_blocks(self, x: torch.Tensor, params: Params, size: int) -> torch.Tensor:
        """The permutation for rows that share one block ``size``: copy whole blocks."""
        n, b = x.shape
        _, perm = self._blocks(b, params, x.device)  # (N, b // size)
        nb = perm.shape[1]
        # block k of row i starts at i·B + k·size in the flat data: one index per block
        # into a view of every size-long window, instead of an (N, B) gather index
        first = perm * size + torch.arange(0, n * b, b, device=x.device)[:, None]
        windows = x.contiguous().view(-1).unfold(0, size, 1)
        body = windows.index_select(0, first.flatten()).view(n, nb * size)
        return body if nb * size == b else torch.cat([body, x[:, nb * size:]], dim=1)
