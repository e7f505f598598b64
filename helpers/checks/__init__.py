"""Exercise checkers: run the student's function on several cases and say what is wrong.

    from helpers.checks import check_batch_norm
    assert check_batch_norm(batch_norm)

Each check_X(fn) prints "All N checks passed." or the first problem with a hint, returns
True/False, and never raises because the student's code did; warnings raised while checking are
printed as a note (an autograder scores anything on stderr as a failure). The package:

    runner.py       the generic case runner: call, unpack, shapes, compare, name the mistake
    diagnosis.py    which mistake explains wrong outputs (known mistake, order, precision)
    names.py        the student's own argument and output names, for the messages
    mistakes.py     the catalogue of common mistakes, each hint written once
    cases.py        the seeded inputs each checker tries
    seeds.py        case_seed: the public seeds, or secret ones while grading (secret_cases)
    exercises.py    one spec per exercise of notebooks 01-03, 05, 06 and 08's forward pass
    backward.py     the backward passes (04, 08) and the located hints of a wrong gradient
    population.py   05's Algorithm 2 population statistics
    reestimate.py   06's re-estimated BN statistics (AdaBN)
    keras_port.py   07's Keras port (imports Keras on first use)
    folding.py      09's folding of BN into the preceding layer's weights
    questions.py    check_prediction, for the predict-then-run questions in predictions.py
"""

from helpers.checks.backward import check_layer_norm_backward
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
from helpers.checks.folding import check_fold_batchnorm
from helpers.checks.keras_port import check_keras_port
from helpers.checks.population import check_population_statistics
from helpers.checks.questions import check_prediction
from helpers.checks.reestimate import check_reestimate_bn_stats

# In the order of the notebooks.
__all__ = [
    "check_normalize_inputs",
    "check_batch_norm",
    "check_identity_gamma_beta",
    "check_numerical_gradient",
    "check_batchnorm_backward",
    "check_track_running_stats",
    "check_batchnorm_inference",
    "check_population_statistics",
    "check_range_width",
    "check_reestimate_bn_stats",
    "check_keras_port",
    "check_layer_norm",
    "check_layer_norm_backward",
    "check_fold_batchnorm",
    "check_prediction",
]
