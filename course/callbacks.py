"""Keras 3 callbacks for watching training from the inside.

For NaN losses use Keras' own ``keras.callbacks.TerminateOnNaN``; this module only
adds what Keras does not ship.
"""

from __future__ import annotations

from course.diagnostics import loss_and_gradients

import keras
import numpy as np


class GradientMonitor(keras.callbacks.Callback):
    """Record the L2 norm of every layer's kernel gradient at the end of each epoch.

    The gradient is that of the model's compiled loss on a fixed sample, so the
    norms of different epochs are comparable. Vanishing gradients show up as
    first-layer norms orders of magnitude below the last layer's; exploding ones as
    norms that grow from epoch to epoch.

    Example:

    >>> monitor = GradientMonitor(x_train[:256], y_train[:256])
    >>> model.fit(x_train, y_train, epochs=5, callbacks=[monitor])
    >>> monitor.history[-1]  # {"hidden_1": 0.012, ..., "output": 0.31}

    Introduced in ``03_vanishing_and_exploding_gradients.ipynb``.

    Args:
        x_sample: inputs of the fixed sample the gradients are computed on.
        y_sample: targets of that sample.
        freq: compute the norms every ``freq`` epochs. Defaults to 1.
        verbose: 0 for silent, 1 to print the norms after each computation.
            Defaults to 0.
    """

    def __init__(self, x_sample, y_sample, freq=1, verbose=0):
        super().__init__()
        if freq < 1:
            raise ValueError(f"freq must be >= 1, got {freq}")
        self.x_sample = x_sample
        self.y_sample = y_sample
        self.freq = int(freq)
        self.verbose = verbose
        self.epochs = []
        self.history = []

    def on_train_begin(self, logs=None):
        # Reset state, so the same callback instance can be reused across fits.
        self.epochs = []
        self.history = []

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if epoch % self.freq:
            return
        layers = [layer for layer in self.model.layers if hasattr(layer, "kernel")]
        kernels = [layer.kernel for layer in layers]
        _, grads = loss_and_gradients(self.model, self.x_sample, self.y_sample, kernels)
        norms = {
            layer.name: float(np.linalg.norm(keras.ops.convert_to_numpy(g)))
            for layer, g in zip(layers, grads)
        }
        self.epochs.append(epoch)
        self.history.append(norms)
        logs["gradient_norm"] = float(np.sqrt(sum(n * n for n in norms.values())))
        if self.verbose > 0:
            shown = ", ".join(f"{k}={v:.2e}" for k, v in norms.items())
            print(f"\nEpoch {epoch + 1}: gradient norms {shown}")

    def as_array(self) -> np.ndarray:
        """The recorded norms as an array of shape (epochs, layers)."""
        return np.array([list(h.values()) for h in self.history])
