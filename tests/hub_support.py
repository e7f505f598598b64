"""A throw-away JupyterHub for tests/test_hub.py: the course's hub config on free local ports.

The hub loads assignments/jupyterhub_config.py (the instructors' example) and adds only what a
test machine needs: 127.0.0.1 and free ports, its database, cookie secret and proxy in a
temporary folder, JupyterHub's shared-password login and its simple local-process spawner (every
hub user runs as this OS user, with HOME=<temp>/home/<user>), and the course's Jupyter config
folder in the temporary folder instead of /srv/nbgrader/jupyter-config.

Every process a hub starts (hub, proxy, single-user servers, kernels, terminals) carries the
environment variable HUB_TEST_RUN=<random>; `Hub.stop` ends the hub (which stops the servers it
spawned) and then kills, by process id, whatever still carries the mark.

Nothing here asserts: the test decides what a failure is.
"""

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import browser_support as bs

REPO = bs.REPO
EXAMPLE_CONFIG = REPO / "assignments" / "jupyterhub_config.py"
BIN = Path(sys.executable).parent
HUB_START_TIMEOUT = 120  # s, from `jupyterhub` to an answer on /hub/health
SPAWN_TIMEOUT = 240  # s, from login to a ready JupyterLab (2 shared cores, TensorFlow installed)
PROXY = "configurable-http-proxy"


def proxy_command():
    """The path of configurable-http-proxy: `make test` installs it into <venv>/node_modules
    (Makefile); otherwise the one on PATH. None if there is none."""
    local = Path(sys.prefix) / "node_modules" / ".bin" / PROXY
    if local.exists():
        return str(local)
    return shutil.which(PROXY)


def missing_requirements():
    """Why the hub test cannot run here (a sentence), or None if everything is present."""
    missing = bs.missing_requirements()
    if missing:
        return missing
    try:
        import jupyterhub  # noqa: F401
    except ImportError as exc:
        return f"jupyterhub is not importable ({exc}); pip install -r requirements-dev.txt"
    if proxy_command() is None:
        return (f"no {PROXY} in {Path(sys.prefix) / 'node_modules'} or on PATH "
                f"(make test installs it with npm; needs node and npm: apt-get install -y npm)")
    if shutil.which("node") is None:
        return f"{PROXY} needs node on PATH (apt-get install -y nodejs)"
    return None


def lab_settings(home):
    """Quiet JupyterLab settings in a user's ~/.jupyter: no news toast over the page, every cell
    rendered (no lazy "windowing"), no autosave racing the explicit saves of the test."""
    settings = Path(home) / ".jupyter" / "lab" / "user-settings" / "@jupyterlab"
    files = {
        "apputils-extension/notification.jupyterlab-settings":
            {"fetchNews": "false", "checkForUpdates": False},
        "notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    }
    for name, value in files.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(value))


class Hub:
    """JupyterHub with the course's config under `root` (a fresh temporary folder).

    Layout: root/home/<user> (each user's HOME and notebook folder), root/jupyter-config (the
    course's shared Jupyter config, on every user's JUPYTER_CONFIG_PATH), root/exchange
    (nbgrader's exchange), root/hub (database, cookie secret, log). `url(path)` is an address
    on the hub; `log()` the hub's output so far.
    """

    def __init__(self, root):
        self.root = Path(root)
        self.port = bs.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.homes = self.root / "home"
        self.course_config = self.root / "jupyter-config"
        self.exchange = self.root / "exchange"
        self.state = self.root / "hub"
        self.log_path = self.state / "jupyterhub.log"
        self.user_password = secrets.token_hex(16)
        self.admin_password = secrets.token_hex(24)
        self.mark = secrets.token_hex(8)
        self.process = None
        for folder in (self.state, self.course_config):
            folder.mkdir(parents=True, exist_ok=True)
        # nbgrader's exchange: one folder every user can read and write (README: chmod ugo+rw).
        self.exchange.mkdir(parents=True, exist_ok=True)
        self.exchange.chmod(0o777)

    def home(self, user):
        return self.homes / user

    def password(self, user, admins):
        return self.admin_password if user in admins else self.user_password

    def test_config(self):
        """The hub config the test runs: the example, then only the test machine's settings."""
        as_root = os.geteuid() == 0
        return f'''\
c = get_config()  # noqa: F821
load_subconfig({str(EXAMPLE_CONFIG)!r})  # noqa: F821 - the instructors' example, as it is
# ---- test machine only ----
c.JupyterHub.bind_url = "http://127.0.0.1:{self.port}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {bs.free_port()}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{bs.free_port()}"
c.ConfigurableHTTPProxy.command = [{proxy_command()!r}]
c.ConfigurableHTTPProxy.pid_file = {str(self.state / "proxy.pid")!r}
c.JupyterHub.db_url = {"sqlite:///" + str(self.state / "jupyterhub.sqlite")!r}
c.JupyterHub.cookie_secret_file = {str(self.state / "cookie_secret")!r}
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = {self.user_password!r}
c.SharedPasswordAuthenticator.admin_password = {self.admin_password!r}
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {str(self.homes) + "/{username}"!r}
c.Spawner.cmd = [{str(BIN / "jupyterhub-singleuser")!r}]
c.Spawner.args = ["--LabApp.expose_app_in_browser=True"{', "--allow-root"' if as_root else ''}]
c.Spawner.environment["JUPYTER_CONFIG_PATH"] = {str(self.course_config)!r}
c.Spawner.environment["HUB_TEST_RUN"] = {self.mark!r}
c.Spawner.environment["PATH"] = {os.pathsep.join(["/usr/local/bin", "/usr/bin", "/bin"])!r}
'''

    def start(self, users):
        for user in users:
            lab_settings(self.home(user))
        config = self.state / "jupyterhub_config.py"
        config.write_text(self.test_config())
        env = dict(os.environ, PYTHONUNBUFFERED="1", HUB_TEST_RUN=self.mark)
        env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
        self._log = open(self.log_path, "w")  # closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config)], cwd=self.state,
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True)
        bs.wait_for_server(self.process, self.url("hub/health"), HUB_START_TIMEOUT, "jupyterhub",
                           self.log)
        return self

    def url(self, path):
        return f"{self.base}/{path}"

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return "(no hub log)"

    def marked_processes(self):
        """Process ids of everything this hub started (environment HUB_TEST_RUN=<mark>)."""
        found = []
        needle = f"HUB_TEST_RUN={self.mark}".encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                pass
        return found

    def stop(self):
        if self.process is None:
            return
        if self.process.poll() is None:
            # SIGTERM: the hub stops the single-user servers it spawned, then the proxy.
            try:
                self.process.send_signal(signal.SIGTERM)
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        for pid in self.marked_processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self._log.close()
        self.process = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
