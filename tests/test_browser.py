"""The built book works in a real browser: every page, offline, as a student opens it.

A headless Chromium (Debian's `chromium` and `chromium-driver`, driven by selenium) opens every HTML
page of `_build/html`, served on localhost, with all other hosts unreachable. On each page it checks:

- no JavaScript error and no failed resource load (the browser console's SEVERE entries);
- the math is rendered: every `math` element holds MathJax output, and MathJax reports no TeX error;
- every image has loaded (`naturalWidth > 0`);
- no Python traceback, error output or docutils error message is shown;
- every link to a page or file of the book points to a file that exists, and to an anchor that exists
  on that page.

It also checks that the search page finds a term, and (without a browser) that nothing of the
solutions or hidden tests was published. The book is the one `tests/test_book.py` builds in the same
test session (same xdist group, and `test_book.py` runs first); when `_build/html` is missing or older
than its sources, the fixture builds it with the same command.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
INSTALL_HINT = (
    "apt-get install -y --no-install-recommends chromium chromium-driver && "
    ".venv/bin/pip install selenium"
)
PAGE_TIMEOUT_S = 60  # one page: load, MathJax typesetting, images

pytestmark = pytest.mark.xdist_group("book")


def toc_sources() -> list[Path]:
    """The source file of every page in _toc.yml (root, chapters and nested sections)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    names = [toc["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            if "file" in entry:
                names.append(entry["file"])
            walk(entry.get("sections", []))

    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    walk(toc.get("chapters", []))
    sources = []
    for name in names:
        matches = [ROOT / f"{name}{suffix}" for suffix in (".md", ".ipynb")]
        found = [path for path in matches if path.is_file()]
        if not found:
            raise ValueError(
                f"_toc.yml lists {name!r}, but neither {name}.md nor {name}.ipynb exists"
            )
        sources.append(found[0])
    return sources


@pytest.fixture(scope="module")
def book(built_book: Path) -> Path:
    """_build/html, built once per session by the shared fixture in tests/conftest.py."""
    return built_book


def browser_missing() -> str | None:
    """Why the browser test cannot run here, or None when it can."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the Python package selenium is not installed"
    for program in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(program) is None:
            return f"{program} is not installed"
    return None


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the book's files without logging every request to stderr."""

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server(book: Path) -> Iterator[str]:
    """The book served over HTTP on a free localhost port; yields the base URL."""
    handler = functools.partial(QuietHandler, directory=str(book))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory):
    """Headless Chromium that can reach localhost only (the book must work offline)."""
    reason = browser_missing()
    if reason is not None:
        message = f"browser test needs Chromium and selenium: {reason} (install: {INSTALL_HINT})"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs them, so their absence there is a broken install
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # the tests may run as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--window-size=1280,1024",
        # every host but localhost is unreachable: a page that needs the network fails visibly
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # With both paths given, selenium never looks for (or downloads) a browser or a driver.
    browser = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    browser.set_page_load_timeout(PAGE_TIMEOUT_S)
    browser.set_script_timeout(PAGE_TIMEOUT_S)
    try:
        yield browser
    finally:
        browser.quit()


def html_pages(book: Path) -> list[str]:
    """Every HTML page of the book, as paths relative to it (Sphinx's own folders start with _)."""
    pages = [
        page.relative_to(book).as_posix()
        for page in sorted(book.rglob("*.html"))
        if not any(part.startswith("_") for part in page.relative_to(book).parts)
    ]
    if not pages:
        raise ValueError(f"no HTML pages under {book}")
    return pages


# Runs in the page once it has loaded: waits for MathJax and for every image, then reports.
INSPECT_PAGE = """
const done = arguments[arguments.length - 1];
(async () => {
  const mathElements = Array.from(document.querySelectorAll(".math"));
  let mathjax = "absent";
  if (mathElements.length > 0) {
    for (let i = 0; i < 200 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      await MathJax.startup.promise;
      mathjax = "typeset";
    }
  }
  const images = Array.from(document.images);
  images.forEach((img) => { img.loading = "eager"; });
  await Promise.all(images.map((img) => img.complete ? null : new Promise((resolve) => {
    img.addEventListener("load", resolve); img.addEventListener("error", resolve);
  })));
  const text = document.body.innerText;
  done({
    mathjax: mathjax,
    math: mathElements.length,
    untypeset: mathElements.filter((el) => !el.querySelector("mjx-container")).map(
      (el) => el.textContent.slice(0, 80)),
    mathErrors: Array.from(document.querySelectorAll("mjx-merror")).map(
      (el) => el.getAttribute("data-mjx-error") || el.textContent.slice(0, 80)),
    brokenImages: images.filter((img) => !(img.naturalWidth > 0)).map(
      (img) => img.getAttribute("src")),
    errorOutputs: document.querySelectorAll(
      ".output.error, .output.traceback, .system-message, .problematic").length,
    traceback: text.includes("Traceback (most recent call last)"),
    links: Array.from(document.querySelectorAll("a[href]")).map((a) => a.href),
    ids: Array.from(document.querySelectorAll("[id]")).map((el) => el.id),
  });
})();
"""


def severe_console_entries(driver) -> list[str]:
    """The page's console errors since the last call (the browser's own favicon request excluded:
    the browser asks for /favicon.ico by itself, the page does not)."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and "/favicon.ico" not in entry["message"]
    ]


@dataclass
class PageReport:
    """What the browser saw on one page."""

    page: str
    console_errors: list[str] = field(default_factory=list)
    math: int = 0
    mathjax: str = "absent"
    untypeset: list[str] = field(default_factory=list)
    math_errors: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    error_outputs: int = 0
    traceback: bool = False
    links: list[str] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)


@pytest.fixture(scope="module")
def crawl(book: Path, server: str, driver) -> dict[str, PageReport]:
    """Open every page once and record what each check needs."""
    reports = {}
    start = time.perf_counter()
    for page in html_pages(book):
        driver.get(f"{server}/{page}")
        seen = driver.execute_async_script(INSPECT_PAGE)
        console = severe_console_entries(driver)
        reports[page] = PageReport(
            page=page,
            console_errors=console,
            math=seen["math"],
            mathjax=seen["mathjax"],
            untypeset=seen["untypeset"],
            math_errors=seen["mathErrors"],
            broken_images=seen["brokenImages"],
            error_outputs=seen["errorOutputs"],
            traceback=seen["traceback"],
            links=seen["links"],
            ids=set(seen["ids"]),
        )
    elapsed = time.perf_counter() - start
    print(f"browser test: {len(reports)} pages opened in {elapsed:.1f} s")
    return reports


def test_every_toc_page_is_opened(crawl: dict[str, PageReport]):
    for source in toc_sources():
        page = source.relative_to(ROOT).with_suffix(".html").as_posix()
        assert page in crawl, f"{page} (from _toc.yml) was not found among the built pages"


def test_no_javascript_errors(crawl: dict[str, PageReport]):
    failures = {page: r.console_errors for page, r in crawl.items() if r.console_errors}
    assert not failures, f"console errors (JavaScript errors or failed loads): {failures}"


def test_math_is_rendered(crawl: dict[str, PageReport]):
    with_math = [r for r in crawl.values() if r.math]
    assert with_math, "no page has math: the check would be empty"
    for report in with_math:
        page, mathjax, untypeset, errors = (
            report.page, report.mathjax, report.untypeset, report.math_errors
        )  # fmt: skip
        assert mathjax == "typeset", f"{page}: MathJax did not load"
        assert not untypeset, f"{page}: math left unrendered: {untypeset[:5]}"
        assert not errors, f"{page}: TeX errors: {errors[:5]}"


def test_every_image_loads(crawl: dict[str, PageReport]):
    failures = {page: r.broken_images for page, r in crawl.items() if r.broken_images}
    assert not failures, f"images that did not load: {failures}"


def test_no_page_shows_an_error(crawl: dict[str, PageReport]):
    for report in crawl.values():
        page, traceback, error_outputs = report.page, report.traceback, report.error_outputs
        assert not traceback, f"{page} shows a Python traceback"
        assert error_outputs == 0, (
            f"{page} shows {error_outputs} error output(s) or docutils error message(s)"
        )


def test_internal_links_resolve(book: Path, server: str, crawl: dict[str, PageReport]):
    broken = []
    for report in crawl.values():
        for link in report.links:
            if not link.startswith(server + "/"):
                continue  # an external link: not followed, the book is checked offline
            parts = urlsplit(link)
            target = unquote(parts.path).lstrip("/") or "index.html"
            path = book / target
            if path.is_dir():
                path, target = path / "index.html", f"{target.rstrip('/')}/index.html"
            if not path.is_file():
                broken.append(f"{report.page} -> {link} (no file)")
            elif (
                parts.fragment
                and target in crawl
                and unquote(parts.fragment) not in crawl[target].ids
            ):
                broken.append(f"{report.page} -> {link} (no such anchor)")
    assert not broken, "broken internal links:\n" + "\n".join(sorted(set(broken)))


def test_search_finds_a_term(server: str, driver, crawl: dict[str, PageReport]):
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{server}/search.html?q=attention")
    hits = WebDriverWait(driver, PAGE_TIMEOUT_S).until(
        lambda d: d.execute_script(
            "const items = document.querySelectorAll('#search-results ul.search li a');"
            "return items.length ? Array.from(items).map((a) => a.href) : null;"
        )
    )
    found = {unquote(urlsplit(hit).path).lstrip("/") for hit in hits}
    assert found & set(crawl), f"search results {sorted(found)} are not pages of the book"
    errors = severe_console_entries(driver)
    assert not errors, f"the search page logged errors: {errors}"


# Markers that only the instructors' versions contain (nbgrader source notebooks).
SOLUTION_MARKERS = re.compile(r"BEGIN SOLUTION|END SOLUTION|BEGIN HIDDEN TESTS|END HIDDEN TESTS")


def test_no_solution_or_hidden_test_is_published(book: Path):
    leaked = []
    for path in book.rglob("*"):
        if path.is_file() and path.suffix in {".html", ".ipynb", ".md", ".txt", ".js", ".py"}:
            if SOLUTION_MARKERS.search(path.read_text(errors="replace")):
                leaked.append(path.relative_to(book).as_posix())
    assert not leaked, f"solutions or hidden tests are published in: {leaked}"
    assert not (book / "solutions").exists(), "the solutions folder was published"
