"""The course's grading system: hidden suites run against students' answers, one submission or a whole class.

For the notebooks, one call (:func:`lrgrader.client.grade`); for instructors, the class command
(``python -m lrgrader grade ex01``, :mod:`lrgrader.classroom`). The teaching package, ``lrcourse``, is what
learners import in the chapters; this package is what grades them, and the two share nothing.
"""

from lrgrader.client import grade

__all__ = ["grade"]
