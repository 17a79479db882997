"""Lesson 07 (normalisation, residuals, stable losses): its claims, on its outputs.

Each test reads the numbers a tagged cell of the executed notebook printed
(``tests/lesson_outputs.py``) and checks a claim the markdown makes about them,
with tolerances. The last tests cover the helpers the lesson introduced.
"""

from __future__ import annotations

from course import architectures, models, plots

import re

import keras
import numpy as np
import pytest
from matplotlib.figure import Figure

from tests.lesson_outputs import Lesson

NAME = "07_normalization_residuals_and_stable_losses.ipynb"
NUM = r"([-+\d.e]+|nan|inf)"
COLUMNS = ("control", "BN, inference", "BN, training", "residual")


@pytest.fixture(scope="module")
def lesson():
    return Lesson(NAME)


def _values(text: str) -> list[float]:
    return [float(v) for v in text.split(",")]


def _norm_table(lesson) -> dict[str, dict[str, float]]:
    """{column: {layer: norm}} from the seed-0 table."""
    rows = re.findall(
        r"^(hidden_\d+|output)((?:\s+[-+\d.e]+){4})$",
        lesson.text("claim-init-norms"),
        re.MULTILINE,
    )
    table = {column: {} for column in COLUMNS}
    for layer, values in rows:
        for column, value in zip(COLUMNS, values.split()):
            table[column][layer] = float(value)
    return table


def _ratios(lesson) -> dict[str, list[float]]:
    text = lesson.text("claim-init-norms")
    return {
        column: _values(re.search(rf"^    {column}\s+(.+)$", text, re.M).group(1))
        for column in COLUMNS
    }


def _training(lesson) -> dict[str, dict]:
    text = lesson.text("claim-training")
    runs = {}
    for label in ("control", "batch norm", "residual"):
        block = re.search(
            rf"^{label}  \[changed: [^\]]+\]\n((?:    .*\n?)+)", text, re.M
        ).group(1)
        final = re.search(r"final val accuracy ([\d.]+) \+- ([\d.]+)", block)
        runs[label] = {
            "loss": _values(re.search(r"training loss by epoch .*\) (.+)", block)[1]),
            "accuracy": _values(
                re.search(r"val accuracy by epoch .*\)\s+(.+)", block)[1]
            ),
            "mean": float(final.group(1)),
            "std": float(final.group(2)),
        }
    return runs


# --- vanishing gradients remedied ---------------------------------------------------


def test_the_three_networks_differ_only_in_the_block(lesson):
    assert len(_norm_table(lesson)["control"]) == 11
    assert "seeds 0, 1, 2" in lesson.text("claim-init-norms")
    text = lesson.text("claim-parameters")
    assert "control      12 layers, 62,710 trainable parameters, 0 non" in text
    assert "batch norm   32 layers, 63,210 trainable parameters, 1,000 non" in text
    assert "residual     21 layers, 62,710 trainable parameters, 0 non" in text


def test_control_vanishes_as_in_lesson_03(lesson):
    table = _norm_table(lesson)["control"]
    assert table["hidden_1"] == pytest.approx(1.5e-6, rel=0.2)
    assert table["output"] == pytest.approx(0.83, rel=0.05)
    assert all(r < 1e-5 for r in _ratios(lesson)["control"])


def test_batch_norm_in_inference_mode_is_the_control(lesson):
    table = _norm_table(lesson)
    assert table["BN, inference"] == table["control"]
    ratios = _ratios(lesson)
    assert ratios["BN, inference"] == ratios["control"]


def test_batch_norm_in_training_mode_does_not_vanish(lesson):
    hidden = [
        v for k, v in _norm_table(lesson)["BN, training"].items() if k != "output"
    ]
    assert 0.2 < min(hidden) and max(hidden) < 1.5  # "between 0.28 and 1.1"
    assert all(1.0 <= r <= 2.5 for r in _ratios(lesson)["BN, training"])  # 1.2-2.2


def test_residual_keeps_every_layer_within_two_orders(lesson):
    table = _norm_table(lesson)["residual"]
    assert all(0.05 < r < 0.12 for r in _ratios(lesson)["residual"])  # 0.074-0.089
    relative = [v / table["output"] for k, v in table.items() if k != "output"]
    assert min(relative) > 0.02  # "no layer below 0.03 of the output layer's"
    assert table["output"] > 20 * _norm_table(lesson)["control"]["output"]


def test_the_figures_are_shown(lesson):
    assert lesson.has_image("claim-flow-figure")
    assert lesson.has_image("claim-curves")


def test_control_stays_at_chance_and_each_change_trains(lesson):
    runs = _training(lesson)
    control, bn, residual = runs["control"], runs["batch norm"], runs["residual"]
    assert control["mean"] < 0.12 and control["loss"][-1] > 2.29
    for run in (bn, residual):
        assert run["mean"] - control["mean"] > 3 * (run["std"] + control["std"])
    assert bn["loss"][-1] < 1.5 and residual["loss"][-1] < 1.8  # 1.4 and 1.7
    # "the spreads overlap, so four epochs on three seeds do not rank them"
    assert abs(bn["mean"] - residual["mean"]) < bn["std"] + residual["std"]
    # Batch norm: the training loss falls from the first epoch, the validation
    # accuracy stays at chance for two epochs; the residual network's rises.
    assert bn["loss"][0] < control["loss"][0] and bn["loss"][1] < 1.8
    assert max(bn["accuracy"][:2]) < 0.11
    assert residual["accuracy"][0] > 0.15


def test_batch_norm_training_and_inference_modes(lesson):
    text = lesson.text("claim-bn-modes")
    assert lesson.number("claim-bn-modes", r"training steps (\d+)") == 316
    left = lesson.number("claim-bn-modes", r"0\.99 \*\* 316 = ([\d.]+)")
    assert left == pytest.approx(0.99**316, abs=0.001)
    inference = lesson.number("claim-bn-modes", r"\(moving averages\)\s+([\d.]+)")
    training = lesson.number("claim-bn-modes", r"\(batch statistics\)\s+([\d.]+)")
    assert training - inference > 0.05
    changes = dict(re.findall(r"training=(True|False)\s.*batches ([\d.e-]+)", text))
    assert float(changes["False"]) == 0.0
    assert float(changes["True"]) > 0.01


# --- stable losses ------------------------------------------------------------------


def _loss_rows(lesson) -> dict[float, list[tuple[float, float]]]:
    rows = {}
    for line in lesson.text("claim-loss-values").splitlines():
        found = re.match(r"^\s+(\d+)\s+([\d.e+-]+)((?:\s+\S+ \(\S+\)){4})$", line)
        if found:
            pairs = re.findall(rf"{NUM} \({NUM}\)", found.group(3))
            rows[float(found.group(1))] = [(float(a), float(b)) for a, b in pairs]
    return rows


def test_loss_values_and_gradients_on_large_logits(lesson):
    rows = _loss_rows(lesson)
    assert sorted(rows) == [10.0, 20.0, 50.0, 100.0]
    eps_loss = lesson.number("claim-loss-values", r"-log\(epsilon\) = ([\d.]+)")
    assert eps_loss == pytest.approx(-np.log(1e-7), abs=0.05)
    for gap, (
        (logits, g_logits),
        (clipped, g_clipped),
        (naive, g_naive),
        (
            keras_softmax,
            g_keras,
        ),
    ) in rows.items():
        assert logits == pytest.approx(gap, rel=0.01) and g_logits == -1.0
        assert (keras_softmax, g_keras) == (logits, g_logits), "Keras used the logits"
        if gap >= 20:
            assert clipped == pytest.approx(16.1) and g_clipped == 0.0
        else:
            assert clipped == pytest.approx(gap, rel=0.01) and g_clipped == -1.0
        if gap < 100:
            assert naive == pytest.approx(gap, rel=0.01)
    assert np.isinf(rows[100.0][2][0]) and np.isnan(rows[100.0][2][1])
    assert "100         0" in lesson.text("claim-loss-values"), "p(true) is 0"


def test_unscaled_pixels_push_most_probabilities_outside_the_clip(lesson):
    text = lesson.text("claim-clipped-share")
    unscaled = float(re.search(r"\[0, 255\].* for ([\d.]+)%", text).group(1))
    scaled = float(re.search(r"\[0, 1\].* for ([\d.]+)%", text).group(1))
    assert unscaled > 90 and scaled == 0.0
    gaps = [float(v) for v in re.findall(r"true logit ([\d.e+]+);", text)]
    assert gaps[0] > 100 > 10 > gaps[1], "gaps of hundreds without scaling"


def test_training_from_logits_against_clipped_probabilities(lesson):
    text = lesson.text("claim-stable-training")
    lines = {
        head: re.search(rf"^{head}\s+(training loss.*)$", text, re.M).group(1)
        for head in ("logits", "Keras softmax", "hand softmax")
    }
    assert lines["logits"] == lines["Keras softmax"], "Keras computed from logits"
    final = {
        head: tuple(
            map(float, re.search(r"accuracy ([\d.]+) \+- ([\d.]+)", line).groups())
        )
        for head, line in lines.items()
    }
    (logits, s_logits), (hand, s_hand) = final["logits"], final["hand softmax"]
    assert logits - hand > 2 * (s_logits + s_hand)
    assert hand < logits / 2, "less than half"
    losses = _values(re.search(r"\(seed 0\) ([^;]+);", lines["hand softmax"])[1])
    assert all(10 < v < 16.2 for v in losses), "stuck near the clipped values"
    after = float(re.search(r"after training .* for ([\d.]+)%", text).group(1))
    assert after > 90


def test_orientation_and_sources(lesson):
    first = lesson.nb.cells[0].source
    assert "**Prerequisites:**" in first and "**Time:** about 30 minutes" in first
    markdown = lesson.markdown()
    for source in (
        "https://arxiv.org/abs/1502.03167",
        "https://arxiv.org/abs/1512.03385",
        "https://d2l.ai/chapter_convolutional-modern/batch-norm.html",
        "https://keras.io/api/layers/normalization_layers/batch_normalization/",
        "keras/src/backend/tensorflow/nn.py",
    ):
        assert source in markdown
    assert "(08_tensorflow_debugging_tools.ipynb)" in lesson.nb.cells[-1].source
    code = "\n".join(c.source for c in lesson.nb.cells if c.cell_type == "code")
    assert "BatchNormalization" in code and "keras.layers.Add" in code
    assert "from_logits=True" in code


# --- helpers introduced by the lesson ----------------------------------------------


def test_deep_sigmoid_network_defaults_to_lesson_03s_model():
    keras.utils.set_random_seed(0)
    reference = models.deep_sigmoid_model(depth=3, units=8)
    keras.utils.set_random_seed(0)
    model = architectures.deep_sigmoid_network(depth=3, units=8)
    assert [w.shape for w in model.weights] == [w.shape for w in reference.weights]
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model.loss == reference.loss
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    names = [layer.name for layer in model.layers]
    assert names == ["pixels", "hidden_1", "hidden_2", "hidden_3", "output"]


def test_deep_sigmoid_network_uses_the_block():
    calls = []

    def block(x, k, units):
        calls.append((k, units))
        return architectures.plain_sigmoid_block(x, k, units)

    model = architectures.deep_sigmoid_network(block, depth=4, units=6)
    assert calls == [(1, 6), (2, 6), (3, 6), (4, 6)]
    assert model.output_shape == (None, 10)


def _tiny():
    inputs = keras.Input(shape=(4,))
    x = keras.layers.Dense(8, use_bias=False)(inputs)
    x = keras.layers.BatchNormalization()(x)
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.ReLU()(x))
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    return model


def test_train_over_seeds_trains_as_fresh_models_would():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = rng.integers(0, 3, size=64)
    histories, trained = architectures.train_over_seeds(
        {"tiny": _tiny},
        x,
        y,
        (x[:16], y[:16]),
        seeds=(0, 1),
        epochs=2,
        batch_size=16,
        progress=False,
    )
    assert list(histories) == ["tiny"] and len(histories["tiny"]) == 2
    for seed, history in zip((0, 1), histories["tiny"]):
        keras.utils.set_random_seed(seed)
        fresh = _tiny()
        expected = fresh.fit(
            x,
            y,
            validation_data=(x[:16], y[:16]),
            epochs=2,
            batch_size=16,
            validation_batch_size=500,
            verbose=0,
        ).history
        np.testing.assert_allclose(history["loss"], expected["loss"], rtol=1e-5)
        np.testing.assert_allclose(history["val_loss"], expected["val_loss"], rtol=1e-5)
    for a, b in zip(trained["tiny"].get_weights(), fresh.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_plot_metric_curves_by_seed():
    results = {
        "a": [{"loss": [2.3, 2.0, 1.5], "val_accuracy": [0.1, 0.3, 0.5]}] * 2,
        "b": [{"loss": [2.3, 2.3, 2.3], "val_accuracy": [0.1, 0.1, 0.1]}] * 2,
    }
    fig = plots.plot_metric_curves_by_seed(results, title="t")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert fig.get_suptitle().startswith("t")
    loss, accuracy = fig.axes
    for ax in (loss, accuracy):
        assert ax.get_title() and ax.get_xlabel() == "epoch"
        assert "(" in ax.get_ylabel(), "a unit"
        assert ax.get_legend() is not None
        ticks = [t for t in ax.get_xticks() if 1 <= t <= 3]
        assert all(float(t).is_integer() for t in ticks)
    assert accuracy.get_ylim() == (0.0, 1.0)
    means = [line for line in loss.lines if line.get_linewidth() == 2]
    np.testing.assert_allclose(means[0].get_ydata(), [2.3, 2.0, 1.5])
