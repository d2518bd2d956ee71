"""Downloading a dataset: the one directly downloadable file, checksum-verified and atomic.

- :func:`fetch` downloads a dataset's file named in its manifest (block ``fetch``) into its
  :func:`~paper_lib.data.locate.dataset_dir`, or raises :class:`ManualDownloadRequired` with the
  manual steps when the files live in a Google Drive folder;
- :func:`download_verified` streams any URL to a file atomically with a progress bar and checks
  its size and sha256.
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from paper_lib.atomic import atomic_path
from paper_lib.data.locate import dataset_dir
from paper_lib.data.manifest import load_manifest, manual_steps
from paper_lib.errors import DataError
from paper_lib.fingerprint import CHUNK, sha256_file


class ManualDownloadRequired(DataError):
    """The dataset cannot be fetched non-interactively; the message holds the manual steps."""


@dataclass(frozen=True)
class FetchResult:
    """What :func:`fetch` did."""

    path: Path | None       # the file on disk (None for embedded datasets)
    sha256: str | None      # its digest
    verified: bool          # the digest matched the manifest's sha256
    downloaded: bool        # False when the file was already present and verified
    message: str


def fetch(name: str, data_dir: str | Path | None = None, url_override: str | None = None,
          *, progress: bool = True) -> FetchResult:
    """Download a dataset's directly downloadable file, checksum-verified and atomically.

    The target is ``dataset_dir(name, data_dir) / manifest.fetch.file``; ``url_override``
    replaces the manifest URL (e.g. a mirror, or a ``file://`` URL). A download whose sha256 (or
    size) differs from the manifest raises DataError and leaves nothing behind. When the manifest
    has no checksum the digest is computed and reported (unverified). Raises
    :class:`ManualDownloadRequired` (with the manual steps) when there is nothing to download
    automatically (Google Drive folders cannot be fetched non-interactively).
    """
    man = load_manifest(name)
    if man["kind"] == "embedded":
        return FetchResult(None, None, False, False,
                           f"{name} is embedded: it is generated on demand, nothing to fetch")
    spec = man["fetch"]
    url = url_override or spec.get("url")
    if not url or not spec.get("file"):
        reason = ("no direct-download URL is known" if spec.get("file")
                  else "its files are a folder tree, not one downloadable file")
        raise ManualDownloadRequired(
            f"{name} cannot be fetched automatically: {reason} (the authors share it through a "
            f"Google Drive folder, which needs a browser). Manual steps:\n{manual_steps(name)}")
    target = dataset_dir(name, data_dir) / spec["file"]
    want = spec.get("sha256")
    if target.is_file() and want and sha256_file(target) == want:
        return FetchResult(target, want, True, False, f"{target} already present and verified")
    digest = download_verified(url, target, sha256=want, size_bytes=spec.get("size_bytes"),
                               progress=progress)
    msg = (f"downloaded {target} (sha256 verified)" if want else
           f"downloaded {target}; the manifest has no sha256, so it is NOT verified "
           f"(sha256 = {digest}; add it to data_manifest/{name}.yaml)")
    return FetchResult(target, digest, bool(want), True, msg)


def download_verified(url: str, target: str | Path, *, sha256: str | None = None,
                      size_bytes: int | None = None, progress: bool = True) -> str:
    """Stream ``url`` to ``target`` atomically with a tqdm bar; check size/sha256; return sha256.

    On any failure (network error, size or checksum mismatch) the temporary file is removed and
    ``target`` is left as it was.
    """
    target = Path(target)
    with atomic_path(target) as tmp:
        try:
            digest, n = _stream(url, tmp, target.name, progress)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise DataError(f"{url}: download failed: {exc}") from exc
        if size_bytes is not None and n != size_bytes:
            raise DataError(f"{url}: downloaded {n} bytes, expected {size_bytes}; "
                            f"nothing was written to {target}")
        if sha256 is not None and digest != sha256:
            raise DataError(f"{url}: checksum mismatch (sha256 {digest}, expected {sha256}); "
                            f"nothing was written to {target}")
    return digest


def _stream(url: str, tmp: Path, label: str, progress: bool) -> tuple[str, int]:
    """Copy ``url`` into ``tmp`` in chunks, hashing on the way; return (sha256, bytes)."""
    h = hashlib.sha256()
    n = 0
    with urllib.request.urlopen(url, timeout=60) as resp, open(tmp, "wb") as out:
        total = resp.headers.get("Content-Length")
        with tqdm(total=int(total) if total else None, unit="B", unit_scale=True,
                  desc=label, disable=not progress) as bar:
            while chunk := resp.read(CHUNK):
                out.write(chunk)
                h.update(chunk)
                n += len(chunk)
                bar.update(len(chunk))
    return h.hexdigest(), n
