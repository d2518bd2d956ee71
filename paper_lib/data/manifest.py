"""The data manifest: ``data_manifest/<name>.yaml``, one file per dataset (schema in its README).

This module reads and checks the manifests and nothing else:

- :func:`load_manifest` reads and checks one manifest (:func:`check_manifest` is the schema);
- :func:`manifest_names`, :func:`manifest_path`: which manifests exist, and where;
- :func:`manual_steps`: how to obtain a dataset by hand.

What uses them, one job per module:

- :mod:`paper_lib.data.locate`: where a dataset's files are (``dataset_dir``, ``dataset_status``);
- :mod:`paper_lib.data.verify`: checks the files on disk against the manifest;
- :mod:`paper_lib.data.fetch`: downloads the one directly downloadable file of a dataset;
- :mod:`paper_lib.paper`: the paper's reported numbers (block ``reported``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from paper_lib import paths
from paper_lib.errors import DataError

SCHEMA_VERSION = 1
_REQUIRED_KEYS = ("schema_version", "name", "title", "kind", "description", "citation",
                  "licence", "obtain", "reported")


def manifest_path(name: str) -> Path:
    """``<manifest_dir>/<name>.yaml``."""
    return paths.manifest_dir() / f"{name}.yaml"


#: manifests in data_manifest/ that describe no dataset (the extractors' weight files)
NOT_DATASETS = ("extractors",)


def manifest_names() -> list[str]:
    """Names of every dataset with a manifest (sorted)."""
    return sorted(p.stem for p in paths.manifest_dir().glob("*.yaml")
                  if p.stem not in NOT_DATASETS)


def load_manifest(name: str) -> dict[str, Any]:
    """Read ``data_manifest/<name>.yaml`` (``yaml.safe_load``) and check its schema."""
    path = manifest_path(name)
    if not path.is_file():
        raise DataError(f"{path}: no manifest for dataset {name!r} (known: "
                        f"{', '.join(manifest_names()) or 'none'})")
    try:
        man = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: not valid YAML: {exc}") from exc
    check_manifest(man, path)
    return man


def check_manifest(man: Any, path: Path | str) -> None:
    """Raise a DataError naming the manifest file and the first schema problem."""
    def fail(msg: str) -> None:
        raise DataError(f"{path}: {msg}")

    if not isinstance(man, dict):
        fail("the manifest must be a mapping")
    missing = [k for k in _REQUIRED_KEYS if k not in man]
    if missing:
        fail(f"missing keys {missing}")
    if man["schema_version"] != SCHEMA_VERSION:
        fail(f"schema_version {man['schema_version']} (this code reads {SCHEMA_VERSION})")
    if man["name"] != Path(path).stem:
        fail(f"name {man['name']!r} does not match the file name")
    if man["kind"] not in ("real", "embedded"):
        fail(f"kind must be 'real' or 'embedded', got {man['kind']!r}")
    if man["kind"] == "real":
        for key in ("formats", "fetch"):
            if not man.get(key):
                fail(f"a real dataset needs {key!r}")
        for fmt in man["formats"]:
            for f in fmt.get("files", []):
                if f.get("kind") not in ("hdf5", "text", "npy_dir", "txt_dir"):
                    fail(f"file {f.get('path')!r}: kind must be hdf5, text, npy_dir or txt_dir")
    if not isinstance(man["reported"], list):
        fail("'reported' must be a list of blocks (checked in detail by paper_lib.paper)")


def manual_steps(name: str) -> str:
    """How to obtain a dataset by hand: the links and the numbered steps of its manifest."""
    man = load_manifest(name)
    obtain = man["obtain"]
    lines = [f"{name}: {man['title']}"]
    for link in obtain.get("links") or []:
        lines.append(f"  - {link['url']}  ({link['what']})")
    for i, step in enumerate(obtain.get("manual_steps") or [], start=1):
        lines.append(f"  {i}. {step}")
    return "\n".join(lines)
