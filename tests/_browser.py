"""Open every page of a built HTML book in headless Chromium, as a reader would, and report what
is wrong with it.

The book is served from its folder on ``127.0.0.1`` (an ``http.server`` thread on a free port)
and every page is opened in one headless Chromium tab at 1280 px wide. The browser is driven over
the Chrome DevTools protocol on a pipe (``--remote-debugging-pipe``: null-separated JSON on file
descriptors 3 and 4): no WebDriver, no driver binary to match the browser's version, and no Python
package beyond the standard library; the protocol's events give every request, failed load,
console message and uncaught exception of a page directly.

On every page it checks (the names of :data:`CHECKS`):

- ``console``: no console error, no uncaught exception;
- ``requests``: no failed request (a network error or an HTTP status of 400 or more);
- ``offsite``: no request to anything but ``127.0.0.1`` (``data:``/``blob:`` URLs are local);
- ``images``: every ``<img>`` loaded (``naturalWidth > 0``, lazy images are loaded first);
- ``math``: MathJax rendered every ``.math`` element (an ``mjx-container`` in it, no TeX error,
  no undefined macro);
- ``audio``: every ``<audio>`` element has its metadata (``readyState >= 1``) or, when the browser
  does not load it, can play its source's type;
- ``width``: the page is no wider than the viewport (``scrollWidth <= clientWidth`` at 1280 px;
  a table in its own scroll container is fine, but not its caption cut at that container's
  edge);
- ``text``: no build-machine path (``/work/``, ``/tmp/``, ``/home/``, ``/root/``,
  ``site-packages``) and no Python repr (``PosixPath(``, ``<matplotlib``, ``array([``,
  ``dtype=``) in the text a reader can see (folded cells opened), code written by the authors
  (notebook inputs; code blocks, doctests and literal blocks outside cell outputs; the
  highlighted module sources) excepted.

The browser's own request for ``/favicon.ico`` (the book declares no icon) is not counted.

By hand, on any built book::

    python -m tests._browser _build/html            # every page, a report, exit 1 on a problem
    python -m tests._browser _build/html --pages 'notebooks/*' --screenshot shot.png
"""

from __future__ import annotations

import argparse
import base64
import fnmatch
import functools
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

#: the checks run on every page, in the order of the report
CHECKS = ("console", "requests", "offsite", "images", "math", "audio", "width", "text")
#: what each check asks, for the report and the failure messages
CHECK_TITLES = {
    "console": "console errors or uncaught exceptions",
    "requests": "failed requests",
    "offsite": "requests to anything but 127.0.0.1",
    "images": "images that did not load",
    "math": "math that MathJax did not render",
    "audio": "audio elements that cannot play",
    "width": "pages wider than the 1280 px viewport",
    "text": "build-machine paths or Python reprs in the visible text",
}
WIDTH, HEIGHT = 1280, 900
#: the page whose screenshot is kept with the build (the main results)
MAIN_PAGE = "notebooks/02_main_table.html"
#: folders of the HTML output that hold no page a reader opens
NOT_PAGES = {"_static", "_vendor", "_sources", "_images"}
#: the browsers tried, in order (``PAPER_LIB_CHROMIUM`` names one explicitly)
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome", "headless_shell")
MISSING = ("headless Chromium is not installed: none of " + ", ".join(f"`{b}`" for b in BROWSERS)
           + " is on PATH and PAPER_LIB_CHROMIUM is not set (on Debian/Ubuntu: "
           "`apt-get install chromium`; .ci/run installs it)")

#: text a reader must never see: the build machine's paths and Python reprs
LEAKS = re.compile(r"(?<![\w.])/(?:work|tmp|home|root)/|site-packages|PosixPath\(|<matplotlib\b"
                   r"|(?<![\w.])array\(\[|(?<![\w.])dtype=")
#: code written by the authors, where such text is legitimate (source, not output): notebook
#: input cells, and highlighted code, doctests, literal blocks and module sources outside cell
#: outputs
AUTHORED_CODE = ".cell_input, div.highlight:not(.cell_output *), pre:not(.cell_output *)"
#: the browser's own request for a site icon at the server's root (the book declares none): not
#: a request of the book's, and a server without the file answers 404
BROWSER_ICON = "/favicon.ico"

# Runs in the page once it has loaded: loads lazy images and audio metadata, waits for MathJax,
# then measures what the checks need. Everything waits 10-15 s at most.
_SETTLE_AND_MEASURE = r"""
(async () => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const until = async (done, ms) => { const t = Date.now();
    while (!done() && Date.now() - t < ms) await sleep(25); };
  const imgs = [...document.images];
  imgs.forEach(i => { if (i.loading === 'lazy') i.loading = 'eager'; });
  const audios = [...document.querySelectorAll('audio')];
  audios.forEach(a => { if (a.readyState < 1 && !a.error) { a.preload = 'metadata'; a.load(); } });
  await until(() => imgs.every(i => i.complete), 10000);
  await until(() => audios.every(a => a.readyState >= 1 || a.error || a.networkState === 3),
              10000);
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await Promise.race([MathJax.startup.promise, sleep(15000)]);
  }
  const label = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + (e.classList.length ? '.' + [...e.classList].slice(0, 3).join('.') : '');
  const math = [...document.querySelectorAll('.math')];
  const root = document.documentElement;
  // elements reaching past the viewport that no scroll container of theirs clips
  const clipped = e => { for (let p = e.parentElement; p && p !== document.body;
                              p = p.parentElement) {
      const o = getComputedStyle(p).overflowX; if (o !== 'visible') return true; }
    return false; };
  const wide = root.scrollWidth > root.clientWidth
    ? [...document.body.querySelectorAll('*')]
        .filter(e => e.getBoundingClientRect().right > root.clientWidth + 1 && !clipped(e))
        .slice(-3).map(e => label(e) + ' ' + Math.round(e.getBoundingClientRect().right)
                             + ' px')
    : [];
  return {
    images: imgs.length,
    broken_images: imgs.filter(i => !(i.complete && i.naturalWidth > 0))
                       .map(i => i.getAttribute('src')),
    math: math.length,
    unrendered_math: math.filter(m => !m.querySelector('mjx-container'))
                         .map(m => m.textContent.trim().slice(0, 60)),
    // a TeX error, or an undefined macro (MathJax shows it as red text starting with "\\")
    math_errors: [...document.querySelectorAll('mjx-merror')]
                     .map(m => (m.getAttribute('data-mjx-error') || m.textContent).slice(0, 80))
                 .concat([...document.querySelectorAll('mjx-assistive-mml mtext[mathcolor="red"]')]
                     .map(m => m.textContent).filter(t => t.startsWith('\\'))
                     .map(t => 'undefined ' + t.slice(0, 60))),
    audio: audios.map(a => { const s = a.querySelector('source');
      const type = (s && s.type) || a.getAttribute('type') || '';
      return {src: (a.currentSrc || (s && s.getAttribute('src')) || a.getAttribute('src')
                    || '').slice(0, 80),
              ready: a.readyState, error: a.error ? a.error.code : 0,
              network: a.networkState, type: type, can_play: type ? a.canPlayType(type) : ''};
    }),
    scroll_width: root.scrollWidth, client_width: root.clientWidth, wide: wide,
    // a caption reaching past the scroll container of its (wide) table: its end is hidden
    clipped_captions: [...document.querySelectorAll('table caption')].filter(c => {
        const box = c.closest('.pst-scrollable-table-container');
        return box && c.getBoundingClientRect().right > box.getBoundingClientRect().right + 1; })
      .map(c => c.textContent.trim().slice(0, 60)),
    height: root.scrollHeight,
    icon: !!document.querySelector('link[rel~="icon"]'),
  };
})()
"""

_VISIBLE_TEXT = """
(() => {
  // what a reader can see, folded cells and outputs opened
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const style = document.createElement('style');
  style.textContent = %s + ' { display: none !important; }';
  document.documentElement.appendChild(style);
  const text = (document.body || document.documentElement).innerText;
  style.remove();
  return text;
})()
"""


class BrowserError(RuntimeError):
    """The browser could not be started or stopped answering."""


def find_chromium() -> str | None:
    """The headless browser to use: ``PAPER_LIB_CHROMIUM``, else the first of :data:`BROWSERS`
    on PATH; ``None`` when there is none."""
    named = os.environ.get("PAPER_LIB_CHROMIUM")
    if named:
        return shutil.which(named) or (named if Path(named).is_file() else None)
    return next((found for b in BROWSERS if (found := shutil.which(b))), None)


# -- serving the book ------------------------------------------------------------------------


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # the browser drops connections it no longer needs (e.g. a media request once it has
        # the metadata): not an error of the book
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    server = _QuietServer(("127.0.0.1", 0),
                          functools.partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


# -- the DevTools protocol over a pipe -------------------------------------------------------


class DevTools:
    """A headless Chromium driven over ``--remote-debugging-pipe``: :meth:`send` a command and
    get its result; events arriving meanwhile are kept in :attr:`events` in arrival order."""

    def __init__(self, chromium: str, profile_dir: Path) -> None:
        to_chrome_r, self._out = os.pipe()
        self._in, from_chrome_w = os.pipe()
        flags = ["--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
                 "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
                 "--disable-extensions", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-default-apps",
                 "--mute-audio", f"--user-data-dir={profile_dir}",
                 f"--window-size={WIDTH},{HEIGHT}", "about:blank"]
        # the protocol's pipe is the browser's fd 3 (commands in) and fd 4 (messages out): a
        # small Python launcher places the two ends there and becomes the browser
        place = ("import os, sys; r, w = int(sys.argv[1]), int(sys.argv[2]); "
                 "r3 = os.dup(r); w4 = os.dup(w); os.dup2(r3, 3); os.dup2(w4, 4); "
                 "os.set_inheritable(3, True); os.set_inheritable(4, True); "
                 "[os.close(fd) for fd in {r, w, r3, w4} - {3, 4}]; "
                 "os.execv(sys.argv[3], sys.argv[3:])")
        self._log = (profile_dir / "chromium.log").open("w+b")
        self.proc = subprocess.Popen([sys.executable, "-c", place, str(to_chrome_r),
                                      str(from_chrome_w), chromium, *flags],
                                     pass_fds=(to_chrome_r, from_chrome_w),
                                     stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def _stderr_tail(self) -> str:
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-1500:]

    def _receive(self, deadline: float) -> dict[str, Any] | None:
        """The next message, or None once ``deadline`` (a ``time.monotonic``) has passed."""
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self._in], [], [], left)
            if ready:
                chunk = os.read(self._in, 1 << 20)
                if not chunk:
                    raise BrowserError("Chromium closed the DevTools pipe (it exited with "
                                       f"{self.proc.poll()}):\n{self._stderr_tail()}")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        parsed: dict[str, Any] = json.loads(message)
        return parsed

    def send(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None, timeout: float = 30.0) -> dict[str, Any]:
        """Run one command (in ``session``, a page's, or the browser's) and return its result."""
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        try:
            os.write(self._out, json.dumps(msg).encode() + b"\0")
        except BrokenPipeError as exc:
            raise BrowserError(f"Chromium is gone:\n{self._stderr_tail()}") from exc
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline)
            if reply is None:
                raise BrowserError(f"no answer to {method} within {timeout:.0f} s")
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message')}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, method: str, since: int, session: str, timeout: float) -> bool:
        """Whether event ``method`` of ``session`` arrived (after index ``since``) in time."""
        deadline = time.monotonic() + timeout
        seen = since
        while True:
            for event in self.events[seen:]:
                if event["method"] == method and event.get("sessionId") == session:
                    return True
            seen = len(self.events)
            message = self._receive(deadline)
            if message is None:
                return False
            if "method" in message:
                self.events.append(message)

    def drain(self, seconds: float) -> None:
        """Keep the events that arrive within ``seconds``."""
        deadline = time.monotonic() + seconds
        while (message := self._receive(deadline)) is not None:
            if "method" in message:
                self.events.append(message)

    def close(self) -> None:
        try:
            os.write(self._out, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._in, self._out):
            try:
                os.close(fd)
            except OSError:
                pass
        self._log.close()


# -- the checks ------------------------------------------------------------------------------


@dataclass
class PageReport:
    """What one page showed; :meth:`problems` turns it into the failures of each check."""

    page: str
    console: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    offsite: list[str] = field(default_factory=list)
    measures: dict[str, Any] = field(default_factory=dict)
    text: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def problems(self) -> dict[str, list[str]]:
        """Check name -> what is wrong on this page (an empty list when the check passes)."""
        m = self.measures
        audio = [f"{a['src']} (readyState {a['ready']}, error {a['error']}, "
                 f"type {a['type'] or '?'}: canPlayType {a['can_play'] or 'no'})"
                 for a in m.get("audio", [])
                 if not (a["ready"] >= 1 or (not a["error"] and a["network"] != 3
                                             and a["can_play"]))]
        width = []
        if m and m["scroll_width"] > m["client_width"]:
            width = [f"{m['scroll_width']} px wide in a {m['client_width']} px viewport"
                     + (f"; widest: {', '.join(m['wide'])}" if m["wide"] else "")]
        width += [f"table caption cut at its table's scroll edge: {t!r}"
                  for t in m.get("clipped_captions", [])]
        return {
            "console": self.console,
            "requests": self.requests,
            "offsite": self.offsite,
            "images": [f"{src}" for src in m.get("broken_images", [])],
            "math": ([f"not typeset: {t!r}" for t in m.get("unrendered_math", [])]
                     + [f"TeX error: {t!r}" for t in m.get("math_errors", [])]),
            "audio": audio,
            "width": width,
            "text": self.text,
        }


def pages_of(html: Path, pattern: str = "*") -> list[str]:
    """Every page of the built book (relative paths), those matching ``pattern`` only."""
    pages = [p.relative_to(html).as_posix() for p in sorted(html.rglob("*.html"))
             if not NOT_PAGES & set(p.relative_to(html).parts)]
    return [p for p in pages if fnmatch.fnmatch(p, pattern)]


def _describe_console(event: dict[str, Any]) -> str | None:
    method, params = event["method"], event["params"]
    if method == "Runtime.exceptionThrown":
        d = params["exceptionDetails"]
        text = d.get("exception", {}).get("description") or d.get("text", "")
        return f"uncaught {text.splitlines()[0] if text else '?'} ({d.get('url', '')}:" \
               f"{d.get('lineNumber', 0) + 1})"
    if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
        args = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
        return f"console.{params['type']}: {args[:200]}"
    if method == "Log.entryAdded" and params["entry"]["level"] == "error":
        entry = params["entry"]
        return f"{entry['text'][:200]}" + (f" ({entry['url']})" if entry.get("url") else "")
    return None


def _classify(report: PageReport, events: list[dict[str, Any]], base: str) -> None:
    """Fill the console, failed-request and off-site lists of ``report`` from its events."""
    urls: dict[str, str] = {}
    local = urlsplit(base).hostname
    # the browser's own icon request, when the page declares no icon of its own
    icon = "" if report.measures.get("icon") else BROWSER_ICON
    for event in events:
        method, params = event["method"], event["params"]
        if method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            urls[params["requestId"]] = url
            parts = urlsplit(url)
            if parts.scheme not in ("data", "blob", "about") and parts.hostname != local:
                report.offsite.append(url[:160])
        elif method.startswith("Network.") and params.get("requestId") not in urls:
            continue  # a late event of the previous page's requests
        elif method == "Network.responseReceived" and params["response"]["status"] >= 400:
            if urlsplit(params["response"]["url"]).path == icon:
                continue
            report.requests.append(f"HTTP {params['response']['status']} "
                                   f"{_short(params['response']['url'], base)}")
        elif method == "Network.loadingFailed":
            url = urls[params["requestId"]]
            # a media request the browser stops once it has what it needs is not a failure
            if params.get("canceled") and params.get("type") == "Media":
                continue
            reason = params.get("blockedReason") or params.get("errorText", "")
            report.requests.append(f"{reason} {_short(url, base)}")
        elif method == "Log.entryAdded" and \
                urlsplit(params["entry"].get("url", "")).path == icon:
            continue
        elif (line := _describe_console(event)) is not None:
            report.console.append(line.replace(base, "/"))


def _short(url: str, base: str) -> str:
    return url.replace(base, "/")[:160]


def _leaks(text: str) -> list[str]:
    found = []
    for m in LEAKS.finditer(text):
        context = text[max(0, m.start() - 40):m.end() + 40].replace("\n", " ")
        found.append(f"{m.group(0)!r} in …{context}…")
        if len(found) == 5:
            break
    return found


def check_book(html: Path, pattern: str = "*", screenshot: Path | None = None,
               chromium: str | None = None,
               log: Callable[[str], None] = lambda _: None) -> list[PageReport]:
    """Open every page of the built book under ``html`` (those matching ``pattern``) in headless
    Chromium and return what each showed; keep a PNG of :data:`MAIN_PAGE` at ``screenshot``."""
    browser = chromium or find_chromium()
    if browser is None:
        raise BrowserError(MISSING)
    html = Path(html).resolve()
    pages = pages_of(html, pattern)
    if not pages:
        raise BrowserError(f"no HTML page under {html} matches {pattern!r}")
    reports = []
    with tempfile.TemporaryDirectory(prefix="book-browser-", ignore_cleanup_errors=True) as profile, \
            serve(html) as base:
        tools = DevTools(browser, Path(profile))
        try:
            target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = tools.send("Target.attachToTarget",
                                 {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Network", "Log"):
                tools.send(f"{domain}.enable", session=session)
            tools.send("Emulation.setDeviceMetricsOverride",
                       {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1,
                        "mobile": False}, session=session)
            for page in pages:
                reports.append(_open(tools, session, base, page, screenshot))
                log(f"{page}: {reports[-1].seconds:.2f} s")
        finally:
            tools.close()
    return reports


def _evaluate(tools: DevTools, session: str, expression: str, timeout: float = 60.0) -> Any:
    result = tools.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                             "returnByValue": True}, session=session,
                        timeout=timeout)
    if "exceptionDetails" in result:
        raise BrowserError(f"the check script failed: {result['exceptionDetails']}")
    return result["result"].get("value")


_STATE = ("({complete: document.readyState === 'complete', "
          "refresh: !!document.querySelector('meta[http-equiv=\"refresh\" i]')})")


def _follow_redirect(tools: DevTools, session: str) -> None:
    """A page that moves on by ``<meta http-equiv="refresh">`` (the book's ``index.html``) is
    checked as the reader meets it: the page it leads to, once loaded."""
    for _ in range(3):
        mark = len(tools.events)
        try:
            state = _evaluate(tools, session, _STATE)
        except BrowserError:   # the document changed while the question was asked
            state = {"complete": False, "refresh": True}
        if state["complete"] and not state["refresh"]:
            return
        tools.wait_for("Page.loadEventFired", mark, session, timeout=10)


def _open(tools: DevTools, session: str, base: str, page: str,
          screenshot: Path | None) -> PageReport:
    t0 = time.monotonic()
    report = PageReport(page)
    since = len(tools.events)
    nav = tools.send("Page.navigate", {"url": base + page}, session=session)
    if nav.get("errorText"):
        report.requests.append(f"the page itself: {nav['errorText']}")
    if not tools.wait_for("Page.loadEventFired", since, session, timeout=30):
        report.console.append("the page did not finish loading within 30 s")
    _follow_redirect(tools, session)
    report.measures = _evaluate(tools, session, _SETTLE_AND_MEASURE)
    tools.drain(0.05)
    if screenshot is not None and page == MAIN_PAGE:
        height = min(int(report.measures["height"]), 16000)
        shot = tools.send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": WIDTH, "height": height, "scale": 1}},
            session=session)
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        screenshot.write_bytes(base64.b64decode(shot["data"]))
    text = _evaluate(tools, session, _VISIBLE_TEXT % json.dumps(AUTHORED_CODE))
    report.text = _leaks(text or "")
    _classify(report, [e for e in tools.events[since:] if e.get("sessionId") == session], base)
    del tools.events[since:]  # a page's events are read once
    report.seconds = time.monotonic() - t0
    return report


def problems(reports: list[PageReport]) -> dict[str, list[str]]:
    """Check name -> one line per offending page ("page: what"), for every check of
    :data:`CHECKS` (an empty list when it passes on every page)."""
    out: dict[str, list[str]] = {check: [] for check in CHECKS}
    for report in reports:
        for check, found in report.problems().items():
            if found:
                out[check].append(f"{report.page}: " + "; ".join(found[:5])
                                  + (f" (+{len(found) - 5} more)" if len(found) > 5 else ""))
    return out


def failure_message(check: str, lines: list[str]) -> str:
    """The assertion message of one check: what it asks and every offending page."""
    return (f"{len(lines)} page(s) with {CHECK_TITLES[check]}:\n  " + "\n  ".join(lines))


def summary(reports: list[PageReport], seconds: float) -> str:
    """A readable report of a run: what was opened and each check's verdict."""
    found = problems(reports)
    total = {k: sum(len(r.measures.get(k, [])) if isinstance(r.measures.get(k), list)
                    else int(r.measures.get(k, 0)) for r in reports)
             for k in ("images", "math", "audio")}
    lines = [f"{len(reports)} pages opened in headless Chromium at {WIDTH} px in {seconds:.1f} s "
             f"({total['images']} images, {total['math']} math elements, "
             f"{total['audio']} audio elements)"]
    for check in CHECKS:
        verdict = "ok" if not found[check] else f"{len(found[check])} page(s)"
        lines.append(f"{check:9s} {CHECK_TITLES[check]}: {verdict}")
        lines += [f"    {line}" for line in found[check]]
    slowest = max(reports, key=lambda r: r.seconds)
    lines.append(f"slowest page: {slowest.page} ({slowest.seconds:.2f} s)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests._browser", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("html", type=Path, help="the built book, e.g. _build/html")
    parser.add_argument("--pages", default="*", help="only the pages matching this glob")
    parser.add_argument("--screenshot", type=Path, default=None,
                        help=f"where to save a PNG of {MAIN_PAGE} "
                             "(default: <html>/../screenshots/main_table.png)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each page's time")
    args = parser.parse_args(argv)
    if find_chromium() is None:
        print(MISSING, file=sys.stderr)
        return 2
    shot = args.screenshot or args.html.resolve().parent / "screenshots" / "main_table.png"
    t0 = time.monotonic()
    reports = check_book(args.html, args.pages, screenshot=shot,
                         log=print if args.verbose else (lambda _: None))
    print(summary(reports, time.monotonic() - t0))
    if shot.is_file():
        print(f"screenshot of {MAIN_PAGE}: {shot}")
    return 1 if any(problems(reports).values()) else 0


if __name__ == "__main__":
    sys.exit(main())
