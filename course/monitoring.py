"""Watching training with TensorFlow's and Keras's own tools.

Keras's ``keras.callbacks.TensorBoard`` writes the loss, the metrics and weight
histograms to event files; :class:`GradientHistograms` adds gradient histograms
beside them and :func:`read_event_files` reads them back, so a notebook can plot
them without a TensorBoard server. :func:`parse_check_numerics` picks the op out
of the error ``tf.debugging.enable_check_numerics`` raises, and
:class:`UpdateRatioMonitor` records the size of every optimizer step relative to
the weights (CS231n's update-to-weight ratio).
"""

from __future__ import annotations

from course.diagnostics import loss_and_gradients

import os
import re

import keras
import numpy as np
import tensorflow as tf


class GradientHistograms(keras.callbacks.Callback):
    """Write a histogram of every weight's loss gradient for TensorBoard.

    Keras 3's ``keras.callbacks.TensorBoard(histogram_freq=1)`` writes weight
    histograms but no gradient histograms, and a callback does not see the
    gradients ``fit`` computes. This one computes them itself at the end of every
    ``histogram_freq``-th epoch, on a fixed sample with the model's compiled loss
    (:func:`course.diagnostics.loss_and_gradients`, ``training=False``), so the
    histograms of different epochs are comparable, and writes them with
    ``tf.summary.histogram`` into ``log_dir/train``, where the TensorBoard
    callback writes its own. The tags are ``"<variable path>/gradient"`` (for
    example ``"hidden_1/kernel/gradient"``), next to Keras's
    ``"hidden_1/kernel/histogram"``; the step is the epoch, counted from 0 as
    Keras does.

    Example:

    >>> callbacks = [keras.callbacks.TensorBoard(log_dir, histogram_freq=1),
    ...              GradientHistograms(log_dir, x_train[:512], y_train[:512])]
    >>> model.fit(x_train, y_train, epochs=5, callbacks=callbacks, verbose=0)

    Introduced in ``08_tensorflow_debugging_tools.ipynb``.

    Args:
        log_dir: the folder given to ``keras.callbacks.TensorBoard``.
        x_sample: inputs of the fixed sample the gradients are computed on.
        y_sample: targets of that sample.
        histogram_freq: write the histograms every this many epochs. Defaults
            to 1.
        buckets: number of histogram buckets. Defaults to 30 (what
            ``tf.summary.histogram`` uses).
    """

    def __init__(self, log_dir, x_sample, y_sample, histogram_freq=1, buckets=30):
        super().__init__()
        if histogram_freq < 1:
            raise ValueError(f"histogram_freq must be >= 1, got {histogram_freq}")
        self.log_dir = str(log_dir)
        self.x_sample = x_sample
        self.y_sample = y_sample
        self.histogram_freq = int(histogram_freq)
        self.buckets = int(buckets)
        self._writer = None

    def on_train_begin(self, logs=None):
        self._writer = tf.summary.create_file_writer(
            os.path.join(self.log_dir, "train")
        )

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if epoch % self.histogram_freq:
            return
        variables = self.model.trainable_variables
        _, grads = loss_and_gradients(self.model, self.x_sample, self.y_sample)
        with self._writer.as_default():
            for variable, grad in zip(variables, grads):
                if grad is None:
                    continue
                tf.summary.histogram(
                    f"{variable.path}/gradient", grad, step=epoch, buckets=self.buckets
                )
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _event_files(log_dir):
    for folder, _, files in sorted(os.walk(log_dir)):
        for name in sorted(files):
            if "tfevents" in name:
                run = os.path.relpath(folder, log_dir)
                yield ("" if run == "." else run), os.path.join(folder, name)


def read_event_files(log_dir) -> dict:
    """Read the scalars and histograms of every TensorBoard event file in a folder.

    The files are read with ``tf.data.TFRecordDataset`` and TensorFlow's ``Event``
    protocol buffer (what TensorBoard itself parses; no server, and not the
    deprecated ``tf.compat.v1.train.summary_iterator``). Each sub-folder is a
    *run*, as TensorBoard names it: Keras writes ``train`` and ``validation``.
    Several files of the same run (one per writer) are merged; a tag written
    twice at the same step keeps the value written last.

    Returns ``{"scalars": {run: {tag: (steps, values)}}, "histograms": {run:
    {tag: (steps, buckets)}}}``, sorted by step; ``steps`` and ``values`` are
    NumPy arrays, ``buckets`` a list with one ``(k, 3)`` array per step whose
    columns are the left edge, the right edge and the count of each bucket (the
    format of ``tf.summary.histogram``). Other summaries (the model graph,
    images) are skipped. Introduced in ``08_tensorflow_debugging_tools.ipynb``.

    Args:
        log_dir: the folder given to ``keras.callbacks.TensorBoard``.
    """
    from tensorflow.core.util import event_pb2

    found = {"scalars": {}, "histograms": {}}
    for run, path in _event_files(str(log_dir)):
        for record in tf.data.TFRecordDataset(path):
            event = event_pb2.Event.FromString(record.numpy())
            for value in event.summary.value:
                plugin = value.metadata.plugin_data.plugin_name
                kind = value.WhichOneof("value")
                if kind == "simple_value":
                    plugin, data = "scalars", float(value.simple_value)
                elif kind == "tensor" and plugin in found:
                    data = tf.make_ndarray(value.tensor)
                else:
                    continue
                if plugin == "scalars":
                    data = float(np.asarray(data))
                tags = found[plugin].setdefault(run, {})
                tags.setdefault(value.tag, {})[int(event.step)] = data
    result = {"scalars": {}, "histograms": {}}
    for plugin, runs in found.items():
        for run, tags in runs.items():
            for tag, by_step in tags.items():
                steps = np.array(sorted(by_step))
                data = [by_step[s] for s in steps]
                if plugin == "scalars":
                    data = np.array(data, dtype=np.float64)
                else:
                    data = [np.asarray(d, np.float64).reshape(-1, 3) for d in data]
                result[plugin].setdefault(run, {})[tag] = (steps, data)
    return result


def parse_check_numerics(message: str) -> dict:
    """The op that ``tf.debugging.enable_check_numerics`` caught, from its error.

    With check-numerics on, the first op whose output holds NaN or Inf raises a
    ``tf.errors.InvalidArgumentError`` whose message names the op (``!!! Detected
    Infinity or NaN in output 0 of graph op "MatMul" ...``), the op's node in the
    graph, its inputs and what the tensor held. Returns ``{"op_type", "node",
    "output", "inputs", "values"}``: the op's type (``"MatMul"``), its node name
    (``"model/hidden_3/MatMul"``; ``None`` when it ran eagerly), the output index,
    the input tensors' names and the summary line (``"-Inf, +Inf, and NaN"``).
    Fields not in the message are ``None`` (``inputs``: an empty list).
    Introduced in ``08_tensorflow_debugging_tools.ipynb``.

    Args:
        message: ``str()`` of the error.
    """

    def first(pattern):
        found = re.search(pattern, message)
        return found.group(1) if found else None

    output = first(r"in output (\d+) of")
    node = first(r"\{\{node ([^}]+?)/CheckNumerics\w*\}\}") or first(
        r"Detected at node (\S+?)/CheckNumerics\w* defined"
    )
    return {
        "op_type": first(r'of (?:graph |eagerly-executing )?op "([^"]+)"'),
        "node": node,
        "output": None if output is None else int(output),
        "inputs": re.findall(r'^\s+\d+: Tensor\("([^"]+)"', message, re.MULTILINE),
        "values": first(r"Tensor had ([^\n]+?) values"),
    }


def _norm(x) -> float:
    # The L2 norm as a plain sum: np.linalg.norm calls BLAS, whose threads cost
    # milliseconds per call on a busy CPU, and the monitor calls it at every step.
    return float(np.sqrt(np.sum(np.square(x))))


class UpdateRatioMonitor(keras.callbacks.Callback):
    """Record ``||W_after - W_before|| / ||W_before||`` of every kernel, per step.

    The ratio of an optimizer step's size to the weights' size tells whether the
    learning rate fits the network: CS231n's rule of thumb is about 1e-3
    (https://cs231n.github.io/neural-networks-3/#ratio); far below, the weights
    hardly move; far above, each step rewrites a large part of them. The kernels
    are copied before every recorded training batch and compared after it, so the
    ratio is that of the optimizer's real step inside ``fit`` (the same quantity
    :func:`course.diagnostics.update_ratios` measures for one step on a copy).

    After ``fit``, ``steps`` holds the global batch index of each record (from 0,
    across epochs) and ``history`` maps every layer with a kernel to its list of
    ratios. Introduced in ``08_tensorflow_debugging_tools.ipynb``.

    Example:

    >>> monitor = UpdateRatioMonitor()
    >>> model.fit(x_train, y_train, epochs=2, callbacks=[monitor], verbose=0)
    >>> monitor.median_ratios()  # {"hidden_1": 0.0011, ..., "output": 0.0023}

    Args:
        every: record every this many batches (1: every batch). Copying the
            kernels costs time, so a large model may record fewer. Defaults to 1.
        layers: names of the layers to watch, or ``None`` for every layer with a
            ``kernel``. Defaults to ``None``.
    """

    def __init__(self, every=1, layers=None):
        super().__init__()
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.every = int(every)
        self.layer_names = None if layers is None else list(layers)
        self.steps = []
        self.history = {}

    def _layers(self):
        layers = [layer for layer in self.model.layers if hasattr(layer, "kernel")]
        if self.layer_names is None:
            return layers
        return [layer for layer in layers if layer.name in self.layer_names]

    def on_train_begin(self, logs=None):
        self.steps = []
        self.history = {layer.name: [] for layer in self._layers()}
        self._step = 0
        self._before = None

    def on_train_batch_begin(self, batch, logs=None):
        if self._step % self.every == 0:
            self._before = [
                np.array(layer.kernel.numpy(), dtype=np.float64)
                for layer in self._layers()
            ]

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        if self._before is not None:
            for layer, before in zip(self._layers(), self._before):
                after = np.asarray(layer.kernel.numpy(), dtype=np.float64)
                ratio = _norm(after - before) / _norm(before)
                self.history[layer.name].append(float(ratio))
            self.steps.append(self._step)
            self._before = None
        self._step += 1

    def median_ratios(self) -> dict[str, float]:
        """The median recorded ratio of every layer (NaN for a layer with none)."""
        return {
            name: float(np.median(values)) if values else float("nan")
            for name, values in self.history.items()
        }
