"""Lesson 09 (the debugging checklist): what its text claims, checked on its outputs.

Each test reads the numbers a tagged cell of the executed notebook printed (see
``tests/lesson_outputs.py``) and asserts a claim the markdown makes, with a
tolerance. The last tests are unit tests of the helpers the lesson introduced.
"""

from __future__ import annotations

import io
import math
import re

import numpy as np
import pytest
from matplotlib.figure import Figure

from tests.lesson_outputs import Lesson

NAME = "09_debugging_checklist.ipynb"
LN10 = math.log(10)
NUM = r"([-+]?[\d.]+(?:e[-+]?\d+)?)"


@pytest.fixture(scope="module")
def lesson():
    return Lesson(NAME)


def _md(lesson) -> str:
    """The lesson's markdown with line breaks folded, for quoted numbers."""
    return " ".join(lesson.markdown().split())


# --- 1. the data ---------------------------------------------------------------


def test_data_is_scaled_complete_and_balanced(lesson):
    text = lesson.text("claim-data")
    assert "pixel range: [0.0, 1.0]" in text
    assert lesson.number("claim-data", r"NaN pixels: (\d+)") == 0
    assert lesson.number("claim-data", r"classes present: (\d+) of 10") == 10
    assert lesson.number("claim-data", r"ratio ([\d.]+)") >= 0.8


# --- 2. overfit one batch ------------------------------------------------------


def _overfit_rows(lesson):
    rows = re.findall(
        r"^(healthy|broken).*?: (\d+) steps, loss ([\d.e-]+) -> ([\d.e-]+), "
        r"batch accuracy ([\d.]+) \(1.0 first reached: (step \d+|never)\)",
        lesson.text("claim-overfit-batch"),
        re.MULTILINE,
    )
    return {r[0]: r[1:] for r in rows}


def test_overfit_one_batch_same_budget_loss_near_zero_vs_flat(lesson):
    rows = _overfit_rows(lesson)
    assert set(rows) == {"healthy", "broken"}
    assert rows["healthy"][0] == rows["broken"][0] == "200"
    h_start, h_end = float(rows["healthy"][1]), float(rows["healthy"][2])
    b_start, b_end = float(rows["broken"][1]), float(rows["broken"][2])
    # "falls by more than three orders of magnitude ... to about 0.001"
    assert h_end < 0.005 and h_start / h_end > 1000
    # "the broken model's loss stays at ln 10"
    assert abs(b_start - LN10) < 0.15 and abs(b_end - b_start) < 0.05
    assert float(rows["broken"][3]) < 0.5 and rows["broken"][4] == "never"
    assert lesson.has_image("claim-overfit-batch")


def test_accuracy_one_comes_long_before_loss_zero(lesson):
    rows = _overfit_rows(lesson)
    step = int(rows["healthy"][4].split()[1])
    assert step < 100
    assert f"step {step}" in _md(lesson)


# --- 3. initial loss and output bias -------------------------------------------


def test_initial_loss_near_ln10_for_he_far_above_for_large_init(lesson):
    ratios = dict(
        re.findall(
            r"^(He|N\(0, 10\)) model.*= ([\d.]+) x ln 10",
            lesson.text("claim-initial-loss"),
            re.MULTILINE,
        )
    )
    assert 0.9 <= float(ratios["He"]) <= 1.15
    assert float(ratios["N(0, 10)"]) > 3
    assert f"{float(ratios['N(0, 10)']):.2f} times" in _md(lesson)


def test_output_bias_initialisation(lesson):
    tag = "claim-output-bias"
    wrong = lesson.number(tag, r"bias \+8 for 'Bag'\s+initial loss ([\d.]+)")
    uniform = lesson.number(tag, r"every class\s+initial loss ([\d.]+)")
    small = lesson.number(tag, r"x 0.1\s+initial loss ([\d.]+)")
    assert wrong > 3 * LN10 and uniform < wrong
    assert abs(small - LN10) < 0.02  # "within 0.01 of ln 10" (rounded)
    entropy = lesson.number(tag, r"entropy of the prior ([\d.]+)")
    flat = lesson.number(tag, r"log\(1/10\), small kernel\s+initial loss ([\d.]+)")
    prior = lesson.number(tag, r"log\(prior\), small kernel\s+initial loss ([\d.]+)")
    assert entropy < LN10 - 0.5
    assert abs(flat - LN10) < 0.1 and abs(prior - entropy) < 0.05
    md = _md(lesson)
    assert f"{wrong:.2f}, {wrong / LN10:.1f} times ln 10" in md
    for value in (uniform, small, flat, prior, entropy):
        assert f"{value:.3f}" in md


def test_architecture_report_flags_the_suspicious_model_only(lesson):
    text = lesson.text("claim-architecture")
    assert "applied twice" in text and "no non-linearity" in text
    assert "bottleneck" in text
    assert lesson.number("claim-architecture", r"He model: (\d+)") == 0


# --- 5. learning-rate range test -----------------------------------------------


def test_lr_range_test_stops_on_purpose_and_says_why(lesson):
    tag = "claim-lr-range"
    stop_lr = lesson.number(tag, rf"stopped at lr={NUM} after")
    steps = lesson.number(tag, r"after (\d+) of 100 steps")
    assert "exceeded 4x the best" in lesson.text(tag)
    best = lesson.number(tag, rf"at lr {NUM}; suggested")
    suggested = lesson.number(tag, rf"suggested lr {NUM}")
    assert steps < 100 and stop_lr > best
    assert suggested == pytest.approx(best / 10, rel=0.1)
    assert 1e-4 <= suggested <= 1e-2
    md = _md(lesson)
    assert f"{best:.1e}".replace("e-0", "e-") in md
    assert f"stopped at {stop_lr:g}, after {steps:.0f} of its 100 steps" in md
    assert lesson.has_image(tag)


# --- 6. monitoring ---------------------------------------------------------------


def _epoch_table(lesson):
    rows = re.findall(
        r"^\s*(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$",
        lesson.text("claim-healthy-run"),
        re.MULTILINE,
    )
    return np.array([[float(v) for v in row[1:]] for row in rows])


def test_healthy_run_has_no_finding(lesson):
    tag = "claim-healthy-run"
    assert "diagnose_history findings: []" in lesson.text(tag)
    g_low = lesson.number(tag, rf"gradient norm {NUM} to")
    g_high = lesson.number(tag, rf"gradient norm [\d.]+ to {NUM};")
    w_first = lesson.number(tag, r"weight norm ([\d.]+) ->")
    w_last = lesson.number(tag, r"weight norm [\d.]+ -> ([\d.]+);")
    assert g_high / g_low < 2 and 1.0 < w_last / w_first < 1.2
    md = _md(lesson)
    assert f"between {g_low:.3g} and {g_high:.3g}" in md
    assert f"({w_first:.1f} to {w_last:.1f})" in md
    assert lesson.has_image(tag)


def test_epoch_one_validation_better_than_averaged_training_is_an_artefact(lesson):
    table = _epoch_table(lesson)
    assert table.shape == (6, 3)
    mean, end, val = table.T
    # epoch 1: validation below the epoch-averaged training loss ...
    assert val[0] < mean[0]
    # ... but above the training loss measured at the end of the epoch
    assert end[0] < val[0]
    # the averaged loss is above the end-of-epoch loss in every epoch, most in epoch 1
    assert np.all(mean > end) and np.argmax(mean - end) == 0
    md = _md(lesson)
    for value in (mean[0], end[0], val[0], mean[-1], end[-1]):
        assert f"{value:.3f}" in md


def test_overfitting_run_fills_every_panel_and_overfits(lesson):
    tag = "claim-overfit-run"
    text = lesson.text(tag)
    assert text.startswith("overfitting:")
    lowest = lesson.number(tag, r"lowest ([\d.]+) \(epoch")
    best_epoch = lesson.number(tag, r"\(epoch (\d+)\)")
    last = lesson.number(tag, r"last ([\d.]+)\n")
    first_perfect = lesson.number(tag, r"1.0 first at epoch (\d+)")
    assert last > 1.2 * lowest and best_epoch < first_perfect <= 30
    val_acc = lesson.number(tag, r"vs validation ([\d.]+)")
    assert val_acc <= 0.85
    g_first = lesson.number(tag, rf"gradient norm: epoch 1 {NUM},")
    g_last = lesson.number(tag, rf", last {NUM}; weight")
    w_first = lesson.number(tag, r"weight norm: ([\d.]+) ->")
    w_last = lesson.number(tag, r"(?m)weight norm: [\d.]+ -> ([\d.]+)$")
    assert g_last < g_first / 10  # "two orders of magnitude"
    assert 1.0 < w_last / w_first < 1.1  # "grows only slowly"
    md = _md(lesson)
    for quoted in (f"epoch {best_epoch:.0f} ({lowest:.3f})", f"{last:.3f}"):
        assert quoted in md
    assert lesson.has_image(tag)


# --- 7. histograms ---------------------------------------------------------------


def test_relu_spike_at_zero_is_sparsity_not_death(lesson):
    tag = "claim-activations"
    zeros = lesson.numbers(tag, r"ReLU hidden_\d: (\d+)% of outputs are 0")
    dead = lesson.numbers(tag, r"(\d+)% of units are 0 for all")
    assert len(zeros) == len(dead) == 2
    assert all(25 <= z <= 60 for z in zeros)  # "about 40%"
    assert all(d <= 20 for d in dead)  # "about 10%", far from lesson 01's 100%


def test_saturation_appears_with_the_large_init_only(lesson):
    tag = "claim-activations"
    glorot = lesson.number(tag, r"Glorot init: (\d+)% of outputs")
    large = lesson.number(tag, r"N\(0, 1\) init: (\d+)% of outputs")
    assert glorot <= 2 and large >= 50
    assert f"{large:.0f}%" in _md(lesson)
    assert lesson.has_image(tag)


def test_weights_of_the_wrong_scale(lesson):
    tag = "claim-weights"
    stds = lesson.numbers(tag, rf"kernel std {NUM},")
    trained, large = stds
    assert 0.03 < trained < 0.1 and large / trained > 100
    growth = [
        float(v)
        for v in re.search(
            r"N\(0, 10\) model.*activation std by layer: (.*)$",
            lesson.text(tag),
            re.MULTILINE,
        )
        .group(1)
        .split(", ")
    ]
    assert all(b / a > 10 for a, b in zip(growth, growth[1:]))
    assert f"{large / trained:.0f} times" in _md(lesson)


# --- 8. error analysis on validation data ---------------------------------------


def test_error_analysis_uses_validation_data(lesson):
    acc = lesson.number("claim-confusions", r"validation accuracy ([\d.]+)")
    assert 0.8 <= acc <= 0.9
    upper_body = {"Coat", "Pullover", "Shirt", "T-shirt/top"}
    pairs = re.findall(
        r"^\s+(\S+)\s+-> (\S+)\s+(\d+)$", lesson.text("claim-confusions"), re.M
    )
    assert len(pairs) == 5
    assert all(t in upper_body and p in upper_body for t, p, _ in pairs)
    assert lesson.has_image("claim-confusions")
    # Only section 9 touches the test set.
    users = [
        c for c in lesson.nb.cells if c.cell_type == "code" and "x_test" in c.source
    ]
    assert len(users) == 1 and "claim-test" in users[0].metadata["tags"]


def test_integrated_gradients_completeness_and_interpretation(lesson):
    tag = "claim-ig"
    text = lesson.text(tag)
    rows = re.findall(
        rf"for (\S+)\s*: p\(x\) - p\(black\) = {NUM} - {NUM} = {NUM}; "
        rf"sum of attributions {NUM}",
        text,
    )
    assert len(rows) == 2  # the predicted and the true class
    for _, px, p0, diff, total in rows:
        assert float(diff) == pytest.approx(float(px) - float(p0), abs=2e-3)
        assert abs(float(total) - float(diff)) < 0.01
    collar = lesson.numbers(tag, rf"\(collar, shoulders\) {NUM};")
    opening = lesson.numbers(tag, rf"\(front opening\) {NUM}")
    # predicted class first, then the true class (as the markdown reads them)
    assert collar[0] > 0 > collar[1]
    assert opening[0] < 0 < opening[1]
    md = _md(lesson)
    for value in collar + opening:
        assert f"{value:+.3f}".replace("+", "") in md.replace("+", "")
    assert lesson.has_image(tag)


def test_test_set_once_at_the_end(lesson):
    test = lesson.number("claim-test", r"test accuracy ([\d.]+)")
    val = lesson.number("claim-test", r"\(validation ([\d.]+)\)")
    assert abs(test - val) < 0.03


def test_text_cites_the_recipe_and_the_notes(lesson):
    md = _md(lesson)
    assert "https://karpathy.github.io/2019/04/25/recipe/" in md
    assert "https://cs231n.github.io/neural-networks-3/" in md
    assert "keras.io/getting_started/faq/#why-is-my-training-loss" in md


# --- helpers introduced in this lesson ------------------------------------------


def test_overfit_single_batch_can_run_the_whole_budget(tiny_data):
    from course import diagnostics, models

    x, y = tiny_data
    model = models.model_with_init("he_normal", units=(32,))
    early = diagnostics.overfit_single_batch(model, x[:16], y[:16], epochs=60)
    full = diagnostics.overfit_single_batch(
        model, x[:16], y[:16], epochs=60, stop_early=False
    )
    assert early["passed"] and early["epochs"] < 60
    assert full["epochs"] == len(full["losses"]) == len(full["accuracies"]) == 60
    assert full["final_loss"] < early["final_loss"]


def test_lr_range_test_ends_its_bar_cleanly_and_says_why(
    tiny_data, monkeypatch, capsys
):
    from course import lr, models

    from tqdm.std import tqdm as text_tqdm

    bars = []

    class Recorded(text_tqdm):
        def __init__(self, *args, **kwargs):
            kwargs["file"] = io.StringIO()
            super().__init__(*args, **kwargs)
            bars.append(self)

    monkeypatch.setattr(lr, "tqdm", Recorded)
    x, y = tiny_data
    result = lr.lr_range_test(models.model_with_init(), x, y, max_lr=1e4, num_steps=80)
    assert result.diverged and len(result.lrs) < 80
    assert result.stop_reason.startswith("stopped at lr=")
    assert result.stop_reason in capsys.readouterr().out
    # the intended early stop completes the bar at the step reached
    assert bars[-1].n == bars[-1].total == len(result.lrs)
    quiet = lr.lr_range_test(
        models.model_with_init(), x, y, max_lr=1e-3, num_steps=5, progress=False
    )
    assert not quiet.diverged and quiet.stop_reason.startswith("reached max_lr")


def test_plot_confusion_matrix_has_colorbar_and_labels():
    from course import plots

    y = np.array([0, 0, 1, 1, 2, 2])
    fig = plots.plot_confusion_matrix(y, np.array([0, 1, 1, 1, 2, 0]), ["a", "b", "c"])
    assert isinstance(fig, Figure) and len(fig.axes) == 2  # matrix + colorbar
    ax, bar = fig.axes
    assert ax.get_title() and ax.get_xlabel() == "predicted class"
    assert ax.get_ylabel() == "true class" and "%" in bar.get_ylabel()


def test_plot_attributions_shares_one_symmetric_scale():
    from course import plots

    rng = np.random.default_rng(0)
    maps = {"for a": rng.normal(size=784), "for b": 3 * rng.normal(size=784)}
    fig = plots.plot_attributions(rng.random(784), maps, title="t")
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 3
    assert images[1].get_clim() == images[2].get_clim()
    low, high = images[1].get_clim()
    assert low == -high == -np.abs(maps["for b"]).max()
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert any("attribution" in label for label in labels)
    assert any("pixel value" in label for label in labels)


def test_dashboard_epoch_ticks_are_integers_and_log_ticks_plain():
    from course import plots

    history = {
        "loss": [2.0, 1.0, 0.5],
        "accuracy": [0.3, 0.6, 0.8],
        "val_loss": [2.0, 1.2, 0.9],
        "val_accuracy": [0.3, 0.5, 0.7],
    }
    fig = plots.plot_training_dashboard(history, [1.0, 0.5, 0.2], [45.5, 46.0, 47.1])
    fig.canvas.draw()
    for ax in fig.axes:
        if ax.get_xlabel() == "epoch":
            ticks = ax.get_xticks()
            assert np.allclose(ticks, np.round(ticks))
    weight = next(ax for ax in fig.axes if ax.get_title() == "Weight norm")
    labels = [t.get_text() for t in weight.get_yticklabels(minor=True)]
    labels += [t.get_text() for t in weight.get_yticklabels()]
    assert any(label for label in labels)
    assert not any("times" in label or "^" in label for label in labels)
