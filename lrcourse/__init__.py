"""Shared code for the course *The learning rate in deep learning*.

Chapters import what they need from the submodules (``lrcourse.data``,
``lrcourse.training`` ...). This file stays free of heavy imports on purpose:
the grader (``lrcourse.grading``) runs inside students' kernels and in fresh
processes, where importing torch would cost seconds for nothing.
"""

__version__ = "0.1.0"
