"""course.data: the split, the search order, and clear errors for bad files.

Synthetic IDX files in tmp_path keep these fast; one test reads the real data
from the Debian package ``dataset-fashion-mnist`` (CI installs it with apt).
"""

from course import data

import gzip
import os
import shutil
import struct
from pathlib import Path

import keras
import numpy as np
import pytest

N_TRAIN, N_TEST = data.VAL_SIZE + 40, 30
REAL_DIR = Path("/usr/share/datasets/fashion-mnist")


def write_idx(path: Path, array: np.ndarray, magic=None, count=None, extra=b""):
    """A gzipped IDX file: big-endian header (magic, dims), then uint8 data.

    ``count`` overrides the first header dimension; ``extra`` is appended.
    """
    magic = magic or (data.IMAGES_MAGIC if array.ndim == 3 else data.LABELS_MAGIC)
    shape = list(array.shape)
    if count is not None:
        shape[0] = count
    header = struct.pack(">I" + "I" * array.ndim, magic, *shape)
    payload = header + array.astype(np.uint8).tobytes() + extra
    path.write_bytes(gzip.compress(payload, compresslevel=1))


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A valid synthetic data set, written once; tests copy it."""
    folder = tmp_path_factory.mktemp("template")
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, N_TRAIN, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, N_TEST, dtype=np.uint8),
    }
    for key, array in arrays.items():
        write_idx(folder / data.FILES[key], array)
    return folder, arrays


@pytest.fixture
def make_dataset(template):
    """make_dataset(folder, seed=None) -> arrays: copy the template there.

    With a seed, the (small) test files are rewritten with other content, so
    that data sets in different folders can be told apart.
    """
    source, arrays = template

    def make(folder: Path, seed=None) -> dict:
        folder.mkdir(parents=True, exist_ok=True)
        for name in data.FILES.values():
            shutil.copyfile(source / name, folder / name)
        out = dict(arrays)
        if seed is not None:
            rng = np.random.default_rng(seed)
            out["test_images"] = rng.integers(0, 256, (N_TEST, 28, 28))
            out["test_labels"] = rng.integers(0, 10, N_TEST)
            for key in ("test_images", "test_labels"):
                write_idx(folder / data.FILES[key], out[key])
        return out

    return make


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No real data leaks in: empty home, no Debian folder, no download."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setattr(data, "KERAS_CACHE_DIR", None)
    monkeypatch.setattr(data, "KERAS_TMP_CACHE_DIR", tmp_path / "tmp-keras")
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "debian")
    monkeypatch.delenv(data.ENV_DIR, raising=False)
    monkeypatch.setenv(data.ENV_NO_DOWNLOAD, "1")
    data._load_from.cache_clear()
    yield
    data._load_from.cache_clear()


@pytest.fixture
def folder(tmp_path, monkeypatch, make_dataset):
    """A valid synthetic data set, named by COURSE_DATA_DIR; yields (path, arrays)."""
    path = tmp_path / "d"
    arrays = make_dataset(path)
    monkeypatch.setenv(data.ENV_DIR, str(path))
    return path, arrays


# The split, dtypes, shapes and subsets.


def test_split_dtypes_and_ranges(folder):
    _, arrays = folder
    ds = data.load_fashion_mnist()
    n_fit = N_TRAIN - data.VAL_SIZE
    assert ds.x_train.shape == (n_fit, 784) and ds.y_train.shape == (n_fit,)
    assert ds.x_val.shape == (data.VAL_SIZE, 784) and ds.x_test.shape == (N_TEST, 784)
    for x in (ds.x_train, ds.x_val, ds.x_test):
        assert x.dtype == np.float32
        assert 0.0 <= x.min() and x.max() <= 1.0
    assert ds.x_train.max() == 1.0  # scaled by 255, not left in 0..255
    for y in (ds.y_train, ds.y_val, ds.y_test):
        assert y.dtype == np.int64 and y.ndim == 1
    # Training is the FIRST N - 6,000 images, validation the LAST 6,000, in order.
    train_images = arrays["train_images"].reshape(N_TRAIN, -1) / 255
    np.testing.assert_allclose(ds.x_train, train_images[:n_fit], rtol=1e-6)
    np.testing.assert_allclose(ds.x_val, train_images[n_fit:], rtol=1e-6)
    np.testing.assert_array_equal(ds.y_train, arrays["train_labels"][:n_fit])
    np.testing.assert_array_equal(ds.y_val, arrays["train_labels"][n_fit:])
    np.testing.assert_allclose(
        ds.x_test, arrays["test_images"].reshape(N_TEST, -1) / 255, rtol=1e-6
    )
    np.testing.assert_array_equal(ds.y_test, arrays["test_labels"])


def test_unflattened_images(folder):
    _, arrays = folder
    ds = data.load_fashion_mnist(flatten=False)
    assert ds.x_train.shape == (N_TRAIN - data.VAL_SIZE, 28, 28)
    assert ds.x_val.shape == (data.VAL_SIZE, 28, 28)
    assert ds.x_test.shape == (N_TEST, 28, 28)
    np.testing.assert_allclose(ds.x_test, arrays["test_images"] / 255, rtol=1e-6)


def test_load_raw(folder):
    _, arrays = folder
    x_all, y_all, x_test, y_test = data.load_raw()
    assert x_all.dtype == np.uint8 and x_all.shape == (N_TRAIN, 28, 28)
    np.testing.assert_array_equal(x_all, arrays["train_images"])
    np.testing.assert_array_equal(y_all, arrays["train_labels"])
    np.testing.assert_array_equal(x_test, arrays["test_images"])
    np.testing.assert_array_equal(y_test, arrays["test_labels"])


def test_subsets_and_invalid_sizes(folder):
    _, arrays = folder
    ds = data.load_fashion_mnist(n_train=5, n_val=3, n_test=2)
    assert (len(ds.x_train), len(ds.x_val), len(ds.x_test)) == (5, 3, 2)
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (5, 3, 2)
    n_fit = N_TRAIN - data.VAL_SIZE
    np.testing.assert_array_equal(ds.y_val, arrays["train_labels"][n_fit : n_fit + 3])
    full = data.load_fashion_mnist(n_train=n_fit, n_val=data.VAL_SIZE, n_test=N_TEST)
    assert (len(full.x_train), len(full.x_val), len(full.x_test)) == (
        n_fit,
        data.VAL_SIZE,
        N_TEST,
    )
    for bad in (
        {"n_train": 0},
        {"n_train": -1},
        {"n_train": n_fit + 1},
        {"n_val": data.VAL_SIZE + 1},
        {"n_test": N_TEST + 1},
        {"n_test": 2.5},
    ):
        with pytest.raises(ValueError):
            data.load_fashion_mnist(**bad)


def test_class_names():
    assert data.CLASS_NAMES == (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    )


# Where the files come from.


def test_course_data_dir_comes_first(tmp_path, monkeypatch, make_dataset):
    make_dataset(data.DEBIAN_DIR, seed=1)
    make_dataset(data.keras_cache_dir(), seed=2)
    mine = make_dataset(tmp_path / "mine", seed=3)
    monkeypatch.setenv(data.ENV_DIR, str(tmp_path / "mine"))
    assert data.candidate_dirs() == [
        tmp_path / "mine",
        tmp_path / "home" / ".keras" / "datasets" / "fashion-mnist",
        data.DEBIAN_DIR,
    ]
    np.testing.assert_array_equal(data.load_fashion_mnist().y_test, mine["test_labels"])


def test_keras_cache_before_debian(make_dataset):
    make_dataset(data.DEBIAN_DIR, seed=1)
    cache = make_dataset(data.keras_cache_dir(), seed=2)
    assert data.candidate_dirs() == [data.keras_cache_dir(), data.DEBIAN_DIR]
    ds = data.load_fashion_mnist()
    np.testing.assert_array_equal(ds.y_test, cache["test_labels"])


def test_debian_dir_used_when_others_missing(make_dataset):
    debian = make_dataset(data.DEBIAN_DIR, seed=1)
    make_dataset(data.keras_cache_dir(), seed=2)
    (data.keras_cache_dir() / data.FILES["train_labels"]).unlink()  # incomplete
    ds = data.load_fashion_mnist()
    np.testing.assert_array_equal(ds.y_test, debian["test_labels"])


def test_keras_cache_dir_follows_keras_home_and_override(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    assert data.keras_cache_dir() == tmp_path / "kh" / "datasets" / "fashion-mnist"
    monkeypatch.setattr(data, "KERAS_CACHE_DIR", tmp_path / "elsewhere")
    assert data.candidate_dirs()[0] == tmp_path / "elsewhere"


def test_explicit_data_dir_argument(tmp_path, make_dataset):
    arrays = make_dataset(tmp_path / "arg", seed=4)
    ds = data.load_fashion_mnist(data_dir=tmp_path / "arg")
    np.testing.assert_array_equal(ds.y_test, arrays["test_labels"])
    with pytest.raises(data.DataError, match="t10k-images-idx3-ubyte.gz"):
        data.load_fashion_mnist(data_dir=tmp_path / "nowhere")


def test_missing_everywhere_says_how_to_fix(tmp_path):
    with pytest.raises(data.DataError) as err:
        data.load_fashion_mnist()
    message = str(err.value)
    assert "sudo apt-get install dataset-fashion-mnist" in message
    assert data.ENV_DIR in message and "network" in message
    assert str(data.DEBIAN_DIR) in message  # says where it looked
    assert str(data.keras_cache_dir()) in message


def test_explicit_folder_missing_a_file(tmp_path, monkeypatch, make_dataset):
    make_dataset(tmp_path / "d")
    (tmp_path / "d" / data.FILES["test_labels"]).unlink()
    make_dataset(data.DEBIAN_DIR)  # there, but no silent fall-back to it
    monkeypatch.setenv(data.ENV_DIR, str(tmp_path / "d"))
    with pytest.raises(data.DataError) as err:
        data.load_fashion_mnist()
    message = str(err.value)
    assert "t10k-labels-idx1-ubyte.gz" in message and data.ENV_DIR in message
    assert "lacks train-images" not in message  # names only what is missing


def test_download_used_when_nothing_found(monkeypatch, template):
    source, arrays = template
    calls = []

    def fake_load_data():  # what Keras does: download into its cache
        calls.append(1)
        data.keras_cache_dir().mkdir(parents=True)
        for name in data.FILES.values():
            shutil.copyfile(source / name, data.keras_cache_dir() / name)

    monkeypatch.delenv(data.ENV_NO_DOWNLOAD)
    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", fake_load_data)
    ds = data.load_fashion_mnist()
    assert calls == [1]
    np.testing.assert_array_equal(ds.y_test, arrays["test_labels"])


def test_failed_download_says_how_to_fix(monkeypatch):
    def offline():
        raise OSError("Temporary failure in name resolution")

    monkeypatch.delenv(data.ENV_NO_DOWNLOAD)
    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", offline)
    with pytest.raises(data.DataError) as err:
        data.load_fashion_mnist()
    message = str(err.value)
    assert "name resolution" in message and str(data.DEBIAN_DIR) in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert data.ENV_DIR in message and "network" in message


# Damaged files.


@pytest.mark.parametrize("damage", ["truncated", "garbage", "bad-deflate"])
def test_corrupt_gzip(folder, damage):
    path = folder[0] / data.FILES["train_images"]
    raw = path.read_bytes()
    damaged = {
        "truncated": raw[: len(raw) // 2],
        "garbage": b"\x00" * 99,
        # A valid gzip header followed by bytes that are no deflate stream.
        "bad-deflate": raw[:10] + b"\xff" * 200,
    }[damage]
    path.write_bytes(damaged)
    with pytest.raises(data.DataError, match="truncated or corrupt") as err:
        data.load_fashion_mnist()
    assert str(path) in str(err.value)


def test_wrong_magic(folder):
    path, arrays = folder
    write_idx(path / data.FILES["test_images"], arrays["test_images"], magic=2049)
    with pytest.raises(data.DataError, match="magic number 2049") as err:
        data.load_fashion_mnist()
    assert data.FILES["test_images"] in str(err.value)


def test_wrong_magic_for_labels(tmp_path):
    path = tmp_path / "labels.gz"
    write_idx(path, np.zeros(5), magic=2051)
    with pytest.raises(data.DataError, match="magic number 2051"):
        data.read_idx(path, data.LABELS_MAGIC)


def test_wrong_image_shape(folder):
    path, arrays = folder
    write_idx(path / data.FILES["test_images"], arrays["test_images"][:, :27, :])
    with pytest.raises(data.DataError, match="27x28") as err:
        data.load_fashion_mnist()
    assert data.FILES["test_images"] in str(err.value)


@pytest.mark.parametrize("extra_bytes", [-1, -28 * 28, 1, 28 * 28])
def test_byte_count_must_match_header(tmp_path, extra_bytes):
    images = np.zeros((100, 28, 28))
    path = tmp_path / "images.gz"
    if extra_bytes < 0:  # header says 100 images, fewer bytes present
        flat = images.reshape(-1)[:extra_bytes]
        header = struct.pack(">IIII", data.IMAGES_MAGIC, 100, 28, 28)
        path.write_bytes(gzip.compress(header + flat.astype(np.uint8).tobytes()))
    else:  # more bytes than the header announces
        write_idx(path, images, extra=b"\x00" * extra_bytes)
    with pytest.raises(data.DataError, match="damaged") as err:
        data.read_idx(path, data.IMAGES_MAGIC)
    assert str(path) in str(err.value)


def test_header_says_more_images_than_present(folder):
    path, arrays = folder
    write_idx(path / data.FILES["test_images"], arrays["test_images"], count=N_TEST + 1)
    with pytest.raises(data.DataError, match="damaged"):
        data.load_fashion_mnist()


def test_too_short_for_a_header(tmp_path):
    path = tmp_path / "short.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08"))
    with pytest.raises(data.DataError, match="short.gz"):
        data.read_idx(path, data.LABELS_MAGIC)


def test_read_idx_valid_and_custom_shape(tmp_path):
    images = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    path = tmp_path / "small.gz"
    write_idx(path, images)
    out = data.read_idx(path, data.IMAGES_MAGIC, expected_shape_tail=(3, 4))
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, images)
    with pytest.raises(data.DataError, match="3x4"):
        data.read_idx(path, data.IMAGES_MAGIC)  # default: 28x28
    with pytest.raises(ValueError):
        data.read_idx(path, 1234)


def test_label_count_mismatch(folder):
    path, arrays = folder
    write_idx(path / data.FILES["test_labels"], arrays["test_labels"][:-1])
    with pytest.raises(data.DataError, match="do not belong together"):
        data.load_fashion_mnist()


def test_labels_outside_0_to_9(folder):
    path, arrays = folder
    labels = arrays["test_labels"].copy()
    labels[3] = 10
    write_idx(path / data.FILES["test_labels"], labels)
    with pytest.raises(data.DataError, match="outside 0..9"):
        data.load_fashion_mnist()


# The in-memory cache.


def test_loaded_once_per_process(folder, monkeypatch):
    path, _ = folder
    reads = []
    real_read_idx = data.read_idx

    def counting_read_idx(*args, **kwargs):
        reads.append(args[0])
        return real_read_idx(*args, **kwargs)

    monkeypatch.setattr(data, "read_idx", counting_read_idx)
    first = data.load_fashion_mnist()
    assert len(reads) == 4
    for name in data.FILES.values():
        (path / name).write_bytes(b"gone")  # would fail if read again
    second = data.load_fashion_mnist(flatten=False)
    assert len(reads) == 4
    np.testing.assert_array_equal(first.x_train, second.x_train.reshape(-1, 784))


def test_callers_cannot_change_the_cache(folder):
    first = data.load_fashion_mnist()
    first.x_train[0, 0] = 99.0  # callers get their own arrays
    first.y_test[0] = 99
    second = data.load_fashion_mnist()
    assert second.x_train[0, 0] != 99.0 and second.y_test[0] != 99
    raw = data.load_raw()
    with pytest.raises(ValueError):
        raw[0][0, 0, 0] = 1  # the shared raw arrays are read-only


# The real data, from the Debian package.


def test_real_debian_data():
    """The real files from the Debian package (CI installs it with apt)."""
    if not (REAL_DIR / data.FILES["train_images"]).exists():
        if os.environ.get("CI"):
            pytest.fail(
                f"{REAL_DIR} is missing on CI: "
                "sudo apt-get install dataset-fashion-mnist"
            )
        pytest.skip(f"dataset-fashion-mnist is not installed here ({REAL_DIR})")
    x_all, y_all, x_test_raw, _ = data.load_raw(REAL_DIR)
    assert x_all.shape == (60_000, 28, 28) and x_test_raw.shape == (10_000, 28, 28)
    ds = data.load_fashion_mnist(data_dir=REAL_DIR)
    assert ds.x_train.shape == (54_000, 784) and ds.y_train.shape == (54_000,)
    assert ds.x_val.shape == (6_000, 784) and ds.y_val.shape == (6_000,)
    assert ds.x_test.shape == (10_000, 784) and ds.y_test.shape == (10_000,)
    assert np.bincount(ds.y_test, minlength=10).tolist() == [1000] * 10
    assert np.bincount(ds.y_train, minlength=10).sum() == 54_000
    assert ds.x_train.dtype == np.float32
    assert ds.x_train.min() == 0.0 and ds.x_train.max() == 1.0
    np.testing.assert_array_equal(ds.y_val, y_all[54_000:])
