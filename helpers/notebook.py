"""The setup every notebook of the course runs in its first cell, and nothing else.

    from helpers.notebook import setup
    setup()

- The same floating-point code paths on every x86-64 machine with AVX2: OpenBLAS's Haswell
  kernels and NumPy without its AVX-512 loops. Some experiments (batch norm with a batch of 2,
  learning rates at the edge of divergence) amplify a difference in the last bit into a
  different accuracy, and the notebooks' stored outputs must be reproduced exactly by nbval on
  whatever machine runs the tests.
- One BLAS thread. The course's matrices are small (at most a few thousand by a hundred);
  splitting each product over several threads costs more than it saves, and on a busy machine
  far more (measured in notebook 06: 10x slower). This only works before NumPy is first
  imported, which is why it is the first thing a notebook does; a value you set yourself wins.
- NumPy prints 4 decimals and no scientific notation for small numbers.
- Matplotlib draws in the course's style (helpers.plots: colour-blind-safe palette, labelled
  axes) and inline in the notebook.
- Without TensorFlow, the notebook still runs top to bottom: a cell that needs TensorFlow
  prints a note on how to install it instead of a traceback, and so do the cells that need
  its results (`skip_cells_without_tensorflow`). With TensorFlow installed nothing changes.
"""

import ast
import os
import platform

__all__ = ["setup", "skip_cells_without_tensorflow"]


def _has_avx2():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return " avx2 " in cpuinfo.read().replace("\n", " ")
    except OSError:  # not Linux: leave the libraries' own choice alone
        return False


# NumPy's names for its AVX-512 code paths: NumPy 2.4 groups them as X86_V4, older releases
# name each extension. NumPy skips (with a silent ImportWarning) the names it does not know.
AVX512_FEATURES = ("X86_V4 AVX512_ICL AVX512_SPR AVX512F AVX512CD AVX512_KNL AVX512_KNM "
                   "AVX512_SKX AVX512_CLX AVX512_CNL")


def setup():
    """Configure BLAS threads, NumPy printing and the figure style for a course notebook."""
    if platform.machine().lower() in ("x86_64", "amd64") and _has_avx2():
        os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")
        os.environ.setdefault("NPY_DISABLE_CPU_FEATURES", AVX512_FEATURES)
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")

    import numpy as np

    from helpers import plots

    np.set_printoptions(precision=4, suppress=True)
    plots.apply_style()
    try:  # inside IPython/Jupyter: draw figures inline (a plain Python script skips this)
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            shell.run_line_magic("matplotlib", "inline")
            from helpers.tf_reference import tensorflow_available

            if not tensorflow_available():
                skip_cells_without_tensorflow(shell)
    except ImportError:
        pass


# ------------------------------------------------------------------ notebooks without TensorFlow
TENSORFLOW_MODULES = ("tensorflow", "keras", "tf_keras")
SKIPPED = "Skipped: this cell needs TensorFlow (see the note above; %pip install tensorflow)."


class _TensorFlowGuard:
    """Decides, for an exception that stopped a cell, whether it means "TensorFlow is missing".

    It does when the exception is (or was caused by) helpers.tf_reference's
    TensorFlowUnavailable or a failed import of TensorFlow or Keras, or when it is a NameError for
    `tf`, `keras` or a name that a cell skipped earlier would have assigned (`z_tilde_tf`, say):
    those cells print a note instead; any other error is raised as usual. (A checker that cannot
    check without Keras raises TensorFlowUnavailable: returning False would fail the cell's
    `assert` with an AssertionError, which must stay an error, or grading could pass it.)
    """

    def __init__(self):
        self.missing_names = {"tf", "keras"}
        self.noted = False
        self.value = None

    def needs_tensorflow(self, error):
        from helpers.tf_reference import TensorFlowUnavailable

        if isinstance(error, NameError) and not isinstance(error, UnboundLocalError):
            return getattr(error, "name", None) in self.missing_names
        seen = set()
        while error is not None and id(error) not in seen:  # the error and what caused it
            if isinstance(error, TensorFlowUnavailable) or (
                    isinstance(error, ModuleNotFoundError)
                    and (error.name or "").split(".")[0] in TENSORFLOW_MODULES):
                return True
            seen.add(id(error))
            error = error.__cause__ or error.__context__
        return False

    def skip(self, error, assigned):
        """Print the note (the whole note once, then one line) and return True, if the error
        means "TensorFlow is missing"; else return False (the cell re-raises it)."""
        if not self.needs_tensorflow(error):
            return False
        self.missing_names.update(assigned)
        if self.noted:
            print(SKIPPED)
        else:
            from helpers.tf_reference import INSTALL_NOTE

            print(INSTALL_NOTE)
            self.noted = True
        return True

    def keep(self, value):
        self.value = value

    def pop(self):
        value, self.value = self.value, None
        return value


def _assigned_names(statements):
    """Names a cell's top-level statements bind (assignments, imports, def, class, for, with)."""
    names = set()
    for statement in statements:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(statement.name)
            continue
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.alias):
                names.add((node.asname or node.name).split(".")[0])
    return names


class _SkipWithoutTensorFlow(ast.NodeTransformer):
    """Rewrites each cell's code as

        try:
            <the cell's statements>
            __tensorflow_guard__.keep(<its last expression>)   # if it ends with one
        except BaseException as __tensorflow_error__:
            if not __tensorflow_guard__.skip(__tensorflow_error__, <names the cell assigns>):
                raise                          # not about TensorFlow: the usual traceback
        __tensorflow_guard__.pop()             # IPython displays the last value as before
    """

    GUARD = "__tensorflow_guard__"

    def _call(self, method, *args):
        return ast.Call(ast.Attribute(ast.Name(self.GUARD, ast.Load()), method, ast.Load()),
                        list(args), [])

    def visit_Module(self, module):
        body = module.body
        if not body or any(isinstance(s, ast.ImportFrom) and s.module == "__future__"
                           for s in body):
            return module
        if isinstance(body[-1], ast.Expr):
            body = [*body[:-1], ast.copy_location(ast.Expr(self._call("keep", body[-1].value)),
                                                  body[-1])]
        assigned = ast.Tuple([ast.Constant(n) for n in sorted(_assigned_names(body))],
                             ast.Load())
        skipped = self._call("skip", ast.Name("__tensorflow_error__", ast.Load()), assigned)
        handler = ast.ExceptHandler(ast.Name("BaseException", ast.Load()), "__tensorflow_error__",
                                    [ast.If(ast.UnaryOp(ast.Not(), skipped), [ast.Raise()], [])])
        wrapped = ast.copy_location(ast.Try(body, [handler], [], []), body[0])
        pop = ast.copy_location(ast.Expr(self._call("pop")), body[-1])
        module.body = [wrapped, pop]
        return ast.fix_missing_locations(module)


def skip_cells_without_tensorflow(shell):
    """Make the IPython `shell` print a note, not a traceback, in cells that need TensorFlow.

    setup() calls this when TensorFlow is not installed. Every cell then runs inside a try
    block (an IPython AST transformer): an error that means "TensorFlow is missing" prints the
    note and the notebook goes on, so Run All reaches the end; any other error shows as usual.
    Calling it twice changes nothing.
    """
    if any(isinstance(t, _SkipWithoutTensorFlow) for t in shell.ast_transformers):
        return
    shell.user_ns[_SkipWithoutTensorFlow.GUARD] = _TensorFlowGuard()
    shell.ast_transformers.append(_SkipWithoutTensorFlow())
