"""Lesson 04 (weight initialisation): its claims, read from the executed notebook,
and the helpers it introduced (``models.compare_initializers``,
``plots.plot_layer_variances``, ``plots.plot_final_metric_by_seed``)."""

from __future__ import annotations

from course import models, plots

import re

import keras
import numpy as np
import pytest

from tests.lesson_outputs import Lesson

NAME = "04_weight_initialization.ipynb"
NUMBER = r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?"


@pytest.fixture(scope="module")
def lesson():
    return Lesson(NAME)


def _profile(lesson, tag, activation):
    """{initialiser: (forward layer 1, layer 20, 20/1, backward 20, 1, 1/20)}."""
    three = rf"((?:\s+{NUMBER}){{3}})"
    rows = {}
    for line in lesson.text(tag).splitlines():
        m = re.match(rf"{activation}\s+(\S+){three}\s+\|{three}$", line)
        if m:
            values = (m.group(2) + m.group(3)).split()
            rows[m.group(1)] = tuple(float(v) for v in values)
    assert set(rows) == {"RandomNormal(0.01)", "Glorot", "He"}, lesson.text(tag)
    return rows


def _training(lesson):
    """{setting: {"He": mean, ..., "He - Glorot": (mean, lo, hi), ...}}."""
    blocks, current = {}, None
    for line in lesson.text("claim-training").splitlines():
        if line and not line.startswith(" "):
            current = blocks.setdefault(line.strip(), {})
            continue
        spread = rf"({NUMBER})\s+\(seeds: ({NUMBER}) to ({NUMBER})\)"
        acc = re.match(rf"\s+(\S+)\s+val accuracy {spread}", line)
        gap = re.match(rf"\s+(He - \S+)\s+per seed {spread}", line)
        if acc:
            current[acc.group(1)] = tuple(float(v) for v in acc.groups()[1:])
        elif gap:
            current[gap.group(1)] = tuple(float(v) for v in gap.groups()[1:])
    return blocks


# --- the lesson's claims -------------------------------------------------------


def test_keras_initialisers_match_the_formulas(lesson):
    ratios = lesson.numbers("claim-formulas", rf"formula = ({NUMBER})")
    assert len(ratios) == 4
    assert all(0.97 < r < 1.03 for r in ratios)


def test_equal_weights_stay_equal_and_random_ones_do_not(lesson):
    text = lesson.text("claim-symmetry")
    pattern = (
        r"{}\s+distinct hidden units (\d+) -> (\d+) after training; max difference"
        rf" between units ({NUMBER}) -> ({NUMBER}); val accuracy ({NUMBER})"
    )
    same = re.search(pattern.format("all weights 0.01"), text)
    rand = re.search(pattern.format("random"), text)
    assert same and rand, text
    n0, n1, d0, d1, acc_same = (float(v) for v in same.groups())
    assert (n0, n1, d0, d1) == (1, 1, 0, 0), "one unit before and after, exactly"
    m0, m1, _, e1, acc_rand = (float(v) for v in rand.groups())
    assert (m0, m1) == (64, 64) and e1 > 0.01
    assert acc_same < 0.4 and acc_rand > 0.7, "one effective unit learns far less"


def test_relu_depth_profile(lesson):
    p = _profile(lesson, "claim-relu-profile", "ReLU")
    # RandomNormal(0.01): nothing left after 19 layers, either way.
    assert p["RandomNormal(0.01)"][2] < 1e-30 and p["RandomNormal(0.01)"][5] < 1e-30
    # Glorot: about a factor of 2 per layer, i.e. 0.5**19 ~ 1.9e-6, both ways.
    for ratio in (p["Glorot"][2], p["Glorot"][5]):
        assert 1e-7 < ratio < 1e-5
    # He: within a factor of 2 both ways.
    assert 0.5 <= p["He"][2] <= 2 and 0.5 <= p["He"][5] <= 2


def test_tanh_profile_and_saturation(lesson):
    p = _profile(lesson, "claim-tanh-profile", "tanh")
    assert p["RandomNormal(0.01)"][2] < 1e-25
    glorot, he = p["Glorot"], p["He"]
    assert 0.05 < glorot[2] < 0.2, "Glorot: activations shrink slowly"
    assert 0.05 < glorot[5] < 0.3, "Glorot: the gradient shrinks on its way down"
    assert 0.7 < he[2] < 2, "He: activation variance stays put"
    assert 8 < he[5] < 20, "He: the gradient grows on its way down (~15x)"
    assert max(1 / glorot[2], 1 / glorot[5], he[2], he[5]) < 15, "within 15x"
    text = lesson.text("claim-tanh-profile")
    for name, bound in (("Glorot", 0.0001), ("He", 0.0011)):
        found = re.search(rf"tanh\s+{name}\s.*max over layers ({NUMBER})%", text)
        assert found, text
        assert float(found.group(1)) / 100 <= bound, "no saturation to speak of"


def test_figures_are_there(lesson):
    for tag in ("claim-relu-figure", "claim-tanh-figure", "claim-training"):
        assert lesson.has_image(tag), tag


def test_training_gaps_grow_with_sgd_and_depth(lesson):
    t = _training(lesson)
    adam = t["Adam, 2 hidden layers"]
    sgd = t["SGD, 2 hidden layers"]
    deep = t["SGD, 8 hidden layers"]
    # RandomNormal(0.01) is behind He for every seed, more so with SGD, then depth.
    for setting in (adam, sgd, deep):
        assert setting["He - RandomNormal(0.01)"][1] > 0, "every seed"
    gaps = [s["He - RandomNormal(0.01)"][0] for s in (adam, sgd, deep)]
    assert gaps[0] < 0.06 and gaps[1] > 2 * gaps[0] and gaps[2] > 2 * gaps[1]
    assert deep["RandomNormal(0.01)"][2] <= 0.11, "chance level for every seed"
    # Glorot vs He: within the seeds' spread at 2 layers, He ahead at 8 (every seed).
    for setting in (adam, sgd):
        mean, lo, hi = setting["He - Glorot"]
        assert lo < 0 < hi and abs(mean) < 0.01
    mean, lo, hi = deep["He - Glorot"]
    assert lo > 0 and mean > 0.1


def test_markdown_quotes_the_printed_numbers(lesson):
    text = lesson.markdown()
    t = _training(lesson)
    for quoted in (
        f"{t['Adam, 2 hidden layers']['He - RandomNormal(0.01)'][0]:.3f}",
        f"{t['SGD, 2 hidden layers']['He - RandomNormal(0.01)'][0]:.3f}",
        f"{t['SGD, 8 hidden layers']['He - Glorot'][0]:.3f}",
    ):
        assert quoted in text, quoted
    assert "test set stays untouched" in text
    for source in ("glorot10a", "1502.01852"):
        assert source in text


# --- the helpers ---------------------------------------------------------------


def test_compare_initializers_trains_like_a_fresh_model(tiny_data):
    """Reusing one compiled model gives the same training as a new model per run."""
    x, y = tiny_data
    inits = {"he": "he_normal", "small": {"class_name": "RandomNormal",
                                          "config": {"stddev": 0.01}}}
    kwargs = dict(units=(16,), seeds=(0, 1), epochs=2, batch_size=len(x))
    results = models.compare_initializers(
        inits, x, y, (x[:64], y[:64]), optimizer=keras.optimizers.SGD(0.5),
        progress=False, **kwargs,
    )
    assert list(results) == ["he", "small"]
    assert all(len(runs) == 2 for runs in results.values())
    for label, init in inits.items():
        for seed, history in zip((0, 1), results[label]):
            keras.utils.set_random_seed(seed)
            fresh = models.dense_stack((16,), kernel_initializer=init)
            fresh.compile(optimizer=keras.optimizers.SGD(0.5),
                          loss=models.LOSS, metrics=["accuracy"])
            alone = fresh.fit(x, y, validation_data=(x[:64], y[:64]), epochs=2,
                              batch_size=len(x), verbose=0).history
            for key in ("loss", "val_loss", "val_accuracy"):
                np.testing.assert_allclose(history[key], alone[key], rtol=1e-4)
    # Different seeds give different runs.
    assert results["he"][0]["loss"] != results["he"][1]["loss"]


def test_same_seed_runs_share_the_output_layer():
    inits = ["he_normal", "glorot_normal",
             {"class_name": "RandomNormal", "config": {"stddev": 0.01}}]
    outputs, hidden = [], []
    for init in inits:
        keras.utils.set_random_seed(3)
        model = models.dense_stack((8, 8), kernel_initializer=init)
        outputs.append(model.get_layer("output").get_weights()[0])
        hidden.append(model.get_layer("hidden_2").get_weights()[0])
    for other in outputs[1:]:
        np.testing.assert_array_equal(outputs[0], other)
    assert not np.array_equal(hidden[0], hidden[1])
    # A name gives every layer its own initialiser: equal shapes, different kernels.
    keras.utils.set_random_seed(3)
    model = models.dense_stack((8, 8, 8), kernel_initializer="he_normal")
    k2, k3 = (model.get_layer(f"hidden_{i}").get_weights()[0] for i in (2, 3))
    assert not np.array_equal(k2, k3)


def test_plot_layer_variances_has_log_axes_and_labels():
    fig = plots.plot_layer_variances(
        {"a": [1.0, 0.1, 0.01], "b": [1.0, 1.0, 1.0]},
        {"a": [1e-30, 1e-10, 1.0], "b": [0.5, 0.6, 0.7]},
        title="t",
    )
    left, right = fig.axes
    assert fig._suptitle.get_text() == "t"
    for ax in (left, right):
        assert ax.get_yscale() == "log"
        assert ax.get_xlabel() and "log" in ax.get_ylabel()
        assert {t.get_text() for t in ax.get_legend().get_texts()} == {"a", "b"}


def test_plot_final_metric_by_seed_spans_the_whole_accuracy_range():
    runs = {
        "he": [{"val_accuracy": [0.5, 0.6]}, {"val_accuracy": [0.52, 0.64]}],
        "small": [{"val_accuracy": [0.1, 0.2]}, {"val_accuracy": [0.1, 0.3]}],
    }
    fig = plots.plot_final_metric_by_seed({"setting A": runs, "setting B": runs})
    assert len(fig.axes) == 2
    for ax in fig.axes:
        assert ax.get_ylim() == (0, 1)
        assert ax.get_xlabel() == "initialiser" and "accuracy" in ax.get_ylabel()
        assert ax.get_title().startswith("setting")
        assert [t.get_text() for t in ax.get_xticklabels()] == ["he", "small"]
        # One line per seed joins its final values across initialisers.
        np.testing.assert_allclose(ax.lines[0].get_ydata(), [0.6, 0.2])
        np.testing.assert_allclose(ax.lines[1].get_ydata(), [0.64, 0.3])
