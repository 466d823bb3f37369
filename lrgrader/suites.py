"""Where grading finds things: the course folder, each graded item's hidden suite, and each item's points.

A graded item is named ``"<assignment>/<name>"`` (``"ex01/gd_step"``). Its suite is
``<course>/hidden/<assignment>/test_<name>.py``; its points are those of the grade cell ``<name>_graded`` in
the assignment's source notebooks (``<course>/solutions/<assignment>/``), the one place they are set: nbgrader
reads the same metadata. The course folder is this repository, unless ``LRGRADER_COURSE`` names another.

Suites that grade a decision (a rate chosen, a curve read) draw their tasks from :func:`task_seed`, which the
instructor sets where grading runs (``LRGRADER_SEED``), so that an answer cannot be written for one task.
"""

import json
import os
import re
import zlib
from functools import cache
from pathlib import Path

import numpy as np

REPOSITORY = Path(__file__).resolve().parents[1]
_ITEM = re.compile(r"(?P<assignment>[A-Za-z0-9_-]+)/(?P<name>[A-Za-z0-9_]+)")


class UnknownItem(LookupError):
    """An item with no suite or no grade cell: an instructor's mistake, not a student's."""


def course() -> Path:
    return Path(os.environ.get("LRGRADER_COURSE", REPOSITORY))


def task_seed() -> int:
    """The seed from which suites draw their tasks: ``LRGRADER_SEED``, 0 unless set; the same seed, the same
    tasks and the same grade."""
    value = os.environ.get("LRGRADER_SEED", "0")
    if not value.isdigit():
        raise ValueError(f"LRGRADER_SEED must be a whole number >= 0, got {value!r}")
    return int(value)


def task_rng(item: str) -> np.random.Generator:
    """The generator from which the suite of ``item`` (``"ex09/choose_lr"``) draws its tasks: the instructor's
    :func:`task_seed` mixed with the item's name, so that no two items draw the same tasks."""
    return np.random.default_rng([task_seed(), zlib.crc32(item.encode())])


def suites_folder(root: Path | None = None) -> Path:
    return (root or course()) / "hidden"


def parse(item: str) -> tuple[str, str]:
    """(assignment, name) of ``item``; UnknownItem if it is not of the form ``assignment/name``."""
    match = _ITEM.fullmatch(item) if isinstance(item, str) else None
    if match is None:
        raise UnknownItem(f"{item!r} is not a graded item: expected '<assignment>/<name>', like 'ex01/gd_step'")
    return match["assignment"], match["name"]


def suite(item: str, root: Path | None = None) -> Path:
    assignment, name = parse(item)
    path = suites_folder(root) / assignment / f"test_{name}.py"
    if not path.is_file():
        raise UnknownItem(f"no hidden suite for {item!r}: {path} does not exist")
    return path


def points(item: str, root: Path | None = None) -> float:
    """The points of ``item``'s grade cell, as its source notebook's metadata sets them."""
    assignment, name = parse(item)
    found = _points_in(str((root or course()) / "solutions" / assignment))
    if f"{name}_graded" not in found:
        raise UnknownItem(f"no grade cell {name}_graded in the notebooks of {assignment}, so {item!r} has no points")
    return found[f"{name}_graded"]


@cache
def _points_in(folder: str) -> dict[str, float]:
    found = {}
    for path in sorted(Path(folder).glob("*.ipynb")):  # read as JSON: nbformat takes a second to import
        for cell in json.loads(path.read_text())["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade") and cell.get("cell_type") == "code":
                found[meta["grade_id"]] = float(meta["points"])
    return found
