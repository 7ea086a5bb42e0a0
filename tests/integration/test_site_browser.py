"""The web catalog in a real browser: Debian's chromium, headless, driven by Playwright (its Python
package only; the browser is the system's, installed by .ci/local-env). The sample channel's site is
served over HTTP on 127.0.0.1: every page loads without a console error, every link inside the site
answers, the index's filter works (and without JavaScript every row stays listed), hostile text runs
no script, and screenshots of the index and of an image page are written."""

from __future__ import annotations

import datetime as dt
import functools
import struct
from collections.abc import Iterator
from dataclasses import replace
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import pytest

from builder.release import site, site_data
from tests.integration.conftest import _unavailable
from tests.support.channel import REPO, load_channel
from tests.support.serving import BackgroundServer
from tests.unit.test_site import MARK, _hostile_line

if TYPE_CHECKING:  # imported where the browser starts, so that its absence is one clear message
    from playwright.sync_api import Browser, Dialog, Page

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; .ci/local-env installs it
TODAY = dt.date(2026, 11, 30)
WIDTH, HEIGHT = 1280, 800


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    try:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415 - a missing package: one clear message
    except ImportError:
        _unavailable("the playwright package is missing: pip install -e '.[dev]'")
        raise
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing: apt-get install chromium")
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where chromium's sandbox refuses to start.
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


def _serve(folder: Path) -> Iterator[str]:
    serving: BackgroundServer[ThreadingHTTPServer] = BackgroundServer("site")
    serving.start(lambda address: ThreadingHTTPServer(address, functools.partial(_Quiet, directory=str(folder))))
    try:
        yield f"http://127.0.0.1:{serving.port}/"
    finally:
        serving.stop()


@pytest.fixture(scope="module")
def sample_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("site")
    config, channel = load_channel(REPO, {})
    site.write(config, channel, folder, TODAY)
    yield from _serve(folder)


def _visit(browser: Browser, url: str, javascript: bool = True) -> tuple[Page, list[str]]:
    """The page at `url`, loaded, and what went wrong while loading it (console errors, failed requests)."""
    page = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, java_script_enabled=javascript).new_page()
    problems: list[str] = []

    def dialog(opened: Dialog) -> None:
        problems.append(f"dialog: {opened.message}")
        opened.dismiss()

    page.on("console", lambda message: problems.extend([f"console: {message.text}"] * (message.type == "error")))
    page.on("pageerror", lambda error: problems.append(f"script: {error}"))
    page.on("dialog", dialog)
    page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url}"))
    response = page.goto(url)
    assert response is not None
    assert response.status == 200, url
    return page, problems


def test_every_page_loads_cleanly_and_no_link_is_broken(browser: Browser, sample_site: str) -> None:
    to_visit, seen, external = [urljoin(sample_site, "index.html")], set(), set()
    while to_visit:
        url = to_visit.pop()
        if url in seen:
            continue
        seen.add(url)
        page, problems = _visit(browser, url)
        assert problems == [], url
        targets = page.eval_on_selector_all("a[href], link[href], script[src]", "els => els.map(e => e.href || e.src)")
        for target in targets:
            address = target.split("#")[0]
            if not address.startswith(sample_site):
                external.add(urlsplit(address).scheme)
                continue
            answer = page.request.get(address)
            assert answer.status == 200, f"{url} links to {address}: HTTP {answer.status}"
            if address.endswith(".html"):
                to_visit.append(address)
        page.context.close()
    pages = {url.removeprefix(sample_site) for url in seen}
    assert pages == {
        "index.html",
        "images/curl.html",
        "images/curl/trixie.html",
        "images/debian-base.html",
        "images/python.html",
        "images/python/dev.html",
        "images/python/distroless.html",
        "images/python/distroless-debug.html",
        "images/static.html",
        "images/static/debug.html",
    }
    assert external <= {"https"}  # only the CVE trackers, never fetched from a test


def test_the_index_filter_narrows_the_rows(browser: Browser, sample_site: str) -> None:
    page, problems = _visit(browser, urljoin(sample_site, "index.html"))
    rows = page.locator("#images tbody tr")
    assert rows.count() == 9
    page.get_by_label("Filter images").fill("distroless")
    assert [r.locator("th a").inner_text() for r in rows.all() if r.is_visible()] == [
        "python/distroless",
        "python/distroless-debug",
        "static",
        "static/debug",
    ]
    assert page.locator("#filter-count").inner_text() == "4 of 9 images"
    page.get_by_label("Filter images").fill("curl trixie")
    assert [r.locator("th a").inner_text() for r in rows.all() if r.is_visible()] == ["curl/trixie"]
    page.get_by_label("Filter images").fill("")
    assert len([r for r in rows.all() if r.is_visible()]) == 9
    assert problems == []


def test_without_javascript_every_row_is_listed_and_no_dead_filter(browser: Browser, sample_site: str) -> None:
    page, problems = _visit(browser, urljoin(sample_site, "index.html"), javascript=False)
    assert len([r for r in page.locator("#images tbody tr").all() if r.is_visible()]) == 9
    assert not page.get_by_label("Filter images").is_visible()
    assert problems == []


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_screenshots_of_the_index_and_an_image_page(browser: Browser, sample_site: str, tmp_path: Path) -> None:
    for name, path in (("index.png", "index.html"), ("python.png", "images/python.html")):
        page, problems = _visit(browser, urljoin(sample_site, path))
        shot = tmp_path / name
        page.screenshot(path=str(shot), full_page=True)
        width, height = _png_size(shot)
        assert width == WIDTH
        assert height >= HEIGHT  # full page: at least the window
        assert shot.stat().st_size > 20_000  # a page of text and tables, not a blank image
        assert problems == []


def test_hostile_text_runs_no_script_in_the_browser(browser: Browser, tmp_path: Path) -> None:
    script = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    line = replace(_hostile_line(), description=f"{script}{MARK}")
    (tmp_path / "site").mkdir()
    for path, text in site.render((line,), script, TODAY).items():
        (tmp_path / "site" / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "site" / path).write_text(text, encoding="utf-8")
    for url in _serve(tmp_path / "site"):
        for path in ("index.html", "images/evil.html"):
            page, problems = _visit(browser, urljoin(url, path))
            assert problems == [], path  # no alert dialog, no request for the hostile <img>
            assert f"{script}{MARK}" in page.locator("main").inner_text()
            assert page.locator("main img, main b").count() == 0


def test_the_sample_lines_are_every_released_line() -> None:
    config, channel = load_channel(REPO, {})
    assert all(line.current is not None for line in site_data.lines(config, channel, TODAY))
