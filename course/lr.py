"""The learning-rate range test (Smith, 2017; popularised by fastai's LR finder)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np
from tqdm.auto import tqdm


@dataclass
class LRRangeResult:
    """Outcome of :func:`lr_range_test`.

    ``lrs`` and ``losses`` (exponentially smoothed, bias-corrected) have one entry
    per step taken; ``raw_losses`` are the unsmoothed batch losses.
    ``suggested_lr`` is a tenth of the learning rate with the lowest smoothed
    loss, a conservative, robust choice; ``steepest_lr`` is where the smoothed
    loss fell fastest. ``stop_reason`` says why the sweep ended (the divergence
    stop, with the learning rate and loss where it happened, or the end of the
    range). Used by ``lr_range_test``.
    """

    lrs: np.ndarray
    losses: np.ndarray
    raw_losses: np.ndarray
    best_lr: float
    suggested_lr: float
    steepest_lr: float
    diverged: bool
    stop_reason: str = ""


def lr_range_test(
    model: keras.Model,
    x,
    y,
    min_lr: float = 1e-6,
    max_lr: float = 10.0,
    num_steps: int = 100,
    batch_size: int = 64,
    beta: float = 0.9,
    divergence_factor: float = 4.0,
    seed: int = 0,
    progress: bool = True,
) -> LRRangeResult:
    """Train with an exponentially increasing learning rate and record the loss.

    One batch per step, the learning rate growing from ``min_lr`` to ``max_lr`` in
    ``num_steps`` steps. The loss is smoothed with an exponential moving average
    (``beta``) and the sweep stops once the smoothed loss exceeds
    ``divergence_factor`` times the best seen. Afterwards the model's weights, the
    optimizer's state (moments, iteration count) and its learning rate are
    restored exactly, so the test can be run on the model you are about to train.
    The model must be compiled with an optimizer whose learning rate is a float.
    With ``progress=True`` a ``tqdm`` bar counts the steps; stopping at the
    divergence is the intended end of the test, so the bar is then completed at
    the step reached (a bar closed before its total looks like a crash in
    JupyterLab) and the reason is printed. Introduced in
    ``09_debugging_checklist.ipynb``.
    """
    if not 0 < min_lr < max_lr:
        raise ValueError("need 0 < min_lr < max_lr")
    optimizer = model.optimizer
    optimizer.build(model.trainable_variables)
    saved_weights = [np.array(w) for w in model.get_weights()]
    saved_opt = [v.numpy().copy() for v in optimizer.variables]
    saved_lr = float(optimizer.learning_rate.numpy())

    rng = np.random.default_rng(seed)
    n = len(x)
    factor = (max_lr / min_lr) ** (1.0 / max(num_steps - 1, 1))
    lrs, raw, smooth = [], [], []
    avg, best = 0.0, math.inf
    diverged = False
    stop_reason = f"reached max_lr={max_lr:.2g} after {num_steps} steps"
    bar = tqdm(
        total=num_steps, desc="LR range test", disable=not progress, leave=False
    )
    try:
        for step in range(num_steps):
            lr = min_lr * factor**step
            optimizer.learning_rate = lr
            idx = rng.choice(n, size=min(batch_size, n), replace=False)
            logs = model.train_on_batch(x[idx], y[idx], return_dict=True)
            loss = float(logs["loss"])
            avg = beta * avg + (1 - beta) * loss
            smoothed = avg / (1 - beta ** (step + 1))
            lrs.append(lr)
            raw.append(loss)
            smooth.append(smoothed)
            bar.update(1)
            if not math.isfinite(smoothed) or smoothed > divergence_factor * best:
                diverged = True
                stop_reason = (
                    f"stopped at lr={lr:.2g} after {step + 1} of {num_steps} steps: "
                    f"smoothed loss {smoothed:.3g} exceeded {divergence_factor:g}x "
                    f"the best ({best:.3g})"
                )
                break
            best = min(best, smoothed)
    finally:
        model.set_weights(saved_weights)
        for v, value in zip(optimizer.variables, saved_opt):
            v.assign(value)
        optimizer.learning_rate = saved_lr
        if diverged:
            # The intended early end: complete the bar where it stopped.
            bar.total = bar.n
            bar.refresh()
        bar.close()
    if progress:
        print(stop_reason)

    lrs_a, smooth_a = np.array(lrs), np.array(smooth)
    finite = np.isfinite(smooth_a)
    best_i = int(np.argmin(np.where(finite, smooth_a, np.inf)))
    if best_i >= 2:
        slopes = np.gradient(smooth_a[: best_i + 1], np.log(lrs_a[: best_i + 1]))
        steep_i = int(np.argmin(slopes))
    else:
        steep_i = best_i
    return LRRangeResult(
        lrs=lrs_a,
        losses=smooth_a,
        raw_losses=np.array(raw),
        best_lr=float(lrs_a[best_i]),
        suggested_lr=float(lrs_a[best_i] / 10.0),
        steepest_lr=float(lrs_a[steep_i]),
        diverged=diverged,
        stop_reason=stop_reason,
    )
