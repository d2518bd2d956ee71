"""Shared fixtures: every test writes its build, results and caches into a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def thread_policy() -> None:
    """The project's one thread policy, as the notebooks and `paper-lib run` apply it."""
    from paper_lib import threads

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
    from paper_lib.pipeline.book import build
    from paper_lib.pipeline.execute import reproduce

    root = tmp_path_factory.mktemp("quick_book")
    dirs = {name: root / name for name in ("results", "build", "cache")}
    logs: list[str] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPER_LIB_RESULTS", str(dirs["results"]))
        mp.setenv("PAPER_LIB_BUILD", str(dirs["build"]))
        mp.setenv("PAPER_LIB_CACHE", str(dirs["cache"]))
        outcomes = reproduce(E2E_DATASET, "quick", log=logs.append)
        html = build(E2E_DATASET, "quick", log=logs.append)
        again = reproduce(E2E_DATASET, "quick", log=logs.append)
        build(E2E_DATASET, "quick", log=logs.append)
    yield {"dirs": dirs, "logs": logs, "outcomes": outcomes, "again": again, "html": html,
           "results": dirs["results"] / f"{E2E_DATASET}-quick",
           "executed": dirs["build"] / "executed" / f"{E2E_DATASET}-quick"}
