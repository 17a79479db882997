"""Lesson 08 (TensorFlow debugging tools): its text's claims, on its outputs.

Each test reads the numbers a tagged cell of the executed notebook printed
(``tests/lesson_outputs.py``) and checks a claim the markdown makes about them,
with tolerances. The last tests cover the helpers the lesson introduced
(``course.monitoring`` and three plots).
"""

from __future__ import annotations

from course import diagnostics, models, plots
from course.monitoring import (
    GradientHistograms,
    UpdateRatioMonitor,
    parse_check_numerics,
    read_event_files,
)

import re

import keras
import numpy as np
import pytest
import tensorflow as tf
from matplotlib.figure import Figure

from tests.lesson_outputs import Lesson

NAME = "08_tensorflow_debugging_tools.ipynb"
NUM = r"([-+\d.e]+|nan|inf)"


@pytest.fixture(scope="module")
def lesson():
    return Lesson(NAME)


def _values(text, label):
    """The comma-separated numbers after ``label``, up to the end of the line."""
    found = re.search(rf"{label}([^\n;]+)", text)
    assert found, f"{label!r} not in\n{text}"
    return [float(v) for v in found.group(1).split(",")]


# --- 1. TensorBoard -----------------------------------------------------------------


def test_scalars_and_histograms_are_read_back_from_the_event_files(lesson):
    text = lesson.text("claim-tb-scalars")
    assert re.search(r"histograms train\s+12 tags", text), "6 weights + 6 gradients"
    train = _values(text, r"train\s+epoch_loss at steps 0, 1, 2, 3, 4: ")
    val = _values(text, r"validation epoch_loss at steps 0, 1, 2, 3, 4: ")
    assert train == sorted(train, reverse=True) and val == sorted(val, reverse=True)
    assert train[0] == pytest.approx(1.50, abs=0.05)  # "falls from 1.50 to 0.66"
    assert train[-1] == pytest.approx(0.66, abs=0.05)
    assert val[0] == pytest.approx(1.04, abs=0.05)  # "from 1.04 to 0.68"
    assert val[-1] == pytest.approx(0.68, abs=0.05)
    assert abs(val[-1] - train[-1]) < 0.1, "the two curves stay close"
    assert lesson.has_image("claim-tb-scalar-figure")


def test_weight_histograms_hardly_move_gradients_narrow(lesson):
    text = lesson.text("claim-tb-histograms")
    weights = _values(text, r"hidden_1/kernel/histogram\s+std after each epoch ")
    grads = _values(text, r"hidden_1/kernel/gradient\s+std after each epoch ")
    assert len(weights) == len(grads) == 5
    assert weights[0] == pytest.approx(np.sqrt(2 / 784), rel=0.02)  # He's std
    assert abs(weights[-1] / weights[0] - 1) < 0.02, "hardly moves"
    output = _values(text, r"output/kernel/histogram\s+std after each epoch ")
    assert output[0] == pytest.approx(0.170, abs=0.005)  # "from 0.170 to 0.183"
    assert output[-1] == pytest.approx(0.183, abs=0.005)
    assert grads[0] == pytest.approx(0.0037, rel=0.1)
    assert all(0.0025 < g < 0.0031 for g in grads[1:])  # "then 0.0027-0.0029"
    assert max(grads[1:]) < grads[0]
    assert lesson.has_image("claim-tb-histograms")


def test_tensorboard_is_explained_not_started(lesson):
    markdown = lesson.markdown()
    for command in ("tensorboard --logdir", "%load_ext tensorboard", "%tensorboard"):
        assert command in markdown
    for cell in lesson.nb.cells:
        if cell.cell_type == "code":
            assert "tensorboard --logdir" not in cell.source, "no server started"


# --- 2. check_numerics --------------------------------------------------------------


def test_plain_run_shows_when_check_numerics_shows_where(lesson):
    plain = lesson.text("claim-plain-nan")
    step = lesson.number("claim-plain-nan", r"first non-finite loss at step (\d+)")
    assert step == 2
    losses = [float(v) for v in re.findall(rf"step \d+ {NUM}", plain)]
    assert losses[0] == pytest.approx(5.8e5, rel=0.1)  # "5.8e5 after step 0"
    assert 1e20 < losses[1] < 1e22  # "3.5e21 after step 1"
    assert np.isnan(losses[2])
    checked = lesson.text("claim-check-numerics")
    assert lesson.number("claim-check-numerics", r"Error in step (\d+)") == step
    assert "InvalidArgumentError" in checked
    report = re.search(r"op type: (\w+), output (\d+)", checked)
    assert report.groups() == ("MatMul", "0")
    assert re.search(r"node:\s+\S*hidden_3\S*/MatMul$", checked, re.MULTILINE)
    assert re.search(r"input 0: \S*hidden_2\S*/Relu", checked)
    assert re.search(r"input 1: \S*hidden_3\S*ReadVariableOp", checked)
    assert "Inf" in re.search(r"the output held: (.+)", checked).group(1)
    assert lesson.number("claim-check-numerics", r"after the error: (\d+) of 8") == 8


def test_the_overflow_behind_the_report(lesson):
    text = lesson.text("claim-overflow")
    rows = {
        name: (largest, float(inf), float(nan))
        for name, largest, inf, nan in re.findall(
            r"^(\w+)\s+largest finite \|output\|\s+(\S+); Inf ([\d.]+)%, NaN ([\d.]+)%",
            text,
            re.MULTILINE,
        )
    }
    assert rows["hidden_1"][1:] == (0.0, 0.0) and rows["hidden_2"][1:] == (0.0, 0.0)
    assert float(rows["hidden_2"][0]) > 1e30  # "reach 6.3e30"
    assert rows["hidden_3"][1] == pytest.approx(7.7, abs=1.0)
    assert rows["output"][0] == "none" and rows["output"][2] == 100.0


def test_check_numerics_is_turned_off_in_a_finally_block(lesson):
    code = "\n".join(c.source for c in lesson.nb.cells if c.cell_type == "code")
    assert re.search(
        r"finally:\n\s+tf\.debugging\.disable_check_numerics\(\)", code
    ), "the checks are turned off whatever happens"


# --- 3. run_eagerly -----------------------------------------------------------------


def test_eager_train_step_records_values_graph_mode_fails(lesson):
    norms = _values(lesson.text("claim-eager-norms"), "gradient norm by step .eager.: ")
    assert len(norms) == 5 and all(0.5 < n < 5 for n in norms)
    graph = lesson.text("claim-graph-error")
    assert "AttributeError: 'SymbolicTensor' object has no attribute 'numpy'" in graph
    assert lesson.number("claim-graph-error", r"recorded in graph mode: (\d+)") == 0
    markdown = lesson.markdown()
    assert "breakpoint()" in markdown and "run_eagerly=True" in markdown


def test_graph_mode_is_several_times_faster(lesson):
    eager = lesson.number("claim-eager-speed", r"run_eagerly=True\s+([\d.]+) steps/s")
    graph = lesson.number("claim-eager-speed", r"run_eagerly=False\s+([\d.]+) steps/s")
    assert graph > 2 * eager, "several times as fast"


# --- 4. update-to-weight ratio ------------------------------------------------------


def test_monitor_and_update_ratios_agree(lesson):
    rows = re.findall(
        r"^(\w+)\s+update_ratios ([\d.e-]+)\s+UpdateRatioMonitor ([\d.e-]+)$",
        lesson.text("claim-ratio-consistency"),
        re.MULTILINE,
    )
    assert [r[0] for r in rows] == ["hidden_1", "hidden_2", "output"]
    for _, one_step, monitor in rows:
        assert float(monitor) == pytest.approx(float(one_step), rel=1e-3)
        assert 0.005 < float(one_step) < 0.012  # "0.6% to 1.1% of its norm"


def _ratio_table(text):
    """{lr: {"medians": {layer: [seeds]}, "largest": [...], "accuracy": (m, s)}}."""
    table, lr = {}, None
    for line in text.splitlines()[1:]:
        row = re.match(r"^([\d.e-]+)?\s+(hidden_\d|output)\s+(.+)$", line)
        if row:
            if row.group(1):
                lr = float(row.group(1))
                table[lr] = {"medians": {}}
            values = [float(v) for v in row.group(3).split(",")]
            table[lr]["medians"][row.group(2)] = values
            continue
        found = re.search(
            r"largest ratio ([^;]+); val accuracy ([\d.]+) \+- ([\d.]+)", line
        )
        assert found, line
        table[lr]["largest"] = [float(v) for v in found.group(1).split(",")]
        table[lr]["accuracy"] = (float(found.group(2)), float(found.group(3)))
    return table


def test_learning_rates_too_low_about_right_too_high(lesson):
    table = _ratio_table(lesson.text("claim-update-ratios"))
    assert sorted(table) == [1e-4, 1e-2, 1e-1, 0.5]
    medians = {
        lr: np.concatenate(list(t["medians"].values())) for lr, t in table.items()
    }
    assert all(len(v) == 9 for v in medians.values()), "3 layers x 3 seeds"
    assert 6e-6 < medians[1e-4].min() and medians[1e-4].max() < 2.5e-5
    assert 4.5e-4 < medians[1e-2].min() and medians[1e-2].max() < 1.4e-3
    assert 6e-3 < medians[1e-1].min() and medians[1e-1].max() < 2.5e-2
    assert 2.5e-2 < medians[0.5].min() and medians[0.5].max() < 8.5e-2
    largest = table[0.5]["largest"]
    assert min(largest) > 0.5 and max(largest) < 1.0  # "58% to 94% of its norm"
    low, right, higher, high = (table[lr]["accuracy"] for lr in sorted(table))
    assert low[0] < 0.12, "chance level"
    assert higher[0] - right[0] > 2 * (higher[1] + right[1]), "0.1 ahead of 0.01"
    assert high[0] < higher[0] and high[1] > 3 * higher[1], "worse, and varies more"
    for lr in (1e-2, 1e-1, 0.5):
        m = table[lr]["medians"]
        for seed in range(3):
            for hidden in ("hidden_1", "hidden_2"):
                ratio = m["output"][seed] / m[hidden][seed]
                assert 1.15 < ratio < 2.7, (lr, seed, hidden)  # "1.2 to 2.6 times"
    assert lesson.has_image("claim-ratio-figure")


def test_orientation_and_sources(lesson):
    first = lesson.nb.cells[0].source
    assert "**Prerequisites:**" in first and "**Time:** about 35 minutes" in first
    markdown = lesson.markdown()
    for source in (
        "https://cs231n.github.io/neural-networks-3/#ratio",
        "https://www.tensorflow.org/api_docs/python/tf/debugging/enable_check_numerics",
        "https://keras.io/api/callbacks/tensorboard/",
    ):
        assert source in markdown
    assert "(09_debugging_checklist.ipynb)" in lesson.nb.cells[-1].source


# --- helpers introduced by the lesson -----------------------------------------------


def _tiny_model(learning_rate=0.1):
    keras.utils.set_random_seed(0)
    model = models.dense_stack((8,), kernel_initializer="he_normal")
    loss = "sparse_categorical_crossentropy"
    model.compile(keras.optimizers.SGD(learning_rate), loss=loss)
    return model


def _tiny_data(n=64):
    rng = np.random.default_rng(0)
    return rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)


def test_gradient_histograms_round_trip_through_the_event_files(tmp_path):
    x, y = _tiny_data()
    model = _tiny_model()
    callbacks = [
        keras.callbacks.TensorBoard(log_dir=str(tmp_path), histogram_freq=1),
        GradientHistograms(tmp_path, x[:32], y[:32]),
    ]
    model.fit(x, y, epochs=2, batch_size=32, verbose=0, callbacks=callbacks)
    events = read_event_files(tmp_path)
    steps, loss = events["scalars"]["train"]["epoch_loss"]
    assert list(steps) == [0, 1] and np.all(np.isfinite(loss))
    histograms = events["histograms"]["train"]
    for path in ("hidden_1/kernel", "hidden_1/bias", "output/kernel", "output/bias"):
        assert f"{path}/histogram" in histograms and f"{path}/gradient" in histograms
    steps, buckets = histograms["hidden_1/kernel/gradient"]
    assert list(steps) == [0, 1]
    assert all(b.shape == (30, 3) and b[:, 2].sum() == 784 * 8 for b in buckets)
    # The last histogram is the gradient of the trained model on the same sample.
    _, grads = diagnostics.loss_and_gradients(model, x[:32], y[:32])
    g = grads[0].numpy()
    assert buckets[-1][0, 0] == pytest.approx(g.min(), rel=1e-4, abs=1e-7)
    assert buckets[-1][-1, 1] == pytest.approx(g.max(), rel=1e-4, abs=1e-7)
    with pytest.raises(ValueError):
        GradientHistograms(tmp_path, x, y, histogram_freq=0)


def test_read_event_files_merges_files_and_keeps_the_last_value(tmp_path):
    for value in (1.0, 2.0):  # two writers, the second overwrites step 0
        writer = tf.summary.create_file_writer(str(tmp_path / "run"))
        with writer.as_default():
            tf.summary.scalar("x", value, step=0)
            tf.summary.scalar("x", value + 10, step=1 + int(value))
        writer.close()
    steps, values = read_event_files(tmp_path)["scalars"]["run"]["x"]
    assert list(steps) == [0, 2, 3]
    np.testing.assert_allclose(values, [2.0, 11.0, 12.0])
    assert read_event_files(tmp_path / "missing") == {"scalars": {}, "histograms": {}}


def test_parse_check_numerics_eager_and_graph_messages():
    tf.debugging.enable_check_numerics()
    try:
        with pytest.raises(tf.errors.InvalidArgumentError) as caught:
            tf.math.log(tf.constant([0.0, -1.0]))
    finally:
        tf.debugging.disable_check_numerics()
    report = parse_check_numerics(str(caught.value))
    assert report["op_type"] == "Log" and report["output"] == 0
    assert report["node"] is None and "NaN" in report["values"]
    graph = (
        '!!! Detected Infinity or NaN in output 0 of graph op "MatMul" (# of outputs:'
        " 1) !!!\n  Input tensors (2):\n"
        '         0: Tensor("m/hidden_2_1/Relu:0", shape=(None, 64), dtype=float32)\n'
        '         1: Tensor("m/hidden_3_1/Cast/ReadVariableOp:0", shape=(64, 64))\n'
        " : Tensor had -Inf, +Inf, and NaN values\n"
        "\t [[{{node m/hidden_3_1/MatMul/CheckNumericsV2}}]] [Op:__inference_f_1]"
    )
    assert parse_check_numerics(graph) == {
        "op_type": "MatMul",
        "node": "m/hidden_3_1/MatMul",
        "output": 0,
        "inputs": ["m/hidden_2_1/Relu:0", "m/hidden_3_1/Cast/ReadVariableOp:0"],
        "values": "-Inf, +Inf, and NaN",
    }
    empty = parse_check_numerics("something else")
    assert empty["op_type"] is None and empty["inputs"] == []


def test_update_ratio_monitor_matches_one_step_and_resets():
    x, y = _tiny_data()
    model = _tiny_model()
    one_step = diagnostics.update_ratios(model, x[:32], y[:32])
    monitor = UpdateRatioMonitor()
    model.fit(x, y, epochs=2, batch_size=32, shuffle=False, verbose=0,
              callbacks=[monitor])
    assert monitor.steps == [0, 1, 2, 3]
    assert list(monitor.history) == ["hidden_1", "output"]
    for name, ratio in one_step.items():
        assert monitor.history[name][0] == pytest.approx(ratio, rel=1e-4)
    medians = monitor.median_ratios()
    assert medians["output"] == pytest.approx(np.median(monitor.history["output"]))
    sparse = UpdateRatioMonitor(every=2, layers=["output"])
    model.fit(x, y, epochs=2, batch_size=32, verbose=0, callbacks=[sparse])
    model.fit(x, y, epochs=1, batch_size=32, verbose=0, callbacks=[sparse])
    assert sparse.steps == [0] and list(sparse.history) == ["output"], "reset"
    with pytest.raises(ValueError):
        UpdateRatioMonitor(every=0)


def test_plot_event_scalars_and_histograms_over_epochs():
    scalars = {
        "train": {"epoch_loss": (np.arange(3), np.array([2.0, 1.0, 0.5]))},
        "validation": {"epoch_loss": (np.arange(3), np.array([2.1, 1.2, 0.9]))},
    }
    fig = plots.plot_event_scalars(scalars, tags=["epoch_loss"], title="t",
                                   ylabels={"epoch_loss": "loss (nats)"})
    assert isinstance(fig, Figure) and fig.get_suptitle() == "t"
    (ax,) = fig.axes
    assert ax.get_ylabel() == "loss (nats)" and ax.get_xlabel() == "epoch"
    assert [line.get_label() for line in ax.lines] == ["train", "validation"]
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1, 2, 3])
    edges = np.linspace(-1, 1, 5)
    buckets = [np.stack([edges[:-1], edges[1:], counts], axis=1)
               for counts in ([1, 2, 2, 1], [0, 3, 3, 0])]
    fig = plots.plot_histograms_over_epochs({"w": (np.arange(2), buckets)}, ["w"],
                                            xlabels={"w": "weight value"})
    ax = fig.axes[0]
    assert ax.get_xlabel() == "weight value" and ax.get_ylabel()
    assert [line.get_label() for line in ax.lines] == ["epoch 1", "epoch 2"]
    density = ax.lines[0].get_ydata()
    assert np.sum(density * 0.5) == pytest.approx(1.0), "densities integrate to 1"


def test_plot_update_ratios():
    class Run:
        steps = [0, 1, 2]
        history = {"hidden_1": [1e-3, 2e-3, 0.0], "output": [1e-2, 2e-2, 3e-2]}

    fig = plots.plot_update_ratios({"lr 0.1": Run(), "lr 1": Run()}, title="t")
    assert isinstance(fig, Figure) and fig.get_suptitle() == "t"
    left, right = fig.axes
    for ax in (left, right):
        assert ax.get_yscale() == "log" and ax.get_xlabel() and ax.get_title()
        assert ax.get_legend() is not None
    assert left.get_ylabel()
    assert np.isnan(left.lines[0].get_ydata()[2]), "a zero ratio is left out"
    dashed = [line for line in left.lines if line.get_linestyle() == "--"]
    assert dashed and dashed[0].get_ydata()[0] == pytest.approx(1e-3)
