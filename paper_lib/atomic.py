"""Atomic file writes: write to a temporary file in the target folder, then rename.

A crash or an exception mid-write leaves the previous file (or no file), never half a file.
:func:`atomic_directory` does the same for a folder of files (a saved model, a search index).
The caches read their entries back with :func:`read_json_entry` / :func:`discard_entry`: an entry
that cannot be read (a disk error, an edit by hand) is reported once, naming the file, removed,
and recomputed by the caller.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()

#: the temporaries of this module are named ``.<target name>.~pl<pid>.<random>[<suffix>]``, so
#: that the next run can tell one left behind by a killed process (its pid is gone) from one that
#: a process still running is writing (:func:`remove_stale_temporaries`)
_TAG = "~pl"
_TEMPORARY = re.compile(r"^\..+\." + re.escape(_TAG) + r"(\d+)\.[^/]*$")


def temporary_prefix(name: str) -> str:
    """The prefix of this process's temporaries for a target called ``name``."""
    return f".{name}.{_TAG}{os.getpid()}."


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (on this machine)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:          # exists, owned by someone else
        return True
    return True


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Remove, under ``folder``, the temporary files and folders of this module that a killed
    process left behind (their pid no longer exists); return what was removed. Those of a
    process still running are kept."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed: list[Path] = []
    for path in sorted(folder.rglob(f".*.{_TAG}*")):
        match = _TEMPORARY.match(path.name)
        if match is None or pid_alive(int(match.group(1))) or not path.exists():
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


@contextlib.contextmanager
def atomic_path(target: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success rename it onto ``target``.

    Use for writers that want a filename (h5py, ``np.save``, ``savefig``): the temporary file
    keeps ``target``'s suffix (or ``suffix``) so format detection by extension still works.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=temporary_prefix(target.name),
                               suffix=suffix or target.suffix, dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the usual mode
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_directory(target: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a new, empty temporary folder next to ``target``; on success rename it to ``target``.

    Fill the yielded folder; when the block ends without an exception it becomes ``target`` in one
    rename, so ``target`` never holds half the files. An exception (or a crash) mid-write removes
    the temporary folder (a crash leaves a hidden ``.<name>.*.tmp`` sibling, never ``target``).
    An existing ``target`` raises ``FileExistsError`` unless ``overwrite``: then the old folder is
    renamed aside, the new one renamed in, and the old one deleted (between the two renames, a
    moment without ``target``; the caller decides whether the old folder may be replaced).
    """
    target = Path(target)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} already exists")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=temporary_prefix(target.name), suffix=".tmp",
                                dir=target.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_UMASK)  # mkdtemp creates 0700; give the usual mode
        if not target.exists():
            os.rename(tmp, target)
            return
        if not overwrite:
            raise FileExistsError(f"{target} already exists")
        old = target.parent / f"{temporary_prefix(target.name)}{uuid.uuid4().hex[:8]}.old"
        os.rename(target, old)
        try:
            os.rename(tmp, target)
        except BaseException:
            os.rename(old, target)    # put the previous folder back
            raise
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def check_writable_file(target: str | Path, name: str) -> Path:
    """Check, before any work, that a file can be written at ``target``: not an existing folder,
    and its folder exists (or can be made) and is writable. ``UserError`` naming the argument
    ``name`` otherwise.

    >>> check_writable_file("/", "out")
    Traceback (most recent call last):
    ...
    paper_lib.errors.UserError: out: '/' is a folder; give a file name
    """
    from paper_lib.errors import UserError

    path = Path(target).expanduser()
    if path.is_dir():
        raise UserError(f"{name}: {str(target)!r} is a folder; give a file name")
    check_can_create(path, name)
    if path.exists() and not os.access(path, os.W_OK):
        raise UserError(f"{name}: {str(target)!r} is not writable (permission denied)")
    return path


def check_can_create(target: str | Path, name: str) -> None:
    """Check, before any work, that ``target`` (a file or a folder) can be created: its deepest
    existing ancestor is a folder in which a probe folder can be made and removed (the probe
    catches what permission bits do not: read-only and virtual file systems, or running as
    root). ``UserError`` naming the argument ``name`` otherwise; nothing is left behind.

    >>> check_can_create("/proc/no/such/place", "out")
    Traceback (most recent call last):
    ...
    paper_lib.errors.UserError: out: cannot create '/proc/no/such/place' (nothing can be created in '/proc')
    """
    from paper_lib.errors import UserError

    path = Path(target).expanduser()
    existing = next((p for p in (path.parent, *path.parent.parents) if p.exists()), None)
    if existing is None or not existing.is_dir():
        raise UserError(f"{name}: cannot create {str(target)!r} ({str(existing)!r} is not a "
                        f"folder)")
    try:
        probe = tempfile.mkdtemp(prefix=temporary_prefix(".probe"), dir=existing)
    except OSError:
        raise UserError(f"{name}: cannot create {str(target)!r} (nothing can be created in "
                        f"{str(existing)!r})") from None
    os.rmdir(probe)


_log = logging.getLogger("paper_lib.cache")


def discard_entry(*paths: str | Path, reason: str) -> None:
    """Remove an unreadable cache entry (all its files), saying so once on the log."""
    present = [Path(p) for p in paths if Path(p).exists()]
    if present:
        _log.warning("cache: discarding unreadable entry %s (%s); it is recomputed",
                     ", ".join(str(p) for p in present), reason)
    for path in present:
        with contextlib.suppress(OSError):
            path.unlink()


def read_json_entry(path: str | Path) -> dict[str, Any] | None:
    """The JSON object stored at ``path``; ``None`` if there is none, and ``None`` after
    :func:`discard_entry` if the file is not a readable JSON object (empty, truncated, edited)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        discard_entry(path, reason=f"{type(exc).__name__}: {exc}")
        return None
    if not isinstance(obj, dict):
        discard_entry(path, reason=f"a JSON {type(obj).__name__}, not an object")
        return None
    return obj


def write_bytes(target: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically (all or nothing); returns the path."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_text(target: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``target`` atomically; returns the path."""
    return write_bytes(target, text.encode("utf-8"))


def write_json(target: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON with sorted keys (:func:`jsonable` converts numpy values)
    to ``target`` atomically; returns the path."""
    return write_text(target, json.dumps(obj, indent=2, sort_keys=True, default=jsonable) + "\n")


def write_with(target: str | Path, writer: Callable[[Path], None]) -> Path:
    """Call ``writer(tmp_path)`` and move the result onto ``target`` atomically."""
    with atomic_path(target) as tmp:
        writer(tmp)
    return Path(target)


def jsonable(obj: Any) -> Any:
    """``json.dumps`` default: numpy scalars and arrays, paths; anything else is a TypeError."""
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")
