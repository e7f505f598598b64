"""Every explorer in a real browser: JupyterLab + Debian's Chromium, driven by Playwright.

nbval checks the stored outputs; it cannot see whether a slider works for a person. Here, for
every notebook that creates an explorer of helpers.explorers (found by scanning notebooks/, so new
notebooks are covered without editing this file), a JupyterLab server serving a temporary copy
of the course runs all cells in headless Chromium; the test checks that no cell has an error
output, then moves every slider (keyboard: End or Home; the first one also by a mouse drag to the middle),
ticks every checkbox and clicks every toggle button / picks every dropdown, and asserts that the figure's PNG
bytes or the readout changed each time. Assertions are on the DOM, never on pixels. The window is
a laptop's, 1,366 x 768: each explorer (controls, figure, readout) must fit in the notebook's
visible area, so its controls and its figure can be seen together.

Each notebook is also opened WITHOUT running it, as a fresh clone is (untrusted, no kernel
output): every explorer's stored output must show its picture (an image, not the widget's text).

Screenshots of every explorer at its default setting, live, go to test-artifacts/explorers/.

Missing pieces (the playwright package, Chromium at /usr/bin/chromium or $CHROMIUM): skipped
with the reason locally, a failure when the environment variable CI is set.
Deselect with `pytest -m "not browser"`. On failure a screenshot and the server log are saved
in pytest's temporary folder (the path is in the failure message).
"""

import contextlib
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import browser_support as bs

pytestmark = pytest.mark.browser

NOTEBOOKS = bs.explorer_notebooks()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    missing = bs.missing_requirements()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run in CI: {missing}", pytrace=False)
        pytest.skip(f"browser tests need a browser: {missing}")
    server = bs.LabServer(tmp_path_factory.mktemp("lab") / "root")
    try:
        server.start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(lab):
    with bs.chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser, lab):
    context = browser.new_context(viewport=bs.LAPTOP)
    page = context.new_page()
    page.set_default_timeout(bs.UPDATE_TIMEOUT * 1000)
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    yield page
    context.close()
    lab.shutdown_kernels()


@contextlib.contextmanager
def evidence_on_failure(page, lab, folder):
    """On any failure: save a screenshot, the server log and the page's console errors."""
    try:
        yield
    except BaseException as exc:
        folder.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(Exception):
            page.screenshot(path=str(folder / "page.png"), full_page=True)
        (folder / "jupyter.log").write_text(lab.log())
        (folder / "console.txt").write_text("\n".join(page.console_errors))
        raise AssertionError(f"{exc}\n(screenshot, server log, console: {folder})") from exc


def check_changed(page, box, before, what):
    """The new state of the explorer after `what`; fails if neither figure nor readout changed."""
    after = bs.wait_for_change(page, box, before)
    assert after is not None, (
        f"{what}: neither the figure's PNG nor the readout changed within "
        f"{bs.UPDATE_TIMEOUT} s (readout: {before['readout']!r})")
    bs.wait_until_settled(page, box)
    return bs.explorer_state(box)


def move_slider_by_keyboard(page, box, control, label):
    handle = control.locator(".noUi-handle")
    now, top = (float(handle.get_attribute(a)) for a in ("aria-valuenow", "aria-valuemax"))
    key = "End" if now < top else "Home"
    before = bs.explorer_state(box)
    handle.focus()
    page.keyboard.press(key)
    after = check_changed(page, box, before, f"slider {label!r}, key {key}")
    assert after["controls"] != before["controls"], f"slider {label!r}: its value did not move"


def move_slider_by_mouse(page, box, control, label):
    handle = control.locator(".noUi-handle")
    track = control.locator(".noUi-base").bounding_box()
    grip = handle.bounding_box()
    before = bs.explorer_state(box)
    page.mouse.move(grip["x"] + grip["width"] / 2, grip["y"] + grip["height"] / 2)
    page.mouse.down()
    page.mouse.move(track["x"] + 0.5 * track["width"], track["y"] + track["height"] / 2,
                    steps=8)
    page.mouse.up()
    after = check_changed(page, box, before, f"slider {label!r}, drag to the middle")
    assert after["controls"] != before["controls"], f"slider {label!r}: drag did not move it"


def click_each_option(page, box, control, label, kind):
    if kind == "checkbox":
        options = [control.locator("input[type=checkbox]")]
    elif kind == "toggle":
        options = control.locator("button.widget-toggle-button").all()
    else:  # dropdown
        options = [None]
    for option in options:
        if kind == "toggle" and "mod-active" in (option.get_attribute("class") or ""):
            continue
        before = bs.explorer_state(box)
        if kind == "dropdown":
            select = control.locator("select")
            current = select.input_value()
            values = [o.get_attribute("value") for o in select.locator("option").all()]
            select.select_option(next(v for v in values if v != current))
        else:
            option.click()
        name = "" if option is None else (option.text_content() or "").strip()
        check_changed(page, box, before, f"{kind} {label!r} {name}".strip())


def assert_fits_the_window(page, box, what):
    """The whole explorer fits in the notebook's visible area, and its figure is not stretched."""
    area = bs.visible_area(page)
    rect = box.bounding_box()
    assert rect["width"] <= area["width"] and rect["height"] <= area["height"], (
        f"{what} is {rect['width']:.0f} x {rect['height']:.0f} px, more than the "
        f"{area['width']:.0f} x {area['height']:.0f} px a {bs.LAPTOP['width']} x "
        f"{bs.LAPTOP['height']} window shows: its controls and figure cannot be seen together")
    img = box.locator(":scope > img.widget-image")
    shown = img.evaluate("i => [i.getBoundingClientRect().width, i.naturalWidth]")
    assert shown[1] >= 2 * shown[0] - 1, (
        f"{what}: the figure is {shown[1]} px wide, shown at {shown[0]:.0f} CSS px: blurry on a "
        f"screen with 2 device pixels per CSS pixel")


def exercise_explorers(page, notebook):
    """Move the controls of every explorer on the page; each move must change the figure.

    Every slider by keyboard, the first slider also by mouse, every other control through each
    option. Before any move: the explorer must fit the window, and is photographed.
    """
    boxes = page.locator(bs.EXPLORER)
    expected = NOTEBOOKS[notebook]
    assert boxes.count() >= len(expected), (
        f"{notebook} creates {expected} but the page shows {boxes.count()} explorer(s)")
    for index in range(boxes.count()):
        box = boxes.nth(index)
        box.scroll_into_view_if_needed()
        bs.wait_until_settled(page, box)
        found = bs.controls(box)
        assert found, f"{notebook}: explorer {index} has no controls"
        assert bs.explorer_state(box)["image"] != "no-image", "the figure has no image"
        what = f"{notebook}: explorer {index} ({expected[index] if index < len(expected) else '?'})"
        box.evaluate("b => b.scrollIntoView({block: 'start'})")
        bs.ARTIFACTS.mkdir(parents=True, exist_ok=True)
        box.screenshot(path=str(bs.ARTIFACTS / f"{notebook.split('_')[0]}-{index}-live.png"))
        assert_fits_the_window(page, box, what)
        dragged = False
        for kind, label, control in found:
            control.scroll_into_view_if_needed()
            if kind == "slider":
                move_slider_by_keyboard(page, box, control, label)
                if not dragged:  # one drag per explorer: the mouse path works
                    move_slider_by_mouse(page, box, control, label)
                    dragged = True
            else:
                click_each_option(page, box, control, label, kind)


@pytest.mark.parametrize("notebook", sorted(NOTEBOOKS))
def test_explorer_in_jupyterlab(page, lab, notebook, tmp_path):
    with evidence_on_failure(page, lab, tmp_path / "evidence"):
        bs.open_notebook(page, lab, notebook)
        report = bs.run_all_cells(page)
        assert not report["errors"], f"{notebook}: error outputs:\n" + "\n".join(report["errors"])
        assert report["unexecuted"] == 0, f"{notebook}: {report['unexecuted']} cells not run"
        assert not report["tf_logs"], (f"{notebook}: TensorFlow log lines in a live run:\n"
                                       + "\n".join(report["tf_logs"]))
        exercise_explorers(page, notebook)

        report = bs.cell_report(page)
        assert not report["errors"], "after the moves:\n" + "\n".join(report["errors"])


@pytest.mark.parametrize("notebook", sorted(NOTEBOOKS))
def test_unrun_notebook_shows_each_explorer_as_a_picture(page, lab, notebook, tmp_path):
    """A fresh clone, opened without running a cell: each explorer's stored output shows its
    picture (a PNG twice as wide as it is shown, so sharp), never the widget's text repr."""
    with evidence_on_failure(page, lab, tmp_path / "evidence"):
        bs.open_notebook(page, lab, notebook)
        page.wait_for_function("""() => [...document.querySelectorAll('.jp-OutputArea-output img')]
            .every(i => i.complete)""", timeout=bs.KERNEL_TIMEOUT * 1000)
        outputs = bs.stored_explorer_outputs(page)
        assert len(outputs) == len(NOTEBOOKS[notebook]), (
            f"{notebook} creates {NOTEBOOKS[notebook]} but stores {len(outputs)} explorer "
            f"output(s); re-execute it")
        images = page.locator(".jp-OutputArea-output:has(> img)")
        for index, output in enumerate(outputs):
            assert output["image"] is not None, (
                f"{notebook} cell {output['cell']}: the stored explorer output shows no image, "
                f"but {output['text']!r}")
            assert output["image"]["complete"] and output["image"]["natural"] > 0
            assert output["image"]["natural"] >= 2 * output["image"]["width"] - 1, (
                f"{notebook} cell {output['cell']}: the picture is stretched "
                f"({output['image']['natural']} px shown at {output['image']['width']:.0f})")
        assert images.count() >= len(outputs)
        bs.ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for index, output in enumerate(outputs):
            node = page.locator(".jp-Cell").nth(output["cell"]).locator(".jp-OutputArea-output")
            node.first.scroll_into_view_if_needed()
            node.first.screenshot(
                path=str(bs.ARTIFACTS / f"{notebook.split('_')[0]}-{index}-unrun.png"))
