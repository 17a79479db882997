"""Trusted checks of exercise 2, ``11_exercise_lr_warmup.ipynb`` (``LRWarmup``).

The kernel fits a tiny model with the student's callback and sends back, per
epoch, the learning rate the optimizer used (read at the epoch's first batch)
and what the callback logged; the expected schedule is computed here from the
task's formula. Each check repeats its cell's visible cases, then hidden ones.
"""

from __future__ import annotations

import math

#: Runs in the student's kernel: fit with ``LRWarmup`` and record the rates.
#: ``INPUTS`` is a list of runs; runs with the same ``"instance"`` share one
#: callback (in order), so reuse is measured as in ``test_ex2_reuse``.
RUN = """
import keras
import numpy as np

class Recorder(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.lrs = []

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 0:
            rate = self.model.optimizer.learning_rate
            self.lrs.append(float(keras.ops.convert_to_numpy(rate)))

rng = np.random.default_rng(0)
x = rng.random((64, 784), dtype="float32")
y = rng.integers(0, 10, size=64)
shared, results = {}, []
for run in INPUTS:
    key = run.get("instance")
    callback = shared.get(key) if key is not None else None
    if callback is None:
        callback = LRWarmup(*run["args"], **run["kwargs"])
        if key is not None:
            shared[key] = callback
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(784,))
    outputs = keras.layers.Dense(10, activation="softmax")(inputs)
    model = keras.Model(inputs, outputs)
    optimizer = getattr(keras.optimizers, run["optimizer"])(
        learning_rate=run["initial_lr"]
    )
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    recorder = Recorder()
    history = model.fit(x, y, epochs=run["epochs"], batch_size=32, verbose=0,
                        callbacks=[callback, recorder])
    logged = history.history.get("learning_rate")
    results.append({
        "lrs": [float(v) for v in recorder.lrs],
        "logged": None if logged is None else [float(v) for v in logged],
    })
return results
"""

#: Runs in the student's kernel: which argument sets raise ValueError.
VALIDATE = """
import keras

outcome = []
for kwargs in INPUTS:
    try:
        made = LRWarmup(**kwargs)
    except ValueError:
        outcome.append("ValueError")
    except Exception as err:
        outcome.append(type(err).__name__)
    else:
        outcome.append("callback" if isinstance(made, keras.callbacks.Callback)
                       else "accepted")
return outcome
"""


def schedule(target_lr, warmup_epochs, decay_rate=1.0, epochs=1):
    """The task's formula: the learning rate of each of ``epochs`` epochs."""
    return [
        target_lr * (e + 1) / warmup_epochs
        if e < warmup_epochs
        else target_lr * decay_rate ** (e - warmup_epochs)
        for e in range(epochs)
    ]


def run(args, epochs, optimizer="SGD", initial_lr=0.01, decay_rate=None, **extra):
    kwargs = {} if decay_rate is None else {"decay_rate": decay_rate}
    return dict(
        args=list(args),
        kwargs=kwargs,
        epochs=epochs,
        optimizer=optimizer,
        initial_lr=initial_lr,
        **extra,
    )


def _expected(spec):
    target, warmup = spec["args"]
    rate = spec["kwargs"].get("decay_rate", 1.0)
    return schedule(target, warmup, rate, spec["epochs"])


def _close(got, want, rtol, what):
    ok = (
        isinstance(got, list)
        and len(got) == len(want)
        and all(
            isinstance(g, float) and math.isclose(g, w, rel_tol=rtol)
            for g, w in zip(got, want)
        )
    )
    assert ok, f"{what}: got {got}, expected {[round(w, 8) for w in want]}"


def _fit(student, runs):
    results = student.call(RUN, runs)
    assert isinstance(results, list) and len(results) == len(runs), (
        "the grader's training runs did not complete"
    )
    for result in results:
        assert isinstance(result, dict), "the grader's training runs did not complete"
    return results


def _schedules(student, runs, rtol=1e-6):
    for spec, result in zip(runs, _fit(student, runs)):
        what = (
            f"LRWarmup{tuple(spec['args'])}"
            + (f" decay_rate={spec['kwargs']['decay_rate']}" if spec["kwargs"] else "")
            + f" with {spec['optimizer']}, {spec['epochs']} epochs"
        )
        _close(result.get("lrs"), _expected(spec), rtol, what)


def validation(student):
    """Invalid arguments raise ValueError; valid ones make a Keras callback."""
    bad = [
        dict(target_lr=0.0, warmup_epochs=3),
        dict(target_lr=0.1, warmup_epochs=0),
        dict(target_lr=0.1, warmup_epochs=2, decay_rate=1.5),
        dict(target_lr=-1e-3, warmup_epochs=2),
        dict(target_lr=0.1, warmup_epochs=-2),
        dict(target_lr=0.1, warmup_epochs=2, decay_rate=0.0),
        dict(target_lr=0.1, warmup_epochs=2, decay_rate=1.0001),
        dict(target_lr=0.1, warmup_epochs=2, decay_rate=-0.5),
    ]
    good = [
        dict(target_lr=0.1, warmup_epochs=1, decay_rate=1.0),
        dict(target_lr=3.0, warmup_epochs=5, decay_rate=0.5, verbose=0),
    ]
    outcome = student.call(VALIDATE, bad + good)
    assert isinstance(outcome, list) and len(outcome) == len(bad + good)
    for kwargs, got in zip(bad, outcome):
        assert got == "ValueError", f"LRWarmup(**{kwargs}) should raise ValueError"
    for kwargs, got in zip(good, outcome[len(bad) :]):
        assert got == "callback", (
            f"LRWarmup(**{kwargs}) should make a keras.callbacks.Callback ({got})"
        )


def warmup_sgd(student):
    """With SGD the rate ramps up linearly, then stays at target_lr."""
    _schedules(
        student,
        [
            run((0.1, 4), 6, initial_lr=1.0),
            run((0.3, 3), 7, initial_lr=0.01),
            run((0.05, 1), 3, initial_lr=0.5),
        ],
    )


def warmup_adam(student):
    """The same schedule drives Adam and RMSprop."""
    _schedules(
        student,
        [
            run((1e-3, 2), 3, optimizer="Adam", initial_lr=0.5),
            run((2e-3, 5), 6, optimizer="RMSprop", initial_lr=0.1),
        ],
    )


def decay(student):
    """After the warmup the rate decays by decay_rate per epoch."""
    _schedules(
        student,
        [
            run((0.2, 2), 4, decay_rate=0.5),
            run((1e-2, 3), 7, optimizer="Adam", initial_lr=1e-3, decay_rate=0.9),
        ],
        rtol=1e-5,
    )


def logs(student):
    """Each epoch's rate is published as logs["learning_rate"]: the task's
    schedule in the visible case, and the rate the optimizer really used."""
    runs = [run((0.1, 2), 3), run((0.4, 4), 6, decay_rate=0.5)]
    results = _fit(student, runs)
    for result in results:
        assert result.get("logged") is not None, "logs['learning_rate'] is missing"
    _close(results[0]["logged"], _expected(runs[0]), 1e-6, "logs['learning_rate']")
    used = results[1].get("lrs")
    assert isinstance(used, list) and all(isinstance(v, float) for v in used)
    _close(
        results[1]["logged"],
        used,
        1e-6,
        "logs['learning_rate'] vs. the rate the optimizer used",
    )


def reuse(student):
    """A reused instance gives every fit the schedule a new instance gives
    (whatever that schedule is: the other tests judge the schedule itself)."""
    runs = [
        run((0.1, 2), 3),
        run((0.1, 2), 3, instance="a"),
        run((0.1, 2), 3, instance="a"),
        run((0.3, 3), 5, optimizer="Adam", decay_rate=0.5),
        *[
            run((0.3, 3), epochs, optimizer="Adam", decay_rate=0.5, instance="b")
            for epochs in (5, 2, 5)
        ],
    ]
    results = _fit(student, runs)
    fresh = {0: results[0].get("lrs"), 3: results[3].get("lrs")}
    for value in fresh.values():
        assert isinstance(value, list) and all(isinstance(v, float) for v in value)
    for number, index in enumerate((1, 2, 4, 5, 6), 1):
        spec, want = runs[index], fresh[0 if index < 3 else 3]
        _close(
            results[index].get("lrs"),
            want[: spec["epochs"]],
            1e-6,
            f"fit {number} of a reused LRWarmup{tuple(spec['args'])} vs. a new one",
        )


CHECKS = {
    "test_ex2_validation": validation,
    "test_ex2_warmup_schedule_sgd": warmup_sgd,
    "test_ex2_warmup_schedule_adam": warmup_adam,
    "test_ex2_decay": decay,
    "test_ex2_logs": logs,
    "test_ex2_reuse": reuse,
}
