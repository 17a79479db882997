"""Deep networks assembled from a block, and training several of them over seeds.

Lesson 07 remedies the vanishing gradients of lesson 03's deep sigmoid network by
changing what one hidden layer is (a block): a batch-normalised layer, or a layer
with a skip connection. The notebook writes the blocks itself, so that where the
normalisation goes and what the skip connection adds stay in sight; this module
only assembles them into lesson 03's network and trains several networks over
several seeds without tracing each one anew.
"""

from __future__ import annotations

from course.models import LOSS, NUM_CLASSES, NUM_PIXELS

import keras


def plain_sigmoid_block(x, k: int, units: int):
    """Hidden layer ``k`` of lesson 03's network: ``Dense(units, sigmoid)``.

    The default block of :func:`deep_sigmoid_network`; it is named ``hidden_k``,
    as in :func:`course.models.deep_sigmoid_model`. Used by
    ``deep_sigmoid_network``.

    Args:
        x: the block's input tensor.
        k: the layer's number, 1 next to the input.
        units: the layer's width.
    """
    return keras.layers.Dense(units, activation="sigmoid", name=f"hidden_{k}")(x)


def deep_sigmoid_network(
    block=None,
    depth: int = 10,
    units: int = 50,
    learning_rate: float = 0.01,
    name: str = "deep_sigmoid",
) -> keras.Model:
    """Lesson 03's deep sigmoid network, with every hidden layer built by ``block``.

    ``pixels (784) -> block 1 -> ... -> block depth -> Dense(10, softmax)``, named
    ``output``, compiled with plain SGD, sparse categorical cross-entropy and
    accuracy, as :func:`course.models.deep_sigmoid_model`. ``block(x, k, units)``
    returns the output of hidden layer ``k`` (1 next to the input); its Dense layer
    should be named ``hidden_k``, so that the per-layer diagnostics of different
    variants line up. With the default block (:func:`plain_sigmoid_block`) and the
    same seed the weights equal ``deep_sigmoid_model``'s. Introduced in
    ``07_normalization_residuals_and_stable_losses.ipynb``.

    Args:
        block: ``block(x, k, units) -> tensor``, or ``None`` for
            :func:`plain_sigmoid_block`. Defaults to ``None``.
        depth: number of hidden blocks. Defaults to 10.
        units: width of every block. Defaults to 50.
        learning_rate: SGD learning rate. Defaults to ``0.01``.
        name: the model's name. Defaults to ``"deep_sigmoid"``.
    """
    block = block or plain_sigmoid_block
    inputs = keras.Input(shape=(NUM_PIXELS,), name="pixels")
    x = inputs
    for k in range(1, depth + 1):
        x = block(x, k, units)
    outputs = keras.layers.Dense(NUM_CLASSES, activation="softmax", name="output")(x)
    model = keras.Model(inputs, outputs, name=name)
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=learning_rate),
        loss=LOSS,
        metrics=["accuracy"],
    )
    return model


def train_over_seeds(
    builders: dict,
    x,
    y,
    validation_data,
    seeds: tuple[int, ...] = (0, 1, 2),
    epochs: int = 4,
    batch_size: int = 64,
    validation_batch_size: int | None = 500,
    progress: bool = True,
) -> tuple[dict[str, list[dict]], dict[str, keras.Model]]:
    """Train every builder's network once per seed; return histories and models.

    ``builders`` maps a label to a function of no arguments that returns a freshly
    built, compiled model (for example ``lambda: deep_sigmoid_network(block)``).
    For every label and seed: ``keras.utils.set_random_seed(seed)``, build a fresh
    model and train it with ``fit(..., verbose=0)``, evaluating on
    ``validation_data`` after every epoch. Runs with the same seed start from the
    same random state, so they draw their weights and their batch order alike.

    Each label's first model is traced once and reused for its other seeds: a
    run copies the fresh model's weights into it (batch normalisation's moving
    statistics included) and resets the optimiser's state, which trains exactly
    as the fresh model would, without the cost of tracing it again. Introduced in
    ``07_normalization_residuals_and_stable_losses.ipynb``.

    Args:
        builders: ``{label: function returning a compiled model}``.
        x: training inputs.
        y: training targets.
        validation_data: ``(x_val, y_val)``, evaluated after every epoch.
        seeds: one run per seed and label. Defaults to ``(0, 1, 2)``.
        epochs: epochs per run. Defaults to 4.
        batch_size: training batch size. Defaults to 64.
        validation_batch_size: batch size of the evaluation (only speed depends
            on it). Defaults to 500.
        progress: show a ``tqdm`` bar over the runs. Defaults to ``True``.

    Returns:
        ``({label: [history dict of each seed, in the order of seeds]},
        {label: the trained model of the last seed})``.
    """
    from tqdm.auto import tqdm

    histories: dict[str, list[dict]] = {label: [] for label in builders}
    models: dict[str, keras.Model] = {}
    starts: dict[str, list] = {}
    runs = [(label, seed) for label in builders for seed in seeds]
    for label, seed in tqdm(runs, desc="training runs", disable=not progress):
        keras.utils.set_random_seed(seed)
        fresh = builders[label]()
        if label not in models:
            models[label] = fresh
            fresh.optimizer.build(fresh.trainable_variables)
            starts[label] = [v.numpy() for v in fresh.optimizer.variables]
        else:
            model = models[label]
            model.set_weights(fresh.get_weights())
            for variable, value in zip(model.optimizer.variables, starts[label]):
                variable.assign(value)
        history = models[label].fit(
            x,
            y,
            validation_data=validation_data,
            epochs=epochs,
            batch_size=batch_size,
            validation_batch_size=validation_batch_size,
            verbose=0,
        )
        histories[label].append(history.history)
    return histories, models
