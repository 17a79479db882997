"""The grading kernel's guard (autograder.guard), in an in-process IPython shell.

Cells run with ``shell.run_cell`` fire the same pre/post_run_cell events as in
the grading kernel; the manifest marks which sources are given and test cells.
The driver-level proof (tampering submissions graded by nbgrader in the
sandbox) is ``tests/test_driver.py::test_guard_undoes_tampering_and_flags_it``.
"""

import builtins
import sys
import warnings

import numpy as np
import pytest
from IPython.core.interactiveshell import InteractiveShell

from autograder import guard

GIVEN = "import numpy as np\n\nDATA = np.arange(4.0)\nLABELS = ['a', 'b']"
TEST = "RESULT = (float(np.mean(DATA)), list(LABELS))"
TEST_CALLS = '"""Calls the student\'s code."""\nRESULT = sneaky()'
SOLUTION = "def sneaky():\n    raise NotImplementedError"


@pytest.fixture
def shell():
    shell = InteractiveShell.instance()
    shell.user_ns.clear()
    yield shell
    for event in ("pre_run_cell", "post_run_cell"):
        for callback in list(shell.events.callbacks[event]):
            if isinstance(getattr(callback, "__self__", None), guard.Guard):
                shell.events.unregister(event, callback)


def install(shell, monkeypatch, with_manifest=True):
    data = guard.manifest([TEST, TEST_CALLS], [GIVEN], [SOLUTION])
    if with_manifest:
        monkeypatch.setenv(guard.MANIFEST_ENV, __import__("json").dumps(data))
    g = guard.install(shell)
    assert guard.MANIFEST_ENV not in __import__("os").environ
    return g


def run(shell, source):
    result = shell.run_cell(source, store_history=False)
    return result


def test_bound_names_are_the_top_level_bindings():
    source = (
        "import numpy as np\nimport os.path\nfrom math import pi, tau as t\n"
        "x = y = 1\na, (b, *c) = 1, (2, 3)\nz += 1\nw: int = 2\n"
        "def f():\n    inner = 1\nclass K:\n    attr = 1\n"
        "for i in range(2):\n    j = i\nwith open('f') as fh:\n    pass\n"
        "if x:\n    p = 1\nelse:\n    q = 2\ntry:\n    r = 1\nexcept Exception:\n"
        "    s = 2\nfrom m import *\nprint(x)\n"
    )
    assert guard.bound_names(source) == [
        "np", "os", "pi", "t", "x", "y", "a", "b", "c", "z", "w", "f", "K",
        "i", "j", "fh", "p", "q", "r", "s",
    ]  # fmt: skip
    assert guard.bound_names("%matplotlib inline\nx = 1") == []  # not Python


def test_manifest_protects_only_what_given_cells_own():
    data = guard.manifest(
        ["result = helper(DATA)"],
        ["DATA = 1\nhelper = print\nresult = None\nanswer = None"],
        ["answer = 42"],
    )
    assert data["tests"] == [guard.digest("result = helper(DATA)")]
    (names,) = data["given"].values()
    assert names == ["DATA", "helper"]  # `result` is the test's, `answer` theirs


def test_honest_cells_run_untouched(shell, monkeypatch, capsys):
    install(shell, monkeypatch)
    run(shell, GIVEN)
    run(shell, "def sneaky():\n    return np.sum(DATA)")
    assert run(shell, TEST).success
    assert run(shell, TEST_CALLS).success
    assert shell.user_ns["RESULT"] == 6.0
    out = capsys.readouterr()
    assert guard.REPORT not in out.out + out.err


def test_changes_by_student_cells_are_undone_before_tests(shell, monkeypatch, capsys):
    real_mean = np.mean
    install(shell, monkeypatch)
    run(shell, GIVEN)
    run(
        shell,
        "np.mean = lambda *args, **kwargs: 42.0\nDATA[:] = 0\n"
        "LABELS.append('c')\nimport numpy\nnp = None",
    )
    assert run(shell, TEST).success
    assert np.mean is real_mean
    assert shell.user_ns["RESULT"] == (1.5, ["a", "b"])
    out = capsys.readouterr().out
    assert "undone before this test" in out
    for what in ("numpy.mean", "'np'", "DATA", "LABELS"):
        assert what in out, what


def test_changes_made_while_a_test_runs_zero_that_test(shell, monkeypatch, capsys):
    real = np.testing.assert_allclose
    install(shell, monkeypatch)
    run(shell, GIVEN)
    run(
        shell,
        "def sneaky():\n    import numpy\n"
        "    numpy.testing.assert_allclose = lambda *a, **k: None\n"
        "    globals()['DATA'] = None\n    return 1",
    )
    run(shell, TEST_CALLS)
    err = capsys.readouterr().err
    assert "this test cell scores 0" in err
    assert "numpy.testing.assert_allclose" in err and "'DATA'" in err
    assert np.testing.assert_allclose is real
    assert shell.user_ns["DATA"] is not None


def test_libraries_are_restored_without_a_manifest(shell, monkeypatch):
    fn = np.testing.assert_allclose
    state = (fn.__code__, fn.__defaults__)
    real_len, real_stderr = builtins.len, sys.stderr
    install(shell, monkeypatch, with_manifest=False)
    run(
        shell,
        "import builtins, sys, warnings, numpy\n"
        "f = numpy.testing.assert_allclose\n"
        "f.__defaults__ = (1e9,) + f.__defaults__[1:]\n"
        "f.__code__ = (lambda *a, **k: None).__code__\n"
        "builtins.len = lambda x: 0\n"
        "warnings.catch_warnings.__enter__ = lambda self: None\n"
        "warnings.catch_warnings.injected = True\n"
        "sys.modules['numpy.testing'] = None\n",
    )
    run(shell, "pass")
    assert (fn.__code__, fn.__defaults__) == state
    assert builtins.len is real_len and sys.stderr is real_stderr
    assert not hasattr(warnings.catch_warnings, "injected")
    with warnings.catch_warnings(record=True) as caught:
        warnings.warn("still works")
    assert len(caught) == 1
    assert sys.modules["numpy.testing"] is np.testing
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(1.0, 2.0)


def test_hidden_error_display_is_restored(shell, monkeypatch):
    install(shell, monkeypatch, with_manifest=False)
    run(
        shell,
        "ip = get_ipython()\nip.showtraceback = lambda *a, **k: None\n"
        "type(ip).showsyntaxerror = lambda *a, **k: None",
    )
    run(shell, "pass")
    assert "showtraceback" not in vars(shell)
    assert type(shell).showsyntaxerror is InteractiveShell.showsyntaxerror


def test_keras_training_methods_are_restored(shell, monkeypatch):
    """Keras's fit lives on the backend trainer, a base of keras.Model."""
    import keras
    from keras.src.models.functional import Functional

    real_fit = keras.Model.fit
    install(shell, monkeypatch, with_manifest=False)
    run(
        shell,
        "import keras\nfrom keras.src.models.functional import Functional\n"
        "Functional.predict = lambda self, x, **k: 'fake'\n"
        "trainer = next(c for c in keras.Model.__mro__ if 'fit' in vars(c))\n"
        "trainer.fit = lambda self, *a, **k: 'fake'\n"
        "keras.Sequential.fit = lambda self, *a, **k: 'fake'",
    )
    run(shell, "pass")
    assert "predict" not in vars(Functional)
    assert keras.Model.fit is real_fit and keras.Sequential.fit is real_fit
