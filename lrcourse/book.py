"""The book's chapters as notebooks: which they are, how long each takes to execute, what the book build
made of them, and whether their text cites only numbers their outputs recorded.

``python -m lrcourse.book check [CHAPTER ...]`` executes chapters in the current configuration (set
``LRCOURSE_SIZE=large`` for the large one) and fails when a cell fails (a claim of the text contradicted,
:mod:`lrcourse.prose`), when the text cites a value no cell recorded, or when a cell writes to stderr.
"""

import argparse
import re
import sys
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
    return execute_notebook(jupytext.read(path), timeout, folder=path.parent)


def execute_notebook(notebook, timeout: int = 600, *, folder: Path = ROOT, allow_errors: bool = False):
    """Execute ``notebook`` in a fresh kernel started in ``folder``; returns it and the seconds it took."""
    start = time.perf_counter()
    nbclient.NotebookClient(notebook, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
                            resources={"metadata": {"path": str(folder)}}).execute()
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


# {glue}`key`, {glue:text}`key`, {glue:text}`key:.3g`, {glue:md}`key` ...
_CITED = re.compile(r"\{glue(?::[a-z]+)?\}`([^`:]+)(?::[^`]*)?`")


def cited(notebook) -> set[str]:
    """The glue keys the notebook's text cites."""
    return {key for cell in notebook.cells if cell.cell_type == "markdown" for key in _CITED.findall(cell.source)}


def recorded(notebook) -> set[str]:
    """The glue keys the notebook's outputs recorded (:func:`lrcourse.prose.glue`)."""
    return {output["metadata"]["scrapbook"]["name"] for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.get("outputs", []) if "scrapbook" in output.get("metadata", {})}


def problems(notebook) -> list[str]:
    """What is wrong with an executed chapter: failed cells, cited values no cell recorded, stderr output."""
    found = [f"a cell failed: {error}" for error in errors(notebook)]
    found += [f"the text cites {key!r}, which no cell recorded" for key in sorted(cited(notebook) - recorded(notebook))]
    found += [f"a cell wrote to stderr: {text[:200]!r}" for text in stderr_outputs(notebook)]
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lrcourse.book", description=__doc__.split("\n\n")[1])
    parser.add_argument("command", choices=["check"])
    parser.add_argument("chapters", nargs="*", type=Path, help="chapter files (default: every chapter)")
    args = parser.parse_args(argv)
    failed = False
    for path in args.chapters or chapters():
        try:
            notebook, seconds = execute(path.resolve())
        except nbclient.exceptions.CellExecutionError as error:
            print(f"{path.name}: FAILED\n{error}")
            failed = True
            continue
        found = problems(notebook)
        print(f"{path.name}: {seconds:.1f} s, {len(recorded(notebook))} values recorded, {len(cited(notebook))} "
              f"cited, {'ok' if not found else 'FAILED'}")
        for problem in found:
            print(f"  - {problem}")
        failed |= bool(found)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
