"""helpers: the NumPy code behind the batch normalization course.

One module per idea of the lecture; start reading at `helpers.batchnorm`.
Import floors (each module imports only from the floors below it, so there are no cycles):
  1. batchnorm, layers, optimizers, gradcheck, data, regression, plots
  2. network, normalization
  3. experiments (the notebooks' experiments as pure functions; floor-2 modules imported
     inside the functions that need them), checks, tf_reference (TensorFlow is imported
     lazily, inside its functions)
  4. explorers (the slider explorers: controls + a draw over an experiment's result)
`import helpers` itself imports nothing, so it is fast.
"""

__all__ = [
    "batchnorm",
    "layers",
    "optimizers",
    "gradcheck",
    "data",
    "regression",
    "plots",
    "network",
    "normalization",
    "experiments",
    "explorers",
    "checks",
    "tf_reference",
]
