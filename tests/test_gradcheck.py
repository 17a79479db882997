"""course.gradcheck: passes correct gradients, catches a planted bug."""

from course import gradcheck

import keras
import numpy as np
import pytest
import tensorflow as tf


class ScaledGradDense(keras.layers.Layer):
    """A dense layer whose custom gradient for the kernel is multiplied by ``scale``."""

    def __init__(self, units, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.scale = scale

    def build(self, input_shape):
        self.kernel = self.add_weight(
            shape=(input_shape[-1], self.units), initializer="glorot_uniform"
        )

    def call(self, x):
        scale = self.scale

        @tf.custom_gradient
        def matmul(a, w):
            def grad(upstream):
                dw = tf.matmul(a, upstream, transpose_a=True)
                return tf.matmul(upstream, w, transpose_b=True), scale * dw

            return tf.matmul(a, w), grad

        return matmul(x, tf.identity(self.kernel))

    def get_config(self):
        return {**super().get_config(), "units": self.units, "scale": self.scale}


def smooth_model(custom_scale=None):
    inputs = keras.Input((20,))
    h = keras.layers.Dense(8, activation="tanh")(inputs)
    if custom_scale is None:
        h = keras.layers.Dense(5)(h)
    else:
        h = ScaledGradDense(5, scale=custom_scale)(h)
    out = keras.layers.Softmax()(h)
    model = keras.Model(inputs, out)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    return rng.normal(size=(16, 20)).astype("float32"), rng.integers(0, 5, 16)


def test_relative_error_properties():
    assert gradcheck.relative_error(0.0, 0.0) == 0.0
    assert gradcheck.relative_error(1.0, -1.0) == 1.0
    assert gradcheck.relative_error(2.0, 1.0) == pytest.approx(1 / 3)


def test_verdict_bands():
    assert gradcheck.verdict(1e-9) == "correct"
    assert gradcheck.verdict(1e-5) == "acceptable"
    assert gradcheck.verdict(1e-3) == "suspicious"
    assert gradcheck.verdict(0.5) == "wrong"
    assert gradcheck.verdict(float("nan")) == "wrong"


def test_correct_model_passes_in_float64(batch):
    x, y = batch
    result = gradcheck.gradient_check(smooth_model(), x, y)
    assert result.max_rel_error < 1e-6
    assert result.passed
    assert len(result.errors) == 4


def test_correct_custom_gradient_passes(batch):
    x, y = batch
    result = gradcheck.gradient_check(smooth_model(custom_scale=1.0), x, y)
    assert result.max_rel_error < 1e-6


def test_buggy_custom_gradient_is_flagged(batch):
    x, y = batch
    result = gradcheck.gradient_check(smooth_model(custom_scale=2.0), x, y)
    assert result.max_rel_error > 1e-2
    assert result.verdict == "wrong" and not result.passed
    kernel = [k for k in result.errors if "scaled_grad_dense" in k][0]
    assert result.errors[kernel] == pytest.approx(1 / 3, rel=1e-3)
    # The untouched layers are still correct: the check localises the bug.
    assert min(result.errors.values()) < 1e-6


def test_float32_with_tiny_eps_calls_a_correct_gradient_wrong(batch):
    x, y = batch
    result = gradcheck.gradient_check(smooth_model(), x, y, dtype="float32", eps=1e-7)
    assert result.max_rel_error > 1e-2


def test_check_leaves_the_model_untouched(batch):
    x, y = batch
    model = smooth_model()
    before = [w.copy() for w in model.get_weights()]
    gradcheck.gradient_check(model, x, y)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert model.layers[1].kernel.dtype == "float32"


def test_uncompiled_model_is_a_clear_error(batch):
    x, y = batch
    inputs = keras.Input((20,))
    model = keras.Model(inputs, keras.layers.Dense(5, activation="softmax")(inputs))
    with pytest.raises(ValueError, match="compiled"):
        gradcheck.gradient_check(model, x, y)
