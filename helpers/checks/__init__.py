"""Exercise checkers: run the student's function on several cases and say what is wrong.

    from helpers.checks import check_batch_norm
    assert check_batch_norm(batch_norm)

Each check_X(fn) prints "All N checks passed." or the first problem with a hint, returns
True/False, and never raises because the student's code did. The package:

    runner.py      the generic case runner: call, unpack, shapes, compare, name the mistake
    mistakes.py    the catalogue of common mistakes, each hint written once
    cases.py       the seeded inputs each checker tries
    exercises.py   one spec per exercise (arguments, reference, cases, mistakes to look for)
    keras_port.py  the checker of notebook 07's Keras port (imports Keras on first use)
"""

from helpers.checks.exercises import (
    check_batch_norm,
    check_batchnorm_backward,
    check_batchnorm_inference,
    check_identity_gamma_beta,
    check_layer_norm,
    check_normalize_inputs,
    check_numerical_gradient,
    check_range_width,
    check_track_running_stats,
)
from helpers.checks.keras_port import check_keras_port

# In the order of the notebooks.
__all__ = [
    "check_normalize_inputs",
    "check_batch_norm",
    "check_identity_gamma_beta",
    "check_numerical_gradient",
    "check_batchnorm_backward",
    "check_track_running_stats",
    "check_batchnorm_inference",
    "check_range_width",
    "check_keras_port",
    "check_layer_norm",
]
