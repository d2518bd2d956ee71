"""Shared fixtures: every test writes its build, results and caches into a temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: the tests that share the session's quick book build run on one pytest-xdist worker
BOOK_GROUP = "quick_book"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep every test of the quick book on one xdist worker (``--dist loadgroup``), so the book
    is built once, not once per worker."""
    for item in items:
        if "quick_book" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group(BOOK_GROUP))


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


E2E_DATASET = "avdigits"  # the book's default dataset


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
