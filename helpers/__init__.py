"""helpers: the NumPy code behind the batch normalization course.

One module per idea of the lecture; start reading at `helpers.batchnorm`.
TensorFlow is never imported here, so `import helpers` is fast.
"""

__all__ = ["batchnorm", "layers", "gradcheck", "data"]
