"""Every exercise end to end through the real nbgrader: release, autograde, feedback, export.

For each assignment in solutions/, a throwaway course folder gets the source notebooks and the course's
nbgrader_config.py; `nbgrader generate_assignment` makes the release there (which must equal the committed
exercises/), the sample submissions of tests/submissions/<assignment>/ are built from that release and
autograded, and every graded cell's score is checked against expected_scores.json.
"""

import ast
import csv
import json
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from lrgrader import suites
from lrgrader.classroom import gradebook_url, scores
from lrgrader.instructor import assignments, course_with, nbgrader, solution_answers, submit

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "tests" / "submissions"
ASSIGNMENTS = assignments()


def expected_scores(assignment: str) -> dict:
    return json.loads((SAMPLES / assignment / "expected_scores.json").read_text())


def answers_of(assignment: str, student: str) -> dict[str, str]:
    """The answer cells of a sample: the instructor's for "solution", else the files in its folder."""
    if student == "solution":
        return solution_answers(assignment)
    return {path.stem: path.read_text() for path in (SAMPLES / assignment / student).glob("*.py")}


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request, tmp_path_factory):
    """A course folder in which every sample submission of one assignment has been graded."""
    assignment = request.param
    course = course_with(assignment, tmp_path_factory.mktemp(f"course-{assignment}"))
    for student in expected_scores(assignment):
        submit(course, assignment, student, answers_of(assignment, student))
    nbgrader(course, "autograde", assignment)
    nbgrader(course, "generate_feedback", assignment)
    nbgrader(course, "export")
    return assignment, course


@pytest.mark.slow
def test_committed_release_matches_its_source(graded):
    """exercises/ is what generate_assignment makes from solutions/ today: the two never drift."""
    assignment, course = graded
    generated = sorted((course / "exercises" / assignment).glob("*.ipynb"))
    committed = sorted((ROOT / "exercises" / assignment).glob("*.ipynb"))
    assert [p.name for p in generated] == [p.name for p in committed]
    for new, old in zip(generated, committed):
        assert nbformat.read(new, as_version=4) == nbformat.read(old, as_version=4), (
            f"{old.relative_to(ROOT)} is out of date: run `nbgrader generate_assignment {assignment} --force`")


@pytest.mark.slow
def test_every_graded_cell_gets_its_exact_score(graded):
    assignment, course = graded
    for student, expected in expected_scores(assignment).items():
        assert scores(gradebook_url(course), assignment, student) == pytest.approx(expected, abs=1e-9), student


@pytest.mark.slow
def test_the_solution_earns_every_point_and_the_release_none(graded):
    assignment, course = graded
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        solution = gradebook.find_submission(assignment, "solution")
        untouched = gradebook.find_submission(assignment, "untouched")
        assert solution.score == solution.max_score > 0
        assert untouched.score == 0


@pytest.mark.slow
def test_no_graded_cell_writes_to_stderr(graded):
    """Anything on stderr scores a cell 0, so the grader must never write there itself."""
    assignment, course = graded
    for notebook_path in (course / "autograded" / "solution" / assignment).glob("*.ipynb"):
        for cell in nbformat.read(notebook_path, as_version=4).cells:
            if cell.metadata.get("nbgrader", {}).get("grade"):
                assert not [out for out in cell.outputs if out.get("name") == "stderr"], cell.source


@pytest.mark.slow
def test_feedback_names_failed_checks_without_showing_the_tests(graded):
    assignment, course = graded
    expected = expected_scores(assignment)
    full = expected["solution"]
    partly_right = [student for student, cells in expected.items() if any(0 < cells[c] < full[c] for c in cells)]
    test_lines = [line for suite in (suites.suites_folder() / assignment).glob("test_*.py")
                  for line in suite.read_text().splitlines() if line.startswith("def test_")]
    assert partly_right and test_lines
    for student in partly_right:
        feedback = "".join(path.read_text() for path in (course / "feedback" / student / assignment).glob("*.html"))
        assert "FAIL" in feedback and "checks passed" in feedback, student
        shown = [line for line in test_lines if line in feedback]
        assert not shown, f"the feedback of {student} shows hidden test code: {shown}"


@pytest.mark.slow
def test_export_has_every_students_total(graded):
    assignment, course = graded
    with open(course / "grades.csv", newline="") as file:
        rows = {row["student_id"]: row for row in csv.DictReader(file) if row["assignment"] == assignment}
    for student, cells in expected_scores(assignment).items():
        assert float(rows[student]["raw_score"]) == pytest.approx(sum(cells.values()))
        assert float(rows[student]["max_score"]) == pytest.approx(sum(expected_scores(assignment)["solution"].values()))


def hooks(assignment):
    """(grade_id, points in metadata, hook source) of every graded cell of an assignment's source."""
    for path in sorted((ROOT / "solutions" / assignment).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and cell.cell_type == "code":
                yield meta["grade_id"], meta["points"], cell.source


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_hook_calls_a_suite_of_enough_checks(assignment):
    """Each grade cell's hidden block is ``from lrgrader import grade`` and ``grade(item, "<assignment>/<item>")``:
    the points are the cell's own, set in one place (its metadata), which the grader reads."""
    found = list(hooks(assignment))
    assert 3 <= len(found) <= 6
    for grade_id, points, source in found:
        hidden = source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
        statements = ast.parse(hidden).body
        assert ast.unparse(statements[0]) == "from lrgrader import grade", grade_id
        call = statements[-1].value
        item = grade_id.removesuffix("_graded")
        assert call.func.id == "grade" and ast.unparse(call.args[0]) == item and not call.keywords, grade_id
        assert ast.literal_eval(call.args[1]) == f"{assignment}/{item}", grade_id
        assert suites.points(f"{assignment}/{item}") == points > 0
        assert len(check_names(suites.suite(f"{assignment}/{item}"))) >= 8, f"{item} needs 8 or more checks"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_hidden_module_compiles(assignment):
    """A suite or the suites' helpers module that does not parse would cost students the points of its checks."""
    for module in [*sorted((suites.suites_folder() / assignment).glob("*.py")), suites.suites_folder() / "helpers.py"]:
        compile(module.read_text(), str(module), "exec")


def check_names(suite: Path) -> set[str]:
    """The checks of a hidden suite: its own test functions and those it imports from a shared module."""
    tree = ast.parse(suite.read_text())
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    imported = {alias.asname or alias.name for node in tree.body if isinstance(node, ast.ImportFrom)
                for alias in node.names}
    return {name for name in defined | imported if name.startswith("test_")}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_expected_scores_cover_every_graded_cell(assignment):
    expected = json.loads((ROOT / "tests" / "submissions" / assignment / "expected_scores.json").read_text())
    assert {"solution", "untouched"} <= set(expected)
    cells = {grade_id: points for grade_id, points, _ in hooks(assignment)}
    for student, scores in expected.items():
        assert set(scores) == set(cells), student
        assert all(0 <= scores[cell] <= cells[cell] for cell in cells), student
