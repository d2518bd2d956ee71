"""Where a real dataset's files are on disk: the one place that resolves a dataset's folder.

- :func:`dataset_dir`: the folder holding a dataset's files, from ``--data-dir`` (the dataset's
  own folder, or a root holding ``<name>/``) or the default ``paths.data_dir()/<name>``; every
  loader, check and fingerprint goes through it;
- :func:`find_format`: the first format of the manifest whose required files are all present,
  and the folder they are in (the dataset folder or its single unzipped sub-folder);
- :func:`dataset_status`: whether a dataset is present, in which format and where (cheap: no
  checksums, no array reads).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from paper_lib import paths
from paper_lib.data.manifest import load_manifest
from paper_lib.errors import DataError


def dataset_dir(name: str, data_dir: str | Path | None = None) -> Path:
    """The folder holding a real dataset's files.

    ``data_dir`` may be the dataset's own folder or a root holding ``<name>/`` (as
    ``--data-dir`` of the pipeline); default ``paths.data_dir()/<name>``.
    """
    if data_dir is None or str(data_dir) == "":
        return paths.data_dir() / name
    given = Path(data_dir).expanduser()
    inner = given / name
    if inner.is_dir() and not _looks_like_dataset(name, given):
        return inner
    return given


def _looks_like_dataset(name: str, root: Path) -> bool:
    """True if ``root`` holds the first required file of one of the dataset's formats."""
    try:
        man = load_manifest(name)
    except DataError:
        return False
    for fmt in man.get("formats") or []:
        req = required_files(fmt)
        if req and locate_file(root, req[0]) is not None:
            return True
    return False


def required_files(fmt: dict[str, Any]) -> list[dict[str, Any]]:
    """The file entries of a manifest format that must be present (``required``, default true)."""
    return [f for f in fmt["files"] if f.get("required", True)]


def locate_file(root: Path, spec: dict[str, Any]) -> Path | None:
    """Where a manifest file entry is under ``root`` (its path or an ``also_at`` path)."""
    for rel in [spec["path"], *(spec.get("also_at") or [])]:
        p = root / rel
        if (p.is_dir() if spec["kind"].endswith("_dir") else p.is_file()):
            return p
    return None


def format_base(root: Path, fmt: dict[str, Any]) -> Path:
    """``root``, or its single sub-folder holding the format's first file (an unzipped archive)."""
    first = fmt["files"][0]
    if locate_file(root, first) is not None or not root.is_dir():
        return root
    inner = [d for d in sorted(root.iterdir()) if d.is_dir() and locate_file(d, first) is not None]
    return inner[0] if len(inner) == 1 else root


def find_format(man: dict[str, Any], root: Path) -> tuple[dict[str, Any], Path] | None:
    """The first format of a real dataset's manifest whose required files are all present under
    ``root`` (the :func:`dataset_dir`), with the folder they are in; None if none is complete."""
    for fmt in man["formats"]:
        base = format_base(root, fmt)
        if all(locate_file(base, f) is not None for f in required_files(fmt)):
            return fmt, base
    return None


def dataset_status(name: str, data_dir: str | Path | None = None) -> dict[str, Any]:
    """Whether a dataset is available: ``{name, kind, present, format, where, title}``.

    Embedded datasets are always present (generated); real ones are present when every required
    file of one of their formats is on disk (cheap: no checksums, no array reads).
    """
    man = load_manifest(name)
    out = {"name": name, "kind": man["kind"], "title": man["title"]}
    if man["kind"] == "embedded":
        return {**out, "present": True, "format": "generated", "where": man.get("generator")}
    root = dataset_dir(name, data_dir)
    found = find_format(man, root)
    if found is not None:
        fmt, base = found
        return {**out, "present": True, "format": fmt["id"], "where": str(base)}
    return {**out, "present": False, "format": None, "where": str(root)}
