"""Pretraining throughput: spectra per second per model, M models batched vs one at a time.

Self-supervised pretraining (:func:`hsaug.pretrain.pretrain`, two augmented views per
spectrum, shift+atmospheric+scattering drawn per spectrum) on the unlabelled pixels of a
100 × 100 "paper" scene (10,000 spectra, 224 bands), batch 256. Prints, per method, the
throughput in spectra per second per model — (spectra × epochs × models) / wall seconds,
i.e. what one model costs on average — when ``--members`` models train as one batched
ensemble and when they train one after the other, and the speed-up.

    python benchmarks/pretrain_throughput.py                 # 2 epochs, 5 members, CPU
    python benchmarks/pretrain_throughput.py --device cuda   # on a GPU
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from hsaug.pretrain import METHODS, pretrain
from hsaug.synthetic import make_scene


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--members", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    ds = make_scene("paper", n_rows=100, n_cols=100, seed=0)
    n = ds.sizes["sample"]
    print(f"{n} spectra x 224 bands; torch {torch.__version__}, {torch.get_num_threads()} threads, {args.device}")
    out = {}
    seeds = list(range(args.members))
    for method in METHODS:
        common = dict(method=method, epochs=args.epochs, batch_size=args.batch_size, device=args.device)
        pretrain(ds, seeds=[0], **{**common, "epochs": 1})  # warm-up (caches, kernels)
        t = time.perf_counter()
        pretrain(ds, seeds=seeds, **common)
        batched = time.perf_counter() - t
        t = time.perf_counter()
        for s in seeds:  # the comparison: one model at a time
            pretrain(ds, seeds=[s], **common)
        alone = time.perf_counter() - t
        spectra = n * args.epochs
        row = {"members": args.members, "epochs": args.epochs, "batched_s": batched, "alone_s": alone,
               "spectra_per_s_per_model_batched": spectra * args.members / batched,
               "spectra_per_s_per_model_alone": spectra * args.members / alone, "speedup": alone / batched}
        out[method] = row
        print(f"{method}: {args.members} models batched {batched:.1f} s, one at a time {alone:.1f} s "
              f"(x{row['speedup']:.2f}); {row['spectra_per_s_per_model_batched']:.0f} spectra/s per model batched, "
              f"{row['spectra_per_s_per_model_alone']:.0f} one at a time")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
