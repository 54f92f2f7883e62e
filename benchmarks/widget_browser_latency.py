"""Key press -> plot changed, in a real browser: the latency a student feels in JupyterLab.

Starts JupyterLab (127.0.0.1, random token) on a copy of notebook 01, opens it in headless
Chromium (``/usr/bin/chromium`` through the pip ``playwright`` package; never
``playwright install``) at 1280×800 with the file browser open, runs it, and for each
augmentation chosen in the explorer's dropdown presses ArrowRight on its first slider
``--presses`` times. Each time is taken inside the page, from the keydown event (a
capture listener on the document) to the first change of the augmented curve's SVG path
(a MutationObserver): the slider's message to the kernel, the augmentation, the figure
update back, and plotly's redraw. Presses are spaced so that each one is measured alone.

    python benchmarks/widget_browser_latency.py [--presses 30] [--only shift elastic]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

INSTALL = """() => {
  window.__hsaugTimes = [];
  window.__hsaugT0 = null;
  document.addEventListener('keydown', () => { window.__hsaugT0 = performance.now(); }, true);
  const layer = document.querySelector('.hsaug-explorer .js-plotly-plot .scatterlayer');
  const watch = new MutationObserver(() => {
    if (window.__hsaugT0 !== null) {
      window.__hsaugTimes.push(performance.now() - window.__hsaugT0);
      window.__hsaugT0 = null;
    }
  });
  watch.observe(layer, {subtree: true, attributes: true, attributeFilter: ['d'], childList: true});
  window.__hsaugWatch = watch;
}"""


def measure(page, explorer, presses: int, gap_ms: int) -> list[float]:
    from test_browser import wait_for_idle_kernel

    page.evaluate("() => { if (window.__hsaugWatch) window.__hsaugWatch.disconnect(); }")
    page.evaluate(INSTALL)
    handle = explorer.locator(".widget-hslider .noUi-handle").first
    handle.focus()
    for _ in range(presses):
        page.keyboard.press("ArrowRight")
        page.wait_for_function("() => window.__hsaugT0 === null", timeout=30_000)
        page.wait_for_timeout(gap_ms)
    wait_for_idle_kernel(page)
    return page.evaluate("() => window.__hsaugTimes")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presses", type=int, default=30, help="key presses timed per augmentation")
    ap.add_argument("--gap", type=int, default=150, help="pause after each redraw [ms]")
    ap.add_argument("--only", nargs="*", default=["shift", "elastic", "scattering", "band_erasure"],
                    help="augmentations to time (chosen in the explorer's dropdown)")
    args = ap.parse_args(argv)

    from playwright.sync_api import sync_playwright
    from test_browser import (CHROMIUM, CHROMIUM_ARGS, NOTEBOOKS, VIEWPORT, augmented_path, run_all, start_lab,
                              stop, wait_for_idle_kernel)

    tmp = Path(tempfile.mkdtemp(prefix="hsaug-browser-bench-"))
    proc, base, token, _ = start_lab(tmp)
    rows = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(f"{base}/lab/tree/{NOTEBOOKS[0]}?token={token}", wait_until="domcontentloaded",
                      timeout=60_000)
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            wait_for_idle_kernel(page)
            run_all(page)
            explorer = page.locator(".hsaug-explorer").first
            augmented_path(explorer).wait_for(state="attached", timeout=120_000)
            wait_for_idle_kernel(page)
            page.wait_for_timeout(1000)
            for name in args.only:
                explorer.locator("select").nth(2).select_option(name)  # source, spectrum, augmentation
                wait_for_idle_kernel(page)
                page.wait_for_timeout(500)
                times = measure(page, explorer, args.presses, args.gap)
                rows.append((name, times))
            browser.close()
    finally:
        stop(proc)
    print(f"# key press -> augmented curve redrawn, JupyterLab + Chromium, {VIEWPORT['width']}x{VIEWPORT['height']}, "
          f"{args.presses} presses each")
    print(f"{'augmentation':<16} {'n':>3} {'median ms':>10} {'p90 ms':>8} {'max ms':>8}")
    for name, times in rows:
        t = sorted(times)
        p90 = t[min(len(t) - 1, int(round(0.9 * (len(t) - 1))))] if t else float("nan")
        print(f"{name:<16} {len(t):>3} {statistics.median(t) if t else float('nan'):>10.1f} {p90:>8.1f} "
              f"{max(t) if t else float('nan'):>8.1f}")
    return 0 if all(len(t) == args.presses for _, t in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
