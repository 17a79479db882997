"""Lesson 02 (data and pipeline bugs): the claims its text makes, from its outputs.

The first part reads the executed notebook (``tests/lesson_outputs.py``): every
planted bug shows its symptom, its check prints the number the text quotes, and
the fix gives the reference's numbers back. The second part tests the helpers the
lesson introduced (``course.data_checks``).
"""

from __future__ import annotations

from course import data_checks

import math
import re

import keras
import numpy as np
import pytest
from keras import ops

from tests.lesson_outputs import Lesson

NAME = "02_data_and_pipeline_bugs.ipynb"
N = r"([-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)"  # a printed number
LN10 = math.log(10)
COLUMNS = ("initial", "train loss", "train acc", "val loss", "val acc")


@pytest.fixture(scope="module")
def lesson():
    return Lesson(NAME)


def _runs(lesson, tag) -> dict[str, dict[str, float]]:
    """The rows ``show`` printed in a cell: run name -> the five numbers."""
    rows = re.findall(
        rf"^(\S.*?)\s+{N}\s+{N}\s+{N}\s+{N}\s+{N}\s*$",
        lesson.text(tag),
        flags=re.MULTILINE,
    )
    return {
        name.strip(): dict(zip(COLUMNS, map(float, values)))
        for name, *values in rows
    }


def _quoted(lesson, value: float, fmt: str) -> bool:
    return format(value, fmt) in lesson.markdown()


@pytest.fixture(scope="module")
def ref(lesson):
    return _runs(lesson, "claim-reference")["reference, seed 0"]


# --- the reference run --------------------------------------------------------


def test_the_reference_starts_near_ln10_and_learns(lesson):
    runs = _runs(lesson, "claim-reference")
    assert len(runs) == 3
    for r in runs.values():
        assert r["initial"] == pytest.approx(LN10, abs=0.3)
        assert r["val acc"] > 0.74
    mean = lesson.number("claim-reference", r"over 3 seeds: " + N)
    assert mean == pytest.approx(np.mean([r["val acc"] for r in runs.values()]), 2e-3)


def test_what_goes_into_fit_is_scaled_and_balanced(lesson):
    text = lesson.text("claim-inputs")
    assert re.findall(r"max (\S+)", text) == ["1", "1"]
    counts = [int(c) for c in re.search(r"train: \[([\d ]+)\]", text)[1].split()]
    assert len(counts) == 10 and sum(counts) == 3000 and min(counts) > 250


# --- bugs 1 and 2: the inputs and the labels ----------------------------------


def test_unscaled_pixels_blow_up_the_initial_and_final_loss(lesson, ref):
    text = lesson.text("claim-unscaled")
    assert "max 255" in text
    bug = _runs(lesson, "claim-unscaled")["pixels 0-255"]
    assert bug["initial"] > 30 * LN10, "initial loss far above ln 10"
    assert bug["val loss"] > 5 * ref["val loss"]
    assert _quoted(lesson, bug["initial"], ".0f")
    assert _quoted(lesson, bug["val loss"], ".1f")


def test_shifted_labels_leave_the_model_near_chance(lesson, ref):
    bug = _runs(lesson, "claim-shifted")["labels shifted by one"]
    assert bug["val acc"] < 0.2 and bug["train acc"] < 0.25
    assert bug["train loss"] > 0.9 * LN10
    assert bug["initial"] == ref["initial"], "the initial loss cannot see the labels"


def test_nearest_neighbour_agreement_separates_aligned_and_shifted_labels(lesson):
    text = lesson.text("claim-nn-agreement")
    aligned = float(re.search(r"aligned labels .* agreement " + N, text)[1])
    shifted = float(re.search(r"shifted by one .* agreement " + N, text)[1])
    assert aligned > 0.7 and shifted < 0.2
    assert _quoted(lesson, aligned, ".3f") and _quoted(lesson, shifted, ".3f")


def test_overfitting_one_batch_does_not_catch_shifted_labels(lesson):
    accs = lesson.numbers("claim-overfit-batch", r"accuracy " + N)
    steps = lesson.numbers("claim-overfit-batch", r"in (\d+) steps")
    assert accs == [1.0, 1.0]
    assert steps[1] <= 1.5 * steps[0], "shifted labels memorised about as fast"


# --- bugs 3 and 4: the loss ---------------------------------------------------


def test_keras_refuses_both_label_format_mixups(lesson, ref):
    text = lesson.text("claim-loss-errors")
    assert text.count("ValueError") == 2 and "trained without" not in text
    fixed = _runs(lesson, "claim-loss-fixed")["categorical_crossentropy, one-hot"]
    assert fixed == pytest.approx(ref, abs=2e-3), "the matching loss trains the same"


def test_logits_read_as_probabilities_start_far_from_ln10(lesson, ref):
    runs = _runs(lesson, "claim-logits-as-probs")
    bug = runs["logits, from_logits=False"]
    fixed = runs["logits, from_logits=True (fixed)"]
    assert bug["initial"] > 3 * LN10
    assert bug["val acc"] < ref["val acc"] - 0.2
    assert fixed == pytest.approx(ref, abs=2e-3)
    share = lesson.number("claim-logits-as-probs", r"logits: " + N + " of them")
    assert 0.2 < share < 0.9 and _quoted(lesson, share, ".3f")


def test_tensorflow_rescues_softmax_with_from_logits_true_and_warns(lesson, ref):
    run = _runs(lesson, "claim-softmax-rescued")["softmax, from_logits=True"]
    assert run == pytest.approx(ref, abs=2e-3)
    text = lesson.text("claim-softmax-rescued")
    assert "received `from_logits=True`" in text and "Softmax" in text


def test_unrescued_probabilities_as_logits_stall_above_the_floor(lesson, ref):
    run = _runs(lesson, "claim-unrescued")["softmax, from_logits=True, copy"]
    assert run["initial"] == pytest.approx(LN10, abs=0.05), "initial loss misses it"
    floor = math.log(1 + 9 / math.e)
    assert floor < run["train loss"] < LN10
    assert run["train loss"] > 2 * ref["train loss"]
    perfect_false = lesson.number(
        "claim-perfect-prediction", r"from_logits=False .* prediction " + N
    )
    perfect_true = lesson.number(
        "claim-perfect-prediction", r"from_logits=True .* prediction " + N
    )
    assert perfect_false < 1e-5
    assert perfect_true == pytest.approx(floor, abs=1e-3)


# --- bugs 5 and 6: the splits -------------------------------------------------


def test_unscaled_validation_raises_the_loss_not_the_error_rate(lesson, ref):
    text = lesson.text("claim-val-mismatch")
    losses = [float(v) for v in re.findall(r"val loss " + N, text)]
    accs = [float(v) for v in re.findall(r"val acc " + N, text)]
    assert losses[0] == pytest.approx(ref["val loss"], abs=2e-3)
    assert losses[1] > 20 * losses[0]
    assert abs(accs[1] - accs[0]) < 0.03
    assert "max 255" in lesson.text("claim-split-stats")


def test_rescaling_inside_the_model_gives_the_reference_numbers(lesson, ref):
    text = lesson.text("claim-rescaling")
    assert float(re.search(r"val loss " + N, text)[1]) == pytest.approx(
        ref["val loss"], abs=2e-3
    )
    assert float(re.search(r"val acc " + N, text)[1]) == pytest.approx(
        ref["val acc"], abs=2e-3
    )
    assert lesson.number("claim-rescaling", r"probabilities: " + N) < 1e-5


def _accuracy(lesson, label):
    return lesson.number("claim-leak", re.escape(label) + r"[^\n]*?accuracy " + N)


def test_duplicates_inflate_validation_accuracy(lesson):
    clean, leaky = _accuracy(lesson, "clean validation"), _accuracy(lesson, "leaky")
    copies, genuine = _accuracy(lesson, "500 copies"), _accuracy(lesson, "500 genuine")
    train = _accuracy(lesson, "training images")
    assert leaky > clean + 0.015
    assert copies > genuine + 0.03 and abs(copies - train) < 0.03
    assert leaky == pytest.approx((copies + genuine) / 2, abs=1.5e-3)
    assert abs(genuine - clean) < 0.03


def test_hashing_finds_the_planted_duplicates_and_none_in_fashion_mnist(lesson):
    text = lesson.text("claim-duplicates")
    assert lesson.number("claim-duplicates", r"leaky validation: (\d+) of") == 500
    assert re.findall(r"(\d+) exact copies", text) == ["0", "0"]


# --- baselines and the batch-dependency test ----------------------------------


def test_the_baselines_are_beaten_by_the_reference(lesson):
    runs = _runs(lesson, "claim-baselines")
    zero = runs["inputs set to 0"]
    assert zero["val loss"] == pytest.approx(LN10, abs=0.01) and zero["val acc"] < 0.15
    text = lesson.text("claim-baselines")
    lin, lin_sd, mlp, mlp_sd = map(
        float, re.search(rf"linear {N} ± {N}, reference MLP {N} ± {N}", text).groups()
    )
    assert mlp - lin > 2 * max(lin_sd, mlp_sd), "a difference the seeds support"
    share = lesson.number("claim-baselines", r"share in validation " + N)
    assert share == pytest.approx(zero["val acc"], abs=1e-3)


def test_batch_mixing_model_fails_and_depends_on_batching(lesson):
    text = lesson.text("claim-mixing-training")
    assert lesson.number("claim-mixing-training", r"train acc " + N) < 0.4
    assert lesson.number("claim-mixing-training", r"val acc " + N) < 0.2
    mixing = float(re.search(r"transpose of all axes\s+" + N + r"\s*$", text, re.M)[1])
    correct = float(re.search(r"image axes only\s+" + N, text)[1])
    assert mixing > 0.3 and correct == 0.0


def test_only_the_mixing_model_sends_gradient_to_other_examples(lesson):
    text = lesson.text("claim-batch-dependency")
    rows = {
        name.strip(): [float(v) for v in values.split()]
        for name, values in re.findall(r"^(.+?\))\s+([\d.e\s-]+)$", text, re.M)
    }
    correct = rows["correct (untrained)"]
    assert len(correct) == 8 and correct[3] > 0
    assert all(v == 0 for i, v in enumerate(correct) if i != 3)
    for name in ("batch-mixing (untrained)", "batch-mixing (trained)"):
        assert min(rows[name]) > 0.1


# --- the helpers --------------------------------------------------------------


def test_value_summary():
    s = data_checks.value_summary(np.array([[0, 255], [51, 102]], dtype=np.uint8))
    assert s["shape"] == (2, 2) and s["dtype"] == "uint8"
    assert (s["min"], s["max"], s["mean"]) == (0.0, 255.0, 102.0)
    assert s["std"] == pytest.approx(np.std([0, 255, 51, 102]))


def test_exact_duplicates():
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, size=(50, 4, 4), dtype=np.uint8)
    val = rng.integers(0, 256, size=(20, 4, 4), dtype=np.uint8)
    val[[3, 11]] = train[[7, 42]]
    assert data_checks.exact_duplicates(train, val).tolist() == [3, 11]
    assert data_checks.exact_duplicates(train, val[:3]).tolist() == []
    with pytest.raises(ValueError, match="same dtype"):
        data_checks.exact_duplicates(train, val.astype(np.float32))


def test_nearest_neighbour_agreement():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [10.0, 10.0], [-10.0, 10.0]])
    y = np.repeat(np.arange(3), 30)
    x = centres[y] + rng.normal(scale=0.5, size=(90, 2))
    assert data_checks.nearest_neighbour_agreement(x, y, n=90) == 1.0
    shuffled = rng.permutation(y)
    assert data_checks.nearest_neighbour_agreement(x, shuffled, n=90) < 0.6
    with pytest.raises(ValueError):
        data_checks.nearest_neighbour_agreement(x, y[:10])


def test_input_gradient_norms_detects_batch_mixing():
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(6,))
    outputs = keras.layers.Dense(3, activation="softmax")(inputs)
    clean = keras.Model(inputs, outputs)
    mixed = keras.layers.Lambda(
        lambda t: ops.reshape(ops.transpose(t), (-1, 6)), output_shape=(6,)
    )(inputs)
    mixing = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(mixed))
    x = np.random.default_rng(0).normal(size=(4, 6)).astype("float32")
    y = np.array([0, 1, 2, 0])
    norms = data_checks.input_gradient_norms(clean, x, y, index=2)
    assert norms.shape == (4,) and norms[2] > 0
    assert np.all(norms[[0, 1, 3]] == 0)
    assert np.count_nonzero(data_checks.input_gradient_norms(mixing, x, y, 2)) > 1
    with pytest.raises(ValueError):
        data_checks.input_gradient_norms(clean, x, y, index=4)
