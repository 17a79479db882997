"""Lesson 01 (common problems, dead neurons): the claims its text makes, from its
outputs.

The first part reads the executed notebook (``tests/lesson_outputs.py``); the
second tests the helpers the lesson introduced (``course.diagnostics``'s
``relu_dead_units`` and ``train_batch_losses``, ``course.plots``'s
``plot_loss_curves`` and ``plot_unit_activity``).
"""

from __future__ import annotations

from course import diagnostics, models, plots

import math
import re

import keras
import numpy as np
import pytest

from tests.lesson_outputs import Lesson

NAME = "01_common_problems_and_dead_neurons.ipynb"
N = r"([-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)"  # a printed number
LN10 = math.log(10)


@pytest.fixture(scope="module")
def lesson():
    return Lesson(NAME)


def _rows(lesson, tag, pattern):
    """Every line of the cell's text that matches ``pattern``, as tuples."""
    return re.findall(pattern, lesson.text(tag), flags=re.MULTILINE)


# --- the broken model ---------------------------------------------------------


def _series(lesson, key):
    """The per-epoch values printed on the line that starts with ``key``."""
    line = re.search(rf"^{key}\s+(.*)$", lesson.text("claim-dead-training"), re.M)
    return [float(v) for v in line[1].split()]


def test_the_dead_model_stays_at_ln10_and_below_chance(lesson):
    losses, accs = _series(lesson, "loss"), _series(lesson, "val_accuracy")
    assert len(losses) == 3 and all(abs(v - LN10) < 1e-3 for v in losses)
    assert all(v < 0.1 for v in accs), "the text says: below chance"
    assert lesson.number("claim-dead-training", r"ln 10 = " + N) == pytest.approx(
        LN10, abs=1e-4
    )


def test_the_dead_model_predicts_one_class_whose_share_is_its_accuracy(lesson):
    rows = _rows(
        lesson,
        "claim-dead-predictions",
        r"predicts '(.+?)' for (\d+) of (\d+) images; share .* set " + N,
    )
    assert len(rows) == 1, "one class for every image"
    _, n, total, share = rows[0]
    assert n == total == "2000"
    acc = _series(lesson, "val_accuracy")[-1]
    assert float(share) == pytest.approx(acc, abs=1e-3)
    low = lesson.number("claim-dead-predictions", r"range from " + N)
    high = lesson.number("claim-dead-predictions", r"to " + N)
    assert low == pytest.approx(0.1, abs=2e-3) and high == pytest.approx(0.1, abs=2e-3)


def test_every_hidden_unit_is_dead_and_the_output_layer_is_not_listed(lesson):
    rows = _rows(
        lesson, "claim-dead-units", r"^(\w+)\s+dead units\s+(\d+) of (\d+)\s+\(" + N
    )
    assert [r[0] for r in rows] == ["hidden_1", "hidden_2"], "no softmax layer"
    for _, dead, units, fraction in rows:
        assert dead == units and float(fraction) == 1.0


def test_every_kernel_gradient_of_the_dead_model_is_exactly_zero(lesson):
    rows = _rows(
        lesson,
        "claim-dead-gradients",
        r"^(\w+)\s+kernel gradient norm " + N + r"\s+bias gradient norm " + N,
    )
    norms = {name: (float(k), float(b)) for name, k, b in rows}
    assert list(norms) == ["hidden_1", "hidden_2", "output"]
    assert all(k == 0.0 for k, _ in norms.values()), "the output kernel's too"
    assert norms["hidden_1"][1] == norms["hidden_2"][1] == 0.0
    assert norms["output"][1] > 0, "only the output bias gets a gradient"
    floor = lesson.number("claim-dead-gradients", r"frequencies\): " + N)
    assert floor == pytest.approx(LN10, abs=0.01)


# --- one change at a time ------------------------------------------------------

CONTROL = (
    r"^([abcd])\s+(constant -1|he_normal)\s+(\S+)\s+" + N + r"\s+" + N + r"\s+" + N
    + r"\s+" + N + r"\s+" + N + r"\s+" + N + r"\s+(\d+)/128\s+(\d+)/64"
)


@pytest.fixture(scope="module")
def controls(lesson):
    rows = _rows(lesson, "claim-controls", CONTROL)
    out = {}
    for run, init, lr, grad, l1, _, l3, vloss, vacc, d1, d2 in rows:
        out[run] = dict(
            init=init, lr=float(lr), grad=float(grad), loss1=float(l1),
            loss3=float(l3), val_loss=float(vloss), val_acc=float(vacc),
            dead1=int(d1), dead2=int(d2),
        )
    assert list(out) == ["a", "b", "c", "d"]
    return out


def test_each_control_run_changes_one_setting(controls):
    assert (controls["a"]["init"], controls["a"]["lr"]) == ("constant -1", 1e-5)
    assert (controls["b"]["init"], controls["b"]["lr"]) == ("constant -1", 0.1)
    assert (controls["c"]["init"], controls["c"]["lr"]) == ("he_normal", 1e-5)
    assert (controls["d"]["init"], controls["d"]["lr"]) == ("he_normal", 0.1)


def test_a_larger_learning_rate_alone_does_not_help_the_dead_model(controls):
    for run in "ab":
        r = controls[run]
        assert r["grad"] == 0.0
        assert abs(r["loss3"] - LN10) < 5e-3 and abs(r["val_loss"] - LN10) < 5e-3
        assert r["val_acc"] < 0.1
        assert (r["dead1"], r["dead2"]) == (128, 64)


def test_the_initialisation_alone_revives_the_units_but_learns_too_slowly(controls):
    c = controls["c"]
    assert c["grad"] > 0.1 and (c["dead1"], c["dead2"]) == (0, 0)
    assert c["loss1"] > LN10, "its random initial predictions are not uniform"
    assert 0 < c["loss1"] - c["loss3"] < 0.05
    assert c["val_acc"] < 0.15


def test_fixing_both_learns(controls):
    d = controls["d"]
    assert d["val_acc"] > 0.7
    assert d["grad"] == controls["c"]["grad"], "c and d start from the same weights"


def test_a_few_units_die_during_healthy_training(lesson, controls):
    rows = _rows(
        lesson,
        "claim-healthy-dead",
        r"^(hidden_\d)\s+(\d+)/(\d+)\s+(\d+)/\d+\s+(\d+)/\d+\s+" + N,
    )
    assert [r[0] for r in rows] == ["hidden_1", "hidden_2"]
    by = {r[0]: [int(v) for v in r[1:5]] + [float(r[5])] for r in rows}
    assert all(by[n][0] == 0 for n in by), "none dead at initialisation"
    dead_after = sum(by[n][2] for n in by)
    assert 1 <= dead_after <= 0.1 * (128 + 64), "a few, not a dead layer"
    assert by["hidden_2"][2] == controls["d"]["dead2"]
    assert all(by[n][3] == by[n][2] for n in by), "the same count on training images"
    assert all(0.4 <= by[n][4] <= 0.5 for n in by), "about 45 % zero outputs"


# --- learning rates and capacity ----------------------------------------------

SWEEP = (
    r"^(128-64, lr \S+|2 units, lr \S+)\s+" + N + r"\s+" + N + r" ± " + N + r"\s+"
    + N + r"\s+" + N + r"\s+" + N + r"\s+" + N + r"\s+(\d+)/(\d+)(?:\s+(\d+)/(\d+))?"
)


@pytest.fixture(scope="module")
def sweep(lesson):
    out = {}
    for row in _rows(lesson, "claim-sweep", SWEEP):
        label, first, mean, std, peak, train, vloss, vacc, d1, u1, d2, u2 = row
        out[label] = dict(
            first=float(first), mean=float(mean), std=float(std), peak=float(peak),
            train=float(train), val_loss=float(vloss), val_acc=float(vacc),
            dead1=int(d1) / int(u1), dead2=int(d2) / int(u2) if d2 else None,
            dead1_count=int(d1),
        )
    assert len(out) == 5, out
    return out


def test_too_small_a_learning_rate_learns_slowly(sweep):
    slow, good = sweep["128-64, lr 0.001"], sweep["128-64, lr 0.1"]
    assert slow["mean"] > 3 * good["mean"]
    assert slow["val_acc"] < good["val_acc"] - 0.2
    assert slow["dead1"] == slow["dead2"] == 0


def test_too_large_a_learning_rate_jumps_and_kills_units(sweep):
    large, good = sweep["128-64, lr 0.5"], sweep["128-64, lr 0.1"]
    assert large["peak"] > 1.5 * good["peak"]
    assert large["std"] > good["std"]
    assert 0.15 <= large["dead1"] <= 0.35, "about a quarter of hidden_1"
    assert good["dead1"] == 0
    assert abs(large["val_acc"] - good["val_acc"]) < 0.03, "no real difference"


def test_far_too_large_a_learning_rate_ends_like_the_dead_model(sweep):
    huge = sweep["128-64, lr 1.0"]
    assert huge["first"] > 1e3
    assert abs(huge["val_loss"] - LN10) < 0.01 and huge["val_acc"] < 0.15
    assert huge["dead1"] >= 0.8 and huge["dead2"] == 1.0


def test_two_hidden_units_underfit(sweep):
    small, good = sweep["2 units, lr 0.1"], sweep["128-64, lr 0.1"]
    assert small["train"] > 2 * good["train"]
    assert abs(small["train"] - small["val_loss"]) < 0.05, "no train-val gap"
    assert good["val_loss"] - good["train"] > small["val_loss"] - small["train"]
    assert small["val_acc"] < 0.5


def test_unit_activity_separates_sparsity_from_death(lesson):
    rows = _rows(
        lesson,
        "claim-activity-figure",
        r"^(hidden_\d), (lr \S+): (\d+) of (\d+) units dead, (\d+) active .* "
        r"active " + N,
    )
    by = {(r[0], r[1]): (int(r[2]), int(r[4]), float(r[5])) for r in rows}
    assert len(by) == 4
    assert by[("hidden_1", "lr 0.1")][0] == 0
    assert by[("hidden_1", "lr 0.1")][2] > 0.3
    dead, near, median = by[("hidden_1", "lr 0.5")]
    assert dead + near > 128 / 2, "most of the first layer dead or nearly"
    assert median < 0.05


def test_the_figures_are_there(lesson):
    for tag in ("claim-lr-figure", "claim-capacity-figure", "claim-activity-figure"):
        assert lesson.has_image(tag), tag


def test_the_markdown_quotes_the_printed_numbers(lesson, controls, sweep):
    text = lesson.markdown()
    quoted = [
        f"{controls['b']['loss1']:.4f}", f"{controls['b']['loss3']:.4f}",
        f"{controls['c']['loss1']:.4f}", f"{controls['c']['loss3']:.4f}",
        f"{controls['c']['val_acc']:.3f}", f"{controls['d']['val_acc']:.3f}",
        f"{sweep['128-64, lr 0.001']['mean']:.3f}",
        f"{sweep['128-64, lr 0.1']['mean']:.3f}",
        f"{sweep['128-64, lr 0.5']['peak']:.3f}",
        f"{sweep['128-64, lr 0.1']['peak']:.3f}",
        f"{sweep['128-64, lr 0.5']['val_acc']:.3f}",
        f"{sweep['128-64, lr 0.1']['val_acc']:.3f}",
        f"{sweep['128-64, lr 0.5']['dead1_count']} of the 128",
        f"{sweep['128-64, lr 1.0']['dead1_count']}",
        f"{sweep['2 units, lr 0.1']['train']:.3f}",
        f"{sweep['2 units, lr 0.1']['val_loss']:.3f}",
        f"{sweep['2 units, lr 0.1']['val_acc']:.3f}",
    ]
    missing = [q for q in quoted if q not in text]
    assert not missing, f"the text no longer quotes {missing}"


def test_the_lesson_never_touches_the_test_set(lesson):
    code = "\n".join(c.source for c in lesson.nb.cells if c.cell_type == "code")
    uses = re.findall(r"ds\.[xy]_test\b", code)
    assert uses == ["ds.x_test"], "only its shape is printed"
    assert "ds.x_test.shape" in code


def test_the_orientation(lesson):
    first = lesson.nb.cells[0].source
    assert "Prerequisites:" in first and re.search(r"Time:\*\* about \d+ min", first)
    assert "03_vanishing_and_exploding_gradients.ipynb" in lesson.nb.cells[-1].source


# --- the helpers the lesson introduced -----------------------------------------


def _two_layer(kernel=-1.0):
    inputs = keras.Input(shape=(4,))
    h = keras.layers.Dense(
        3, activation="relu", name="hidden",
        kernel_initializer=keras.initializers.Constant(kernel),
    )(inputs)
    out = keras.layers.Dense(2, activation="softmax", name="output")(h)
    return keras.Model(inputs, out)


def test_relu_dead_units_counts_relu_layers_only():
    x = np.abs(np.random.default_rng(0).normal(size=(20, 4))).astype("float32")
    dead = diagnostics.relu_dead_units(_two_layer(-1.0), x)
    assert list(dead) == ["hidden"], "the softmax layer is left out"
    assert dead["hidden"] == {
        "units": 3, "dead": 3, "dead_fraction": 1.0, "zero_fraction": 1.0
    }
    alive = diagnostics.relu_dead_units(_two_layer(1.0), x)["hidden"]
    assert alive["dead"] == 0 and alive["zero_fraction"] == 0.0


def test_relu_dead_units_agrees_with_activation_stats(tiny_data):
    x, _ = tiny_data
    model = models.model_with_init("he_normal")
    stats = diagnostics.activation_stats(model, x)
    dead = diagnostics.relu_dead_units(model, x)
    assert list(dead) == ["hidden_1", "hidden_2"]
    for name, s in dead.items():
        assert s["dead_fraction"] == stats[name]["dead_fraction"]
        assert s["dead"] == round(s["dead_fraction"] * s["units"])


def test_train_batch_losses_trains_and_returns_one_loss_per_step(tiny_data):
    x, y = tiny_data
    model = models.model_with_init("he_normal")
    before = [w.copy() for w in model.get_weights()]
    losses = diagnostics.train_batch_losses(model, x, y, steps=30, batch_size=64)
    assert losses.shape == (30,) and np.all(np.isfinite(losses))
    assert losses[-5:].mean() < losses[:5].mean(), "the model learns"
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_train_batch_losses_is_reproducible(tiny_data):
    x, y = tiny_data
    runs = []
    for _ in range(2):
        keras.utils.set_random_seed(0)
        model = models.model_with_init("he_normal")
        runs.append(diagnostics.train_batch_losses(model, x, y, steps=10, seed=3))
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-5)


def test_plot_loss_curves_labels_everything():
    curves = {"a": np.linspace(2, 1, 50), "b": np.linspace(2, 0.5, 50)}
    fig = plots.plot_loss_curves(curves, title="T", ylim=(0, 3), colors={"b": "red"})
    ax = fig.axes[0]
    assert ax.get_title() == "T" and "step" in ax.get_xlabel()
    assert "loss" in ax.get_ylabel() and ax.get_ylim() == (0, 3)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["a", "b"]
    solid = [ln for ln in ax.get_lines() if ln.get_label() == "b"][0]
    assert solid.get_color() == "red"


def test_plot_unit_activity_shows_dead_units_in_red():
    a = np.zeros((10, 4))
    a[:5, 1] = 1.0  # active on half the inputs
    a[:, 2] = 1.0  # always active; units 0 and 3 are dead
    fig = plots.plot_unit_activity({"layer": a}, title="T")
    ax = fig.axes[0]
    assert fig._suptitle.get_text() == "T" and ax.get_ylabel() == "number of units"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == "dead: 2 of 4"
