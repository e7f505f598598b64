"""The child process that runs a student's solution cells for the grader.

    python -I -m helpers.grading.child        (started by helpers.grading.remote, never by hand)

It talks to the grader over its original stdin/stdout (duplicated to private descriptors); its
own stdin, stdout and stderr then point at /dev/null, so a flood of prints costs nothing. Steps:
    1. read the setup (pickled, from the grader): the notebook's prelude (the course's imports),
       the solution cells, the limits;
    2. set the resource limits (memory, CPU seconds, file size; soft = hard, so they stay);
    3. install the audit hook (PEP 578, irremovable) and the profile hook, then run the prelude
       and each solution cell statement by statement (a failing statement is recorded and
       skipped, so that the `def` above a test print survives);
    4. serve requests: call a function on arguments, read a variable, port a Keras model.
While student code runs, the audit hook refuses processes (fork, exec, subprocess, system,
spawn, kill), ctypes, cffi, sqlite3, sockets, removing, renaming or truncating files, writing
or creating folders outside the working folder, opening folders outside it (a dir_fd), opening
the helpers package's files or folder, changing the profiler or tracer, and the gc's object
walks; the profile hook records every call into helpers code (or, for exercises whose
arguments are helpers objects, into the reference functions the grader names, looked up
before the student's cells run, or clones of their code) and every thread or process started
through _posixsubprocess (imported before student code, so its import cannot be refused).
Everything refused or recorded goes to the grader at once, as its own frame: a frame
already written cannot be taken back.
What cannot be prevented inside one process is written in helpers/grading/verify.py's docstring;
the OS sandbox around this process (helpers.grading.remote.sandbox) limits what that can do.
"""

import ast
import builtins
import gc
import os
import resource
import sys
import warnings
from types import SimpleNamespace

HELPERS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
GRADING_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep

# audit event -> what the student's code tried (refused while student code runs)
REFUSED = {
    "os.system": "run a shell command", "subprocess.Popen": "start a process",
    "os.fork": "fork the process", "os.forkpty": "fork the process",
    "os.exec": "replace the process (exec)", "os.posix_spawn": "start a process",
    "os.spawn": "start a process", "os.startfile": "start a process",
    "pty.spawn": "start a process",
    "os.kill": "send a signal to a process", "os.killpg": "send a signal to a process",
    "os.remove": "remove files", "os.rmdir": "remove files", "shutil.rmtree": "remove files",
    "os.rename": "rename files", "shutil.move": "rename files", "os.truncate": "truncate files",
    "os.link": "link files", "os.symlink": "link files", "os.chmod": "change file permissions",
    "sys.setprofile": "change the profiler", "sys.settrace": "change the tracer",
    "sys._setprofileallthreads": "change the profiler",
    "sys._settraceallthreads": "change the tracer",
    "gc.get_objects": "walk the interpreter's objects", "gc.get_referrers": "walk the "
    "interpreter's objects", "gc.get_referents": "walk the interpreter's objects",
    "sys._current_frames": "read other threads' frames", "resource.setrlimit": "change its limits",
    "sqlite3.connect": "open a database file",
}
REFUSED_PREFIXES = {"ctypes.": "use ctypes", "socket.": "open a network socket",
                    "_ctypes.": "use ctypes", "winreg.": "use the registry"}
# modules that reach C functions without audit events (imports refused while student code runs)
REFUSED_IMPORTS = {"cffi": "use cffi", "_cffi_backend": "use cffi",
                   "_posixsubprocess": "start a process"}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def make_guard(emit, workdir):
    """The audit hook and the profile hook, as closures over their own copies of everything
    they use: rebinding or mutating this module's names (reachable from student code through
    sys.modules) does not change them.

    Returns a namespace: audit, profile (the hooks); enter(forbidden) / leave() (student code
    starts / ends; forbidden: None for "any helpers code", else a set of code objects).
    """
    refused = tuple(REFUSED.items())
    prefixes = tuple(REFUSED_PREFIXES.items())
    refused_imports = dict(REFUSED_IMPORTS)
    helpers_dir, grading_dir, write_flags = HELPERS_DIR, GRADING_DIR, WRITE_FLAGS
    realpath, fsdecode, relpath, isdir = (os.path.realpath, os.fsdecode, os.path.relpath,
                                          os.path.isdir)
    package_parent, sep = os.path.dirname(HELPERS_DIR.rstrip(os.sep)), os.sep
    devnull = os.path.realpath(os.devnull)
    threads = ("start_new_thread", "start_joinable_thread", "_start_new_thread")
    code_type = type(make_guard.__code__)
    state = [False, None, False]   # [student code runs, forbidden codes, inside a hook]
    seen = set()
    prints = {}   # id(code) -> (code, its fingerprint): the code kept alive, so ids stay unique
    forbidden_prints = {}  # fingerprint -> the reference's name
    forbidden_bytecode = set()  # their co_code: a cheap first test (TensorFlow makes many calls)

    def fingerprint(code):
        """What a code object does (bytecode, names, constants, nested code), not its name or
        file: a clone made with code.replace(co_name=..., co_filename=...) has the same."""
        known = prints.get(id(code))
        if known is None:
            consts = tuple(fingerprint(c) if isinstance(c, code_type) else (type(c), repr(c))
                           for c in code.co_consts)
            known = prints[id(code)] = (code, (code.co_code, code.co_names, consts))
        return known[1]

    def report(kind, text):
        """Send one finding to the grader now (each text once, at most 50)."""
        if text not in seen and len(seen) < 50:
            seen.add(text)
            emit({"finding": kind, "text": text})

    def open_refusal(path, mode=None, flags=0):
        if isinstance(path, int):
            return "open a file descriptor"
        if path is None:
            return None
        real = realpath(fsdecode(path))
        if (real + sep).startswith(helpers_dir) and not real.startswith(grading_dir):
            return "read the course's helpers source"
        if not (real + sep).startswith(workdir) and isdir(real):
            # a folder's descriptor is a dir_fd: relative names would resolve in that folder
            return "open a folder outside its working folder"
        writing = any(c in str(mode or "") for c in "wax+") or bool((flags or 0) & write_flags)
        if writing and not real.startswith(workdir) and real != devnull:
            return "write files outside its working folder"
        return None

    def refusal(event, args):
        """What the event tries to do, if it is refused, else None."""
        for name, text in refused:
            if event == name:
                return text
        for prefix, text in prefixes:
            if event.startswith(prefix):
                return text
        if event == "open" and args:
            return open_refusal(*args[:3])
        if event == "import" and args:
            name = str(args[0])
            return refused_imports.get(name) or refused_imports.get(name.partition(".")[0])
        if event == "os.mkdir" and args:
            if len(args) > 2 and args[2] not in (None, -1, -100):  # no dir_fd
                return "create folders relative to a descriptor"
            if isinstance(args[0], int) or not realpath(fsdecode(args[0])).startswith(workdir):
                return "create folders outside its working folder"
        return None

    def audit(event, args):
        if not state[0] or state[2]:
            return
        state[2] = True
        text = None
        try:
            text = refusal(event, args)
            if text:
                report("refused", text)
        finally:
            state[2] = False
        if text:
            raise PermissionError(f"refused while grading: your code tried to {text} ({event})")

    def in_helpers(name):
        return name.startswith(helpers_dir) and not name.startswith(grading_dir)

    def name_of(code):
        """helpers.data.normalize_inputs, from a code object of the helpers package."""
        module = relpath(code.co_filename, package_parent).removesuffix(".py")
        module = module.replace(sep, ".").removesuffix(".__init__")
        return f"{module}.{getattr(code, 'co_qualname', code.co_name)}"  # co_qualname: 3.11+

    def profile(frame, event, arg):
        if not state[0]:
            return
        if event == "call":
            code = frame.f_code
            if state[1] is None:  # any helpers code: the outermost call is the one to name
                caller = frame.f_back
                if in_helpers(code.co_filename) and (
                        caller is None or not in_helpers(caller.f_code.co_filename)):
                    report("reference", name_of(code))
            elif code in state[1]:
                report("reference", name_of(code))
            elif code.co_code in forbidden_bytecode and fingerprint(code) in forbidden_prints:
                # a clone of a reference; unless it is the student's graded function itself,
                # called by the harness (the same code typed by hand: flagged as copied)
                caller = frame.f_back
                if caller is not None and not caller.f_code.co_filename.startswith(grading_dir):
                    report("reference", forbidden_prints[fingerprint(code)])
        elif event == "c_call":
            called = getattr(arg, "__name__", "")
            if called in threads:
                report("refused", "start a thread")
            elif called == "fork_exec":  # _posixsubprocess's, imported before student code
                report("refused", "start a process")

    def enter(forbidden=None):
        forbidden_prints.clear()
        forbidden_prints.update((fingerprint(code), name_of(code)) for code in forbidden or ())
        forbidden_bytecode.clear()
        forbidden_bytecode.update(code.co_code for code in forbidden or ())
        state[1] = forbidden
        state[0] = True

    def leave():
        state[0] = False

    return SimpleNamespace(audit=audit, profile=profile, enter=enter, leave=leave)


class IPythonStub:
    """get_ipython() in the child: every magic or shell escape does nothing."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def set_limits(memory_mb, cpu_seconds, file_mb):
    """Hard limits (soft = hard: the child cannot raise them again)."""
    for limit, value in ((resource.RLIMIT_AS, memory_mb * 2**20),
                         (resource.RLIMIT_CPU, int(cpu_seconds)),
                         (resource.RLIMIT_FSIZE, file_mb * 2**20),
                         (resource.RLIMIT_CORE, 0)):
        if value is not None and value > 0 or limit == resource.RLIMIT_CORE:
            try:
                resource.setrlimit(limit, (value, value))
            except (ValueError, OSError):  # e.g. above the current hard limit: keep that one
                pass


def error_text(error):
    return ": ".join(exception_pair(error))


def exception_pair(error):
    """[type name, message] of an exception (whose __str__ may itself fail)."""
    try:
        return [str(type(error).__name__), str(error)[:2000]]
    except BaseException:
        return [str(type(error).__name__), "(its message could not be read)"]


def run_statements(source, filename, namespace):
    """Run source's top-level statements one by one; returns the errors (text), in order."""
    try:
        tree = compile(source, filename, "exec", ast.PyCF_ONLY_AST)
    except (SyntaxError, ValueError) as error:
        return [f"the cell does not parse ({error_text(error)})"]
    errors = []
    for node in tree.body:
        try:
            exec(compile(ast.Module([node], []), filename, "exec"), namespace)
        except BaseException as error:
            errors.append(f"line {node.lineno}: {error_text(error)}")
    return errors


class Child:
    """The serving loop, with its private pipe ends."""

    def __init__(self, read, write, wire):
        self.read, self.write, self.wire = read, write, wire
        self.namespace = {"__name__": "__main__", "__builtins__": builtins,
                          "get_ipython": IPythonStub}
        self.guard = make_guard(self.emit, os.path.realpath(os.getcwd()) + os.sep)
        self.forbidden = None
        self.references = {}  # (module, function) -> its code object, looked up before any
        # student code runs (a student's cell may rebind the module's attribute)

    def emit(self, obj):
        self.wire.write_frame(self.write, obj)

    def as_student(self, fn, *args, **kwargs):
        """fn(*args, **kwargs) with the hooks on: (result, None or [the exception's type name,
        its message], the warnings as text)."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # The profiler only while student code runs: TensorFlow's import makes millions of
            # calls. Once student code runs, the audit hook refuses any change to it.
            sys.setprofile(self.guard.profile)
            self.guard.enter(self.forbidden)
            try:
                return fn(*args, **kwargs), None, warning_texts(caught)
            except BaseException as error:  # its text too runs student code (__str__)
                return None, exception_pair(error), warning_texts(caught)
            finally:
                self.guard.leave()
                sys.setprofile(None)

    # --------------------------------------------------------------------- setup
    def load(self, setup):
        for statement in setup["prelude"]:
            run_statements(statement, "<prelude>", self.namespace)
        self.references = self.reference_codes(setup.get("references") or [])
        self.emit({"prelude": True})  # the cells' own time limits start now
        for grade_id, source in setup["cells"]:
            self.forbidden = None
            errors, error, _ = self.as_student(run_statements, source, f"<cell {grade_id}>",
                                               self.namespace)
            self.emit({"cell": grade_id, "errors": (errors or [])
                       + ([": ".join(error)] if error else [])})
        self.emit({"ready": True})

    # --------------------------------------------------------------------- requests
    @staticmethod
    def reference_codes(references):
        """{(module, function): its code object} (before student code: trusted lookups)."""
        import importlib

        codes = {}
        for module, name in references:
            try:
                codes[(module, name)] = getattr(importlib.import_module(module), name).__code__
            except (ImportError, AttributeError):
                pass
        return codes

    def forbid(self, references):
        """None (any helpers code is forbidden) or the code objects of these functions, as
        looked up before the student's cells ran."""
        if references is None:
            return None
        return {self.references[tuple(r)] for r in references if tuple(r) in self.references}

    def callbacks(self, value):
        """value with every wire.CallbackRef replaced by a function that asks the grader."""
        if isinstance(value, self.wire.CallbackRef):
            return self.callback(value.index)
        if isinstance(value, tuple):
            return tuple(self.callbacks(v) for v in value)
        if isinstance(value, list):
            return [self.callbacks(v) for v in value]
        if isinstance(value, dict):
            return {k: self.callbacks(v) for k, v in value.items()}
        return value

    def callback(self, index):
        def call(*args, **kwargs):
            self.emit({"callback": index, "args": list(args), "kwargs": kwargs})
            reply = self.wire.read_frame(self.read, trusted=True)
            if "exception" in reply:
                raise self.wire.rebuild_exception(*reply["exception"])
            return reply["result"]

        return call

    def call(self, request):
        fn = self.namespace.get(request["name"])
        if not callable(fn):
            return {"missing": f"{request['name']} is not defined by the solution cell"
                    if fn is None else f"{request['name']} is a {type(fn).__name__}, "
                    f"not a function"}
        self.forbidden = self.forbid(request.get("forbidden"))
        args = self.callbacks(request["args"])
        kwargs = self.callbacks(request["kwargs"])
        result, error, caught = self.as_student(fn, *args, **kwargs)
        reply = {"warnings": caught, "args_after": [arg if not callable(arg) else None
                                                    for arg in args]}
        if error is not None:
            reply["exception"] = error
        else:
            reply["result"] = result
        return reply

    def value(self, request):
        name = request["name"]
        if name not in self.namespace:
            return {"missing": f"{name} is not defined by the solution cell"}
        return {"result": self.namespace[name]}

    def keras_port(self, request):
        fn = self.namespace.get(request["name"])
        if not callable(fn):
            return {"missing": f"{request['name']} is not defined by the solution cell"}
        from helpers.grading import keras_facts

        self.forbidden = self.forbid(request.get("forbidden"))
        keras = keras_facts.import_keras()
        facts, error, caught = self.as_student(keras_facts.port_facts, fn, request["args"],
                                               request["X"], keras)
        if error is not None:
            return {"exception": error, "warnings": caught}
        return {"result": facts, "warnings": caught}

    def serve(self):
        handlers = {"call": self.call, "value": self.value, "keras_port": self.keras_port}
        while True:
            try:
                request = self.wire.read_frame(self.read, trusted=True)
            except EOFError:
                return
            if request["op"] == "ping":
                self.emit({"pong": request["nonce"]})
                continue
            reply = handlers[request["op"]](request)
            reply["nonce"] = request["nonce"]
            # Encoding runs the student's objects' methods (a dict subclass, __int__, ...):
            # with the hooks on, as any other student code.
            _, error, _ = self.as_student(self.emit, reply)
            if error is not None:
                self.emit({"nonce": request["nonce"], "unsendable": ": ".join(error)})
            # A student's __del__ runs now, with the hooks on, not later inside the harness.
            self.as_student(gc.collect)


def warning_texts(caught, most=5):
    texts = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
    return texts[:most]


def main():
    read = os.fdopen(os.dup(0), "rb")
    write = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    sys.stdin = open(os.devnull)
    sys.stdout = sys.stderr = open(os.devnull, "w")

    from helpers.grading import wire  # NumPy, before the limits

    setup = wire.read_frame(read, trusted=True)
    set_limits(setup["memory_mb"], setup["cpu_seconds"], setup["file_mb"])
    child = Child(read, write, wire)
    sys.addaudithook(child.guard.audit)
    child.load(setup)
    child.serve()


if __name__ == "__main__":
    main()
