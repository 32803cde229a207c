"""A learner's view: JupyterLab on a free localhost port, headless Chromium (Debian's, driven
by playwright, kept off the network) opens notebook 07, runs all its cells, and the plots
and the live widgets render. Screenshots (light and dark theme) go to test-output/browser/.

The notebook runs from a copy, so the committed one never gets outputs. The widgets are left
to decide for themselves (no LABKIT_WIDGETS): JupyterLab's widget manager is attached, so they
must come out live.
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

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "07_services_socket_lb.ipynb"
CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = ROOT / "test-output" / "browser"
# What keeps the browser off the network and out of the way.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
RUN_TIMEOUT_MS = 240_000

pytestmark = pytest.mark.root


@pytest.fixture(scope="module")
def playwright_api():
    if os.geteuid() != 0:
        pytest.skip("needs root (the notebook brings the local lab up): sudo make test")
    if not CHROMIUM.exists():
        pytest.skip(f"no Debian chromium at {CHROMIUM}: sudo apt-get install chromium "
                    "(infra/setup.sh installs it)")
    return pytest.importorskip("playwright.sync_api", reason="pip install playwright")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_serving(url: str, server: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"jupyterlab exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"jupyterlab did not answer at {url} within {timeout} s")


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory: pytest.TempPathFactory):
    """JupyterLab on 127.0.0.1 and a free port, serving a copy of the notebook."""
    home = tmp_path_factory.mktemp("jupyterlab")
    served = home / "notebooks"
    served.mkdir()
    shutil.copy(NOTEBOOK, served / NOTEBOOK.name)
    labconfig = home / "config" / "labconfig"
    labconfig.mkdir(parents=True)
    # no news prompt: the announcements plugin would ask, and fetch a feed
    (labconfig / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    port, token = _free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if k != "LABKIT_WIDGETS"}
    env |= {"JUPYTER_RUNTIME_DIR": str(home / "runtime"),
            "JUPYTER_CONFIG_DIR": str(home / "config"),
            "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces")}
    log = open(home / "jupyterlab.log", "wb")  # noqa: SIM115 - the server's, closed below
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
         "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={served}", "--LabApp.expose_app_in_browser=True",
         "--LabApp.news_url=", "--LabApp.extension_manager=readonly",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(f"{base}/api/status?token={token}", server)
        yield {"url": f"{base}/lab/tree/{NOTEBOOK.name}?token={token}", "home": home}
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_notebook_07_runs_in_jupyterlab_with_plots_and_live_widgets(playwright_api,
                                                                     jupyterlab):
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            str(jupyterlab["home"] / "chromium"), executable_path=str(CHROMIUM),
            headless=True, args=FLAGS, viewport={"width": 1400, "height": 1000})
        try:
            page = browser.new_page()
            page.goto(jupyterlab["url"])
            page.wait_for_function(
                "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                " && window.jupyterapp.shell.currentWidget.sessionContext"
                " && window.jupyterapp.shell.currentWidget.sessionContext.session"
                " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
                " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
                ".connectionStatus === 'connected'", timeout=60_000)
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            last = page.locator(".jp-OutputArea-output", has_text="OK: Socket LB: Enabled")
            last.wait_for(timeout=RUN_TIMEOUT_MS)
            errors = page.locator(".jp-OutputArea-output[data-mime-type="
                                  "'application/vnd.jupyter.stderr'] .ansi-red-fg")
            assert errors.count() == 0, errors.first.inner_text()
            images = page.locator(".jp-OutputArea-output img[src^='data:image/png']")
            assert images.count() >= 2, "the backend histogram and the service drawing"
            progress = page.locator(".jp-OutputArea-output .widget-hprogress")
            assert progress.count() >= 1, "the request loop's live progress bar"
            assert page.locator(".jp-OutputArea-output .widget-dropdown select").count() >= 1, \
                "the map picker"
            progress.first.scroll_into_view_if_needed()
            page.wait_for_timeout(1500)  # cells scrolled into view render lazily
            page.screenshot(path=str(OUTPUT / "notebook07.png"))
            # the same pictures on the dark theme, for a reader to compare
            page.evaluate("window.jupyterapp.commands.execute('apputils:change-theme',"
                          " {theme: 'JupyterLab Dark'})")
            page.wait_for_timeout(1500)
            page.screenshot(path=str(OUTPUT / "notebook07-dark.png"))
        finally:
            browser.close()
