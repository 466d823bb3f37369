"""nbgrader's configuration for this course. Run nbgrader commands from the repository root.

Instructor notebooks (with solutions and hidden-test hooks) live in solutions/<assignment>/; the student
notebooks that `nbgrader generate_assignment` makes from them go to exercises/<assignment>/ and are committed.
Hidden checks are not in the notebooks: each hidden block calls lrcourse.grading, which runs the suite
tests/hidden/<assignment>/test_<item>.py against the student's answer in a separate process.
"""

from pathlib import Path

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.root = "."
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# The release keeps only the notebooks, whatever else an instructor leaves in solutions/<assignment>/.
c.CourseDirectory.include = ["*.ipynb"]

# Every assignment the course has, in order, so that `nbgrader db assignment list` and exports know them.
SOLUTIONS = Path(__file__).resolve().parent / "solutions"
c.CourseDirectory.db_assignments = [{"name": folder.name} for folder in sorted(SOLUTIONS.iterdir()) if folder.is_dir()]

# A cell may run this long before nbgrader interrupts it; the grader's own limit for a hidden suite
# (lrcourse.grading.SUITE_SECONDS, 40 s) is below it, so the grader always gets to report. Class grading
# (lrcourse.sandbox) passes these same limits and its confined kernel on the command line.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
