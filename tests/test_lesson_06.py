"""Lesson 06 (remedies for overfitting): the claims its text makes, from its outputs.

The first part reads the executed notebook (``tests/lesson_outputs.py``); the
second tests the helpers the lesson introduced (``course.regularization``'s
``DataLossMonitor``, ``data_loss_and_accuracy``, ``train_seeds`` and
``summarize_runs``; ``course.plots``'s ``plot_overfitting_curves`` and
``plot_gap_by_epoch``).
"""

from __future__ import annotations

from course import plots
from course.regularization import (
    DATA_KEYS,
    DataLossMonitor,
    SeedRuns,
    data_loss_and_accuracy,
    summarize_runs,
    train_seeds,
)

import re
import warnings

import keras
import numpy as np
import pytest

from tests.lesson_outputs import Lesson

NAME = "06_remedies_for_overfitting.ipynb"
N = r"([-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)"  # a printed number
MS = rf"{N} ± {N}"  # mean ± standard deviation
COLUMNS = ("val_loss", "best_val_loss", "val_accuracy", "gap", "acc_gap")
REMEDIES = ("dropout 0.5", "L2 1e-3", "AdamW 1.0", "early stopping", "augmentation")


@pytest.fixture(scope="module")
def lesson():
    return Lesson(NAME)


def _report(lesson, tag):
    """{run: {column: (mean, sd)}} from a table that ``report`` printed."""
    rows = {}
    for line in lesson.text(tag).splitlines():
        m = re.match(rf"^(\S.*?)\s{{2,}}{'  +'.join([MS] * 5)}$", line)
        if m:
            values = [float(v) for v in m.groups()[1:]]
            rows[m[1].strip()] = {
                col: (values[2 * i], values[2 * i + 1]) for i, col in enumerate(COLUMNS)
            }
    return rows


@pytest.fixture(scope="module")
def summary(lesson):
    rows = _report(lesson, "claim-summary")
    assert set(rows) == {"baseline", *REMEDIES}, lesson.text("claim-summary")
    return rows


@pytest.fixture(scope="module")
def runs(lesson):
    """{(run, seed): (epochs, val loss, lowest, best epoch, val acc, train loss,
    gap)} from the table of all runs."""
    found = {}
    pattern = (
        rf"^(.+?)\s+(\d)\s+(\d+)\s+{N}\s+{N} \(\s*(\d+)\)\s+{N}\s+{N}\s+{N}\s+{N}$"
    )
    for line in lesson.text("claim-all-runs").splitlines():
        m = re.match(pattern, line)
        if m:
            found[(m[1].strip(), int(m[2]))] = tuple(float(v) for v in m.groups()[2:9])
    assert len(found) == 18, lesson.text("claim-all-runs")
    return found


def _mean(summary, run, column):
    return summary[run][column][0]


# --- the baseline overfits -------------------------------------------------------


def test_the_data_are_small_subsets_of_train_and_validation(lesson):
    text = lesson.text("claim-data")
    assert "training (1000, 784) validation (2000, 784)" in text


def test_the_baseline_overfits(lesson, summary, runs):
    for seed in (0, 1, 2):
        _, val, lowest, best, _, train, gap = runs[("baseline", seed)]
        assert val > lowest + 0.03, "the validation loss rises after its minimum"
        assert 5 <= best < 20
        assert gap > 0.3 and train < 0.2
    rows = re.findall(rf"^\d\s+.*?{N}\s+{N}$", lesson.text("claim-baseline"), re.M)
    assert len(rows) == 3
    assert all(float(t) > float(v) + 0.1 for t, v in rows), "train acc >> val acc"
    assert lesson.has_image("claim-baseline-figure")
    assert lesson.has_image("claim-gap-figure")


# --- each remedy, against the same baseline ---------------------------------------


def test_every_remedy_narrows_the_gap(summary):
    base = _mean(summary, "baseline", "gap")
    for remedy in REMEDIES:
        assert _mean(summary, remedy, "gap") < base - 0.04, remedy


def test_no_remedy_beats_the_baselines_best_epoch_by_much(summary):
    best = _mean(summary, "baseline", "best_val_loss")
    for remedy in REMEDIES:
        assert _mean(summary, remedy, "best_val_loss") > best - 0.02, remedy


def test_three_remedies_lower_the_final_validation_loss_in_every_seed(runs):
    for remedy in ("dropout 0.5", "AdamW 1.0", "early stopping"):
        for seed in (0, 1, 2):
            assert runs[(remedy, seed)][1] < runs[("baseline", seed)][1] - 0.02


def test_dropout_narrows_the_gap_by_raising_the_training_loss(lesson, summary, runs):
    gap = _mean(summary, "dropout 0.5", "gap")
    assert gap < 0.5 * _mean(summary, "baseline", "gap")
    for seed in (0, 1, 2):
        assert runs[("dropout 0.5", seed)][3] == 20, "still improving at the end"
        assert runs[("dropout 0.5", seed)][5] > runs[("baseline", seed)][5] + 0.15
    logged = lesson.numbers("claim-dropout", rf"logged by fit {N}")
    measured = lesson.numbers("claim-dropout", rf"inference mode {N}")
    assert abs(logged[0] - measured[0]) < 0.02, "baseline: the two agree"
    assert logged[1] > measured[1] + 0.1, "dropout: training mode hides the fit"
    assert abs(logged[1] - _mean(summary, "dropout 0.5", "val_loss")) < 0.02


def test_the_logged_loss_is_data_loss_plus_penalty(lesson):
    tag = "claim-penalty"
    listed = lesson.number(tag, rf"sum\(model.losses\) {N}")
    by_hand = lesson.number(tag, rf"squared kernel weights {N}")
    assert listed == pytest.approx(by_hand, abs=1e-4)
    parts = re.findall(
        rf"compute_loss {N} = data loss {N} \+ penalty {N}", lesson.text(tag)
    )
    assert len(parts) == 2
    for total, data_loss, penalty in parts:
        assert float(penalty) == pytest.approx(listed, abs=2e-4)
        assert float(total) == pytest.approx(float(data_loss) + listed, abs=2e-4)
    logged = lesson.number(tag, rf"fit logged loss {N}")
    train_data = lesson.number(tag, rf"training data loss {N}")
    assert logged > 2 * train_data and listed > train_data


def test_l2_at_1e_3_changes_little(summary):
    (base_val, base_sd), (l2_val, l2_sd) = (
        summary[run]["val_loss"] for run in ("baseline", "L2 1e-3")
    )
    assert abs(l2_val - base_val) < base_sd, "within the baseline's spread"
    lowest = [_mean(summary, run, "best_val_loss") for run in ("baseline", "L2 1e-3")]
    assert abs(lowest[1] - lowest[0]) < 0.01
    gaps = [_mean(summary, run, "gap") for run in ("baseline", "L2 1e-3")]
    assert 0.02 < gaps[0] - gaps[1] < 0.1


def test_the_default_weight_decay_does_nothing_in_this_many_steps(lesson):
    factors = lesson.numbers("claim-decay-factor", rf"steps = {N}")
    assert factors == pytest.approx([0.9987, 0.7260], abs=1e-4)


def test_weight_decay_narrows_the_gap_more_than_l2(lesson, summary):
    assert _mean(summary, "AdamW 1.0", "gap") < _mean(summary, "L2 1e-3", "gap") - 0.03
    norms = {
        run: [float(v) for v in re.findall(N, rest)]
        for run, rest in re.findall(
            r"^(\S+(?: \S+)?)\s+kernel norms after training \(seed 2\): (.*)$",
            lesson.text("claim-adamw"),
            re.M,
        )
    }
    assert set(norms) == {"baseline", "L2 1e-3", "AdamW 1.0"}
    assert norms["L2 1e-3"][0] < norms["baseline"][0] - 3
    assert norms["AdamW 1.0"][0] < norms["baseline"][0] - 3


def test_early_stopping_restores_the_best_epoch(lesson, summary):
    text = lesson.text("claim-early")
    rows = re.findall(
        rf"^(\d)\s+epoch (\d+)\s+epoch (\d+)\s+{N}\s+{N} \|\s+{N} \(\s*(\d+)\)\s+{N}$",
        text,
        re.M,
    )
    assert len(rows) == 3, text
    for _, stopped, restored, val, last, lowest, _, final in rows:
        assert int(stopped) - int(restored) == 3, "patience 3"
        assert int(stopped) < 20
        assert float(val) <= float(last) and float(val) < float(final) - 0.03
        assert float(val) >= float(lowest) - 1e-9, "it never beats the full run"
    assert lesson.number("claim-early", rf"same epoch: {N}") < 1e-6
    restored = lesson.number("claim-early", rf"model after fit: val loss {N}")
    assert restored == pytest.approx(float(rows[2][3]), abs=1e-3)
    assert lesson.number("claim-early", r"best_epoch (\d+)") == int(rows[2][2])
    early = _report(lesson, "claim-early-report")["early stopping"]
    assert early == summary["early stopping"]


def test_augmentation_is_off_at_inference_and_underfits_here(lesson, summary, runs):
    assert lesson.number("claim-augmented-images", rf"largest \|change\| {N}") == 0
    assert lesson.number("claim-augmented-images", rf"per pixel {N}") > 0.01
    assert lesson.has_image("claim-augmented-images")
    aug, base = summary["augmentation"], summary["baseline"]
    assert aug["gap"][0] == min(row["gap"][0] for row in summary.values())
    assert aug["best_val_loss"][0] > base["best_val_loss"][0]
    for seed in (0, 1, 2):
        assert runs[("augmentation", seed)][4] < runs[("baseline", seed)][4]
        assert runs[("augmentation", seed)][5] > 0.3


def test_the_summary_matches_the_per_section_tables(lesson, summary):
    for tag, run in (
        ("claim-baseline", "baseline"),
        ("claim-dropout", "dropout 0.5"),
        ("claim-l2", "L2 1e-3"),
        ("claim-adamw", "AdamW 1.0"),
        ("claim-augmentation", "augmentation"),
    ):
        assert _report(lesson, tag)[run] == summary[run]


# --- the helpers ----------------------------------------------------------------


def _mlp(dropout=0.0):
    inputs = keras.Input(shape=(784,))
    x = keras.layers.Dense(16, activation="relu")(inputs)
    if dropout:
        x = keras.layers.Dropout(dropout)(x)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))


def test_data_loss_and_accuracy_match_keras(tiny_data):
    x, y = tiny_data
    model = _mlp()
    probs = model.predict_on_batch(x)
    expected = keras.losses.SparseCategoricalCrossentropy()(y, probs)
    loss, accuracy = data_loss_and_accuracy(model, x, y)
    assert loss == pytest.approx(float(expected), rel=1e-5)
    assert accuracy == pytest.approx(np.mean(np.argmax(probs, 1) == y))
    assert data_loss_and_accuracy(model, x, y, batch_size=100) == pytest.approx(
        (loss, accuracy), rel=1e-5
    )


def test_the_monitor_logs_data_losses_that_early_stopping_can_watch(tiny_data):
    x, y = tiny_data
    model = _mlp()
    model.compile("adam", "sparse_categorical_crossentropy")
    monitor = DataLossMonitor((x[:400], y[:400]), (x[400:], y[400:]))
    stopper = keras.callbacks.EarlyStopping(
        monitor="val_data_loss", mode="min", patience=1, restore_best_weights=True
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = model.fit(
            x[:400], y[:400], epochs=3, callbacks=[monitor, stopper], verbose=0
        )
    for key in DATA_KEYS:
        assert len(history.history[key]) == len(history.history["loss"])
        assert monitor.history[key] == history.history[key]
    last = data_loss_and_accuracy(model, x[400:], y[400:])[0]
    assert last == pytest.approx(min(history.history["val_data_loss"]), rel=1e-5)
    model.fit(x[:400], y[:400], epochs=1, callbacks=[monitor], verbose=0)
    assert len(monitor.history["val_data_loss"]) == 1, "reset in on_train_begin"
    with pytest.raises(ValueError, match="batch_size"):
        DataLossMonitor((x, y), (x, y), batch_size=0)


def test_train_seeds_is_reproducible_and_independent_of_earlier_runs(tiny_data):
    x, y = tiny_data
    monitor = DataLossMonitor((x, y), (x, y))

    def build():
        return _mlp(dropout=0.5)

    both = train_seeds(build, x, y, monitor, seeds=(0, 1), epochs=2, progress=False)
    alone = train_seeds(build, x, y, monitor, seeds=(1,), epochs=2, progress=False)
    assert isinstance(both, SeedRuns) and len(both.histories) == 2
    assert both.histories[1]["val_data_loss"] == pytest.approx(
        alone.histories[0]["val_data_loss"], rel=1e-6
    )
    assert both.histories[0]["val_data_loss"] != both.histories[1]["val_data_loss"]
    assert isinstance(both.model, keras.Model)


def test_summarize_runs_reads_the_right_epochs():
    history = {
        "train_data_loss": [1.0, 0.5, 0.2],
        "val_data_loss": [1.1, 0.7, 0.9],
        "train_data_accuracy": [0.5, 0.8, 0.95],
        "val_data_accuracy": [0.5, 0.7, 0.72],
    }
    last = summarize_runs([history])
    assert last["gap"][0] == pytest.approx(0.7)
    assert last["acc_gap"][0] == pytest.approx(0.23)
    assert last["best_val_loss"][0] == 0.7 and last["best_epoch"][0] == 2
    assert last["epochs"][0] == 3
    restored = summarize_runs([history], restored_epochs=[1])
    assert restored["val_loss"][0] == 0.7 and restored["gap"][0] == pytest.approx(0.2)


def test_the_new_plots_are_labelled():
    rng = np.random.default_rng(0)

    def history(n):
        return {
            "train_data_loss": list(np.linspace(1, 0.2, n)),
            "val_data_loss": list(np.linspace(1, 0.6, n) + rng.normal(0, 0.01, n)),
            "train_data_accuracy": list(np.linspace(0.5, 0.95, n)),
            "val_data_accuracy": list(np.linspace(0.5, 0.8, n)),
        }

    fig = plots.plot_overfitting_curves(history(6), title="t")
    assert fig.get_suptitle() == "t"
    for ax in fig.axes:
        assert ax.get_xlabel() == "epoch" and ax.get_ylabel()
        assert ax.get_legend() is not None
    results = {"baseline": [history(6), history(6)], "remedy": [history(6), history(4)]}
    fig = plots.plot_gap_by_epoch(results)
    assert len(fig.axes) == 2
    assert "nats" in fig.axes[0].get_ylabel() and "nats" in fig.axes[1].get_ylabel()
    assert fig.axes[1].get_xlabel() == "epoch"
    assert all(ax.get_legend() is not None for ax in fig.axes)
