"""The course's data: two small real datasets, a train/test split, mini-batches, normalization.

Layout as everywhere in `helpers` (TensorFlow's): examples along axis 0, so `X` has shape
`(m, n)` (m examples, n features) and `y` has shape `(m,)`.

The datasets live in the repository's `data/` folder (see `data/README.md` for sources and
licenses), which is installed as the package data `helpers.datasets`, so an installed copy of
the course (a wheel, a JupyterHub image) carries them too. Nothing is downloaded: a loader
checks the file's sha256, then parses it with NumPy.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.resources
from pathlib import Path
from typing import NamedTuple

import numpy as np

from helpers import validation


def _find_data_dir() -> Path:
    """The folder holding the datasets: package data if helpers is installed, else data/.

    pyproject.toml installs the repository's data/ as the package `helpers.datasets` (in an
    editable install it points at data/ itself). When helpers is imported straight from a
    checkout on sys.path (Colab, a bare Jupyter), that package does not exist and data/ sits
    next to helpers/.
    """
    try:
        return Path(str(importlib.resources.files("helpers.datasets")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "data"


DATA_DIR = _find_data_dir()

# Same digests as data/README.md; tests/test_data.py checks that the two agree.
SHA256 = {
    "wine.csv": "6c75822a8a38ddfff660a8cd569ad5b8311d54cdc9fd55fe2998f1dc114240d5",
    "digits.csv.gz": "0f622aac121cc3fc5d83397199887f8019d6db33381d033e73e300a2ce17c1ed",
}


class Dataset(NamedTuple):
    """A labelled dataset.

    X: float64 array (m, n), one example per row.
    y: int64 array (m,), class index of each row, 0 .. len(target_names) - 1.
    feature_names: n names, one per column of X.
    target_names: one name per class.
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    target_names: tuple[str, ...]


# ---------------------------------------------------------------------------- loading


def _verified_path(name: str) -> Path:
    """Return DATA_DIR / name after checking that it exists and has the expected sha256."""
    path = DATA_DIR / name
    expected = SHA256[name]
    fix = (f"Restore it from the repository with `git checkout -- data/{name}` "
           "(see data/README.md), or reinstall the course package.")
    if not path.is_file():
        raise FileNotFoundError(
            f"data file {path} is missing; expected the course file {name!r} "
            f"with sha256 {expected}. {fix}"
        )
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    if actual != expected:
        raise ValueError(
            f"data file {path} has sha256 {actual}, expected {expected}: "
            f"the file is damaged or was modified. {fix}"
        )
    return path


@functools.cache  # = functools.lru_cache(maxsize=None)
def _parse_csv(path: Path, sha256: str) -> tuple[tuple[str, ...], np.ndarray]:
    """Parse a verified CSV (optionally gzipped) with one header row: (column names, table).

    The digest is part of the cache key, so a file that changes is parsed again.
    """
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="ascii") as f:
        header = tuple(f.readline().strip().split(","))
        table = np.loadtxt(f, delimiter=",", dtype=np.float64, ndmin=2)
    table.flags.writeable = False  # the cached copy is shared: never hand it out
    return header, table


def _load(name: str, target_names: tuple[str, ...]) -> Dataset:
    path = _verified_path(name)
    header, table = _parse_csv(path, SHA256[name])
    # Copies, so a caller who edits X or y in place cannot change what the next caller gets.
    X = table[:, :-1].copy()
    y = table[:, -1].astype(np.int64)
    return Dataset(X, y, header[:-1], target_names)


def load_wine() -> Dataset:
    """UCI Wine: 13 chemical measurements of 178 Italian wines from 3 cultivars.

    Returns Dataset with X float64 (178, 13), y int64 (178,) in {0, 1, 2} (59, 71, 48 rows),
    feature_names ('alcohol', ..., 'proline'), target_names ('class_0', 'class_1', 'class_2').
    Rows are ordered by class, as in the original file: split or shuffle before training.
    The features have very different scales (hue ~1, proline ~750), which is what notebook 01
    is about.

    Raises FileNotFoundError if data/wine.csv is missing, ValueError if its sha256 is wrong.
    """
    return _load("wine.csv", ("class_0", "class_1", "class_2"))


def load_digits() -> Dataset:
    """UCI optical-recognition digits: 1,797 8x8 grey-level images of handwritten digits.

    Returns Dataset with X float64 (1797, 64) holding integers 0..16 (row-major pixels, so
    X.reshape(-1, 8, 8) gives the images), y int64 (1797,) in 0..9,
    feature_names ('pixel_0_0', ..., 'pixel_7_7'), target_names ('0', ..., '9').

    Raises FileNotFoundError if data/digits.csv.gz is missing, ValueError if its sha256 is wrong.
    """
    return _load("digits.csv.gz", tuple(str(d) for d in range(10)))


# ---------------------------------------------------------------------------- input checks


def _check_X(X, name: str = "X") -> np.ndarray:
    """X as an array of numbers, 2-D (m, n) with m >= 1."""
    X = validation.number_array(X, name)
    if X.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D with shape (m, n), one example per row, got shape {X.shape}"
        )
    if X.shape[0] == 0:
        raise ValueError(f"{name} must have at least one row, got shape {X.shape}")
    return X


def _check_y(y, X: np.ndarray) -> np.ndarray:
    """y as an array, after checking it has one row per row of X."""
    y = np.asarray(y)
    if y.ndim == 0 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"X and y must have the same number of rows (examples along axis 0), "
            f"got X with shape {X.shape} and y with shape {y.shape}"
        )
    return y


# ---------------------------------------------------------------------------- splitting


def train_test_split(X, y, test_fraction=0.25, seed=0):
    """Split X, y into a training and a test set, stratified by class.

    X: (m, n) numbers; y: (m,) integer class labels.
    Each class is split in the same proportion: round(test_fraction * m_c) of its m_c rows go to
    the test set, so both sets keep the class balance of the whole set.
    Deterministic for a given seed (np.random.default_rng(seed)).

    Returns X_train (m - k, n), X_test (k, n), y_train (m - k,), y_test (k,), rows shuffled.
    """
    X = _check_X(X)
    y = _check_y(y, X)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise TypeError(
            f"y must be a 1-D array of integer class labels, got shape {y.shape} dtype {y.dtype}"
        )
    test_fraction = validation.real(test_fraction, "test_fraction", low=0, high=1,
                                    high_open=True, example=0.25)

    rng = np.random.default_rng(seed)
    train_idx, test_idx = [], []
    for c in np.unique(y):  # sorted, so the rng is used in the same order every time
        rows = rng.permutation(np.flatnonzero(y == c))
        k = int(np.floor(test_fraction * len(rows) + 0.5))  # round half up
        test_idx.append(rows[:k])
        train_idx.append(rows[k:])
    # Shuffle across classes too, so the first rows are not all one class.
    train_idx = rng.permutation(np.concatenate(train_idx))
    test_idx = rng.permutation(np.concatenate(test_idx))
    if len(train_idx) == 0 or len(test_idx) == 0:
        raise ValueError(
            f"test_fraction={test_fraction!r} leaves an empty "
            f"{'training' if len(train_idx) == 0 else 'test'} set for {X.shape[0]} rows; "
            f"use a fraction nearer 0.5 or more data"
        )
    return X[train_idx], X[test_idx], y[train_idx], y[test_idx]


def minibatches(X, y, batch_size, seed=None, shuffle=True, drop_last=True):
    """Yield (X_batch, y_batch) pairs that cover X, y once: one epoch of mini-batches.

    X: (m, n); y: (m,) labels or (m, k) one-hot targets.
    batch_size: int >= 1; each batch has batch_size rows. The m % batch_size leftover rows are
        dropped by default (drop_last=True): a short last batch, 2 examples out of 1,346 in
        batches of 64, would give batch norm nearly degenerate statistics (z_norm = +-1) once
        an epoch. Pass drop_last=False to get them as one last, smaller batch. Each epoch
        shuffles anew, so the dropped rows differ from epoch to epoch.
    shuffle: visit rows in a random order drawn from np.random.default_rng(seed); seed may be an
        int (same order every call), None (fresh randomness) or a Generator (pass the same one
        every epoch to get a new, still reproducible, order each epoch).

    Returns a generator; its arguments are checked when it is created, not on first use.
    """
    X = _check_X(X)
    y = _check_y(y, X)
    batch_size = validation.integer(batch_size, "batch_size", low=1)

    m = X.shape[0]
    order = np.random.default_rng(seed).permutation(m) if shuffle else np.arange(m)
    stop = m - m % batch_size if drop_last else m
    return (
        (X[order[i : i + batch_size]], y[order[i : i + batch_size]])
        for i in range(0, stop, batch_size)
    )


# ---------------------------------------------------------------------------- normalization


def normalize_inputs(X_train, X_test=None, eps=1e-8):
    """Normalize each feature to mean 0 and variance 1 using the TRAINING set's statistics.

    X_train: (m, n); X_test: (k, n) or None.
    mu = mean of X_train over axis 0, var = population variance (ddof=0) over axis 0, both (n,);
    sigma = sqrt(var + eps), so X_norm = (X - mu) / sqrt(var + eps): the same formula as batch
    normalization, with eps inside the square root. eps keeps a constant feature (var = 0) from
    dividing by zero; it makes the training std sqrt(var / (var + eps)), just below 1.
    The test set is normalized with the training mu and sigma: it must go through exactly the
    same transformation the model was trained on, and its own statistics would leak test data.

    Returns X_train_norm (m, n), X_test_norm (k, n) or None, mu (n,), sigma (n,), all float64.
    """
    X_train = validation.finite(_check_X(X_train, "X_train").astype(np.float64), "X_train")
    if X_test is not None:
        X_test = _check_X(X_test, "X_test").astype(np.float64)
        if X_test.shape[1] != X_train.shape[1]:
            raise ValueError(
                f"X_test must have the same number of features (columns) as X_train, "
                f"got X_test shape {X_test.shape} and X_train shape {X_train.shape}"
            )
        validation.finite(X_test, "X_test")
    eps = validation.eps(eps)

    mu = X_train.mean(axis=0)
    sigma = np.sqrt(X_train.var(axis=0) + eps)
    X_test_norm = None if X_test is None else (X_test - mu) / sigma
    return (X_train - mu) / sigma, X_test_norm, mu, sigma


# ---------------------------------------------------------------------------- covariate shift


def brightness_contrast(X, brightness=0.0, contrast=1.0, max_value=16.0):
    """The same images seen by a different camera: clip(contrast * X + brightness * max_value).

    X: (m, n) grey levels in [0, max_value] (digits: 0..16). contrast > 0 is a gain: it
    multiplies every grey level, stretching (> 1) or flattening (< 1) the differences between
    them; brightness, a fraction of max_value, adds the same amount to every pixel. The result
    is clipped to [0, max_value], as a sensor saturates: pixels pushed beyond white all read
    max_value, so a strong shift also destroys information. Because of the clipping, a gain > 1
    with a positive brightness can still leave a *narrower* visible range than X had (see
    exposure_shift). Labels are untouched: the task is the same, only the input distribution
    moves (covariate shift). Returns a new float64 array (m, n); X is not modified.
    """
    X = validation.finite(_check_X(X).astype(np.float64), "X")
    brightness = validation.real(brightness, "brightness", example=0.2)
    contrast = validation.real(contrast, "contrast", low=0, example="1 (unchanged)")
    max_value = validation.real(max_value, "max_value", low=0, example="16 (digits)")
    return np.clip(contrast * X + brightness * max_value, 0.0, max_value)


def exposure_shift(X, strength, max_value=16.0):
    """One-knob covariate shift for notebook 06: an over-exposed camera.

    strength s in [0, 1]: brightness_contrast(X, brightness=0.4 * s, contrast=1 + s,
    max_value), i.e. x -> min(max_value, (1 + s) x + 0.4 s max_value). 0 returns the images
    unchanged (as float64). The image gets brighter and washed out: black becomes grey
    (0.4 s of white), the strokes saturate at white, and the range of grey levels shrinks from
    [0, max_value] to [0.4 s max_value, max_value] (at s = 1, 0..16 becomes 6.4..16 for the
    digits): LESS contrast between the darkest and the brightest pixel, although the gain
    (1 + s) stretches the grey levels that do not saturate.
    """
    strength = validation.fraction(strength, "strength", why="0 = no shift, 1 = the strongest")
    return brightness_contrast(X, 0.4 * strength, 1.0 + strength, max_value)
