"""Shared fixtures: every test writes its build, results and caches into a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Point results, build and (a fresh) cache at tmp folders (the papermill kernel inherits them)."""
    dirs = {name: tmp_path / name for name in ("results", "build", "cache")}
    monkeypatch.setenv("PAPER_LIB_RESULTS", str(dirs["results"]))
    monkeypatch.setenv("PAPER_LIB_BUILD", str(dirs["build"]))
    monkeypatch.setenv("PAPER_LIB_CACHE", str(dirs["cache"]))
    return dirs
