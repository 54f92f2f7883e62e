"""Training throughput: one model alone vs the Table-1 protocol's 45 models trained batched.

Table 1 of the paper: 9 configurations (the MLP without contrastive loss, and the
contrastive model with each of the 8 augmentations) × 5 seeds, 100 epochs, batch 32, on
a 100 × 100 synthetic scene (8,000 training pixels, 224 bands, 4 abundances).

Prints, in seconds per model for the full 100 epochs: each configuration trained alone
(timed over ``--alone-epochs`` epochs), the 45 models trained as one batched ensemble
(timed over ``--epochs`` epochs), the speed-up from batching, and the whole protocol's
wall time (measured when ``--epochs 100``, projected otherwise). Projections are the
call's set-up and final evaluation plus 100 times its mean epoch (training and
validation), so one-time costs (e.g. the nearest-neighbour search) are not scaled.
The machine is shared: rerun when quiet, and compare ``--threads 1`` and ``2``.

    python benchmarks/training_throughput.py                # quick: 2 epochs, projected
    python benchmarks/training_throughput.py --epochs 100   # the full protocol, measured
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from hsaug.synthetic import make_scene
from hsaug.config import Config
from hsaug.training import fit

AUGMENTATIONS = ("band_erasure", "band_permutation", "nearest_neighbor", "scattering", "atmospheric",
                 "flip", "elastic", "shift")
PAPER_EPOCHS = 100


def scene(seed: int = 0):
    """The Table-1 scene: the "paper" preset, 100 x 100 pixels, 224 bands, 4 abundances."""
    return make_scene("paper", n_rows=100, n_cols=100, seed=seed), "hsaug.synthetic.make_scene('paper', 100 x 100, 224 bands)"


def projected(result) -> float:
    """Wall seconds of the same call with 100 epochs: its set-up and evaluation + 100 x its mean epoch."""
    epochs = result.epoch_seconds
    return result.seconds - epochs.sum() + PAPER_EPOCHS * epochs.mean()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=2, help="epochs timed for the batched 45 models (default 2)")
    ap.add_argument("--alone-epochs", type=int, default=2, help="epochs timed per model alone (default 2)")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    ds, what = scene()
    configs = [Config.baseline()] + [Config(a) for a in AUGMENTATIONS]
    seeds = list(range(args.seeds))
    m = len(configs) * len(seeds)
    print(f"data: {what}; torch {torch.__version__}, {torch.get_num_threads()} threads")
    common = dict(progress=False, val_fraction=0.1, test_fraction=0.1)

    fit(ds, configs=[Config("shift")], seeds=[0], epochs=1, split={"train": np.arange(64)}, progress=False)  # warm-up

    print(f"\nalone: one model per call, {args.alone_epochs} epoch(s) timed; 100-epoch time = set-up + 100 x epoch")
    alone = {}
    for cfg in configs:
        r = fit(ds, configs=[cfg], seeds=[0], epochs=args.alone_epochs, **common)
        alone[cfg.label] = projected(r)
        print(f"  {cfg.label:<18s} {alone[cfg.label]:8.1f} s per model  "
              f"({r.epoch_seconds.mean():.3f} s/epoch, set-up {r.seconds - r.epoch_seconds.sum():.2f} s)")
    alone_protocol = sum(alone.values()) * len(seeds)
    alone_per_model = alone_protocol / m

    print(f"\nbatched: {len(configs)} configurations x {len(seeds)} seeds = {m} models in one call, "
          f"{args.epochs} epoch(s)")
    res = fit(ds, configs=configs, seeds=seeds, epochs=args.epochs, **common)
    protocol = projected(res)
    batched_per_model = protocol / m
    kind = "measured" if args.epochs == PAPER_EPOCHS else f"projected from {args.epochs} epoch(s)"
    ep = res.epoch_seconds
    print(f"  wall {res.seconds:.1f} s: {ep.mean():.2f} s/epoch (median {np.median(ep):.2f}, fastest {ep.min():.2f}, "
          f"slowest {ep.max():.2f}), set-up and evaluation {res.seconds - ep.sum():.2f} s")
    quiet = (res.seconds - ep.sum() + PAPER_EPOCHS * ep.min()) / 60

    print("\nsummary (seconds per model, 100 epochs, 8,000 training pixels)")
    print(f"  alone   (mean over the 9 configurations): {alone_per_model:8.2f} s")
    print(f"  batched ({m} models at once):             {batched_per_model:8.2f} s")
    print(f"  speed-up from batching:                  {alone_per_model / batched_per_model:8.1f} x")
    print(f"  whole Table-1 protocol, batched:         {protocol / 60:8.2f} min ({kind})")
    print(f"  whole Table-1 protocol, one at a time:   {alone_protocol / 60:8.2f} min (projected)")
    print(f"  (at the fastest epoch's pace, i.e. with no other load: {quiet:.2f} min; this machine is shared)")
    if args.epochs == PAPER_EPOCHS:
        print("\n" + res.summary().round(4).to_string())


if __name__ == "__main__":
    main()
