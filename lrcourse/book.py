"""The book's chapters as notebooks: which they are, how long each takes to execute, and what the book build
made of them."""

import time
from pathlib import Path

import jupytext
import nbclient
import yaml

ROOT = Path(__file__).resolve().parents[1]


def chapters(root: Path = ROOT) -> list[Path]:
    """The chapter files named in ``_toc.yml``, in reading order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    entries = [entry["file"] for part in toc.get("parts", [toc]) for entry in part.get("chapters", [])]
    return [root / f"{entry}.md" for entry in entries if entry.startswith("chapters/")]


def execute(path: Path, timeout: int = 600):
    """Execute the MyST notebook at ``path`` in a fresh kernel, as the book build does.

    Returns the executed notebook and the seconds it took. Raises nbclient's
    CellExecutionError if a cell fails.
    """
    notebook = jupytext.read(path)
    start = time.perf_counter()
    nbclient.NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}}).execute()
    return notebook, time.perf_counter() - start


def executed(path: Path, root: Path = ROOT):
    """The chapter at ``path`` as the last book build executed it (``make book`` keeps every executed chapter in
    its cache, _build/.jupyter_cache). Raises LookupError if no build executed the chapter as it stands now."""
    from jupyter_cache import get_cache
    from myst_nb.core.read import read_myst_markdown_notebook

    cache = get_cache(root / "_build" / ".jupyter_cache")
    try:  # matched by the code of its cells, as the build matches it
        record = cache.match_cache_notebook(read_myst_markdown_notebook(path.read_text()))
    except KeyError:
        raise LookupError(f"no book build executed {path.name} as it stands: run make book") from None
    return cache.get_cache_bundle(record.pk).nb


def errors(notebook) -> list[str]:
    """The errors that the notebook's cells raised."""
    return [f"{output.get('ename')}: {output.get('evalue')}" for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.get("outputs", []) if output.get("output_type") == "error"]


def stderr_outputs(notebook) -> list[str]:
    """Text that the notebook's cells wrote to stderr (warnings, progress bars): a page should have none."""
    return [output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.get("outputs", []) if output.get("name") == "stderr"]
