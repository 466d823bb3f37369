"""The kernel a student's notebook runs in when :mod:`lrgrader.sandbox` grades it: an IPython kernel, confined.

Started by nbgrader through a kernel spec (``python -m lrgrader.kernel --scratch DIR -f CONNECTION``) in the
submission's autograded folder, it caps its own memory, CPU time, file sizes and core dumps, lets itself read only
what Python needs and write only that folder and its scratch folder (Landlock), binds its sockets, then closes TCP
(no TCP connection or bind from then on), gives up root's privileges if it has them, and starts an audit hook
(:mod:`lrgrader.audit`) that reports every attempt to get around this to the grader of the submission, which records
it in its ledger; only then does it run ipykernel, in the same process. What a cell prints or displays is cut at
:attr:`~lrgrader.limits.Limits.output_chars` per stream and per output, and the source of the cell about to run is
kept in ``DIR/running-cell``, so that a cell that kills the kernel can be found.
"""

import argparse
import os
import resource
import sys
from pathlib import Path

from ipykernel.iostream import OutStream

from lrgrader import audit, landlock, privileges
from lrgrader.client import SOCKET_VARIABLE, report_attempt
from lrgrader.limits import LIMITS

RUNNING_CELL = "running-cell"
_CUT = f"\n[output cut: a cell may print or display at most {LIMITS.output_chars} characters]\n"


class CappedOutStream(OutStream):
    """ipykernel's stdout/stderr, dropping what a cell prints past the limit.

    A cell printing a gigabyte would otherwise send it all to nbgrader, which keeps every output in memory.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._cell, self._written = None, 0

    def write(self, string: str) -> int | None:
        cell = self.parent_header.get("msg_id")
        if cell != self._cell:
            self._cell, self._written = cell, 0
        room = LIMITS.output_chars - self._written
        self._written += len(string)
        if room > 0:
            super().write(string if len(string) <= room else string[:room] + _CUT)
        return len(string)


def capped(data: dict) -> dict:
    """A display's or a result's data (MIME type to content), each content cut to the limit."""
    return {mime: value if not isinstance(value, str) or len(value) <= LIMITS.output_chars
            else (value[:LIMITS.output_chars] + _CUT if mime.startswith("text/") else _CUT.strip())
            for mime, value in data.items()}


def _cap_displays(shell):
    """Cut what ``display()`` and a cell's value send, as the streams are cut."""
    publish, write_format_data = shell.display_pub.publish, shell.displayhook.write_format_data
    shell.display_pub.publish = lambda data, *args, **kwargs: publish(capped(data), *args, **kwargs)
    shell.displayhook.write_format_data = lambda data, *args, **kwargs: write_format_data(capped(data), *args,
                                                                                           **kwargs)


def _limit_resources():
    for limit, value in ((resource.RLIMIT_AS, LIMITS.kernel_memory_mb * 2**20),
                         (resource.RLIMIT_CPU, LIMITS.kernel_cpu_seconds),
                         (resource.RLIMIT_FSIZE, LIMITS.file_mb * 2**20), (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(limit, (value, value))


def main(argv: list[str]):
    parser = argparse.ArgumentParser(prog="python -m lrgrader.kernel")
    parser.add_argument("--scratch", type=Path, required=True, help="a writable folder for the kernel's own files")
    parser.add_argument("-f", dest="connection_file", type=Path, required=True)
    args, kernel_args = parser.parse_known_args(argv)
    _limit_resources()
    sys.dont_write_bytecode = True  # a cached .pyc written outside the folder would read as an attempt
    folder = Path.cwd()  # nbgrader starts the kernel in the submission's autograded folder
    readable = [*landlock.python_roots(), *landlock.DEVICES, args.connection_file]
    writable = [folder, args.scratch, *landlock.DEVICES]
    landlock.restrict(read=readable, write=writable)
    for gap in landlock.unenforced():  # the kernel's log, not a cell's output
        print(f"lrgrader: not enforced on this system: {gap}", file=sys.stderr)

    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(["-f", str(args.connection_file), "--HistoryManager.enabled=False",
                    "--IPKernelApp.outstream_class=lrgrader.kernel.CappedOutStream", *kernel_args])
    landlock.close_network()  # its own sockets are bound: no other TCP from here on
    privileges.drop()
    _cap_displays(app.shell)
    grader = os.environ.get(SOCKET_VARIABLE, "")
    audit.watch(readable, writable, report_attempt, allowed_sockets=(grader,))
    running_cell = args.scratch / RUNNING_CELL
    app.shell.events.register("pre_run_cell", lambda info: running_cell.write_text(info.raw_cell))
    app.start()


if __name__ == "__main__":
    main(sys.argv[1:])
