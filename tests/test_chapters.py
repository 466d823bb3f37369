"""Every chapter in the table of contents executes cleanly: checked on the notebooks the book build executed (the
``site`` fixture runs ``make book`` once), so that a test run executes each chapter once, not twice."""

import pytest

from lrcourse import book

CHAPTERS = book.chapters()


def test_the_table_of_contents_names_existing_chapters():
    assert CHAPTERS, "_toc.yml lists no chapters"
    missing = [path.name for path in CHAPTERS if not path.is_file()]
    assert not missing, f"_toc.yml names chapters that do not exist: {missing}"


@pytest.mark.slow
@pytest.mark.parametrize("path", CHAPTERS, ids=[path.stem for path in CHAPTERS])
def test_a_chapter_runs_without_errors_or_stderr(path, site):
    notebook = book.executed(path)
    assert book.errors(notebook) == [], f"{path.name} raised errors"
    assert book.stderr_outputs(notebook) == [], f"{path.name} writes to stderr (a warning or a progress bar?)"
