"""The setup every notebook of the course runs in its first cell, and nothing else.

    from helpers.notebook import setup
    setup()

- One BLAS thread. The course's matrices are small (at most a few thousand by a hundred);
  splitting each product over several threads costs more than it saves, and on a busy machine
  far more (measured in notebook 06: 10x slower). This only works before NumPy is first
  imported, which is why it is the first thing a notebook does; a value you set yourself wins.
- NumPy prints 4 decimals and no scientific notation for small numbers.
- Matplotlib draws in the course's style (helpers.plots: colour-blind-safe palette, labelled
  axes) and inline in the notebook.
"""

import os

__all__ = ["setup"]


def setup():
    """Configure BLAS threads, NumPy printing and the figure style for a course notebook."""
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
