"""helpers: the NumPy code behind the batch normalization course.

One module per idea of the lecture; start reading at `helpers.batchnorm`.
Import floors (each module imports only from the floors below it, so there are no cycles):
  0. validation (the argument checks and their error messages, used by every public helper)
  1. batchnorm, normalization (layer and group norm), layers, optimizers, gradcheck, data,
     regression, plots, seeds (runs over seeds and their spread), layer_coupling (notebook 06)
  2. network (one MLP with a table of normalizers, one training loop), notebook (the setup
     every notebook runs first), inference_stats (notebook 05: population statistics)
  3. probes and sweeps (notebook 06's measurements of training), regularization (notebook 05),
     small_batches (notebook 08), tf_reference (the Keras twin and the one quiet TensorFlow
     import; TensorFlow is imported inside its functions)
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
    "seeds",
    "layer_coupling",
    "normalization",
    "network",
    "notebook",
    "inference_stats",
    "probes",
    "sweeps",
    "regularization",
    "small_batches",
    "experiments",
    "explorers",
    "checks",
    "tf_reference",
]
