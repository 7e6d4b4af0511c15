"""A real browser: JupyterLab on 127.0.0.1 (token auth), headless Chromium runs notebooks through the UI.

Every notebook executes headlessly elsewhere (nbval, the smoke tests, the student editions); the browser
runs the two that exercise the UI path differently: 00_framing (the plain notebook, its figures and
Decision) and 08_deployment (a kernel that starts an HTTP service on loopback and stops it). One
JupyterLab server serves both, with every cell attached to the page (windowing off), so counting the
executed prompts is exact.

Outside CI the test skips, saying why, when no Chromium is installed; under CI (CI set) it must run.
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
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.notebook

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = REPO / "runs" / "test-artifacts"


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("CI is set but no Chromium was found: .ci/run must install Debian's chromium")
    pytest.skip("no Chromium installed (apt-get install chromium); this test runs in CI")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status(url: str) -> int:
    """The HTTP status of a GET (0 when nothing answers)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory):
    """A JupyterLab server on loopback over a copy of the notebooks; stopped by the PID we started."""
    tmp_path = tmp_path_factory.mktemp("lab")
    root = tmp_path / "notebooks"
    shutil.copytree(REPO / "notebooks", root)
    settings = tmp_path / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"), "WORKBENCH_RUNS": str(tmp_path / "runs")}
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "getuid") and os.getuid() == 0:
        cmd.append("--allow-root")
    log = open(tmp_path / "lab.log", "w")  # noqa: SIM115 - closed after the server is stopped
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.time() + 90
        while status(f"http://127.0.0.1:{port}/api/status?token={token}") != 200:
            if proc.poll() is not None or time.time() > deadline:
                log.flush()
                pytest.fail(f"JupyterLab did not start:\n{(tmp_path / 'lab.log').read_text()[-3000:]}")
            time.sleep(0.5)
        assert status(f"http://127.0.0.1:{port}/api/status") == 403, "token authentication is on"
        yield f"http://127.0.0.1:{port}", token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


NOTEBOOKS = [REPO / "notebooks" / f"{stem}.ipynb" for stem in ("00_framing", "08_deployment")]


def title_and_code_cells(path: Path) -> tuple[str, int]:
    cells = json.loads(path.read_text())["cells"]
    title = "".join(cells[0]["source"]).splitlines()[0].lstrip("# ").strip()
    return title, sum(c["cell_type"] == "code" for c in cells)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_jupyterlab_runs_each_notebook_through_the_ui(lab, path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    executable = chromium()
    base, token = lab
    title, n_code = title_and_code_cells(path)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/lab/tree/{path.name}?reset&token={token}")  # a fresh workspace: this notebook only
            notebook = page.locator(".jp-NotebookPanel")
            expect(notebook.get_by_role("heading", name=title[:20], exact=False).first).to_be_visible(timeout=60_000)
            expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")).to_have_count(1, timeout=60_000)
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_text("Run All Cells", exact=True).click()
            try:
                page.wait_for_function(
                    """n => {
                        const prompts = [...document.querySelectorAll('.jp-NotebookPanel .jp-InputArea-prompt')]
                            .map(e => e.textContent.trim());
                        return prompts.filter(t => /^\\[\\d+\\]:$/.test(t)).length >= n && !prompts.some(t => t.includes('*'));
                    }""", arg=n_code, timeout=240_000)
            except Exception:  # noqa: BLE001 - any wait failure: keep what the page showed, then fail
                page.screenshot(path=str(ARTIFACTS / f"browser-{path.stem}-failed.png"), full_page=True)
                prompts = page.locator(".jp-NotebookPanel .jp-InputArea-prompt").all_inner_texts()
                errors = [o for o in notebook.locator(".jp-OutputArea-output").all_inner_texts() if "Error" in o]
                pytest.fail(f"{path.name}: not every one of {n_code} code cells ran; prompts {prompts}; "
                            f"error outputs {errors[:2]}")
            expect(notebook.get_by_text("recorded ", exact=False).first).to_be_attached()
            expect(notebook.get_by_text("Decision:", exact=False).first).to_be_attached()
            if path.stem == "00_framing":
                expect(notebook.get_by_text("recorded n_rows = 9857", exact=True)).to_have_count(1)
            page.screenshot(path=str(ARTIFACTS / f"browser-{path.stem}.png"))
            outputs = notebook.locator(".jp-OutputArea-output").all_inner_texts()
            assert not [o for o in outputs if "Traceback" in o or "Error:" in o], "no error output is shown"
        finally:
            browser.close()
