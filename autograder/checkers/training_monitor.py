"""Trusted checks of exercise 3, ``12_exercise_training_monitor.ipynb``.

The kernel runs the scenarios of :data:`SCENARIOS`: it builds a model with
``course.models`` at a given seed, trains it with the student's
``TrainingMonitor`` (or calls the callback's methods directly) and sends back
what the monitor recorded (history, issues, the warnings it raised), plain data
describing its dashboard, and, where a check needs references, the model's
weights after training. The references (gradient norms, weight statistics,
dead fractions) are computed here with ``course.diagnostics`` on the same
architecture with those weights and on the same data. NaN and Inf travel as the
strings ``"nan"``, ``"inf"`` and ``"-inf"``. Each check repeats its cell's
visible cases, then the hidden ones.
"""

from __future__ import annotations

import base64
import functools
import math

#: The models of the checks, built both here and in the student's kernel (same
#: source): ``spec`` is ``[factory name in course.models, keyword arguments]``.
MODELS = """
def build(spec):
    from course import models
    name, kwargs = spec
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    return getattr(models, name)(**kwargs)
"""

#: Runs in the student's kernel: every case of ``INPUTS`` (see :func:`_case`),
#: each one's outcome as plain JSON data.
SCENARIOS = (
    MODELS
    + """
import base64
import math
import warnings

import keras
import matplotlib.figure
import matplotlib.pyplot as plt
import numpy as np
from course import data


def plain(obj, depth=0):
    # JSON data for obj; non-finite floats become "nan", "inf" and "-inf".
    if depth > 10:
        return repr(obj)[:200]
    if obj is None or isinstance(obj, bool):
        return obj
    if isinstance(obj, str):
        return obj[:2000]
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        value = float(obj)
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(obj, dict):
        return {str(k): plain(v, depth + 1) for k, v in list(obj.items())[:10000]}
    if isinstance(obj, (list, tuple)):
        return [plain(v, depth + 1) for v in list(obj)[:10000]]
    if isinstance(obj, np.generic) or hasattr(obj, "__array__"):
        try:
            array = np.asarray(obj)
        except Exception:
            return repr(obj)[:200]
        if array.ndim == 0:
            return plain(array.item(), depth + 1)
        return [plain(v, depth + 1) for v in array.reshape(-1)[:10000].tolist()]
    try:
        return plain(float(obj), depth + 1)
    except Exception:
        return repr(obj)[:200]


def grab(get):
    try:
        return {"ok": plain(get())}
    except Exception as err:
        return {"error": f"{type(err).__name__}: {err}"[:500]}


def issue_data(issue):
    if not isinstance(issue, dict):
        return {"dict": False, "repr": repr(issue)[:200]}
    out = {"dict": True, "keys": sorted(str(k) for k in issue)}
    for key in ("epoch", "layer", "kind", "value"):
        if key in issue:
            out[key] = plain(issue[key])
    out["epoch_int"] = isinstance(issue.get("epoch"), int)
    out["value_float"] = isinstance(issue.get("value"), float)
    return out


def issues_data(monitor):
    issues = monitor.issues
    items = list(issues)
    return {"list": isinstance(issues, list), "count": len(items),
            "items": [issue_data(i) for i in items[:5000]]}


def warnings_data(caught):
    messages = [str(w.message) for w in caught]
    return {"count": len(messages), "messages": [m[:2000] for m in messages[:2000]]}


def dashboard_data(monitor):
    fig = monitor.plot_dashboard()
    out = {"type": type(fig).__name__,
           "figure": isinstance(fig, matplotlib.figure.Figure)}
    if out["figure"]:
        out["axes"] = [
            {"title": plain(ax.get_title()), "xlabel": plain(ax.get_xlabel()),
             "ylabel": plain(ax.get_ylabel()), "yscale": plain(ax.get_yscale()),
             "lines": [{"label": plain(line.get_label()),
                        "ydata": plain(list(line.get_ydata()))}
                       for line in ax.get_lines()]}
            for ax in fig.axes
        ]
        plt.close(fig)
    return out


def weights_data(model):
    return [{"shape": list(w.shape), "dtype": str(w.dtype),
             "data": base64.b64encode(np.ascontiguousarray(w).tobytes()).decode()}
            for w in model.get_weights()]


class CountPasses(keras.layers.Layer):
    # An identity layer that counts the eager forward passes through it.
    passes = 0

    def call(self, inputs):
        CountPasses.passes += 1
        return inputs


def counted_model(units):
    inputs = keras.Input(shape=(784,), name="pixels")
    x = CountPasses(name="count")(inputs)
    for i, n in enumerate(units, start=1):
        x = keras.layers.Dense(n, activation="relu", name=f"hidden_{i}")(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="output")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def run(case, split, x_sample, y_sample):
    keras.utils.set_random_seed(case["seed"])
    if case["mode"] == "count":
        model = counted_model(case["units"])
    else:
        model = build(case["model"])
    out = {}
    if case["mode"] == "fit":
        monitor = TrainingMonitor(x_sample, y_sample, verbose=0, **case["kwargs"])
        for fit in case["fits"]:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                history = model.fit(split.x_train, split.y_train,
                                    epochs=fit["epochs"],
                                    batch_size=fit["batch_size"], verbose=0,
                                    callbacks=[monitor])
        out["keras_loss"] = grab(lambda: history.history["loss"])
    else:
        for name, index, value in case.get("poke", []):
            kernel = model.get_layer(name).kernel
            w = kernel.numpy()
            w[tuple(index)] = float(value)
            kernel.assign(w)
        model.stop_training = False
        if case.get("nan_column") is not None:
            x_sample = x_sample.copy()
            x_sample[:, case["nan_column"]] = np.nan
        monitor = TrainingMonitor(x_sample, y_sample, verbose=0)
        monitor.set_model(model)
        counts = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            monitor.on_train_begin()
            for epoch in range(case["epochs"]):
                CountPasses.passes = 0
                monitor.on_epoch_end(epoch, {"loss": case["loss"]})
                counts.append(CountPasses.passes)
        out["counts"] = counts
    out["stop_training"] = grab(lambda: bool(model.stop_training))
    out["history"] = grab(lambda: monitor.history)
    out["issues"] = grab(lambda: issues_data(monitor))
    out["warnings"] = warnings_data(caught)
    if case.get("weights"):
        out["weights"] = weights_data(model)
    if case.get("dashboard"):
        figures = set(plt.get_fignums())
        out["dashboard"] = grab(lambda: dashboard_data(monitor))
        for number in set(plt.get_fignums()) - figures:
            plt.close(number)
    return out


keras.utils.set_random_seed(42)
split = data.load_fashion_mnist(n_train=2000, n_val=500)
x_sample, y_sample = split.x_train[:256], split.y_train[:256]
results = []
for case in INPUTS:
    try:
        results.append(run(case, split, x_sample, y_sample))
    except Exception as err:
        message = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
        results.append({"error": message[:1000]})
return results
"""
)

KERNEL_LAYERS = ["hidden_1", "hidden_2", "output"]
NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


# ---------------------------------------------------------------------------
# Cases and the data that comes back


def _case(model, seed, epochs=2, batch_size=128, **extra):
    """A ``monitored_fit`` (or, with ``fits``, several fits with one monitor)."""
    case = {
        "mode": "fit",
        "model": [model[0], model[1] if len(model) > 1 else {}],
        "seed": seed,
        "kwargs": extra.pop("kwargs", {}),
        "fits": extra.pop("fits", [{"epochs": epochs, "batch_size": batch_size}]),
    }
    case.update(extra)
    return case


def _direct(model, seed, loss, epochs=1, **extra):
    """``on_train_begin`` then ``on_epoch_end`` called directly."""
    case = {
        "mode": "direct",
        "model": [model[0], model[1] if len(model) > 1 else {}],
        "seed": seed,
        "loss": loss,
        "epochs": epochs,
    }
    case.update(extra)
    return case


def _describe(case):
    if case["mode"] == "count":
        units = ", ".join(str(u) for u in case["units"])
        what = f"a ReLU model with hidden layers ({units})"
    else:
        name, kwargs = case["model"]
        args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        what = f"models.{name}({args})".replace("[", "(").replace("]", ")")
    what += f" at seed {case['seed']}"
    if case["mode"] == "fit":
        epochs = " then ".join(str(f["epochs"]) for f in case["fits"])
        what += f", fit for {epochs} epoch(s)"
        if case["kwargs"]:
            what += (
                " with TrainingMonitor("
                + ", ".join(f"{k}={v!r}" for k, v in case["kwargs"].items())
                + ")"
            )
    else:
        what += ", on_epoch_end called directly"
    return what


class Outcome:
    """What the kernel sent back for one case, with readable failures."""

    def __init__(self, case, data):
        self.case = case
        self.what = _describe(case)
        assert isinstance(data, dict), f"{self.what}: no result came back"
        assert "error" not in data, f"{self.what}: {data['error']}"
        self.data = data

    def field(self, key, attribute):
        value = self.data.get(key)
        assert isinstance(value, dict), f"{self.what}: {attribute} could not be read"
        assert "error" not in value, f"{self.what}: {attribute}: {value['error']}"
        return value.get("ok")

    @property
    def history(self):
        history = self.field("history", "monitor.history")
        assert isinstance(history, dict), (
            f"{self.what}: monitor.history should be a dict"
        )
        return history

    def entries(self, key):
        """``monitor.history[key]``: a list."""
        history = self.history
        assert key in history, f"{self.what}: monitor.history has no {key!r}"
        value = history[key]
        assert isinstance(value, list), (
            f"{self.what}: monitor.history[{key!r}] should be a list (one per epoch)"
        )
        return value

    def last(self, key):
        entries = self.entries(key)
        assert entries, f"{self.what}: monitor.history[{key!r}] is empty"
        assert isinstance(entries[-1], dict), (
            f"{self.what}: monitor.history[{key!r}][-1] should map layer names "
            "to values"
        )
        return entries[-1]

    @property
    def issues(self):
        """``monitor.issues``: a list of dicts, as issue data."""
        data = self.field("issues", "monitor.issues")
        items = data["items"]
        for item in items:
            assert item.get("dict"), (
                f"{self.what}: every issue should be a dict, not {item.get('repr')}"
            )
        return items

    def kind(self, kind, epoch=None):
        return [
            i
            for i in self.issues
            if i["kind"] == kind and (epoch is None or i["epoch"] == epoch)
        ]

    def layers(self, kind, epoch=None):
        return {_hashable(i["layer"]) for i in self.kind(kind, epoch)}

    @property
    def messages(self):
        return self.data["warnings"]["messages"]

    def warned(self, name):
        """How many warnings name ``name``."""
        return sum(name in message for message in self.messages)

    @property
    def keras_loss(self):
        loss = self.field("keras_loss", "the History of fit")
        assert isinstance(loss, list), f"{self.what}: fit's History has no loss"
        return loss

    @property
    def stop_training(self):
        return self.field("stop_training", "model.stop_training")


def _hashable(value):
    return tuple(_hashable(v) for v in value) if isinstance(value, list) else value


def _run(student, cases):
    results = student.call(SCENARIOS, cases)
    assert isinstance(results, list) and len(results) == len(cases), (
        "the grader's training runs did not complete"
    )
    return [Outcome(case, data) for case, data in zip(cases, results)]


def _number(value, what):
    """A number sent back by the kernel, NaN and Inf included."""
    if isinstance(value, str) and value in NON_FINITE:
        return NON_FINITE[value]
    assert isinstance(value, (int, float)), f"{what} should be a number, not {value!r}"
    return float(value)


def _close(got, want, rtol, atol=0.0, equal_nan=True):
    """``numpy.testing.assert_allclose``'s criterion (NaN equals NaN), or with
    ``equal_nan=False`` that of ``numpy.allclose``."""
    if math.isnan(got) or math.isnan(want):
        return equal_nan and math.isnan(got) and math.isnan(want)
    if math.isinf(got) or math.isinf(want):
        return got == want
    return abs(got - want) <= atol + rtol * abs(want)


def _readable(check):
    """Student data of an unexpected shape fails the check with a message."""

    @functools.wraps(check)
    def wrapper(student):
        try:
            return check(student)
        except (KeyError, IndexError, TypeError, ValueError) as err:
            raise AssertionError(
                "the monitor's recorded data does not have the documented shape "
                f"({type(err).__name__}: {err})"
            ) from None

    return wrapper


# ---------------------------------------------------------------------------
# References, computed here


@functools.lru_cache(maxsize=None)
def _sample():
    import course  # noqa: F401  (quiets TensorFlow's start-up log)
    from course import data

    import keras

    keras.utils.set_random_seed(42)
    split = data.load_fashion_mnist(n_train=2000, n_val=500)
    return split.x_train[:256], split.y_train[:256]


def _trained_model(outcome):
    """The case's model, rebuilt here, with the weights it had after training."""
    import keras
    import numpy as np

    namespace = {}
    exec(MODELS, namespace)
    keras.utils.set_random_seed(outcome.case["seed"])
    model = namespace["build"](outcome.case["model"])
    sent = outcome.data.get("weights")
    assert isinstance(sent, list), f"{outcome.what}: the weights could not be read"
    weights = []
    for item in sent:
        assert item.get("dtype") in ("float32", "float64"), (
            f"{outcome.what}: unexpected weights"
        )
        raw = base64.b64decode(item["data"])
        weights.append(np.frombuffer(raw, dtype=item["dtype"]).reshape(item["shape"]))
    try:
        model.set_weights(weights)
    except ValueError as err:
        raise AssertionError(f"{outcome.what}: unexpected weights ({err})") from None
    return model


def _references(outcome):
    """``{layer: (gradient norm, [mean, std, min, max], dead fraction)}`` of the
    trained model on the sample, in layer order."""
    from course import diagnostics

    model = _trained_model(outcome)
    x, y = _sample()
    norms = diagnostics.kernel_norms_by_layer(diagnostics.gradient_norms(model, x, y))
    outputs = diagnostics.layer_outputs(model, x)
    result = {}
    for name, norm in norms.items():
        w = model.get_layer(name).kernel.numpy()
        stats = [float(w.mean()), float(w.std()), float(w.min()), float(w.max())]
        result[name] = (norm, stats, diagnostics.dead_fraction(outputs[name]))
    return result


def _check_values(outcome, names, zero_dead):
    """The last epoch's norms, stats and dead fractions vs. the references."""
    reference = _references(outcome)
    norms = outcome.last("gradient_norms")
    stats_by_layer = outcome.last("weight_stats")
    dead = outcome.last("dead_fraction")
    for name in names:
        assert name in norms, f"{outcome.what}: no gradient norm for {name}"
        want_norm, want_stats, _ = reference[name]
        got = _number(norms[name], f"the gradient norm of {name}")
        assert _close(got, want_norm, 1e-4), (
            f"{outcome.what}: gradient norm of {name} at the last epoch: "
            f"{got:.6g}, expected {want_norm:.6g}"
        )
        stats = stats_by_layer.get(name)
        assert isinstance(stats, dict), f"{outcome.what}: no weight stats for {name}"
        got_stats = [
            _number(stats.get(k), f"weight_stats[{name!r}][{k!r}]")
            for k in ("mean", "std", "min", "max")
        ]
        assert all(_close(g, w, 1e-4, 1e-7) for g, w in zip(got_stats, want_stats)), (
            f"{outcome.what}: kernel mean/std/min/max of {name}: "
            f"{[f'{v:.6g}' for v in got_stats]}, expected "
            f"{[f'{v:.6g}' for v in want_stats]}"
        )
    for name in names:
        assert name in dead, f"{outcome.what}: no dead fraction for {name}"
        got = _number(dead[name], f"the dead fraction of {name}")
        want = 0.0 if name in zero_dead else reference[name][2]
        assert _close(got, want, 1e-7, 1e-9), (
            f"{outcome.what}: dead fraction of {name}: {got:.6g}, expected {want:.6g}"
        )


# ---------------------------------------------------------------------------
# The checks

HE = ("model_with_init", {"initializer": "he_normal"})


@_readable
def history_complete(student):
    """A healthy He model gets a complete history: every epoch, every layer."""
    (run,) = _run(student, [_case(HE, 0, epochs=3)])
    for key in ("gradient_norms", "dead_fraction", "weight_stats", "loss"):
        assert len(run.entries(key)) == 3, f"history[{key!r}] should have 3 epochs"
    for epoch in range(3):
        for key in ("gradient_norms", "dead_fraction"):
            got = sorted(run.entries(key)[epoch])
            assert got == sorted(KERNEL_LAYERS), (
                f"history[{key!r}][{epoch}] should have the layers "
                f"{sorted(KERNEL_LAYERS)}, not {got}"
            )
        stats = run.entries("weight_stats")[epoch]["hidden_1"]
        assert sorted(stats) == ["max", "mean", "min", "std"], (
            f"history['weight_stats'][{epoch}]['hidden_1'] should have the keys "
            f"mean, std, min, max, not {sorted(stats)}"
        )
    got = [_number(v, "history['loss']") for v in run.entries("loss")]
    want = [_number(v, "fit's loss") for v in run.keras_loss]
    assert len(got) == len(want) and all(
        _close(g, w, 1e-6) for g, w in zip(got, want)
    ), f"history['loss'] {got} differs from the loss fit logged {want}"


@_readable
def healthy_no_issues(student):
    """A healthy model produces no issues."""
    glorot = ("model_with_init", {"initializer": "glorot_uniform", "units": [64, 32]})
    visible, hidden = _run(student, [_case(HE, 0, epochs=2), _case(glorot, 1)])
    for run in (visible, hidden):
        data = run.field("issues", "monitor.issues")
        if run is visible:
            assert data["list"], "monitor.issues should be a list"
        assert data["count"] == 0, (
            f"{run.what}: expected no issues, got {data['items'][:10]}"
        )


def _check_issue_types(run):
    for issue in run.issues:
        assert issue["keys"] == ["epoch", "kind", "layer", "value"], (
            f"{run.what}: an issue has the keys {issue['keys']}, expected "
            "epoch, layer, kind, value"
        )
        assert issue["epoch_int"], f"{run.what}: 'epoch' should be an int: {issue}"
        assert issue["value_float"], f"{run.what}: 'value' should be a float: {issue}"


def _check_warn_once(run, names):
    for name in names:
        n = run.warned(name)
        kinds = {_hashable(i["kind"]) for i in run.issues if i["layer"] == name}
        assert n == len(kinds), (
            f"{run.what}: {n} warnings name {name}, for {len(kinds)} kind(s) of "
            "problem: warn once per (layer, kind)"
        )


@_readable
def dead_relu(student):
    """Dead hidden layers: one issue per epoch and layer, one warning each."""
    deep = ("dead_relu_model", {"units": [64, 32, 16]})
    visible, hidden = _run(
        student,
        [_case(("dead_relu_model",), 0, epochs=2), _case(deep, 1, epochs=3)],
    )
    for run, names, epochs in (
        (visible, ["hidden_1", "hidden_2"], 2),
        (hidden, ["hidden_1", "hidden_2", "hidden_3"], 3),
    ):
        dead = sorted((i["epoch"], i["layer"]) for i in run.kind("dead_neurons"))
        want = [(e, n) for e in range(epochs) for n in names]
        assert dead == want, (
            f"{run.what}: dead_neurons issues at (epoch, layer) {dead}, expected {want}"
        )
        _check_issue_types(run)
        if run is visible:
            for issue in run.kind("dead_neurons"):
                assert issue["value"] == 1.0, (
                    f"{run.what}: the dead fraction of a fully dead layer is 1.0: "
                    f"{issue}"
                )
            fractions = run.entries("dead_fraction")[0]
            assert _number(fractions["hidden_1"], "dead fraction") == 1.0, (
                f"{run.what}: history['dead_fraction'][0]['hidden_1'] should be 1.0"
            )
            assert _number(fractions["output"], "dead fraction") == 0.0, (
                f"{run.what}: history['dead_fraction'][0]['output'] should be 0.0"
            )
        _check_warn_once(run, names)


def _check_stops(run, epochs):
    non_finite = run.kind("non_finite")
    assert None in {_hashable(i["layer"]) for i in non_finite}, (
        f"{run.what}: a non-finite loss should be reported with layer None"
    )
    ran = len(run.keras_loss)
    assert ran < epochs, (
        f"{run.what}: training ran all {ran} epochs; it should stop at the first "
        "non-finite epoch"
    )
    recorded = len(run.entries("loss"))
    assert recorded == ran, (
        f"{run.what}: monitor.history['loss'] has {recorded} epochs, fit ran {ran}"
    )


def _check_non_finite_layers(run, layers, what):
    non_finite = run.kind("non_finite")
    found = {_hashable(i["layer"]) for i in non_finite}
    assert set(layers) <= found, (
        f"{run.what} ({what}): non_finite should be reported for "
        f"{sorted(layers)}; issues: {run.issues[:10]}"
    )
    for issue in non_finite:
        value = issue["value"]
        finite = not (isinstance(value, str) and value in NON_FINITE)
        assert not finite, (
            f"{run.what}: a non_finite issue's value should be the NaN/Inf found: "
            f"{issue}"
        )
    assert run.stop_training, f"{run.what} ({what}): training should be stopped"


@_readable
def exploding(student):
    """A non-finite loss, weight or gradient: the issues and stop_training."""
    small = {"initializer": "glorot_uniform", "units": [32, 16]}
    he_small = {"initializer": "he_normal", "units": [32, 16]}
    cases = [
        _case(("exploding_model",), 0, epochs=5),
        _direct(HE, 0, 0.5, poke=[["hidden_2", [3, 5], "nan"]]),
        _case(
            ("exploding_model", {"units": [64, 64, 64], "learning_rate": 20.0}),
            1,
            epochs=4,
        ),
        _direct(("model_with_init", small), 1, 1.5, poke=[["output", [7, 2], "inf"]]),
        _direct(("model_with_init", he_small), 1, 1.5, nan_column=400),
    ]
    runs = _run(student, cases)
    _check_stops(runs[0], 5)
    _check_non_finite_layers(runs[1], ["hidden_2"], "a NaN in hidden_2's kernel")
    _check_stops(runs[2], 4)
    _check_non_finite_layers(runs[3], ["output"], "an Inf in the output kernel")
    _check_non_finite_layers(
        runs[4], ["hidden_1", "hidden_2", "output"], "a NaN pixel in the sample"
    )


@_readable
def values(student):
    """Recorded norms, weight stats and dead fractions match the references."""
    cases = [
        _case(HE, 3, epochs=2, weights=True),
        *[
            _case(
                (
                    "model_with_init",
                    {
                        "initializer": "glorot_uniform",
                        "units": units,
                        "activation": activation,
                    },
                ),
                4,
                epochs=1,
                weights=True,
            )
            for activation, units in (("relu", [64, 32, 16]), ("tanh", [32]))
        ],
    ]
    visible, *hidden = _run(student, cases)
    _check_values(visible, KERNEL_LAYERS, {"output"})
    got = _number(visible.last("dead_fraction").get("output"), "the dead fraction")
    assert got == 0.0, (
        f"{visible.what}: the dead fraction of output (softmax) should be 0.0, "
        f"not {got}"
    )
    for run in hidden:
        names = list(_references(run))
        got = sorted(run.last("gradient_norms"))
        assert got == sorted(names), (
            f"{run.what}: gradient norms for {got}, expected {sorted(names)}"
        )
        activation = run.case["model"][1]["activation"]
        zero = set(names) if activation != "relu" else {"output"}
        _check_values(run, names, zero)


@_readable
def one_forward_pass(student):
    """At most two forward passes per on_epoch_end, whatever the depth."""
    cases = [
        {"mode": "count", "units": [32, 16], "seed": 0, "loss": 2.3, "epochs": 1},
        {
            "mode": "count",
            "units": [32, 32, 16, 16],
            "seed": 1,
            "loss": 2.3,
            "epochs": 2,
        },
    ]
    visible, hidden = _run(student, cases)
    got = sorted(visible.entries("gradient_norms")[0])
    assert got == sorted(KERNEL_LAYERS), (
        f"{visible.what}: gradient norms for {got}, expected {sorted(KERNEL_LAYERS)}"
    )
    counts = visible.data["counts"]
    assert counts[0] <= 2, f"{counts[0]} forward passes in one on_epoch_end (at most 2)"
    norms = hidden.entries("gradient_norms")
    assert len(norms) == 2, (
        f"{hidden.what}: 2 calls of on_epoch_end recorded {len(norms)} epochs"
    )
    assert len(norms[1]) == 5, (
        f"{hidden.what}: {len(norms[1])} gradient norms for 5 kernel layers"
    )
    counts = hidden.data["counts"]
    assert max(counts) <= 2, (
        f"{hidden.what}: {counts} forward passes per on_epoch_end (at most 2)"
    )


def _numbers(mapping, what):
    assert isinstance(mapping, dict), f"{what} should map layer names to numbers"
    return {name: _number(v, f"{what}[{name!r}]") for name, v in mapping.items()}


@_readable
def thresholds(student):
    """vanishing_ratio, exploding_threshold and dead_threshold are honoured."""
    glorot = (
        "model_with_init",
        {"initializer": "glorot_uniform", "units": [64, 32, 16]},
    )
    visible = [
        ({"vanishing_ratio": 10.0}, "vanishing_gradients"),
        ({"exploding_threshold": 0.0}, "exploding_gradients"),
        ({"dead_threshold": -1.0}, "dead_neurons"),
    ]
    hidden = [
        ({"vanishing_ratio": 1.1}, "vanishing_gradients"),
        ({"exploding_threshold": 0.5}, "exploding_gradients"),
        ({"dead_threshold": 0.05}, "dead_neurons"),
    ]
    cases = [_case(HE, 0, epochs=1, kwargs=kwargs) for kwargs, _ in visible]
    cases += [_case(glorot, 5, epochs=1, kwargs=kwargs) for kwargs, _ in hidden]
    runs = _run(student, cases)
    for run, (_, kind) in zip(runs[:3], visible):
        got = run.layers(kind, epoch=0)
        assert got == set(KERNEL_LAYERS), (
            f"{run.what}: {kind} flagged for {sorted(got, key=str)}, expected "
            f"{KERNEL_LAYERS}"
        )
    for run, (kwargs, kind) in zip(runs[3:], hidden):
        norms = _numbers(run.entries("gradient_norms")[0], "gradient_norms[0]")
        dead = _numbers(run.entries("dead_fraction")[0], "dead_fraction[0]")
        if "vanishing_ratio" in kwargs:
            assert "output" in norms, f"{run.what}: no gradient norm for output"
            expected = {n for n, v in norms.items() if v < 1.1 * norms["output"]}
            shown = norms
        elif "exploding_threshold" in kwargs:
            expected = {n for n, v in norms.items() if v > 0.5}
            shown = norms
        else:
            expected = {n for n, v in dead.items() if v > 0.05}
            shown = dead
        got = run.layers(kind, epoch=0)
        assert got == expected, (
            f"{run.what}: {kind} flagged for {sorted(got, key=str)}, expected "
            f"{sorted(expected)} from the recorded values {shown}"
        )


@_readable
def vanishing(student):
    """Vanishing gradients on the deep sigmoid network, dead units on the
    dead-ReLU one."""
    cases = [
        _case(("deep_sigmoid_model",), 0, epochs=1),
        _case(("dead_relu_model",), 0, epochs=1),
        *[
            _case(
                ("deep_sigmoid_model", {"depth": 6, "units": 32}),
                6,
                epochs=2,
                kwargs={"vanishing_ratio": ratio},
            )
            for ratio in (1e-3, 1e-2)
        ],
        _case(("deep_relu_he_model",), 6, epochs=1),
        _case(("dead_relu_model", {"units": [64, 32, 16]}), 6, epochs=1),
    ]
    runs = _run(student, cases)
    sigmoid, dead = runs[:2]
    norms = _numbers(sigmoid.entries("gradient_norms")[0], "gradient_norms[0]")
    found = sigmoid.layers("vanishing_gradients")
    assert "hidden_1" in found, (
        f"{sigmoid.what}: hidden_1 should have vanishing gradients; issues: "
        f"{sigmoid.issues[:12]}"
    )
    assert "output" in norms, f"{sigmoid.what}: no gradient norm for output"
    expected = {n for n, v in norms.items() if v < 1e-3 * norms["output"]}
    assert found == expected, (
        f"{sigmoid.what}: vanishing_gradients flagged for {sorted(found, key=str)}, "
        f"expected {sorted(expected)} from the recorded norms {norms}"
    )
    pairs = {(_hashable(i["layer"]), _hashable(i["kind"])) for i in dead.issues}
    want = {("hidden_1", "dead_neurons"), ("hidden_2", "dead_neurons")}
    assert pairs == want, (
        f"{dead.what}: issues (layer, kind) {sorted(pairs, key=str)}, expected "
        f"{sorted(want)}"
    )
    for run in runs[2:4]:
        ratio = run.case["kwargs"]["vanishing_ratio"]
        for epoch, entry in enumerate(run.entries("gradient_norms")):
            norms = _numbers(entry, f"gradient_norms[{epoch}]")
            assert "output" in norms, f"{run.what}: no gradient norm for output"
            expected = {n for n, v in norms.items() if v < ratio * norms["output"]}
            found = run.layers("vanishing_gradients", epoch=epoch)
            assert found == expected, (
                f"{run.what}, epoch {epoch}: vanishing_gradients flagged for "
                f"{sorted(found, key=str)}, expected {sorted(expected)} from the "
                f"recorded norms {norms}"
            )
    relu, dead = runs[4:]
    found = relu.kind("vanishing_gradients")
    assert not found, f"{relu.what}: no layer has vanishing gradients: {found[:10]}"
    kinds = {_hashable(i["kind"]) for i in dead.issues}
    assert kinds == {"dead_neurons"}, (
        f"{dead.what}: only dead_neurons expected, got {sorted(kinds, key=str)}"
    )


@_readable
def reset(student):
    """A monitor reused for a second fit starts afresh."""
    cases = [
        _case(
            ("dead_relu_model",),
            0,
            fits=[{"epochs": 2, "batch_size": 128}, {"epochs": 1, "batch_size": 128}],
        ),
        _case(
            ("dead_relu_model", {"units": [32, 16, 8]}),
            7,
            fits=[{"epochs": 1, "batch_size": 256}, {"epochs": 2, "batch_size": 256}],
        ),
    ]
    visible, hidden = _run(student, cases)
    run = visible
    what = f"{run.what} (the second fit)"
    for key in ("loss", "gradient_norms"):
        n = len(run.entries(key))
        assert n == 1, f"{what}: history[{key!r}] has {n} epochs, expected 1"
    epochs = {_hashable(i["epoch"]) for i in run.issues}
    assert epochs == {0}, (
        f"{what}: issues at epochs {sorted(epochs, key=str)}, expected only epoch 0"
    )
    dead = sorted((i["epoch"], i["layer"]) for i in run.kind("dead_neurons"))
    want = [(0, "hidden_1"), (0, "hidden_2")]
    assert dead == want, f"{what}: dead_neurons at {dead}, expected {want}"
    assert run.warned("hidden_1"), f"{what}: the second fit should warn again"
    run = hidden
    what = f"{run.what} (the second fit)"
    for key in ("loss", "dead_fraction", "weight_stats"):
        n = len(run.entries(key))
        assert n == 2, f"{what}: history[{key!r}] has {n} epochs, expected 2"
    epochs = sorted({int(i["epoch"]) for i in run.issues})
    assert epochs == [0, 1], f"{what}: issues at epochs {epochs}, expected [0, 1]"
    n = len(run.kind("dead_neurons"))
    assert n == 6, f"{what}: {n} dead_neurons issues, expected 6"
    assert run.warned("hidden_3"), f"{what}: the second fit should warn again"


def _check_dashboard(run, layers, epochs):
    figure = run.field("dashboard", "plot_dashboard()")
    assert figure["figure"], (
        f"plot_dashboard() should return a matplotlib.figure.Figure, "
        f"not a {figure['type']}"
    )
    axes = figure["axes"]
    assert len(axes) == 4, f"{len(axes)} panels, expected 4"
    for ax in axes:
        assert ax["title"] and ax["xlabel"] and ax["ylabel"], (
            f"every panel needs a title and axis labels: title {ax['title']!r}, "
            f"xlabel {ax['xlabel']!r}, ylabel {ax['ylabel']!r}"
        )
    assert axes[0]["yscale"] == "log", "gradient norms on a log y axis"
    for ax in axes[:3]:
        lines = {line["label"]: line for line in ax["lines"]}
        for name in layers:
            assert name in lines, f"no line labelled {name} in {ax['title']!r}"
            assert len(lines[name]["ydata"]) == epochs, (
                f"{run.what}: the line {name} in {ax['title']!r} has "
                f"{len(lines[name]['ydata'])} points for {epochs} epochs"
            )
    loss = [_number(v, "history['loss']") for v in run.entries("loss")]

    def plots_loss(line):
        ydata = line["ydata"]
        if len(ydata) != epochs or len(loss) != epochs:
            return False
        try:
            ys = [_number(v, "a point") for v in ydata]
        except AssertionError:
            return False
        return all(_close(g, w, 1e-5, 1e-8, False) for g, w in zip(ys, loss))

    assert any(plots_loss(line) for line in axes[3]["lines"]), (
        "the last panel plots the training loss"
    )


@_readable
def dashboard(student):
    """plot_dashboard: four panels, their labels and what they plot."""
    cases = [
        _case(HE, 0, epochs=2, dashboard=True),
        _case(
            ("model_with_init", {"initializer": "he_normal", "units": [32, 16, 8]}),
            8,
            epochs=3,
            dashboard=True,
        ),
    ]
    visible, hidden = _run(student, cases)
    _check_dashboard(visible, KERNEL_LAYERS, 2)
    _check_dashboard(hidden, ["hidden_1", "hidden_2", "hidden_3", "output"], 3)


CHECKS = {
    "test_ex3_history_complete": history_complete,
    "test_ex3_healthy_no_issues": healthy_no_issues,
    "test_ex3_dead_relu": dead_relu,
    "test_ex3_exploding": exploding,
    "test_ex3_values": values,
    "test_ex3_one_forward_pass": one_forward_pass,
    "test_ex3_thresholds": thresholds,
    "test_ex3_vanishing": vanishing,
    "test_ex3_reset": reset,
    "test_ex3_dashboard": dashboard,
}
