"""Course folders and nbgrader, from Python: the one wrapper that runs nbgrader (for the sandbox, the tests and
the benchmarks), and what the tests and benchmarks build course folders and sample submissions with.

Instructors use the same nbgrader commands from a shell (see the README); the wrapper only makes sure nbgrader
finds its helper scripts and reports a failure with the line of nbgrader's log that says why.
"""

import ast
import os
import select
import shutil
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

import nbformat

from lrgrader import suites

ROOT = Path(__file__).resolve().parents[1]


def assignments() -> list[str]:
    """The course's assignments: one folder each in solutions/."""
    return sorted(path.name for path in (ROOT / "solutions").iterdir() if path.is_dir())


class NbgraderFailed(RuntimeError):
    """nbgrader exited with an error or ran past its time limit; ``summary`` is the line of its log that says why."""

    def __init__(self, args: tuple, log: str, summary: str):
        super().__init__(f"nbgrader {' '.join(args)} failed: {summary}\n{log}")
        self.summary = summary


def nbgrader(course: Path, *args: str, env: dict | None = None, timeout: float | None = None,
             forked: bool = False) -> str:
    """Run ``nbgrader ARGS`` in ``course`` (with ``env`` added to the environment) and return its log; raise
    NbgraderFailed if it fails or runs past ``timeout`` seconds.

    With ``forked``, nbgrader runs in a child forked from this process rather than in a new interpreter, which
    spares it the two seconds of importing nbgrader (imported here once): for a process with no other thread,
    such as a worker of the class command, which runs nbgrader once per submission.
    """
    # nbgrader starts `alembic` by name, so this environment's scripts must come first on PATH.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           **(env or {})}
    env.pop("NBGRADER_EXECUTION", None)
    if forked:
        status, log = _forked_nbgrader(course, args, env, timeout)
    else:
        try:
            result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, text=True,
                                    stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            status, log = None, ""
        else:
            status, log = result.returncode, result.stdout + result.stderr
    if status is None:
        raise NbgraderFailed(args, log, f"nbgrader ran past {timeout:g} s")
    if status != 0:
        errors = [line for line in log.splitlines() if "[ERROR]" in line]
        raise NbgraderFailed(args, log, errors[-1] if errors else f"nbgrader exited with status {status}")
    return log


def _forked_nbgrader(course: Path, args: tuple, env: dict, timeout: float | None) -> tuple[int | None, str]:
    """(exit status, None past the time limit; its log) of nbgrader run in a forked child."""
    from nbgrader.apps.nbgraderapp import NbGraderApp

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.close(read_end)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            for fd in (1, 2):
                os.dup2(write_end, fd)
            os.chdir(course)
            os.environ.clear()
            os.environ.update(env)
            NbGraderApp.launch_instance(argv=list(args))
            status = 0
        except SystemExit as exit:
            status = exit.code if isinstance(exit.code, int) else 1
        except BaseException:  # into the log, which would otherwise say only that nbgrader exited with status 1
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)
    os.close(write_end)
    deadline = None if timeout is None else time.monotonic() + timeout
    chunks, in_time = [], True
    with os.fdopen(read_end, "rb") as reader:
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and (left <= 0 or not select.select([reader], [], [], left)[0]):
                in_time = False
                break
            chunk = os.read(reader.fileno(), 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    if not in_time:
        os.kill(pid, signal.SIGKILL)
    status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    return (status if in_time else None), b"".join(chunks).decode(errors="replace")


def course_with(assignment: str, folder: Path) -> Path:
    """A fresh course folder holding this course's config and the source of ``assignment``, released."""
    shutil.copytree(ROOT / "solutions" / assignment, folder / "solutions" / assignment)
    shutil.copy(ROOT / "nbgrader_config.py", folder)
    nbgrader(folder, "generate_assignment", assignment)
    return folder


def notebook_cells(assignment: str) -> list:
    """Every cell of the source notebooks of ``assignment``, in order."""
    return [cell for path in sorted((ROOT / "solutions" / assignment).glob("*.ipynb"))
            for cell in nbformat.read(path, as_version=4).cells]


def solution_answers(assignment: str) -> dict[str, str]:
    """The instructor's answer to every answer cell of ``assignment``, without nbgrader's solution markers."""
    return {cell.metadata["nbgrader"]["grade_id"]: "\n".join(
                line for line in cell.source.splitlines() if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
            for cell in notebook_cells(assignment) if cell.metadata.get("nbgrader", {}).get("solution")}


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


# ---------------------------------------------------------------- what each item's points are for

POINTS_LINE = "**Points"  # how the line that states an item's requirements begins, in its part's text


def requirements(item: str) -> dict[str, tuple[str, int]]:
    """The ``REQUIREMENTS`` its hidden suite declares for ``item``, read as a literal (nothing is imported)."""
    tree = ast.parse(suites.suite(item, ROOT).read_text())
    for statement in tree.body:
        targets = [getattr(target, "id", None) for target in getattr(statement, "targets", ())]
        if isinstance(statement, ast.Assign) and targets == ["REQUIREMENTS"]:
            return ast.literal_eval(statement.value)
    raise LookupError(f"the suite of {item} declares no REQUIREMENTS")


def points_line(item: str) -> str:
    """The sentence that tells a student what ``item``'s points are for: each requirement and its share."""
    shares = "; ".join(f"{share}% {title}" for title, share in requirements(item).values())
    return f"{POINTS_LINE} ({suites.points(item, ROOT):g}):** {shares}."


def _parts(cells) -> Iterator[tuple[str, "nbformat.NotebookNode"]]:
    """(grade id, the markdown cell above it) for each answer cell among ``cells``: the text of its part."""
    last = None
    for cell in cells:
        if cell.cell_type == "markdown":
            last = cell
        elif cell.metadata.get("nbgrader", {}).get("solution"):
            yield cell.metadata["nbgrader"]["grade_id"], last


def part_texts(assignment: str) -> dict[str, str]:
    """The text of the part that introduces each answer cell of ``assignment``."""
    return {name: cell.source for name, cell in _parts(notebook_cells(assignment))}


def write_points_lines(assignment: str):
    """Write (or rewrite) the points line of every item at the end of its part's text, in solutions/; then run
    ``nbgrader generate_assignment ASSIGNMENT --force`` for the students' copy."""
    for path in sorted((ROOT / "solutions" / assignment).glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for name, text in _parts(notebook.cells):
            kept = [block for block in text.source.rstrip().split("\n\n") if not block.startswith(POINTS_LINE)]
            text.source = "\n\n".join([*kept, points_line(f"{assignment}/{name}")])
        nbformat.write(notebook, path)
