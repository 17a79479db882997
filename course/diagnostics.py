"""Diagnostics for networks that fail to train.

Each function takes a Keras 3 model (built on ``keras.Input``) and returns plain
Python/NumPy values, so notebooks can print them, tabulate them or plot them with
:mod:`course.plots`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

SATURATING = ("sigmoid", "tanh", "hard_sigmoid", "softsign")


def _layer_activation_name(layer) -> str | None:
    activation = getattr(layer, "activation", None)
    if activation is None:
        return None
    return getattr(activation, "__name__", type(activation).__name__)


def _output_layer(model: keras.Model):
    return model.layers[-1]


def loss_and_gradients(model: keras.Model, x, y, variables=None, training=False):
    """Return ``(loss, gradients)`` of the model's compiled loss on ``(x, y)``.

    The loss is the one given to ``compile`` (plus any regularisation losses),
    computed with Keras 3's ``model.compute_loss``; the gradients are taken with
    respect to ``variables`` (default: ``model.trainable_variables``). ``training``
    is passed to the forward pass (``False`` keeps dropout off and batch
    normalisation on its moving statistics, so the result is deterministic).
    Introduced in ``03_vanishing_and_exploding_gradients.ipynb``.
    """
    if variables is None:
        variables = model.trainable_variables
    with tf.GradientTape() as tape:
        y_pred = model(x, training=training)
        loss = model.compute_loss(x=x, y=y, y_pred=y_pred, training=training)
    grads = tape.gradient(loss, variables)
    return float(loss), grads


def _variable_key(layer, variable) -> str:
    # Keras 3 variables carry a path such as "hidden_1/kernel"; the last part is
    # the name inside the layer.
    return variable.path.split("/")[-1] if hasattr(variable, "path") else variable.name


def gradient_norms(model: keras.Model, x, y, training=False) -> dict[str, dict]:
    """L2 norm of the loss gradient for every trainable tensor, grouped by layer.

    Returns ``{layer_name: {"kernel": norm, "bias": norm, ...}}`` in layer order,
    using the model's compiled loss averaged over the batch. Introduced in
    ``03_vanishing_and_exploding_gradients.ipynb``.
    """
    owners = []
    variables = []
    for layer in model.layers:
        for v in layer.trainable_weights:
            owners.append((layer.name, _variable_key(layer, v)))
            variables.append(v)
    _, grads = loss_and_gradients(model, x, y, variables, training=training)
    result: dict[str, dict] = {}
    for (layer_name, key), g in zip(owners, grads):
        norm = float("nan") if g is None else float(tf.norm(g))
        result.setdefault(layer_name, {})[key] = norm
    return result


def kernel_norms_by_layer(norms: dict[str, dict]) -> dict[str, float]:
    """Keep only the kernel entry of :func:`gradient_norms`' result.

    Introduced in ``03_vanishing_and_exploding_gradients.ipynb``.
    """
    return {name: v["kernel"] for name, v in norms.items() if "kernel" in v}


def vanishing_layers(norms: dict[str, float], ratio: float = 1e-3) -> list[str]:
    """Layers whose gradients vanish, relative to the output layer's gradient.

    ``norms`` maps layer names to their kernel-gradient norms, in layer order, so
    its last entry is the output layer (as :func:`kernel_norms_by_layer` returns
    them). A layer's gradients vanish when its norm is below ``ratio`` times the
    last layer's norm: an absolute threshold would depend on the loss, the batch
    and the layer sizes, the ratio does not. When the last layer's norm is 0 (for
    example every hidden unit is dead, so the output kernel gets no gradient
    either) or not finite, no layer is reported: a zero gradient caused by dead
    units is a dead-neuron problem, and NaN/Inf is a problem of its own. Returns
    the names in the order of ``norms``. Introduced in
    ``03_vanishing_and_exploding_gradients.ipynb``.

    Args:
        norms: kernel-gradient norm of every layer, the output layer last.
        ratio: a layer whose norm is below ``ratio`` times the last layer's
            vanishes. Defaults to ``1e-3``.
    """
    if not norms:
        return []
    reference = float(list(norms.values())[-1])
    if reference == 0.0 or not math.isfinite(reference):
        return []
    return [name for name, norm in norms.items() if float(norm) < ratio * reference]


def weight_stats(model: keras.Model) -> dict[str, dict]:
    """Mean, std, min, max and L2 norm of every weight tensor, grouped by layer.

    Returns ``{layer_name: {"kernel": {"mean": ..., "std": ..., "min": ...,
    "max": ..., "norm": ...}, "bias": {...}}}``. Introduced in
    ``09_debugging_checklist.ipynb``.
    """
    result: dict[str, dict] = {}
    for layer in model.layers:
        for v in layer.weights:
            w = v.numpy().astype(np.float64)
            result.setdefault(layer.name, {})[_variable_key(layer, v)] = {
                "mean": float(w.mean()),
                "std": float(w.std()),
                "min": float(w.min()),
                "max": float(w.max()),
                "norm": float(np.linalg.norm(w)),
            }
    return result


def find_nonfinite(model: keras.Model) -> list[str]:
    """Paths of the model's weight tensors that contain NaN or Inf.

    An empty list means every weight is finite. Introduced in
    ``03_vanishing_and_exploding_gradients.ipynb``.
    """
    bad = []
    for v in model.weights:
        if not np.all(np.isfinite(v.numpy())):
            bad.append(getattr(v, "path", v.name))
    return bad


def layer_outputs(
    model: keras.Model, x, batch_size: int = 1024
) -> dict[str, np.ndarray]:
    """Every layer's output on ``x``, computed in a single forward pass.

    Builds one multi-output model over all layers (instead of one model per layer,
    which repeats the forward pass for every layer). Introduced in
    ``01_common_problems_and_dead_neurons.ipynb``.
    """
    layers = [
        layer
        for layer in model.layers
        if not isinstance(layer, keras.layers.InputLayer)
    ]
    # A single input as a tensor, not a one-element list: Keras warns when the
    # structure of what it is called with differs from what it was built on.
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    probe = keras.Model(inputs, [layer.output for layer in layers])
    # Called eagerly, batch by batch: ``predict`` would trace a new tf.function
    # for every probe model (TensorFlow then warns about retracing).
    x = np.asarray(x)
    chunks = [
        probe(x[i : i + batch_size], training=False)
        for i in range(0, len(x), batch_size)
    ]
    outputs = [
        np.concatenate([np.asarray(c[k]) for c in chunks]) for k in range(len(layers))
    ]
    return {layer.name: np.asarray(out) for layer, out in zip(layers, outputs)}


def dead_fraction(activations: np.ndarray) -> float:
    """Fraction of units that output exactly 0 for *every* sample.

    ``activations`` has the samples on the first axis and the units on the last;
    a unit is dead only when it is zero for all samples (a unit that is zero for
    some inputs is just sparse, which is normal for ReLU). Introduced in
    ``01_common_problems_and_dead_neurons.ipynb``.
    """
    a = np.asarray(activations)
    a = a.reshape(-1, a.shape[-1])
    return float(np.mean(np.all(a == 0, axis=0)))


def activation_stats(
    model: keras.Model, x, saturation_tol: float = 0.01, return_activations=False
):
    """Per-layer activation statistics from one forward pass.

    For every layer returns a dict with ``activation`` (name), ``units``,
    ``dead_fraction`` (units that are 0 for every sample), ``zero_fraction``
    (share of all outputs that are 0), ``saturation_fraction`` (for sigmoid/tanh:
    share of outputs within ``saturation_tol`` of the asymptotes; ``None`` for
    other activations), ``mean`` and ``std``. With ``return_activations=True`` the
    raw outputs are returned too, as ``(stats, activations)``. Introduced in
    ``01_common_problems_and_dead_neurons.ipynb``.
    """
    outputs = layer_outputs(model, x)
    stats: dict[str, dict] = {}
    for layer in model.layers:
        if layer.name not in outputs:
            continue
        a = outputs[layer.name].astype(np.float64)
        act = _layer_activation_name(layer)
        if act in ("sigmoid", "hard_sigmoid"):
            saturated = float(np.mean((a < saturation_tol) | (a > 1 - saturation_tol)))
        elif act in ("tanh", "softsign"):
            saturated = float(np.mean(np.abs(a) > 1 - saturation_tol))
        else:
            saturated = None
        stats[layer.name] = {
            "activation": act,
            "units": int(a.shape[-1]),
            "dead_fraction": dead_fraction(a),
            "zero_fraction": float(np.mean(a == 0)),
            "saturation_fraction": saturated,
            "mean": float(a.mean()),
            "std": float(a.std()),
        }
    if return_activations:
        return stats, outputs
    return stats


def _loss_name(loss) -> str:
    if isinstance(loss, str):
        return loss
    if hasattr(loss, "get_config"):
        return loss.get_config().get("name") or type(loss).__name__
    return getattr(loss, "__name__", type(loss).__name__)


def _from_logits(loss) -> bool:
    if hasattr(loss, "get_config"):
        return bool(loss.get_config().get("from_logits", False))
    return False


def check_initial_loss(model: keras.Model, x, y, num_classes=None, rtol=0.15) -> dict:
    """Compare the untrained model's loss with ln(num_classes).

    A freshly initialised classifier should predict roughly uniform probabilities,
    so its cross-entropy is about ln(C) (2.303 for 10 classes). A loss far from it
    points at bad initialisation, a wrong output activation or a wrong loss.
    Returns ``{"loss", "expected", "ratio", "ok"}``, with ``ok`` when the loss is
    within ``rtol`` (relative) of ln(C). Introduced in
    ``09_debugging_checklist.ipynb``.
    """
    if num_classes is None:
        num_classes = int(_output_layer(model).output.shape[-1])
    x = np.asarray(x)
    # Called eagerly in batches (no per-model tf.function tracing, see layer_outputs).
    y_pred = np.concatenate(
        [
            np.asarray(model(x[i : i + 1024], training=False))
            for i in range(0, len(x), 1024)
        ]
    )
    loss = float(model.compute_loss(x=x, y=y, y_pred=y_pred, training=False))
    expected = math.log(num_classes)
    ratio = loss / expected
    return {
        "loss": loss,
        "expected": expected,
        "ratio": ratio,
        "ok": bool(math.isfinite(loss) and abs(ratio - 1.0) <= rtol),
    }


def clone_compiled(model: keras.Model) -> keras.Model:
    """A copy of a compiled model: same architecture, weights, loss and optimizer
    configuration, with fresh optimizer state.

    Used by ``update_ratios``.
    """
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    optimizer = type(model.optimizer).from_config(model.optimizer.get_config())
    clone.compile(optimizer=optimizer, loss=model.loss, metrics=["accuracy"])
    return clone


def update_ratios(model: keras.Model, x, y) -> dict[str, float]:
    """Size of one optimizer step relative to the weights, per kernel.

    For every layer with a ``kernel`` returns ``||W_after - W_before|| / ||W_before||``
    after one training step on ``(x, y)`` with the model's own optimizer (from a
    fresh state) and loss. The step is taken on a copy (:func:`clone_compiled`), so
    ``model`` is left untouched. CS231n's rule of thumb for a healthy learning rate
    is a ratio of about 1e-3; ratios far below it mean the weights hardly move.
    Introduced in ``10_exercise_fix_broken_model.ipynb``.

    Args:
        model: a compiled Keras model.
        x: a batch of inputs (one step is taken on the whole batch).
        y: the matching targets.
    """
    clone = clone_compiled(model)
    layers = [layer for layer in clone.layers if hasattr(layer, "kernel")]
    before = [np.array(layer.kernel.numpy(), dtype=np.float64) for layer in layers]
    # One step, eagerly: ``train_on_batch`` would trace a new tf.function for every
    # copy (TensorFlow then warns about retracing).
    variables = clone.trainable_variables
    _, grads = loss_and_gradients(clone, x, y, variables, training=True)
    clone.optimizer.apply_gradients(zip(grads, variables))
    ratios = {}
    for layer, w in zip(layers, before):
        step = np.asarray(layer.kernel.numpy(), dtype=np.float64) - w
        ratios[layer.name] = float(np.linalg.norm(step) / np.linalg.norm(w))
    return ratios


def overfit_single_batch(
    model: keras.Model,
    x,
    y,
    epochs: int = 200,
    target_accuracy: float = 1.0,
    copy: bool = True,
    stop_early: bool = True,
) -> dict:
    """Try to memorise one small batch: the first check of the debugging checklist.

    A healthy model and training setup drive the loss on a single batch towards 0
    within a few hundred steps. If it cannot, something is broken (learning rate,
    architecture, loss, data pipeline) and training on the full data set will not
    work either. Each epoch is one optimizer step on the whole batch. Training
    stops as soon as ``target_accuracy`` is reached, unless ``stop_early=False``:
    then it runs all ``epochs`` steps, so two models can be compared on the same
    budget and the loss curve shows how close to 0 the loss gets. With
    ``copy=True`` (default) a clone is trained and the model is left untouched.
    Returns ``{"losses", "accuracies", "final_loss", "final_accuracy", "epochs",
    "passed"}``; ``losses``/``accuracies`` are those of each step's batch, computed
    before its update (as ``fit`` logs them). Introduced in
    ``09_debugging_checklist.ipynb``.

    Args:
        model: a compiled Keras model.
        x: the batch's inputs.
        y: the batch's targets.
        epochs: the most steps to take. Defaults to 200.
        target_accuracy: the accuracy that counts as memorised. Defaults to 1.0.
        copy: train a clone (:func:`clone_compiled`) and leave ``model`` as it is.
            Defaults to ``True``.
        stop_early: stop at the first step that reaches ``target_accuracy``.
            Defaults to ``True``.
    """
    trained = clone_compiled(model) if copy else model
    x = tf.convert_to_tensor(np.asarray(x))
    y = tf.convert_to_tensor(np.asarray(y))
    sparse = y.shape.rank == 1 or y.shape[-1] == 1
    accuracy = (
        keras.metrics.sparse_categorical_accuracy
        if sparse
        else keras.metrics.categorical_accuracy
    )
    variables = trained.trainable_variables
    trained.optimizer.build(variables)

    # The step Keras's ``fit`` takes (compiled loss, training=True, the model's
    # optimizer), in one traced function: ``fit(batch_size=len(x), shuffle=False)``
    # would spend more time on its per-epoch overhead than on the step itself.
    @tf.function
    def step():
        with tf.GradientTape() as tape:
            y_pred = trained(x, training=True)
            loss = trained.compute_loss(x=x, y=y, y_pred=y_pred, training=True)
        grads = tape.gradient(loss, variables)
        trained.optimizer.apply_gradients(zip(grads, variables))
        return loss, tf.reduce_mean(accuracy(y, y_pred))

    losses, accuracies = [], []
    for _ in range(epochs):
        loss, acc = step()
        losses.append(float(loss))
        accuracies.append(float(acc))
        if stop_early and accuracies[-1] >= target_accuracy:
            break
    return {
        "losses": losses,
        "accuracies": accuracies,
        "final_loss": losses[-1],
        "final_accuracy": accuracies[-1],
        "epochs": len(losses),
        "passed": bool(accuracies[-1] >= target_accuracy),
    }


@dataclass
class ArchitectureReport:
    """Result of :func:`architecture_report`; ``print`` it for a readable table.

    Used by ``architecture_report``.
    """

    layers: list[dict]
    total_params: int
    trainable_params: int
    loss: str
    issues: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.issues

    def __str__(self) -> str:
        lines = [
            f"{'layer':<14}{'type':<20}{'units':>7}{'activation':>12}{'params':>10}"
        ]
        for row in self.layers:
            lines.append(
                f"{row['name']:<14}{row['type']:<20}{str(row['units']):>7}"
                f"{str(row['activation']):>12}{row['params']:>10,}"
            )
        lines.append(
            f"total params: {self.total_params:,} "
            f"(trainable {self.trainable_params:,}); loss: {self.loss}"
        )
        if self.issues:
            lines.append("issues:")
            lines.extend(f"  - {issue}" for issue in self.issues)
        else:
            lines.append("no architecture issues found")
        return "\n".join(lines)


def architecture_report(model: keras.Model, num_classes=None) -> ArchitectureReport:
    """Check a classifier's architecture for common mistakes.

    Flags: an output activation that does not match the loss (softmax with
    ``from_logits=True``, a linear output with a probability loss, sigmoid with
    categorical cross-entropy), an output size different from ``num_classes``,
    hidden layers without a non-linearity, bottleneck layers narrower than the
    output, and deep stacks of saturating activations. Also tabulates parameter
    counts. Introduced in ``09_debugging_checklist.ipynb``.
    """
    rows = []
    dense_layers = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        units = getattr(layer, "units", None)
        rows.append(
            {
                "name": layer.name,
                "type": type(layer).__name__,
                "units": units,
                "activation": _layer_activation_name(layer),
                "params": int(layer.count_params()),
            }
        )
        if units is not None:
            dense_layers.append(layer)
    loss = getattr(model, "loss", None)
    loss_name = _loss_name(loss) if loss is not None else "not compiled"
    issues = []
    out = dense_layers[-1] if dense_layers else _output_layer(model)
    out_act = _layer_activation_name(out)
    out_units = int(out.output.shape[-1])
    lname = loss_name.lower()
    is_ce = "crossentropy" in lname
    logits = _from_logits(loss)
    if is_ce and "binary" not in lname:
        if logits and out_act == "softmax":
            issues.append(
                "output uses softmax but the loss has from_logits=True: the softmax "
                "is applied twice; use a linear output or from_logits=False"
            )
        elif not logits and out_act != "softmax":
            issues.append(
                f"output activation is {out_act!r} but {loss_name} expects "
                "probabilities: use softmax, or from_logits=True with a linear output"
            )
    if "binary" in lname and out_units > 1 and out_act == "softmax":
        issues.append("binary cross-entropy with a multi-class softmax output")
    if num_classes is not None and out_units != num_classes:
        issues.append(
            f"output has {out_units} units but there are {num_classes} classes"
        )
    hidden = dense_layers[:-1]
    for layer in hidden:
        if _layer_activation_name(layer) == "linear":
            issues.append(
                f"{layer.name} has no non-linearity: stacked linear layers collapse "
                "into one linear map"
            )
        if layer.units < out_units:
            issues.append(
                f"{layer.name} is a bottleneck ({layer.units} units < {out_units} "
                "outputs): information is lost before the output"
            )
    saturating = [ly for ly in hidden if _layer_activation_name(ly) in SATURATING]
    if len(saturating) >= 3:
        issues.append(
            f"{len(saturating)} stacked saturating "
            f"({_layer_activation_name(saturating[0])}) "
            "layers: risk of vanishing gradients; prefer ReLU with He initialisation"
        )
    trainable = int(sum(np.prod(v.shape) for v in model.trainable_weights))
    return ArchitectureReport(
        layers=rows,
        total_params=int(model.count_params()),
        trainable_params=trainable,
        loss=loss_name,
        issues=issues,
    )


def diagnose_history(
    history,
    gradient_norms_by_layer=None,
    chance_accuracy=0.1,
    gap_tolerance=0.05,
    underfit_accuracy=0.85,
) -> list[dict]:
    """Automatic diagnosis of a training run from its curves.

    ``history`` is a Keras ``History`` (or its ``.history`` dict) with ``loss``,
    ``accuracy`` and optionally ``val_loss``/``val_accuracy``;
    ``gradient_norms_by_layer`` optionally maps layer names to a gradient norm
    (first layer first). Returns a list of ``{"kind", "message"}`` findings with
    kinds ``exploding``, ``not_learning``, ``overfitting``, ``underfitting``,
    ``vanishing_gradients`` and ``exploding_gradients``; an empty list means the
    run looks healthy. Introduced in ``09_debugging_checklist.ipynb``.
    """
    h = getattr(history, "history", history)
    findings = []
    loss = np.asarray(h.get("loss", []), dtype=float)
    acc = np.asarray(h.get("accuracy", []), dtype=float)
    val_loss = np.asarray(h.get("val_loss", []), dtype=float)
    val_acc = np.asarray(h.get("val_accuracy", []), dtype=float)
    if loss.size and not np.all(np.isfinite(loss)):
        findings.append(
            {
                "kind": "exploding",
                "message": "the loss became NaN/Inf: exploding activations or "
                "gradients (lower the LR, fix init, clip gradients)",
            }
        )
        return findings
    if (
        loss.size >= 2
        and acc.size
        and (loss[-1] > 0.95 * loss[0] or acc[-1] < chance_accuracy + 0.05)
    ):
        findings.append(
            {
                "kind": "not_learning",
                "message": f"the loss barely moved ({loss[0]:.3f} -> "
                f"{loss[-1]:.3f}) and accuracy is {acc[-1]:.2f}: "
                "check the learning rate, init and gradients",
            }
        )
    elif val_loss.size >= 3 and acc.size and val_acc.size:
        best = int(np.argmin(val_loss))
        gap = acc[-1] - val_acc[-1]
        rising = best < val_loss.size - 1 and val_loss[-1] > val_loss[best] * 1.05
        if rising or gap > gap_tolerance:
            findings.append(
                {
                    "kind": "overfitting",
                    "message": f"train accuracy {acc[-1]:.2f} vs validation "
                    f"{val_acc[-1]:.2f}; validation loss was lowest "
                    f"at epoch {best + 1}: regularise or stop early",
                }
            )
        elif acc[-1] < underfit_accuracy:
            findings.append(
                {
                    "kind": "underfitting",
                    "message": f"train and validation accuracy are both low "
                    f"({acc[-1]:.2f}/{val_acc[-1]:.2f}): more capacity "
                    "or more training",
                }
            )
    if gradient_norms_by_layer:
        norms = np.asarray(list(gradient_norms_by_layer.values()), dtype=float)
        if np.any(norms > 100):
            findings.append(
                {
                    "kind": "exploding_gradients",
                    "message": f"largest gradient norm {norms.max():.3g} > 100",
                }
            )
        elif norms[-1] > 0 and norms[0] / norms[-1] < 1e-3:
            findings.append(
                {
                    "kind": "vanishing_gradients",
                    "message": f"first-layer gradient is {norms[0] / norms[-1]:.1e}"
                    " of the last layer's",
                }
            )
    return findings


def confusion_pairs(y_true, y_pred, class_names=None, top: int = 5) -> list[tuple]:
    """The most common confusions as ``(true, predicted, count)``, largest first.

    Introduced in ``09_debugging_checklist.ipynb``.
    """
    y_true = np.asarray(y_true).astype(int)
    y_pred = np.asarray(y_pred).astype(int)
    n = int(max(y_true.max(), y_pred.max())) + 1
    cm = np.zeros((n, n), dtype=int)
    np.add.at(cm, (y_true, y_pred), 1)
    np.fill_diagonal(cm, 0)
    order = np.argsort(cm, axis=None)[::-1][:top]
    pairs = []
    for flat in order:
        t, p = divmod(int(flat), n)
        if cm[t, p] == 0:
            break
        name = (lambda i: class_names[i]) if class_names is not None else (lambda i: i)
        pairs.append((name(t), name(p), int(cm[t, p])))
    return pairs


def integrated_gradients(
    model: keras.Model, x, target: int, baseline=None, steps: int = 50
) -> np.ndarray:
    """Integrated-gradients attribution of class ``target`` for one input ``x``.

    Averages the gradient of the class probability along the straight path from
    ``baseline`` (default: a black image) to ``x`` and multiplies by
    ``x - baseline`` (Sundararajan et al., 2017). Returns an array shaped like
    ``x``. Introduced in ``09_debugging_checklist.ipynb``.
    """
    x = tf.convert_to_tensor(np.asarray(x, dtype=np.float32)[None])
    base = (
        tf.zeros_like(x)
        if baseline is None
        else tf.convert_to_tensor(np.asarray(baseline, dtype=np.float32)[None])
    )
    alphas = tf.reshape(tf.linspace(0.0, 1.0, steps + 1), (-1,) + (1,) * (x.ndim - 1))
    path = base + alphas * (x - base)
    with tf.GradientTape() as tape:
        tape.watch(path)
        probs = model(path, training=False)[:, target]
    grads = tape.gradient(probs, path)
    avg = (grads[:-1] + grads[1:]) / 2.0  # trapezoidal rule
    return ((x - base)[0] * tf.reduce_mean(avg, axis=0)).numpy()


def clipped_gradients(grads, **clipping) -> list[np.ndarray]:
    """The gradients as a Keras optimizer with ``clipping`` would apply them.

    ``clipping`` is what you would pass to the optimizer: ``clipnorm=c`` clips the
    gradient of every variable separately to an L2 norm of at most ``c``;
    ``global_clipnorm=c`` rescales all gradients together so that their global
    norm (the L2 norm of all of them concatenated) is at most ``c``, keeping their
    direction; ``clipvalue=c`` clips every element to ``[-c, c]``. The clipping is
    Keras's own: one step of ``SGD(learning_rate=1.0, **clipping)`` is applied to
    zero-initialised variables, which then hold minus the clipped gradients. The
    arguments are not modified. Introduced in
    ``03_vanishing_and_exploding_gradients.ipynb``.

    Args:
        grads: a list of gradient tensors or arrays (for example from
            :func:`loss_and_gradients`).
        **clipping: ``clipnorm``, ``global_clipnorm`` or ``clipvalue``.
    """
    arrays = [
        np.asarray(keras.ops.convert_to_numpy(g), dtype=np.float32) for g in grads
    ]
    variables = [keras.Variable(np.zeros_like(a)) for a in arrays]
    optimizer = keras.optimizers.SGD(learning_rate=1.0, **clipping)
    tensors = [keras.ops.convert_to_tensor(a) for a in arrays]
    optimizer.apply_gradients(zip(tensors, variables))
    # ``Variable.numpy()``: converting the variable itself with NumPy 2 raises a
    # DeprecationWarning (its ``__array__`` takes no ``copy`` argument).
    return [-np.array(v.numpy()) for v in variables]


def relu_dead_units(model: keras.Model, x) -> dict[str, dict]:
    """Dead units of every ReLU layer on ``x``, from one forward pass.

    Returns ``{layer_name: {"units", "dead", "dead_fraction", "zero_fraction"}}``
    for the layers whose activation is ``relu`` only: a unit is dead when it
    outputs exactly 0 for every sample of ``x`` (``dead`` counts them), while
    ``zero_fraction`` is the share of all outputs that are 0 (normal sparsity).
    Other layers are left out: a softmax or sigmoid output is never exactly 0, so
    a dead fraction of 0 there would say nothing. Introduced in
    ``01_common_problems_and_dead_neurons.ipynb``.

    Args:
        model: a Keras model built on ``keras.Input``.
        x: the inputs to measure on (for example the validation images).
    """
    stats = activation_stats(model, x)
    return {
        name: {
            "units": s["units"],
            "dead": int(round(s["dead_fraction"] * s["units"])),
            "dead_fraction": s["dead_fraction"],
            "zero_fraction": s["zero_fraction"],
        }
        for name, s in stats.items()
        if s["activation"] == "relu"
    }


def train_batch_losses(
    model: keras.Model, x, y, steps: int, batch_size: int = 128, seed: int = 0
) -> np.ndarray:
    """Train ``model`` for ``steps`` mini-batch steps; return every batch's loss.

    The batches are drawn as ``fit`` draws them (a fresh shuffle of ``x`` every
    pass), one ``train_on_batch`` per step, and each loss is the batch's loss
    before its update. ``fit``'s logs only give a per-epoch mean, which hides how
    much the loss jumps from one step to the next. Introduced in
    ``01_common_problems_and_dead_neurons.ipynb``.

    Args:
        model: a compiled Keras model (it is trained in place).
        x: the training inputs.
        y: the training targets.
        steps: number of optimizer steps.
        batch_size: samples per step. Defaults to 128.
        seed: seed of the shuffles. Defaults to 0.
    """
    x, y = np.asarray(x), np.asarray(y)
    rng = np.random.default_rng(seed)
    order = np.empty(0, dtype=np.int64)
    losses = []
    for _ in range(steps):
        if len(order) < batch_size:
            order = rng.permutation(len(x))
        idx, order = order[:batch_size], order[batch_size:]
        logs = model.train_on_batch(x[idx], y[idx], return_dict=True)
        losses.append(float(logs["loss"]))
    return np.asarray(losses)
