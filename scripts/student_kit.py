"""Build the student kit: the released notebooks and the ``course`` wheel, nothing else.

Usage: ``python scripts/student_kit.py [--out DIR]`` (``make student-kit``). Writes

    DIR/debugging_nn/            a copy of release/debugging_nn/ (no solutions)
    DIR/wheels/*.whl             the helper package `course` and nothing else
    DIR/README.md                the one set-up command and how to open the notebooks

and ``DIR.zip`` beside it, for the course page. The wheel is checked to hold only
``course/`` (never ``source/``, ``autograder/`` or tests), and the kit to hold no
solution or hidden-test markers; a kit that fails either check is not written.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT / "release" / "debugging_nn"
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")

SETUP_COMMAND = (
    "python3 -m venv .venv && .venv/bin/python -m pip install wheels/{wheel}"
    " && .venv/bin/python -m course student-setup"
)
# --allow-root: containers, WSL and cloud VMs often run as root (harmless else).
OPEN_COMMAND = ".venv/bin/jupyter lab --allow-root debugging_nn"
#: Keeps nbgrader's extensions from warning that no course config exists.
NBGRADER_CONFIG = """\
# A student's folder: nbgrader's Validate button needs no course settings.
c = get_config()  # noqa: F821
"""

README = """\
# Debugging Neural Networks: student kit

You need Python 3.11 or 3.12 and about 2 GB of disk (TensorFlow, CPU build).
From this folder, set up once:

```bash
{setup}
```

On Windows (PowerShell or cmd), set up with
`py -m venv .venv`, then `.venv\\Scripts\\python -m pip install wheels\\{wheel}`,
then `.venv\\Scripts\\python -m course student-setup`, and open the notebooks
with `.venv\\Scripts\\jupyter lab debugging_nn`.

This installs the course's helper package `course` with TensorFlow, Keras,
JupyterLab and nbgrader (the **Validate** button). Then open the notebooks:

```bash
{open}
```

Work through `01` to `09`, then solve the exercises `10` to `12`. Cells that check
your work are marked as tests; click **Validate** before you hand in. Hand in the
three exercise notebooks as your instructor asks.

Fashion-MNIST (about 30 MB) is downloaded on first use into `~/.keras/datasets/`.
Offline? Put the four `*-ubyte.gz` files in a folder and set `COURSE_DATA_DIR` to
it, or on Debian/Ubuntu `sudo apt-get install dataset-fashion-mnist`.
"""


def build_wheel(dest: Path) -> Path:
    """Build the `course` wheel (pip's isolated build) into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        # Build from a copy of just what the package needs: no stale build/ dir,
        # and nothing but course/ can end up in the wheel.
        src = Path(tmp) / "src"
        src.mkdir()
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            shutil.copy(ROOT / name, src)
        shutil.copytree(
            ROOT / "course",
            src / "course",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                "-q",
                "-w",
                str(dest),
                str(src),
            ],
            check=True,
        )
    (wheel,) = dest.glob("debugging_nn_course-*.whl")
    return wheel


def check_wheel(wheel: Path) -> None:
    """Raise if the wheel holds anything but the `course` package and its metadata."""
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    stray = [n for n in names if not n.startswith("course/") and ".dist-info/" not in n]
    if stray or not any(n == "course/__init__.py" for n in names):
        raise SystemExit(f"{wheel.name}: unexpected contents {stray or names}")


def check_kit(kit: Path) -> None:
    """Raise if any kit file carries a solution or hidden-test marker."""
    for path in kit.rglob("*"):
        if path.is_file() and path.suffix in (".ipynb", ".py", ".md"):
            text = path.read_text(errors="replace")
            found = [m for m in MARKERS if m in text]
            if found:
                raise SystemExit(f"{path}: contains {found}")


def build_kit(out: Path) -> Path:
    """Write the kit into ``out`` (replacing it) and ``out.zip``; return ``out``."""
    if not any(RELEASE.glob("*.ipynb")):
        raise SystemExit(f"{RELEASE} has no notebooks: run `make release` first")
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(
        RELEASE, out / "debugging_nn", ignore=shutil.ignore_patterns(".ipynb_*")
    )
    wheel = build_wheel(out / "wheels")
    check_wheel(wheel)
    (out / "README.md").write_text(
        README.format(
            setup=SETUP_COMMAND.format(wheel=wheel.name),
            open=OPEN_COMMAND,
            wheel=wheel.name,
        )
    )
    (out / "nbgrader_config.py").write_text(NBGRADER_CONFIG)
    check_kit(out)
    shutil.make_archive(str(out), "zip", root_dir=out.parent, base_dir=out.name)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist" / "student-kit")
    args = parser.parse_args(argv)
    out = build_kit(args.out.resolve())
    print(f"student kit: {out}/ and {out}.zip")
    return 0


if __name__ == "__main__":
    sys.exit(main())
