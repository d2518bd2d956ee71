"""A folder described by a checksummed JSON file: saved models and search indexes.

The description (``model.json``, ``index.json``) names the folder's format and format version,
the sha256 of every data file beside it (``files``) and its own checksum (``content_sha256``,
over its other fields in canonical JSON). :func:`write_description` writes it;
:func:`read_description` checks all of it and raises :class:`~paper_lib.errors.DataError`
naming the file and the problem; :func:`check_replaceable` refuses to overwrite a folder that is
not one of these.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from paper_lib import __version__
from paper_lib.errors import DataError, UserError
from paper_lib.fingerprint import sha256_file


def canonical(doc: Mapping[str, Any]) -> bytes:
    """The bytes the description's own checksum covers: every field but that checksum, as
    canonical JSON (sorted keys, no spaces)."""
    body = {k: v for k, v in doc.items() if k != "content_sha256"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def check_replaceable(target: Path, description: str, what: str, overwrite: bool) -> None:
    """Before writing ``target``: an existing folder is replaced only with ``overwrite`` and only
    if it is empty or holds ``description`` (never someone else's folder). ``what`` names the
    folder with its article ("a model directory")."""
    if not target.exists():
        return
    if not overwrite:
        raise UserError(f"{target}: already exists (pass overwrite=True to replace {what}).")
    if not target.is_dir() or (any(target.iterdir()) and not (target / description).is_file()):
        raise UserError(f"{target}: exists and is not {what}; not replacing it.")


def write_description(folder: Path, description: str, doc: dict[str, Any],
                      files: Iterable[str]) -> None:
    """Record the sha256 of each of ``files`` (already written in ``folder``) and the
    description's own checksum in ``doc``, then write it as ``folder/description``."""
    doc["files"] = {name: sha256_file(folder / name) for name in files}
    doc["content_sha256"] = hashlib.sha256(canonical(doc)).hexdigest()
    (folder / description).write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n",
                                      encoding="utf-8")


def read_description(directory: str | Path, description: str, *, fmt: str, version: int,
                     what: str, noun: str, allowed: Iterable[str], required: Iterable[str] = (),
                     redo: str) -> dict[str, Any]:
    """``directory/description`` after checking the folder, the JSON, its format and version,
    its own checksum, and that every listed data file (some of ``allowed``, all of
    ``required``) exists with its recorded sha256.

    ``what`` names the folder ("model directory"), ``noun`` its kind ("model"), ``redo`` what
    to do about an unsupported version ("save it again with this version").
    """
    root = Path(directory)
    path = root / description
    if not root.is_dir():
        raise DataError(f"{root}: no such {what}.")
    if not path.is_file():
        raise DataError(f"{path}: missing: {root} is not a paper_lib {what}.")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"{path}: corrupted: not valid JSON ({err}).") from None
    if not isinstance(doc, dict) or doc.get("format") != fmt:
        found = doc.get("format") if isinstance(doc, dict) else None
        raise DataError(f"{path}: not a paper_lib {noun} (format {found!r}, expected {fmt!r}).")
    found_version = doc.get("format_version")
    if found_version != version or type(found_version) is not int:
        raise DataError(
            f"{path}: format_version {found_version!r} is not supported: this paper_lib "
            f"({__version__}) reads format_version {version} (the {noun} was saved by "
            f"paper_lib {doc.get('paper_lib_version', '?')}); {redo}.")
    if doc.get("content_sha256") != hashlib.sha256(canonical(doc)).hexdigest():
        raise DataError(f"{path}: checksum mismatch: the file was changed or corrupted after "
                        f"saving.")
    files = doc.get("files")
    allowed, required = set(allowed), set(required)
    if not isinstance(files, dict) or not required <= set(files) <= allowed:
        raise DataError(f"{path}: files must map {sorted(required) or 'some'} of "
                        f"{sorted(allowed)} to checksums, got {files!r}.")
    for name, expected in files.items():
        file = root / name
        if not file.is_file():
            raise DataError(f"{file}: missing ({description} lists it).")
        actual = sha256_file(file)
        if actual != expected:
            raise DataError(f"{file}: checksum mismatch (sha256 {actual[:12]}..., {description} "
                            f"records {str(expected)[:12]}...): the file is corrupted or was "
                            f"changed after saving.")
    return doc
