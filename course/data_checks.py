"""Checks of the data and the input pipeline, each returning a number to print.

Karpathy's first step of training a network is to "become one with the data"
(https://karpathy.github.io/2019/04/25/recipe/): look at what goes into ``fit``,
check the labels against the images, look for duplicates between the splits, and
test that the model keeps the examples of a batch apart. These helpers measure
those things; the lesson prints what they return.
"""

from __future__ import annotations

import hashlib

import keras
import numpy as np
import tensorflow as tf


def value_summary(x) -> dict:
    """Shape, dtype and value range of an array, as ``fit`` will receive it.

    Returns ``{"shape", "dtype", "min", "max", "mean", "std"}`` (the statistics
    as Python floats, computed in float64). Printing it for every split, right
    before ``fit``, catches unscaled inputs (a maximum of 255 instead of 1) and
    splits preprocessed differently (different ranges or means). Introduced in
    ``02_data_and_pipeline_bugs.ipynb``.

    Args:
        x: an array of inputs (any shape).
    """
    x = np.asarray(x)
    values = x.astype(np.float64)
    return {
        "shape": tuple(x.shape),
        "dtype": str(x.dtype),
        "min": float(values.min()),
        "max": float(values.max()),
        "mean": float(values.mean()),
        "std": float(values.std()),
    }


def _row_hashes(x: np.ndarray) -> list[str]:
    rows = np.ascontiguousarray(x).reshape(len(x), -1)
    return [hashlib.sha1(row.tobytes()).hexdigest() for row in rows]


def exact_duplicates(reference, candidates) -> np.ndarray:
    """Indices of the ``candidates`` rows that also occur in ``reference``.

    Every example is hashed (SHA-1 of its bytes), so two splits of tens of
    thousands of images are compared in well under a second; a hash match is
    then confirmed element by element. Only byte-identical copies count: a
    shifted or re-encoded copy of an image is not found. Both arrays must have
    the same dtype and example shape. Introduced in
    ``02_data_and_pipeline_bugs.ipynb``.

    Args:
        reference: the examples to look in, e.g. the training split.
        candidates: the examples to look for, e.g. the validation split.
    """
    reference, candidates = np.asarray(reference), np.asarray(candidates)
    if reference.dtype != candidates.dtype or reference.shape[1:] != (
        candidates.shape[1:]
    ):
        raise ValueError(
            f"reference {reference.dtype} {reference.shape[1:]} and candidates "
            f"{candidates.dtype} {candidates.shape[1:]} must have the same dtype "
            "and example shape"
        )
    first = {}
    for index, digest in enumerate(_row_hashes(reference)):
        first.setdefault(digest, index)
    found = [
        i
        for i, digest in enumerate(_row_hashes(candidates))
        if digest in first and np.array_equal(candidates[i], reference[first[digest]])
    ]
    return np.asarray(found, dtype=np.int64)


def nearest_neighbour_agreement(x, y, n: int = 1000) -> float:
    """Share of examples whose nearest other example has the same label.

    For each of the first ``n`` examples, finds the closest *other* example of
    ``x`` (Euclidean distance over the flattened inputs) and checks whether the
    two labels agree. It needs no model: on correctly labelled Fashion-MNIST it
    is about 0.8; labels that are shuffled or shifted against their images bring
    it down to about 1/C (0.1 for 10 balanced classes). Introduced in
    ``02_data_and_pipeline_bugs.ipynb``.

    Args:
        x: the inputs, one example per row (any shape after the first axis).
        y: integer labels, one per example.
        n: how many examples to check (the first ``n``). Defaults to 1000.
    """
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    y = np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"{len(x)} examples but {len(y)} labels")
    if len(x) < 2:
        raise ValueError("need at least 2 examples")
    n = min(n, len(x))
    squared = np.sum(x**2, axis=1)
    distances = squared[:n, None] - 2.0 * x[:n] @ x.T + squared[None, :]
    distances[np.arange(n), np.arange(n)] = np.inf  # not itself
    return float(np.mean(y[np.argmin(distances, axis=1)] == y[:n]))


def input_gradient_norms(model: keras.Model, x, y, index: int) -> np.ndarray:
    """Karpathy's backprop-dependency test: which inputs example ``index``'s loss
    depends on.

    Computes the cross-entropy loss of example ``index`` alone (sparse integer
    labels, from the model's probabilities) and its gradient with respect to
    the *whole* input batch, with ``tf.GradientTape``; returns the L2 norm of
    that gradient for every example of the batch. In a model that treats the
    examples independently, only entry ``index`` is non-zero: a non-zero entry
    anywhere else means information flows between examples (a reshape or
    transpose across the batch axis, or a batch statistic). The model is called
    with ``training=False``, so dropout and batch normalisation use their
    inference behaviour. Introduced in ``02_data_and_pipeline_bugs.ipynb``.

    Args:
        model: a Keras model with softmax outputs.
        x: a batch of inputs.
        y: the batch's integer labels.
        index: the example whose loss is differentiated.
    """
    x = tf.convert_to_tensor(np.asarray(x, dtype=np.float32))
    if not 0 <= index < x.shape[0]:
        raise ValueError(f"index must be in 0..{x.shape[0] - 1}, got {index}")
    with tf.GradientTape() as tape:
        tape.watch(x)
        probs = model(x, training=False)
        losses = keras.losses.sparse_categorical_crossentropy(np.asarray(y), probs)
        loss = losses[index]
    grad = tape.gradient(loss, x)
    if grad is None:  # the loss does not depend on the inputs at all
        return np.zeros(x.shape[0])
    flat = tf.reshape(grad, (x.shape[0], -1))
    return np.sqrt(np.sum(np.asarray(flat, dtype=np.float64) ** 2, axis=1))
