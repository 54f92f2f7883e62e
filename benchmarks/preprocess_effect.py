"""What the default preprocessing changes: test R² with ``preprocess="none"`` (the paper's protocol)
vs ``"standardize"`` (hsaug's default), same splits, seeds and settings.

    python benchmarks/preprocess_effect.py [--seeds 0 1 2] [--epochs 100] [--soil-epochs 1000] [--threads 1]
                                           [--data paper hard soil paper10000] [--preprocess none standardize scale]
                                           [--configs baseline shift] [--early-stopping] [--json FILE]
    python benchmarks/preprocess_effect.py --constraints [--data paper hard] ...

With ``--constraints``: the output constraints instead (plain MLP, ``standardize``): test R², the
share of predicted abundances below 0 and the mean |Σ abundances − 1| for ``none``, ``nonneg`` and
``sum_to_one`` on the synthetic presets (their targets are abundances on the simplex).

Data: the two synthetic presets at the Table-1 size (100 × 100 pixels, :func:`hsaug.synthetic.make_scene`,
seed 0) and the bundled soil stand-in (LimeSoDa SSP.460, SOC, 1130–2450 nm, predefined folds 1 / 2 as test /
validation, as :func:`hsaug.reproduction.reproduce_real` splits it), each with the plain MLP (baseline) and the
contrastive MLP with the shift augmentation (α = 0.001, r = 0.03). Every pair (configuration, seed) is
trained once per preprocessing; the printed table gives the mean ± std over seeds and the paired
difference (standardize − none) per configuration.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from hsaug import datasets, synthetic
from hsaug.config import Config
from hsaug.splits import fold_split
from hsaug.training import fit


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--soil-epochs", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", nargs="+", default=["paper", "hard", "soil"],
                    help="paper, hard, soil, or paper10000 (the paper preset stored as reflectance × 10000)")
    ap.add_argument("--preprocess", nargs="+", default=["none", "standardize"])
    ap.add_argument("--configs", nargs="+", default=["baseline", "shift"], help="baseline and/or augmentation names")
    ap.add_argument("--early-stopping", action="store_true",
                    help="fit's default patience='auto' (epochs / 10, at least 5, on validation MSE, keeping each "
                         "member's best epoch); without it the paper's fixed schedule (patience=None)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--constraints", action="store_true")
    args = ap.parse_args()
    if args.constraints:
        constraints(args)
        return
    configs = [Config.baseline() if c == "baseline" else Config(c) for c in args.configs]
    out: dict = {"seeds": args.seeds, "rows": []}
    for name in args.data:
        if name == "soil":
            ds = datasets.load_soil(target="SOC", band_range=datasets.PAPER_RANGE)
            split, epochs = fold_split(ds), args.soil_epochs
        else:
            ds = synthetic.make_scene(name.replace("10000", ""), n_rows=100, n_cols=100, seed=0)
            if name.endswith("10000"):  # as a user's raw counts: reflectance × 10000, declared so
                ds["spectra"] = ds["spectra"] * 10000
                ds.attrs.update(quantity="reflectance", reflectance_scale=10000.0)
            split, epochs = None, args.epochs
        for pre in args.preprocess:
            t0 = time.perf_counter()
            res = fit(ds, configs=configs, seeds=args.seeds, epochs=epochs, preprocess=pre, split=split,
                      threads=args.threads, progress=False,
                      patience="auto" if args.early_stopping else None)
            r2 = res.metrics["test_r2"].reshape(len(configs), len(args.seeds))
            for c, cfg in enumerate(configs):
                out["rows"].append({"data": name, "preprocess": pre, "config": cfg.label, "epochs": epochs,
                                    "r2": r2[c].tolist(), "seconds": time.perf_counter() - t0})
            print(f"{name:10s} {pre:12s} " + "  ".join(f"{cfg.label}: {r2[c].mean():.4f} ± {r2[c].std(ddof=1):.4f}"
                                                      for c, cfg in enumerate(configs)), flush=True)
    base = args.preprocess[0]
    for pre in args.preprocess[1:]:
        print(f"\npaired difference {pre} − {base} (mean over seeds, min … max):")
        for name in args.data:
            for cfg in configs:
                a, b = (next(r for r in out["rows"] if r["data"] == name and r["config"] == cfg.label
                             and r["preprocess"] == p) for p in (base, pre))
                d = np.asarray(b["r2"]) - np.asarray(a["r2"])
                print(f"  {name:10s} {cfg.label:10s} {d.mean():+.4f} ({d.min():+.4f} … {d.max():+.4f})")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))


def constraints(args: argparse.Namespace) -> None:
    out: dict = {"seeds": args.seeds, "rows": []}
    for name in [d for d in args.data if d != "soil"]:
        ds = synthetic.make_scene(name, n_rows=100, n_cols=100, seed=0)
        for constraint in ("none", "nonneg", "sum_to_one"):
            res = fit(ds, configs=[Config.baseline()], seeds=args.seeds, epochs=args.epochs, constraint=constraint,
                      threads=args.threads, progress=False, patience="auto" if args.early_stopping else None)
            p = res.predictions  # (seeds, N_test, s)
            r2 = res.metrics["test_r2"]
            neg = (p < 0).mean(axis=(1, 2))
            dev = np.abs(p.sum(-1) - 1).mean(axis=1)
            out["rows"].append({"data": name, "constraint": constraint, "r2": r2.tolist(), "negative": neg.tolist(),
                                "sum_deviation": dev.tolist()})
            print(f"{name:6s} {constraint:11s} R² {r2.mean():.4f} ± {r2.std(ddof=1):.4f}   below 0: "
                  f"{100 * neg.mean():.1f} %   mean |Σ − 1|: {dev.mean():.4f}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
