"""Remedies for overfitting, compared fairly: same baseline, one change, several seeds.

Keras's logged training ``loss`` is measured in training mode (dropout and
augmentation on) and includes the regularisation penalty, and ``val_loss``
includes the penalty too, so neither compares models with different remedies.
:class:`DataLossMonitor` measures both sets the same way for every model;
:func:`train_seeds` trains one model per seed with it; :func:`summarize_runs`
reduces the histories to the numbers a comparison needs.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import keras
import numpy as np

DATA_KEYS = (
    "train_data_loss",
    "train_data_accuracy",
    "val_data_loss",
    "val_data_accuracy",
)


def data_loss_and_accuracy(model, x, y, batch_size=None) -> tuple[float, float]:
    """The cross-entropy (nats) and accuracy of ``model`` on ``(x, y)``, inference mode.

    The data loss only: no regularisation penalty is added, dropout is off and
    augmentation layers pass the images through unchanged. The model must output
    class probabilities (softmax). Introduced in
    ``06_remedies_for_overfitting.ipynb``.

    Args:
        model: a Keras classifier with softmax outputs.
        x: inputs.
        y: integer labels.
        batch_size: predict this many inputs at a time, or ``None`` for all at
            once. Defaults to ``None``.
    """
    size = len(x) if batch_size is None else batch_size
    probs = np.concatenate(
        [
            np.asarray(model.predict_on_batch(x[i : i + size]), dtype=np.float64)
            for i in range(0, len(x), size)
        ]
    )
    y = np.asarray(y).astype(np.int64).reshape(-1)
    picked = np.clip(probs[np.arange(len(y)), y], 1e-7, 1.0)
    return float(-np.mean(np.log(picked))), float(np.mean(probs.argmax(1) == y))


class DataLossMonitor(keras.callbacks.Callback):
    """Log the data loss and accuracy of a training and a validation set per epoch.

    At the end of every epoch the model predicts both sets in inference mode
    (dropout off, augmentation layers pass images through unchanged) and the
    callback adds to the epoch's logs ``train_data_loss``,
    ``train_data_accuracy``, ``val_data_loss`` and ``val_data_accuracy``: the
    cross-entropy of the softmax outputs, in nats, without any regularisation
    penalty. ``History`` records them, and a later callback in the list (such as
    ``keras.callbacks.EarlyStopping(monitor="val_data_loss", mode="min")``) can
    monitor them. The model must output class probabilities (softmax).

    Example:

    >>> monitor = DataLossMonitor((x_train, y_train), (x_val, y_val))
    >>> history = model.fit(x_train, y_train, epochs=5, callbacks=[monitor])
    >>> history.history["val_data_loss"][-1]

    Introduced in ``06_remedies_for_overfitting.ipynb``.

    Args:
        train_data: ``(x, y)``, the training images to measure (all of them, or
            a fixed sample).
        validation_data: ``(x, y)``, the validation images.
        batch_size: predict this many images at a time, or ``None`` for all of
            them at once. Defaults to ``None``.
    """

    def __init__(self, train_data, validation_data, batch_size=None):
        super().__init__()
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be >= 1 or None, got {batch_size}")
        self.train_data = train_data
        self.validation_data = validation_data
        self.batch_size = batch_size
        self.history = {key: [] for key in DATA_KEYS}

    def on_train_begin(self, logs=None):
        # Reset state, so the same callback instance can be reused across fits.
        self.history = {key: [] for key in DATA_KEYS}

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        for prefix, (x, y) in (
            ("train", self.train_data),
            ("val", self.validation_data),
        ):
            loss, accuracy = data_loss_and_accuracy(self.model, x, y, self.batch_size)
            logs[f"{prefix}_data_loss"] = loss
            logs[f"{prefix}_data_accuracy"] = accuracy
        for key in DATA_KEYS:
            self.history[key].append(logs[key])


class SeedRuns(NamedTuple):
    """What :func:`train_seeds` returns. Used by ``train_seeds``.

    ``histories`` holds one ``History.history`` dict per seed; ``model`` is the
    trained model of the last seed (with its final, or restored, weights).
    """

    histories: list
    model: keras.Model


def _reset(model, fresh, optimizer_start):
    """Give ``model`` the state of the freshly built ``fresh``: weights and seeds."""
    targets, sources = model.variables, fresh.variables
    if len(targets) != len(sources):
        raise ValueError("build() must return the same architecture every time")
    for target, source in zip(targets, sources):
        target.assign(source)
    for variable, value in zip(model.optimizer.variables, optimizer_start):
        variable.assign(value)


def _batches(x, y, batch_size, seed):
    """Mini-batches reshuffled every epoch, in an order fixed by ``seed``.

    What ``fit(x, y, batch_size=...)`` does with arrays, built as one cached
    ``tf.data`` pipeline: for a small data set that saves ``fit`` a good part of
    its per-epoch overhead.
    """
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((x, y)).cache()
    return data.shuffle(len(x), seed=seed).batch(batch_size).prefetch(2)


def train_seeds(
    build,
    x,
    y,
    monitor,
    seeds=(0, 1, 2),
    optimizer=None,
    callbacks=(),
    epochs=25,
    batch_size=128,
    progress=True,
    desc="seeds",
) -> SeedRuns:
    """Train the model that ``build()`` returns once per seed; return the histories.

    For every seed: ``keras.utils.set_random_seed(seed)``, ``build()`` a fresh
    model, and train it with ``fit(..., verbose=0)``, sparse categorical
    cross-entropy and accuracy, ``monitor`` (a :class:`DataLossMonitor`) first
    among the callbacks. The seed fixes a run's initial weights, batch order, and
    dropout and augmentation draws, so models built from the same layers in the
    same order (the baseline with a penalty, another optimiser or a callback)
    start from the same weights and see the same batches.

    One model is compiled once and reused: each run copies in the fresh model's
    variables (weights and random-seed states) and the optimiser's initial
    state, which trains exactly like the fresh model and saves tracing a new one
    per seed. The training step runs one epoch per call
    (``steps_per_execution``), so batch-level callback hooks fire once per
    epoch. Introduced in ``06_remedies_for_overfitting.ipynb``.

    Args:
        build: a function of no arguments returning an uncompiled Keras model
            with softmax outputs, the same architecture on every call.
        x: training inputs.
        y: training labels (integers).
        monitor: the :class:`DataLossMonitor` that measures every epoch.
        seeds: one run per seed. Defaults to ``(0, 1, 2)``.
        optimizer: a function of no arguments returning a fresh optimiser, or
            ``None`` for ``keras.optimizers.Adam(1e-3)``. Defaults to ``None``.
        callbacks: more callbacks (for example ``EarlyStopping``), run after
            ``monitor``. Defaults to ``()``.
        epochs: the most epochs per run. Defaults to 25.
        batch_size: defaults to 128.
        progress: show a ``tqdm`` bar over the seeds. Defaults to ``True``.
        desc: the progress bar's label. Defaults to ``"seeds"``.

    Returns:
        A :class:`SeedRuns`: ``histories``, one ``History.history`` dict per
        seed in the order of ``seeds``, with the monitor's keys (a run that
        stopped early has fewer epochs), and ``model``, the last seed's model.
    """
    from tqdm.auto import tqdm

    keras.utils.set_random_seed(seeds[0])
    model = build()
    model.compile(
        optimizer=optimizer() if optimizer is not None else keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        # One call into the traced training step per epoch: same updates, less
        # Python overhead per step.
        steps_per_execution=math.ceil(len(x) / batch_size),
    )
    model.optimizer.build(model.trainable_variables)
    optimizer_start = [v.numpy() for v in model.optimizer.variables]
    histories = []
    for seed in tqdm(seeds, desc=desc, disable=not progress):
        keras.utils.set_random_seed(seed)
        _reset(model, build(), optimizer_start)
        history = model.fit(
            _batches(x, y, batch_size, seed),
            epochs=epochs,
            callbacks=[monitor, *callbacks],
            shuffle=False,  # the batches are already shuffled, once per epoch
            verbose=0,
        )
        histories.append(history.history)
    return SeedRuns(histories, model)


def summarize_runs(histories: list[dict], restored_epochs=None) -> dict:
    """The numbers that compare remedies, one array entry per run (seed).

    ``gap`` is the validation minus the training data loss, and ``acc_gap`` the
    training minus the validation accuracy, both at the epoch whose weights the
    run ends with: the last epoch, or for a run whose weights
    ``EarlyStopping(restore_best_weights=True)`` restored, the epoch given in
    ``restored_epochs`` (0-based ``best_epoch``, one per run). ``best_val_loss``
    is the lowest validation data loss of any epoch and ``best_epoch`` its
    1-based epoch. Introduced in ``06_remedies_for_overfitting.ipynb``.

    Args:
        histories: history dicts with :class:`DataLossMonitor`'s keys.
        restored_epochs: for each run, the 0-based epoch whose weights it ends
            with, or ``None`` for the last epoch. Defaults to ``None``.

    Returns:
        ``{"val_loss", "val_accuracy", "train_loss", "train_accuracy", "gap",
        "acc_gap", "best_val_loss", "best_epoch", "epochs"}``, each an array.
    """
    if restored_epochs is None:
        restored_epochs = [len(h["val_data_loss"]) - 1 for h in histories]
    rows = []
    for h, end in zip(histories, restored_epochs):
        val_loss = np.asarray(h["val_data_loss"])
        rows.append(
            {
                "val_loss": val_loss[end],
                "val_accuracy": h["val_data_accuracy"][end],
                "train_loss": h["train_data_loss"][end],
                "train_accuracy": h["train_data_accuracy"][end],
                "gap": val_loss[end] - h["train_data_loss"][end],
                "acc_gap": h["train_data_accuracy"][end] - h["val_data_accuracy"][end],
                "best_val_loss": val_loss.min(),
                "best_epoch": int(val_loss.argmin()) + 1,
                "epochs": len(val_loss),
            }
        )
    return {key: np.array([row[key] for row in rows]) for key in rows[0]}
