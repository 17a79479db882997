"""Score fixture submissions quickly, without the grading pipeline.

    python scripts/score_fixtures.py [--reference] [NAME_OR_PREFIX ...]

Each fixture (``tests/fixtures/submissions/<name>``) is built on the *source*
notebook (so its hidden tests run too), executed in a plain kernel and scored with
nbgrader's own ``determine_grade``; the failing tests are compared with the
fixture's ``expected_failures``. ``--reference`` scores the reference answers of
the exercise notebooks too. This is the author's loop while writing an exercise;
the end-to-end test (``tests/test_grading.py``) grades the same fixtures through
the sandboxed driver and the gradebook.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.submissions import (  # noqa: E402
    SOURCE,
    build_submission,
    failing_tests,
    fixture_names,
    load_fixture,
    reference_sources,
    score_notebook,
    substitute_cells,
)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/score_fixtures.py")
    parser.add_argument("names", nargs="*", help="fixture names or prefixes (ex2_)")
    parser.add_argument("--reference", action="store_true")
    args = parser.parse_args(argv)
    names = [
        n
        for n in fixture_names()
        if not args.names or any(n.startswith(p) for p in args.names)
    ]
    wrong = 0
    if args.reference:
        for path in sorted(SOURCE.glob("0*_exercise_*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            nb = substitute_cells(nb, reference_sources(path.name))
            result = score_notebook(nb)
            failed = failing_tests(result["scores"])
            wrong += bool(failed)
            print(f"reference {path.stem}: failed {failed} ({result['seconds']:.0f} s)")
    for name in names:
        spec = load_fixture(name)
        result = score_notebook(build_submission(spec, base=SOURCE))
        failed = failing_tests(result["scores"])
        ok = failed == sorted(spec["expected_failures"])
        wrong += not ok
        print(
            f"{'ok ' if ok else 'BAD'} {name}: failed {failed}, expected "
            f"{sorted(spec['expected_failures'])} ({result['seconds']:.0f} s)",
            flush=True,
        )
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
