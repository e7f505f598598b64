"""Tests for helpers.data: the committed datasets, their checksums, splitting, batching, scaling."""

import hashlib
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from helpers import data

REPO = Path(__file__).resolve().parent.parent
WINE_FEATURES = (
    "alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols",
    "flavanoids", "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue",
    "od280/od315_of_diluted_wines", "proline",
)
LOADERS = {"wine.csv": data.load_wine, "digits.csv.gz": data.load_digits}


# ---------------------------------------------------------------------------- datasets


def test_wine_shapes_dtypes_and_class_counts():
    ds = data.load_wine()
    assert ds.X.shape == (178, 13) and ds.X.dtype == np.float64
    assert ds.y.shape == (178,) and ds.y.dtype == np.int64
    assert np.all(np.isfinite(ds.X))
    # UCI documents 59, 71 and 48 wines for cultivars 1, 2, 3.
    assert np.bincount(ds.y).tolist() == [59, 71, 48]
    assert ds.feature_names == WINE_FEATURES
    assert len(ds.target_names) == 3
    # Spot check against the UCI file's first row (wine.data line 1).
    assert ds.X[0, 0] == 14.23 and ds.X[0, -1] == 1065


def test_digits_shapes_dtypes_and_values():
    ds = data.load_digits()
    assert ds.X.shape == (1797, 64) and ds.X.dtype == np.float64
    assert ds.y.shape == (1797,) and ds.y.dtype == np.int64
    # Pixels are counts of "on" pixels in a 4x4 block: integers 0..16.
    assert np.array_equal(ds.X, np.round(ds.X))
    assert ds.X.min() == 0 and ds.X.max() == 16
    assert sorted(set(ds.y.tolist())) == list(range(10))
    assert ds.feature_names == tuple(f"pixel_{r}_{c}" for r in range(8) for c in range(8))
    assert ds.target_names == tuple(str(d) for d in range(10))


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_loaders_return_independent_copies(name):
    first = LOADERS[name]()
    first.X[:] = -1.0
    first.y[:] = -1
    second = LOADERS[name]()
    assert second.X.min() >= 0 and second.y.min() == 0


def _readme_digests():
    """{file name: sha256} from the `sha256sum`-format lines of data/README.md."""
    text = (REPO / "data" / "README.md").read_text(encoding="utf-8")
    pairs = re.findall(r"^([0-9a-f]{64})  (\S+)$", text, re.MULTILINE)
    return {name: digest for digest, name in pairs}


def test_readme_digests_match_module_and_files():
    listed = _readme_digests()
    assert listed == data.SHA256
    for name, digest in listed.items():
        assert hashlib.sha256((REPO / "data" / name).read_bytes()).hexdigest() == digest


def test_data_dir_is_the_repository_data_folder():
    assert data.DATA_DIR.resolve() == (REPO / "data").resolve()


# ---------------------------------------------------------------------------- damaged files


def _copy_data(tmp_path):
    for name in data.SHA256:
        shutil.copy(REPO / "data" / name, tmp_path / name)


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_corrupted_file_raises_value_error_naming_it(name, tmp_path, monkeypatch):
    _copy_data(tmp_path)
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    LOADERS[name]()  # the intact copy loads (and is now cached) ...
    path = tmp_path / name
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01  # flip one bit
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError) as info:  # ... but the cache does not hide the damage
        LOADERS[name]()
    message = str(info.value)
    assert str(path) in message
    assert data.SHA256[name] in message
    assert f"git checkout -- data/{name}" in message


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_missing_file_raises_file_not_found(name, tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        LOADERS[name]()
    assert str(tmp_path / name) in str(info.value)
    assert f"git checkout -- data/{name}" in str(info.value)


# ---------------------------------------------------------------------------- train_test_split


def _wine_with_row_ids():
    """Wine with its row number prepended as column 0, so split rows can be traced back."""
    ds = data.load_wine()
    return np.column_stack([np.arange(len(ds.y)), ds.X]), ds.y


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5, 0.8])
def test_split_is_stratified_disjoint_and_complete(fraction):
    X, y = _wine_with_row_ids()
    X_tr, X_te, y_tr, y_te = data.train_test_split(X, y, test_fraction=fraction, seed=3)
    ids_tr, ids_te = X_tr[:, 0].astype(int), X_te[:, 0].astype(int)
    assert set(ids_tr).isdisjoint(ids_te)
    assert sorted(np.concatenate([ids_tr, ids_te])) == list(range(len(y)))
    # Rows and labels travel together.
    assert np.array_equal(X_tr, X[ids_tr]) and np.array_equal(y_tr, y[ids_tr])
    assert np.array_equal(X_te, X[ids_te]) and np.array_equal(y_te, y[ids_te])
    # Every class goes to the test set in the requested proportion (up to rounding).
    for c in np.unique(y):
        n_c = np.sum(y == c)
        assert abs(np.sum(y_te == c) - fraction * n_c) <= 0.5


def test_split_is_deterministic_for_a_seed_and_varies_with_it():
    X, y = _wine_with_row_ids()
    a = data.train_test_split(X, y, seed=7)
    b = data.train_test_split(X, y, seed=7)
    c = data.train_test_split(X, y, seed=8)
    for left, right in zip(a, b):
        assert np.array_equal(left, right)
    assert set(a[1][:, 0]) != set(c[1][:, 0])


def test_split_mixes_classes():
    # Wine is sorted by class; the training set must not start with a run of one class.
    X, y = _wine_with_row_ids()
    y_train = data.train_test_split(X, y, seed=0)[2]
    assert len(set(y_train[:20].tolist())) > 1


# ---------------------------------------------------------------------------- minibatches


def _ids(m=10):
    return np.arange(m, dtype=float)[:, None], np.arange(m) * 10


@pytest.mark.parametrize("batch_size, drop_last, sizes", [
    (3, False, [3, 3, 3, 1]),
    (3, True, [3, 3, 3]),
    (5, False, [5, 5]),
    (5, True, [5, 5]),
    (1, False, [1] * 10),
    (10, False, [10]),
    (25, False, [10]),
])
def test_minibatches_sizes_and_coverage(batch_size, drop_last, sizes):
    X, y = _ids()
    batches = list(data.minibatches(X, y, batch_size, seed=0, drop_last=drop_last))
    assert [len(xb) for xb, _ in batches] == sizes
    seen = np.concatenate([xb[:, 0] for xb, _ in batches]).astype(int)
    assert len(seen) == len(set(seen))  # no row twice
    if not drop_last:
        assert sorted(seen) == list(range(10))  # every row once
    for xb, yb in batches:
        assert np.array_equal(yb, xb[:, 0] * 10)  # labels stay with their rows


def test_minibatches_order():
    X, y = _ids(12)
    in_order = np.concatenate([xb[:, 0] for xb, _ in data.minibatches(X, y, 4, shuffle=False)])
    assert in_order.tolist() == list(range(12))

    def epoch(seed):
        return np.concatenate([xb[:, 0] for xb, _ in data.minibatches(X, y, 4, seed=seed)])

    assert np.array_equal(epoch(1), epoch(1))
    assert not np.array_equal(epoch(1), epoch(2))
    assert not np.array_equal(epoch(1), in_order)
    rng = np.random.default_rng(0)  # one Generator across epochs: a new order each epoch
    assert not np.array_equal(epoch(rng), epoch(rng))


def test_minibatches_accepts_one_hot_targets():
    X, _ = _ids(6)
    Y = np.eye(6)
    for xb, yb in data.minibatches(X, Y, 4, seed=0):
        assert np.array_equal(np.argmax(yb, axis=1), xb[:, 0].astype(int))


# ---------------------------------------------------------------------------- normalize_inputs


def _wine_split():
    ds = data.load_wine()
    return data.train_test_split(ds.X, ds.y, seed=0)[:2]


def test_normalize_inputs_train_has_mean_0_and_std_1():
    X_train, _ = _wine_split()
    X_train_norm, X_test_norm, mu, sigma = data.normalize_inputs(X_train)
    assert X_test_norm is None
    assert X_train_norm.shape == X_train.shape and mu.shape == sigma.shape == (13,)
    np.testing.assert_allclose(X_train_norm.mean(axis=0), 0, atol=1e-10)
    np.testing.assert_allclose(X_train_norm.std(axis=0, ddof=0), 1, atol=1e-6)


def test_normalize_inputs_uses_training_statistics_on_test():
    X_train, X_test = _wine_split()
    eps = 1e-8
    _, X_test_norm, mu, sigma = data.normalize_inputs(X_train, X_test, eps=eps)
    # Independent computation: population statistics of the training rows, eps inside the sqrt.
    m = X_train.shape[0]
    mean = X_train.sum(axis=0) / m
    var = ((X_train - mean) ** 2).sum(axis=0) / m
    np.testing.assert_allclose(mu, mean, rtol=1e-12)
    np.testing.assert_allclose(sigma, np.sqrt(var + eps), rtol=1e-12)
    np.testing.assert_allclose(X_test_norm, (X_test - mean) / np.sqrt(var + eps), rtol=1e-10)


def test_normalize_inputs_does_not_use_test_statistics():
    X_train, _ = _wine_split()
    shifted = X_train + 5.0  # a test set whose own mean differs from the training mean
    _, shifted_norm, _, sigma = data.normalize_inputs(X_train, shifted)
    np.testing.assert_allclose(shifted_norm.mean(axis=0), 5.0 / sigma, rtol=1e-8)


def test_normalize_inputs_constant_feature_and_inputs_untouched():
    X = np.array([[1.0, 2.0], [1.0, 4.0], [1.0, 6.0]])
    before = X.copy()
    X_norm, _, _, sigma = data.normalize_inputs(X, eps=1e-8)
    assert np.all(np.isfinite(X_norm)) and np.all(X_norm[:, 0] == 0)
    assert sigma[0] == pytest.approx(1e-4)  # sqrt(0 + eps)
    assert np.array_equal(X, before)
    # Integer input is fine and gives float64 output.
    assert data.normalize_inputs(X.astype(int))[0].dtype == np.float64


# ---------------------------------------------------------------------------- bad inputs

X4 = np.ones((4, 3))
Y4 = np.array([0, 1, 0, 1])
NAN = X4.copy()
NAN[1, 2] = np.nan

BAD_CALLS = [
    # (call, error, argument named in the message)
    (lambda: data.train_test_split(np.ones(4), Y4), ValueError, "X"),
    (lambda: data.train_test_split(np.full((4, 3), "a"), Y4), TypeError, "X"),
    (lambda: data.train_test_split(X4, Y4[:3]), ValueError, "y"),
    (lambda: data.train_test_split(X4, Y4.astype(float)), TypeError, "y"),
    (lambda: data.train_test_split(X4, Y4, test_fraction=0), ValueError, "test_fraction"),
    (lambda: data.train_test_split(X4, Y4, test_fraction=1), ValueError, "test_fraction"),
    (lambda: data.train_test_split(X4, Y4, test_fraction=1.5), ValueError, "test_fraction"),
    (lambda: data.train_test_split(X4, Y4, test_fraction="0.2"), TypeError, "test_fraction"),
    (lambda: data.train_test_split(X4, Y4, test_fraction=True), TypeError, "test_fraction"),
    # two rows per class: a 10% test share rounds to zero rows
    (lambda: data.train_test_split(X4, Y4, test_fraction=0.1), ValueError, "test_fraction"),
    (lambda: data.minibatches(X4, Y4, 0), ValueError, "batch_size"),
    (lambda: data.minibatches(X4, Y4, -2), ValueError, "batch_size"),
    (lambda: data.minibatches(X4, Y4, 2.0), TypeError, "batch_size"),
    (lambda: data.minibatches(X4, Y4, "2"), TypeError, "batch_size"),
    (lambda: data.minibatches(X4, Y4, True), TypeError, "batch_size"),
    (lambda: data.minibatches(np.ones((4, 2, 2)), Y4, 2), ValueError, "X"),
    (lambda: data.minibatches(X4, Y4[:2], 2), ValueError, "y"),
    (lambda: data.normalize_inputs(np.ones(4)), ValueError, "X_train"),
    (lambda: data.normalize_inputs(np.empty((0, 3))), ValueError, "X_train"),
    (lambda: data.normalize_inputs(X4.astype(object)), TypeError, "X_train"),
    (lambda: data.normalize_inputs(NAN), ValueError, "X_train"),
    (lambda: data.normalize_inputs(X4, NAN), ValueError, "X_test"),
    (lambda: data.normalize_inputs(X4, np.ones((2, 4))), ValueError, "X_test"),
    (lambda: data.normalize_inputs(X4, np.ones(3)), ValueError, "X_test"),
    (lambda: data.normalize_inputs(X4, np.full((2, 3), "a")), TypeError, "X_test"),
    (lambda: data.normalize_inputs(X4, eps=0), ValueError, "eps"),
    (lambda: data.normalize_inputs(X4, eps=-1e-8), ValueError, "eps"),
    (lambda: data.normalize_inputs(X4, eps=np.nan), ValueError, "eps"),
    (lambda: data.normalize_inputs(X4, eps="1e-8"), TypeError, "eps"),
]


@pytest.mark.parametrize("call, error, argument", BAD_CALLS)
def test_bad_inputs_raise_errors_naming_the_argument(call, error, argument):
    with pytest.raises(error, match=rf"\b{argument}\b"):
        call()  # minibatches must check eagerly, before the first batch is requested


def test_minibatches_drop_the_short_last_batch_by_default():
    # 1,346 digits in batches of 64 would leave a batch of 2 every epoch: z_norm = +-1 for BN.
    X, y = _ids(10)
    sizes = [len(yb) for _, yb in data.minibatches(X, y, 4, seed=0)]
    assert sizes == [4, 4]
    sizes = [len(yb) for _, yb in data.minibatches(X, y, 4, seed=0, drop_last=False)]
    assert sizes == [4, 4, 2]
