"""Issue 14, item 8: two builds of the same commit on the same machine write byte-identical
results (every CSV, JSON, PNG and SVG under ``results/``); what measures the run (wall times,
memory, dates) lives only in the provenance records, which are left out of the comparison."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

#: the one kind of file allowed to differ: it records when, where and how fast the run was
PROVENANCE = "provenance.json"


def _digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != PROVENANCE}


@pytest.mark.slow
def test_two_quick_builds_write_byte_identical_results(quick_book, tmp_path, monkeypatch):
    from paper_lib import threads
    from paper_lib.pipeline.execute import reproduce

    first = quick_book["results"]                     # results/<dataset>-quick
    dataset = first.name.rsplit("-", 1)[0]
    # a second build from nothing: fresh results, executed notebooks and caches (every fit and
    # the dataset are made again)
    for name in ("results", "build", "cache"):
        monkeypatch.setenv(f"PAPER_LIB_{name.upper()}", str(tmp_path / name))
    workers = max(1, threads.available_cores()
                  // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    reproduce(dataset, "quick", log=lambda _: None, workers=workers)
    second = tmp_path / "results" / first.name
    a, b = _digests(first), _digests(second)
    assert a, "the first build wrote no results"
    assert sorted(a) == sorted(b), f"files differ: {sorted(set(a) ^ set(b))}"
    differ = [name for name in a if a[name] != b[name]]
    assert not differ, f"{len(differ)} result file(s) differ between two builds: {differ}"
