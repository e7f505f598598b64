"""Shared test set-up: quiet TensorFlow, reproducible hypothesis runs."""

import os

# Must be set before TensorFlow is first imported (by any test module).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # oneDNN reorders float sums run to run
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from hypothesis import settings

# TensorFlow's first call of an op is slow, so no per-example deadline. In CI the examples
# are derandomized so that a run is reproducible; locally each run explores new examples.
settings.register_profile("course", deadline=None, print_blob=True)
settings.register_profile("ci", parent=settings.get_profile("course"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "course")
