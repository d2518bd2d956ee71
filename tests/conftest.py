"""Shared fixtures: every test writes its build, results and caches into a temporary folder."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

#: the tests that share the session's quick book build run on one pytest-xdist worker
BOOK_GROUP = "quick_book"
_TESTS = Path(__file__).resolve().parent
_USES_BOOK = re.compile(r"^def (test_\w+)\([^)]*\bquick_book\b", re.MULTILINE)


def _book_tests() -> set[str]:
    """Node ids (without parameters) of the tests that take the ``quick_book`` fixture, read from
    their signatures: the controller of pytest-xdist schedules before any test is collected."""
    return {f"{_TESTS.name}/{path.name}::{name}" for path in sorted(_TESTS.glob("test_*.py"))
            for name in _USES_BOOK.findall(path.read_text())}


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup``: every test of the quick book on one worker, so the book is built
    once, not once per worker. (pytest-xdist's own ``xdist_group`` marks do not reach its
    scheduler under pytest 9, which no longer reads the node id it rewrites.)"""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    book = _book_tests()

    class BookScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return BOOK_GROUP if nodeid.split("[")[0] in book else nodeid

    return BookScheduling(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The signatures read for the scheduler name every test that uses the quick book (a test
    reaching it through another fixture would be built on a second worker: refuse it)."""
    book = _book_tests()
    hidden = [item.nodeid for item in items if "quick_book" in item.fixturenames
              and item.nodeid.split("[")[0] not in book]
    if hidden:
        raise pytest.UsageError(f"take quick_book as an argument of the test itself: {hidden}")


@pytest.fixture(scope="session", autouse=True)
def thread_policy() -> None:
    """The project's one thread policy, as the notebooks and `paper-lib run` apply it: with
    pytest-xdist each worker gets its share of the cores, and the processes it starts (notebook
    kernels, pools) inherit that share."""
    from paper_lib import threads

    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        threads.set_override(threads.policy_threads(workers), "thread share")
    threads.apply_policy()


@pytest.fixture
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Point results, build and (a fresh) cache at tmp folders (the papermill kernel inherits them)."""
    dirs = {name: tmp_path / name for name in ("results", "build", "cache")}
    monkeypatch.setenv("PAPER_LIB_RESULTS", str(dirs["results"]))
    monkeypatch.setenv("PAPER_LIB_BUILD", str(dirs["build"]))
    monkeypatch.setenv("PAPER_LIB_CACHE", str(dirs["cache"]))
    return dirs


E2E_DATASET = "avdigits-pretrained"  # the book's default dataset


@pytest.fixture(scope="session")
def quick_book(tmp_path_factory: pytest.TempPathFactory):
    """Run the whole pipeline once (profile quick, the default dataset) into a tmp folder:
    every notebook through papermill, then the strict offline HTML build."""
    from paper_lib import threads
    from paper_lib.pipeline.book import build
    from paper_lib.pipeline.execute import reproduce

    root = tmp_path_factory.mktemp("quick_book")
    dirs = {name: root / name for name in ("results", "build", "cache")}
    logs: list[str] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPER_LIB_RESULTS", str(dirs["results"]))
        mp.setenv("PAPER_LIB_BUILD", str(dirs["build"]))
        mp.setenv("PAPER_LIB_CACHE", str(dirs["cache"]))
        # as `make book` runs it: notebooks side by side, one per core (under pytest-xdist the
        # other workers keep running tests, so this worker's share of the cores)
        workers = max(1, threads.available_cores()
                      // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
        outcomes = reproduce(E2E_DATASET, "quick", log=logs.append, workers=workers)
        html = build(E2E_DATASET, "quick", log=logs.append)
        again = reproduce(E2E_DATASET, "quick", log=logs.append, workers=workers)
        build(E2E_DATASET, "quick", log=logs.append)
    yield {"dirs": dirs, "logs": logs, "outcomes": outcomes, "again": again, "html": html,
           "results": dirs["results"] / f"{E2E_DATASET}-quick",
           "executed": dirs["build"] / "executed" / f"{E2E_DATASET}-quick"}
