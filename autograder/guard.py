"""Kernel start-up guard for grading (run by the sandboxed kernel before any cell).

Before every cell it puts back what a submission may have monkeypatched to make
failing tests pass: the assertion helpers of ``numpy.testing``, IPython's
traceback display and custom exception handler, and the builtins tests rely on.
Patches are undone, not just detected, so a test cell always runs with the real
functions. The driver additionally scans submissions for tampering and records
it (``autograder.checks``).
"""


def _install_guard():
    import builtins
    import sys

    from IPython import get_ipython
    from IPython.core.interactiveshell import InteractiveShell

    shell = get_ipython()
    saved = []

    def remember(owner, name):
        saved.append((owner, name, getattr(owner, name)))

    try:
        import numpy.testing as npt

        for name in (
            "assert_allclose",
            "assert_array_equal",
            "assert_array_almost_equal",
            "assert_almost_equal",
            "assert_equal",
        ):
            remember(npt, name)
    except ImportError:  # pragma: no cover - numpy is a course dependency
        pass
    for name in ("showtraceback", "showsyntaxerror", "_showtraceback"):
        if hasattr(InteractiveShell, name):
            remember(InteractiveShell, name)
    for name in ("isinstance", "float", "abs", "len", "all", "any", "set", "sorted"):
        remember(builtins, name)
    real_custom_exceptions = shell.custom_exceptions
    real_custom_handler = getattr(shell, "CustomTB", None)
    real_excepthook = sys.excepthook
    modules = {
        name: sys.modules[name]
        for name in ("numpy", "numpy.testing")
        if name in sys.modules
    }

    def restore(*_args, **_kwargs):
        for owner, name, value in saved:
            if getattr(owner, name, None) is not value:
                setattr(owner, name, value)
        for name in ("showtraceback", "showsyntaxerror", "_showtraceback"):
            shell.__dict__.pop(name, None)  # instance-level overrides
        shell.custom_exceptions = real_custom_exceptions
        if real_custom_handler is not None:
            shell.CustomTB = real_custom_handler
        sys.excepthook = real_excepthook
        for name, module in modules.items():
            sys.modules[name] = module

    shell.events.register("pre_run_cell", restore)


_install_guard()
del _install_guard
