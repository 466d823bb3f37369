"""Autograding one student's submission so that nothing the student wrote can break the batch or cheat.

:func:`autograde_one` runs ``nbgrader autograde`` for one student, with four defences around it:

- **A staged copy.** nbgrader reads a copy of the submission that holds exactly the assignment's notebooks:
  one that is missing, renamed, too large or not a notebook is replaced by the unanswered release (it scores 0)
  and flagged, as are edited read-only cells, deleted, added or reordered graded cells and changed points.
- **A confined kernel** (:mod:`lrgrader.kernel`): memory, CPU time, file size and output are capped, each
  cell has a time limit, the kernel reads only what Python needs, writes only its own autograded folder, opens
  no TCP connection and holds no root privilege, so it can neither read the hidden suites nor touch the
  gradebook, other students' work or a TCP server (what Landlock cannot close, UDP, is flagged).
- **A grader outside the kernel** (:mod:`lrgrader.server`, reached over a Unix socket) runs each hidden suite,
  with the answer in a process of its own that is confined the same way, and appends every verdict to a ledger
  the kernel cannot touch. After nbgrader, every autograder cell's score in the gradebook is set from the
  ledger (0 where the suite never ran) and every difference from what the notebook reported is flagged, as is
  every answer that used what its exercise forbids: patching the grader, numpy or the display hooks in the
  kernel, printing a fake score, returning an object that looks like one, or forging the checks' report from
  inside the answer earns nothing.
- **Retries.** When a cell kills the kernel (a segfault, ``os._exit``, a sleep that ignores the interrupt),
  that cell is tagged to be skipped in the staged copy and the notebook graded again; after
  :attr:`~lrgrader.limits.Limits.attempts` tries it is graded as the release.
"""

import atexit
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor

from lrgrader import kernel, tampering
from lrgrader.client import SOCKET_VARIABLE
from lrgrader.instructor import NbgraderFailed, nbgrader
from lrgrader.limits import LIMITS, cell_timeout
from lrgrader.records import KernelAttempt, RecordError, Verdict, earned
from lrgrader.server import Template

KERNEL_NAME = "lrgrader-confined"
SKIP = "skip-execution"  # the tag of the cells that nbclient does not run
# nbgrader's settings for the sandbox, read from a folder of its own (JUPYTER_CONFIG_DIR).
_NBGRADER_CONFIG = "from lrgrader.sandbox import configure_nbgrader\nconfigure_nbgrader(c)\n"
_BROKEN_CONFIG = "Exception while loading config file"  # what nbgrader logs, and then goes on without it


def configure_nbgrader(config):
    """nbgrader's settings in the sandbox: a grade cell may take as long as its suite, the other cells
    LIMITS.cell_seconds, a kernel LIMITS.start_wall_seconds to start; and ScoreWithinPoints runs between the
    execution and the reading of the scores."""
    from nbgrader.converters.autograde import Autograde
    from nbgrader.preprocessors import SaveAutoGrades

    config.Execute.timeout_func = cell_timeout
    config.Execute.startup_timeout = LIMITS.start_wall_seconds  # a kernel starting on a loaded machine
    steps = list(Autograde.class_traits()["autograde_preprocessors"].default())
    steps.insert(steps.index(SaveAutoGrades), ScoreWithinPoints)
    config.Autograde.autograde_preprocessors = steps


class ScoreWithinPoints(NbGraderPreprocessor):
    """Read a grade cell that reports more than its points as reporting its points.

    nbgrader refuses such a report by failing the notebook, which would read as a kernel that died. What a cell
    reports decides nothing here (the ledger does); it is only compared with the grader's measurement, so the
    notebook is graded and the difference flagged.
    """

    def preprocess_cell(self, cell, resources, index):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and "points" in meta:
            for output in cell.get("outputs", []):
                data = output.get("data", {}) if output.get("output_type") == "execute_result" else {}
                text = data.get("text/plain")
                try:
                    reported = float(text if isinstance(text, str) else "".join(text))
                except (TypeError, ValueError):
                    continue
                if reported > float(meta["points"]):
                    data["text/plain"] = f"{float(meta['points']):g}"
        return cell, resources


def autograde_one(course: Path, assignment: str, student: str, *,
                  db_url: str | None = None) -> tuple[list[str], list[Verdict]]:
    """Autograde ``student``'s submission of ``assignment`` in ``course``: why it is flagged ([] if not), and the
    grader's verdict on every item it ran.

    Never raises for a fault of the student's; writes the grades into the gradebook at ``db_url``
    (default: course/gradebook.db), keeping any manual grades.
    """
    course = Path(course).resolve()
    db_url = db_url or f"sqlite:///{course / 'gradebook.db'}"
    with tempfile.TemporaryDirectory(prefix="lrgrader-sandbox-") as box:
        box = Path(box)
        staged = box / "submitted" / student / assignment
        flags = _stage(course / "submitted" / student / assignment, course / "exercises" / assignment, staged)
        scratch, ledger, grader_socket = box / "scratch", box / "ledger.jsonl", box / "grader.sock"
        scratch.mkdir()
        _write_kernel_spec(box / "jupyter", scratch, grader_socket)
        (box / "config").mkdir()
        (box / "config" / "nbgrader_config.py").write_text(_NBGRADER_CONFIG)
        environment = {"JUPYTER_PATH": f"{box / 'jupyter'}{os.pathsep}{os.environ.get('JUPYTER_PATH', '')}",
                       "JUPYTER_CONFIG_DIR": str(box / "config")}
        grader = _template(assignment).start(grader_socket, ledger)
        try:
            _wait_for(grader_socket, grader)
            command = ["autograde", assignment, "--student", student, "--force", f"--CourseDirectory.db_url={db_url}",
                       f"--CourseDirectory.submitted_directory={box / 'submitted'}",
                       f"--Execute.kernel_name={KERNEL_NAME}", f"--Execute.timeout={LIMITS.cell_seconds}"]
            released = False
            for attempt in range(LIMITS.attempts):
                ledger.unlink(missing_ok=True)
                (scratch / kernel.RUNNING_CELL).unlink(missing_ok=True)
                try:
                    log = nbgrader(course, *command, env=environment, timeout=_time_limit(staged), forked=True)
                except NbgraderFailed as failure:
                    log = failure.summary
                    if _BROKEN_CONFIG in failure.args[0]:
                        raise RuntimeError(f"the sandbox's nbgrader settings do not load: {failure}") from None
                else:
                    if _BROKEN_CONFIG in log:
                        raise RuntimeError(f"the sandbox's nbgrader settings do not load: {log}")
                    break
                if released:
                    raise RuntimeError(f"nbgrader cannot grade even the release of {assignment}: {log}")
                if attempt < LIMITS.attempts - 2 and (culprit := _neutralize(staged, scratch)):
                    flags.append(f"{culprit} stopped the kernel; it was skipped and the notebook graded again")
                else:
                    flags.append(f"the notebooks could not be graded, so they were graded as released: {log}")
                    _stage_release(course / "exercises" / assignment, staged)
                    released = True
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(grader, signal.SIGKILL)
        verdicts, kernel_attempts = _read_ledger(ledger)
        flags += [f"the notebook tried to {attempt} while it ran" for attempt in kernel_attempts]
        flags += _scores_from_ledger(db_url, assignment, student, verdicts)
        for path in sorted((course / "autograded" / student / assignment).glob("*.ipynb")):
            flags += [f"{path.name}: {flag}" for flag in tampering.output_flags(nbformat.read(path, as_version=4))]
    return flags, list(verdicts.values())


# ------------------------------------------------------------------ the staged copy


def _stage(submitted: Path, release: Path, staged: Path) -> list[str]:
    """Copy into ``staged`` the notebooks of ``release`` as submitted, the release itself where unusable; flags."""
    staged.mkdir(parents=True)
    flags = []
    expected = {path.name: path for path in sorted(release.glob("*.ipynb"))}
    present = sorted(path.name for path in submitted.iterdir() if not path.name.startswith(".")) \
        if submitted.is_dir() else []
    for name in present:
        if name not in expected and name != "timestamp.txt":
            flags.append(f"{name}: not a notebook of the assignment, not graded")
    if (submitted / "timestamp.txt").is_file():
        shutil.copy(submitted / "timestamp.txt", staged)
    for name, released in expected.items():
        problem = _unusable(submitted / name)
        if problem:
            flags.append(f"{name}: {problem}; graded as released, with no answers")
            shutil.copy(released, staged / name)
        else:
            notebook, release = (nbformat.read(path, as_version=4) for path in (submitted / name, released))
            flags += [f"{name}: {change}" for change in _changes(release, notebook)]
            flags += [f"{name}: {flag}" for flag in tampering.code_flags(notebook)]
            nbformat.write(_without_unknown_ids(notebook, release), staged / name)
    return flags


def _without_unknown_ids(notebook, release):
    """``notebook`` with the cells whose grade ids the release lacks made plain cells: nbgrader fails on them."""
    known = {cell.metadata.get("nbgrader", {}).get("grade_id") for cell in release.cells}
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") not in known:
            cell.metadata.pop("nbgrader", None)
    return notebook


def _stage_release(release: Path, staged: Path):
    for path in release.glob("*.ipynb"):
        shutil.copy(path, staged / path.name)


def _unusable(path: Path) -> str | None:
    """Why the notebook at ``path`` cannot be graded, None if it can."""
    if not path.is_file():
        return "missing"
    size = path.stat().st_size
    if size > LIMITS.notebook_mb * 2**20:
        return f"too large ({size / 2**20:.0f} MB, at most {LIMITS.notebook_mb} MB)"
    try:
        nbformat.read(path, as_version=4)
    except Exception as error:  # whatever a malformed file makes nbformat raise
        return f"not a notebook ({type(error).__name__})"
    return None


def _changes(release, submitted) -> list[str]:
    """How the graded structure of ``submitted`` differs from ``release``: what a student must not change."""
    def graded_cells(notebook):
        return {cell.metadata["nbgrader"]["grade_id"]: cell for cell in notebook.cells
                if "grade_id" in cell.metadata.get("nbgrader", {})}

    expected, found = graded_cells(release), graded_cells(submitted)
    changes = []
    if missing := [name for name in expected if name not in found]:
        changes.append(f"cells deleted or renamed: {', '.join(missing)}")
    if unknown := [name for name in found if name not in expected]:
        changes.append(f"cells with unknown ids: {', '.join(unknown)}")
    kept = [name for name in found if name in expected]
    if kept != [name for name in expected if name in found]:
        changes.append("cells reordered")
    for name in kept:
        old, new = expected[name], found[name]
        if old.metadata["nbgrader"] != new.metadata["nbgrader"] or old.cell_type != new.cell_type:
            changes.append(f"grading settings of cell {name} changed (restored)")
        elif old.metadata["nbgrader"].get("locked") and old.source != new.source:
            changes.append(f"read-only cell {name} edited (restored)")
    return changes


# ------------------------------------------------------------------ running nbgrader


def _write_kernel_spec(jupyter: Path, scratch: Path, grader_socket: Path):
    """The kernel spec of the confined kernel, in a folder of its own put on JUPYTER_PATH for this run only."""
    spec = jupyter / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "lrgrader.kernel", "--scratch", str(scratch), "-f", "{connection_file}"]
    home = {name: str(scratch) for name in ("HOME", "TMPDIR", "IPYTHONDIR", "MPLCONFIGDIR")}
    (spec / "kernel.json").write_text(json.dumps({
        "argv": argv, "display_name": "Python 3 (confined)", "language": "python",
        "env": {**home, SOCKET_VARIABLE: str(grader_socket), "PYTHONNOUSERSITE": "1"}}))


_TEMPLATES: dict[tuple[str, str | None], Template] = {}


def _template(assignment: str) -> Template:
    """This process's grader template for ``assignment`` and the task seed now set, started the first time (a
    worker keeps it): its graders inherit the seed from it."""
    key = (assignment, os.environ.get("LRGRADER_SEED"))
    template = _TEMPLATES.get(key)
    if template is None or template.process.poll() is not None:
        template = _TEMPLATES[key] = Template(assignment)
        atexit.register(template.close)
    return template


def _wait_for(path: Path, pid: int):
    deadline = time.monotonic() + LIMITS.start_wall_seconds
    while not path.exists():
        if not Path(f"/proc/{pid}").exists() or time.monotonic() > deadline:
            raise RuntimeError("the grader did not start")
        time.sleep(0.02)


def _time_limit(staged: Path) -> float:
    """How long nbgrader may take for the staged notebooks: every cell at its limit, and a minute to start."""
    cells = [cell for path in staged.glob("*.ipynb") for cell in nbformat.read(path, as_version=4).cells]
    return sum(cell_timeout(cell) for cell in cells) + 60


def _neutralize(staged: Path, scratch: Path) -> str | None:
    """Have nbgrader skip the cell that was running when the kernel died; name it, None if it is not found.

    The kernel ran the cell as nbgrader restored it, hidden tests included; the staged copy has it as the
    student saw it, so the two are compared without the hidden tests.
    """
    running = scratch / kernel.RUNNING_CELL
    if not running.is_file():
        return None
    source = _visible(running.read_text())
    for path in sorted(staged.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for index, cell in enumerate(notebook.cells):
            tags = cell.metadata.setdefault("tags", [])
            if cell.cell_type == "code" and _visible(cell.source) == source and SKIP not in tags:
                tags.append(SKIP)
                nbformat.write(notebook, path)
                name = cell.metadata.get("nbgrader", {}).get("grade_id", f"number {index + 1}")
                return f"{path.name}: cell {name}"
    return None


def _visible(source: str) -> str:
    """``source`` without its hidden tests, as a student's copy has it."""
    lines, hidden = [], False
    for line in source.splitlines():
        hidden = hidden or line.strip() == "### BEGIN HIDDEN TESTS"
        if not hidden:
            lines.append(line)
        hidden = hidden and line.strip() != "### END HIDDEN TESTS"
    return "\n".join(lines).strip()


# ------------------------------------------------------------------ scores from the ledger


def _read_ledger(ledger: Path) -> tuple[dict[str, Verdict], list[str]]:
    """The grader's last verdict on each item, by item ("ex01/gd_step"), and what the kernel tried that it
    should not have."""
    verdicts, attempts = {}, []
    for line in ledger.read_text().splitlines() if ledger.is_file() else []:
        try:
            verdict = Verdict.from_json(line)
            verdicts[verdict.item] = verdict
        except RecordError:
            try:
                attempts.append(KernelAttempt.from_json(line).attempt)
            except RecordError:
                continue
    return verdicts, attempts


def _scores_from_ledger(db_url: str, assignment: str, student: str, verdicts: dict[str, Verdict]) -> list[str]:
    """Set each autograder cell's score from the grader's verdicts, keeping manual grades; flag every difference
    from what the notebook reported, and every use of what the exercise forbids."""
    from nbgrader.api import Gradebook  # imports SQLAlchemy: only the grading process needs it

    flags = []
    with Gradebook(db_url) as gradebook:
        for notebook in gradebook.find_submission(assignment, student).notebooks:
            for grade in notebook.grades:
                if grade.cell.cell_type != "code" or not grade.name.endswith("_graded"):
                    continue
                verdict = verdicts.get(f"{assignment}/{grade.name.removesuffix('_graded')}")
                measured = 0.0
                if verdict is not None and not (verdict.problem or verdict.broken_rules or verdict.attempts):
                    measured = earned(grade.max_score, verdict.requirements, verdict.checks)
                if verdict is not None:
                    flags += _verdict_flags(f"{notebook.name}: cell {grade.name}", verdict)
                reported = grade.auto_score
                if reported is None or abs(reported - measured) > 0.005:
                    flags.append(f"{notebook.name}: cell {grade.name} reported {_points(reported)}, "
                                 f"the grader measured {measured:g}")
                grade.auto_score, grade.needs_manual_grade = measured, False
        gradebook.db.commit()
    return flags


def _verdict_flags(cell: str, verdict: Verdict) -> list[str]:
    """What the grader's verdict on one item holds for the instructor to look at."""
    flags = []
    if verdict.broken_rules:
        flags.append(f"{cell}: the answer used what the exercise forbids ({', '.join(verdict.broken_rules)}); 0 points")
    flags += [f"{cell}: the answer tried to {attempt} while it was checked; 0 points" for attempt in verdict.attempts]
    if verdict.crashes:
        flags.append(f"{cell}: the answer's process ended in the middle of {verdict.crashes} "
                     f"check{'s' if verdict.crashes > 1 else ''} (a crash, os._exit or the memory limit)")
    return flags


def _points(score: float | None) -> str:
    return "no score" if score is None else f"{score:g} points"
