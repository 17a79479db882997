"""course.callbacks, course.lr and course.plots."""

from course import diagnostics, lr, models, plots
from course.callbacks import GradientMonitor

import keras
import numpy as np
import pytest
from matplotlib.figure import Figure


def test_gradient_monitor_records_per_layer_norms(tiny_data):
    x, y = tiny_data
    model = models.model_with_init()
    monitor = GradientMonitor(x[:128], y[:128])
    history = model.fit(x, y, epochs=3, batch_size=64, verbose=0, callbacks=[monitor])
    assert len(monitor.history) == 3
    assert list(monitor.history[0]) == ["hidden_1", "hidden_2", "output"]
    assert monitor.as_array().shape == (3, 3)
    assert len(history.history["gradient_norm"]) == 3
    # The last record equals a direct computation on the trained model.
    direct = diagnostics.kernel_norms_by_layer(
        diagnostics.gradient_norms(model, x[:128], y[:128])
    )
    for name, value in monitor.history[-1].items():
        assert value == pytest.approx(direct[name], rel=1e-4)


def test_gradient_monitor_resets_between_fits(tiny_data):
    x, y = tiny_data
    model = models.model_with_init()
    monitor = GradientMonitor(x[:64], y[:64], freq=2)
    model.fit(x, y, epochs=3, verbose=0, callbacks=[monitor])
    assert monitor.epochs == [0, 2]
    model.fit(x, y, epochs=1, verbose=0, callbacks=[monitor])
    assert monitor.epochs == [0]
    with pytest.raises(ValueError):
        GradientMonitor(x, y, freq=0)


def test_lr_range_test_restores_weights_and_optimizer(tiny_data):
    x, y = tiny_data
    model = models.model_with_init()
    model.fit(x[:64], y[:64], verbose=0)  # optimizer state is non-trivial now
    weights = [w.copy() for w in model.get_weights()]
    opt_state = [v.numpy().copy() for v in model.optimizer.variables]
    result = lr.lr_range_test(model, x, y, num_steps=60, progress=False)
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))
    now = [v.numpy() for v in model.optimizer.variables]
    assert all(np.array_equal(a, b) for a, b in zip(opt_state, now))
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)
    assert np.all(np.diff(result.lrs) > 0)
    assert result.suggested_lr == pytest.approx(result.best_lr / 10)
    assert 1e-5 < result.suggested_lr < 1.0


def test_lr_range_test_stops_when_loss_diverges(tiny_data):
    x, y = tiny_data
    model = models.model_with_init()
    result = lr.lr_range_test(model, x, y, max_lr=1e4, num_steps=80, progress=False)
    assert result.diverged
    assert len(result.lrs) < 80
    assert result.losses[-1] > 4 * np.nanmin(result.losses[:-1])


def test_lr_range_test_rejects_bad_range(tiny_data):
    x, y = tiny_data
    with pytest.raises(ValueError):
        lr.lr_range_test(models.model_with_init(), x, y, min_lr=1.0, max_lr=0.1)


def test_plots_return_figures(tiny_data):
    x, y = tiny_data
    names = [f"class {i}" for i in range(10)]
    fig = plots.plot_image_grid(x[:10], y[:10], names, predictions=y[::-1][:10])
    assert isinstance(fig, Figure) and len(fig.axes) == 16
    fig = plots.plot_histograms({"h1": x[:, 0], "h2": x[:, 1]}, {"h1": 0.5})
    assert "50% dead" in fig.axes[0].get_title()
    history = {
        "loss": [2.0, 1.0, 0.5],
        "accuracy": [0.3, 0.6, 0.8],
        "val_loss": [2.0, 1.2, 0.9],
        "val_accuracy": [0.3, 0.5, 0.7],
    }
    fig = plots.plot_training_dashboard(history, gradient_norms=[1.0, 0.5, 0.2])
    assert len(fig.axes) == 6
    titles = " ".join(ax.get_title() for ax in fig.axes)
    for word in ("Loss", "Accuracy", "gap", "Gradient", "Weight", "change"):
        assert word in titles
    result = lr.lr_range_test(
        models.model_with_init(), x, y, num_steps=20, progress=False
    )
    fig = plots.plot_lr_finder(result)
    assert fig.axes[0].get_xscale() == "log"


def test_terminate_on_nan_is_keras_own():
    # The course re-uses Keras' callback rather than re-writing it.
    import course.callbacks

    assert not hasattr(course.callbacks, "TerminateOnNaN")
    assert keras.callbacks.TerminateOnNaN is not None
