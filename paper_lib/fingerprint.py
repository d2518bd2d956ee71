"""Content fingerprints of files and folders: one place for every "has this changed?" hash.

- :func:`sha256_file`: the sha256 of one file's bytes (the data manifest's checksums);
- :func:`tree_fingerprint`: the sha256 of a folder's files (paths and contents), e.g. the staged
  book; :func:`code_fingerprint`: the same over a package's ``.py`` sources;
- :func:`modules_fingerprint`: a code version from the source files of given modules (the
  embedded datasets' cache);
- :func:`files_fingerprint`: a cheap identity of a file or folder tree (paths, sizes and
  modification times, no file contents), for deciding whether real data changed.

Standard library only (and :mod:`paper_lib.paths`), so any layer may import it.
(A dataset's in-memory identity, :meth:`paper_lib.data.dataset.PairedDataset.checksum`, hashes
its arrays instead and lives with the dataset.)
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from types import ModuleType

from paper_lib.paths import REPO_ROOT

#: read size for hashing file contents (1 MiB)
CHUNK = 1 << 20


def sha256_file(path: str | Path) -> str:
    """sha256 hex digest of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def tree_fingerprint(root: Path, pattern: str = "*", exclude: tuple[str, ...] = ()) -> str:
    """sha256 over the relative path and the content of every file under ``root`` whose name
    matches ``pattern``, in sorted order; files below a folder named in ``exclude`` are skipped
    (the test is on the path *relative to* ``root``, so ``root`` itself may sit in such a folder).
    """
    h = hashlib.sha256()
    files = (p for p in root.rglob(pattern)
             if p.is_file() and not set(exclude) & set(p.relative_to(root).parts))
    for path in sorted(files):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


@functools.cache
def code_fingerprint(root: Path = REPO_ROOT / "paper_lib") -> str:
    """sha256 over every ``.py`` file of ``paper_lib`` (path and content), in sorted order.

    Cached per ``root`` for the life of the process (the code does not change while it runs).
    """
    return tree_fingerprint(root, "*.py")


def modules_fingerprint(*modules: ModuleType, extra: str = "") -> str:
    """A code version: sha256 over ``extra`` and the source files of ``modules``, 16 hex digits.

    Any edit of a generator's source (or of a module it relies on) gives a new version.
    """
    h = hashlib.sha256(extra.encode())
    for module in modules:
        source = getattr(module, "__file__", None)
        if source is None:
            raise ValueError(f"modules_fingerprint: module {module.__name__} has no source file")
        h.update(module.__name__.encode() + b"\0" + Path(source).read_bytes())
    return h.hexdigest()[:16]


def files_fingerprint(root: str | Path) -> str:
    """sha256 over ``root`` and the path, size and modification time of every file under it.

    ``root`` may be a folder (every file below it, in sorted order) or a single file. Contents
    are not read, so this is cheap on large datasets; a missing ``root`` hashes its path only.
    Never cached: it is the check that the files changed.
    """
    root = Path(root)
    h = hashlib.sha256(str(root).encode())
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    for f in files:
        st = f.stat()
        h.update(f"{f}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()
