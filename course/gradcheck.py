"""Numerical gradient checking with central differences.

Backpropagation bugs (a wrong custom gradient, a forgotten term) do not crash: the
model just trains badly. A gradient check compares the analytic gradient with

    (L(w + eps) - L(w - eps)) / (2 * eps)

for a few entries of every trainable tensor. It must run in float64: in float32
the loss has only ~7 significant digits, so with eps = 1e-7 the difference
``L(w + eps) - L(w - eps)`` is mostly rounding noise and a correct gradient looks
wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

#: Verdict bands for the maximum relative error.
BANDS = ((1e-7, "correct"), (1e-4, "acceptable"), (1e-2, "suspicious"))
TINY = 1e-12


def relative_error(analytic, numeric, tiny: float = TINY) -> np.ndarray:
    """``|a - n| / max(|a| + |n|, tiny)``, element-wise.

    Symmetric in its arguments, in [0, 1], and well defined when both are 0.
    Introduced in ``04_gradient_checking.ipynb``.
    """
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    return np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), tiny)


def verdict(max_rel_error: float) -> str:
    """Name the band a maximum relative error falls in.

    ``<= 1e-7`` correct; ``<= 1e-4`` acceptable (typical with ReLU kinks);
    ``<= 1e-2`` suspicious; above, wrong. Introduced in
    ``04_gradient_checking.ipynb``.
    """
    if not np.isfinite(max_rel_error):
        return "wrong"
    for bound, name in BANDS:
        if max_rel_error <= bound:
            return name
    return "wrong"


@dataclass
class GradCheckResult:
    """Outcome of :func:`gradient_check`; ``print`` it for a table."""

    errors: dict[str, float]
    analytic: dict[str, np.ndarray]
    numeric: dict[str, np.ndarray]
    dtype: str
    eps: float
    max_rel_error: float = field(init=False)
    verdict: str = field(init=False)

    def __post_init__(self):
        self.max_rel_error = float(max(self.errors.values(), default=0.0))
        self.verdict = verdict(self.max_rel_error)

    @property
    def passed(self) -> bool:
        """True for the "correct" and "acceptable" verdicts."""
        return self.verdict in ("correct", "acceptable")

    def __str__(self) -> str:
        lines = [f"gradient check ({self.dtype}, eps={self.eps:g})"]
        for name, err in self.errors.items():
            lines.append(f"  {name:<28} max rel. error {err:.2e}  {verdict(err)}")
        lines.append(
            f"verdict: {self.verdict} (max rel. error {self.max_rel_error:.2e})"
        )
        return "\n".join(lines)


def cast_model(model: keras.Model, dtype: str) -> keras.Model:
    """A copy of ``model`` whose layers compute in ``dtype``, with the same weights.

    Works for functional and Sequential models and for custom layers whose
    ``get_config`` lets ``from_config`` rebuild them. Introduced in
    ``04_gradient_checking.ipynb``.
    """

    def clone_layer(layer):
        config = layer.get_config()
        config["dtype"] = dtype
        return type(layer).from_config(config)

    inputs = [keras.Input(shape=t.shape[1:], dtype=dtype) for t in model.inputs]
    clone = keras.models.clone_model(
        model,
        input_tensors=inputs if len(inputs) > 1 else inputs[0],
        clone_function=clone_layer,
    )
    clone.set_weights([np.asarray(w, dtype=dtype) for w in model.get_weights()])
    return clone


def loss_in_dtype(loss, dtype: str) -> keras.losses.Loss:
    """The compiled loss ``loss`` (name, function or ``Loss``) computing in ``dtype``.

    Needed because Keras' ``compute_loss`` casts the total loss to
    ``keras.config.floatx()`` (float32), which would throw away the precision a
    float64 gradient check needs. Introduced in ``04_gradient_checking.ipynb``.
    """
    if isinstance(loss, str):
        loss = keras.losses.get(loss)
    if isinstance(loss, keras.losses.Loss):
        config = loss.get_config()
        config["dtype"] = dtype
        return type(loss).from_config(config)
    return _FunctionLoss(loss, dtype=dtype)


class _FunctionLoss(keras.losses.Loss):
    """Wrap a loss function ``fn(y_true, y_pred)`` as a ``Loss`` with a dtype."""

    def __init__(self, fn, dtype):
        super().__init__(name=getattr(fn, "__name__", "loss"), dtype=dtype)
        self.fn = fn

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred)


def gradient_check(
    model: keras.Model,
    x,
    y,
    eps: float = 1e-6,
    entries_per_tensor: int = 5,
    dtype: str = "float64",
    seed: int = 0,
) -> GradCheckResult:
    """Check the model's analytic gradients against central differences.

    The model is copied into ``dtype`` (float64 by default: do not change it
    unless you want to see float32 fail), the loss is the model's compiled loss
    averaged over ``(x, y)``, and ``entries_per_tensor`` random entries of every
    trainable tensor are perturbed by ``+-eps``. The original model is not
    modified. Returns a :class:`GradCheckResult` with the maximum relative error
    per tensor and a verdict. Introduced in ``04_gradient_checking.ipynb``.
    """
    if getattr(model, "loss", None) is None:
        raise ValueError("gradient_check needs a compiled model (it uses its loss)")
    checked = cast_model(model, dtype)
    loss_fn = loss_in_dtype(model.loss, dtype)
    x = tf.convert_to_tensor(np.asarray(x, dtype=dtype))
    y = tf.convert_to_tensor(np.asarray(y))

    def loss_value():
        loss = loss_fn(y, checked(x, training=False))
        for extra in checked.losses:  # regularisation terms, as in training
            loss = loss + tf.cast(extra, dtype)
        return loss

    variables = checked.trainable_variables
    with tf.GradientTape() as tape:
        loss = loss_value()
    grads = tape.gradient(loss, variables)

    rng = np.random.default_rng(seed)
    errors, analytic, numeric = {}, {}, {}
    for var, grad in zip(variables, grads):
        name = getattr(var, "path", var.name)
        original = var.numpy().copy()
        grad = np.zeros_like(original) if grad is None else np.asarray(grad)
        k = min(entries_per_tensor, original.size)
        flat_idx = rng.choice(original.size, size=k, replace=False)
        num = np.empty(k)
        for j, flat in enumerate(flat_idx):
            idx = np.unravel_index(flat, original.shape)
            perturbed = original.copy()
            perturbed[idx] += eps
            var.assign(perturbed)
            plus = float(loss_value())
            perturbed[idx] -= 2 * eps
            var.assign(perturbed)
            minus = float(loss_value())
            var.assign(original)
            num[j] = (plus - minus) / (2 * eps)
        ana = grad.reshape(-1)[flat_idx].astype(np.float64)
        analytic[name], numeric[name] = ana, num
        errors[name] = float(np.max(relative_error(ana, num)))
    return GradCheckResult(errors, analytic, numeric, dtype=dtype, eps=eps)
