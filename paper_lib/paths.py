"""Where things live. Every path is absolute and independent of the working directory.

Environment overrides: ``PAPER_LIB_CACHE`` (generated datasets, execution cache),
``PAPER_LIB_DATA_DIR`` (real datasets), ``PAPER_LIB_RESULTS`` (results written by notebooks).
"""

from __future__ import annotations

import os
from pathlib import Path

#: the repository root (the package is installed in editable mode by the Makefile)
#:
#: :meta hide-value:
REPO_ROOT = Path(__file__).resolve().parents[1]


def _env_path(var: str, default: Path) -> Path:
    value = os.environ.get(var)
    return Path(value).expanduser().resolve() if value else default


def cache_dir() -> Path:
    """Generated embedded datasets and other reproducible caches."""
    return _env_path("PAPER_LIB_CACHE", REPO_ROOT / ".cache")


def data_dir() -> Path:
    """Default root of real datasets: ``<data_dir>/<dataset name>/...``."""
    return _env_path("PAPER_LIB_DATA_DIR", REPO_ROOT / "data")


def results_dir() -> Path:
    """Tidy CSV/JSON results and figures written by the notebooks."""
    return _env_path("PAPER_LIB_RESULTS", REPO_ROOT / "results")


def manifest_dir() -> Path:
    """The data manifest: one YAML file per dataset."""
    return REPO_ROOT / "data_manifest"


def build_dir() -> Path:
    """Executed notebooks and the HTML book."""
    return _env_path("PAPER_LIB_BUILD", REPO_ROOT / "_build")
