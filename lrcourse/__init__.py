"""The teaching package of the course *The learning rate in deep learning*: what the chapters import.

Chapters import what they need from the submodules (``lrcourse.data``, ``lrcourse.training`` ...). The
grading system is a package of its own, ``lrgrader``; ``lrcourse.grading`` only keeps old notebooks working.
"""

__version__ = "0.1.0"
