"""helpers: the NumPy code behind the batch normalization course.

One module per idea of the lecture; start reading at `helpers.batchnorm`.
Import floors (each module imports only from the floors below it, so there are no cycles):
  0. validation (the argument checks and their error messages, used by every public helper)
  1. batchnorm, normalization (layer and group norm), layers, optimizers, gradcheck, data,
     regression, plots
  2. network (one MLP with a table of normalizers, one training loop), notebook (the setup
     every notebook runs first)
  3. probes (notebook 06's measurements of training), tf_reference (the Keras twin and the
     one quiet TensorFlow import; TensorFlow is imported inside its functions)
  4. experiments (what the notebooks teach, as pure functions returning data), checks (the
     exercise checkers)
  5. explorers (the slider explorers: controls + a draw over an experiment's result)
`import helpers` itself imports nothing, so it is fast.
"""

__all__ = [
    "validation",
    "batchnorm",
    "layers",
    "optimizers",
    "gradcheck",
    "data",
    "regression",
    "plots",
    "normalization",
    "network",
    "notebook",
    "probes",
    "experiments",
    "explorers",
    "checks",
    "tf_reference",
]
