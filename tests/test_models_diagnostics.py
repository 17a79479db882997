"""course.models and course.diagnostics on synthetic data."""

from course import diagnostics as d
from course import models

import math

import keras
import numpy as np
import pytest


def test_factories_build_on_keras_input_and_compile():
    for factory in (
        models.dead_relu_model,
        models.deep_sigmoid_model,
        models.exploding_model,
        models.model_with_init,
        models.broken_model,
    ):
        model = factory()
        assert isinstance(model.layers[0], keras.layers.InputLayer)
        assert model.input_shape == (None, 784)
        assert model.output_shape == (None, 10)
        assert model.loss == "sparse_categorical_crossentropy"


def test_broken_model_is_the_module_one():
    model = models.broken_model()
    dense = [ly for ly in model.layers if isinstance(ly, keras.layers.Dense)]
    assert [ly.units for ly in dense] == [256] * 8 + [10]
    assert [ly.activation.__name__ for ly in dense] == ["sigmoid"] * 8 + ["softmax"]
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-5)


def test_broken_model_has_exactly_the_problems_its_docstring_names(tiny_data):
    """Exercise 1's key rests on these measurements: tiny steps and vanishing
    gradients, but no saturation."""
    x, y = tiny_data
    for seed in (0, 1, 2):
        keras.utils.set_random_seed(seed)
        model = models.broken_model()
        norms = d.kernel_norms_by_layer(d.gradient_norms(model, x[:256], y[:256]))
        values = list(norms.values())
        assert values[0] / values[-1] < 1e-3 / 5  # lesson 03's criterion, margin 5x
        stats = d.activation_stats(model, x[:256])
        saturation = [s["saturation_fraction"] for s in stats.values()]
        assert max(v for v in saturation if v is not None) < 0.01
        # Every step moves the weights by less than 1e-5 of their size (about 1e-3
        # is healthy): a learning rate far too small.
        assert max(d.update_ratios(model, x[:256], y[:256]).values()) < 1e-5


def test_update_ratios_measure_one_step_on_a_copy(tiny_data):
    x, y = tiny_data
    model = models.model_with_init()
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss=model.loss)
    before = [w.copy() for w in model.get_weights()]
    small = d.update_ratios(model, x[:64], y[:64])
    assert list(small) == ["hidden_1", "hidden_2", "output"]
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss=model.loss)
    large = d.update_ratios(model, x[:64], y[:64])
    # Plain SGD: the step is lr * gradient, so ten times the rate, ten times the step.
    for name in small:
        assert large[name] == pytest.approx(10 * small[name], rel=1e-3)
        assert 0 < small[name] < 1


def test_training_api_overrides_accepts_plain_keras_models():
    inputs = keras.Input(shape=(4,))
    functional = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    sequential = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(2)])

    class OwnCall(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    class FunctionalSubclass(keras.Model):
        pass

    subclassed = FunctionalSubclass(inputs, keras.layers.Dense(2)(inputs))
    for model in (functional, sequential, OwnCall(), subclassed, models.broken_model()):
        assert models.training_api_overrides(model) == [], type(model)


def test_training_api_overrides_finds_replaced_training():
    class FakeFit(keras.Sequential):
        def fit(self, *args, **kwargs):
            return None

        def train_step(self, data):
            return {}

    faked = FakeFit([keras.Input(shape=(4,)), keras.layers.Dense(2)])
    assert models.training_api_overrides(faked) == ["fit", "train_step"]
    instance = models.broken_model()
    instance.predict = lambda x, **kwargs: np.zeros((len(x), 10))
    assert models.training_api_overrides(instance) == ["predict"]
    assert models.training_api_overrides(object()) == list(models.TRAINING_API)


def test_dead_relu_model_has_all_units_dead(tiny_data):
    x, _ = tiny_data
    stats = d.activation_stats(models.dead_relu_model(), x)
    assert stats["hidden_1"]["dead_fraction"] == 1.0
    assert stats["hidden_2"]["dead_fraction"] == 1.0
    assert stats["output"]["dead_fraction"] == 0.0


def test_he_model_is_alive(tiny_data):
    x, _ = tiny_data
    stats = d.activation_stats(models.model_with_init("he_normal"), x)
    assert stats["hidden_1"]["dead_fraction"] < 0.2
    assert stats["hidden_2"]["dead_fraction"] < 0.2


def test_dead_means_zero_for_every_input_not_on_average():
    # Unit 0 is zero for half the samples (sparse, alive); unit 1 always zero.
    a = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0], [2.0, 0.0]])
    assert d.dead_fraction(a) == 0.5
    assert d.dead_fraction(np.ones((3, 4))) == 0.0


def test_activation_stats_single_forward_pass(tiny_data, monkeypatch):
    x, _ = tiny_data
    model = models.deep_sigmoid_model()
    probes = []
    original = keras.Model.__init__

    def counting_init(self, *args, **kwargs):
        probes.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "__init__", counting_init)
    stats = d.activation_stats(model, x)
    # One multi-output model over all layers, not one model per layer.
    assert len(probes) == 1
    assert len(stats) == 11
    assert stats["hidden_1"]["saturation_fraction"] is not None
    assert stats["output"]["saturation_fraction"] is None


def test_sigmoid_gradients_vanish_towards_the_input(tiny_data):
    x, y = tiny_data
    norms = d.kernel_norms_by_layer(d.gradient_norms(models.deep_sigmoid_model(), x, y))
    values = list(norms.values())
    assert list(norms)[0] == "hidden_1" and list(norms)[-1] == "output"
    assert values[0] / values[-1] < 1e-3


def test_he_relu_gradients_do_not_vanish(tiny_data):
    x, y = tiny_data
    norms = d.kernel_norms_by_layer(d.gradient_norms(models.deep_relu_he_model(), x, y))
    values = list(norms.values())
    assert values[0] / values[-1] > 1e-2


def test_gradient_norms_has_kernel_and_bias(tiny_data):
    x, y = tiny_data
    norms = d.gradient_norms(models.model_with_init(), x[:64], y[:64])
    assert set(norms) == {"hidden_1", "hidden_2", "output"}
    assert set(norms["output"]) == {"kernel", "bias"}
    assert all(v > 0 for layer in norms.values() for v in layer.values())


def test_weight_stats_matches_numpy():
    model = models.model_with_init()
    stats = d.weight_stats(model)
    kernel = model.get_layer("hidden_1").kernel.numpy()
    assert stats["hidden_1"]["kernel"]["std"] == pytest.approx(kernel.std(), rel=1e-5)
    assert stats["hidden_1"]["kernel"]["max"] == pytest.approx(kernel.max())
    assert stats["hidden_1"]["bias"]["norm"] == 0.0


def test_initial_loss_check(tiny_data):
    x, y = tiny_data
    good = d.check_initial_loss(models.model_with_init("glorot_uniform"), x, y)
    assert good["expected"] == pytest.approx(math.log(10))
    assert good["ok"], good
    bad = d.check_initial_loss(models.exploding_model(), x, y)
    assert not bad["ok"] and bad["loss"] > 3 * math.log(10)


def test_overfit_single_batch_separates_healthy_from_broken(tiny_data):
    x, y = tiny_data
    healthy = models.model_with_init()
    before = [w.copy() for w in healthy.get_weights()]
    result = d.overfit_single_batch(healthy, x[:32], y[:32])
    assert result["passed"] and result["final_accuracy"] == 1.0
    assert all(np.array_equal(a, b) for a, b in zip(before, healthy.get_weights()))
    broken = d.overfit_single_batch(models.broken_model(), x[:32], y[:32], epochs=30)
    assert not broken["passed"]


def test_architecture_report_flags_mismatches():
    assert d.architecture_report(models.model_with_init()).ok
    inputs = keras.Input((784,))
    h = keras.layers.Dense(4, activation="linear", name="narrow")(inputs)
    out = keras.layers.Dense(10, activation="softmax")(h)
    model = keras.Model(inputs, out)
    model.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        optimizer="adam",
    )
    report = d.architecture_report(model, num_classes=10)
    text = " ".join(report.issues)
    assert "from_logits=True" in text
    assert "bottleneck" in text
    assert "non-linearity" in text
    assert "params" in str(report)
    report = d.architecture_report(models.broken_model())
    assert any("saturating" in issue for issue in report.issues)


def test_find_nonfinite_after_explosion(tiny_data):
    x, y = tiny_data
    model = models.exploding_model()
    assert d.find_nonfinite(model) == []
    history = model.fit(
        x, y, epochs=2, verbose=0, callbacks=[keras.callbacks.TerminateOnNaN()]
    )
    assert not np.isfinite(history.history["loss"][-1])
    assert "hidden_1/kernel" in d.find_nonfinite(model)


def test_diagnose_history_kinds():
    assert d.diagnose_history({"loss": [2.3, float("nan")]})[0]["kind"] == "exploding"
    flat = {"loss": [2.30, 2.29, 2.29], "accuracy": [0.1, 0.1, 0.11]}
    assert d.diagnose_history(flat)[0]["kind"] == "not_learning"
    over = {
        "loss": [1.0, 0.5, 0.2, 0.05],
        "accuracy": [0.7, 0.85, 0.95, 0.99],
        "val_loss": [0.9, 0.6, 0.7, 0.9],
        "val_accuracy": [0.7, 0.8, 0.8, 0.79],
    }
    assert [f["kind"] for f in d.diagnose_history(over)] == ["overfitting"]
    healthy = {
        "loss": [1.0, 0.5, 0.3, 0.25],
        "accuracy": [0.7, 0.85, 0.9, 0.91],
        "val_loss": [0.9, 0.5, 0.35, 0.3],
        "val_accuracy": [0.7, 0.85, 0.89, 0.9],
    }
    assert d.diagnose_history(healthy) == []
    vanishing = d.diagnose_history(healthy, {"a": 1e-7, "b": 1e-2})
    assert [f["kind"] for f in vanishing] == ["vanishing_gradients"]


def test_confusion_pairs_counts():
    y_true = [0, 0, 0, 1, 1, 2]
    y_pred = [6, 6, 0, 2, 1, 2]
    assert d.confusion_pairs(y_true, y_pred, top=5) == [(0, 6, 2), (1, 2, 1)]
    names = ["a", "b", "c", "d", "e", "f", "g"]
    assert d.confusion_pairs(y_true, y_pred, names, top=1) == [("a", "g", 2)]


def test_integrated_gradients_completeness(tiny_data):
    x, _ = tiny_data
    model = models.model_with_init()
    attributions = d.integrated_gradients(model, x[0], target=3, steps=200)
    p = model.predict(np.stack([x[0], np.zeros_like(x[0])]), verbose=0)[:, 3]
    # Completeness axiom: attributions sum to f(x) - f(baseline).
    assert attributions.shape == (784,)
    assert attributions.sum() == pytest.approx(p[0] - p[1], abs=2e-3)


def test_vanishing_layers_flags_the_deep_sigmoid_network(tiny_data):
    x, y = tiny_data
    norms = d.kernel_norms_by_layer(d.gradient_norms(models.deep_sigmoid_model(), x, y))
    flagged = d.vanishing_layers(norms)
    assert flagged[0] == "hidden_1" and "output" not in flagged
    # Names come back in layer order.
    assert flagged == [name for name in norms if name in flagged]


def test_vanishing_layers_leaves_healthy_networks_alone(tiny_data):
    x, y = tiny_data
    norms = d.kernel_norms_by_layer(d.gradient_norms(models.deep_relu_he_model(), x, y))
    assert d.vanishing_layers(norms) == []
    assert d.vanishing_layers({"hidden_1": 0.5, "hidden_2": 0.8, "output": 1.0}) == []


def test_vanishing_layers_ignores_an_output_without_gradient():
    # Every hidden unit dead: nothing reaches the output kernel either. That is
    # reported as dead neurons, not as vanishing gradients.
    assert d.vanishing_layers({"hidden_1": 0.0, "hidden_2": 0.0, "output": 0.0}) == []
    assert d.vanishing_layers({"hidden_1": 1e-9, "output": float("nan")}) == []
    assert d.vanishing_layers({}) == []


def test_vanishing_layers_honours_the_ratio():
    norms = {"hidden_1": 1e-6, "hidden_2": 1e-2, "hidden_3": 0.5, "output": 1.0}
    assert d.vanishing_layers(norms) == ["hidden_1"]
    assert d.vanishing_layers(norms, ratio=0.1) == ["hidden_1", "hidden_2"]
    assert d.vanishing_layers(norms, ratio=1e-7) == []
    # The ratio is relative: scaling every norm changes nothing.
    scaled = {name: 1e-4 * norm for name, norm in norms.items()}
    assert d.vanishing_layers(scaled) == ["hidden_1"]
    # A ratio above 1 flags the output layer too.
    assert d.vanishing_layers(norms, ratio=10.0) == list(norms)
