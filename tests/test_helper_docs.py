"""Each public helper of ``course`` names the notebook that introduces it, truly.

As in d2l: a helper's docstring says ``Introduced in ``NN_name.ipynb``.``; that
notebook exists and its code uses the helper, so a student can find where it is
taught. A building block that no notebook calls itself says ``Used by
``helper``.`` instead, naming a helper of the package whose code calls it.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "source" / "debugging_nn"
MODULES = [
    "course.data",
    "course.models",
    "course.diagnostics",
    "course.gradcheck",
    "course.callbacks",
    "course.lr",
    "course.plots",
    "course.data_checks",
    "course.regularization",
    "course.architectures",
    "course.monitoring",
]
INTRODUCED = re.compile(r"Introduced\s+in\s+``(\d\d_\w+\.ipynb)``")
USED_BY = re.compile(r"Used\s+by\s+``(\w+)``")


def _public(module_name):
    module = importlib.import_module(module_name)
    for name, obj in vars(module).items():
        if name.startswith("_") or not (
            inspect.isfunction(obj) or inspect.isclass(obj)
        ):
            continue
        if getattr(obj, "__module__", None) != module_name:
            continue  # imported from elsewhere
        if inspect.isclass(obj) and issubclass(obj, Exception):
            continue
        yield name, obj


HELPERS = [(m, n, o) for m in MODULES for n, o in _public(m)]


def _code(notebook: str) -> str:
    nb = nbformat.read(SOURCE / notebook, as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize(
    "module,name,obj", HELPERS, ids=[f"{m.split('.')[1]}.{n}" for m, n, _ in HELPERS]
)
def test_helper_names_the_notebook_that_uses_it(module, name, obj):
    doc = inspect.getdoc(obj) or ""
    found, used_by = INTRODUCED.search(doc), USED_BY.search(doc)
    assert found or used_by, (
        f"{module}.{name}: no 'Introduced in ``NN_....ipynb``' or 'Used by ``...``'"
    )
    if found:
        notebook = found.group(1)
        assert (SOURCE / notebook).exists(), f"{module}.{name}: no {notebook}"
        assert re.search(rf"\b{name}\b", _code(notebook)), (
            f"{module}.{name}: {notebook} does not use it"
        )
    else:
        users = [o for m, n, o in HELPERS if n == used_by.group(1)]
        assert users, f"{module}.{name}: no helper {used_by.group(1)}"
        assert _calls(users[0], name), (
            f"{module}.{name}: {used_by.group(1)} does not use it"
        )


def _calls(user, name: str) -> bool:
    """Whether ``user``'s code uses ``name``, itself or through a private helper."""
    source = inspect.getsource(user)
    if re.search(rf"\b{name}\b", source):
        return True
    module = importlib.import_module(user.__module__)
    for private in set(re.findall(r"\b(_\w+)\(", source)):
        helper = getattr(module, private, None)
        if callable(helper) and re.search(rf"\b{name}\b", inspect.getsource(helper)):
            return True
    return False
