"""Trusted checks of exercise 1, ``10_exercise_fix_broken_model.ipynb``.

* ``kernel_gradient_norms``: the kernel builds a model from :data:`MODELS` at a
  given seed and sends back what the student's function returns; the reference
  norms (``course.diagnostics``) are computed here on the same model and data.
* ``DIAGNOSIS``: the kernel sends the labels; each label is judged against the
  table's criterion, measured here on the given broken model at seeds 0-2.
* ``create_fixed_model``: the kernel saves the student's (untrained) model with
  ``model.save``; it is reloaded here with ``keras.saving.load_model(...,
  safe_mode=True)`` (no student code runs) and trained here, from fresh
  weights, with Keras's own ``fit``, on the stated budgets.
"""

from __future__ import annotations

import base64
import functools
import math
import os
import tempfile
import warnings

#: Model builders, run both here and in the student's kernel (same source, so
#: the same seed gives the same weights in both processes).
MODELS = """
def build(name):
    import keras
    inputs = keras.Input(shape=(784,))
    if name == "broken":
        x = inputs
        for i in range(8):
            x = keras.layers.Dense(256, activation="sigmoid", name=f"hidden_{i + 1}")(x)
        outputs = keras.layers.Dense(10, activation="softmax", name="output")(x)
        model = keras.Model(inputs, outputs, name="broken")
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=1e-5),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    else:
        h = keras.layers.Dense(32, activation="relu")(inputs)
        model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(h))
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model
"""

#: In the kernel: the student's norms for each (seed, model, split, n).
NORMS = (
    MODELS
    + """
import keras
from course import data

keras.utils.set_random_seed(42)
split = data.load_fashion_mnist(n_train=5000, n_val=2000)
out = []
for case in INPUTS:
    keras.utils.set_random_seed(case["seed"])
    model = build(case["model"])
    x = getattr(split, "x_" + case["split"])[: case["n"]]
    y = getattr(split, "y_" + case["split"])[: case["n"]]
    result = kernel_gradient_norms(model, x, y)
    if not isinstance(result, list):
        out.append({"type": type(result).__name__})
    else:
        out.append({"type": "list", "values": [float(v) for v in result]})
return out
"""
)

LABELS = """
return {"type": type(DIAGNOSIS).__name__,
        "labels": sorted(str(label) for label in DIAGNOSIS)}
"""

FIXED = """
import base64
import os
import warnings

import keras
from course.models import training_api_overrides

keras.utils.set_random_seed(0)
with warnings.catch_warnings(record=True):
    warnings.simplefilter("always")
    model = create_fixed_model()
if not isinstance(model, keras.Model):
    return {"error": f"create_fixed_model returned a {type(model).__name__}, "
                     "not a keras.Model"}
info = {
    "foreign": sorted({type(part).__name__ for part in [model, *model.layers]
                       if not type(part).__module__.startswith("keras.")}),
    "overrides": sorted(training_api_overrides(model)),
    "compiled": model.optimizer is not None and model.loss is not None,
}
path = "/tmp/grader-fixed-model.keras"
with warnings.catch_warnings(record=True):
    warnings.simplefilter("always")
    model.save(path)
with open(path, "rb") as f:
    info["model"] = base64.b64encode(f.read()).decode()
os.remove(path)
return info
"""

PROBLEM_LABELS = frozenset(
    {
        "learning_rate_too_small",
        "learning_rate_too_large",
        "saturating_activations",
        "vanishing_gradients",
        "exploding_gradients",
        "dead_relu",
        "bad_initialization",
        "unnormalized_inputs",
        "wrong_loss",
        "overfitting",
        "too_little_capacity",
    }
)
SEEDS = (0, 1, 2)
MAX_MODEL_BYTES = 64 * 1024 * 1024
#: (seed, training images, epochs, batch size, bar): the task's two budgets.
BUDGETS = ((1234, 2000, 1, 32, 0.50), (2024, 5000, 2, 64, 0.55))


@functools.lru_cache(maxsize=None)
def _split():
    import course  # noqa: F401  (quiets TensorFlow's start-up log)
    from course import data

    import keras

    keras.utils.set_random_seed(42)
    return data.load_fashion_mnist(n_train=5000, n_val=2000)


def _build(name, seed):
    import keras

    namespace = {}
    exec(MODELS, namespace)
    keras.utils.set_random_seed(seed)
    return namespace["build"](name)


def _reference_norms(case):
    from course import diagnostics

    model = _build(case["model"], case["seed"])
    split = _split()
    x = getattr(split, "x_" + case["split"])[: case["n"]]
    y = getattr(split, "y_" + case["split"])[: case["n"]]
    by_layer = diagnostics.gradient_norms(model, x, y)
    return list(diagnostics.kernel_norms_by_layer(by_layer).values())


def _student_norms(student, cases):
    results = student.call(NORMS, cases)
    assert isinstance(results, list) and len(results) == len(cases), (
        "kernel_gradient_norms did not run on the grader's models"
    )
    return results


def gradient_norms_shape(student):
    """One finite, non-negative float per Dense layer, as a list."""
    case = {"seed": 0, "model": "broken", "split": "train", "n": 64}
    (result,) = _student_norms(student, [case])
    assert result.get("type") == "list", f"return a list, not a {result.get('type')}"
    values = result.get("values", [])
    assert len(values) == 9, (
        f"expected 9 norms (one per Dense layer), got {len(values)}"
    )
    assert all(math.isfinite(v) and v >= 0 for v in values), (
        f"norms must be finite and non-negative, got {values}"
    )


def gradient_norms_values(student):
    """The norms match the course's reference computation, on two models."""
    cases = [
        {"seed": 0, "model": "broken", "split": "train", "n": 256},
        {"seed": 5, "model": "small", "split": "val", "n": 128},
    ]
    for case, result in zip(cases, _student_norms(student, cases)):
        want = _reference_norms(case)
        got = result.get("values")
        assert isinstance(got, list) and len(got) == len(want), (
            f"expected {len(want)} norms, got {got if got is None else len(got)}"
        )
        for g, w in zip(got, want):
            assert math.isclose(g, w, rel_tol=1e-3), (
                f"norms {[f'{v:.3g}' for v in got]} differ from the reference "
                f"{[f'{v:.3g}' for v in want]}"
            )


def _labels(student):
    result = student.call(LABELS)
    assert isinstance(result, dict) and isinstance(result.get("labels"), list), (
        "DIAGNOSIS could not be read"
    )
    return result


@functools.lru_cache(maxsize=None)
def _measurements(seed):
    """The table's measurements of the broken model at ``seed``."""
    from course import diagnostics

    import numpy as np

    split = _split()
    x, y = split.x_train[:256], split.y_train[:256]
    ratios = diagnostics.update_ratios(_build("broken", seed), x, y)
    model = _build("broken", seed)
    norms = list(
        diagnostics.kernel_norms_by_layer(diagnostics.gradient_norms(model, x, y))
        .values()
    )
    stats = diagnostics.activation_stats(model, x)
    return {
        "update_ratio": max(ratios.values()),
        "gradient_ratio": norms[0] / norms[-1],
        "saturated": max(s["saturation_fraction"] or 0.0 for s in stats.values()),
        "largest_norm": max(norms),
        "finite": bool(np.all(np.isfinite(norms))),
        "input_max": float(split.x_train.max()),
    }


def diagnosis_valid(student):
    """DIAGNOSIS is a non-empty set of labels from PROBLEM_LABELS."""
    result = _labels(student)
    assert result.get("type") in ("set", "frozenset"), "DIAGNOSIS must be a set"
    assert result["labels"], "DIAGNOSIS is empty"
    unknown = sorted(set(result["labels"]) - PROBLEM_LABELS)
    assert not unknown, f"not in PROBLEM_LABELS: {unknown}"


def diagnosis_learning_rate(student):
    """The learning-rate labels agree with the update-ratio criteria."""
    labels = set(_labels(student)["labels"])
    for seed in SEEDS:
        ratio = _measurements(seed)["update_ratio"]
        assert ("learning_rate_too_small" in labels) == (ratio < 1e-5), (
            f"learning_rate_too_small vs. largest update ratio {ratio:.1e}"
        )
        assert ("learning_rate_too_large" in labels) == (ratio > 1e-1), (
            f"learning_rate_too_large vs. largest update ratio {ratio:.1e}"
        )


def diagnosis_saturation(student):
    """The sigmoid-stack labels agree with the gradient-ratio and saturation
    criteria."""
    labels = set(_labels(student)["labels"])
    for seed in SEEDS:
        m = _measurements(seed)
        assert ("vanishing_gradients" in labels) == (m["gradient_ratio"] < 1e-3), (
            f"vanishing_gradients vs. first/last gradient ratio "
            f"{m['gradient_ratio']:.1e}"
        )
        assert ("saturating_activations" in labels) == (m["saturated"] > 0.25), (
            f"saturating_activations vs. largest saturated share {m['saturated']:.3f}"
        )


def diagnosis_no_false_claims(student):
    """The other labels agree with the evidence listed under the table."""
    labels = set(_labels(student)["labels"])
    m = _measurements(0)
    exploding = m["largest_norm"] > 100 or not m["finite"]
    assert ("exploding_gradients" in labels) == exploding, (
        f"exploding_gradients vs. largest gradient norm {m['largest_norm']:.2e}"
    )
    assert ("unnormalized_inputs" in labels) == (m["input_max"] > 1.0), (
        f"unnormalized_inputs vs. inputs up to {m['input_max']}"
    )
    assert "dead_relu" not in labels, "dead_relu: the model has no ReLU"
    for label in ("bad_initialization", "wrong_loss", "overfitting",
                  "too_little_capacity"):
        assert label not in labels, f"{label}: see the evidence listed under the table"


def _fixed_model(student):
    """The student's model, reloaded here without running any of their code."""
    import keras

    info = student.call(FIXED)
    assert isinstance(info, dict), "create_fixed_model could not be called"
    assert "error" not in info, str(info.get("error"))
    foreign = info.get("foreign")
    assert not foreign, (
        "build the model from Keras's own layers with keras.Sequential or "
        f"keras.Model(inputs, outputs); not from Keras: {foreign}"
    )
    overrides = info.get("overrides")
    assert not overrides, f"use Keras's own fit and predict; it replaces {overrides}"
    assert info.get("compiled") is True, "compile the model"
    encoded = info.get("model")
    assert isinstance(encoded, str) and len(encoded) < MAX_MODEL_BYTES * 4 // 3, (
        "the model is too large to grade"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "fixed.keras")
        with open(path, "wb") as f:
            f.write(base64.b64decode(encoded))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = keras.saving.load_model(path, compile=True, safe_mode=True)
        except Exception as err:
            raise AssertionError(
                "the grader cannot reload this model with keras.saving.load_model "
                f"({type(err).__name__}: {str(err)[:300]}); build it from Keras "
                "layers with keras.Sequential or the functional API"
            ) from None
    assert model.optimizer is not None and model.loss is not None, "compile the model"
    return model


def fixed_model_interface(student):
    """A compiled model: 784 inputs, 10 probabilities out."""
    import numpy as np

    model = _fixed_model(student)
    probs = np.asarray(model(_split().x_val[:8], training=False), dtype=float)
    assert probs.shape == (8, 10), f"expected output shape (8, 10), got {probs.shape}"
    assert np.allclose(probs.sum(axis=1), 1.0, rtol=1e-4) and np.all(probs >= 0), (
        "the outputs must be probabilities (softmax)"
    )


def fixed_model_learns(student):
    """The model as returned starts near chance; from fresh weights, Keras's
    fit clears both stated accuracy bars."""
    import keras
    import numpy as np

    loaded = _fixed_model(student)
    split = _split()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = loaded.predict(split.x_val, verbose=0).argmax(axis=1)
    start = float(np.mean(start == split.y_val))
    assert start < 0.4, (
        f"a new model should start near chance, not at accuracy {start:.2f}"
    )
    for seed, n, epochs, batch_size, bar in BUDGETS:
        keras.utils.set_random_seed(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = keras.models.clone_model(loaded)
            optimizer = type(loaded.optimizer).from_config(
                loaded.optimizer.get_config()
            )
            model.compile(optimizer=optimizer, loss=loaded.loss)
            model.fit(split.x_train[:n], split.y_train[:n], epochs=epochs,
                      batch_size=batch_size, verbose=0)
            predicted = model.predict(split.x_val, verbose=0).argmax(axis=1)
        accuracy = float(np.mean(predicted == split.y_val))
        assert accuracy >= bar, (
            f"validation accuracy {accuracy:.3f} < {bar:.2f} after {epochs} "
            f"epoch(s) on {n} images"
        )


CHECKS = {
    "test_ex1_gradient_norms_shape": gradient_norms_shape,
    "test_ex1_gradient_norms_values": gradient_norms_values,
    "test_ex1_diagnosis_valid": diagnosis_valid,
    "test_ex1_diagnosis_learning_rate": diagnosis_learning_rate,
    "test_ex1_diagnosis_saturation": diagnosis_saturation,
    "test_ex1_diagnosis_no_false_claims": diagnosis_no_false_claims,
    "test_ex1_fixed_model_interface": fixed_model_interface,
    "test_ex1_fixed_model_learns": fixed_model_learns,
}
