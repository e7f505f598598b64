"""The grader's side of the child: start it, ask it, time it out, and stand-ins for its functions.

    session = Session(prelude, cells, timeout=30.0, memory_mb=3072)  # starts the child
    session.load_errors        {grade_id: [errors while running that cell]}
    fn = RemoteFunction(session, "batch_norm", def_node, source)     # a callable proxy
    check_batch_norm(fn)       # the unchanged checker; fn's calls run in the child

A call sends (deep-copied, pickled) arguments to the child and returns its result decoded as
plain data (helpers.grading.wire: never unpickled). An exception in the student's code comes
back as its type name and message and is raised here as the builtin class of that name, so the
checkers' hints work unchanged. An argument changed in place in the child is copied back into
the argument the checker passed (call_safely reports it). A function among the arguments (03's
f) stays here: the child calls it back with plain data.

The child runs inside bubblewrap where it works (see `sandbox`); session.sandbox says so.
What the child cannot survive (a timeout, a crash, a broken protocol) raises ChildFailure, a
BaseException, so that no checker's `except Exception` can mistake it for the student's error.
"""

import ast
import builtins
import functools
import inspect
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

from helpers.grading import wire

__all__ = ["ChildFailure", "RemoteFunction", "Session", "signature_of"]

FILE_MB = 64  # the largest file the child may write in its working folder
BUDGET_EXHAUSTED = "grading time budget exhausted"
MAX_FINDINGS, FINDING_CHARS = 50, 300  # what the grader keeps of the child's findings


class ChildFailure(BaseException):
    """The child timed out, died or broke the protocol; reason says which."""

    def __init__(self, reason, kind="crashed"):
        super().__init__(reason)
        self.reason, self.kind = reason, kind


class DeadlineReader:
    """A pipe read with a wall-clock deadline (ChildFailure "timed out" when it passes)."""

    def __init__(self, fd, session):
        self.fd, self.session = fd, session

    def read(self, n):
        left = self.session.deadline - time.monotonic()
        ready, _, _ = select.select([self.fd], [], [], max(left, 0.0))
        if not ready:
            if time.monotonic() >= self.session.budget_end:
                raise ChildFailure(BUDGET_EXHAUSTED, "timed out")
            raise ChildFailure(f"timed out after {self.session.timeout:g} s", "timed out")
        return os.read(self.fd, min(n, 1 << 20))


def child_environment(workdir):
    """A small environment: one BLAS thread, TensorFlow quiet, HOME in the working folder."""
    keep = {key: os.environ[key] for key in ("PATH", "LANG", "LC_ALL") if key in os.environ}
    return {**keep, "HOME": workdir, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "3", "MPLBACKEND": "Agg",
            "TF_NUM_INTEROP_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1"}


# ----------------------------------------------------------------------------- the OS sandbox
BWRAP_OPTIONS = ("--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp")
BWRAP_ISOLATION = ("--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL")


@functools.cache
def sandbox():
    """(bwrap's path or None, the protection's name for the result); probed once per process.

    bubblewrap gives the child a read-only root, a private /tmp, /proc and PID namespace (it
    cannot see or signal the grader, and every process it starts dies with it) and no network.
    """
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return None, "none (bwrap not found)"
    folder = tempfile.mkdtemp(prefix="grading-probe-")
    try:
        probe = subprocess.run(
            sandbox_command(bwrap, folder, (), ["/bin/sh", "-c", "touch ok && ! touch /ok"]),
            capture_output=True, timeout=30, env={})
        works = probe.returncode == 0 and os.path.exists(os.path.join(folder, "ok"))
        why = probe.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no file"]
    except (OSError, subprocess.TimeoutExpired) as error:
        works, why = False, [str(error)]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if not works:
        return None, f"none (bwrap does not work here: {why[0][:200]})"
    return bwrap, "bubblewrap"


STUDENT_FOLDERS = ("submitted", "autograded", "feedback")  # nbgrader's, in a course folder


def hidden_folders(private_dirs):
    """The folders to hide for private_dirs (resolved, existing): each one, or, for one that
    holds what the child needs (Python, the helpers package: a course folder that is the
    repository), only nbgrader's students' folders in it (STUDENT_FOLDERS)."""
    needed = [os.path.realpath(p) + os.sep for p in (
        sys.prefix, sys.base_prefix, sys.executable, os.path.dirname(os.path.dirname(__file__)))]
    hidden = []
    for folder in private_dirs:
        real = os.path.realpath(folder)
        if any(n.startswith(real.rstrip(os.sep) + os.sep) or (real + os.sep).startswith(n)
               for n in needed):
            hidden += [os.path.join(real, name) for name in STUDENT_FOLDERS
                       if os.path.isdir(os.path.join(real, name))]
        elif os.path.isdir(real):
            hidden.append(real)
    return hidden


def under_tmp():
    """What the child must read that lives under /tmp (a venv or a clone of the course there,
    as on some CI machines): Python, the venv, the folder holding the helpers package. The
    private /tmp would hide them, so they are bound back, read-only."""
    needed = {os.path.realpath(p) for p in (
        sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(sys.executable),
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))}
    inside = sorted(p for p in needed if p.startswith("/tmp/"))
    # a folder inside another one of the list is bound with it
    return [p for p in inside if not any(p.startswith(q + os.sep) for q in inside if q != p)]


def sandbox_command(bwrap, workdir, private_dirs, argv):
    """bwrap's command line: a private /tmp with what the child needs bound back read-only
    (under_tmp), each of private_dirs behind an empty tmpfs, then the working folder as the only
    writable place (bound last, so that the tmpfs over /tmp does not hide it)."""
    keep = [arg for folder in under_tmp() for arg in ("--ro-bind", folder, folder)]
    hide = [arg for folder in private_dirs for arg in ("--tmpfs", folder)]
    return [bwrap, *BWRAP_OPTIONS, *keep, *hide, "--bind", workdir, workdir, "--chdir", workdir,
            *BWRAP_ISOLATION, "--", *argv]


class Session:
    """One child process running a notebook's solution cells; restartable after a failure.

    prelude: statements (text) run first, the course's; cells: [(grade_id, source)];
    timeout: seconds of wall time per exercise (set with `begin`); memory_mb: address space;
    private_dirs: folders the child must not see (hidden when bubblewrap runs it, see
    `sandbox`); references: [(module, function)] whose code objects the child looks up before
    any student code runs (the forbidden references); budget: seconds of wall time for all
    the solution cells and exercises, counted from the end of the first child's prelude (the
    course's imports); self.budget_end: when they are over (ChildFailure BUDGET_EXHAUSTED).
    self.sandbox names the protection used.
    """

    def __init__(self, prelude, cells, timeout=30.0, memory_mb=3072, cpu_seconds=None,
                 private_dirs=(), references=(), budget=float("inf")):
        self.prelude, self.cells = list(prelude), list(cells)
        self.private_dirs, self.references = list(private_dirs), [list(r) for r in references]
        self.bwrap, self.sandbox = sandbox()
        self.budget, self.budget_end = float(budget), float("inf")
        self.failure = None  # set by the grader when no fresh child could be started
        self.timeout, self.memory_mb = float(timeout), int(memory_mb)
        self.cpu_seconds = cpu_seconds or int(timeout * (len(cells) + 4)) + 120
        self.process = None
        self.findings = []            # (kind, text) sent by the child, for the current exercise
        self.load_errors, self.load_findings, self.skipped = {}, {}, {}
        self.deadline = 0.0
        self.start()

    # --------------------------------------------------------------------- the process
    def start(self):
        """Start the child and run the cells; a cell that times out or crashes is left out
        (its reason in self.skipped) and the child restarted without it."""
        while True:
            if time.monotonic() >= self.budget_end:
                raise ChildFailure(BUDGET_EXHAUSTED, "timed out")
            cells = [(g, s) for g, s in self.cells if g not in self.skipped]
            self.spawn(cells)
            loaded = 0  # the child reports each cell when it is done, its findings before
            prelude_done = False
            try:
                self.set_deadline(self.timeout + 60.0)  # the course's imports too
                while True:
                    frame = self.receive()
                    current = cells[loaded][0] if loaded < len(cells) else None
                    if frame.get("prelude") and not prelude_done:
                        prelude_done = True
                        if self.budget_end == float("inf"):
                            self.budget_end = time.monotonic() + self.budget
                        self.set_deadline(self.timeout)
                    elif "finding" in frame:
                        keep_finding(self.load_findings.setdefault(current, []), frame)
                    elif frame.get("ready") and loaded == len(cells):
                        return
                    elif frame.get("cell") == current and current is not None:
                        self.load_errors[current] = [str(e) for e in frame.get("errors", [])]
                        loaded += 1
                        self.set_deadline(self.timeout)
                    else:
                        raise ChildFailure("the child broke the protocol while loading",
                                           "tampered")
            except ChildFailure as failure:
                self.stop()
                if not prelude_done or loaded >= len(cells) or failure.reason == BUDGET_EXHAUSTED:
                    raise
                self.skipped[cells[loaded][0]] = (
                    f"{failure.reason} while running the solution cell")

    def spawn(self, cells):
        self.stop()
        self.workdir = os.path.realpath(tempfile.mkdtemp(prefix="grading-"))
        command = [sys.executable, "-I", "-m", "helpers.grading.child"]
        if self.bwrap:
            command = sandbox_command(self.bwrap, self.workdir,
                                      hidden_folders(self.private_dirs), command)
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=self.workdir,
            env=child_environment(self.workdir), start_new_session=True)
        self.reader = DeadlineReader(self.process.stdout.fileno(), self)
        self.load_errors, self.load_findings = {}, {}
        self.send({"prelude": self.prelude, "cells": cells, "memory_mb": self.memory_mb,
                   "cpu_seconds": self.cpu_seconds, "file_mb": FILE_MB,
                   "references": self.references})

    def stop(self):
        """Kill the child (its whole process group; in the sandbox, bwrap's: its PID namespace
        dies with it) and remove its working folder."""
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.process.wait()
            for pipe in (self.process.stdin, self.process.stdout):
                try:
                    pipe.close()
                except OSError:  # a broken pipe: unsent bytes for a dead child
                    pass
            self.process = None
            shutil.rmtree(self.workdir, ignore_errors=True)

    close = stop

    def restart(self):
        """A fresh child (after a timeout or a crash), for the exercises not graded yet."""
        self.start()

    # --------------------------------------------------------------------- frames
    def send(self, obj):
        try:
            wire.write_frame(self.process.stdin, obj, trusted=True)
        except (BrokenPipeError, OSError) as error:
            raise ChildFailure(self.death(f"the child could not be reached ({error})")) from None

    def receive(self):
        try:
            frame = wire.read_frame(self.reader)
        except EOFError:
            raise ChildFailure(self.death("the child process ended")) from None
        except wire.WireError as error:
            raise ChildFailure(f"the child sent malformed data ({error})", "tampered") from None
        if not isinstance(frame, dict):
            raise ChildFailure("the child sent malformed data", "tampered")
        return frame

    def death(self, what):
        """A sentence on how the child died (its exit code or signal, e.g. the memory limit)."""
        try:
            code = self.process.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            return what
        if code < 0:
            return f"{what}: killed by signal {signal.Signals(-code).name}"
        return f"{what} (exit code {code})"

    def set_deadline(self, seconds):
        self.deadline = min(time.monotonic() + seconds, self.budget_end)

    def begin(self):
        """A new exercise: its own wall-clock budget and findings."""
        self.set_deadline(self.timeout)
        self.findings = []

    def request(self, op, callbacks=(), **fields):
        """Send one request, serve the child's callbacks, and return its answer (a dict).

        After the answer, a ping with a fresh nonce must come back before anything else: a
        student's code that wrote a forged answer into the pipe leaves a second one there."""
        nonce = secrets.token_hex(8)
        self.send({"op": op, "nonce": nonce, **fields})
        while True:
            frame = self.receive()
            if "finding" in frame:
                keep_finding(self.findings, frame)
            elif "callback" in frame:
                self.send(call_back(callbacks, frame))
            elif frame.get("nonce") == nonce:
                break
            else:
                raise ChildFailure("the child's answer did not match the question (an attempt "
                                   "to forge the grader's protocol?)", "tampered")
        check = secrets.token_hex(8)
        self.send({"op": "ping", "nonce": check})
        while True:
            pong = self.receive()
            if "finding" in pong:
                keep_finding(self.findings, pong)
                continue
            if pong.get("pong") != check:
                raise ChildFailure("the child sent more than one answer (an attempt to forge "
                                   "the grader's protocol?)", "tampered")
            return frame


def keep_finding(findings, frame):
    """Append the child's finding (kind, text) to findings: at most MAX_FINDINGS, each cut to
    FINDING_CHARS (the child's code may flood them)."""
    if len(findings) < MAX_FINDINGS:
        findings.append((str(frame["finding"])[:FINDING_CHARS],
                         str(frame["text"])[:FINDING_CHARS]))


def call_back(callbacks, frame):
    """Run one of the grader's own functions for the child, on plain data; the reply frame."""
    try:
        fn = callbacks[int(frame["callback"])]
        args, kwargs = frame.get("args") or [], frame.get("kwargs") or {}
        return {"result": fn(*args, **kwargs)}
    except Exception as error:  # the checker's function on the student's data
        return {"exception": [type(error).__name__, str(error)]}


# ----------------------------------------------------------------------------- the proxy
def literal_or_placeholder(node):
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return Placeholder(ast.unparse(node))


class Placeholder:
    """A default value that is not a literal, shown as its source."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


def signature_of(def_node):
    """An inspect.Signature of a student's `def`, from its ast (nothing is executed)."""
    if def_node is None:
        return None
    a = def_node.args
    P = inspect.Parameter
    positional = [(arg, P.POSITIONAL_ONLY) for arg in a.posonlyargs] + [
        (arg, P.POSITIONAL_OR_KEYWORD) for arg in a.args]
    defaults = [P.empty] * (len(positional) - len(a.defaults)) + [
        literal_or_placeholder(d) for d in a.defaults]
    parameters = [P(arg.arg, kind, default=default)
                  for (arg, kind), default in zip(positional, defaults)]
    if a.vararg:
        parameters.append(P(a.vararg.arg, P.VAR_POSITIONAL))
    parameters += [P(arg.arg, P.KEYWORD_ONLY, default=P.empty if d is None
                     else literal_or_placeholder(d)) for arg, d in zip(a.kwonlyargs, a.kw_defaults)]
    if a.kwarg:
        parameters.append(P(a.kwarg.arg, P.VAR_KEYWORD))
    try:
        return inspect.Signature(parameters)
    except ValueError:
        return None


def array_kinds(value):
    """{(shape, dtype)} of the NumPy arrays in value (tuples, lists and dicts searched)."""
    if isinstance(value, np.ndarray):
        return {(value.shape, value.dtype)}
    if isinstance(value, (tuple, list)):
        return set().union(*(array_kinds(v) for v in value))
    if isinstance(value, dict):
        return array_kinds(list(value.values()))
    return set()


def only_like(fn, kinds):
    """fn, refusing arrays unlike `kinds` (the call's arrays): the child's code chooses the
    arguments, and e.g. a (2**20, 1, 1) array would broadcast to gigabytes in the grader."""
    def guarded(*args, **kwargs):
        for value in (*args, *kwargs.values()):
            if isinstance(value, (tuple, list)):
                value = np.asarray(value)
            if isinstance(value, np.ndarray) and (value.shape, value.dtype) not in kinds:
                expected = " or ".join(f"{dtype} {shape}" for shape, dtype in sorted(
                    kinds, key=str)) or "no arrays"
                raise ValueError(f"the function you were given takes arrays like the ones "
                                 f"passed to you ({expected}), not {value.dtype} {value.shape}")
        return fn(*args, **kwargs)

    return guarded


def without_functions(value, callbacks, kinds=frozenset()):
    """value with each function replaced by a wire.CallbackRef (its index in callbacks, where
    it is kept wrapped by only_like(kinds))."""
    if isinstance(value, tuple):
        return tuple(without_functions(v, callbacks, kinds) for v in value)
    if isinstance(value, list):
        return [without_functions(v, callbacks, kinds) for v in value]
    if isinstance(value, dict):
        return {k: without_functions(v, callbacks, kinds) for k, v in value.items()}
    if callable(value) and not isinstance(value, type) and not isinstance(value, np.ufunc):
        callbacks.append(only_like(value, kinds))
        return wire.CallbackRef(len(callbacks) - 1)
    return value


def copy_back(original, after):
    """Copy what the student's function did to an argument into the checker's copy of it."""
    if isinstance(original, np.ndarray) and isinstance(after, np.ndarray):
        if after.shape == original.shape and original.flags.writeable:
            try:
                original[...] = after
            except (TypeError, ValueError):
                pass
    elif isinstance(original, dict) and isinstance(after, dict):
        for key in [k for k in original if k not in after]:
            del original[key]
        for key, value in after.items():
            if isinstance(value, wire.Opaque):
                continue
            if isinstance(original.get(key), (np.ndarray, dict)):
                copy_back(original[key], value)
                if not isinstance(value, type(original[key])):
                    original[key] = value
            else:
                original[key] = value


class RemoteFunction:
    """Stands for the student's function `name` in the child (see the module's docstring).

    __signature__ and __grading_source__ come from the student's `def` (ast), for the
    checkers' messages in the student's own names (helpers.checks.names)."""

    def __init__(self, session, name, def_node=None, source=None, forbidden=None):
        self.session, self.forbidden = session, forbidden
        self.__name__ = self.__qualname__ = name
        self.__module__ = "__main__"
        self.__signature__ = signature_of(def_node)
        self.__grading_source__ = (ast.get_source_segment(source, def_node)
                                   if def_node is not None and source else None)

    def __call__(self, *args, **kwargs):
        callbacks, kinds = [], array_kinds([args, kwargs])
        sent_args = without_functions(args, callbacks, kinds)
        sent_kwargs = without_functions(kwargs, callbacks, kinds)
        reply = self.session.request("call", callbacks, name=self.__name__, args=sent_args,
                                     kwargs=sent_kwargs, forbidden=self.forbidden)
        warn_again(reply.get("warnings") or [])
        if "missing" in reply:
            raise NameError(str(reply["missing"]))
        if "unsendable" in reply:
            raise TypeError(f"the result could not be sent to the grader ({reply['unsendable']})")
        for original, after in zip(args, reply.get("args_after") or []):
            copy_back(original, after)
        if "exception" in reply:
            raise wire.rebuild_exception(*reply["exception"])
        return reply.get("result")


def warn_again(texts):
    """Raise the student's warnings here too, so the checkers print them as a note."""
    for text in texts:
        name, _, message = str(text).partition(": ")
        category = getattr(builtins, name, None)
        if not (isinstance(category, type) and issubclass(category, Warning)):
            category, message = UserWarning, str(text)
        warnings.warn(message, category, stacklevel=2)
