"""Atomic writes leave the old file or nothing, never half a file."""

from __future__ import annotations

import pytest

from paper_lib import atomic


def test_write_replaces_content(tmp_path):
    target = tmp_path / "sub" / "x.json"
    atomic.write_json(target, {"a": 1})
    atomic.write_json(target, {"a": 2})
    assert target.read_text().strip().endswith("}") and '"a": 2' in target.read_text()
    assert [p.name for p in target.parent.iterdir()] == ["x.json"]


def test_failed_writer_leaves_previous_file_and_no_temporary(tmp_path):
    target = tmp_path / "table.csv"
    atomic.write_text(target, "old\n")

    def broken(path):
        path.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic.write_with(target, broken)
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_temporary_keeps_the_suffix(tmp_path):
    seen = []
    atomic.write_with(tmp_path / "fig.svg", lambda p: (seen.append(p.suffix), p.write_text("<svg/>")))
    assert seen == [".svg"]
