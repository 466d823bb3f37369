"""Grading a submission safely: a corpus of broken and hostile submissions, graded in one batch among good ones.

Each case of tests/hostile/ex01/cases.json is one student: the instructor's answers to exercise 1, with the answer
cells in the case's folder put in their place (``# SOLUTION`` in them stands for the instructor's answer to that
cell) and the notebook edits its ``edit`` names made by this test (deleted, reordered or edited cells, and
renamed, missing, malformed or 300 MB notebooks, which are never committed). Each case lists the exact score of
every graded cell, the flags it must raise (each a part of one flag, and no other flag), and a text its
autograded notebook must show. The whole class is graded with :func:`lrgrader.classroom.grade_class` on two workers.
"""

import json
import os
import time
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from lrgrader import landlock
from lrgrader.classroom import grade_class, gradebook_url, scores
from lrgrader.instructor import course_with, solution_answers, submit
from lrgrader.sandbox import _changes
from test_exercises import answers_of, expected_scores

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ROOT / "tests" / "hostile" / "ex01"
CASES = json.loads((HOSTILE / "cases.json").read_text())
GOOD = {student: scores for student, scores in expected_scores("ex01").items()
        if student in ("solution", "untouched", "two_wrong")}
NOTEBOOK = "gradient_descent.ipynb"


def hostile_answers(case: str) -> dict[str, str]:
    solution = solution_answers("ex01")
    answers = dict(solution)
    for path in (HOSTILE / case).glob("*.py"):
        answers[path.stem] = path.read_text().replace("# SOLUTION\n", solution[path.stem] + "\n")
    return answers


def submit_case(course: Path, case: str, edit: dict):
    submit(course, "ex01", case, hostile_answers(case))
    path = course / "submitted" / case / "ex01" / NOTEBOOK
    notebook = nbformat.read(path, as_version=4)
    cells = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in notebook.cells}
    if "delete" in edit:
        notebook.cells.remove(cells[edit["delete"]])
    if "swap" in edit:
        first, second = (notebook.cells.index(cells[name]) for name in edit["swap"])
        notebook.cells[first], notebook.cells[second] = notebook.cells[second], notebook.cells[first]
    for name, source in edit.get("source", {}).items():
        cells[name].source = source
    for name, settings in edit.get("metadata", {}).items():
        cells[name].metadata["nbgrader"].update(settings)
    if edit.get("file") == "huge":
        notebook.cells[0].source += "x" * 300 * 2**20
    nbformat.write(notebook, path)
    if edit.get("file") == "renamed":
        path.rename(path.with_name("my_notebook.ipynb"))
    elif edit.get("file") == "missing":
        path.unlink()
    elif edit.get("file") == "not_a_notebook":
        path.write_text("my answers are in the email I sent you")


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """The course after grading the corpus in one batch, the good submissions first, last and in the middle."""
    course = course_with("ex01", tmp_path_factory.mktemp("hostile"))
    for student in GOOD:
        submit(course, "ex01", student, answers_of("ex01", student))
    for case, expected in CASES.items():
        submit_case(course, case, expected.get("edit", {}))
    hostile = list(CASES)
    students = ["solution", *hostile[:len(hostile) // 2], "two_wrong", *hostile[len(hostile) // 2:], "untouched"]
    url = gradebook_url(course)
    started = time.perf_counter()
    outcomes = grade_class(course, "ex01", students, url, workers=2, progress=False)
    print(f"\n{len(students)} submissions graded in {time.perf_counter() - started:.0f} s on 2 workers")
    return course, url, {outcome.student: outcome.flags for outcome in outcomes}


@pytest.mark.slow
def test_the_batch_completes_and_good_submissions_keep_their_exact_grades(batch):
    _, url, flags = batch
    assert set(flags) == set(GOOD) | set(CASES)
    for student, expected in GOOD.items():
        assert scores(url, "ex01", student) == pytest.approx(expected, abs=1e-9), student
        assert not flags[student], (student, flags[student])


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_each_hostile_submission_gets_its_exact_grades_and_flags(batch, case):
    course, url, flags = batch
    expected = CASES[case]
    assert scores(url, "ex01", case) == pytest.approx(expected["scores"], abs=1e-9)
    assert len(flags[case]) == len(expected["flags"]), flags[case]
    for part in expected["flags"]:
        assert any(part in flag for flag in flags[case]), (part, flags[case])
    if "output" in expected:
        shown = (course / "autograded" / case / "ex01" / NOTEBOOK).read_text()
        assert expected["output"] in shown


@pytest.mark.slow
def test_huge_output_is_cut_in_the_graded_notebook(batch):
    course, _, _ = batch
    graded = course / "autograded" / "huge_output" / "ex01" / NOTEBOOK
    assert graded.stat().st_size < 2 * 2**20


@pytest.mark.slow
def test_regrading_is_idempotent_and_keeps_manual_grades(batch):
    course, url, _ = batch
    with Gradebook(url) as gradebook:
        grade = gradebook.find_grade("gd_step_graded", "gradient_descent", "ex01", "two_wrong")
        grade.manual_score = 1.5
        gradebook.db.commit()
    [outcome] = grade_class(course, "ex01", ["two_wrong"], url, workers=1, progress=False)  # as --regrade does
    assert not outcome.flags, outcome.flags
    with Gradebook(url) as gradebook:
        grade = gradebook.find_grade("gd_step_graded", "gradient_descent", "ex01", "two_wrong")
        assert (grade.manual_score, grade.auto_score) == (1.5, GOOD["two_wrong"]["gd_step_graded"])
    assert scores(url, "ex01", "two_wrong") == pytest.approx({**GOOD["two_wrong"], "gd_step_graded": 1.5}, abs=1e-9)


def test_changes_to_the_graded_structure_are_named():
    release = nbformat.read(ROOT / "exercises" / "ex01" / NOTEBOOK, as_version=4)
    submitted = nbformat.read(ROOT / "exercises" / "ex01" / NOTEBOOK, as_version=4)
    assert _changes(release, submitted) == []
    cells = submitted.cells
    cells[1].source = "import numpy as np\nnp.allclose = lambda *args: True"
    cells[5].metadata["nbgrader"]["points"] = 20
    cells[3], cells[4] = cells[4], cells[3]
    del cells[7]
    assert _changes(release, submitted) == [
        "cells deleted or renamed: gradient_descent", "cells reordered",
        "read-only cell imports edited (restored)", "grading settings of cell gd_step_graded changed (restored)"]


@pytest.mark.skipif(landlock.abi() == 0, reason="Landlock is not available here")
def test_a_confined_process_reads_only_what_it_was_allowed(tmp_path):
    (tmp_path / "secret").write_text("hidden")
    (tmp_path / "mine").mkdir()
    pid = os.fork()
    if pid == 0:  # the child confines itself, tries, and reports in its exit status
        landlock.restrict(read=landlock.python_roots(), write=[tmp_path / "mine"])
        (tmp_path / "mine" / "note").write_text("allowed")
        tries = [lambda: (tmp_path / "secret").read_text(), lambda: (tmp_path / "elsewhere").write_text("no")]
        denied = 0
        for attempt in tries:
            try:
                attempt()
            except PermissionError:
                denied += 1
        os._exit(denied)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 2
    assert (tmp_path / "mine" / "note").read_text() == "allowed"
    assert not (tmp_path / "elsewhere").exists()
