"""Lesson 03 (vanishing and exploding gradients): its text's claims, on its outputs.

Each test reads the numbers a tagged cell of the executed notebook printed
(``tests/lesson_outputs.py``) and checks a claim the markdown makes about them,
with tolerances. The last tests cover the helpers the lesson introduced.
"""

from __future__ import annotations

from course import diagnostics, plots

import re

import keras
import numpy as np
import pytest
from matplotlib.figure import Figure

from tests.lesson_outputs import Lesson

NAME = "03_vanishing_and_exploding_gradients.ipynb"
NUM = r"([-+\d.e]+|nan|inf)"


@pytest.fixture(scope="module")
def lesson():
    return Lesson(NAME)


def _norm_table(lesson):
    """{layer: (norm, norm / output)} from the sigmoid network's table."""
    rows = re.findall(
        r"^(hidden_\d+|output)\s+([-+\d.e]+)\s+([-+\d.e]+)$",
        lesson.text("claim-sigmoid-norms"),
        re.MULTILINE,
    )
    return {name: (float(norm), float(rel)) for name, norm, rel in rows}


def _seed_values(text, label):
    """The comma-separated numbers after ``label`` up to the next '|'."""
    found = re.search(rf"{label} ([^|]+?)(?: \||$)", text, re.MULTILINE)
    assert found, f"{label!r} not in\n{text}"
    return [float(v) for v in found.group(1).split(",")]


def _block(text, start):
    """The lines of one run: from the line starting with ``start`` to the next run."""
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith(start))
    block = [lines[first]]
    for line in lines[first + 1 :]:
        if line and not line.startswith((" ", "Batch ")):
            break
        block.append(line)
    return "\n".join(block)


def _losses(block):
    found = re.search(r"loss by epoch ([^;]+);", block)
    return [float(v) for v in found.group(1).split(",")]


# --- vanishing gradients -----------------------------------------------------------


def test_sigmoid_gradients_shrink_towards_the_input(lesson):
    table = _norm_table(lesson)
    assert len(table) == 11
    norms = [norm for norm, _ in table.values()]
    assert norms == sorted(norms), "every layer further from the output is smaller"
    first, ratio = table["hidden_1"]
    assert 5e-7 < first < 5e-6  # "1.5e-6 at hidden_1"
    assert 5e-7 < ratio < 5e-6  # "a ratio of 1.8e-6"
    assert 0.5 < table["output"][0] < 1.5  # "0.83 at the output layer"
    bound = lesson.number("claim-sigmoid-norms", r"0\.25 \*\* 10 = ([\d.e-]+)")
    assert bound == pytest.approx(0.25**10, rel=0.01)
    assert 0.1 < ratio / bound < 10, "the same order of magnitude as 0.25^10"


def test_loss_scale_moves_the_norms_but_not_the_ratio(lesson):
    text = lesson.text("claim-loss-scale")
    first = [float(v) for v in re.findall(rf"hidden_1 {NUM},", text)]
    ratio = [float(v) for v in re.findall(rf"hidden_1/output {NUM}", text)]
    flagged = [int(v) for v in re.findall(r"vanishing_layers: (\d+) of 11", text)]
    (mean_first, sum_first), (mean_ratio, sum_ratio) = first, ratio
    assert mean_first < 1e-5 < sum_first, "the absolute threshold flips"
    assert sum_first / mean_first == pytest.approx(512, rel=0.1)
    assert sum_ratio == pytest.approx(mean_ratio, rel=0.05), "the ratio does not"
    assert flagged == [6, 6]
    assert "hidden_1 ... hidden_6" in text


def test_each_single_change_and_its_effect_on_the_ratio(lesson):
    text = lesson.text("claim-one-change")
    changed = re.findall(r"\[changed: ([^\]]+)\]", text)
    assert changed == [
        "control",
        "activation, vs control",
        "depth, vs control",
        "init, vs ReLU, Glorot",
    ], "each run names the one setting it changes"
    blocks = {
        key: _block(text, key)
        for key in (
            "sigmoid, Glorot, depth 10",
            "ReLU, Glorot, depth 10",
            "sigmoid, Glorot, depth 3",
            "ReLU, He, depth 10",
        )
    }
    ratio = {k: _seed_values(b, "hidden_1/output") for k, b in blocks.items()}
    assert all(len(v) == 3 for v in ratio.values()), "three seeds each"
    assert max(ratio["sigmoid, Glorot, depth 10"]) < 1e-5
    assert all(3 < r < 7 for r in ratio["ReLU, Glorot, depth 10"])  # "3.8-6.3"
    assert all(0.04 < r < 0.08 for r in ratio["sigmoid, Glorot, depth 3"])
    assert all(2.5 < r < 6 for r in ratio["ReLU, He, depth 10"])  # "3.0-5.4"
    for key, block in blocks.items():
        flagged = re.search(r"vanishing layers ([\d, ]+) of", block).group(1)
        expected = "6, 6, 6" if key == "sigmoid, Glorot, depth 10" else "0, 0, 0"
        assert flagged == expected, key
    # "every layer's gradient is 20 to 35 times larger" with He than with Glorot.
    for layer in ("hidden_1", "output"):
        he = _seed_values(blocks["ReLU, He, depth 10"], layer)
        glorot = _seed_values(blocks["ReLU, Glorot, depth 10"], layer)
        for a, b in zip(he, glorot):
            assert 15 < a / b < 40, layer


def test_the_gradient_flow_figure_is_shown(lesson):
    assert lesson.has_image("claim-flow-figure")


def test_training_sigmoid_at_chance_relu_better_he_best(lesson):
    text = lesson.text("claim-training")
    acc = {
        name: (float(mean), float(std))
        for name, mean, std in re.findall(
            r"^(.+?)\s+val accuracy ([\d.]+) \+- ([\d.]+)", text, re.MULTILINE
        )
    }
    sigmoid = acc["sigmoid, Glorot, depth 10"]
    glorot = acc["ReLU, Glorot, depth 10"]
    he = acc["ReLU, He, depth 10"]
    assert sigmoid[0] < 0.12, "chance is 0.1"
    # Each step is several times the spread between seeds.
    assert glorot[0] - sigmoid[0] > 2 * (glorot[1] + sigmoid[1])
    assert he[0] - glorot[0] > 2 * (he[1] + glorot[1])
    after = _seed_values(_block(text, "sigmoid"), "hidden_1/output after training")
    assert max(after) < 1e-5, "the vanishing does not go away by itself"
    for name in ("ReLU, Glorot, depth 10", "ReLU, He, depth 10"):
        ratios = _seed_values(_block(text, name), "hidden_1/output after training")
        assert all(2 <= r <= 5 for r in ratios), name


# --- exploding gradients -----------------------------------------------------------


def test_the_bad_initialisation_is_about_200_times_he(lesson):
    ratio = lesson.number("claim-std-ratio", r"ratio (\d+)")
    assert 180 <= ratio <= 220
    markdown = lesson.markdown()
    assert "about 200 times" in markdown and "300 times" not in markdown
    loss = lesson.number("claim-std-ratio", r"loss at initialisation ([\d.e+]+)")
    assert 1e5 < loss < 1e7  # "about 6e5"
    output = lesson.number("claim-std-ratio", r"output ([\d.e+]+)")
    assert output > 1e6  # "the output layer's above a million"


def test_terminate_on_nan_prints_to_stdout_and_stops(lesson):
    cell = lesson.cell("claim-terminate")
    streams = [o for o in cell.outputs if o.get("output_type") == "stream"]
    message = [o for o in streams if "Invalid loss, terminating training" in o.text]
    assert message and all(o.name == "stdout" for o in message)
    assert lesson.number("claim-terminate", r"epochs run: (\d+) of 5") == 1
    assert "loss by epoch: nan" in lesson.text("claim-terminate")
    assert lesson.number("claim-terminate", r"NaN/Inf: (\d+) of") > 0
    batch = re.search(r"Batch (\d+): Invalid loss", lesson.text("claim-terminate"))
    assert f"`Batch {batch.group(1)}: Invalid loss" in lesson.markdown()


def test_each_fix_alone_and_both_together(lesson):
    text = lesson.text("claim-fixes")
    runs = {key: _block(text, f"{key}  ") for key in "ABCDEF"}
    assert "[changed: control]" in runs["A"]
    for key in "BCDE":
        assert len(re.findall(r"\[changed: [a-z ]+, vs [A-F]\]", runs[key])) == 1
    for key in "ABCE":  # diverge: stopped by TerminateOnNaN in the first epoch
        assert "Invalid loss, terminating training" in runs[key], key
        assert "epochs run 1 of 2" in runs[key], key
        assert not np.isfinite(_losses(runs[key])[-1]), key
    clipped = _losses(runs["D"])  # clipping alone: finite, but enormous
    assert np.isfinite(clipped[-1]) and clipped[-1] > 1e3
    assert "Invalid loss" not in runs["F"]
    f_accuracy = float(re.search(r"val accuracy ([\d.]+)", runs["F"]).group(1))
    d_accuracy = float(re.search(r"val accuracy ([\d.]+)", runs["D"]).group(1))
    assert f_accuracy > 0.6 and f_accuracy > d_accuracy + 0.1
    assert _losses(runs["F"])[-1] < 1.0


def test_clipnorm_clips_each_variable_global_clipnorm_all_together(lesson):
    text = lesson.text("claim-clip-norms")
    rows = {
        line.split()[0]: [float(v) for v in line.split()[1:]]
        for line in text.splitlines()[1:]
        if "/" in line.split()[0]
    }
    assert len(rows) == 8
    for raw, per_variable, global_ in rows.values():
        assert per_variable == pytest.approx(min(raw, 1.0), rel=0.01)
    global_norm = re.search(r"global norm\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", text)
    raw, per_variable, global_ = map(float, global_norm.groups())
    assert global_ == pytest.approx(1.0, rel=1e-3)
    assert 1.0 < per_variable < np.sqrt(8)
    for r, _, g in rows.values():
        assert g == pytest.approx(r / raw, rel=0.02), "one common factor"
    cosine = re.search(r"cos to unclipped\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", text)
    assert float(cosine.group(3)) == pytest.approx(1.0, abs=1e-3)
    assert float(cosine.group(2)) < 0.99
    markdown = lesson.markdown()
    assert "https://keras.io/api/optimizers/" in markdown
    assert re.search(r"This\s+notebook uses `global_clipnorm`", markdown)


def test_clipping_against_its_no_clipping_control(lesson):
    text = lesson.text("claim-clip-control")
    assert text.count("He init, lr 1.0") == 3, "same model and lr for every seed"
    no_clip = re.findall(r"no clipping\s+(loss by epoch .*)$", text, re.MULTILINE)
    assert len(no_clip) == 3
    for line in no_clip:
        final = _losses(line + ";")[-1]
        accuracy = re.search(r"val accuracy ([\d.]+)", line)
        assert not np.isfinite(final) or float(accuracy.group(1)) < 0.15
    assert text.count("Invalid loss, terminating training") >= 2
    summary = {
        mode: (float(mean), float(std))
        for mode, mean, std in re.findall(
            r"^(global_clipnorm=1|clipnorm=1)\s+val accuracy over seeds .*; "
            r"mean ([\d.]+) \+- ([\d.]+)$",
            text,
            re.MULTILINE,
        )
    }
    seeds = re.search(r"global_clipnorm=1\s+val accuracy over seeds ([^;]+);", text)
    seeds = [float(v) for v in seeds.group(1).split(",")]
    assert min(seeds) > 0.5, "global clipping trains on every seed"
    assert summary["global_clipnorm=1"][0] > summary["clipnorm=1"][0] + 0.2


def test_orientation_and_sources(lesson):
    first = lesson.nb.cells[0].source
    assert "**Prerequisites:**" in first and "**Time:** about 30 minutes" in first
    markdown = lesson.markdown()
    for source in (
        "http://proceedings.mlr.press/v9/glorot10a.html",
        "https://arxiv.org/abs/1502.01852",
        "https://keras.io/api/callbacks/terminate_on_nan/",
    ):
        assert source in markdown
    assert "(04_weight_initialization.ipynb)" in lesson.nb.cells[-1].source
    for cell in lesson.nb.cells:
        if cell.cell_type == "code":
            assert "def vanishing" not in cell.source, "use vanishing_layers"
            assert "GradientTape" not in cell.source, "use diagnostics.gradient_norms"


# --- helpers introduced by the lesson ----------------------------------------------


def test_clipped_gradients_match_keras_documentation():
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=(4, 3)) * 3, rng.normal(size=3) * 0.1]
    norms = [np.linalg.norm(g) for g in grads]
    total = np.sqrt(sum(n * n for n in norms))
    per_variable = diagnostics.clipped_gradients(grads, clipnorm=1.0)
    for g, c, n in zip(grads, per_variable, norms):
        np.testing.assert_allclose(c, g / max(n, 1.0), rtol=1e-5, atol=1e-6)
    together = diagnostics.clipped_gradients(grads, global_clipnorm=1.0)
    for g, c in zip(grads, together):
        np.testing.assert_allclose(c, g / total, rtol=1e-5, atol=1e-6)
    values = diagnostics.clipped_gradients(grads, clipvalue=0.5)
    np.testing.assert_allclose(values[0], np.clip(grads[0], -0.5, 0.5), rtol=1e-5)
    unchanged = diagnostics.clipped_gradients([keras.ops.ones((2,))])
    np.testing.assert_allclose(unchanged[0], [1.0, 1.0])
    assert np.linalg.norm(grads[0]) == pytest.approx(norms[0]), "inputs untouched"


def test_plot_gradient_norms_by_layer():
    series = {
        "sigmoid": {"hidden_1": 1e-6, "hidden_2": 1e-3, "output": 0.5},
        "relu": {"hidden_1": 0.2, "hidden_2": 0.3, "output": 0.2},
    }
    fig = plots.plot_gradient_norms_by_layer(series, ratio=1e-3, title="t")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    left, right = fig.axes
    assert fig.get_suptitle() == "t"
    for ax in (left, right):
        assert ax.get_yscale() == "log"
        assert ax.get_xlabel() and ax.get_ylabel()
        assert [t.get_text() for t in ax.get_xticklabels()] == list(series["relu"])
    np.testing.assert_allclose(right.lines[0].get_ydata(), [2e-6, 2e-3, 1.0])
    dashed = [line for line in right.lines if line.get_linestyle() == "--"]
    assert dashed and dashed[0].get_ydata()[0] == pytest.approx(1e-3)
