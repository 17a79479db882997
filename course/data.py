"""Fashion-MNIST loading for the course (introduced in 01_common_problems_and_dead_neurons.ipynb).

The course uses one fixed split everywhere: the first 54,000 training images for
training, the last 6,000 for validation, and the 10,000 test images. Files are
read from the first of these folders that has all four of them:

1. the folder named by ``$COURSE_DATA_DIR`` (if set, it must have all four);
2. the Keras cache, ``~/.keras/datasets/fashion-mnist``;
3. the Debian package ``dataset-fashion-mnist``, ``/usr/share/datasets/fashion-mnist``;

and otherwise downloaded with ``keras.datasets.fashion_mnist.load_data()``
(unless ``$COURSE_NO_DOWNLOAD`` is set). Files that are missing, truncated or
malformed raise :class:`DataError`, whose message says how to fix it: never
silently wrong arrays.
"""  # noqa: E501

from __future__ import annotations

import functools
import gzip
import os
import struct
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

CLASS_NAMES = (
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
FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049
IMAGE_SHAPE = (28, 28)
VAL_SIZE = 6_000  # the LAST 6,000 training images; the rest are for training

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
# None: ``$KERAS_HOME`` (default ``~/.keras``) + datasets/fashion-mnist, computed
# at call time. Set a Path to override.
KERAS_CACHE_DIR: Path | None = None
# Where Keras downloads instead when the Keras home folder is not writable.
KERAS_TMP_CACHE_DIR = Path("/tmp/.keras/datasets/fashion-mnist")
ENV_DIR = "COURSE_DATA_DIR"
ENV_NO_DOWNLOAD = "COURSE_NO_DOWNLOAD"

FIXES = (
    "To fix it, do one of:\n"
    "  - install the Debian package: sudo apt-get install dataset-fashion-mnist\n"
    "    (it puts the files in /usr/share/datasets/fashion-mnist)\n"
    f"  - set {ENV_DIR} to a folder with the four files "
    f"({', '.join(FILES.values())})\n"
    "  - connect to the network, so Keras can download the data set"
)


class DataError(RuntimeError):
    """Fashion-MNIST is missing or damaged; the message says how to fix it.

    Introduced in ``01_common_problems_and_dead_neurons.ipynb``.
    """


class FashionMNIST(NamedTuple):
    """The course's split: images float32 in [0, 1], labels int64.

    Used by ``load_fashion_mnist``.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def keras_cache_dir() -> Path:
    """Where ``keras.datasets.fashion_mnist`` keeps its download.

    Used by ``candidate_dirs``.
    """
    if KERAS_CACHE_DIR is not None:
        return Path(KERAS_CACHE_DIR)
    home = os.environ.get("KERAS_HOME") or Path.home() / ".keras"
    return Path(home).expanduser() / "datasets" / "fashion-mnist"


def candidate_dirs() -> list[Path]:
    """The folders searched for the four files, in order.

    ``$COURSE_DATA_DIR`` (if set), the Keras cache, then the Debian package's
    folder. Used by ``load_raw``.
    """
    dirs = []
    if os.environ.get(ENV_DIR):
        dirs.append(Path(os.environ[ENV_DIR]).expanduser())
    dirs += [keras_cache_dir(), Path(DEBIAN_DIR)]
    return dirs


def read_idx(
    path: str | Path,
    expected_magic: int,
    expected_shape_tail: tuple[int, ...] | None = None,
) -> np.ndarray:
    """Read a gzipped IDX file as a uint8 array, checking it thoroughly.

    ``expected_magic`` is 2051 for images (3 dimensions) or 2049 for labels (1
    dimension). Checks that the gzip stream is complete, the magic number, the
    shape after the first dimension (``expected_shape_tail``, default 28x28 for
    images), and that the payload has exactly as many bytes as the header
    announces. Any problem raises :class:`DataError` naming the file.
    Used by ``load_raw`` (through ``_load_from``).
    """
    if expected_magic not in (IMAGES_MAGIC, LABELS_MAGIC):
        raise ValueError(f"expected_magic must be 2051 or 2049, got {expected_magic}")
    ndim = 3 if expected_magic == IMAGES_MAGIC else 1
    if expected_shape_tail is None:
        expected_shape_tail = IMAGE_SHAPE if ndim == 3 else ()
    expected_shape_tail = tuple(expected_shape_tail)
    if len(expected_shape_tail) != ndim - 1:
        raise ValueError(
            f"expected_shape_tail must have {ndim - 1} dimensions for magic "
            f"{expected_magic}, got {expected_shape_tail}"
        )
    kind = "image" if ndim == 3 else "label"
    path = Path(path)
    try:
        compressed = path.read_bytes()
    except OSError as err:
        raise DataError(f"cannot read {path} ({err}).\n{FIXES}") from None
    try:
        raw = gzip.decompress(compressed)
    except (gzip.BadGzipFile, EOFError, zlib.error, OSError) as err:
        raise DataError(
            f"{path} is truncated or corrupt ({type(err).__name__}: {err}); "
            f"delete it and get it again.\n{FIXES}"
        ) from None
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(
            f"{path} has {len(raw)} bytes, too short for an IDX {kind} header "
            f"({header} bytes): the file is damaged.\n{FIXES}"
        )
    magic = struct.unpack(">I", raw[:4])[0]
    if magic != expected_magic:
        raise DataError(
            f"{path} has IDX magic number {magic}, expected {expected_magic}: "
            f"not a Fashion-MNIST {kind} file.\n{FIXES}"
        )
    shape = struct.unpack(">" + "I" * ndim, raw[4:header])
    if shape[1:] != expected_shape_tail:
        got = "x".join(map(str, shape[1:]))
        want = "x".join(map(str, expected_shape_tail))
        raise DataError(f"{path} holds {got} {kind}s, not {want}.\n{FIXES}")
    expected = int(np.prod(shape, dtype=np.int64))
    if len(raw) - header != expected:
        raise DataError(
            f"{path} announces {expected:,} bytes of data ({shape[0]:,} {kind}s) "
            f"but holds {len(raw) - header:,}: the file is damaged.\n{FIXES}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _missing(folder: Path) -> list[str]:
    return [name for name in FILES.values() if not (folder / name).is_file()]


def _find_dir() -> Path | None:
    explicit = os.environ.get(ENV_DIR)
    if explicit:  # asked for explicitly: never fall back to another folder
        folder = Path(explicit).expanduser()
        missing = _missing(folder)
        if missing:
            raise DataError(
                f"{ENV_DIR}={folder} lacks {', '.join(missing)}.\n{FIXES}"
            )
        return folder
    for folder in candidate_dirs():
        if not _missing(folder):
            return folder
    return None


def _download() -> Path:
    searched = ", ".join(str(d) for d in candidate_dirs())
    if os.environ.get(ENV_NO_DOWNLOAD):
        raise DataError(
            f"Fashion-MNIST not found (searched {searched}) and downloading is "
            f"off ({ENV_NO_DOWNLOAD} is set).\n{FIXES}"
        )
    import keras

    try:
        keras.datasets.fashion_mnist.load_data()
    except Exception as err:
        raise DataError(
            f"Fashion-MNIST not found (searched {searched}) and the download "
            f"failed ({type(err).__name__}: {err}).\n{FIXES}"
        ) from None
    # Keras writes to $KERAS_HOME or ~/.keras, or to /tmp/.keras when that is
    # not writable.
    places = (keras_cache_dir(), Path(KERAS_TMP_CACHE_DIR))
    for folder in places:
        if not _missing(folder):
            return folder
    raise DataError(
        f"Keras downloaded Fashion-MNIST, but the files are not in "
        f"{' or '.join(map(str, places))}.\n{FIXES}"
    )


@functools.lru_cache(maxsize=4)
def _load_from(folder: Path):
    missing = _missing(folder)
    if missing:
        raise DataError(f"{folder} lacks {', '.join(missing)}.\n{FIXES}")
    arrays = {}
    for key, name in FILES.items():
        magic = IMAGES_MAGIC if key.endswith("images") else LABELS_MAGIC
        arrays[key] = read_idx(folder / name, magic)
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        if len(images) != len(labels):
            raise DataError(
                f"{folder}: {len(images):,} {part} images but {len(labels):,} "
                f"labels: the files do not belong together.\n{FIXES}"
            )
        if labels.size and labels.max() >= len(CLASS_NAMES):
            raise DataError(
                f"{folder}: {part} labels go up to {labels.max()}, outside "
                f"0..{len(CLASS_NAMES) - 1}: not Fashion-MNIST.\n{FIXES}"
            )
    if len(arrays["train_images"]) <= VAL_SIZE:
        raise DataError(
            f"{folder}: only {len(arrays['train_images']):,} training images, "
            f"need more than the {VAL_SIZE:,} kept for validation.\n{FIXES}"
        )
    for array in arrays.values():
        array.setflags(write=False)  # the cache is shared: keep it read-only
    return (
        arrays["train_images"],
        arrays["train_labels"],
        arrays["test_images"],
        arrays["test_labels"],
    )


def load_raw(data_dir: str | Path | None = None):
    """``(x_train_all, y_train_all, x_test, y_test)`` as read-only uint8 arrays.

    The 60,000 training images (60000, 28, 28) with their labels, then the
    10,000 test images and labels. ``data_dir`` defaults to the first of
    :func:`candidate_dirs` with all four files, else a Keras download. Read once
    per process and folder. Used by ``load_fashion_mnist``.
    """
    folder = Path(data_dir).expanduser() if data_dir is not None else _find_dir()
    if folder is None:
        folder = _download()
    return _load_from(folder.resolve())


def _take(array, n, name, size):
    if n is None:
        return array
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise ValueError(f"{name} must be an integer in 1..{size}, got {n!r}")
    if not 0 < n <= size:
        raise ValueError(f"{name} must be in 1..{size}, got {n}")
    return array[:n]


def load_fashion_mnist(
    n_train: int | None = None,
    n_val: int | None = None,
    n_test: int | None = None,
    flatten: bool = True,
    data_dir: str | Path | None = None,
) -> FashionMNIST:
    """The course's Fashion-MNIST split, as float32 images in [0, 1].

    Train: the first 54,000 training images; validation: the last 6,000; test:
    the 10,000 test images. ``n_train``/``n_val``/``n_test`` keep the first n of
    a split (quick subsets; ValueError unless 0 < n <= the split's size).
    Images are flattened to 784 features unless ``flatten=False`` (28x28);
    labels are int64. The arrays are fresh copies, safe to modify. Introduced in
    ``01_common_problems_and_dead_neurons.ipynb``.
    """
    train_x, train_y, test_x, test_y = load_raw(data_dir)
    n_fit = len(train_x) - VAL_SIZE
    parts = {
        "x_train": _take(train_x[:n_fit], n_train, "n_train", n_fit),
        "y_train": _take(train_y[:n_fit], n_train, "n_train", n_fit),
        "x_val": _take(train_x[n_fit:], n_val, "n_val", VAL_SIZE),
        "y_val": _take(train_y[n_fit:], n_val, "n_val", VAL_SIZE),
        "x_test": _take(test_x, n_test, "n_test", len(test_x)),
        "y_test": _take(test_y, n_test, "n_test", len(test_y)),
    }
    out = {}
    for key, value in parts.items():
        if key.startswith("x"):
            value = value.astype(np.float32) / np.float32(255.0)  # a fresh copy
            out[key] = value.reshape(len(value), -1) if flatten else value
        else:
            out[key] = value.astype(np.int64)  # astype copies: cache stays intact
    return FashionMNIST(**out)
