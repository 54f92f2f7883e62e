"""Scene prediction: pixels/s in memory vs from a chunked on-disk cube, peak memory, LocalCluster vs threads.

    python benchmarks/predict_throughput.py [--sizes 500 2000] [--bands 224] [--chunk-rows 128]
                                            [--threads 2] [--dir /tmp/hsaug-predict-bench] [--json FILE]

The model is the paper's MLP (224 → 128 → 64 → 32 → 16 → 3, one member) with the default
``standardize`` preprocessing (weights untrained: the cost does not depend on them). Cubes are
float32 ENVI BIP files (y, x, 224) written to ``--dir`` (a 2000 × 2000 cube is 3.6 GB); they are
read back through :func:`hsaug.maps.open_scene` with the same chunks (``--chunk-rows`` whole rows
of the smaller scene's width) for every size. Figures, side by side:

* in memory: ``model.predict`` on a (N, 224) float32 array, torch on ``--threads`` threads;
* from disk: ``predict_map(model, file, chunks=…).compute()`` — dask's threaded scheduler with
  ``--threads`` workers, torch one thread per task; and the same written to NetCDF (``out=``);
  the target is ≥ 1 M pixels/s and ≥ 70 % of the in-memory rate;
* peak memory (peak RSS of a fresh process, and its growth over the RSS before the map, the peak
  being reset through /proc/self/clear_refs) for
  ``predict_map(..., out=map.nc)`` at each size, the same chunks: bounded by the chunks, not the scene;
* a ``dask.distributed.LocalCluster`` (``--threads`` worker processes, one thread each; start-up
  not timed, one warm-up run) vs the threaded scheduler on the same scene: the ratio.

The files are read from the page cache (they were just written); a cold disk adds its read time.
Each timing is the best of ``--repeats``. The load average before and after is printed: on a
shared machine the numbers are a lower bound.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch


def build_model(bands: int, outputs: int = 3):
    from hsaug import preprocess as P
    from hsaug.losses import LabelScaling
    from hsaug.models import MLPEnsemble
    from hsaug.predictor import Model
    from hsaug.spectra import sensor_grid

    wl = sensor_grid(bands)
    rng = np.random.default_rng(0)
    x = synthetic_rows(4096, wl, rng)
    net = MLPEnsemble(bands, outputs, 1, init=[0])
    return Model(net, LabelScaling.fit(torch.rand(64, outputs)), wl, [f"a{i}" for i in range(outputs)],
                 preprocess=P.build("standardize").fit(torch.from_numpy(x)), quantity="reflectance")


def synthetic_rows(n: int, wl: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n, B) float32 smooth reflectance-like spectra."""
    t = (wl - wl[0]) / (wl[-1] - wl[0])
    amp = rng.uniform(0.05, 0.3, (n, 1)).astype(np.float32)
    return (0.3 + amp * np.sin(2 * np.pi * (t[None] * 1.7 + amp))).astype(np.float32)


def write_envi(path: Path, rows: int, cols: int, wl: np.ndarray) -> Path:
    """A float32 BIP ENVI cube written block by block (never whole in memory)."""
    hdr, img = path.with_suffix(".hdr"), path.with_suffix(".img")
    if img.exists() and img.stat().st_size == rows * cols * wl.size * 4:
        return hdr
    hdr.write_text("ENVI\n" f"samples = {cols}\nlines = {rows}\nbands = {wl.size}\nheader offset = 0\n"
                   "file type = ENVI Standard\ndata type = 4\ninterleave = bip\nbyte order = 0\n"
                   "wavelength units = Nanometers\n"
                   "wavelength = {" + ", ".join(f"{w:.4f}" for w in wl) + "}\n")
    mm = np.memmap(img, dtype="<f4", mode="w+", shape=(rows, cols, wl.size))
    rng = np.random.default_rng(1)
    step = max(1, (64 * 2 ** 20) // (cols * wl.size * 4))
    for r in range(0, rows, step):
        n = min(step, rows - r)
        mm[r:r + n] = synthetic_rows(n * cols, wl, rng).reshape(n, cols, wl.size)
    mm.flush()
    del mm
    return hdr


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def loadavg() -> float:
    return os.getloadavg()[0]


def child_memory(args: argparse.Namespace, size: int) -> dict:
    """Run one map in a fresh process and report its peak RSS (MiB)."""
    cmd = [sys.executable, __file__, "--child-memory", str(size), "--bands", str(args.bands), "--dir", args.dir,
           "--chunk-rows", str(args.chunk_rows), "--chunk-cols", str(args.chunk_cols), "--threads", str(args.threads)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env={**os.environ})
    return json.loads(out.stdout.strip().splitlines()[-1])


def vm(key: str) -> float:
    """A /proc/self/status memory figure in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(key)


def run_child_memory(args: argparse.Namespace) -> None:
    from hsaug.maps import predict_map

    size = args.child_memory
    model = build_model(args.bands)
    hdr = Path(args.dir) / f"scene{size}.hdr"
    out = Path(args.dir) / f"map{size}.nc"
    base = vm("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    t0 = time.perf_counter()
    predict_map(model, hdr, chunks={"y": args.chunk_rows, "x": args.chunk_cols}, out=out, overwrite=True,
                workers=args.threads)
    seconds = time.perf_counter() - t0
    peak = vm("VmHWM")
    print(json.dumps({"size": size, "rss_before_map_mib": base, "peak_rss_mib": peak, "growth_mib": peak - base,
                      "seconds": seconds, "px_per_s": size * size / seconds}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[500, 2000])
    ap.add_argument("--bands", type=int, default=224)
    ap.add_argument("--chunk-rows", type=int, default=128)
    ap.add_argument("--chunk-cols", type=int, default=500)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dir", default="/tmp/hsaug-predict-bench")
    ap.add_argument("--json", default=None)
    ap.add_argument("--skip-cluster", action="store_true")
    ap.add_argument("--memory-only", action="store_true", help="only the peak-memory figures (cubes written before)")
    ap.add_argument("--child-memory", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_memory is not None:
        run_child_memory(args)
        return

    import dask

    from hsaug.maps import predict_map

    Path(args.dir).mkdir(parents=True, exist_ok=True)
    load0 = loadavg()
    if args.memory_only:
        for size in args.sizes:
            write_envi(Path(args.dir) / f"scene{size}", size, size, build_model(args.bands).wavelength)
            print(json.dumps(child_memory(args, size)))
        print(f"load average before {load0:.2f}, after {loadavg():.2f}")
        return
    model = build_model(args.bands)
    wl = model.wavelength
    chunks = {"y": args.chunk_rows, "x": args.chunk_cols}
    res: dict = {"threads": args.threads, "bands": args.bands, "chunks": chunks, "load_before": load0,
                 "cpu_count": os.cpu_count(), "torch": torch.__version__}

    # in memory: the same number of pixels as the smallest scene, torch on `threads` threads
    small = min(args.sizes)
    torch.set_num_threads(args.threads)
    x = synthetic_rows(small * small, wl, np.random.default_rng(2))
    model.predict(x[:4096])
    t = best(lambda: model.predict(x), args.repeats)
    res["in_memory_px_per_s"] = x.shape[0] / t
    del x

    res["scenes"] = {}
    for size in args.sizes:
        t0 = time.perf_counter()
        hdr = write_envi(Path(args.dir) / f"scene{size}", size, size, wl)
        write_s = time.perf_counter() - t0
        lazy = predict_map(model, hdr, chunks=chunks)
        with dask.config.set(scheduler="threads", num_workers=args.threads):
            torch.set_num_threads(1)
            t = best(lambda: lazy.compute(), args.repeats)
            torch.set_num_threads(args.threads)
        out = Path(args.dir) / f"map{size}.nc"
        tw = best(lambda: predict_map(model, hdr, chunks=chunks, out=out, overwrite=True, workers=args.threads),
                  args.repeats)
        res["scenes"][size] = {"pixels": size * size, "write_cube_s": write_s, "disk_px_per_s": size * size / t,
                               "disk_to_netcdf_px_per_s": size * size / tw}
    for size in args.sizes:
        res["scenes"][size]["memory"] = child_memory(args, size)

    if not args.skip_cluster:
        from distributed import Client, LocalCluster

        size = max(args.sizes)
        hdr = Path(args.dir) / f"scene{size}.hdr"
        with LocalCluster(n_workers=args.threads, threads_per_worker=1, processes=True,
                          dashboard_address=None) as lc, Client(lc) as client:
            predict_map(model, hdr, chunks=chunks, scheduler=client)  # warm-up: workers import torch, hsaug
            tc = best(lambda: predict_map(model, hdr, chunks=chunks, scheduler=client), args.repeats)
        tt = best(lambda: predict_map(model, hdr, chunks=chunks, scheduler="threads", workers=args.threads),
                  args.repeats)
        res["cluster"] = {"size": size, "local_cluster_px_per_s": size * size / tc,
                          "threads_px_per_s": size * size / tt, "cluster_over_threads": tt / tc}
    res["load_after"] = loadavg()

    mem = res["in_memory_px_per_s"]
    print(f"load average before {load0:.2f}, after {res['load_after']:.2f}; {args.threads} threads; "
          f"chunks {chunks} x {args.bands} bands")
    print(f"{'':34s}" + "".join(f"{s}x{s:<10d}" for s in args.sizes))
    print(f"{'in memory [M px/s]':34s}" + "".join(f"{mem / 1e6:<14.2f}" for _ in args.sizes))
    rows = [("from ENVI, chunked [M px/s]", lambda r: r["disk_px_per_s"] / 1e6),
            ("  % of in memory", lambda r: 100 * r["disk_px_per_s"] / mem),
            ("ENVI -> NetCDF map [M px/s]", lambda r: r["disk_to_netcdf_px_per_s"] / 1e6),
            ("peak RSS [MiB]", lambda r: r["memory"]["peak_rss_mib"]),
            ("  growth during the map [MiB]", lambda r: r["memory"]["growth_mib"]),
            ("cube size [MiB]", lambda r: r["pixels"] * args.bands * 4 / 2 ** 20)]
    for label, fn in rows:
        print(f"{label:34s}" + "".join(f"{fn(res['scenes'][s]):<14.2f}" for s in args.sizes))
    if "cluster" in res:
        c = res["cluster"]
        print(f"LocalCluster ({args.threads} processes x 1 thread) {c['local_cluster_px_per_s'] / 1e6:.2f} M px/s vs "
              f"threads {c['threads_px_per_s'] / 1e6:.2f} M px/s on {c['size']}x{c['size']}: ratio "
              f"{c['cluster_over_threads']:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
