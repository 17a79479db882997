"""course.data: the split, the search order, and clear errors for bad files."""

from course import data

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest

N_TRAIN, N_TEST = data.VAL_SIZE + 40, 30


def write_idx(path: Path, array: np.ndarray, magic=None, count=None):
    magic = magic or (data.IMAGES_MAGIC if array.ndim == 3 else data.LABELS_MAGIC)
    shape = list(array.shape)
    if count is not None:
        shape[0] = count
    header = struct.pack(">I" + "I" * array.ndim, magic, *shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes(), 1))


def make_dataset(folder: Path, n_train=N_TRAIN, n_test=N_TEST, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28)),
        "train_labels": rng.integers(0, 10, n_train),
        "test_images": rng.integers(0, 256, (n_test, 28, 28)),
        "test_labels": rng.integers(0, 10, n_test),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for key, array in arrays.items():
        write_idx(folder / data.FILES[key], array)
    return arrays


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No real data leaks in: empty home, no Debian folder, no download."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "debian")
    monkeypatch.delenv(data.ENV_DIR, raising=False)
    monkeypatch.setenv(data.ENV_NO_DOWNLOAD, "1")
    data._load_from.cache_clear()
    yield
    data._load_from.cache_clear()


def test_split_dtypes_and_ranges(tmp_path, monkeypatch):
    arrays = make_dataset(tmp_path / "d")
    monkeypatch.setenv(data.ENV_DIR, str(tmp_path / "d"))
    ds = data.load_fashion_mnist()
    assert ds.x_train.shape == (N_TRAIN - data.VAL_SIZE, 784)
    assert ds.x_val.shape == (data.VAL_SIZE, 784) and ds.x_test.shape == (N_TEST, 784)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0
    # Validation is the LAST 6,000 training images, in order.
    expected = arrays["train_images"][-data.VAL_SIZE :].reshape(data.VAL_SIZE, -1) / 255
    np.testing.assert_allclose(ds.x_val, expected, rtol=1e-6)
    np.testing.assert_array_equal(ds.y_val, arrays["train_labels"][-data.VAL_SIZE :])
    np.testing.assert_array_equal(ds.y_test, arrays["test_labels"])
    assert data.load_fashion_mnist(flatten=False).x_test.shape == (N_TEST, 28, 28)


def test_subsets_and_invalid_sizes(tmp_path, monkeypatch):
    make_dataset(tmp_path / "d")
    monkeypatch.setenv(data.ENV_DIR, str(tmp_path / "d"))
    ds = data.load_fashion_mnist(n_train=5, n_val=3, n_test=2)
    assert (len(ds.x_train), len(ds.x_val), len(ds.x_test)) == (5, 3, 2)
    for bad in ({"n_train": 0}, {"n_val": data.VAL_SIZE + 1}, {"n_test": N_TEST + 1}):
        with pytest.raises(ValueError):
            data.load_fashion_mnist(**bad)


def test_search_order(tmp_path, monkeypatch):
    make_dataset(data.DEBIAN_DIR, seed=1)
    debian = data.load_fashion_mnist()
    data._load_from.cache_clear()
    make_dataset(data.keras_cache_dir(), seed=2)
    cache = data.load_fashion_mnist()
    assert not np.array_equal(debian.x_test, cache.x_test)  # the cache wins
    make_dataset(tmp_path / "mine", seed=3)
    monkeypatch.setenv(data.ENV_DIR, str(tmp_path / "mine"))
    mine = data.load_fashion_mnist()
    assert not np.array_equal(mine.x_test, cache.x_test)  # COURSE_DATA_DIR wins
    assert data.candidate_dirs()[0] == tmp_path / "mine"


def test_missing_everywhere_says_how_to_fix():
    with pytest.raises(data.DataError) as err:
        data.load_fashion_mnist()
    message = str(err.value)
    assert "apt-get install dataset-fashion-mnist" in message
    assert data.ENV_DIR in message and "network" in message


def test_explicit_folder_missing_a_file(tmp_path, monkeypatch):
    make_dataset(tmp_path / "d")
    (tmp_path / "d" / data.FILES["test_labels"]).unlink()
    make_dataset(data.DEBIAN_DIR)  # no silent fall-back to another folder
    monkeypatch.setenv(data.ENV_DIR, str(tmp_path / "d"))
    with pytest.raises(data.DataError, match="t10k-labels-idx1-ubyte.gz"):
        data.load_fashion_mnist()


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_corrupt_gzip(tmp_path, monkeypatch, damage):
    make_dataset(tmp_path / "d")
    path = tmp_path / "d" / data.FILES["train_images"]
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2] if damage == "truncated" else b"\x00" * 99)
    monkeypatch.setenv(data.ENV_DIR, str(tmp_path / "d"))
    with pytest.raises(data.DataError, match="train-images-idx3-ubyte.gz"):
        data.load_fashion_mnist()


def test_wrong_magic_shape_and_size(tmp_path, monkeypatch):
    folder = tmp_path / "d"
    monkeypatch.setenv(data.ENV_DIR, str(folder))
    arrays = make_dataset(folder)
    images = folder / data.FILES["test_images"]
    write_idx(images, arrays["test_images"], magic=2049)
    with pytest.raises(data.DataError, match="magic number 2049"):
        data.load_fashion_mnist()
    data._load_from.cache_clear()
    write_idx(images, arrays["test_images"][:, :27, :])
    with pytest.raises(data.DataError, match="27x28"):
        data.load_fashion_mnist()
    data._load_from.cache_clear()
    write_idx(images, arrays["test_images"], count=N_TEST + 1)
    with pytest.raises(data.DataError, match="damaged"):
        data.load_fashion_mnist()


def test_label_count_mismatch(tmp_path, monkeypatch):
    folder = tmp_path / "d"
    arrays = make_dataset(folder)
    write_idx(folder / data.FILES["test_labels"], arrays["test_labels"][:-1])
    monkeypatch.setenv(data.ENV_DIR, str(folder))
    with pytest.raises(data.DataError, match="do not belong together"):
        data.load_fashion_mnist()


def test_loaded_once_per_process(tmp_path, monkeypatch):
    folder = tmp_path / "d"
    make_dataset(folder)
    monkeypatch.setenv(data.ENV_DIR, str(folder))
    first = data.load_fashion_mnist()
    for name in data.FILES.values():
        (folder / name).write_bytes(b"gone")  # would fail if read again
    second = data.load_fashion_mnist()
    np.testing.assert_array_equal(first.x_train, second.x_train)
    second.x_train[0, 0] = 99.0  # callers get their own arrays
    assert data.load_fashion_mnist().x_train[0, 0] != 99.0


def test_real_debian_data():
    """The real files from the Debian package (CI installs it with apt)."""
    data.DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
    if not (data.DEBIAN_DIR / data.FILES["train_images"]).exists():
        if os.environ.get("CI"):
            pytest.fail("dataset-fashion-mnist is not installed on CI")
        pytest.skip("dataset-fashion-mnist is not installed here")
    ds = data.load_fashion_mnist(data_dir=data.DEBIAN_DIR)
    assert (len(ds.x_train), len(ds.x_val), len(ds.x_test)) == (54_000, 6_000, 10_000)
    assert np.bincount(ds.y_test).tolist() == [1000] * 10
    assert ds.x_train.max() == 1.0 and ds.x_train.min() == 0.0
    assert len(data.CLASS_NAMES) == 10 and data.CLASS_NAMES[9] == "Ankle boot"
