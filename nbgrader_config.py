"""nbgrader's configuration for this course. Run nbgrader commands from the repository root.

Instructor notebooks (with solutions and hidden-test hooks) live in solutions/<assignment>/; the student
notebooks that `nbgrader generate_assignment` makes from them go to exercises/<assignment>/ and are committed.
Hidden checks are not in the notebooks: each hidden block calls lrgrader.grade, which runs the suite
hidden/<assignment>/test_<item>.py against the student's answer in processes of its own.
"""

from pathlib import Path

from lrgrader.limits import LIMITS, cell_timeout

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.root = "."
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# The release keeps only the notebooks, whatever else an instructor leaves in solutions/<assignment>/.
c.CourseDirectory.include = ["*.ipynb"]

# Every assignment the course has, in order, so that `nbgrader db assignment list` and exports know them (a grading
# worker's private copy of the course has no solutions/, and needs none).
SOLUTIONS = Path(__file__).resolve().parent / "solutions"
c.CourseDirectory.db_assignments = [{"name": folder.name} for folder in sorted(SOLUTIONS.glob("*")) if folder.is_dir()]

# The grader's limits (lrgrader.limits, the one place they are set): a grade cell may run as long as its hidden
# suite may, so that the grader always gets to report; any other cell LIMITS.cell_seconds. Class grading
# (lrgrader.sandbox) applies the same limits, with its confined kernel.
c.Execute.timeout = LIMITS.cell_seconds
c.Execute.timeout_func = cell_timeout
c.Execute.interrupt_on_timeout = True

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
