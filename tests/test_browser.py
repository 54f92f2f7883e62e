"""A real browser: JupyterLab in headless Chromium runs notebook 01, a slider moves the curve.

Starts ``jupyter lab`` on 127.0.0.1 with a random token on a copy of the notebooks, opens
notebook 01 in Chromium (``/usr/bin/chromium`` through the pip ``playwright`` package —
never ``playwright install``), runs all cells, reads the SVG path of the explorer's
augmented trace, presses ArrowRight on the first slider and asserts the path changed.
Screenshots of the explorer and the gallery go to ``tmp_path`` and, when ``HSAUG_SCREENSHOT``
names a file, there too (the gallery beside it as ``<name>-gallery.png``); docs/img/explorer.png
is made that way:  HSAUG_SCREENSHOT=docs/img/explorer.png python -m pytest tests/test_browser.py
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
NOTEBOOK = "01-explore-augmentations.ipynb"
ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} not installed (apt-get install chromium)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_server(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"jupyter lab did not answer {url} within {timeout:g} s:\n{log.read_text()[-3000:]}")


def _start_lab(tmp: Path) -> tuple[subprocess.Popen, str, Path]:
    """JupyterLab on a copy of notebook 01, isolated settings; returns (process, base url, log)."""
    root = tmp / "notebooks"
    root.mkdir()
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, root / NOTEBOOK)
    config = tmp / "config"
    (config / "labconfig").mkdir(parents=True)
    # no "get Jupyter news?" toast over the screenshot
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(config), JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"))
    port, token = _free_port(), secrets.token_hex(16)
    log = tmp / "jupyter.log"
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0",
           "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI containers run as root
        cmd.append("--allow-root")
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=root)
    base = f"http://127.0.0.1:{port}"
    _wait_for_server(f"{base}/api/status?token={token}", proc, log)
    return proc, f"{base}/lab/tree/{NOTEBOOK}?token={token}", log


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _wait_for_idle_kernel(page, timeout_ms: int = 90_000) -> None:
    """Until the status bar says the notebook's kernel is connected and idle."""
    page.wait_for_function(
        """() => [...document.querySelectorAll('.jp-StatusBar-TextItem')]
                 .some(e => /ipykernel\\)? \\| Idle/.test(e.textContent))""",
        timeout=timeout_ms,
    )


def test_slider_moves_the_plotted_curve_in_jupyterlab(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    proc, url, log = _start_lab(tmp_path)
    try:
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1440, "height": 1000}, device_scale_factor=1.5)
                page.goto(url, wait_until="domcontentloaded", timeout=60_000)
                page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
                # wait for the kernel, then Run > Run All Cells
                _wait_for_idle_kernel(page)
                page.keyboard.press("Control+b")  # fold the file browser: room for the explorer
                page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
                page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
                explorer = page.locator(".hsaug-explorer").first
                augmented = page.locator(".js-plotly-plot").first.locator(".scatterlayer .trace").nth(1) \
                    .locator("path.js-line")
                augmented.wait_for(state="attached", timeout=90_000)
                _wait_for_idle_kernel(page)
                before = augmented.get_attribute("d")
                assert before and before.startswith("M"), before
                handle = explorer.locator(".widget-hslider .noUi-handle").first
                handle.focus()
                for _ in range(40):  # 40 steps of 0.5 nm: Δ = 20 nm
                    page.keyboard.press("ArrowRight")
                deadline = time.monotonic() + 30
                after = before
                while after == before and time.monotonic() < deadline:
                    page.wait_for_timeout(200)
                    after = augmented.get_attribute("d")
                assert after != before, "moving the slider did not redraw the augmented curve"
                readout = explorer.locator(".widget-hslider .widget-readout").first.inner_text()
                assert float(readout) == pytest.approx(20.0), readout
                page.wait_for_timeout(500)  # let plotly finish its transition
                shot, gallery = tmp_path / "explorer.png", tmp_path / "gallery.png"
                explorer.screenshot(path=str(shot))
                assert shot.stat().st_size > 10_000
                panels = page.locator(".hsaug-gallery")
                panels.scroll_into_view_if_needed()
                panels.screenshot(path=str(gallery))
                if os.environ.get("HSAUG_SCREENSHOT"):  # e.g. docs/img/explorer.png (+ explorer-gallery.png)
                    target = Path(os.environ["HSAUG_SCREENSHOT"])
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(shot, target)
                    shutil.copy(gallery, target.with_name(f"{target.stem}-gallery{target.suffix}"))
            finally:
                browser.close()
    finally:
        _stop(proc)
