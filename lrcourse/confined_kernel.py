"""The kernel a student's notebook runs in when :mod:`lrcourse.sandbox` grades it: an IPython kernel, confined.

Started by nbgrader through a kernel spec (``python -m lrcourse.confined_kernel --scratch DIR -f CONNECTION``)
in the submission's autograded folder, it caps its own memory, CPU time, file sizes and core dumps, lets
itself read only what Python needs and write only that folder and its scratch folder (Landlock), then runs
ipykernel in the same process. What a cell prints is cut at :data:`OUTPUT_CHARS` per stream, and the source
of the cell about to run is kept in ``DIR/running-cell``, so that a cell that kills the kernel can be found.
"""

import argparse
import resource
import sys
from pathlib import Path

from ipykernel.iostream import OutStream

from lrcourse import landlock

MEMORY_MB = 3072  # address space; torch alone reserves about 1 GB of it
CPU_SECONDS = 600
FILE_MB = 64
OUTPUT_CHARS = 200_000  # per cell and stream
RUNNING_CELL = "running-cell"


class CappedOutStream(OutStream):
    """ipykernel's stdout/stderr, dropping what a cell prints past :data:`OUTPUT_CHARS`.

    A cell printing a gigabyte would otherwise send it all to nbgrader, which keeps every output in memory.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._cell, self._written = None, 0

    def write(self, string: str) -> int | None:
        cell = self.parent_header.get("msg_id")
        if cell != self._cell:
            self._cell, self._written = cell, 0
        room = OUTPUT_CHARS - self._written
        self._written += len(string)
        if room > 0:
            cut = f"\n[output cut: a cell may print at most {OUTPUT_CHARS} characters]\n"
            super().write(string if len(string) <= room else string[:room] + cut)
        return len(string)


def _limit_resources():
    for limit, value in ((resource.RLIMIT_AS, MEMORY_MB * 2**20), (resource.RLIMIT_CPU, CPU_SECONDS),
                         (resource.RLIMIT_FSIZE, FILE_MB * 2**20), (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(limit, (value, value))


def main(argv: list[str]):
    parser = argparse.ArgumentParser(prog="python -m lrcourse.confined_kernel")
    parser.add_argument("--scratch", type=Path, required=True, help="a writable folder for the kernel's own files")
    parser.add_argument("-f", dest="connection_file", type=Path, required=True)
    args, kernel_args = parser.parse_known_args(argv)
    _limit_resources()
    folder = Path.cwd()  # nbgrader starts the kernel in the submission's autograded folder
    confined = landlock.restrict(
        read=[*landlock.python_roots(), *landlock.DEVICES, args.connection_file],
        write=[folder, args.scratch, *landlock.DEVICES])
    if not confined:  # the kernel's log, not a cell's output
        print("lrcourse: Landlock is not available; the kernel is confined by resource limits only", file=sys.stderr)

    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(["-f", str(args.connection_file), "--HistoryManager.enabled=False",
                    "--IPKernelApp.outstream_class=lrcourse.confined_kernel.CappedOutStream", *kernel_args])
    running_cell = args.scratch / RUNNING_CELL
    app.shell.events.register("pre_run_cell", lambda info: running_cell.write_text(info.raw_cell))
    app.start()


if __name__ == "__main__":
    main(sys.argv[1:])
