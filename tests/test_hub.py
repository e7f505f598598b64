"""The classroom on a real JupyterHub, end to end in Chromium (README, "On JupyterHub, with
nbgrader's exchange").

A JupyterHub on free local ports (tests/hub_support.py) runs the instructors' example config,
assignments/jupyterhub_config.py, with an instructor and three students, each with a home of
their own in a temporary folder; the course's Jupyter config folder, nbgrader's exchange and the
instructor's nbgrader config are laid out as the README says. Then, through the hub's login page:

1. the instructor, in a JupyterLab terminal, runs `make assignments` and
   `nbgrader release_assignment` for two notebooks;
2. each student sees both in the Assignments tab (and no instructor extension), fetches
   notebook 02, types an answer into its exercise and its prediction (right, wrong, or nothing),
   runs the checker cell, saves and submits; the right one submitted the untouched notebook
   first, so the latest submission must be the one counted;
3. the instructor collects, grades with `make grade`, generates and releases
   feedback (the README's order);
4. each student fetches the feedback and reads their score and the checker's hint in it;
5. the gradebook holds the expected scores: the points of the answered exercise and prediction
   (read from the solution notebook's nbgrader metadata) for the right answers, 0 otherwise.

Missing pieces (jupyterhub, configurable-http-proxy, node, playwright, Chromium): skipped with
the reason locally, a failure when the environment variable CI is set. Screenshots of each step
go to test-artifacts/hub/; on a failure also the page of every user and the hub's log.
Deselect with `pytest -m "not browser"`.
"""

import contextlib
import json
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import browser_support as bs
import hub_support as hs

pytestmark = pytest.mark.browser

REPO = bs.REPO
ARTIFACTS = REPO / "test-artifacts" / "hub"
INSTRUCTOR = "instructor"
# What each student does with the fetched notebook.
STUDENTS = {"alice": "right", "bob": "wrong", "carol": "untouched"}
TWICE = "alice"  # submits the untouched notebook first, then her answers
RELEASED = ("02_batchnorm_forward", "03_gamma_beta_identity")
FETCHED = RELEASED[0]
EXERCISE = "batch_norm"  # grade_id of the solution cell the students answer
PREDICTION = "predict_almost_dead_unit_without_eps"  # and of the prediction
# The wrong answer: a mistake of the README's list (unbiased variance).
WRONG_EDIT = ("z.var(axis=0)", "z.var(axis=0, ddof=1)")
COMMAND_TIMEOUT = 900  # s, for one block of instructor commands (make grade runs every notebook)
UI_TIMEOUT = 120  # s, for a click to show its result (nbgrader's list calls run on the server)

# The instructor's ~/.jupyter/nbgrader_config.py (README).
INSTRUCTOR_NBGRADER_CONFIG = '''\
c = get_config()  # noqa: F821
c.CourseDirectory.root = {course!r}
'''
README_SECTION = "### On JupyterHub, with nbgrader's exchange"
README_SRV = "/srv/nbgrader"  # the README's folders, moved into the temporary folder


def readme_course_setup():
    """What the README's JupyterHub section puts into the course's Jupyter config folder:
    (text of nbgrader_config.py, the nbgrader plugins disabled and locked, the text of
    jupyter_server_config.json). Read from README.md, so the test runs what it says."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert README_SECTION in readme, f"README.md has no section {README_SECTION!r}"
    section = readme.split(README_SECTION, 1)[1].split("\n### ", 1)[0]
    config = re.search(r"cat > nbgrader_config.py <<'(\w+)'\n(.*?)\n\1\n", section, re.S)
    plugins = re.search(r'^plugins="([^"]+)"', section, re.M)
    server = re.search(r"^echo '(.*?)' \\\n\s*> jupyter_server_config.json", section, re.M)
    assert config and plugins and server, (
        "README's JupyterHub section no longer shows the course config folder's "
        "nbgrader_config.py, plugins=... and jupyter_server_config.json as this test reads them")
    return config.group(2), plugins.group(1).split(), server.group(1)


# ----------------------------------------------------------------------------- the exercise
def course_id():
    """The course id of assignments/nbgrader_config.py."""
    from traitlets.config import PyFileConfigLoader

    loader = PyFileConfigLoader("nbgrader_config.py", path=str(REPO / "assignments"))
    return loader.load_config().CourseDirectory.course_id


def graded_cells(notebook):
    """{grade_id: cell} of a notebook's nbgrader cells, in order."""
    nb = nbformat.read(notebook, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells
            if "nbgrader" in c.metadata and "grade_id" in c.metadata["nbgrader"]}


def checker_of(cells, solution_id):
    """grade_id of the graded test cell right after the solution cell `solution_id`."""
    ids = list(cells)
    for grade_id in ids[ids.index(solution_id) + 1:]:
        meta = cells[grade_id].metadata["nbgrader"]
        if meta.get("grade") and not meta.get("solution"):
            return grade_id
    raise AssertionError(f"no graded test cell after {solution_id!r}")


def solved(source):
    """A solution cell as a student who knows the answer types it: without nbgrader's markers
    and without the `name = ...` placeholder of a prediction."""
    lines = [line for line in source.splitlines()
             if not re.match(r"\s*### (BEGIN|END) SOLUTION", line)
             and not re.match(r"\s*\w+ = \.\.\.\s*$", line)]
    return "\n".join(lines)


def wrong_prediction(source):
    """The prediction cell with the first offered choice that is not the right one."""
    right = solved(source)
    choices = re.findall(r'"([^"]+)"', source.splitlines()[0])
    answer = re.search(r'= "([^"]+)"', right).group(1)
    wrong = next(choice for choice in choices if choice != answer)
    return right.replace(f'= "{answer}"', f'= "{wrong}"')


def answers(kind):
    """{grade_id: cell source} a student of `kind` types into the fetched notebook."""
    cells = graded_cells(REPO / "notebooks" / f"{FETCHED}.ipynb")
    if kind == "untouched":
        return {}
    exercise, prediction = solved(cells[EXERCISE].source), cells[PREDICTION].source
    if kind == "right":
        return {EXERCISE: exercise, PREDICTION: solved(prediction)}
    assert WRONG_EDIT[0] in exercise, f"the solution of {EXERCISE} no longer has {WRONG_EDIT[0]}"
    return {EXERCISE: exercise.replace(*WRONG_EDIT), PREDICTION: wrong_prediction(prediction)}


def expected_scores():
    """({student: score}, max score) of FETCHED, from the solution notebook's metadata: the
    right student earns the points of the two answered checkers, the others nothing."""
    cells = graded_cells(REPO / "notebooks" / f"{FETCHED}.ipynb")
    points = {gid: c.metadata["nbgrader"].get("points", 0) for gid, c in cells.items()
              if c.metadata["nbgrader"].get("grade")}
    earned = points[checker_of(cells, EXERCISE)] + points[checker_of(cells, PREDICTION)]
    scores = {s: (earned if kind == "right" else 0) for s, kind in STUDENTS.items()}
    return scores, sum(points.values())


# ----------------------------------------------------------------------------- the set-up
def lay_out_course(hub, course):
    """The course's config folder and the instructor's nbgrader config, as the README says:
    its nbgrader_config.py (with the temporary exchange), its commands that disable and lock
    nbgrader's instructor plugins (run with JUPYTER_CONFIG_DIR on the folder), its
    jupyter_server_config.json; and the instructor's ~/.jupyter/nbgrader_config.py."""
    import subprocess

    config, plugins, server = readme_course_setup()
    assert README_SRV + "/exchange" in config, "the README's config names another exchange"
    assert repr(course_id()).strip("'") in config, (
        f"the README's config does not set the course id {course_id()!r} of "
        f"assignments/nbgrader_config.py")
    config = config.replace(README_SRV + "/exchange", str(hub.exchange))
    (hub.course_config / "nbgrader_config.py").write_text(config)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(hub.course_config))
    for action in ("disable", "lock"):
        subprocess.run([str(hs.BIN / "jupyter"), "labextension", action, "--level=user",
                        *plugins], env=env, check=True, capture_output=True)
    (hub.course_config / "jupyter_server_config.json").write_text(server)
    json.loads(server)  # the README's JSON is valid
    user_config = hub.home(INSTRUCTOR) / ".jupyter"
    user_config.mkdir(parents=True, exist_ok=True)
    (user_config / "nbgrader_config.py").write_text(
        INSTRUCTOR_NBGRADER_CONFIG.format(course=str(course)))
    return plugins


@pytest.fixture(scope="module")
def hub():
    missing = hs.missing_requirements()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the JupyterHub test cannot run in CI: {missing}", pytrace=False)
        pytest.skip(f"the JupyterHub test needs: {missing}")
    # A folder of its own rather than pytest's tmp_path: pytest deletes all but its three latest
    # temporary folders whenever it starts, so a parallel pytest run could pull the homes away.
    root = Path(tempfile.mkdtemp(prefix="course-hub-"))
    shutil.rmtree(ARTIFACTS, ignore_errors=True)  # this run's screenshots only
    server = hs.Hub(root)
    try:
        server.course = server.home(INSTRUCTOR) / "course"
        server.plugins = lay_out_course(server, server.course)
        try:
            server.start([INSTRUCTOR, *STUDENTS])
        except RuntimeError as exc:
            pytest.fail(str(exc), pytrace=False)
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def browser(hub):
    with bs.chromium() as chromium:
        yield chromium


# ----------------------------------------------------------------------------- in the page
_LAB_READY = """() => !!window.jupyterapp && !!document.querySelector('#jp-main-dock-panel')
    && window.jupyterapp.commands.hasCommand('nbgrader:open-assignment-list')"""


class Session:
    """One user logged in through the hub's login page, in a browser context of their own."""

    def __init__(self, browser, hub, user):
        self.hub, self.user = hub, user
        self.context = browser.new_context(viewport=bs.LAPTOP)
        self.page = self.context.new_page()
        self.page.set_default_timeout(UI_TIMEOUT * 1000)
        page = self.page
        page.goto(hub.url("hub/login"))
        page.fill("#username_input", user)
        admins = {INSTRUCTOR}
        page.fill("#password_input", hub.password(user, admins))
        page.click("#login_submit")
        page.wait_for_url(f"**/user/{user}/lab**", timeout=hs.SPAWN_TIMEOUT * 1000)
        page.wait_for_function(_LAB_READY, timeout=hs.SPAWN_TIMEOUT * 1000, polling=500)

    def shot(self, name):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(Exception):
            self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))

    def close(self):
        self.context.close()

    # --- the instructor's terminal
    def run_in_terminal(self, name, commands, env=None):
        """Type `commands` (joined with &&) into a new JupyterLab terminal; output shown and
        kept in ~/<name>.log. Returns (exit status, log) once ~/<name>.status appears."""
        home = self.hub.home(self.user)
        status, log = home / f"{name}.status", home / f"{name}.log"
        page = self.page
        page.evaluate("() => window.jupyterapp.commands.execute('terminal:create-new')")
        screen = page.locator(".jp-Terminal:visible .xterm-screen")
        screen.wait_for()
        # Keys typed before the terminal's websocket is open would be lost (the shell itself
        # reads them from its terminal's buffer whenever it is ready).
        page.wait_for_function("""() => {
            const w = window.jupyterapp.shell.currentWidget;
            const session = w && w.content && w.content.session;
            return !!session && session.connectionStatus === 'connected'; }""")
        screen.click()
        exports = "".join(f"export {k}={v}; " for k, v in (env or {}).items())
        line = (f"{exports}{{ {' && '.join(commands)}; }} 2>&1 | tee ~/{name}.log; "
                f"echo ${{PIPESTATUS[0]}} > ~/{name}.status")
        page.keyboard.type(line)
        page.keyboard.press("Enter")
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while not status.exists() and time.monotonic() < deadline:
            page.wait_for_timeout(1000)
        self.shot(f"{self.user}-{name}")
        assert status.exists(), f"{name}: no result after {COMMAND_TIMEOUT} s:\n{self.log(log)}"
        return int(status.read_text().strip() or -1), self.log(log)

    @staticmethod
    def log(path):
        return path.read_text(errors="replace") if path.exists() else "(no log)"

    # --- nbgrader's Assignments tab
    def assignments(self):
        """Show the Assignments tab (opened from the Nbgrader menu), refreshed."""
        page = self.page
        tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab:has-text('Assignments')")
        if tab.count():
            tab.first.click()
        else:
            page.locator("#jp-menu-panel .lm-MenuBar-itemLabel:text-is('Nbgrader')").click()
            page.locator("#jp-mainmenu-nbgrader li[data-command='nbgrader:open-assignment-list']"
                         ).click()
        page.locator("#released_assignments_list").wait_for()
        page.locator("#refresh_assignments_list").click()
        for name in ("released", "fetched", "submitted"):
            page.locator(f"#{name}_assignments_list_loading").wait_for(state="hidden")

    def names(self, listing, expected):
        """Assignment names shown in the released / fetched / submitted list, once they are
        `expected` (the list fills in after the refresh) or after UI_TIMEOUT seconds."""
        rows = self.page.locator(f"#{listing}_assignments_list > .list_item .item_name")
        deadline = time.monotonic() + UI_TIMEOUT
        while True:
            shown = [name.strip() for name in rows.all_inner_texts()]
            if sorted(shown) == sorted(expected) or time.monotonic() > deadline:
                return shown
            self.page.wait_for_timeout(500)

    def row(self, listing, assignment):
        return self.page.locator(f"#{listing}_assignments_list > .list_item").filter(
            has=self.page.locator(".item_name", has_text=assignment)).first

    # --- the notebook
    def open_fetched(self):
        """Open the fetched notebook from the Assignments tab; wait for an idle kernel."""
        row = self.row("fetched", FETCHED)
        row.locator("a", has_text=FETCHED).first.click()  # expands the notebook list
        row.locator(".nested_list_item a", has_text=FETCHED).first.click()
        page = self.page
        page.wait_for_function(f"""() => {{
            const w = window.jupyterapp.shell.currentWidget;
            return !!w && !!w.context && w.context.path.endsWith('{FETCHED}.ipynb'); }}""")
        page.wait_for_function(bs._KERNEL_IDLE, timeout=bs.KERNEL_TIMEOUT * 1000, polling=250)

    def cell_index(self, grade_id):
        return self.page.evaluate("""(id) => window.jupyterapp.shell.currentWidget.content.widgets
            .findIndex(c => (c.model.getMetadata('nbgrader') || {}).grade_id === id)""", grade_id)

    def type_into(self, grade_id, text):
        """Replace the cell's text by typing (select all, insert) in its editor; returns what
        the notebook's model then holds."""
        index = self.cell_index(grade_id)
        assert index >= 0, f"{grade_id} is not in the fetched notebook"
        cell = self.page.locator(".jp-NotebookPanel:visible .jp-Cell").nth(index)
        cell.scroll_into_view_if_needed()
        cell.locator(".cm-content").click()
        self.page.keyboard.press("ControlOrMeta+a")
        self.page.keyboard.insert_text(text)
        self.page.keyboard.press("Escape")
        return self.page.evaluate("""(i) => window.jupyterapp.shell.currentWidget.content
            .widgets[i].model.sharedModel.getSource()""", index)

    def run_checker(self, checker_id):
        """Run every cell above the checker (as Shift+Enter would, one by one), then the
        checker itself from the keyboard; returns the text its output area shows."""
        index = self.cell_index(checker_id)
        page = self.page
        page.evaluate("""async (last) => {
            const app = window.jupyterapp, notebook = app.shell.currentWidget.content;
            for (let i = 0; i < last; i++) {
                notebook.activeCellIndex = i;
                await app.commands.execute('notebook:run-cell');
            }
        }""", index)
        cell = page.locator(".jp-NotebookPanel:visible .jp-Cell").nth(index)
        cell.scroll_into_view_if_needed()
        cell.locator(".jp-InputPrompt").click()  # selects the cell (command mode)
        page.keyboard.press("ControlOrMeta+Enter")
        page.wait_for_function("""(i) => {
            const panel = window.jupyterapp.shell.currentWidget;
            const cell = panel.content.widgets[i];
            const kernel = panel.sessionContext.session.kernel;
            return cell.model.executionCount !== null && kernel.status === 'idle'
                && !cell.node.querySelector('.jp-InputPrompt').textContent.includes('*');
        }""", arg=index, timeout=bs.RUN_ALL_TIMEOUT * 1000, polling=250)
        return cell.locator(".jp-OutputArea").inner_text()

    def save(self):
        page = self.page
        page.keyboard.press("ControlOrMeta+s")
        page.wait_for_function(
            "() => !window.jupyterapp.shell.currentWidget.context.model.dirty")


@contextlib.contextmanager
def evidence_on_failure(hub, sessions, what):
    """On a failure: a screenshot of every open page and the hub's log, under ARTIFACTS."""
    try:
        yield
    except BaseException as exc:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for session in sessions.values():
            session.shot(f"FAILED-{what}-{session.user}")
        (ARTIFACTS / "FAILED-jupyterhub.log").write_text(hub.log())
        raise AssertionError(f"{what}: {exc}\n(screenshots and hub log in {ARTIFACTS})") from exc


# ----------------------------------------------------------------------------- the steps
def release(hub, session):
    """Step 1: `make assignments` and `nbgrader release_assignment` in the instructor's
    terminal, as the README says (the instructor's clone is this checkout)."""
    commands = [f"source {REPO}/.venv/bin/activate" if (REPO / ".venv").exists() else "true",
                f"make -C {REPO} assignments ASSIGNMENTS={hub.course}",
                f"cd {hub.course}",
                *(f"nbgrader release_assignment {name}" for name in RELEASED)]
    status, log = session.run_in_terminal("release", commands)
    assert status == 0, f"the instructor's release failed (exit {status}):\n{log[-3000:]}"
    outbound = hub.exchange / course_id() / "outbound"
    for name in RELEASED:
        assert (outbound / name / f"{name}.ipynb").is_file(), f"{name} is not in {outbound}"


def submit(session, expected_count):
    """Click Submit on FETCHED; wait for `expected_count` submissions in the list."""
    session.assignments()
    session.row("fetched", FETCHED).locator("button", has_text="Submit").click()
    session.page.wait_for_function(
        """([sel, n]) => document.querySelectorAll(sel).length === n""",
        arg=["#submitted_assignments_list .nested_list_item", expected_count])


def inbound(hub, student):
    """The student's submissions of FETCHED in the exchange, oldest first."""
    folder = hub.exchange / course_id() / "inbound"
    return sorted(folder.glob(f"{student}+{FETCHED}+*"))


def student_works(hub, session, kind, twice):
    """Step 2 for one student; returns the text of the checker's output in the browser."""
    session.assignments()
    shown = session.names("released", RELEASED)
    assert sorted(shown) == sorted(RELEASED), (
        f"{session.user} sees {shown} in the Assignments tab, not the released {list(RELEASED)}")
    instructor_only = session.page.evaluate("""() => ['nbgrader:open-formgrader',
        'nbgrader:open-create-assignment'].filter(c => window.jupyterapp.commands.hasCommand(c))""")
    assert instructor_only == [], f"{session.user} has nbgrader's instructor commands {instructor_only}"
    page_config = session.page.evaluate(
        "() => JSON.parse(document.getElementById('jupyter-config-data').textContent)")
    for key in ("disabledExtensions", "lockedExtensions"):  # lists of names in the page
        listed = page_config.get(key, [])
        assert set(hub.plugins) <= set(listed), (
            f"{session.user}'s JupyterLab: {key} is {listed}, without all of "
            f"{hub.plugins} (locked: students cannot re-enable them)")
    formgrader = session.page.request.get(hub.url(f"user/{session.user}/formgrader"))
    assert formgrader.status == 404, (
        f"{session.user}'s server serves the formgrader (HTTP {formgrader.status})")

    session.row("released", FETCHED).locator("button", has_text="Fetch").click()
    session.page.wait_for_function(
        f"() => [...document.querySelectorAll('#fetched_assignments_list .item_name')]"
        f".some(n => n.textContent.trim() === '{FETCHED}')")
    fetched = hub.home(session.user) / FETCHED / f"{FETCHED}.ipynb"
    assert fetched.is_file(), f"Fetch did not put {fetched.name} into {session.user}'s home"
    session.shot(f"{session.user}-1-fetched")
    count = 0
    if twice:  # the untouched notebook first, by mistake
        submit(session, 1)
        count = 1
        assert len(inbound(hub, session.user)) == 1

    session.open_fetched()
    typed = answers(kind)
    for grade_id, text in typed.items():
        held = session.type_into(grade_id, text)
        assert held == text, f"{session.user} typed into {grade_id}:\n{text}\nbut the cell holds\n{held}"
    cells = graded_cells(REPO / "notebooks" / f"{FETCHED}.ipynb")
    output = session.run_checker(checker_of(cells, EXERCISE))
    session.shot(f"{session.user}-2-checker")
    if kind == "right":
        assert "Error" not in output, f"the right answer fails its checker:\n{output}"
    else:
        assert "Error" in output, f"the {kind} answer passes its checker:\n{output}"
    session.save()
    on_disk = graded_cells(fetched)
    for grade_id, text in typed.items():
        assert on_disk[grade_id].source == text, f"{grade_id} was not saved to {fetched}"

    submit(session, count + 1)
    assert len(inbound(hub, session.user)) == count + 1
    session.shot(f"{session.user}-3-submitted")
    return output


def grade(hub, session):
    """Step 3: collect, `make grade` (no `nbgrader autograde`: make grade alone prepares what
    feedback needs), generate and release feedback, in the instructor's terminal, as the README
    says."""
    name = FETCHED
    commands = [f"cd {hub.course}", f"nbgrader collect {name}",
                f"make -C {REPO} grade ASSIGNMENTS={hub.course} ASSIGNMENT={name}",
                f"nbgrader generate_feedback {name}", f"nbgrader release_feedback {name}"]
    if (REPO / ".venv").exists():
        commands.insert(0, f"source {REPO}/.venv/bin/activate")
    status, log = session.run_in_terminal(
        "grade", commands, env={"COURSE_GRADING_SECRET": secrets.token_hex(16)})
    assert status == 0, f"the instructor's grading failed (exit {status}):\n{log[-3000:]}"
    for student in STUDENTS:
        feedback = hub.course / "feedback" / student / name / f"{name}.html"
        assert feedback.is_file(), f"no feedback for {student}: {feedback}"
    return log


def read_feedback(hub, session):
    """Step 4: Fetch Feedback in the Assignments tab, follow its link, read the HTML report;
    returns (score, max score, text of the report)."""
    session.assignments()
    session.row("submitted", FETCHED).locator("button", has_text="Fetch Feedback").click()
    link = session.page.locator("#submitted_assignments_list a", has_text="view feedback")
    link.first.wait_for()
    link.first.click()
    session.page.locator(".jp-DirListing-item", has_text=f"{FETCHED}.html").first.wait_for()
    found = sorted((hub.home(session.user) / FETCHED / "feedback").glob(f"*/{FETCHED}.html"))
    assert len(found) == 1, f"{session.user}'s fetched feedback: {found}"
    report = session.context.new_page()
    relative = found[0].relative_to(hub.home(session.user)).as_posix()
    report.goto(hub.url(f"user/{session.user}/files/{relative}"))
    text = report.locator("body").inner_text()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    report.screenshot(path=str(ARTIFACTS / f"{session.user}-4-feedback.png"))
    (ARTIFACTS / f"{session.user}-4-feedback.txt").write_text(text)
    report.close()
    total = re.search(r"\(Score: ([\d.]+) / ([\d.]+)\)", text)
    assert total, f"no score in {session.user}'s feedback:\n{text[:2000]}"
    return float(total.group(1)), float(total.group(2)), text


def words(text):
    """The text with every run of white space made one space (HTML reflows lines)."""
    return " ".join(text.split())


def test_classroom_round_trip_on_jupyterhub(hub, browser):
    from nbgrader.api import Gradebook

    sessions = {}
    scores, max_score = expected_scores()
    with evidence_on_failure(hub, sessions, "1-release"):
        sessions[INSTRUCTOR] = Session(browser, hub, INSTRUCTOR)
        release(hub, sessions[INSTRUCTOR])

    outputs = {}
    for student, kind in STUDENTS.items():
        with evidence_on_failure(hub, sessions, f"2-submit-{student}"):
            sessions[student] = Session(browser, hub, student)
            outputs[student] = student_works(hub, sessions[student], kind, student == TWICE)

    with evidence_on_failure(hub, sessions, "3-grade"):
        grade(hub, sessions[INSTRUCTOR])
        # nbgrader collect keeps the latest submission: the one with the answers.
        latest = inbound(hub, TWICE)[-1]
        collected = hub.course / "submitted" / TWICE / FETCHED / "timestamp.txt"
        assert collected.read_text().strip() == latest.name.split("+")[2], (
            f"collected {TWICE}'s submission of {collected.read_text()!r}, not the latest "
            f"({latest.name})")

    for student in STUDENTS:
        with evidence_on_failure(hub, sessions, f"4-feedback-{student}"):
            score, out_of, text = read_feedback(hub, sessions[student])
            assert (score, out_of) == (scores[student], max_score), (
                f"{student}'s feedback shows {score} / {out_of}, expected "
                f"{scores[student]} / {max_score}")
            if STUDENTS[student] != "right":
                # The hint the checker printed in the browser (step 2) is in the report.
                hint = re.search(r"Hint: .*", outputs[student])
                assert hint, f"no hint under {student}'s checker:\n{outputs[student]}"
                assert words(hint.group(0)) in words(text), (
                    f"{student}'s feedback lacks the checker's hint {hint.group(0)!r}:\n"
                    f"{text[:3000]}")

    with evidence_on_failure(hub, sessions, "5-gradebook"):
        with Gradebook(f"sqlite:///{hub.course / 'gradebook.db'}") as gradebook:
            for student in STUDENTS:
                submission = gradebook.find_submission(FETCHED, student)
                assert (submission.score, submission.max_score) == (scores[student], max_score), (
                    f"gradebook: {student} has {submission.score} / {submission.max_score}, "
                    f"expected {scores[student]} / {max_score}")
    for session in sessions.values():
        session.close()
