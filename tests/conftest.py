import fcntl
import subprocess
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")  # figures in tests are drawn, never shown

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def site() -> Path:
    """The book, built and executed with the README's command (make book), once per test run: the pages
    tests/test_browser.py reads are the ones published, and tests/test_chapters.py checks the chapters the build
    executed. make test runs two pytest workers, each of which may need the book: the second waits for the first
    build (a lock), then finds every chapter in the build's cache."""
    (ROOT / "_build").mkdir(exist_ok=True)
    with open(ROOT / "_build" / ".building", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = subprocess.run(["make", "book"], cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        pytest.fail(f"make book failed:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}")
    return ROOT / "_build" / "html"
