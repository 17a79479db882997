"""Plots for the course. Every function returns the matplotlib ``Figure``.

They use the object-oriented API only (no ``plt.show``), so they work headless, in
tests and in notebooks alike (Jupyter displays a returned figure).
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure


def plot_image_grid(
    images,
    labels,
    class_names,
    predictions=None,
    ncols=8,
    title="Fashion-MNIST samples",
) -> Figure:
    """A grid of 28x28 images titled with their class (and prediction, if given).

    Misclassified images get a red title ``true -> predicted``. Introduced in
    ``01_common_problems_and_dead_neurons.ipynb``.
    """
    images = np.asarray(images)
    n = len(images)
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(1.6 * ncols, 1.9 * nrows), squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(images[i].reshape(28, 28), cmap="gray_r")
        true = class_names[int(labels[i])]
        if predictions is None:
            ax.set_title(true, fontsize=8)
        else:
            pred = class_names[int(predictions[i])]
            wrong = int(predictions[i]) != int(labels[i])
            ax.set_title(
                f"{true}\n-> {pred}" if wrong else true,
                fontsize=8,
                color="tab:red" if wrong else "black",
            )
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_gradient_flow(norms: dict, title="Gradient norm by layer", ax=None) -> Figure:
    """Bar chart of per-layer gradient norms on a log scale.

    ``norms`` maps layer names (input side first) to a norm, or to a list of norms
    (one series per entry of ``norms``'s values is not needed: pass a dict of
    dicts ``{series_name: {layer: norm}}`` to compare models side by side).
    Introduced in ``02_vanishing_and_exploding_gradients.ipynb``.
    """
    series = norms if isinstance(next(iter(norms.values())), dict) else {"": norms}
    fig, ax = _figure(ax, figsize=(8, 4))
    width = 0.8 / len(series)
    for k, (label, values) in enumerate(series.items()):
        pos = np.arange(len(values)) + (k - (len(series) - 1) / 2) * width
        ax.bar(pos, list(values.values()), width=width, label=label or None)
    names = list(next(iter(series.values())).keys())
    ax.set_xticks(np.arange(len(names)), names, rotation=45, ha="right")
    ax.set_yscale("log")
    ax.set_xlabel("layer (input -> output)")
    ax.set_ylabel("L2 norm of kernel gradient")
    ax.set_title(title)
    if len(series) > 1:
        ax.legend()
    fig.tight_layout()
    return fig


def plot_histograms(
    values: dict,
    dead_fractions: dict | None = None,
    title="Distributions by layer",
    xlabel="value",
    bins=50,
) -> Figure:
    """One histogram per layer (weights or activations), with dead percentages.

    ``values`` maps layer names to arrays; ``dead_fractions`` (optional) maps the
    same names to the fraction of dead units, shown in each panel's title.
    Introduced in ``05_debugging_checklist.ipynb``.
    """
    n = len(values)
    ncols = min(n, 4)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.6 * ncols, 2.8 * nrows), squeeze=False
    )
    for ax, (name, v) in zip(axes.flat, values.items()):
        v = np.asarray(v, dtype=np.float64).ravel()
        ax.hist(v[np.isfinite(v)], bins=bins, color="tab:blue", alpha=0.8)
        label = name
        if dead_fractions is not None and name in dead_fractions:
            label += f" ({100 * dead_fractions[name]:.0f}% dead)"
        ax.set_title(label, fontsize=9)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("count")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_training_dashboard(
    history, gradient_norms=None, weight_norms=None, title="Training dashboard"
) -> Figure:
    """Six panels: loss, accuracy, train-validation gap, gradient norm, weight norm
    and the epoch-to-epoch loss change.

    ``history`` is a Keras ``History`` or its ``.history`` dict;
    ``gradient_norms`` and ``weight_norms`` are optional per-epoch sequences (for
    example ``GradientMonitor``'s ``logs["gradient_norm"]``). Empty panels say
    what they would need. Introduced in ``05_debugging_checklist.ipynb``.
    """
    h = getattr(history, "history", history)
    epochs = np.arange(1, len(h["loss"]) + 1)
    fig, axes = plt.subplots(2, 3, figsize=(14, 7))
    ax = axes[0, 0]
    ax.plot(epochs, h["loss"], marker="o", label="train")
    if "val_loss" in h:
        ax.plot(epochs, h["val_loss"], marker="o", label="validation")
    _decorate(ax, "Loss", "loss")
    ax = axes[0, 1]
    if "accuracy" in h:
        ax.plot(epochs, h["accuracy"], marker="o", label="train")
    if "val_accuracy" in h:
        ax.plot(epochs, h["val_accuracy"], marker="o", label="validation")
    _decorate(ax, "Accuracy", "accuracy")
    ax = axes[0, 2]
    if "accuracy" in h and "val_accuracy" in h:
        gap = np.asarray(h["accuracy"]) - np.asarray(h["val_accuracy"])
        ax.plot(epochs, gap, marker="o", color="tab:purple")
        ax.axhline(0, color="gray", lw=0.8)
        _decorate(ax, "Train - validation accuracy (overfitting gap)", "gap")
    else:
        _empty(ax, "Train - validation gap", "needs validation data")
    for ax, series, name in (
        (axes[1, 0], gradient_norms, "Gradient norm"),
        (axes[1, 1], weight_norms, "Weight norm"),
    ):
        if series is not None and len(series):
            ax.plot(
                np.arange(1, len(series) + 1), series, marker="o", color="tab:green"
            )
            ax.set_yscale("log")
            _decorate(ax, name, "L2 norm (log)")
        else:
            _empty(ax, name, "pass per-epoch values")
    ax = axes[1, 2]
    change = np.diff(np.asarray(h["loss"], dtype=float))
    ax.bar(epochs[1:], change, color=np.where(change < 0, "tab:green", "tab:red"))
    ax.axhline(0, color="gray", lw=0.8)
    _decorate(ax, "Loss change per epoch", "delta loss")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_lr_finder(result, title="Learning-rate range test") -> Figure:
    """Smoothed loss against learning rate (log x), with the suggestion marked.

    ``result`` is a :class:`course.lr.LRRangeResult`. Introduced in
    ``05_debugging_checklist.ipynb``.
    """
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(result.lrs, result.raw_losses, color="lightgray", label="batch loss")
    ax.plot(result.lrs, result.losses, color="tab:blue", label="smoothed loss")
    ax.axvline(
        result.suggested_lr,
        color="tab:green",
        ls="--",
        label=f"suggested lr = {result.suggested_lr:.1e}",
    )
    ax.axvline(
        result.best_lr,
        color="tab:red",
        ls=":",
        label=f"lowest loss at {result.best_lr:.1e}",
    )
    ax.set_xscale("log")
    finite = np.asarray(result.losses)[np.isfinite(result.losses)]
    if finite.size:
        ax.set_ylim(0, min(finite.max(), 4 * finite.min()) * 1.1)
    _decorate(ax, title, "loss", xlabel="learning rate (log scale)")
    fig.tight_layout()
    return fig


def plot_init_comparison(
    histories: dict, metric="val_accuracy", title="Initialisation comparison"
) -> Figure:
    """One curve per initialiser: ``metric`` by epoch.

    ``histories`` maps a label to a Keras ``History`` or its dict. Introduced in
    ``03_weight_initialization.ipynb``.
    """
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, history in histories.items():
        h = getattr(history, "history", history)
        ax.plot(np.arange(1, len(h[metric]) + 1), h[metric], marker="o", label=label)
    _decorate(ax, title, metric.replace("_", " "))
    fig.tight_layout()
    return fig


def plot_activation_variance(
    variances: dict, title="Activation variance through depth"
) -> Figure:
    """Variance of each layer's activations for several initialisers (log y).

    ``variances`` maps a label to a sequence of per-layer variances. Introduced in
    ``03_weight_initialization.ipynb``.
    """
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, v in variances.items():
        ax.plot(np.arange(1, len(v) + 1), v, marker="o", label=label)
    ax.set_yscale("log")
    _decorate(ax, title, "activation variance (log)", xlabel="layer")
    fig.tight_layout()
    return fig


def _figure(ax, figsize):
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def _decorate(ax, title, ylabel, xlabel="epoch"):
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)


def _empty(ax, title, reason):
    ax.set_title(title, fontsize=10)
    ax.text(
        0.5, 0.5, reason, ha="center", va="center", transform=ax.transAxes, color="gray"
    )
    ax.set_xticks([])
    ax.set_yticks([])
