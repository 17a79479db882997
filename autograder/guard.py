"""The grading kernel's guard against submissions that change how tests judge them.

The sandboxed kernel runs ``guard_startup.py`` before any cell, which calls
:func:`install`. A submission runs in the same Python process as the tests, so it
can try to make a wrong answer pass by changing what the tests rely on:

* **libraries**: replace ``numpy.testing.assert_allclose``, ``np.mean``,
  ``keras.Model.predict``, a builtin, a function's code or default arguments;
* **the notebook's given names**: rebind ``np`` or ``ds``, or change the given
  data in place (``ds.y_val[:] = 0``);
* **the kernel's reporting**: IPython's traceback display, ``sys.stderr``.

The guard snapshots all of these (public names of the modules in
:data:`MODULES` and of any module a given cell binds, the classes in
:data:`CLASSES` and their bases, the functions in both, and the names, arrays and
containers bound by the notebook's given cells) and:

1. before every cell, puts back what changed, so every cell (and every test) runs
   with the real functions and the given data;
2. after every test cell, checks again: a change made *while the test ran* (by
   student code the test called) is undone and reported on ``stderr``, which
   makes nbgrader score that test cell 0. Changes undone in step 1 are reported on
   ``stdout`` of the next test cell, so the instructor sees them.

Which cells are tests and which are given comes from a manifest the driver puts
in ``$SANDBOX_GUARD_MANIFEST`` (:func:`manifest`): SHA-256 digests of the locked
cells' sources, exactly as nbgrader's ``OverwriteCells`` restores them from the
gradebook, and the names each given cell binds. Without it, step 1 still covers
the libraries. The driver also scans submissions for tampering and flags them
for review (``autograder.checks``); this module is what makes tampering not pay.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import json
import os
import sys
import types

import numpy

MANIFEST_ENV = "SANDBOX_GUARD_MANIFEST"
REPORT = "grading guard: "

#: Modules whose public names are restored (those that are imported).
MODULES = (
    "builtins",
    "math",
    "warnings",
    "numpy",
    "numpy.testing",
    "numpy.linalg",
    "numpy.random",
    "keras",
    "keras.ops",
    "keras.layers",
    "keras.models",
    "keras.callbacks",
    "keras.optimizers",
    "keras.losses",
    "keras.metrics",
    "keras.utils",
    "keras.random",
    "keras.initializers",
    "keras.activations",
    "tensorflow",
    "tensorflow.math",
    "tensorflow.linalg",
    "matplotlib.figure",
    "matplotlib.pyplot",
    "course",
    "course.data",
    "course.models",
    "course.diagnostics",
    "course.gradcheck",
    "course.callbacks",
    "course.lr",
    "course.plots",
)
#: Classes whose attributes (with those of their bases) are restored.
CLASSES = (
    "keras.Model",
    "keras.Sequential",
    "keras.src.models.functional.Functional",
    "keras.Variable",
    "keras.layers.Layer",
    "keras.layers.Dense",
    "keras.callbacks.Callback",
    "keras.callbacks.History",
    "keras.optimizers.Optimizer",
    "keras.optimizers.SGD",
    "keras.optimizers.Adam",
    "keras.optimizers.RMSprop",
    "keras.losses.Loss",
    "keras.losses.SparseCategoricalCrossentropy",
    "tensorflow.GradientTape",
    "tensorflow.Variable",
    "matplotlib.figure.Figure",
    "warnings.catch_warnings",
)
#: ``sys`` attributes the kernel's output and error reporting go through.
SYS_NAMES = ("stdout", "stderr", "excepthook", "displayhook")
#: IPython methods that display errors (a no-op version would hide failures).
SHELL_METHODS = ("showtraceback", "showsyntaxerror", "_showtraceback")
#: Class attributes Python or the libraries legitimately create after the fact.
_CLASS_NOISE = ("__annotations__", "__annotate__", "__abstractmethods__")
#: Module names rebound by the libraries themselves (IPython wraps pyplot's
#: ``draw_if_interactive`` when it activates the inline backend).
_MODULE_NOISE = {
    "matplotlib.pyplot": ("draw_if_interactive", "new_figure_manager", "show"),
}
#: Builtins the kernel itself swaps per request (to route ``input()``).
_KERNEL_BUILTINS = ("input", "raw_input")
_IMMUTABLE_TYPE = 1 << 8  # Py_TPFLAGS_IMMUTABLETYPE: cannot be patched anyway
_MISSING = object()

# The guard's own tools, taken before any submission runs.
_isinstance, _getattr, _setattr, _delattr = isinstance, getattr, setattr, delattr
_id, _len, _type, _vars, _sorted = id, len, type, vars, sorted
_array_equal, _copyto, _isnan = numpy.array_equal, numpy.copyto, numpy.isnan
_ndarray = numpy.ndarray
_FunctionType, _ModuleType = types.FunctionType, types.ModuleType
_sha256 = hashlib.sha256


def digest(source: str) -> str:
    """SHA-256 of a cell's source, as the manifest and the kernel compute it."""
    return _sha256(source.encode("utf-8")).hexdigest()


def bound_names(source: str) -> list[str]:
    """Names a cell binds at top level (assignments, defs, classes, imports)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names = []

    def targets(node):
        if isinstance(node, ast.Name):
            names.append(node.id)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for elt in node.elts:
                targets(elt)
        elif isinstance(node, ast.Starred):
            targets(node.value)

    def walk(body):
        for node in body:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    targets(target)
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                targets(node.target)
            elif isinstance(
                node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
            ):
                names.append(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    if alias.name != "*":
                        names.append(alias.asname or alias.name.split(".")[0])
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                targets(node.target)
                walk(node.body + node.orelse)
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if item.optional_vars is not None:
                        targets(item.optional_vars)
                walk(node.body)
            elif isinstance(node, ast.If):
                walk(node.body + node.orelse)
            elif isinstance(node, ast.Try):
                walk(node.body + node.orelse + node.finalbody)
                for handler in node.handlers:
                    walk(handler.body)

    walk(tree.body)
    return list(dict.fromkeys(names))


def manifest(test_sources, given_sources, solution_sources=()) -> dict:
    """The guard's manifest for one notebook.

    ``test_sources``: the sources of the autograded test cells; ``given_sources``:
    those of the other locked code cells; ``solution_sources``: the solution
    cells'. Names a solution cell binds are the student's and names a test binds
    are the test's: neither is protected.
    """
    theirs = {
        n for source in (*solution_sources, *test_sources) for n in bound_names(source)
    }
    return {
        "tests": sorted({digest(s) for s in test_sources}),
        "given": {
            digest(s): [n for n in bound_names(s) if n not in theirs]
            for s in given_sources
        },
    }


def _resolve(path: str):
    """``"keras.layers.Dense"`` -> the object, if its top module is imported."""
    parts = path.split(".")
    obj = sys.modules.get(parts[0])
    for part in parts[1:]:
        if obj is None:
            return None
        obj = _getattr(obj, part, None)
    return obj


def _same_module(old, new) -> bool:
    """A lazily loaded module replaced by the real one is not a change."""
    return (
        _isinstance(old, _ModuleType)
        and _isinstance(new, _ModuleType)
        and _getattr(old, "__name__", None) == _getattr(new, "__name__", None)
    )


def _has_nan(array) -> bool:
    return array.dtype.kind in "fc" and bool(_isnan(array).any())


def _same_items(container, copy) -> bool:
    """Same length and the very same items (no ``==`` on array items)."""
    if _len(container) != _len(copy):
        return False
    if _isinstance(container, dict):
        return all(k in container and container[k] is v for k, v in copy.items())
    if _isinstance(container, (set, bytearray)):
        return container == copy
    return all(a is b for a, b in zip(container, copy))


class Guard:
    """Snapshots of what the tests rely on; :meth:`check` puts it back."""

    def __init__(self, shell, manifest: dict | None = None):
        manifest = manifest or {}
        self.shell = shell
        self.tests = set(manifest.get("tests", ()))
        self.given = {k: tuple(v) for k, v in manifest.get("given", {}).items()}
        self.modules = {}  # id -> (label, module, {name: value})
        self.classes = {}  # id -> (label, class, {name: value})
        self.functions = {}  # id -> (label, function, (code, defaults, kwdefaults))
        self.bindings = {}  # name -> value
        self.arrays = {}  # id -> (label, array, copy)
        self.containers = {}  # id -> (label, container, copy)
        self.module_table = {}  # sys.modules name -> module
        self.pending = []  # changes undone before a cell, not yet reported
        self.current = None  # digest of the running cell
        self.sys_values = {name: _getattr(sys, name) for name in SYS_NAMES}
        # ipykernel leaves an instance-level _showtraceback behind at start-up.
        self.shell_methods = {
            n: (_getattr(type(shell), n), _vars(shell).get(n, _MISSING))
            for n in SHELL_METHODS
            if hasattr(type(shell), n)
        }
        self.custom_exceptions = shell.custom_exceptions
        self.custom_tb = _getattr(shell, "CustomTB", None)
        self.protect_libraries()

    # -- snapshots -----------------------------------------------------------

    def protect_libraries(self) -> None:
        """Snapshot the listed modules and classes that are imported by now."""
        for path in MODULES:
            module = _resolve(path)
            if _isinstance(module, _ModuleType):
                self.protect_module(module, path)
        for path in CLASSES:
            cls = _resolve(path)
            if _isinstance(cls, type):
                self.protect_class(cls, path)

    def protect_module(self, module, label: str) -> None:
        if _id(module) in self.modules:
            return
        if module is builtins:
            names = {
                k: v
                for k, v in _vars(module).items()
                if _isinstance(v, (type, types.BuiltinFunctionType))
                and k not in _KERNEL_BUILTINS
            }
        else:
            noise = _MODULE_NOISE.get(_getattr(module, "__name__", None), ())
            names = {
                k: v
                for k, v in _vars(module).items()
                if not k.startswith("_") and k not in noise
            }
        self.modules[_id(module)] = (label, module, names)
        name = _getattr(module, "__name__", None)
        if name and sys.modules.get(name) is module:
            self.module_table[name] = module
        for key, value in names.items():
            if _isinstance(value, _FunctionType):
                self.protect_function(value, f"{label}.{key}")

    def protect_class(self, cls, label: str) -> None:
        for base in cls.__mro__:
            if _id(base) in self.classes or base.__flags__ & _IMMUTABLE_TYPE:
                continue
            where = label if base is cls else f"{base.__module__}.{base.__qualname__}"
            attrs = {
                k: v
                for k, v in _vars(base).items()
                if k not in _CLASS_NOISE and not k.startswith("_abc_")
            }
            self.classes[_id(base)] = (where, base, attrs)
            for key, value in attrs.items():
                if _isinstance(value, (staticmethod, classmethod)):
                    value = value.__func__
                if _isinstance(value, _FunctionType):
                    self.protect_function(value, f"{where}.{key}")

    def protect_function(self, fn, label: str) -> None:
        if _id(fn) not in self.functions:
            state = (fn.__code__, fn.__defaults__, fn.__kwdefaults__)
            self.functions[_id(fn)] = (label, fn, state)

    def protect_value(self, value, label: str, depth: int = 0) -> None:
        """Protect what a given name refers to, as deep as it is safe to."""
        if _isinstance(value, _ModuleType):
            self.protect_module(value, label)
        elif _isinstance(value, type):
            self.protect_class(value, label)
        elif _isinstance(value, _FunctionType):
            self.protect_function(value, label)
        elif _isinstance(value, _ndarray):
            if _id(value) not in self.arrays:
                self.arrays[_id(value)] = (label, value, value.copy())
        elif _isinstance(value, (list, dict, set, bytearray)):
            if _id(value) not in self.containers:
                self.containers[_id(value)] = (label, value, value.copy())
        if depth < 2 and _isinstance(value, tuple):
            fields = _getattr(value, "_fields", None) or range(_len(value))
            for index, (field, item) in enumerate(zip(fields, value)):
                name = (
                    f"{label}.{field}"
                    if _isinstance(field, str)
                    else (f"{label}[{index}]")
                )
                self.protect_value(item, name, depth + 1)

    def protect_given(self, names) -> None:
        """After a given cell ran: protect what it bound."""
        ns = self.shell.user_ns
        for name in names:
            if name in ns:
                self.bindings[name] = ns[name]
                self.protect_value(ns[name], name)

    # -- restoring -----------------------------------------------------------

    def check(self, given: bool) -> list[str]:
        """Put back every protected thing that changed; return what changed.

        ``given``: also the given cells' names and data (before and after tests).
        """
        changed = []
        for label, module, names in list(self.modules.values()):
            current = _vars(module)
            for key, old in names.items():
                new = current.get(key, _MISSING)
                if new is old:
                    continue
                if _same_module(old, new):
                    names[key] = new
                    continue
                current[key] = old
                changed.append(f"{label}.{key}")
        for name, module in self.module_table.items():
            if sys.modules.get(name) is not module:
                sys.modules[name] = module
                changed.append(f"sys.modules[{name!r}]")
        for name, value in self.sys_values.items():
            if _getattr(sys, name) is not value:
                _setattr(sys, name, value)
                changed.append(f"sys.{name}")
        for label, cls, attrs in list(self.classes.values()):
            current = _vars(cls)
            for key, old in attrs.items():
                if current.get(key, _MISSING) is not old:
                    _setattr(cls, key, old)
                    changed.append(f"{label}.{key}")
            for key in [k for k in current if k not in attrs]:
                if key in _CLASS_NOISE or key.startswith("_abc_"):
                    continue
                _delattr(cls, key)
                changed.append(f"{label}.{key} (added)")
        for label, fn, state in self.functions.values():
            if (fn.__code__, fn.__defaults__, fn.__kwdefaults__) != state:
                fn.__code__, fn.__defaults__, fn.__kwdefaults__ = state
                changed.append(f"{label} (code or default arguments)")
        changed += self._check_shell()
        if given:
            changed += self._check_given()
        return changed

    def _check_shell(self) -> list[str]:
        changed, shell = [], self.shell
        for name, (method, own) in self.shell_methods.items():
            if _getattr(type(shell), name) is not method:
                _setattr(type(shell), name, method)
                changed.append(f"IPython {name}")
            if _vars(shell).get(name, _MISSING) is not own:
                if own is _MISSING:
                    del _vars(shell)[name]
                else:
                    _vars(shell)[name] = own
                changed.append(f"IPython {name}")
        if shell.custom_exceptions != self.custom_exceptions:
            shell.custom_exceptions = self.custom_exceptions
            changed.append("IPython custom exception handler")
        if self.custom_tb is not None and shell.CustomTB is not self.custom_tb:
            shell.CustomTB = self.custom_tb
        return changed

    def _check_given(self) -> list[str]:
        changed, ns = [], self.shell.user_ns
        for name, value in self.bindings.items():
            if ns.get(name, _MISSING) is not value:
                ns[name] = value
                changed.append(f"the given name {name!r}")
        for label, array, copy in self.arrays.values():
            if array.shape != copy.shape or array.dtype != copy.dtype:
                changed.append(f"the given array {label} (shape or type; not undone)")
            elif not _array_equal(array, copy, equal_nan=_has_nan(copy)):
                writeable = array.flags.writeable
                try:
                    array.flags.writeable = True
                    _copyto(array, copy)
                    array.flags.writeable = writeable
                    changed.append(f"the given array {label}")
                except ValueError:
                    changed.append(f"the given array {label} (not undone)")
        for label, container, copy in self.containers.values():
            if not _same_items(container, copy):
                if _isinstance(container, (list, bytearray)):
                    container[:] = copy
                else:
                    container.clear()
                    container.update(copy)
                changed.append(f"the given {_type(container).__name__} {label}")
        return changed

    # -- IPython events ------------------------------------------------------

    def pre_run_cell(self, info) -> None:
        self.current = digest(info.raw_cell or "")
        self.protect_libraries()  # modules imported since the last cell
        is_test = self.current in self.tests
        self.pending += self.check(given=is_test)
        if is_test and self.pending:
            undone = ", ".join(_sorted(set(self.pending)))
            self.sys_values["stdout"].write(
                f"{REPORT}changes made by earlier cells were undone before this "
                f"test: {undone}\n"
            )
            self.sys_values["stdout"].flush()
            self.pending = []

    def post_run_cell(self, result) -> None:
        digest_ = self.current
        if digest_ in self.tests:
            changed = self.check(given=True)
            if changed:
                err = self.sys_values["stderr"]
                err.write(
                    f"{REPORT}this test cell scores 0: code it called changed "
                    f"{', '.join(_sorted(set(changed)))} while it ran (undone).\n"
                )
                err.flush()
        elif digest_ in self.given:
            self.protect_libraries()
            self.protect_given(self.given[digest_])


def install(shell=None) -> Guard:
    """Start guarding the running IPython kernel (called by ``guard_startup.py``).

    Reads and removes the manifest from ``$SANDBOX_GUARD_MANIFEST``.
    """
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    raw = os.environ.pop(MANIFEST_ENV, "")
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        data = {}
    guard = Guard(shell, data)
    shell.events.register("pre_run_cell", guard.pre_run_cell)
    shell.events.register("post_run_cell", guard.post_run_cell)
    return guard
