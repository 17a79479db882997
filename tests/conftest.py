"""Shared fixtures: quiet TensorFlow, headless matplotlib, seeded synthetic data."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture
def tiny_data():
    """A learnable 10-class problem on 784 features in [0, 1] (fast, no files)."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 512)
    x = rng.random((512, 784), dtype=np.float32) * 0.5
    # Each class lights up its own block of 70 pixels.
    for c in range(10):
        x[y == c, 70 * c : 70 * (c + 1)] += 0.5
    return x, y.astype("int64")


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (``tests/chromium.py``), one per test module."""
    from tests.chromium import launched

    with launched() as chromium:
        yield chromium
