"""A real browser: JupyterLab and Voilà in headless Chromium run notebooks 01 and 02.

One JupyterLab server and one Chromium serve the whole module (CI has 2 cores): JupyterLab
on 127.0.0.1 with a random token on a copy of the notebooks, Chromium at 1280×800 with the
file browser open (JupyterLab's default, as on Binder), driven by the pip ``playwright``
package with ``executable_path=/usr/bin/chromium`` — never ``playwright install``. Checks:

* a slider moved with the keyboard redraws the augmented curve and the title;
* at 1280×800 with the file browser open no element of an explorer reaches past its
  container, and nothing scrolls sideways;
* after Save and a page reload the augmented curve, the title and the legend are still
  there (the figures' synced state follows every update);
* notebook 03's training monitor draws one colour per configuration and the caveats follow;
* Voilà renders notebook 01 and a slider moved there redraws the curve.

Screenshots go to ``tmp_path``; with ``HSAUG_SCREENSHOT=docs/img/explorer.png`` also there
(plus ``explorer-gallery.png``, ``-loss``, ``-training``, ``-voila`` beside it):
    HSAUG_SCREENSHOT=docs/img/explorer.png python -m pytest tests/test_browser.py
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
NOTEBOOKS = ("01-explore-augmentations.ipynb", "02-contrastive-loss.ipynb", "03-train.ipynb")
ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]
VIEWPORT = {"width": 1280, "height": 800}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} not installed (apt-get install chromium)"),
]


# -- servers ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"server did not answer {url} within {timeout:g} s:\n{log.read_text()[-3000:]}")


def _env(tmp: Path) -> dict[str, str]:
    config = tmp / "config"
    (config / "labconfig").mkdir(parents=True, exist_ok=True)
    # no "get Jupyter news?" toast over the screenshot
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    return dict(os.environ, JUPYTER_CONFIG_DIR=str(config), JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
                JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
                OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))


def _copy_notebooks(tmp: Path) -> Path:
    root = tmp / "notebooks"
    root.mkdir(exist_ok=True)
    for name in NOTEBOOKS:
        shutil.copy(ROOT / "notebooks" / name, root / name)
    return root


def start_lab(tmp: Path) -> tuple[subprocess.Popen, str, str, Path]:
    """JupyterLab on copies of the notebooks, isolated settings; (process, base url, token, log)."""
    root = _copy_notebooks(tmp)
    port, token = free_port(), secrets.token_hex(16)
    log = tmp / "jupyter.log"
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0",
           "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI containers run as root
        cmd.append("--allow-root")
    proc = subprocess.Popen(cmd, env=_env(tmp), stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=root)
    base = f"http://127.0.0.1:{port}"
    wait_for_server(f"{base}/api/status?token={token}", proc, log)
    return proc, base, token, log


def start_voila(tmp: Path, notebook: str) -> tuple[subprocess.Popen, str, Path]:
    """Voilà serving one notebook; (process, url, log)."""
    root = _copy_notebooks(tmp)
    port, token = free_port(), secrets.token_hex(16)
    log = tmp / "voila.log"
    cmd = [sys.executable, "-m", "voila", str(root / notebook), "--no-browser", f"--port={port}",
           "--Voila.ip=127.0.0.1", f"--token={token}", "--show_tracebacks=True"]
    proc = subprocess.Popen(cmd, env=_env(tmp), stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=root)
    url = f"http://127.0.0.1:{port}/?token={token}"
    deadline = time.monotonic() + 90
    while True:  # the page itself runs the notebook: wait only until the port listens
        if proc.poll() is not None:
            raise RuntimeError(f"voila exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"voila did not listen on {port} within 90 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
    return proc, url, log


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


# -- page helpers -------------------------------------------------------------------------------
def wait_for_idle_kernel(page, timeout_ms: int = 120_000) -> None:
    """Until the status bar says the notebook's kernel is connected and idle."""
    page.wait_for_function(
        """() => [...document.querySelectorAll('.jp-StatusBar-TextItem')]
                 .some(e => /ipykernel\\)? \\| Idle/.test(e.textContent))""",
        timeout=timeout_ms,
    )


def run_all(page) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()


def augmented_path(scope):
    """The SVG path of the explorer figure's augmented trace (the second scatter trace)."""
    return scope.locator(".js-plotly-plot").first.locator(".scatterlayer .trace").nth(1).locator("path.js-line")


def wait_for_change(get, before: str, timeout_s: float = 30.0) -> str:
    deadline = time.monotonic() + timeout_s
    after = get()
    while after == before and time.monotonic() < deadline:
        time.sleep(0.05)
        after = get()
    return after


def press_right(page, scope, times: int) -> None:
    handle = scope.locator(".widget-hslider .noUi-handle").first
    handle.focus()
    for _ in range(times):
        page.keyboard.press("ArrowRight")


# every element of an explorer inside its box, the box inside its output area, no sideways scroll
OVERFLOW_JS = """(sel) => {
  const out = [];
  for (const root of document.querySelectorAll(sel)) {
    const box = root.getBoundingClientRect();
    const cell = root.closest('.jp-OutputArea-output') || root.parentElement;
    const outer = cell.getBoundingClientRect();
    if (box.right > outer.right + 1) out.push(`${sel} ends at ${box.right} past its output area ${outer.right}`);
    if (root.scrollWidth > root.clientWidth + 1) out.push(`${sel} scrolls sideways (${root.scrollWidth} > ${root.clientWidth})`);
    for (const el of root.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      const style = getComputedStyle(el);
      if (style.visibility === 'hidden' || style.display === 'none') continue;
      // inside an <svg> (which clips) only text counts: plotly's invisible drag zones may reach past it
      if (el.ownerSVGElement && el.tagName.toLowerCase() !== 'text') continue;
      if (r.right > box.right + 1 || r.left < box.left - 1) {
        const name = el.tagName.toLowerCase() + (el.getAttribute('class') ? '.' + String(el.getAttribute('class')).split(' ')[0] : '');
        out.push(`${name} [${Math.round(r.left)}, ${Math.round(r.right)}] outside ${sel} [${Math.round(box.left)}, ${Math.round(box.right)}]`);
      }
    }
  }
  return out;
}"""


FITTED_JS = """(sel) => [...document.querySelectorAll(sel + ' .js-plotly-plot')].every(gd => {
  const svg = gd.querySelector('.main-svg');
  return svg && Math.abs(svg.getBoundingClientRect().width - gd.getBoundingClientRect().width) <= 2; })"""


def overflow(page, selector: str) -> list[str]:
    """What reaches past an explorer's box, once its plots have fitted their boxes (the Resizer
    widget resizes a plot drawn before the page was laid out, within a second)."""
    try:
        page.wait_for_function(FITTED_JS, arg=selector, timeout=10_000)
    except Exception:  # report what overflows instead of a timeout
        pass
    return page.evaluate(OVERFLOW_JS, selector)


def save_shot(locator, path: Path, suffix: str = "") -> None:
    """Screenshot of one element; the page grows (same width) so a tall element is not covered
    by JupyterLab's toolbar and status bar, then returns to 1280×800."""
    page = locator.page
    height = int(locator.bounding_box()["height"]) + 260
    if height > VIEWPORT["height"]:
        page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
        page.wait_for_timeout(300)
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=str(path))
    page.set_viewport_size(VIEWPORT)
    if os.environ.get("HSAUG_SCREENSHOT"):
        target = Path(os.environ["HSAUG_SCREENSHOT"])
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target.with_name(f"{target.stem}{suffix}{target.suffix}"))


# -- fixtures: one server and one browser for the module ----------------------------------------------
@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lab")
    proc, base, token, log = start_lab(tmp)
    yield {"base": base, "token": token, "tmp": tmp}
    stop(proc)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def notebook01(lab, browser):
    """Notebook 01 run in JupyterLab at 1280×800, file browser open, Δ moved to 20 nm."""
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(f"{lab['base']}/lab/tree/{NOTEBOOKS[0]}?token={lab['token']}", wait_until="domcontentloaded",
              timeout=60_000)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    wait_for_idle_kernel(page)
    assert page.locator(".jp-FileBrowser").first.is_visible(), "the file browser should be open (Binder's default)"
    run_all(page)
    explorer = page.locator(".hsaug-explorer").first
    path = augmented_path(explorer)
    path.wait_for(state="attached", timeout=120_000)
    page.locator(".hsaug-gallery .js-plotly-plot").first.wait_for(state="attached", timeout=120_000)
    wait_for_idle_kernel(page)
    page.wait_for_timeout(500)
    first_drawn = overflow(page, ".hsaug-explorer") + overflow(page, ".hsaug-gallery")
    before = path.get_attribute("d")
    press_right(page, explorer, 40)  # 40 steps of 0.5 nm: Δ = 20 nm
    after = wait_for_change(lambda: path.get_attribute("d"), before)
    yield {"page": page, "explorer": explorer, "before": before, "after": after, "first_drawn": first_drawn}
    page.close()


def test_slider_moves_the_plotted_curve_and_the_title(notebook01, tmp_path):
    page, explorer = notebook01["page"], notebook01["explorer"]
    assert notebook01["before"] and notebook01["before"].startswith("M")
    assert notebook01["after"] != notebook01["before"], "moving the slider did not redraw the augmented curve"
    readout = explorer.locator(".widget-hslider .widget-readout").first.inner_text()
    assert float(readout) == pytest.approx(20.0), readout
    page.wait_for_function("() => document.querySelector('.hsaug-explorer .gtitle')?.textContent.includes('Δ = 20 nm')",
                           timeout=15_000)
    page.wait_for_timeout(400)  # let plotly finish drawing
    save_shot(explorer, tmp_path / "explorer.png")
    gallery = page.locator(".hsaug-gallery").first
    save_shot(gallery, tmp_path / "gallery.png", "-gallery")


def test_nothing_overflows_at_1280_with_the_file_browser_open(notebook01):
    page = notebook01["page"]
    assert page.viewport_size == VIEWPORT and page.locator(".jp-FileBrowser").first.is_visible()
    assert not notebook01["first_drawn"], "\n".join(notebook01["first_drawn"][:20])  # as first drawn
    problems = overflow(page, ".hsaug-explorer") + overflow(page, ".hsaug-gallery")  # after a redraw
    assert not problems, "\n".join(problems[:20])
    # the legend and the long-wavelength end are inside the figure
    fig = page.locator(".hsaug-explorer .js-plotly-plot").first.bounding_box()
    legend = page.locator(".hsaug-explorer .legend").first.bounding_box()
    assert legend["x"] + legend["width"] <= fig["x"] + fig["width"] + 1
    ticks = page.locator(".hsaug-explorer .xtick text").all_text_contents()
    assert any(float(t.replace(",", "").replace("−", "-")) >= 2000 for t in ticks if t and t.strip()), ticks


def test_reload_keeps_the_augmented_curve_title_and_legend(notebook01, lab, browser):
    page = notebook01["page"]
    page.keyboard.press("Control+s")
    page.wait_for_timeout(1500)
    fresh = browser.new_page(viewport=VIEWPORT)  # a reload in a new tab: every view rebuilt from synced state
    try:
        fresh.goto(f"{lab['base']}/lab/tree/{NOTEBOOKS[0]}?token={lab['token']}", wait_until="domcontentloaded",
                   timeout=60_000)
        explorer = fresh.locator(".hsaug-explorer").first
        path = augmented_path(explorer)
        path.wait_for(state="attached", timeout=90_000)
        fresh.wait_for_function(
            """() => { const p = document.querySelector('.hsaug-explorer .js-plotly-plot .scatterlayer .trace:nth-child(2) path.js-line');
                       return p && p.getAttribute('d') && p.getAttribute('d').length > 100; }""", timeout=60_000)
        # the plotted data (plotly keeps them on the plot element) equal what the first view drew after the move
        y_js = "() => Array.from(document.querySelector('.hsaug-explorer .js-plotly-plot').data[1].y)"
        assert fresh.evaluate(y_js) == pytest.approx(page.evaluate(y_js), rel=1e-6), \
            "the reloaded view does not show the kernel's curve"
        original = explorer.locator(".js-plotly-plot").first.locator(".scatterlayer .trace").nth(0).locator("path.js-line")
        assert path.get_attribute("d") != original.get_attribute("d")  # shifted, not the neutral copy
        title = explorer.locator(".gtitle").first.text_content()
        assert "shift" in title and "Δ = 20 nm" in title, title
        legend = explorer.locator(".legend .legendtext").all_text_contents()
        assert "original" in legend and "augmented" in legend, legend
        gallery_titles = fresh.locator(".hsaug-gallery .annotation-text").all_text_contents()
        assert any("Δ =" in t for t in gallery_titles), gallery_titles
    finally:
        fresh.close()


def test_loss_explorer_renders_and_tau_moves_the_weights(lab, browser, tmp_path):
    page = browser.new_page(viewport=VIEWPORT)
    try:
        # a workspace of its own, so that notebook 01's tab is not restored on top of it
        page.goto(f"{lab['base']}/lab/workspaces/loss/tree/{NOTEBOOKS[1]}?token={lab['token']}",
                  wait_until="domcontentloaded", timeout=60_000)
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        wait_for_idle_kernel(page)
        run_all(page)
        loss = page.locator(".hsaug-loss").first
        bars = loss.locator(".barlayer path")
        bars.first.wait_for(state="attached", timeout=120_000)
        wait_for_idle_kernel(page)
        problems = overflow(page, ".hsaug-loss")  # as first drawn, before any control moves
        assert not problems, "\n".join(problems[:20])
        before = [b.get_attribute("d") for b in bars.all()]
        loss.locator(".widget-hslider .noUi-handle").nth(1).focus()  # τ
        for _ in range(20):
            page.keyboard.press("ArrowLeft")  # τ 0.5 -> 0.3
        after = wait_for_change(lambda: [b.get_attribute("d") for b in bars.all()], before)
        assert after != before, "τ did not change the anchor's weights"
        labels = loss.locator(".widget-label").all_inner_texts()
        assert all("…" not in t for t in labels), labels
        page.wait_for_timeout(400)
        save_shot(loss, tmp_path / "loss.png", "-loss")
    finally:
        page.close()


def test_training_monitor_draws_live_and_the_caveats_follow(lab, browser, tmp_path):
    """Notebook 03 at its Binder defaults: curves per configuration while training, the
    weighted contrastive term on its own axis, the caveats printed after the table."""
    page = browser.new_page(viewport=VIEWPORT)
    try:
        page.goto(f"{lab['base']}/lab/workspaces/train/tree/{NOTEBOOKS[2]}?token={lab['token']}",
                  wait_until="domcontentloaded", timeout=60_000)
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        wait_for_idle_kernel(page)
        run_all(page)
        monitor = page.locator(".hsaug-training").first
        monitor.wait_for(state="attached", timeout=120_000)
        assert "epoch" in monitor.locator(".widget-html").first.inner_text()
        page.locator(".jp-OutputArea-output", has_text="⚠").first.wait_for(state="attached", timeout=240_000)
        titles = monitor.locator(".annotation-text").all_text_contents()
        assert {"loss", "α · contrastive", "metric"} <= set(titles), titles
        legend = monitor.locator(".legendtext").all_text_contents()
        assert "val R² | baseline" in legend and "α · contrastive | shift" in legend, legend
        problems = overflow(page, ".hsaug-training")
        assert not problems, "\n".join(problems[:20])
        save_shot(monitor, tmp_path / "monitor.png", "-training")
    finally:
        page.close()


def test_voila_renders_the_explorer_and_a_slider_redraws_it(tmp_path_factory, browser, tmp_path):
    tmp = tmp_path_factory.mktemp("voila")
    proc, url, log = start_voila(tmp, NOTEBOOKS[0])
    page = browser.new_page(viewport=VIEWPORT)
    try:
        page.goto(url, wait_until="domcontentloaded", timeout=90_000)
        explorer = page.locator(".hsaug-explorer").first
        path = augmented_path(explorer)
        path.wait_for(state="attached", timeout=120_000)
        title = explorer.locator(".gtitle").first
        title.wait_for(state="attached", timeout=30_000)
        assert "shift" in title.text_content()  # the title is there from the start, not after a move
        legend = explorer.locator(".legend .legendtext").all_text_contents()
        assert "augmented" in legend, legend
        before = path.get_attribute("d")
        press_right(page, explorer, 40)
        after = wait_for_change(lambda: path.get_attribute("d"), before)
        assert after != before, f"no redraw under Voilà:\n{log.read_text()[-2000:]}"
        page.wait_for_function("() => document.querySelector('.hsaug-explorer .gtitle')?.textContent.includes('Δ = 20 nm')",
                               timeout=15_000)
        problems = overflow(page, ".hsaug-explorer")
        assert not problems, "\n".join(problems[:20])
        page.wait_for_timeout(400)
        save_shot(explorer, tmp_path / "voila.png", "-voila")
    finally:
        page.close()
        stop(proc)
