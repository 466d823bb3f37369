"""Running nbgrader on a course folder from Python, for the tests and the benchmarks.

Instructors use the same commands from a shell (see the README); this wrapper only makes
sure nbgrader finds its helper scripts and reports failures with nbgrader's own log.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def assignments() -> list[str]:
    """The course's assignments: one folder each in solutions/."""
    return sorted(path.name for path in (ROOT / "solutions").iterdir() if path.is_dir())


def nbgrader(course: Path, *args: str) -> str:
    """Run ``nbgrader ARGS`` in ``course`` and return its log; raise RuntimeError if it fails."""
    # nbgrader starts `alembic` by name, so this environment's scripts must come first on PATH.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("NBGRADER_EXECUTION", None)
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, text=True,
                            stdin=subprocess.DEVNULL, capture_output=True)
    if result.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout + result.stderr


def course_with(assignment: str, folder: Path) -> Path:
    """A fresh course folder holding this course's config and the source of ``assignment``, released."""
    shutil.copytree(ROOT / "solutions" / assignment, folder / "solutions" / assignment)
    shutil.copy(ROOT / "nbgrader_config.py", folder)
    nbgrader(folder, "generate_assignment", assignment)
    return folder


def solution_answers(assignment: str) -> dict[str, str]:
    """The instructor's answer to every answer cell of ``assignment``, without nbgrader's solution markers."""
    answers = {}
    for path in sorted((ROOT / "solutions" / assignment).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                answers[meta["grade_id"]] = "\n".join(
                    line for line in cell.source.splitlines()
                    if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
    return answers


def submit(course: Path, assignment: str, student: str, answers: dict[str, str]):
    """Put a submission in ``course``: the released notebooks with the answer cells named in ``answers`` filled in."""
    for release in sorted((course / "exercises" / assignment).glob("*.ipynb")):
        notebook = nbformat.read(release, as_version=4)
        for cell in notebook.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution") and meta["grade_id"] in answers:
                cell.source = answers[meta["grade_id"]]
        target = course / "submitted" / student / assignment / release.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, target)
