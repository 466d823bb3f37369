"""The built book read in a real browser: Debian's Chromium, headless, driven by Playwright.

The book is built first with the README's command (`make book`: seconds when nothing changed, since
executed chapters are cached), served from _build/html on 127.0.0.1, and every request to any other
host is blocked and fails the page, so a page that needs the internet fails here as it would offline.
Each page is visited once at a desktop and once at a phone width; the screenshots of those visits are
kept in _build/screenshots/.
"""

import contextlib
import functools
import http.server
import os
import re
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import nbformat
import pytest
import yaml

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling home, which a closed network refuses.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def toc_files() -> list[str]:
    """Every file of _toc.yml, root first, in reading order (without extension)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [entry["file"] for part in toc.get("parts", [toc]) for entry in part.get("chapters", [])]


PAGES = [f"{file}.html" for file in toc_files()]
CHAPTERS = [page for page in PAGES if page.startswith("chapters/")]
EXERCISES = sorted((ROOT / "exercises").glob("*/*.ipynb"))
THEME = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"]["html_theme_options"]
REPOSITORY = urlsplit(THEME["repository_url"]).path  # /owner/name


def source_of(page: str) -> Path:
    """The source file of a page of the site."""
    return next(ROOT.glob(page.removesuffix(".html") + ".*"))


def has_dollar_math(markdown: str) -> bool:
    """Whether MyST text has $...$ math outside its code (fenced blocks, code cells, inline code)."""
    prose = re.sub(r"^(`{3,}|~{3,}).*?^\1", "", markdown, flags=re.S | re.M)
    return re.search(r"\$[^$\s][^$]*\$", re.sub(r"`[^`\n]*`", "", prose)) is not None


@pytest.fixture(scope="session")
def base_url(site):
    """A local web server for the built site."""

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=site))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium (Playwright downloads no browser of its own); required in CI, optional elsewhere."""
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@contextlib.contextmanager
def page_loader(browser, base_url):
    """Yields ``load(path, viewport)``, which loads a page of the site and waits for MathJax's typesetting
    and fonts. It returns the page and a list of what went wrong: console errors, script errors, failed
    requests and requests that left the site (blocked)."""
    contexts = []

    def load(path: str, viewport: dict = VIEWPORTS["desktop"]):
        context = browser.new_context(viewport=viewport)
        contexts.append(context)
        problems = []

        def only_local(route):
            if urlsplit(route.request.url).hostname == "127.0.0.1":
                route.continue_()
            else:
                problems.append(f"request off the site: {route.request.url}")
                route.abort("blockedbyclient")

        context.route("**/*", only_local)
        page = context.new_page()
        page.on("console", lambda message: message.type == "error" and problems.append(f"console: {message.text}"))
        page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
        page.on("requestfailed", lambda request: problems.append(f"failed: {request.url} ({request.failure})"))
        page.on("response", lambda response: response.status >= 400
                and problems.append(f"HTTP {response.status}: {response.url}"))
        page.goto(urljoin(base_url, path), wait_until="load")
        page.evaluate("() => window.MathJax?.startup?.promise")  # no-op on a page without math
        page.wait_for_load_state("networkidle")
        return page, problems

    try:
        yield load
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def open_page(browser, base_url):
    """``open_page(path, viewport)``: see `page_loader`."""
    with page_loader(browser, base_url) as load:
        yield load


@dataclass
class Visit:
    """What one page showed the browser."""
    problems: list[str]
    formulas: int  # math elements of the page
    typeset: int  # of which MathJax rendered
    raw_tex: list[str]  # TeX delimiters left in the page's text, outside code
    images: list[dict]  # src, alt, loaded
    links: list[str]  # every link's absolute URL
    overflow: int  # pixels the page is wider than the screen


def read_visit(page, problems: list[str]) -> Visit:
    """The facts the tests check, read off a loaded page."""
    raw_tex = page.evaluate(r"""() => {
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        const found = [];
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            if (node.parentElement.closest('pre, code, script, style, mjx-container')) continue;
            found.push(...(node.textContent.match(/\$[^$\s][^$]*\$|\\\(|\\\[/g) ?? []));
        }
        return found;
    }""")
    return Visit(
        problems=problems, formulas=page.locator(".math").count(),
        typeset=page.locator(".math mjx-container").count(), raw_tex=raw_tex,
        images=page.eval_on_selector_all("img", """images => images.map(image => ({
            src: image.getAttribute('src'), alt: (image.getAttribute('alt') ?? '').trim(),
            loaded: image.complete && image.naturalWidth > 0}))"""),
        links=page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"),
        overflow=page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth"))


@pytest.fixture(scope="session")
def visit(browser, base_url):
    """``visit(page, width)``: a page's `Visit` at the "desktop" or "phone" width, read once per session;
    each visit leaves a screenshot in _build/screenshots/."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)  # only this run's
    SCREENSHOTS.mkdir(parents=True)
    with page_loader(browser, base_url) as load:

        @functools.cache
        def facts(path: str, width: str) -> Visit:
            page, problems = load(path, VIEWPORTS[width])
            page.screenshot(path=SCREENSHOTS / f"{path.removesuffix('.html').replace('/', '-')}-{width}.png")
            visited = read_visit(page, problems)
            page.context.close()  # one open page at a time, however many the session visits
            return visited

        yield facts


def site_path(url: str, base_url: str) -> str:
    """The path of a site URL relative to the site root, without query or fragment."""
    return urlsplit(url).path.removeprefix(urlsplit(base_url).path)


@pytest.mark.parametrize("path", PAGES)
def test_a_page_loads_offline_with_no_errors_and_no_failed_requests(visit, path):
    assert visit(path, "desktop").problems == []


@pytest.mark.parametrize("path", PAGES)
def test_math_is_rendered_by_mathjax_and_no_raw_tex_is_left(visit, path):
    page = visit(path, "desktop")
    if has_dollar_math(source_of(path).read_text()):
        assert page.formulas > 0, f"{path}: the source has $...$ math but the page has none"
    assert page.typeset == page.formulas, f"{path}: MathJax rendered {page.typeset} of {page.formulas} formulas"
    assert page.raw_tex == [], f"{path}: TeX left unrendered: {page.raw_tex[:5]}"


@pytest.mark.parametrize("path", PAGES)
def test_every_image_loads_and_has_alt_text(visit, path):
    images = visit(path, "desktop").images
    broken = [image["src"] for image in images if not image["loaded"]]
    assert broken == [], f"{path}: images that did not load: {broken}"
    no_alt = [image["src"] for image in images
              if not image["alt"] or Path(image["alt"]).name == Path(image["src"]).name]
    assert no_alt == [], f"{path}: images without alt text (give the cell `mystnb: image: alt:`): {no_alt}"


@pytest.mark.parametrize("path", PAGES)
def test_a_page_fits_a_phone_screen(visit, path):
    page = visit(path, "phone")
    assert page.problems == []
    assert page.overflow <= 0, f"{path} is {page.overflow} px wider than a phone's screen"


def test_next_and_previous_walk_the_whole_book_in_toc_order(open_page, base_url):
    page, _ = open_page(PAGES[0])

    def follow(link: str) -> str:
        target = urljoin(page.url, page.get_attribute(link, "href"))
        page.click(link)
        page.wait_for_url(target)
        return site_path(page.url, base_url)

    visited = [PAGES[0]]
    while page.locator("a.right-next").count():
        visited.append(follow("a.right-next"))
    assert visited == PAGES
    while page.locator("a.left-prev").count():
        visited.append(follow("a.left-prev"))
    assert visited[len(PAGES) - 1:] == PAGES[::-1]
    page.goto(urljoin(base_url, "index.html"))  # the site's address sends the reader to the first page
    page.wait_for_url(urljoin(base_url, PAGES[0]))


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_search_finds_a_chapter_by_a_word_of_its_title(open_page, base_url, chapter):
    title = re.search(r"^# (.+)$", source_of(chapter).read_text(), re.M).group(1)
    word = max(re.findall(r"[A-Za-z]+", title), key=len)
    page, problems = open_page(f"search.html?q={word}")
    page.wait_for_function("() => document.querySelector('.search-summary')?.textContent.includes('found')")
    found = [site_path(url, base_url) for url in page.eval_on_selector_all("ul.search li a", "as => as.map(a => a.href)")]
    assert chapter in found, f"searching {word!r} found {found}"
    assert problems == []


def test_every_exercise_downloads_as_its_student_notebook(open_page):
    names = [path.name for path in EXERCISES]
    assert EXERCISES and len(set(names)) == len(names), f"exercise notebooks need distinct names: {names}"
    page, _ = open_page("exercises.html")
    links = page.locator("a.download")
    assert sorted(links.all_inner_texts()) == sorted(f"Download {name}" for name in names)
    for i in range(links.count()):
        with page.expect_download() as download:
            links.nth(i).click()
        content = Path(download.value.path()).read_text()
        notebook = nbformat.reads(content, as_version=4)
        nbformat.validate(notebook)
        [released] = [path for path in EXERCISES if path.name == download.value.suggested_filename]
        assert content == released.read_text(), f"{released.name} differs from {released.relative_to(ROOT)}"
        answers = [cell.source for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("solution")]
        assert answers and all("raise NotImplementedError()" in source for source in answers)
        for marker in ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS"):
            assert marker not in content, f"{released.name} is not the student version: it has {marker!r}"


def test_every_exercise_opens_in_colab_from_the_repository(visit):
    colab = [link for link in visit("exercises.html", "desktop").links
             if link.startswith("https://colab.research.google.com/")]
    assert sorted(colab) == [
        f"https://colab.research.google.com/github{REPOSITORY}/blob/{THEME['repository_branch']}/"
        f"{path.relative_to(ROOT).as_posix()}" for path in EXERCISES]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_launch_buttons_open_the_chapter_from_the_repository(visit, chapter):
    links = visit(chapter, "desktop").links
    launch, branch = THEME["launch_buttons"], THEME["repository_branch"]
    source = source_of(chapter).relative_to(ROOT).as_posix()
    assert f"{launch['binderhub_url']}/v2/gh{REPOSITORY}/{branch}?urlpath=lab/tree/{source}" in links
    [hub] = [link for link in links if link.startswith(f"{launch['jupyterhub_url']}/hub/user-redirect/git-pull?")]
    assert parse_qs(urlsplit(hub).query) == {"repo": [THEME["repository_url"]], "branch": [branch],
                                             "urlpath": [f"lab/tree/{REPOSITORY.split('/')[-1]}/{source}"]}
    assert THEME["repository_url"] in links


def test_every_cited_work_is_in_the_bibliography_and_every_citation_links_to_it(open_page, visit):
    page, _ = open_page("bibliography.html")
    entries = set(page.eval_on_selector_all("[role=doc-biblioentry]", "entries => entries.map(e => e.id)"))
    cited = {key.strip() for path in PAGES
             for keys in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", source_of(path).read_text())
             for key in keys.split(",")}
    assert len(entries) == len(cited), f"the bibliography lists {len(entries)} works, the book cites {len(cited)}"
    for path in set(PAGES) - {"bibliography.html"}:
        targets = {urlsplit(link).fragment for link in visit(path, "desktop").links if "/bibliography.html#" in link}
        assert targets <= entries, f"{path} cites works the bibliography lacks: {targets - entries}"
