"""Every chapter in the table of contents executes cleanly, and its text cites only values its outputs recorded:
checked on the notebooks the book build executed (the ``site`` fixture runs ``make book`` once), so that a test run
executes each chapter once, not twice."""

import re

import jupytext
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
    assert book.problems(notebook) == [], f"{path.name}: its text and its outputs disagree"


# A measured number typed into prose usually carries decimals (0.0316, 1.40) or thousands (1,502). Settings carry
# them too (batch 1,024, momentum 0.95), but a setting is also written in the page's code; a paper's figures come
# in a sentence that cites it; math and code spans are skipped.
_TYPED = re.compile(r"(?<![\w.$`{])\d+(?:\.\d{2,}|,\d{3})+(?![\w$`])")
_LITERAL = re.compile(r"(?<![\w.])\d[\d_]*(?:\.\d+)?(?:e-?\d+)?")


@pytest.mark.parametrize("path", CHAPTERS, ids=[path.stem for path in CHAPTERS])
def test_a_chapters_measured_numbers_are_glued_not_typed(path):
    """Prose outside math and code: no number with two or more decimals or a thousands separator that the page's
    code does not set, the form measured values take; such a number belongs in a glue role, so that it is the one
    the page measured."""
    cells = jupytext.read(path).cells
    settings = {float(literal.replace("_", "")) for cell in cells if cell.cell_type == "code"
                for literal in _LITERAL.findall(cell.source)}
    typed = []
    for cell in cells:
        if cell.cell_type != "markdown":
            continue
        prose = re.sub(r"\$\$.*?\$\$|\$[^$]*\$|`[^`]*`", " ", cell.source, flags=re.S)
        for sentence in re.split(r"(?<=[.!?:])\s+(?=[A-Z*(])|\n\s*\n|\n- ", prose):
            if "{cite" not in sentence:
                typed += [number for number in _TYPED.findall(sentence) if float(number.replace(",", "")) not in settings]
    assert not typed, f"{path.name} types measured-looking numbers into its prose: {typed}"
