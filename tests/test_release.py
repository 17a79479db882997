"""The committed student release: up to date, no solutions, contract names kept."""

import subprocess
import sys

import nbformat
import pytest

from autograder.pipeline import check_release
from tests.submissions import RELEASE, SOURCE, build_submission, load_fixture

CONTRACT = {
    "10_exercise_fix_broken_model.ipynb": [
        "ex1_gradient_norms",
        "ex1_fixed_model",
        "ex1_diagnosis",
    ],
    "11_exercise_lr_warmup.ipynb": ["ex2_lr_warmup"],
    "12_exercise_training_monitor.ipynb": ["ex3_training_monitor"],
}
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def _nbgrader(*args):
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args], capture_output=True, text=True
    )


@pytest.mark.slow
def test_release_is_up_to_date_with_source():
    assert check_release() == []


def test_release_has_every_source_notebook():
    source = sorted(p.name for p in SOURCE.glob("*.ipynb"))
    assert source, "no source notebooks"
    assert sorted(p.name for p in RELEASE.glob("*.ipynb")) == source


@pytest.mark.parametrize("name", sorted(p.name for p in RELEASE.glob("*.ipynb")))
def test_release_hides_solutions_and_hidden_tests(name):
    text = (RELEASE / name).read_text()
    for marker in MARKERS:
        assert marker not in text
    nb = nbformat.read(RELEASE / name, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], "release notebooks are shipped without outputs"


@pytest.mark.parametrize("name", sorted(p.name for p in RELEASE.glob("*.ipynb")))
def test_written_answer_cells_hold_one_prompt(name):
    """A written-answer cell reads "YOUR ANSWER HERE" once, not twice."""
    nb = nbformat.read(RELEASE / name, as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown" and meta.get("solution"):
            assert cell.source.strip() == "YOUR ANSWER HERE", meta.get("grade_id")


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_contract_solution_cells_are_stubs(name):
    nb = nbformat.read(RELEASE / name, as_version=4)
    cells = {
        c.metadata["nbgrader"]["grade_id"]: c
        for c in nb.cells
        if "nbgrader" in c.metadata
    }
    for grade_id in CONTRACT[name]:
        assert grade_id in cells, f"{grade_id} missing from {name}"
        meta = cells[grade_id].metadata["nbgrader"]
        assert meta["solution"] is True
        assert "raise NotImplementedError()" in cells[grade_id].source
    tests = [c for c in cells.values() if c.metadata["nbgrader"].get("grade")]
    assert any(c.cell_type == "code" for c in tests), "no autograded test cells"


@pytest.mark.slow
def test_nbgrader_validate_passes_on_source_and_fails_on_release():
    """The exercises' solutions validate; the unanswered release does not.

    (The lessons have no tests of their own: nbval executes them in the same run.)
    """
    notebooks = [SOURCE / name for name in sorted(CONTRACT)]
    result = _nbgrader("validate", *map(str, notebooks))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("Success! Your notebook passes all the tests.") == len(
        notebooks
    ), result.stdout
    assert "failed" not in result.stdout.lower()
    for name in CONTRACT:  # the unanswered student version must not validate
        result = _nbgrader("validate", str(RELEASE / name))
        assert "VALIDATION FAILED" in result.stdout, name


def test_keras2_idiom_fixture_really_warns():
    """The fixture below is only a test of the grader if Keras 3 warns about it."""
    import warnings

    import keras

    namespace = {"keras": keras}
    exec(load_fixture("ex1_alt_keras2_idiom")["sources"]["ex1_fixed_model"], namespace)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        namespace["create_fixed_model"]()
    assert any("input_shape" in str(w.message) for w in caught)


@pytest.mark.slow
def test_validate_agrees_with_the_grader_on_other_idioms(tmp_path):
    """Validate agrees with the grader: a correct model in the Keras 2 idiom (Keras 3
    warns on stderr) passes; a keras.Model subclass, which the grader cannot reload
    outside the notebook, fails the visible interface test and says why."""
    paths = []
    for name in ("ex1_alt_keras2_idiom", "ex1_subclassed_model"):
        path = tmp_path / f"{name}.ipynb"
        nbformat.write(build_submission(load_fixture(name)), path)
        paths.append(str(path))
    result = _nbgrader("validate", *paths)
    assert result.stdout.count("Success! Your notebook passes all the tests.") == 1, (
        result.stdout + result.stderr
    )
    assert "build the model from Keras's own layers" in result.stdout
