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
    Introduced in ``09_debugging_checklist.ipynb``.
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
    what they would need. Introduced in ``09_debugging_checklist.ipynb``.
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
            _plain_log_ticks(ax, series)
            _decorate(ax, name, "L2 norm (log)")
        else:
            _empty(ax, name, "pass per-epoch values")
    ax = axes[1, 2]
    change = np.diff(np.asarray(h["loss"], dtype=float))
    ax.bar(epochs[1:], change, color=np.where(change < 0, "tab:green", "tab:red"))
    ax.axhline(0, color="gray", lw=0.8)
    _decorate(ax, "Loss change per epoch", "delta loss")
    from matplotlib.ticker import MaxNLocator

    for ax in axes.flat:
        if ax.get_xlabel() == "epoch":
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_lr_finder(result, title="Learning-rate range test") -> Figure:
    """Smoothed loss against learning rate (log x), with the suggestion marked.

    ``result`` is a :class:`course.lr.LRRangeResult`. Introduced in
    ``09_debugging_checklist.ipynb``.
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


def plot_gradient_norms_by_layer(
    series: dict, ratio: float = 1e-3, title="Gradient norm by layer"
) -> Figure:
    """Per-layer kernel-gradient norms, absolute and relative to the output layer.

    ``series`` maps a label to ``{layer_name: norm}`` (input side first, the
    output layer last, as :func:`course.diagnostics.kernel_norms_by_layer`
    returns them); every series has the same layers. The left panel shows the
    norms, the right panel each norm divided by its series' output-layer norm,
    with a dashed line at ``ratio`` (the criterion of
    :func:`course.diagnostics.vanishing_layers`). Both y axes are logarithmic with
    a labelled tick at every power of ten. Introduced in
    ``03_vanishing_and_exploding_gradients.ipynb``.

    Args:
        series: ``{label: {layer_name: norm}}``.
        ratio: where to draw the vanishing criterion. Defaults to ``1e-3``.
        title: the figure's title.
    """
    from matplotlib.ticker import LogFormatterSciNotation, LogLocator, NullFormatter

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    names = list(next(iter(series.values())).keys())
    x = np.arange(len(names))
    for label, norms in series.items():
        values = np.array([float(norms[name]) for name in names])
        left.plot(x, values, marker="o", label=label)
        right.plot(x, values / values[-1], marker="o", label=label)
    right.axhline(ratio, color="tab:red", ls="--", lw=1, label=f"criterion: {ratio:g}")
    for ax, ylabel, panel in (
        (left, "L2 norm of d(loss)/d(kernel)\n(loss in nats per unit weight)", "norm"),
        (right, "norm / output layer's norm (ratio)", "relative to the output layer"),
    ):
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10, numticks=30))
        ax.yaxis.set_major_formatter(LogFormatterSciNotation())
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xticks(x, names, rotation=45, ha="right")
        ax.set_xlabel("layer (input -> output)")
        ax.set_ylabel(ylabel)
        ax.set_title(panel, fontsize=10)
        ax.grid(alpha=0.3, which="major")
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_error_vs_eps(
    eps_values,
    errors: dict,
    title="Error of the central difference against the step size",
) -> Figure:
    """Log-log curves of relative error against the step ``eps``, minima marked.

    ``errors`` maps a label (e.g. ``"float32"``) to relative errors aligned with
    ``eps_values`` (as :func:`course.gradcheck.error_vs_eps` returns them).
    Introduced in ``05_gradient_checking.ipynb``.
    """
    from matplotlib.ticker import LogLocator, NullFormatter

    eps_values = np.asarray(eps_values, dtype=float)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label, err in errors.items():
        err = np.maximum(np.asarray(err, dtype=float), 1e-17)  # 0 cannot be drawn
        (line,) = ax.plot(eps_values, err, marker="o", markersize=3, label=label)
        best = int(np.argmin(err))
        ax.plot(
            eps_values[best],
            err[best],
            marker="*",
            markersize=14,
            color=line.get_color(),
            markeredgecolor="black",
            linestyle="none",
            label=f"{label} minimum: {err[best]:.1e} at eps = {eps_values[best]:.0e}",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(LogLocator(base=100.0))
        axis.set_minor_locator(LogLocator(base=10.0, subs=(1.0,), numticks=40))
        axis.set_minor_formatter(NullFormatter())
    if errors:  # name the two regimes on the last (most precise) curve
        err = np.maximum(np.asarray(list(errors.values())[-1], dtype=float), 1e-17)
        best = int(np.argmin(err))
        for part, text, offset in (
            (slice(0, best), "round-off\n~ u / eps", (0, 16)),
            (slice(best + 1, None), "truncation\n~ eps$^2$", (14, -22)),
        ):
            xs, ys = eps_values[part], err[part]
            if len(xs):
                mid = len(xs) // 2
                ax.annotate(
                    text,
                    (xs[mid], ys[mid]),
                    textcoords="offset points",
                    xytext=offset,
                    ha="left",
                    fontsize=9,
                    color="dimgray",
                )
    ax.set_xlabel("step eps (weight units, log scale)")
    ax.set_ylabel("relative error of the numerical gradient (log scale)")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_relative_error_vs_gradient(
    series: dict,
    reference=None,
    title="Relative error against gradient size",
) -> Figure:
    """Scatter of each entry's relative error against its |analytic gradient|.

    ``series`` maps a label to ``(analytic, numeric)`` arrays; ``reference``,
    if given, is an absolute error ``d`` drawn as the curve ``d / (2 |g|)``
    (the relative error a constant absolute error gives). Introduced in
    ``05_gradient_checking.ipynb``.
    """
    fig, ax = plt.subplots(figsize=(7, 4.2))
    lows, highs = [], []
    for (label, (analytic, numeric)), marker in zip(series.items(), "ox^sv"):
        a = np.abs(np.asarray(analytic, dtype=float))
        n = np.asarray(numeric, dtype=float)
        rel = np.abs(np.asarray(analytic) - n) / np.maximum(a + np.abs(n), 1e-12)
        keep = (a > 0) & (rel > 0)
        ax.scatter(a[keep], rel[keep], s=14, marker=marker, alpha=0.6, label=label)
        lows.append(a[keep].min())
        highs.append(a[keep].max())
    if reference is not None and lows:
        g = np.geomspace(min(lows), max(highs), 50)
        label = f"constant absolute error d = {reference:.1e}: d / (2|g|)"
        ax.plot(g, reference / (2 * g), "k--", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("|analytic gradient| (loss units per weight unit, log scale)")
    ax.set_ylabel("relative error (log scale)")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_loss_curves(
    curves: dict,
    title="Training loss per step",
    ylim=None,
    window: int = 20,
    xlabel="training step (one mini-batch)",
    ylabel="training loss (cross-entropy, nats)",
    colors: dict | None = None,
) -> Figure:
    """Per-step loss curves, one colour per run: raw (faint) and a moving average.

    ``curves`` maps a label to a sequence of per-step losses (for example from
    :func:`course.diagnostics.train_batch_losses`). The solid line is the mean of
    the last ``window`` steps, so a noisy, jumping loss shows as a wide faint band
    around it. ``ylim`` (``(low, high)``) keeps a few huge spikes from flattening
    the other curves; ``colors`` (optional) maps labels to matplotlib colours, so
    the same run has the same colour in several figures. Introduced in
    ``01_common_problems_and_dead_neurons.ipynb``.
    """
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(8, 4.2))
    for k, (label, losses) in enumerate(curves.items()):
        v = np.asarray(losses, dtype=np.float64)
        steps = np.arange(1, len(v) + 1)
        color = (colors or {}).get(label, f"C{k}")
        ax.plot(steps, v, color=color, alpha=0.25, lw=0.8)
        w = max(1, min(window, len(v)))
        smooth = np.convolve(v, np.ones(w) / w, mode="valid")
        ax.plot(steps[w - 1 :], smooth, color=color, lw=2, label=label)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0, max(len(np.asarray(v)) for v in curves.values()) + 1)
    _decorate(ax, title, ylabel, xlabel=xlabel)
    ax.legend(fontsize=8, title=f"faint: every step; solid: mean of {window}")
    fig.tight_layout()
    return fig


def plot_unit_activity(
    activations: dict, title="How often each ReLU unit is active", bins: int = 20
) -> Figure:
    """One histogram per entry: on what share of the inputs each unit is > 0.

    ``activations`` maps a panel label to one layer's outputs (samples x units).
    A dead unit is active on none of the inputs: it sits at exactly 0 and is drawn
    as a separate red bar; normal ReLU sparsity shows as units active on part of
    the inputs. Introduced in ``01_common_problems_and_dead_neurons.ipynb``.
    """
    from matplotlib.ticker import MaxNLocator

    n = len(activations)
    fig, axes = plt.subplots(1, n, figsize=(3.8 * n, 3.2), squeeze=False)
    for ax, (label, a) in zip(axes.flat, activations.items()):
        a = np.asarray(a)
        active = np.mean(a.reshape(-1, a.shape[-1]) > 0, axis=0)
        dead = active == 0
        edges = np.linspace(0, 1, bins + 1)
        # Stacked: the dead units (at exactly 0) are the red bottom of the first bin.
        ax.hist(
            [active[dead], active[~dead]],
            bins=edges,
            stacked=True,
            color=["tab:red", "tab:blue"],
            label=[f"dead: {int(dead.sum())} of {len(active)}", "alive"],
        )
        ax.set_xlim(0, 1)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        _decorate(
            ax,
            label,
            "number of units",
            xlabel="share of inputs on which the unit is > 0",
        )
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(
    y_true, y_pred, class_names, title="Confusion matrix (validation)"
) -> Figure:
    """Row-normalised confusion matrix: each row is a true class, in percent.

    Colour encodes the share of the true class predicted as each class (the
    colorbar says so); every cell is annotated with its count, and the diagonal
    holds the correct predictions. Introduced in ``09_debugging_checklist.ipynb``.

    Args:
        y_true: true class indices.
        y_pred: predicted class indices.
        class_names: name of every class, in index order.
        title: the figure's title. Defaults to ``"Confusion matrix (validation)"``.
    """
    y_true = np.asarray(y_true).astype(int)
    y_pred = np.asarray(y_pred).astype(int)
    n = len(class_names)
    counts = np.zeros((n, n), dtype=int)
    np.add.at(counts, (y_true, y_pred), 1)
    rows = counts.sum(axis=1, keepdims=True)
    share = 100.0 * counts / np.maximum(rows, 1)
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=100)
    for t in range(n):
        for p in range(n):
            if counts[t, p]:
                ax.text(
                    p,
                    t,
                    str(counts[t, p]),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if share[t, p] > 50 else "black",
                )
    ax.set_xticks(np.arange(n), class_names, rotation=45, ha="right")
    ax.set_yticks(np.arange(n), class_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="share of the true class (%), count annotated")
    fig.tight_layout()
    return fig


def plot_attributions(
    image, attributions: dict, title: str = "Integrated gradients"
) -> Figure:
    """An input image next to attribution maps on one shared, symmetric colour scale.

    ``attributions`` maps a panel title (for example ``"for 'Coat' (predicted)"``)
    to an attribution array shaped like ``image`` (784 pixels or 28x28). Red
    pixels are evidence for the class (they raise its probability), blue pixels
    evidence against it; white is no effect. All maps share one colour scale, so
    their intensities are comparable, and one colorbar. Introduced in
    ``09_debugging_checklist.ipynb``.

    Args:
        image: the input, 784 pixel values in [0, 1] or a 28x28 array.
        attributions: panel title -> attribution array.
        title: the figure's title. Defaults to ``"Integrated gradients"``.
    """
    maps = {
        k: np.asarray(v, dtype=np.float64).reshape(28, 28)
        for k, v in attributions.items()
    }
    limit = max(float(np.abs(m).max()) for m in maps.values()) or 1.0
    n = 1 + len(maps)
    fig, axes = plt.subplots(
        1, n, figsize=(3.6 * n + 1.6, 3.8), squeeze=False, layout="constrained"
    )
    axes = axes.ravel()
    pixels = np.asarray(image).reshape(28, 28)
    shown = axes[0].imshow(pixels, cmap="gray_r", vmin=0, vmax=1)
    axes[0].set_title("input", fontsize=10)
    fig.colorbar(shown, ax=axes[0], shrink=0.85, label="pixel value")
    for ax, (label, m) in zip(axes[1:], maps.items()):
        coloured = ax.imshow(m, cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(label, fontsize=10)
    for ax in axes:
        ax.set_xlabel("pixel column")
        ax.set_ylabel("pixel row")
    fig.colorbar(
        coloured,
        ax=list(axes[1:]),
        shrink=0.85,
        label="attribution (change in class probability)",
    )
    fig.suptitle(title)
    return fig


def _plain_log_ticks(ax, values) -> None:
    """Log-axis tick labels as plain numbers (0.05, 2, 45) instead of 4.5x10^1.

    Within less than a decade the minor ticks are labelled too (otherwise the axis
    would show one label or none); over wider ranges only the decades are.
    Introduced in ``09_debugging_checklist.ipynb``.
    """
    from matplotlib.ticker import FuncFormatter, NullFormatter

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    plain = FuncFormatter(lambda x, _: f"{x:.3g}")
    ax.yaxis.set_major_formatter(plain)
    narrow = v.size and v.max() / v.min() < 10
    ax.yaxis.set_minor_formatter(plain if narrow else NullFormatter())


def plot_layer_variances(
    forward: dict, backward: dict, title="Variance through depth"
) -> Figure:
    """Forward activation variance and backward gradient variance by layer (log y).

    ``forward`` and ``backward`` map a label (an initialiser) to one variance per
    layer, layer 1 (nearest the input) first: of each layer's activations (left
    panel) and of the loss gradient with respect to each layer's pre-activations
    (right panel). Both y axes are logarithmic, labelled at powers of ten, or at
    1, 2 and 5 times them where the values span less than three decades; the
    layer axis has integer ticks. Introduced in
    ``04_weight_initialization.ipynb``.

    Args:
        forward: ``{label: [variance of layer 1, layer 2, ...]}``.
        backward: the same for the gradient.
        title: the figure's title.
    """
    from matplotlib.ticker import (
        FuncFormatter,
        LogFormatterSciNotation,
        LogLocator,
        MaxNLocator,
        NullFormatter,
    )

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    panels = (
        (forward, "forward: activations", "Var(activation) (unitless, log scale)"),
        (backward, "backward: gradients", "Var(dLoss/dz) (unitless, log scale)"),
    )
    for ax, (series, panel, ylabel) in zip(axes, panels):
        for label, values in series.items():
            layers = np.arange(1, len(values) + 1)
            ax.plot(layers, values, marker="o", ms=3, label=label)
        ax.set_yscale("log")
        v = np.concatenate([np.asarray(s, dtype=float) for s in series.values()])
        v = v[np.isfinite(v) & (v > 0)]
        if v.size and v.max() / v.min() < 1e3:  # a few decades: label 1, 2, 5 x 10^k
            ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda t, _: f"{t:.3g}"))
        else:
            ax.yaxis.set_major_locator(LogLocator(base=10, numticks=12))
            ax.yaxis.set_major_formatter(LogFormatterSciNotation())
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        _decorate(ax, panel, ylabel, xlabel="layer (1 = next to the input)")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_final_metric_by_seed(
    results: dict, metric="val_accuracy", title="Final validation accuracy"
) -> Figure:
    """One panel per setting: the last value of ``metric`` for every run.

    ``results`` maps a setting to ``{label: [history dict of each seed]}`` (what
    :func:`course.models.compare_initializers` returns). Each label (initialiser)
    is a column with one dot per seed and a bar at the mean; a thin line joins the
    runs of the same seed across labels, so that paired differences show. An
    accuracy axis spans its whole range, 0 to 1, with chance for ten classes (0.1)
    dashed, and all panels share it. Introduced in
    ``04_weight_initialization.ipynb``.

    Args:
        results: ``{setting: {label: [history, ...]}}``.
        metric: the history key to plot. Defaults to ``"val_accuracy"``.
        title: the figure's title.
    """
    fig, axes = plt.subplots(
        1, len(results), figsize=(4.3 * len(results), 4), squeeze=False, sharey=True
    )
    for ax, (setting, runs) in zip(axes.flat, results.items()):
        labels = list(runs)
        final = np.array([[h[metric][-1] for h in runs[label]] for label in labels])
        x = np.arange(len(labels))
        for seed in range(final.shape[1]):
            ax.plot(x, final[:, seed], color="gray", lw=0.8, alpha=0.6)
        for i in x:
            ax.scatter(np.full(final.shape[1], i), final[i], s=25, zorder=3)
            ax.hlines(final[i].mean(), i - 0.25, i + 0.25, color="black", lw=2)
        if "accuracy" in metric:
            ax.axhline(0.1, color="gray", ls="--", lw=1, label="chance (0.1)")
            ax.set_ylim(0, 1)
        ax.set_xticks(x, labels, rotation=15)
        ax.set_xlim(-0.5, len(labels) - 0.5)
        _decorate(ax, setting, "final " + metric.replace("_", " ") + " (fraction)",
                  xlabel="initialiser")
    fig.suptitle(title + " (dots: seeds, joined by seed; bar: mean)")
    fig.tight_layout()
    return fig


def plot_event_scalars(
    scalars: dict,
    tags=("epoch_loss", "epoch_accuracy"),
    ylabels: dict | None = None,
    title="Scalars read back from the TensorBoard event files",
) -> Figure:
    """One panel per scalar tag, one line per run, from TensorBoard's event files.

    ``scalars`` is the ``"scalars"`` part of
    :func:`course.monitoring.read_event_files`: ``{run: {tag: (steps, values)}}``.
    Keras logs epoch scalars at steps 0, 1, ... (TensorBoard shows them so); the
    x axis shows epochs from 1, as ``fit`` counts them. Introduced in
    ``08_tensorflow_debugging_tools.ipynb``.

    Args:
        scalars: ``{run: {tag: (steps, values)}}``.
        tags: the tags to plot, one panel each. Defaults to
            ``("epoch_loss", "epoch_accuracy")``.
        ylabels: ``{tag: y-axis label with units}``; a tag not in it is its own
            label. Defaults to ``None``.
        title: the figure's title.
    """
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(
        1, len(tags), figsize=(5.5 * len(tags), 3.8), squeeze=False
    )
    for ax, tag in zip(axes.flat, tags):
        for run, by_tag in scalars.items():
            if tag in by_tag:
                steps, values = by_tag[tag]
                ax.plot(np.asarray(steps) + 1, values, marker="o", label=run)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        _decorate(ax, tag, (ylabels or {}).get(tag, tag), xlabel="epoch")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_histograms_over_epochs(
    histograms: dict,
    tags,
    xlabels: dict | None = None,
    title="Histograms over epochs, read back from the event files",
) -> Figure:
    """One panel per histogram tag: the distribution at every epoch, overlaid.

    ``histograms`` maps tags to ``(steps, buckets)`` for one run (for example
    ``read_event_files(log_dir)["histograms"]["train"]``, see
    :func:`course.monitoring.read_event_files`); each bucket array has the
    columns left edge, right edge, count. Every epoch is a curve of the density
    (count / (total count x bucket width)), so epochs whose buckets differ in
    width stay comparable; the colour goes from dark (first epoch) to light
    (last), as in TensorBoard's overlay view. Introduced in
    ``08_tensorflow_debugging_tools.ipynb``.

    Args:
        histograms: ``{tag: (steps, buckets)}``.
        tags: the tags to plot, one panel each.
        xlabels: ``{tag: x-axis label with units}``; a tag not in it is its own
            label. Defaults to ``None``.
        title: the figure's title.
    """
    tags = list(tags)
    ncols = min(len(tags), 2)
    nrows = math.ceil(len(tags) / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(5.5 * ncols, 3.4 * nrows), squeeze=False
    )
    for ax in axes.flat[len(tags) :]:
        ax.axis("off")
    for ax, tag in zip(axes.flat, tags):
        steps, buckets = histograms[tag]
        colors = plt.cm.viridis(np.linspace(0, 0.9, len(steps)))
        for color, step, b in zip(colors, steps, buckets):
            b = np.asarray(b, dtype=np.float64)
            width = b[:, 1] - b[:, 0]
            width = np.where(width > 0, width, 1.0)
            density = b[:, 2] / max(b[:, 2].sum(), 1.0) / width
            centre = (b[:, 0] + b[:, 1]) / 2
            ax.plot(centre, density, color=color, lw=1.4, label=f"epoch {step + 1}")
        _decorate(
            ax,
            tag,
            "density (share per unit of value)",
            xlabel=(xlabels or {}).get(tag, tag),
        )
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_update_ratios(
    runs: dict,
    reference: float = 1e-3,
    title="Update-to-weight ratio per step",
) -> Figure:
    """One panel per run: every kernel's update-to-weight ratio, step by step.

    ``runs`` maps a label (for example a learning rate) to a
    :class:`course.monitoring.UpdateRatioMonitor` after ``fit`` (or to anything
    with its ``steps`` and ``history`` attributes). The y axis is logarithmic and
    shared by the panels, with a dashed line at ``reference`` (CS231n's rule of
    thumb, about 1e-3); a ratio of exactly 0 (a kernel that did not move) cannot
    be drawn on it and is left out. Introduced in
    ``08_tensorflow_debugging_tools.ipynb``.

    Args:
        runs: ``{label: monitor}``.
        reference: where to draw the rule of thumb. Defaults to ``1e-3``.
        title: the figure's title.
    """
    from matplotlib.ticker import LogFormatterSciNotation, LogLocator, NullFormatter

    fig, axes = plt.subplots(
        1, len(runs), figsize=(4.6 * len(runs), 3.9), squeeze=False, sharey=True
    )
    for ax, (label, monitor) in zip(axes.flat, runs.items()):
        steps = np.asarray(monitor.steps) + 1
        for name, ratios in monitor.history.items():
            r = np.asarray(ratios, dtype=np.float64)
            ax.plot(steps, np.where(r > 0, r, np.nan), lw=1.2, label=name)
        ax.axhline(reference, color="gray", ls="--", lw=1, label=f"{reference:g}")
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10, numticks=12))
        ax.yaxis.set_major_formatter(LogFormatterSciNotation())
        ax.yaxis.set_minor_formatter(NullFormatter())
        _decorate(
            ax,
            label,
            "||W_after - W_before|| / ||W_before||",
            xlabel="training step (one mini-batch)",
        )
    for ax in axes.flat[1:]:
        ax.set_ylabel("")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


_METRIC_LABELS = {
    "loss": "training loss (cross-entropy, nats)",
    "val_loss": "validation loss (cross-entropy, nats)",
    "accuracy": "training accuracy (fraction)",
    "val_accuracy": "validation accuracy (fraction)",
}


def plot_metric_curves_by_seed(
    results: dict,
    metrics=("loss", "val_accuracy"),
    title="Training curves over seeds",
) -> Figure:
    """One panel per metric: every seed's curve (thin) and their mean (thick).

    ``results`` maps a label to ``[history dict of each seed]`` (what
    :func:`course.architectures.train_over_seeds` returns first); each label has
    one colour. Epochs count from 1 on an integer axis; an accuracy panel spans
    0 to 1 with chance for ten classes (0.1) dashed. Introduced in
    ``07_normalization_residuals_and_stable_losses.ipynb``.

    Args:
        results: ``{label: [history, ...]}``.
        metrics: the history keys to plot, one panel each. Defaults to
            ``("loss", "val_accuracy")``.
        title: the figure's title.
    """
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(
        1, len(metrics), figsize=(6 * len(metrics), 4.2), squeeze=False
    )
    for ax, metric in zip(axes.flat, metrics):
        for k, (label, histories) in enumerate(results.items()):
            curves = np.array([h[metric] for h in histories], dtype=np.float64)
            epochs = np.arange(1, curves.shape[1] + 1)
            for curve in curves:
                ax.plot(epochs, curve, color=f"C{k}", lw=0.8, alpha=0.35)
            ax.plot(
                epochs,
                curves.mean(axis=0),
                color=f"C{k}",
                lw=2,
                marker="o",
                label=f"{label} (mean of {len(curves)} seeds)",
            )
        if "accuracy" in metric:
            ax.axhline(0.1, color="gray", ls="--", lw=1, label="chance (0.1)")
            ax.set_ylim(0, 1)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ylabel = _METRIC_LABELS.get(metric, metric)
        _decorate(ax, ylabel.split(" (")[0].capitalize(), ylabel)
    fig.suptitle(title + " (thin: one seed; thick: mean)")
    fig.tight_layout()
    return fig


def plot_overfitting_curves(history: dict, title="A model that overfits") -> Figure:
    """Training and validation loss and accuracy per epoch, the gap between them shaded.

    ``history`` is a ``History.history`` dict with the keys that
    :class:`course.regularization.DataLossMonitor` logs (``train_data_loss``,
    ``val_data_loss``, ``train_data_accuracy``, ``val_data_accuracy``: both sets
    measured in inference mode, without a regularisation penalty). The left
    panel shades the loss gap and marks the epoch of the lowest validation loss;
    the right panel does the same for accuracy. Introduced in
    ``06_remedies_for_overfitting.ipynb``.

    Args:
        history: one run's history dict.
        title: the figure's title. Defaults to ``"A model that overfits"``.
    """
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    epochs = np.arange(1, len(history["val_data_loss"]) + 1)
    best = int(np.argmin(history["val_data_loss"])) + 1
    for ax, kind, unit in (
        (axes[0], "loss", "cross-entropy, nats"),
        (axes[1], "accuracy", "fraction"),
    ):
        train = np.asarray(history[f"train_data_{kind}"], dtype=np.float64)
        val = np.asarray(history[f"val_data_{kind}"], dtype=np.float64)
        ax.plot(epochs, train, "o-", color="C0", label=f"training {kind}")
        ax.plot(epochs, val, "o-", color="C1", label=f"validation {kind}")
        ax.fill_between(epochs, train, val, color="C3", alpha=0.15, label="gap")
        ax.axvline(
            best,
            color="gray",
            ls="--",
            lw=1,
            label=f"lowest validation loss (epoch {best})",
        )
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        _decorate(ax, kind, f"{kind} ({unit})")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_gap_by_epoch(
    results: dict, baseline: str = "baseline", title="Each remedy against the baseline"
) -> Figure:
    """For every remedy: its train-validation gap and validation loss per epoch.

    ``results`` maps a label to ``[history dict of each seed]`` with the keys of
    :class:`course.regularization.DataLossMonitor`. One column per label other
    than ``baseline``; the top row shows the gap (validation minus training data
    loss), the bottom row the validation data loss, each remedy in colour over
    the baseline in grey: thin lines are seeds, thick lines their mean over the
    seeds still training at that epoch (a run that stopped early ends early,
    with a cross). Rows share their y-axis, so the panels compare at a glance.
    Introduced in ``06_remedies_for_overfitting.ipynb``.

    Args:
        results: ``{label: [history, ...]}``, the baseline's included.
        baseline: the label drawn in grey in every panel. Defaults to
            ``"baseline"``.
        title: the figure's title.
    """
    from matplotlib.ticker import MaxNLocator

    remedies = [label for label in results if label != baseline]
    fig, axes = plt.subplots(
        2,
        len(remedies),
        figsize=(3.4 * len(remedies), 6.4),
        squeeze=False,
        sharey="row",
        sharex=True,
    )
    rows = (
        ("gap", "val - train loss (nats)"),
        ("val_data_loss", "validation loss (nats)"),
    )

    def curves(histories, key):
        if key == "gap":
            return [
                np.subtract(h["val_data_loss"], h["train_data_loss"]) for h in histories
            ]
        return [np.asarray(h[key], dtype=np.float64) for h in histories]

    def draw(ax, histories, key, color, label):
        runs = curves(histories, key)
        longest = max(len(r) for r in runs)
        for r in runs:
            ax.plot(np.arange(1, len(r) + 1), r, color=color, lw=0.7, alpha=0.4)
            if len(r) < longest:
                ax.plot(len(r), r[-1], "x", color=color, ms=6)
        mean = [np.mean([r[e] for r in runs if len(r) > e]) for e in range(longest)]
        ax.plot(np.arange(1, longest + 1), mean, color=color, lw=2, label=label)

    for col, remedy in enumerate(remedies):
        for row, (key, ylabel) in enumerate(rows):
            ax = axes[row, col]
            draw(ax, results[baseline], key, "gray", baseline)
            draw(ax, results[remedy], key, f"C{col}", remedy)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            _decorate(
                ax,
                remedy if row == 0 else "",
                ylabel if col == 0 else "",
                xlabel="epoch" if row == 1 else "",
            )
    fig.suptitle(title + f" (thin: one seed; thick: mean of {len(results[baseline])})")
    fig.tight_layout()
    return fig
