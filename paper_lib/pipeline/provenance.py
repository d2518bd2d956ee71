"""Provenance records: what produced a result (parameters, data, code, environment, time)."""

from __future__ import annotations

import functools
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from paper_lib.fingerprint import code_fingerprint
from paper_lib.paths import REPO_ROOT

# ``code_fingerprint`` lives in paper_lib.fingerprint; importing it here keeps
# ``provenance.code_fingerprint`` working for older callers (new code: import it from there).
__all__ = ["RECORDED_PACKAGES", "code_fingerprint", "git_commit", "package_versions", "record"]

#: packages whose versions are recorded with every result
RECORDED_PACKAGES = ("numpy", "scipy", "torch", "scikit-learn", "pandas", "h5py", "paper_lib",
                     "papermill", "jupyter-book")


@functools.cache
def git_commit(root: Path = REPO_ROOT) -> str:
    """The checked-out commit, with ``+dirty`` when tracked files differ; ``unknown`` outside git."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, timeout=10).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


@functools.cache
def package_versions() -> dict[str, str]:
    """The installed version of every package of :data:`RECORDED_PACKAGES`, and of Python."""
    versions: dict[str, str] = {}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    versions["python"] = sys.version.split()[0]
    return versions


def record(params: dict[str, Any], dataset_name: str, dataset_checksum: str,
           wall_time_s: float, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A provenance record to store beside a result."""
    rec = {
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "parameters": params,
        "dataset": {"name": dataset_name, "sha256": dataset_checksum},
        "seed": params.get("seed"),
        "git_commit": git_commit(),
        "paper_lib_code_sha256": code_fingerprint(),
        "packages": package_versions(),
        "machine": {"platform": platform.platform(), "processor": platform.machine()},
        "wall_time_s": round(wall_time_s, 3),
    }
    if extra:
        rec.update(extra)
    return rec
