"""The course's benchmark suite: every figure as a ratio to a baseline of the same run.

Usage: ``python scripts/bench.py [--quick] [--only NAME ...] [--out DIR]``
(``make bench``). Writes ``DIR/results.md`` and ``DIR/results.json`` (default
``bench/``; the committed copy is the latest full run) with the machine it ran on.

- ``notebooks``: each lesson notebook's execution time, and the total, against a
  notebook that only starts a kernel and imports Keras and ``course``;
- ``grading``: autograding time per submission, plain ``nbgrader autograde``
  (baseline) vs ``autograder.driver`` sequential (1 worker) and parallel;
- ``monitor``: ``course.callbacks.GradientMonitor``'s overhead on ``model.fit``
  against plain ``fit`` and against ``keras.callbacks.TensorBoard(histogram_freq=1)``,
  same model, data and seed;
- ``activations``: ``course.diagnostics.activation_stats`` (one forward pass)
  against one model per layer (older tutorials), on a 10-layer model.

Timed runs of the last two are repeated and interleaved (``--repeats``); the fastest
of each is reported.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import course  # noqa: E402, F401  (first: quiets TensorFlow's start-up log)
from course import callbacks, data, diagnostics, models  # noqa: E402

import bench_grading  # noqa: E402
import bench_notebooks  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

SUITES = ("notebooks", "grading", "monitor", "activations")


def machine() -> dict:
    """Where the figures come from."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{mem_kb / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        memory = "unknown"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        commit = ""
    import tensorflow as tf

    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"
        ),
        "commit": commit,
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


def _best_times(configs: dict, repeats: int) -> dict[str, float]:
    """Fastest of ``repeats`` interleaved runs of each zero-argument callable.

    The minimum is the figure least disturbed by whatever else the machine does
    (interleaving spreads slow spells over all the configurations alike).
    """
    times: dict[str, list[float]] = {name: [] for name in configs}
    for _ in range(repeats):
        for name, fn in configs.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: min(t) for name, t in times.items()}


def suite_notebooks(quick: bool) -> dict:
    lessons = bench_notebooks.LESSONS[:1] if quick else bench_notebooks.LESSONS
    import nbformat

    base = bench_notebooks.baseline()
    rows = {}
    for path in lessons:
        rows[path.name] = bench_notebooks.run(
            nbformat.read(path, as_version=4), path.parent
        )
        print(f"  {path.name}: {rows[path.name]:.1f} s", flush=True)
    return {"baseline": base, "notebooks": rows, "total": sum(rows.values())}


def suite_grading(quick: bool) -> list[dict]:
    """Exercise 2 with 4 submissions (the figure compared across runs), then
    exercises 1 and 3 with 2 each (what a class's grading time is made of)."""
    if quick:
        return [bench_grading.measure(n=2)]
    runs = [bench_grading.measure(n=4)]
    from autograder.pipeline import exercise_notebooks

    for notebook in sorted(exercise_notebooks()):
        if notebook != bench_grading.NOTEBOOK:
            print(f"  grading {notebook} ...", flush=True)
            runs.append(bench_grading.measure(n=2, notebook=notebook))
    return runs


def suite_monitor(quick: bool, repeats: int) -> dict:
    """GradientMonitor vs plain fit vs TensorBoard(histogram_freq=1)."""
    n_train = 2000 if quick else 10000
    epochs = 2 if quick else 3
    ds = data.load_fashion_mnist(n_train=n_train, n_val=1000)
    sample = (ds.x_train[:256], ds.y_train[:256])
    logdir = tempfile.mkdtemp(prefix="bench-tb-")

    def fit(extra):
        keras.utils.set_random_seed(0)
        model = models.dense_stack((256, 128, 64), kernel_initializer="he_normal")
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(
            ds.x_train,
            ds.y_train,
            validation_data=(ds.x_val, ds.y_val),
            epochs=epochs,
            batch_size=128,
            verbose=0,
            callbacks=extra(),
        )

    configs = {
        "plain fit": lambda: fit(list),
        "GradientMonitor": lambda: fit(lambda: [callbacks.GradientMonitor(*sample)]),
        "TensorBoard(histogram_freq=1)": lambda: fit(
            lambda: [keras.callbacks.TensorBoard(log_dir=logdir, histogram_freq=1)]
        ),
    }
    fit(list)  # warm-up: first-call costs (thread pools, kernels) out of the way
    times = _best_times(configs, repeats)
    return {
        "setup": f"MLP 784-256-128-64-10, {n_train} images, {epochs} epochs, "
        f"batch 128, Adam; GradientMonitor on 256 samples every epoch",
        "seconds": times,
    }


def per_layer_stats(model, x) -> dict[str, dict]:
    """The older tutorials' way: one model and one ``predict`` per layer."""
    stats = {}
    for layer in model.layers[1:]:
        probe = keras.Model(inputs=model.inputs, outputs=layer.output)
        a = probe.predict(x, verbose=0).astype(np.float64)
        stats[layer.name] = {
            "dead_fraction": diagnostics.dead_fraction(a),
            "zero_fraction": float(np.mean(a == 0)),
            "mean": float(a.mean()),
            "std": float(a.std()),
        }
    return stats


def suite_activations(quick: bool, repeats: int) -> dict:
    """activation_stats (one pass) vs one model per layer, 10 hidden layers."""
    ds = data.load_fashion_mnist(n_train=1000, n_val=2000)
    x = ds.x_val[: 500 if quick else 2000]
    keras.utils.set_random_seed(0)
    model = models.dense_stack((128,) * 10, kernel_initializer="he_normal")
    fast, slow = diagnostics.activation_stats(model, x), per_layer_stats(model, x)
    for name, s in slow.items():  # both approaches measure the same thing
        for key, value in s.items():
            assert np.isclose(fast[name][key], value, rtol=1e-4, atol=1e-6), (
                name,
                key,
            )
    times = _best_times(
        {
            "one model per layer": lambda: per_layer_stats(model, x),
            "activation_stats (one forward pass)": lambda: diagnostics.activation_stats(
                model, x
            ),
        },
        repeats,
    )
    return {
        "setup": f"MLP with 10 hidden ReLU layers of 128 + output, {len(x)} images",
        "seconds": times,
    }


def report(results: dict) -> str:
    m = results["machine"]
    lines = [
        "# Benchmark results",
        "",
        f"`make bench` on {m['date']}, commit `{m['commit']}`: {m['cpu']}, "
        f"{m['cores']} cores, {m['memory']} RAM, {m['os']}, Python {m['python']}, "
        f"TensorFlow {m['tensorflow']}, Keras {m['keras']}. Each ratio is against "
        "a baseline measured in the same run; seconds are for this machine only.",
    ]
    if "notebooks" in results:
        r = results["notebooks"]
        base = r["baseline"]
        lines += [
            "",
            "## Lesson notebooks",
            "",
            "Baseline: a notebook that starts a kernel and imports Keras and `course`.",
            "",
            "| notebook | seconds | x baseline |",
            "|---|---:|---:|",
            f"| baseline | {base:.1f} | 1.0 |",
            *[
                f"| {name} | {s:.1f} | {s / base:.1f} |"
                for name, s in r["notebooks"].items()
            ],
            f"| **total** | {r['total']:.1f} | {r['total'] / base:.1f} |",
        ]
    if "grading" in results:
        lines += ["", "## Autograding"]
        for run in results["grading"]:
            lines += ["", *bench_grading.table(run)]
        lines += ["", *bench_grading.summary(results["grading"])]
    if "monitor" in results:
        r = results["monitor"]
        t = r["seconds"]
        plain, tb = t["plain fit"], t["TensorBoard(histogram_freq=1)"]
        lines += [
            "",
            "## GradientMonitor overhead on `model.fit`",
            "",
            r["setup"] + f". Fastest of {results['repeats']} interleaved runs each.",
            "",
            "| callbacks | seconds | x plain fit | x TensorBoard |",
            "|---|---:|---:|---:|",
            *[
                f"| {name} | {s:.2f} | {s / plain:.2f} | {s / tb:.2f} |"
                for name, s in t.items()
            ],
        ]
    if "activations" in results:
        r = results["activations"]
        t = r["seconds"]
        slow = t["one model per layer"]
        lines += [
            "",
            "## Activation statistics",
            "",
            r["setup"] + "; both give the same statistics (checked in the run). "
            f"Fastest of {results['repeats']} interleaved runs each.",
            "",
            "| method | seconds | x one model per layer | speed-up |",
            "|---|---:|---:|---:|",
            *[
                f"| {name} | {s:.3f} | {s / slow:.2f} | {slow / s:.1f} |"
                for name, s in t.items()
            ],
        ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=SUITES, default=list(SUITES))
    parser.add_argument("--quick", action="store_true", help="small sizes (a check)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench")
    args = parser.parse_args(argv)
    results: dict = {"machine": machine(), "quick": args.quick, "repeats": args.repeats}
    for suite in args.only:
        print(f"{suite} ...", flush=True)
        start = time.perf_counter()
        if suite == "notebooks":
            results[suite] = suite_notebooks(args.quick)
        elif suite == "grading":
            results[suite] = suite_grading(args.quick)
        elif suite == "monitor":
            results[suite] = suite_monitor(args.quick, args.repeats)
        else:
            results[suite] = suite_activations(args.quick, args.repeats)
        print(f"{suite}: {time.perf_counter() - start:.0f} s", flush=True)
    text = report(results)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.md").write_text(text)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
