"""Real-browser plumbing shared by tests/test_browser.py and benchmarks/bench_slider_latency.py.

A JupyterLab server on a free localhost port with a random token, serving a temporary copy of
`notebooks/` and `data/` (same layout, so `../data/...` works and autosave never touches the
repository), and Debian's Chromium driven headless by Playwright. Recipe checked with
JupyterLab 4.6, ipywidgets 8.1, Playwright 1.65 and Chromium 156; see ../shared/DESIGN.md,
"Real-browser tests".

Nothing here asserts: tests and the benchmark decide what a failure is.
"""

import contextlib
import inspect
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SERVER_START_TIMEOUT = 120  # s; 2 shared cores, a cold JupyterLab can take 20-30 s
KERNEL_TIMEOUT = 120  # s, from opening a notebook to its kernel being idle
RUN_ALL_TIMEOUT = 600  # s, for every cell of one notebook; 2 shared cores can be 5x slower
UPDATE_TIMEOUT = 60  # s, from a control change to the new figure in the page
LAPTOP = {"width": 1366, "height": 768}  # the screen every explorer must fit, controls and figure
ARTIFACTS = REPO / "test-artifacts" / "explorers"  # screenshots (git-ignored build output)


# ----------------------------------------------------------------------------- what to test
def explorer_classes():
    """Names of the explorer classes in helpers.explorers (every subclass of `Explorer`)."""
    from helpers import explorers

    return sorted(name for name, obj in inspect.getmembers(explorers, inspect.isclass)
                  if issubclass(obj, explorers.Explorer) and obj is not explorers.Explorer)


def explorer_notebooks():
    """{notebook file name: [explorer class names it creates]}, for every notebooks/*.ipynb
    whose code calls an explorer class of helpers.explorers (so new notebooks are found)."""
    names = explorer_classes()
    found = {}
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        used = [name for name in names if re.search(rf"\b{name}\s*\(", code)]
        if used:
            found[path.name] = used
    return found


def missing_requirements():
    """Why the browser tests cannot run here (a sentence), or None if everything is present."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return (f"the Python package playwright is not importable ({exc}); "
                f"pip install -r requirements-dev.txt")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return (f"no Chromium at {CHROMIUM} (set CHROMIUM=/path/to/chromium, or on Debian/Ubuntu: "
                f"apt-get install -y chromium; .ci/run does this)")
    try:
        import jupyterlab  # noqa: F401
    except ImportError as exc:
        return f"jupyterlab is not importable ({exc})"
    return None


# ----------------------------------------------------------------------------- the server
def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_server(process, url, timeout, name, log):
    """Until `url` answers 200; RuntimeError with the server's `log()` if `process` exits first
    or `timeout` seconds pass (the servers' start-up: JupyterLab's api/status, the hub's
    hub/health)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode}:\n{log()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{name} did not answer within {timeout} s:\n{log()}")


class LabServer:
    """`jupyter lab` (this Python's) serving a copy of notebooks/ and data/ under `root`.

    Use as a context manager; `url(path)` gives an address with the token, `log()` the
    server's output so far. Stopping kills the whole process group (server and kernels).
    """

    def __init__(self, root):
        self.root = Path(root)
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = self.root.parent / f"jupyter-{self.port}.log"
        self.process = None

    def _prepare(self):
        ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
        for folder in ("notebooks", "data"):
            shutil.copytree(REPO / folder, self.root / folder, ignore=ignore, dirs_exist_ok=True)
        state = self.root.parent / "jupyter-state"
        (state / "settings" / "@jupyterlab" / "docmanager-extension").mkdir(parents=True,
                                                                           exist_ok=True)
        # A copy is served anyway; no autosave keeps the page free of "saving" work.
        (state / "settings" / "@jupyterlab" / "docmanager-extension" / "plugin.jupyterlab-settings"
         ).write_text('{"autosave": false}')
        # No "Would you like to receive news?" toast over the page.
        (state / "settings" / "@jupyterlab" / "apputils-extension").mkdir(parents=True,
                                                                         exist_ok=True)
        (state / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
         ).write_text('{"fetchNews": "false", "checkForUpdates": false}')
        # JupyterLab 4 renders long notebooks lazily ("windowing"): an explorer below the fold
        # is not in the page until scrolled to, so a count of explorers would come up short.
        (state / "settings" / "@jupyterlab" / "notebook-extension").mkdir(parents=True,
                                                                         exist_ok=True)
        (state / "settings" / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
         ).write_text('{"windowingMode": "none"}')
        return state

    def start(self):
        state = self._prepare()
        command = [
            sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
            f"--port={self.port}", "--port-retries=0", f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}", "--LabApp.expose_app_in_browser=True",
            f"--LabApp.user_settings_dir={state / 'settings'}",
            f"--LabApp.workspaces_dir={state / 'workspaces'}",
            "--ServerApp.open_browser=False", "--allow-root",
        ]
        # No TF_CPP_MIN_LOG_LEVEL here: kernels see what a student's do, so the test sees any
        # TensorFlow log line that helpers.tf_reference.import_tensorflow lets through.
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        # A data folder of its own: no notebook signature from this machine's earlier runs, so
        # the served copies are untrusted, as on a fresh clone.
        env["JUPYTER_DATA_DIR"] = str(state / "data")
        self._log = open(self.log_path, "w")  # closed in stop()
        self.process = subprocess.Popen(command, cwd=self.root, stdout=self._log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        env=env, start_new_session=True)
        wait_for_server(self.process, self.url("api/status"), SERVER_START_TIMEOUT,
                        "jupyter lab", self.log)
        return self

    def url(self, path):
        sep = "&" if "?" in path else "?"
        return f"{self.base}/{path}{sep}token={self.token}"

    def api(self, path, method="GET"):
        request = urllib.request.Request(self.url(f"api/{path}"), method=method)
        with urllib.request.urlopen(request, timeout=30) as reply:
            body = reply.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self):
        """Stop every kernel (so the next notebook does not share 2 cores with an idle one)."""
        try:
            for session in self.api("sessions"):
                self.api(f"sessions/{session['id']}", method="DELETE")
        except (urllib.error.URLError, OSError):
            pass

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"

    def stop(self):
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
            except ProcessLookupError:
                pass
        self._log.close()
        self.process = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def launch_browser(playwright):
    """Debian's Chromium, headless, with nothing that phones home."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


@contextlib.contextmanager
def chromium():
    """Playwright and `launch_browser`'s Chromium for a `with` block (the browser tests'
    fixture and the latency benchmark); both are stopped at its end."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        try:
            yield browser
        finally:
            browser.close()


# ----------------------------------------------------------------------------- in the page
# The explorer's box: a VBox whose direct children are its controls, the figure's <img> and
# the readout (helpers.explorers.base.layout).
EXPLORER = ".widget-vbox:has(> img.widget-image)"

_KERNEL_IDLE = """() => {
    const app = window.jupyterapp;
    const panel = app && app.shell.currentWidget;
    const kernel = panel && panel.sessionContext && panel.sessionContext.session
        && panel.sessionContext.session.kernel;
    return !!kernel && kernel.status === 'idle' && !!panel.content;
}"""

_CELL_REPORT = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const report = {pending: 0, unexecuted: 0, errors: [], code: 0, tf_logs: []};
    for (const cell of panel.content.widgets) {
        if (cell.model.type !== 'code') continue;
        report.code += 1;
        const prompt = cell.node.querySelector('.jp-InputPrompt');
        if (prompt && prompt.textContent.includes('*')) report.pending += 1;
        if (cell.model.executionCount === null) report.unexecuted += 1;
        for (const out of cell.model.outputs.toJSON()) {
            if (out.output_type === 'error') {
                report.errors.push(out.ename + ': ' + out.evalue + '\\n  in cell: '
                    + cell.model.sharedModel.getSource().slice(0, 200));
            }
            // TensorFlow's C++ log lines ("I0000 00:00:...", "E0000 ...") or Python warnings
            // from it, on stderr: a live run must show none (helpers.tf_reference imports it).
            const text = out.output_type === 'stream' && out.name === 'stderr'
                ? [].concat(out.text).join('') : '';
            if (/^[IWEF]\\d{4} |tensorflow|oneDNN|cuInit/m.test(text)) {
                report.tf_logs.push(text.slice(0, 300));
            }
        }
    }
    for (const node of document.querySelectorAll('.jp-OutputArea-output')) {
        if (node.textContent.includes('Error displaying widget')
                || node.textContent.includes('Failed to load model')) {
            report.errors.push('widget not rendered: ' + node.textContent.slice(0, 200));
        }
    }
    return report;
}"""


def open_notebook(page, server, name):
    """Open notebooks/<name> in JupyterLab and wait until its kernel is idle."""
    # ?reset: start from an empty workspace, so notebooks opened earlier are not restored as
    # hidden tabs whose explorers would also match the page's selectors.
    page.goto(server.url(f"lab/tree/notebooks/{name}?reset"), wait_until="domcontentloaded",
              timeout=KERNEL_TIMEOUT * 1000)
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                           " && window.jupyterapp.shell.currentWidget.content",
                           timeout=KERNEL_TIMEOUT * 1000)
    page.wait_for_function(_KERNEL_IDLE, timeout=KERNEL_TIMEOUT * 1000, polling=250)


def run_all_cells(page):
    """Clear the stored outputs, run every cell, wait for the last one; returns the cell
    report {code, pending, unexecuted, errors}."""
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    page.evaluate("() => { window.__runAll = window.jupyterapp.commands"
                  ".execute('notebook:run-all-cells').then(() => 'done', e => String(e)); }")
    page.wait_for_function(
        """() => {
            const panel = window.jupyterapp.shell.currentWidget;
            const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
            if (!kernel || kernel.status !== 'idle') return false;
            // JupyterLab renders long notebooks lazily: a cell out of view may have no prompt
            // node yet, so read the model's execution state and treat a missing prompt as done.
            return panel.content.widgets.every(c => {
                if (c.model.type !== 'code') return true;
                if (c.model.executionCount === null) return false;
                if (c.model.executionState === 'running') return false;
                const prompt = c.node.querySelector('.jp-InputPrompt');
                return !prompt || !prompt.textContent.includes('*');
            });
        }""", timeout=RUN_ALL_TIMEOUT * 1000, polling=500)
    return page.evaluate(_CELL_REPORT)


def cell_report(page):
    return page.evaluate(_CELL_REPORT)


def stored_explorer_outputs(page):
    """For every stored explorer output of the open (unrun) notebook: what the page shows in
    its place, {cell, image: {width, natural, complete} or None, text}."""
    return page.evaluate("""() => {
        const panel = window.jupyterapp.shell.currentWidget;
        const found = [];
        panel.content.widgets.forEach((cell, index) => {
            if (cell.model.type !== 'code') return;
            const outputs = cell.model.outputs.toJSON();
            const areas = cell.node.querySelectorAll('.jp-OutputArea-output');
            outputs.forEach((out, k) => {
                if (!out.data || !out.data['application/vnd.jupyter.widget-view+json']) return;
                const node = areas[k];
                const img = node && node.querySelector('img');
                found.push({cell: index, text: node ? node.textContent.slice(0, 200) : null,
                            image: img ? {width: img.getBoundingClientRect().width,
                                          natural: img.naturalWidth, complete: img.complete}
                                       : null});
            });
        });
        return found;
    }""")


def visible_area(page):
    """The notebook's scrolling area in the page: {x, y, width, height} in CSS pixels."""
    return page.evaluate("""() => {
        const panel = window.jupyterapp.shell.currentWidget;
        const scroller = panel.content.node.closest('.jp-WindowedPanel-outer')
            || panel.content.node;
        const r = scroller.getBoundingClientRect();
        return {x: r.x, y: r.y, width: scroller.clientWidth, height: scroller.clientHeight};
    }""")


# A fingerprint of the figure (a hash of the PNG bytes behind the <img>'s blob URL) and the
# texts of the readout and of the controls' own value readouts.
_STATE = """async (box) => {
    const img = box.querySelector(':scope > img.widget-image');
    let hash = 'no-image';
    if (img && img.src) {
        const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
        let h = 2166136261 >>> 0;
        for (let i = 0; i < bytes.length; i++) { h ^= bytes[i]; h = Math.imul(h, 16777619) >>> 0; }
        hash = bytes.length + ':' + h.toString(16);
    }
    const readout = box.querySelector(':scope > .widget-html');
    const controls = [...box.querySelectorAll(':scope > .widget-slider .widget-readout')]
        .map(n => n.value !== undefined && n.tagName === 'INPUT' ? n.value : n.textContent);
    return {src: img ? img.src : null, image: hash,
            readout: readout ? readout.textContent : null, controls};
}"""


def explorer_state(box):
    """{src, image (hash of the PNG bytes), readout (text), controls (slider readouts)}."""
    return box.evaluate(_STATE)


def controls(box):
    """[(kind, label, locator)] for the explorer's sliders, checkboxes, toggle buttons and
    dropdowns, in the order shown."""
    found = []
    for child in box.locator(":scope > *").all():
        classes = child.get_attribute("class") or ""
        label = child.locator(".widget-label").first
        text = label.text_content().strip() if label.count() else ""
        if "widget-slider" in classes:
            found.append(("slider", text, child))
        elif "widget-checkbox" in classes:
            found.append(("checkbox", child.locator(".widget-label-basic").text_content().strip(),
                          child))
        elif "widget-toggle-buttons" in classes:
            found.append(("toggle", text, child))
        elif "widget-dropdown" in classes:
            found.append(("dropdown", text, child))
    return found


def wait_for_change(page, box, before, timeout=UPDATE_TIMEOUT):
    """Wait until the figure's bytes or the readout differ from `before`; the new state, or
    None after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = explorer_state(box)
        if now["image"] != before["image"] or now["readout"] != before["readout"]:
            return now
        page.wait_for_timeout(100)
    return None


def wait_until_settled(page, box, quiet=0.4, timeout=UPDATE_TIMEOUT):
    """Wait until the figure's src has not changed for `quiet` seconds (pending updates done)."""
    deadline = time.monotonic() + timeout
    last, since = explorer_state(box)["src"], time.monotonic()
    while time.monotonic() < deadline:
        page.wait_for_timeout(100)
        src = explorer_state(box)["src"]
        if src != last:
            last, since = src, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
