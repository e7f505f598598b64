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
"""

import os
import platform

__all__ = ["setup"]


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
    except ImportError:
        pass
