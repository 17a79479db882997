"""Run by the sandboxed kernel before any cell (``IPKernelApp.exec_files``).

It executes in the notebook's namespace, so it only hands over to
:mod:`autograder.guard` and leaves no names behind.
"""

import autograder.guard as _guard_module

_guard_module.install()
del _guard_module
