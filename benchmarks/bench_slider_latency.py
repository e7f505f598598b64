"""How long from moving a control to seeing the new figure, in a real browser?

A report, not a test: it prints a table and the targets, and always exits with code 0.

    .venv/bin/python benchmarks/bench_slider_latency.py [--moves 30] [notebook ...]

Same set-up as tests/test_browser.py (tests/browser_support.py): JupyterLab on a free port
serving a temporary copy of notebooks/ and data/, Debian's Chromium headless via Playwright.
For every notebook with an explorer of helpers.explorers, all cells are run, then for every
slider of every explorer the script presses ArrowRight (ArrowLeft once the slider is at its
maximum, and back) `--moves` times; toggle buttons and checkboxes are clicked through their
options. Each move is timed in the page: from the keydown / pointerdown event on the control
(performance.now() in a capturing listener) to the moment the figure's <img> gets its new src
(a MutationObserver); the script waits for it inside the page, without polling, so that the
measurement takes no CPU from the kernel. The next move waits until the figure has been quiet
for a moment. A move that changes nothing the figure shows (same PNG bytes, so no new src) is
counted as "same".

Also printed: the kernel-side redraw time (compute + update artists + PNG encode), from the
explorers' own `redraw_ms`; the rest of the latency is transport and the browser. The kernel side
alone, without a browser: bench_redraw.py.

Targets, per control: median under 100 ms and 95th percentile under 200 ms (the threshold
at which a response feels instant).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import browser_support as bs

TARGET_MEDIAN, TARGET_P95 = 100.0, 200.0  # ms
NO_CHANGE_AFTER = 1.5  # s without a new src: the move did not change the figure
QUIET = 0.15  # s the figure must stay unchanged before the next move

# Installed once per explorer box: every src change of the figure and every key press / pointer
# press on a control is recorded with performance.now().
_INSTRUMENT = """(box) => {
    const img = box.querySelector(':scope > img.widget-image');
    box.__srcTimes = [];
    box.__inputTime = null;
    new MutationObserver(() => box.__srcTimes.push(performance.now()))
        .observe(img, {attributes: true, attributeFilter: ['src']});
    for (const type of ['keydown', 'pointerdown']) {
        box.addEventListener(type, () => { box.__inputTime = performance.now(); }, true);
    }
}"""

# Kernel side: the explorers' own redraw timings (milliseconds), by class.
_KERNEL_CODE = """
import gc as _gc, json as _json
from helpers.explorers import Explorer as _Explorer
print(_json.dumps([[type(_e).__name__, list(_e.redraw_ms)]
                   for _e in _gc.get_objects() if isinstance(_e, _Explorer)]))
"""
_KERNEL_RUN = """async (code) => {
    const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    let text = '';
    const future = kernel.requestExecute({code, silent: false, store_history: false});
    future.onIOPub = (msg) => { if (msg.header.msg_type === 'stream') text += msg.content.text; };
    await future.done;
    return text;
}"""


def percentile(values, q):
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def wait_quiet(page, box):
    """Until no new src has arrived for QUIET seconds."""
    count, since = box.evaluate("b => b.__srcTimes.length"), time.monotonic()
    while time.monotonic() - since < QUIET:
        page.wait_for_timeout(30)
        now = box.evaluate("b => b.__srcTimes.length")
        if now != count:
            count, since = now, time.monotonic()


# Resolves with [input time, src times] at the figure's first new src after the move, or with
# null after `timeoutMs`: one call that waits in the page, so nothing polls while the kernel
# works (a poll every few ms from here costs CPU that the kernel, the server and the browser
# share on 2 cores, and inflated the measured latency).
_AWAIT_SRC = """(box, timeoutMs) => new Promise((resolve) => {
    const done = () => resolve([box.__inputTime, box.__srcTimes.slice()]);
    if (box.__inputTime !== null && box.__srcTimes.length) { done(); return; }
    const img = box.querySelector(':scope > img.widget-image');
    const observer = new MutationObserver(() => {
        observer.disconnect(); clearTimeout(timer); done();
    });
    observer.observe(img, {attributes: true, attributeFilter: ['src']});
    const timer = setTimeout(() => { observer.disconnect(); resolve(null); }, timeoutMs);
})"""


def time_move(page, box, act):
    """Latency in ms of one move (`act()` presses a key or clicks), or None if the figure did
    not change within NO_CHANGE_AFTER seconds."""
    wait_quiet(page, box)
    box.evaluate("b => { b.__srcTimes = []; b.__inputTime = null; }")
    act()
    if box.evaluate(_AWAIT_SRC, int(1000 * NO_CHANGE_AFTER)) is None:
        return None
    page.wait_for_timeout(int(1000 * QUIET))  # a continuous slider may send more
    times = box.evaluate("b => [b.__inputTime, b.__srcTimes]")
    return times[1][-1] - times[0]


def slider_moves(page, box, control, moves):
    handle = control.locator(".noUi-handle")
    handle.focus()
    latencies, same, direction = [], 0, "ArrowRight"
    for _ in range(moves):
        now, top, bottom = (float(handle.get_attribute(a))
                            for a in ("aria-valuenow", "aria-valuemax", "aria-valuemin"))
        if now >= top:
            direction = "ArrowLeft"
        elif now <= bottom:
            direction = "ArrowRight"
        ms = time_move(page, box, lambda key=direction: handle.press(key))
        if ms is None:
            same += 1
        else:
            latencies.append(ms)
    return latencies, same


def option_moves(page, box, control, kind, moves):
    if kind == "checkbox":
        options = [control.locator("input[type=checkbox]")]
    elif kind == "toggle":
        options = control.locator("button.widget-toggle-button").all()
    else:
        return [], 0  # dropdowns: not timed
    latencies, same = [], 0
    for i in range(moves):
        option = options[i % len(options)]
        if kind == "toggle" and "mod-active" in (option.get_attribute("class") or ""):
            option = options[(i + 1) % len(options)]
        ms = time_move(page, box, option.click)
        if ms is None:
            same += 1
        else:
            latencies.append(ms)
    return latencies, same


def kernel_redraws(page):
    import json

    text = page.evaluate(_KERNEL_RUN, _KERNEL_CODE)
    return json.loads(text.strip().splitlines()[-1]) if text.strip() else []


def kernel_since(page, cls, before):
    """The redraw_ms of explorers of class `cls` recorded after the snapshot `before`."""
    old = {i: times for i, (name, times) in enumerate(before) if name == cls}
    new = []
    for i, (name, times) in enumerate(kernel_redraws(page)):
        if name == cls:
            new += times[len(old.get(i, [])):]
    return new


def bench_notebook(page, server, notebook, classes, moves):
    rows = []
    try:
        bs.open_notebook(page, server, notebook)
        report = bs.run_all_cells(page)
    except Exception as exc:  # e.g. a timeout on a loaded machine: report it, go on
        print(f"{notebook}: could not run its cells ({type(exc).__name__}: "
              f"{str(exc).splitlines()[0]}), skipped", file=sys.stderr)
        server.shutdown_kernels()
        return rows
    if report["errors"]:
        print(f"{notebook}: error outputs, skipped:\n  " + "\n  ".join(report["errors"]))
        return rows
    boxes = page.locator(bs.EXPLORER)
    for index in range(boxes.count()):
        box = boxes.nth(index)
        name = classes[index] if boxes.count() == len(classes) else f"explorer {index}"
        box.scroll_into_view_if_needed()
        bs.wait_until_settled(page, box)
        box.evaluate(_INSTRUMENT)
        for kind, label, control in bs.controls(box):
            control.scroll_into_view_if_needed()
            before = kernel_redraws(page)
            if kind == "slider":
                latencies, same = slider_moves(page, box, control, moves)
            else:
                latencies, same = option_moves(page, box, control, kind, max(6, moves // 3))
            kernel = kernel_since(page, name, before)
            rows.append((notebook, name, f"{kind} {label}", latencies, same, kernel))
            print(f"  measured {format_row(rows[-1])[0]}  (load {os.getloadavg()[0]:.1f})",
                  file=sys.stderr)
    server.shutdown_kernels()
    return rows


def format_row(row):
    """(line of the table, within the targets?) for one control."""
    notebook, name, control, latencies, same, kernel = row
    kernel_ms = f"{statistics.median(kernel):7.0f}" if kernel else f"{'-':>7}"
    if not latencies:
        return (f"{notebook:<30} {name:<22} {control[:28]:<28} {0:>3} {same:>4} "
                f"{'-':>7} {'-':>7} {kernel_ms}  no change seen"), False
    median, p95 = statistics.median(latencies), percentile(latencies, 0.95)
    ok = median < TARGET_MEDIAN and p95 < TARGET_P95
    return (f"{notebook:<30} {name:<22} {control[:28]:<28} {len(latencies):>3} {same:>4} "
            f"{median:7.0f} {p95:7.0f} {kernel_ms}  {'ok' if ok else 'FAIL'}"), ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--moves", type=int, default=30, help="moves per slider (default 30)")
    parser.add_argument("notebooks", nargs="*", help="notebook file names (default: all)")
    args = parser.parse_args()

    missing = bs.missing_requirements()
    if missing:
        print(f"Cannot measure: {missing}")
        return
    found = bs.explorer_notebooks()
    if args.notebooks:
        found = {k: v for k, v in found.items() if k in args.notebooks}
    rows = []
    with tempfile.TemporaryDirectory() as tmp, bs.LabServer(Path(tmp) / "root") as server, \
            bs.chromium() as browser:
        version = browser.version
        for notebook, classes in found.items():
            page = browser.new_page(viewport=bs.LAPTOP)
            rows += bench_notebook(page, server, notebook, classes, args.moves)
            page.close()

    load = os.getloadavg()[0]
    print(f"\nChromium {version}; load average {load:.1f} on {os.cpu_count()} cores; "
          f"Python {sys.version.split()[0]}; {args.moves} moves per slider; "
          f"latency = input event in the page -> new figure src (ms)")
    header = (f"{'notebook':<30} {'explorer':<22} {'control':<28} {'n':>3} {'same':>4} "
              f"{'median':>7} {'p95':>7} {'kernel':>7}  target")
    print(header)
    print("-" * len(header))
    misses = 0
    for row in rows:
        line, ok = format_row(row)
        print(line)
        misses += not ok
    print(f"\nTargets: median < {TARGET_MEDIAN:.0f} ms, p95 < {TARGET_P95:.0f} ms per control. "
          f"'same': moves after which the figure's bytes did not change (not timed). "
          f"'kernel': median of the explorer's own redraw_ms for those moves "
          f"(compute + draw + PNG).")
    print("All within the targets." if not misses else f"{misses} control(s) miss the targets.")


if __name__ == "__main__":
    main()
