"""The quick book in a browser, as a reader meets it: every page served on 127.0.0.1 and opened
in headless Chromium at 1280 px (tests/_browser.py, which also runs by hand on any built book:
``python -m tests._browser _build/html``).

Each check of ``_browser.CHECKS`` is its own test, failing with every offending page; the pages
are opened once for all of them. A screenshot of the main results page is kept with the build
(``<build>/screenshots/main_table.png``). Without a Chromium (Debian's ``chromium`` package,
which .ci/run installs) the tests skip, naming what is missing.
"""

from __future__ import annotations

import struct
import time
from pathlib import Path

import _browser
import pytest

#: the whole run, pages opened once for every check: html folder -> (reports, seconds, error)
_RUNS: dict[Path, tuple[list[_browser.PageReport], float, str]] = {}


def screenshot_path(html: Path) -> Path:
    """Where the screenshot of the main results page is kept: beside the HTML, in the build."""
    return html.parent / "screenshots" / "main_table.png"


def _run(html: Path) -> list[_browser.PageReport]:
    if _browser.find_chromium() is None:
        pytest.skip(_browser.MISSING)
    if html not in _RUNS:
        t0 = time.monotonic()
        try:
            reports, error = _browser.check_book(html, screenshot=screenshot_path(html)), ""
        except _browser.BrowserError as exc:
            reports, error = [], str(exc)
        _RUNS[html] = (reports, time.monotonic() - t0, error)
    reports, _, error = _RUNS[html]
    if error:
        pytest.fail(f"the browser run failed: {error}")
    return reports


@pytest.mark.slow
@pytest.mark.parametrize("check", _browser.CHECKS)
def test_every_page_passes_in_headless_chromium(check, quick_book):
    reports = _run(quick_book["html"])
    assert len(reports) == len(_browser.pages_of(quick_book["html"])) > 20
    found = _browser.problems(reports)[check]
    assert not found, _browser.failure_message(check, found)


@pytest.mark.slow
def test_the_browser_run_is_quick_and_keeps_a_screenshot_of_the_main_results(quick_book):
    reports = _run(quick_book["html"])
    _, seconds, _ = _RUNS[quick_book["html"]]
    assert seconds < 120, f"opening the {len(reports)} pages took {seconds:.0f} s (budget 120 s)"
    assert _browser.MAIN_PAGE in {r.page for r in reports}
    shot = screenshot_path(quick_book["html"])
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{shot} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    assert width == _browser.WIDTH and height >= 600, (width, height)


def test_the_check_script_finds_what_it_looks_for(tmp_path):
    """The checks themselves, on one page with one fault of every kind (no book build needed)."""
    if _browser.find_chromium() is None:
        pytest.skip(_browser.MISSING)
    (tmp_path / "bad.html").write_text(
        "<html><head><script>const A = 1;</script><script>const A = 2;</script>"
        '<script src="https://cdn.example.invalid/x.js"></script></head><body>'
        "<p>Saved to /tmp/results/x.png, PosixPath('/x'), array([1, 2])</p>"
        '<pre class="highlight">/tmp/ written by the authors: fine</pre>'
        '<img src="missing.png"><span class="math">\\(x\\)</span>'
        '<audio controls preload="none"><source src="gone.wav" type="audio/wav"></audio>'
        '<div style="width: 1500px">wide</div>'
        '<div style="overflow-x: auto"><div style="width: 3000px">scrolled: fine</div></div>'
        "</body></html>")
    (tmp_path / "good.html").write_text("<html><body><p>Fine.</p></body></html>")
    reports = {r.page: r for r in _browser.check_book(tmp_path)}
    assert not any(reports["good.html"].problems().values())
    bad = reports["bad.html"].problems()
    assert "Identifier 'A' has already been declared" in " ".join(bad["console"])
    assert any("missing.png" in line for line in bad["requests"])
    assert bad["offsite"] == ["https://cdn.example.invalid/x.js"]
    assert bad["images"] == ["missing.png"]
    assert bad["math"] == ["not typeset: '\\\\(x\\\\)'"]  # no MathJax on this page
    assert len(bad["audio"]) == 1 and "gone.wav" in bad["audio"][0]
    assert len(bad["width"]) == 1 and "1508 px wide" in bad["width"][0]
    leaks = " ".join(bad["text"])
    assert "'/tmp/'" in leaks and "PosixPath(" in leaks and "array([" in leaks
    assert "written by the authors" not in leaks
    assert set(_browser.problems(list(reports.values()))) == set(_browser.CHECKS)
