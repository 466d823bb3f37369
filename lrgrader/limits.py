"""Every limit of grading, in one place: the grader, the answer's process, the confined kernel, the sandbox and
nbgrader's configuration all read :data:`LIMITS`.

Time is counted in CPU seconds wherever a student's code is running or being checked, so that a loaded machine
(which is what grading a class in parallel makes) gives every answer the same verdict it gets on an idle one.
Wall-clock limits remain only as backstops, for code that waits instead of computing (a ``sleep``, a blocked
read); they are set far above what an honest answer takes even on a machine several times oversubscribed
(``benchmarks/grading_margins.py`` measures the margin).
"""

import json
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    check_cpu_seconds: float = 2.0  # one check: the checks' and the answer's CPU time together
    check_wall_seconds: float = 30.0  # one check: a backstop for an answer that waits, 15 times its CPU limit
    suite_cpu_seconds: float = 40.0  # one hidden suite, every check and the loading of the suite
    suite_wall_seconds: float = 480.0  # one hidden suite: a backstop, 12 times its CPU limit
    start_wall_seconds: float = 600.0  # a grader, its template or its socket to appear: a backstop for a loaded machine
    answer_memory_mb: int = 2048  # the answer's process (address space; torch alone reserves about 1 GB)
    checks_memory_mb: int = 3072  # the checks' process
    request_bytes: int = 512 * 2**20  # a call's arguments, from the checks to the answer
    reply_bytes: int = 256 * 2**20  # a reply, from the answer to the checks
    answer_bytes: int = 64 * 2**20  # a pickled answer, from the kernel to the grader
    kernel_memory_mb: int = 3072  # a student's kernel when a class is graded
    kernel_cpu_seconds: int = 900  # a student's kernel, all cells together
    file_mb: int = 64  # any file a student's code writes
    output_chars: int = 200_000  # what one cell may print or display, per stream or output
    notebook_mb: int = 20  # a submitted notebook
    cell_seconds: int = 60  # a cell of a student's notebook, but a grade cell
    attempts: int = 4  # runs of a notebook whose cells kill the kernel, before it is graded as released
    worker_deaths: int = 1  # Dask workers a submission's task may take down and still run again, before it is
    #                         graded as released (Dask's allowed-failures, for the cluster the class command starts)
    scheduler_seconds: float = 30.0  # reaching a Dask scheduler

    @property
    def grade_cell_seconds(self) -> int:
        """A grade cell: as long as its suite may take, and a minute for the call around it."""
        return int(self.suite_wall_seconds) + 60


def _configured() -> Limits:
    """The default limits, with any of them overridden by the JSON object in ``LRGRADER_LIMITS`` (for tests, and
    for an instructor who needs other limits: set it where the grading runs, not in a student's kernel)."""
    overrides = os.environ.get("LRGRADER_LIMITS")
    return Limits(**json.loads(overrides)) if overrides else Limits()


LIMITS = _configured()


def cell_timeout(cell) -> int:
    """nbgrader's time limit for ``cell`` (``Execute.timeout_func``): a grade cell waits for its suite."""
    return LIMITS.grade_cell_seconds if cell.get("metadata", {}).get("nbgrader", {}).get("grade") else LIMITS.cell_seconds
