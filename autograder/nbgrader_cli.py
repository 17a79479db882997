"""``python -m autograder.nbgrader_cli ARGS`` runs ``nbgrader ARGS``, started faster.

Every nbgrader process imports ``jsonschema`` (through ``nbformat``), and
jsonschema's format checkers import ``rfc3987_syntax`` eagerly, which builds
about 35 Earley parsers at import: 1.7 s of every process's start on a 2-core
machine, half of nbgrader's import time (jsonschema issue #1428). The driver
starts one nbgrader process per notebook it grades, so the course's own
commands start nbgrader without that module: jsonschema then skips the only two
formats it checks (``iri`` and ``iri-reference``), which no notebook or
nbgrader schema uses. Everything else is nbgrader's own command line.
"""

import sys

# A None entry makes `import rfc3987_syntax` raise ImportError, which jsonschema
# catches (it then leaves those formats unchecked).
sys.modules.setdefault("rfc3987_syntax", None)

from nbgrader.apps.nbgraderapp import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
