"""Model factories for the module's demonstrations.

Every model is a functional Keras 3 model built on ``keras.Input`` and compiled with
sparse categorical cross-entropy and accuracy, ready for ``fit``. Call
``keras.utils.set_random_seed`` before a factory to make its weights reproducible.
"""

from __future__ import annotations

import inspect

import keras

NUM_PIXELS = 784
NUM_CLASSES = 10
LOSS = "sparse_categorical_crossentropy"


def _compile(model: keras.Model, optimizer: keras.optimizers.Optimizer) -> keras.Model:
    model.compile(optimizer=optimizer, loss=LOSS, metrics=["accuracy"])
    return model


def dense_stack(
    units: list[int] | tuple[int, ...],
    activation: str = "relu",
    kernel_initializer="glorot_uniform",
    name: str = "mlp",
    output_activation: str = "softmax",
    input_dim: int = NUM_PIXELS,
    num_classes: int = NUM_CLASSES,
) -> keras.Model:
    """Build an uncompiled MLP ``input_dim -> units... -> num_classes``.

    Hidden layers are named ``hidden_1``, ``hidden_2``, ... and the output layer
    ``output``, so diagnostics and plots read naturally. Introduced in
    ``01_common_problems_and_dead_neurons.ipynb``.

    Args:
        units: sizes of the hidden layers.
        activation: activation of every hidden layer. Defaults to ``"relu"``.
        kernel_initializer: initializer (name or object) of every hidden kernel.
            Defaults to ``"glorot_uniform"``.
        name: the model's name. Defaults to ``"mlp"``.
        output_activation: activation of the output layer. Defaults to
            ``"softmax"``.
        input_dim: number of input features. Defaults to 784.
        num_classes: number of output units. Defaults to 10.
    """
    inputs = keras.Input(shape=(input_dim,), name="pixels")
    x = inputs
    for i, n in enumerate(units, start=1):
        x = keras.layers.Dense(
            n,
            activation=activation,
            kernel_initializer=keras.initializers.get(kernel_initializer),
            name=f"hidden_{i}",
        )(x)
    outputs = keras.layers.Dense(
        num_classes, activation=output_activation, name="output"
    )(x)
    return keras.Model(inputs, outputs, name=name)


def dead_relu_model(
    units: tuple[int, ...] = (128, 64), learning_rate: float = 1e-5
) -> keras.Model:
    """A ReLU network whose hidden units are all dead from the first step.

    Every hidden kernel is the constant -1 and every bias 0, so for non-negative
    pixels each pre-activation is <= 0, ReLU outputs 0 for every input and no
    gradient reaches the hidden weights; the tiny SGD learning rate means even the
    output bias barely moves. Introduced in
    ``01_common_problems_and_dead_neurons.ipynb``.

    Args:
        units: sizes of the hidden layers. Defaults to ``(128, 64)``.
        learning_rate: SGD learning rate. Defaults to ``1e-5``.
    """
    model = dense_stack(
        units,
        activation="relu",
        kernel_initializer=keras.initializers.Constant(-1.0),
        name="dead_relu",
    )
    return _compile(model, keras.optimizers.SGD(learning_rate=learning_rate))


def deep_sigmoid_model(
    depth: int = 10, units: int = 50, learning_rate: float = 0.01
) -> keras.Model:
    """A deep sigmoid network that suffers from vanishing gradients.

    ``depth`` hidden ``Dense(units, sigmoid)`` layers with Glorot initialisation and
    plain SGD. Each sigmoid multiplies the backward signal by at most 0.25, so the
    first layers receive gradients orders of magnitude smaller than the last.
    Introduced in ``03_vanishing_and_exploding_gradients.ipynb``.

    Args:
        depth: number of hidden layers. Defaults to 10.
        units: units per hidden layer. Defaults to 50.
        learning_rate: SGD learning rate. Defaults to ``0.01``.
    """
    model = dense_stack([units] * depth, activation="sigmoid", name="deep_sigmoid")
    return _compile(model, keras.optimizers.SGD(learning_rate=learning_rate))


def deep_relu_he_model(
    depth: int = 10, units: int = 50, learning_rate: float = 0.01
) -> keras.Model:
    """The same depth as :func:`deep_sigmoid_model`, with ReLU and He initialisation.

    The fix for vanishing gradients, shown side by side with the sigmoid network.
    Introduced in ``12_exercise_training_monitor.ipynb``.

    Args:
        depth: number of hidden layers. Defaults to 10.
        units: units per hidden layer. Defaults to 50.
        learning_rate: SGD learning rate. Defaults to ``0.01``.
    """
    model = dense_stack(
        [units] * depth,
        activation="relu",
        kernel_initializer="he_normal",
        name="deep_relu_he",
    )
    return _compile(model, keras.optimizers.SGD(learning_rate=learning_rate))


def exploding_model(
    units: tuple[int, ...] = (128, 64, 64),
    stddev: float = 10.0,
    learning_rate: float = 10.0,
    clipnorm: float | None = None,
) -> keras.Model:
    """A ReLU network with N(0, stddev) kernels and a huge SGD learning rate.

    With the defaults the activations and gradients grow by orders of magnitude per
    layer and the loss turns NaN within a few steps. ``clipnorm`` adds gradient
    clipping (one of the fixes). Introduced in
    ``03_vanishing_and_exploding_gradients.ipynb``.

    Args:
        units: sizes of the hidden layers. Defaults to ``(128, 64, 64)``.
        stddev: standard deviation of the normal kernel initializer. Defaults to
            ``10.0``.
        learning_rate: SGD learning rate. Defaults to ``10.0``.
        clipnorm: clip each gradient to this norm, or ``None`` for no clipping.
            Defaults to ``None``.
    """
    model = dense_stack(
        units,
        activation="relu",
        kernel_initializer=keras.initializers.RandomNormal(stddev=stddev),
        name="exploding",
    )
    optimizer = keras.optimizers.SGD(learning_rate=learning_rate, clipnorm=clipnorm)
    return _compile(model, optimizer)


def model_with_init(
    initializer="he_normal",
    units: tuple[int, ...] = (128, 64),
    activation: str = "relu",
    learning_rate: float = 1e-3,
) -> keras.Model:
    """The 784-128-64-10 ReLU network with Adam, for comparing initialisers.

    Introduced in ``09_debugging_checklist.ipynb`` (lesson 04 trains the same
    network through :func:`compare_initializers`).

    Args:
        initializer: kernel initializer of the hidden layers (a name such as
            ``"glorot_uniform"``/``"he_normal"`` or an initializer object). Defaults
            to ``"he_normal"``.
        units: sizes of the hidden layers. Defaults to ``(128, 64)``.
        activation: hidden activation. Defaults to ``"relu"``.
        learning_rate: Adam learning rate. Defaults to ``1e-3``.
    """
    name = initializer if isinstance(initializer, str) else type(initializer).__name__
    model = dense_stack(
        units,
        activation=activation,
        kernel_initializer=initializer,
        name=f"init_{name}",
    )
    return _compile(model, keras.optimizers.Adam(learning_rate=learning_rate))


def broken_model(learning_rate: float = 1e-5) -> keras.Model:
    """The module's broken model: 784 -> 8 x Dense(256, sigmoid) -> softmax, SGD 1e-5.

    It hardly learns, for two measurable reasons: one SGD step moves the weights by
    about 1e-6 of their size (``diagnostics.update_ratios``; about 1e-3 is
    healthy), and the gradient shrinks by a factor of 4 or more at every sigmoid
    layer (sigmoid' <= 0.25), so the first layer receives about 1e-5 of the output
    layer's gradient (lesson 03's criterion for vanishing gradients is 1e-3),
    although no unit saturates. Exercise 1 asks the student to measure, diagnose
    and fix it. Introduced in ``09_debugging_checklist.ipynb``.

    Args:
        learning_rate: SGD learning rate. Defaults to ``1e-5``.
    """
    model = dense_stack([256] * 8, activation="sigmoid", name="broken")
    return _compile(model, keras.optimizers.SGD(learning_rate=learning_rate))


#: The methods Keras's own ``fit``/``evaluate``/``predict`` run through; a model
#: graded on how it trains must not replace any of them.
TRAINING_API = (
    "__call__",
    "compile",
    "fit",
    "evaluate",
    "predict",
    "train_on_batch",
    "test_on_batch",
    "predict_on_batch",
    "train_step",
    "test_step",
    "predict_step",
    "make_train_function",
    "make_test_function",
    "make_predict_function",
    "compute_loss",
    "compute_metrics",
)


def training_api_overrides(model: keras.Model) -> list[str]:
    """Names in ``TRAINING_API`` that ``model`` does not take from Keras itself.

    A model built with ``keras.Sequential`` or ``keras.Model(inputs, outputs)`` (or a
    ``keras.Model`` subclass that only defines ``__init__``/``call``) returns ``[]``.
    A method defined on the model instance, or on a class between the model's class
    and Keras's own ``Model``/``Sequential``/``Functional``, is listed: such a model
    could fake its training, so exercise 1's tests refuse it. Introduced in
    ``10_exercise_fix_broken_model.ipynb``.

    Args:
        model: the model to inspect.
    """
    from keras.src.models.functional import Functional

    keras_classes = (keras.Model, keras.Sequential, Functional)
    mro = type(model).__mro__
    base = next((cls for cls in mro if cls in keras_classes), None)
    if base is None:
        return list(TRAINING_API)
    instance_attrs = getattr(model, "__dict__", {})
    return [
        name
        for name in TRAINING_API
        if name in instance_attrs
        or inspect.getattr_static(type(model), name, None)
        is not inspect.getattr_static(base, name, None)
    ]


def compare_initializers(
    initializers: dict,
    x,
    y,
    validation_data,
    units: tuple[int, ...] = (128, 64),
    optimizer: keras.optimizers.Optimizer | None = None,
    seeds: tuple[int, ...] = (0, 1, 2),
    epochs: int = 4,
    batch_size: int = 128,
    activation: str = "relu",
    progress: bool = True,
    validation_freq: int = 1,
) -> dict[str, list[dict]]:
    """Train one MLP from several kernel initialisers and seeds; return the histories.

    For every label of ``initializers`` and every seed: ``set_random_seed(seed)``,
    build :func:`dense_stack` ``(units, activation)`` with that initialiser for the
    hidden kernels, and train it for ``epochs`` with ``fit(..., verbose=0)``. With
    the same seed, runs differ only in their hidden kernels (the output layer, the
    zero biases and the batch order are the same) for initialisers that draw one
    seed each, as all of Keras' random initialisers do. Give each initialiser as
    a name (``"he_normal"``) or a config dict (``{"class_name": "RandomNormal",
    "config": {"stddev": 0.01}}``), so every layer gets its own: one initialiser
    object shared by layers of equal shape gives them equal kernels, since a Keras
    initialiser returns the same values on every call.

    One model is compiled and traced once per call and reused: each run loads the
    freshly built model's weights and the optimiser's initial state, which gives
    the same training as a new model (tracing a new model would cost about as much
    as training this one). Introduced in ``04_weight_initialization.ipynb``.

    Args:
        initializers: ``{label: initialiser name or config}``.
        x, y: training data.
        validation_data: ``(x_val, y_val)``, evaluated after every epoch.
        units: sizes of the hidden layers. Defaults to ``(128, 64)``.
        optimizer: a fresh optimiser instance; ``None`` means ``Adam(1e-3)``.
        seeds: one run per seed and initialiser. Defaults to ``(0, 1, 2)``.
        epochs: epochs per run. Defaults to 4.
        batch_size: defaults to 128.
        activation: hidden activation. Defaults to ``"relu"``.
        progress: show a ``tqdm`` bar over the runs. Defaults to ``True``.
        validation_freq: evaluate on ``validation_data`` every this many epochs
            (``fit``'s argument; ``epochs`` evaluates after the last epoch only,
            which saves time). Defaults to 1.

    Returns:
        ``{label: [history dict of each seed, in the order of seeds]}``.
    """
    from tqdm.auto import tqdm

    model = _compile(
        dense_stack(units, activation=activation, name="compare"),
        optimizer if optimizer is not None else keras.optimizers.Adam(1e-3),
    )
    model.optimizer.build(model.trainable_variables)
    start = [v.numpy() for v in model.optimizer.variables]
    runs = [(label, seed) for label in initializers for seed in seeds]
    results: dict[str, list[dict]] = {label: [] for label in initializers}
    for label, seed in tqdm(runs, desc="training runs", disable=not progress):
        keras.utils.set_random_seed(seed)
        fresh = dense_stack(
            units, activation=activation, kernel_initializer=initializers[label]
        )
        model.set_weights(fresh.get_weights())
        for variable, value in zip(model.optimizer.variables, start):
            variable.assign(value)
        history = model.fit(
            x,
            y,
            validation_data=validation_data,
            epochs=epochs,
            batch_size=batch_size,
            validation_freq=validation_freq,
            verbose=0,
        )
        results[label].append(history.history)
    return results
