"""lrcourse.prose and the chapter check: a page's numbers come from its outputs, and its claims are checked."""

import nbformat
import numpy as np
import pytest

from lrcourse import book
from lrcourse.prose import ClaimContradicted, claim, glue


def test_glue_formats_numbers_once_and_returns_the_text():
    assert glue("best", np.float64(0.123456), ".3g") == "0.123"
    assert glue("steps", np.int64(1502), ",") == "1,502"
    assert glue("share", 0.0412, ".1%") == "4.1%"
    assert glue("verdict", "False") == "False"


def test_a_contradicted_claim_fails_the_cell_and_quotes_the_text():
    claim(np.float64(2.0) < 3, "within a factor of 3")
    with pytest.raises(ClaimContradicted, match="'within a factor of 3'"):
        claim(4.06 < 3, "within a factor of 3")


def page(text, *code):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell(text), *(nbformat.v4.new_code_cell(c) for c in code)]
    return notebook


def test_the_check_names_a_cited_value_that_no_cell_recorded():
    notebook = page("The best rate was {glue:text}`best_lr` and {glue:text}`ratio:.2f` times ...",
                    "from lrcourse.prose import glue\nglue('best_lr', 0.3, '.3g')")
    notebook, _ = book.execute_notebook(notebook)
    assert book.cited(notebook) == {"best_lr", "ratio"} and book.recorded(notebook) == {"best_lr"}
    assert book.problems(notebook) == ["the text cites 'ratio', which no cell recorded"]


def test_the_check_reports_a_contradicted_claim():
    notebook = page("Every seed converged.", "from lrcourse.prose import claim\nclaim(False, 'every seed converged')")
    notebook, _ = book.execute_notebook(notebook, allow_errors=True)
    (problem,) = book.problems(notebook)
    assert problem.startswith("a cell failed: ClaimContradicted") and "every seed converged" in problem
