"""environment.yml (conda) and pyproject.toml describe the same environment."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _normalise(spec: str) -> tuple[str, str]:
    # Extras ("psycopg[binary]") are pip's business; conda names the package.
    spec = re.sub(r"\[.*?\]", "", spec.split(";")[0].strip().replace(" ", ""))
    m = re.match(r"([A-Za-z0-9_.\-]+)(.*)", spec)
    name = m.group(1).lower().replace("_", "-")
    bounds = ",".join(sorted(m.group(2).split(","))) if m.group(2) else ""
    return name, bounds


def _pyproject():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = data["project"]
    extras = project["optional-dependencies"]
    specs = list(project["dependencies"]) + [s for e in extras.values() for s in e]
    return dict(_normalise(s) for s in specs), project["requires-python"]


def _conda():
    deps = {}
    python = None
    text = (ROOT / "environment.yml").read_text()
    for line in text.split("\ndependencies:", 1)[1].splitlines():
        m = re.match(r"^\s+-\s+([^#\s][^#]*)", line)
        if not m:
            continue
        name, bounds = _normalise(m.group(1))
        if name == "python":
            python = bounds
        elif name != "pip":
            deps[name] = bounds
    return deps, python


def test_dependency_lists_agree():
    pip_deps, _ = _pyproject()
    conda_deps, _ = _conda()
    assert pip_deps == conda_deps


def test_python_bounds_agree():
    _, pip_python = _pyproject()
    _, conda_python = _conda()
    assert _normalise("python" + pip_python)[1] == conda_python


def test_stack_is_keras3_on_tf221():
    pip_deps, _ = _pyproject()
    assert pip_deps["tensorflow-cpu"] == "<2.22,>=2.21"
    assert pip_deps["keras"].startswith("<4")
    assert "nbgrader" in pip_deps and "<0.10" in pip_deps["nbgrader"]


def test_installed_versions_are_inside_the_bounds():
    import keras
    import nbgrader
    import tensorflow as tf

    assert tf.__version__.startswith("2.21.")
    assert keras.__version__.startswith("3.")
    assert nbgrader.__version__.startswith("0.9.")
