"""Numerical gradient checking with central differences.

Backpropagation bugs (a wrong custom gradient, a forgotten term) do not crash: the
model just trains badly. A gradient check compares the analytic gradient with

    (L(w + eps) - L(w - eps)) / (2 * eps)

for a few entries of every trainable tensor. It must run in float64: in float32
the loss has only ~7 significant digits, so with eps = 1e-7 the difference
``L(w + eps) - L(w - eps)`` is mostly rounding noise and a correct gradient looks
wrong.

The checked loss is the loss training minimises: the compiled loss plus the
model's regularisation losses (``model.losses``, e.g. from an L2
``kernel_regularizer``), as Keras' ``Model.compute_loss`` adds them. Both the
analytic and the numerical gradient are of that same loss; pass
``include_regularization=False`` to check the data loss alone (both sides again).

The error bands follow the CS231n notes on gradient checks
(https://cs231n.github.io/neural-networks-3/#gradcheck): below 1e-7 fine;
1e-7 to 1e-4 look for kinks (fine only if the loss has them); 1e-4 to 1e-2
usually wrong; above 1e-2 wrong.
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
    Introduced in ``05_gradient_checking.ipynb``.
    """
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    return np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), tiny)


def verdict(max_rel_error: float) -> str:
    """Name the band a maximum relative error falls in.

    ``<= 1e-7`` correct; ``<= 1e-4`` acceptable (check for kinks: a smooth loss
    should do better; float64 round-off on a small gradient also lands here);
    ``<= 1e-2`` suspicious (usually wrong); above, wrong. The bands are those of
    the CS231n notes, https://cs231n.github.io/neural-networks-3/#gradcheck.
    Used by ``GradCheckResult``.
    """
    if not np.isfinite(max_rel_error):
        return "wrong"
    for bound, name in BANDS:
        if max_rel_error <= bound:
            return name
    return "wrong"


@dataclass
class GradCheckResult:
    """Outcome of :func:`gradient_check`; ``print`` it for a table.

    Used by ``gradient_check``.
    """

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
    ``05_gradient_checking.ipynb``.
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
    float64 gradient check needs. Introduced in ``05_gradient_checking.ipynb``.
    """
    if isinstance(loss, str):
        loss = keras.losses.get(loss)
    if isinstance(loss, keras.losses.Loss):
        config = loss.get_config()
        config["dtype"] = dtype
        return type(loss).from_config(config)
    return _FunctionLoss(loss, dtype=dtype)


def _loss_closure(model, x, y, dtype, include_regularization=True):
    """``(copy of model in dtype, function returning its loss on (x, y))``."""
    if getattr(model, "loss", None) is None:
        raise ValueError("gradient_check needs a compiled model (it uses its loss)")
    checked = cast_model(model, dtype)
    loss_fn = loss_in_dtype(model.loss, dtype)
    x = tf.convert_to_tensor(np.asarray(x, dtype=dtype))
    y = tf.convert_to_tensor(np.asarray(y))

    def loss_value():
        loss = loss_fn(y, checked(x, training=False))
        if include_regularization:
            for extra in checked.losses:  # regularisation terms, as in training
                loss = loss + tf.cast(extra, dtype)
        return loss

    return checked, loss_value


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
    include_regularization: bool = True,
) -> GradCheckResult:
    """Check the model's analytic gradients against central differences.

    The model is copied into ``dtype`` (float64 by default: do not change it
    unless you want to see float32 fail), the loss is the model's compiled loss
    averaged over ``(x, y)`` plus its regularisation losses (``model.losses``,
    as in training; ``include_regularization=False`` leaves them out), computed
    in inference mode (dropout off), and ``entries_per_tensor`` random entries of
    every trainable tensor are perturbed by ``+-eps``. The analytic and the
    numerical gradient are of the same loss. The original model is not
    modified. Returns a :class:`GradCheckResult` with the maximum relative error
    per tensor and a verdict. Introduced in ``05_gradient_checking.ipynb``.
    """
    checked, loss_value = _loss_closure(model, x, y, dtype, include_regularization)
    variables = checked.trainable_variables
    with tf.GradientTape() as tape:
        loss = loss_value()
    grads = tape.gradient(loss, variables)
    loss_value = tf.function(loss_value)  # the same loss, ~10x faster to repeat

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


def _central_difference(variable, loss_value, index, eps: float) -> float:
    """``(L(w + eps) - L(w - eps)) / (2 eps)`` for entry ``index``; restores w."""
    original = variable.numpy().copy()
    values = []
    for step in (eps, -eps):
        perturbed = original.copy()
        perturbed[index] += step
        variable.assign(perturbed)
        values.append(float(loss_value()))
    variable.assign(original)
    return (values[0] - values[1]) / (2 * eps)


def _variable(model: keras.Model, path: str):
    for var in model.trainable_variables:
        if getattr(var, "path", var.name) == path:
            return var
    names = [getattr(v, "path", v.name) for v in model.trainable_variables]
    raise KeyError(f"no trainable variable {path!r}; the model has {names}")


def check_entry(
    model: keras.Model,
    x,
    y,
    path: str,
    index,
    eps: float = 1e-6,
    dtype: str = "float64",
    include_regularization: bool = True,
) -> tuple[float, float, float]:
    """Backprop and central difference for one weight: ``(analytic, numeric, rel)``.

    ``path`` names a trainable variable as in :func:`gradient_check`'s table
    (``"hidden/bias"``) and ``index`` one of its entries (``(3,)``, ``(3, 2)``);
    the loss is the same as :func:`gradient_check`'s (compiled loss plus
    regularisation, in ``dtype``). The model is not modified. Introduced in
    ``05_gradient_checking.ipynb``.
    """
    checked, loss_value = _loss_closure(model, x, y, dtype, include_regularization)
    var = _variable(checked, path)
    with tf.GradientTape() as tape:
        loss = loss_value()
    analytic = float(np.asarray(tape.gradient(loss, var))[tuple(index)])
    numeric = _central_difference(var, loss_value, tuple(index), eps)
    return analytic, numeric, float(relative_error(analytic, numeric))


def error_vs_eps(
    model: keras.Model,
    x,
    y,
    path: str,
    index,
    eps_values,
    dtypes=("float32", "float64"),
) -> dict[str, np.ndarray]:
    """Relative error of the central difference, for every ``eps`` and dtype.

    The reference is the float64 backprop derivative of the same weight, so
    each curve shows the error of the *numerical* estimate alone: truncation
    error (``~eps**2``, falls as eps shrinks) plus round-off error (``~u/eps``
    with ``u`` the dtype's unit round-off, grows as eps shrinks). Returns
    ``{dtype: errors}`` aligned with ``eps_values``. Introduced in
    ``05_gradient_checking.ipynb``.
    """
    reference, _, _ = check_entry(model, x, y, path, index, dtype="float64")
    out = {}
    for dtype in dtypes:
        checked, loss_value = _loss_closure(model, x, y, dtype)
        var, loss_value = _variable(checked, path), tf.function(loss_value)
        numeric = [
            _central_difference(var, loss_value, tuple(index), float(eps))
            for eps in eps_values
        ]
        out[dtype] = relative_error(reference, np.asarray(numeric))
    return out
