"""One home per concept, checked on the source: the rules a review found restated in several places
now have one home each, and these tests keep it that way (`lint-imports` checks the layers)."""

from __future__ import annotations

import re

import pytest

from paper_lib.paths import REPO_ROOT

SOURCES = sorted([*(REPO_ROOT / "paper_lib").rglob("*.py"), *(REPO_ROOT / "notebooks").glob("*.py")])


def _users(pattern: str) -> set[str]:
    regex = re.compile(pattern)
    return {str(p.relative_to(REPO_ROOT)) for p in SOURCES if regex.search(p.read_text())}


@pytest.mark.parametrize(("what", "pattern", "homes"), [
    ("thread limits", r"threadpool_limits\(|set_num_threads\(", {"paper_lib/threads.py"}),
    ("the paper's reported numbers", r"\bload_reported\(", {"paper_lib/paper.py"}),
    ("cross-modal score matrices", r"\bsimilarity\(",
     # tsne.py: nearest neighbours within one modality's embedding, not a retrieval score
     {"paper_lib/metrics/similarity.py", "paper_lib/metrics/cross_modal.py",
      "paper_lib/report/tsne.py"}),
    ("the paper's dataset names", r"PAPER_DATASETS\s*[:=]", {"paper_lib/paper.py"}),
    # hashing the content of files (code, the staged book, a generator's sources); execute.py
    # adds a notebook's own source and the pinned requirements to its input key
    ("file-content fingerprints", r"update\(.*read_bytes\(\)",
     {"paper_lib/fingerprint.py", "paper_lib/pipeline/execute.py"}),
])
def test_each_rule_is_written_in_its_home_only(what, pattern, homes):
    users = _users(pattern)
    assert users <= homes, f"{what} outside its home: {sorted(users - homes)}"


def test_no_library_module_knows_the_test_suite():
    assert not _users(r"importlib\.import_module\([^)]*test|[\"']tests/")


def test_no_type_ignore_hides_a_type_error():
    assert not _users(r"#\s*type:\s*ignore")
