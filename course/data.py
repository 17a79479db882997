"""Fashion-MNIST for the course (introduced in 01_common_problems_and_dead_neurons).

The course uses one fixed split everywhere: the first 54,000 training images for
training, the last 6,000 for validation, and the 10,000 test images. Files are
read from the first of these places that has all four of them:

1. the folder named by ``$COURSE_DATA_DIR``;
2. the Keras cache, ``~/.keras/datasets/fashion-mnist``;
3. the Debian package ``dataset-fashion-mnist``, ``/usr/share/datasets/fashion-mnist``;

and otherwise downloaded with ``keras.datasets.fashion_mnist.load_data()``. Files
that are missing, truncated or malformed raise :class:`DataError`, whose message
says how to fix it: never silently wrong arrays.
"""

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
VAL_SIZE = 6_000
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
ENV_DIR = "COURSE_DATA_DIR"
ENV_NO_DOWNLOAD = "COURSE_NO_DOWNLOAD"
FIXES = (
    "To fix it, do one of:\n"
    "  - install the Debian package: sudo apt-get install dataset-fashion-mnist\n"
    f"  - set {ENV_DIR} to a folder with the four files "
    f"({', '.join(FILES.values())})\n"
    "  - connect to the network, so Keras can download the data set"
)


class DataError(RuntimeError):
    """Fashion-MNIST is missing or damaged; the message says how to fix it."""


class FashionMNIST(NamedTuple):
    """The course's split; images float32 in [0, 1], labels int64."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def keras_cache_dir() -> Path:
    """Where ``keras.datasets.fashion_mnist`` keeps its download."""
    return Path.home() / ".keras" / "datasets" / "fashion-mnist"


def candidate_dirs() -> list[Path]:
    """The folders searched, in order (introduced in 01_common_problems...)."""
    dirs = []
    if os.environ.get(ENV_DIR):
        dirs.append(Path(os.environ[ENV_DIR]).expanduser())
    dirs += [keras_cache_dir(), DEBIAN_DIR]
    return dirs


def read_idx(path: Path, expected_magic: int) -> np.ndarray:
    """Read a gzipped IDX file as a uint8 array, checking it thoroughly.

    Checks the gzip stream is complete, the magic number (2051 images, 2049
    labels), that images are 28x28, and that the payload has exactly as many
    bytes as the header announces. Introduced in
    ``01_common_problems_and_dead_neurons.ipynb``.
    """
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(
            f"{path} is truncated or corrupt ({err}); delete it and get it again.\n"
            + FIXES
        ) from None
    ndim = 3 if expected_magic == IMAGES_MAGIC else 1
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path} is too short to be an IDX file.\n{FIXES}")
    magic = struct.unpack(">I", raw[:4])[0]
    if magic != expected_magic:
        raise DataError(
            f"{path} has IDX magic number {magic}, expected {expected_magic}: "
            f"not a Fashion-MNIST {'image' if ndim == 3 else 'label'} file.\n{FIXES}"
        )
    shape = struct.unpack(">" + "I" * ndim, raw[4:header])
    if ndim == 3 and shape[1:] != (28, 28):
        raise DataError(f"{path} holds {shape[1]}x{shape[2]} images, not 28x28.")
    expected = int(np.prod(shape))
    if len(raw) - header != expected:
        raise DataError(
            f"{path} announces {expected:,} bytes of data but holds "
            f"{len(raw) - header:,}: the file is damaged.\n{FIXES}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _find_dir() -> Path | None:
    explicit = os.environ.get(ENV_DIR)
    if explicit:
        folder = Path(explicit).expanduser()
        missing = [f for f in FILES.values() if not (folder / f).exists()]
        if missing:
            raise DataError(f"{ENV_DIR}={folder} lacks {', '.join(missing)}.\n{FIXES}")
        return folder
    for folder in candidate_dirs():
        if all((folder / f).exists() for f in FILES.values()):
            return folder
    return None


def _download() -> Path:
    searched = ", ".join(str(d) for d in candidate_dirs())
    if os.environ.get(ENV_NO_DOWNLOAD):
        raise DataError(f"Fashion-MNIST not found (searched {searched}).\n{FIXES}")
    import keras

    try:
        keras.datasets.fashion_mnist.load_data()
    except Exception as err:
        raise DataError(
            f"Fashion-MNIST not found (searched {searched}) and the download "
            f"failed ({type(err).__name__}: {err}).\n{FIXES}"
        ) from None
    return keras_cache_dir()


@functools.lru_cache(maxsize=4)
def _load_from(folder: Path):
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
        if labels.size and labels.max() > 9:
            raise DataError(f"{folder}: {part} labels outside 0..9.\n{FIXES}")
    for array in arrays.values():
        array.setflags(write=False)
    return (
        arrays["train_images"],
        arrays["train_labels"],
        arrays["test_images"],
        arrays["test_labels"],
    )


def load_raw(data_dir: str | Path | None = None):
    """``(train_images, train_labels, test_images, test_labels)`` as uint8,
    read once per process and folder (read-only arrays).

    Introduced in ``01_common_problems_and_dead_neurons.ipynb``.
    """
    folder = Path(data_dir) if data_dir is not None else _find_dir()
    if folder is None:
        folder = _download()
    return _load_from(folder.resolve())


def _take(array, n, name, size):
    if n is None:
        return array
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
    a split (quick subsets). Images are flattened to 784 features unless
    ``flatten=False`` (28x28). Introduced in
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
        "y_test": _take(test_y, n_test, "n_test", len(test_x)),
    }
    out = {}
    for key, value in parts.items():
        if key.startswith("x"):
            value = value.astype(np.float32) / np.float32(255.0)
            out[key] = value.reshape(len(value), -1) if flatten else value
        else:
            out[key] = value.astype(np.int64)
    return FashionMNIST(**out)
