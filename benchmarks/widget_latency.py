"""Slider-to-figure latency of the AugmentationExplorer, per augmentation (server side).

For each registered augmentation, an explorer is built on a 224-band USGS spectrum
(400–2500 nm); then ``--changes`` times a slider's ``value`` is set (round-robin over the
parameters, values from the augmentation's random draws) and the time until the
FigureWidget's augmented trace holds the new data is taken. The redraw runs synchronously
in the slider's observer, so this is the in-process cost a kernel pays per slider event
(the browser's rendering is not included). Target: median <= 50 ms with 1 CPU thread.

    python benchmarks/widget_latency.py [--changes 20] [--threads 1] [--source usgs]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import torch

TARGET_MS = 50.0


def measure(name: str, changes: int, source: str, seed: int = 0) -> tuple[float, float]:
    """(median, max) milliseconds from a slider change to updated figure data."""
    from hsaug.augment import preview
    from hsaug.widgets import AugmentationExplorer

    ex = AugmentationExplorer(source, name, seed=seed)
    ex.random_draw()  # start away from the neutral setting, where some sliders do nothing
    gen = torch.Generator().manual_seed(seed)
    names = list(ex.sliders)
    times = []
    for i in range(changes + 1):  # the first change warms caches and is not counted
        key = names[i % len(names)]
        slider = ex.sliders[key]
        value = preview.draw_params(ex.augmentation, gen, ex.picker.wavelength)[key]
        if abs(value - slider.value) < 1e-6:  # make sure it is a change
            value = slider.min if slider.value != slider.min else slider.max
        t = time.perf_counter()
        slider.value = value
        plotted = ex.figure.data[1].y
        elapsed = time.perf_counter() - t
        if not np.allclose(plotted, ex.compute(), atol=1e-6):
            raise RuntimeError(f"{name}: after setting {key} the figure does not show the augmentation's output")
        if i:
            times.append(elapsed * 1e3)
    return statistics.median(times), max(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--changes", type=int, default=20, help="slider changes timed per augmentation")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads (1: a kernel on a shared core, as on Binder; 2 threads on a busy "
                         "2-core machine wait for each other and time the contention, not the redraw)")
    ap.add_argument("--source", default="usgs", help="spectrum source (224-band grid for usgs)")
    ap.add_argument("--only", nargs="*", help="augmentation names (default: all)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    from hsaug import augment
    from hsaug.widgets import load_source

    wl = load_source(args.source)["wavelength"]
    print(f"# slider -> figure data, {args.changes} changes each, {wl.size} bands, "
          f"{torch.get_num_threads()} threads, target <= {TARGET_MS:g} ms (median)")
    print(f"{'augmentation':<18} {'median ms':>10} {'max ms':>8}  result")
    failed = 0
    for name in args.only or augment.names():
        try:
            med, worst = measure(name, args.changes, args.source)
        except ImportError as err:  # a family not written yet
            print(f"{name:<18} {'-':>10} {'-':>8}  MISSING ({err})")
            failed += 1
            continue
        ok = med <= TARGET_MS
        failed += not ok
        print(f"{name:<18} {med:>10.2f} {worst:>8.2f}  {'PASS' if ok else 'FAIL'}")
    return 1 if failed else 0


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    sys.exit(main())
