"""Lesson 05 (gradient checking): the claims its text makes, from its outputs.

The first part reads the executed notebook (``tests/lesson_outputs.py``); the
second tests the helpers the lesson introduced (``course.gradcheck.check_entry``,
``error_vs_eps``, ``include_regularization``, and the two plots).
"""

from __future__ import annotations

from course import gradcheck, plots

import re

import keras
import numpy as np
import pytest

from tests.lesson_outputs import Lesson

NAME = "05_gradient_checking.ipynb"
E = r"([-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)"  # a printed number


@pytest.fixture(scope="module")
def lesson():
    return Lesson(NAME)


def _table(lesson, tag):
    """``{tensor: max rel. error}`` from a printed ``GradCheckResult``."""
    rows = re.findall(r"^\s+(\S+)\s+max rel\. error " + E, lesson.text(tag), re.M)
    return {name: float(err) for name, err in rows}


# --- the executed notebook -------------------------------------------------------


def test_thresholds_are_cited_with_their_bands(lesson):
    text = lesson.markdown()
    assert "https://cs231n.github.io/neural-networks-3/#gradcheck" in text
    for band in ("< 1e-7", "1e-7 to 1e-4", "1e-4 to 1e-2", "> 1e-2"):
        assert band in text


def test_one_weight_by_hand_agrees_in_float64(lesson):
    assert lesson.number("claim-by-hand", r"relative error " + E) < 1e-7


def test_correct_tanh_network_is_below_1e_7_everywhere(lesson):
    table = _table(lesson, "claim-tanh-table")
    assert len(table) == 4 and max(table.values()) < 1e-7


def test_error_against_eps_shows_truncation_and_round_off(lesson):
    tag = "claim-eps"
    assert lesson.has_image(tag)
    found = re.findall(r"(float\d+): minimum " + E + r" at eps=" + E, lesson.text(tag))
    mins = {dtype: (float(m), float(e)) for dtype, m, e in found}
    err32, eps32 = mins["float32"]
    err64, eps64 = mins["float64"]
    assert 1e-6 < err32 < 1e-4 and 1e-4 <= eps32 <= 1e-2  # float32's best: ~1e-5
    assert err64 < 1e-9 and 1e-7 <= eps64 <= 1e-4  # float64 reaches ~1e-10
    at7 = dict(re.findall(r"(float\d+):.*at eps=1e-7 " + E, lesson.text(tag)))
    at6 = dict(re.findall(r"(float\d+):.*at eps=1e-6 " + E, lesson.text(tag)))
    assert float(at7["float32"]) > 1e-2  # a correct gradient in the "wrong" band
    assert float(at6["float64"]) < 1e-8  # the default eps is fine in float64
    assert lesson.number(tag, r"float32, eps=1e-7: max rel\. error " + E) > 1e-2
    assert lesson.number(tag, r"near the loss [\d.]+: " + E) == pytest.approx(
        1.2e-7, rel=0.1
    )


def test_planted_bug_is_one_third_and_localised(lesson):
    buggy = _table(lesson, "claim-bug")
    assert buggy["my_dense/kernel"] == pytest.approx(1 / 3, abs=0.005)
    assert all(v < 1e-7 for k, v in buggy.items() if k != "my_dense/kernel")
    assert max(_table(lesson, "claim-fixed").values()) < 1e-7


def _spread(lesson, activation):
    pattern = (
        activation + r": (\d+) entries, relative error min " + E + " median " + E
        + " max " + E + "; absolute error median " + E + " max " + E
    )
    found = re.findall(pattern, lesson.text("claim-spread"))
    assert len(found) == 1, lesson.text("claim-spread")
    n, rmin, rmed, rmax, amed, amax = map(float, found[0])
    return dict(n=n, min=rmin, median=rmed, max=rmax, abs_median=amed, abs_max=amax)


def test_relu_and_tanh_spreads_are_the_same_round_off(lesson):
    tanh, relu = _spread(lesson, "tanh"), _spread(lesson, "relu")
    roundoff = lesson.number("claim-spread", r"u\*\|L\|/eps = .* = " + E)
    assert 1e-10 < roundoff < 1e-9
    assert tanh["n"] == relu["n"] == 3 * 213  # every entry, 3 seeds
    for s in (tanh, relu):
        assert s["min"] < 1e-10 and 1e-7 < s["max"] < 1e-4  # the spread in the text
        assert s["abs_max"] < 3 * roundoff  # absolute error: round-off scale
    assert 1 / 3 < tanh["median"] / relu["median"] < 3
    assert 1 / 5 < tanh["max"] / relu["max"] < 5
    assert 1 / 3 < tanh["abs_median"] / relu["abs_median"] < 3
    assert lesson.has_image("claim-spread-figure")
    text = lesson.markdown()
    assert f"{tanh['median']:.1e}" in text and f"{relu['median']:.1e}" in text


def test_no_kink_is_crossed_in_the_spread_check(lesson):
    ratio = lesson.number("claim-preact", r"\(ratio (\d+)\)")
    assert ratio > 1000  # as the text says: "more than a thousand times"


def test_a_pre_activation_within_eps_of_zero_breaks_the_check(lesson):
    rows = {
        case.strip(): tuple(map(float, nums))
        for case, *nums in re.findall(
            r"^(.+?eps=1e-\d)\s+" + r"\s+".join([E] * 4) + r"\s*$",
            lesson.text("claim-kink"),
            re.M,
        )
    }
    far, near, small = (
        rows["original bias, eps=1e-5"],
        rows["moved bias, eps=1e-5"],
        rows["moved bias, eps=1e-8"],
    )
    assert far[0] > 0.1 and far[3] < 1e-8
    assert 1e-8 < near[0] < 1e-5  # within eps = 1e-5 of the kink, above 1e-8
    assert 0.25 < near[3] < 0.4  # numeric ~ half of analytic
    assert near[2] / near[1] == pytest.approx(0.5, abs=0.05)
    assert small[3] < 1e-6  # eps below the pre-activation: no kink crossed


def test_regularisation_is_in_the_checked_loss_on_both_sides(lesson):
    tag = "claim-reg"
    data, l2, total = (
        lesson.number(tag, r"data loss " + E),
        lesson.number(tag, r"\+ L2 " + E),
        lesson.number(tag, r"compute_loss " + E),
    )
    assert l2 > 0.01 and total == pytest.approx(data + l2, abs=2e-4)
    rows = {
        name: list(map(float, nums))
        for name, *nums in re.findall(
            r"^(\w+/\w+)\s+" + r"\s+".join([E] * 6) + r"\s*$", lesson.text(tag), re.M
        )
    }
    assert len(rows) == 4
    for name, (rt, at, rd, ad, rm, am) in rows.items():
        assert rt < 1e-6 and rd < 1e-6  # same loss on both sides: passes
        assert at < 1e-9 and ad < 1e-9  # round-off scale
        if name == "hidden/kernel":
            assert rm > 1e-2 and am > 1e-4  # mixed losses: "wrong" band
        else:
            assert rm < 1e-7  # no regulariser on the other tensors
    assert lesson.number(tag, r"hidden/kernel entries: " + E) < 1e-3


# --- the helpers -----------------------------------------------------------------


def _model(activation="tanh", regularizer=None):
    inputs = keras.Input((6,))
    h = keras.layers.Dense(
        4, activation=activation, name="hidden", kernel_regularizer=regularizer
    )(inputs)
    out = keras.layers.Softmax()(keras.layers.Dense(3, name="logits")(h))
    model = keras.Model(inputs, out)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    return rng.normal(size=(8, 6)).astype("float32"), rng.integers(0, 3, 8)


def test_check_entry_matches_gradient_check(batch):
    x, y = batch
    model = _model()
    a, n, rel = gradcheck.check_entry(model, x, y, "hidden/kernel", (1, 2))
    assert rel < 1e-7 and a == pytest.approx(n, rel=1e-6)
    with pytest.raises(KeyError, match="hidden/kernel"):
        gradcheck.check_entry(model, x, y, "nope/kernel", (0,))


def test_error_vs_eps_truncation_falls_as_eps_squared(batch):
    x, y = batch
    eps = np.array([1e-1, 1e-2, 1e-7])
    errors = gradcheck.error_vs_eps(_model(), x, y, "hidden/kernel", (0, 0), eps)
    e32, e64 = errors["float32"], errors["float64"]
    assert e64[0] / e64[1] == pytest.approx(100, rel=0.3)  # truncation ~ eps**2
    assert e64[2] < 1e-6 and e32[2] > 1e-3  # round-off: float32 fails at 1e-7
    fig = plots.plot_error_vs_eps(eps, errors)
    ax = fig.axes[0]
    assert ax.get_title() and "eps" in ax.get_xlabel() and ax.get_ylabel()
    assert ax.get_xscale() == ax.get_yscale() == "log"


def test_regularisation_is_checked_on_both_sides_by_default(batch):
    x, y = batch
    model = _model(regularizer=keras.regularizers.L2(0.5))
    both = gradcheck.gradient_check(model, x, y)
    data = gradcheck.gradient_check(model, x, y, include_regularization=False)
    assert both.max_rel_error < 1e-6 and data.max_rel_error < 1e-6
    key = "hidden/kernel"
    assert not np.allclose(both.analytic[key], data.analytic[key])  # L2 is in it
    bias = "logits/bias"  # no regulariser there: the same gradient
    np.testing.assert_allclose(both.analytic[bias], data.analytic[bias])


def test_relative_error_scatter_has_labels_and_reference_line():
    a = np.array([1e-3, 1e-2, 1e-1])
    fig = plots.plot_relative_error_vs_gradient(
        {"tanh": (a, a * (1 + 1e-8))}, reference=1e-10
    )
    ax = fig.axes[0]
    assert ax.get_title() and "gradient" in ax.get_xlabel() and ax.get_ylabel()
    assert len(ax.get_lines()) == 1  # the d / (2|g|) reference
