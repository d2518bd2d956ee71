"""The data manifest: ``data_manifest/<name>.yaml``, one file per dataset (schema in its README).

- :func:`load_manifest` reads and checks one manifest;
- :func:`verify` checks the files on disk against it (presence, sizes, sha256 where known, array
  shapes and dtypes) without loading the whole dataset (``deep=True`` loads it too);
- :func:`fetch` downloads the one directly downloadable file of a dataset (checksum-verified,
  written atomically, with a progress bar), or raises :class:`ManualDownloadRequired` with the
  manual steps when the files live in a Google Drive folder;
- :func:`dataset_status` says whether a dataset is present and where;
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import yaml
from tqdm import tqdm

from paper_lib import paths
from paper_lib.atomic import atomic_path
from paper_lib.data.dataset import DataError

SCHEMA_VERSION = 1
_REQUIRED_KEYS = ("schema_version", "name", "title", "kind", "description", "citation",
                  "licence", "obtain", "reported")
_CHUNK = 1 << 20


class ManualDownloadRequired(DataError):
    """The dataset cannot be fetched non-interactively; the message holds the manual steps."""


# -- reading ---------------------------------------------------------------------------------
def manifest_path(name: str) -> Path:
    """``<manifest_dir>/<name>.yaml``."""
    return paths.manifest_dir() / f"{name}.yaml"


def manifest_names() -> list[str]:
    """Names of every dataset with a manifest (sorted)."""
    return sorted(p.stem for p in paths.manifest_dir().glob("*.yaml"))


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


# -- where the files are ---------------------------------------------------------------------
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
        req = [f for f in fmt["files"] if f.get("required", True)]
        if req and _locate(root, req[0]) is not None:
            return True
    return False


def _locate(root: Path, spec: dict[str, Any]) -> Path | None:
    """Where a manifest file entry is under ``root`` (its path or an ``also_at`` path)."""
    for rel in [spec["path"], *(spec.get("also_at") or [])]:
        p = root / rel
        if (p.is_dir() if spec["kind"].endswith("_dir") else p.is_file()):
            return p
    return None


def _format_base(root: Path, fmt: dict[str, Any]) -> Path:
    """``root``, or its single sub-folder holding the format's first file (an unzipped archive)."""
    first = fmt["files"][0]
    if _locate(root, first) is not None or not root.is_dir():
        return root
    inner = [d for d in sorted(root.iterdir()) if d.is_dir() and _locate(d, first) is not None]
    return inner[0] if len(inner) == 1 else root


# -- verification ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Check:
    """One line of a verification report."""

    item: str
    status: str        # ok | missing | mismatch | unchecked | error | info
    detail: str = ""


@dataclass
class VerifyReport:
    """Outcome of :func:`verify`: which format was found and every check made."""

    name: str
    kind: str
    root: Path | None
    present: bool
    format: str | None
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Present, and no check failed (unknown sizes/checksums are not failures)."""
        bad = {"missing", "mismatch", "error"}
        return self.present and not any(c.status in bad for c in self.checks)

    def text(self) -> str:
        """Human-readable report."""
        head = (f"{self.name} ({self.kind}): "
                + ("OK" if self.ok else "PROBLEMS" if self.present else "NOT PRESENT"))
        lines = [head]
        if self.root is not None:
            lines.append(f"  folder: {self.root}")
        if self.format:
            lines.append(f"  format: {self.format}")
        lines += [f"  [{c.status:>9}] {c.item}" + (f": {c.detail}" if c.detail else "")
                  for c in self.checks]
        return "\n".join(lines)


def verify(name: str, data_dir: str | Path | None = None, *, deep: bool = False
           ) -> VerifyReport:
    """Check a dataset's files against its manifest (offline).

    Real datasets: the first format whose required files are all present is checked file by
    file (size, sha256 when the manifest has one, HDF5 array shapes and dtypes, ``.npy`` folder
    counts with a sample of array shapes, fold-file counts and line totals). Embedded datasets
    are generated and summarised. ``deep=True`` also loads a real dataset fully (every check of
    the loader).
    """
    man = load_manifest(name)
    if man["kind"] == "embedded":
        return _verify_embedded(name, man)
    root = dataset_dir(name, data_dir)
    for fmt in man["formats"]:
        base = _format_base(root, fmt)
        required = [f for f in fmt["files"] if f.get("required", True)]
        if all(_locate(base, f) is not None for f in required):
            report = VerifyReport(name, "real", base, True, fmt["id"])
            symbols: dict[str, int] = {}
            for spec in fmt["files"]:
                report.checks.extend(_check_file(base, spec, symbols))
            if deep and report.ok:
                report.checks.append(_deep_check(name, base))
            return report
    report = VerifyReport(name, "real", root, False, None)
    for fmt in man["formats"]:
        base = _format_base(root, fmt)
        for spec in fmt["files"]:
            if spec.get("required", True) and _locate(base, spec) is None:
                report.checks.append(Check(f"{fmt['id']}: {spec['path']}", "missing",
                                           f"not in {base}"))
    report.checks.append(Check("how to obtain", "info",
                               f"see `paper-lib data fetch {name}` / data_manifest/{name}.yaml"))
    return report


def _verify_embedded(name: str, man: dict[str, Any]) -> VerifyReport:
    """Generate an embedded dataset and report its shape facts."""
    from paper_lib.data.registry import load_dataset

    report = VerifyReport(name, "embedded", None, True, man.get("generator"))
    try:
        ds = load_dataset(name)
    except Exception as exc:  # noqa: BLE001 - any generator failure is reported, not raised
        report.checks.append(Check("generate", "error", f"{type(exc).__name__}: {exc}"))
        return report
    report.checks.append(Check("generate", "ok", _summary(ds)))
    return report


def _deep_check(name: str, base: Path) -> Check:
    """Load the dataset with every loader check; report the outcome as one line."""
    from paper_lib.data.registry import load_dataset

    try:
        ds = load_dataset(name, data_dir=base)
    except DataError as exc:
        return Check("load (deep)", "error", str(exc))
    return Check("load (deep)", "ok", _summary(ds))


def _summary(ds: Any) -> str:
    split = (f"{ds.n_folds} folds" if ds.folds is not None
             else f"fixed split ({int(ds.is_test.sum())} test clips)")
    return (f"{ds.n_clips} clips, {ds.n_classes} classes, audio {ds.audio.shape[1]}-d, "
            f"visual {ds.visual.shape[1]}-d, {split}")


def _check_file(base: Path, spec: dict[str, Any], symbols: dict[str, int]) -> list[Check]:
    """Every check of one manifest file entry."""
    where = _locate(base, spec)
    label = spec["path"]
    if where is None:
        status = "missing" if spec.get("required", True) else "info"
        return [Check(label, status, "not present" + ("" if status == "missing"
                                                       else " (optional)"))]
    checks = [Check(label, "ok", f"present at {where}")]
    if spec["kind"] in ("hdf5", "text"):
        checks += _check_size_and_hash(where, spec)
    if spec["kind"] == "hdf5":
        checks += _check_h5_arrays(where, spec.get("arrays") or {}, symbols)
    elif spec["kind"] == "npy_dir":
        checks += _check_npy_dir(where, spec)
    elif spec["kind"] == "txt_dir":
        checks += _check_txt_dir(where, spec)
    return checks


def _check_size_and_hash(path: Path, spec: dict[str, Any]) -> list[Check]:
    size = path.stat().st_size
    out = []
    want = spec.get("size_bytes")
    if want is None:
        out.append(Check(f"{spec['path']} size", "unchecked",
                         f"{size} bytes (manifest: unknown)"))
    else:
        out.append(Check(f"{spec['path']} size", "ok" if size == want else "mismatch",
                         f"{size} bytes, expected {want}"))
    want_sha = spec.get("sha256")
    if want_sha is None:
        out.append(Check(f"{spec['path']} sha256", "unchecked", "manifest: unknown"))
    else:
        got = sha256_file(path)
        out.append(Check(f"{spec['path']} sha256", "ok" if got == want_sha else "mismatch",
                         got if got == want_sha else f"{got}, expected {want_sha}"))
    return out


def match_shape(shape: tuple[int, ...], spec: list[Any] | None, symbols: dict[str, int]
                ) -> str | None:
    """Compare ``shape`` with a manifest shape spec; return the problem or None.

    Spec entries: an int (exact), ``null`` (any), a symbol such as ``N_train`` (any, but equal
    wherever the symbol recurs in the same format), ``"..."`` (any number of further axes).
    """
    if spec is None:
        return None
    rest = len(spec) > 0 and spec[-1] == "..."
    fixed = spec[:-1] if rest else spec
    if len(shape) < len(fixed) or (not rest and len(shape) != len(fixed)):
        return f"shape {tuple(shape)} does not match {spec}"
    for size, want in zip(shape, fixed, strict=False):
        if isinstance(want, int) and size != want:
            return f"shape {tuple(shape)} does not match {spec}"
        if isinstance(want, str):
            if symbols.setdefault(want, size) != size:
                return f"shape {tuple(shape)}: {want} = {size} here but {symbols[want]} elsewhere"
    return None


def _dtype_problem(dtype: np.dtype, want: str | None) -> str | None:
    """``want``: any | float | int | uint8 (None = any)."""
    ok = {None: True, "any": True, "float": np.issubdtype(dtype, np.floating),
          "int": np.issubdtype(dtype, np.integer), "uint8": dtype == np.uint8}.get(want)
    if ok is None:
        return f"unknown dtype rule {want!r} in the manifest"
    return None if ok else f"dtype {dtype}, expected {want}"


def _check_h5_arrays(path: Path, arrays: dict[str, Any], symbols: dict[str, int]
                     ) -> list[Check]:
    """Shapes and dtypes of the datasets an HDF5 file should hold (read from the header only)."""
    out = []
    try:
        with h5py.File(path, "r") as f:
            for key, want in arrays.items():
                item = f"{path.name}:{key}"
                obj = f.get(key)
                if not isinstance(obj, h5py.Dataset):
                    out.append(Check(item, "missing", f"no dataset {key!r} in the file"))
                    continue
                problem = (match_shape(obj.shape, want.get("shape"), symbols)
                           or _dtype_problem(obj.dtype, want.get("dtype")))
                out.append(Check(item, "mismatch" if problem else "ok",
                                 problem or f"shape {obj.shape}, dtype {obj.dtype}"))
    except OSError as exc:
        out.append(Check(path.name, "error", f"cannot read as HDF5 (truncated or corrupt?): "
                                             f"{exc}"))
    return out


_NPY_SAMPLE = 3


def _check_npy_dir(folder: Path, spec: dict[str, Any]) -> list[Check]:
    """Number of ``.npy`` files, and shape/dtype of the first few (memory-mapped, no full read)."""
    files = sorted(folder.glob("*.npy"))
    want = spec.get("count")
    out = [Check(f"{spec['path']}/ files", "unchecked" if want is None
                 else "ok" if len(files) == want else "mismatch",
                 f"{len(files)} .npy files" + ("" if want is None else f", expected {want}"))]
    if not files:
        out.append(Check(f"{spec['path']}/ files", "mismatch", "empty folder (no .npy files)"))
    for p in files[:_NPY_SAMPLE]:
        try:
            a = np.load(p, mmap_mode="r")
        except (OSError, ValueError) as exc:
            out.append(Check(f"{spec['path']}/{p.name}", "error", f"unreadable: {exc}"))
            continue
        problem = match_shape(a.shape, spec.get("shape"), {}) or _dtype_problem(
            a.dtype, spec.get("dtype"))
        out.append(Check(f"{spec['path']}/{p.name}", "mismatch" if problem else "ok",
                         problem or f"shape {a.shape}, dtype {a.dtype}"))
    return out


def _check_txt_dir(folder: Path, spec: dict[str, Any]) -> list[Check]:
    """Number of ``.txt`` files and their total number of non-empty lines."""
    files = sorted(folder.glob("*.txt"))
    out = []
    want = spec.get("count")
    out.append(Check(f"{spec['path']}/ files", "unchecked" if want is None
                     else "ok" if len(files) == want else "mismatch",
                     f"{len(files)} .txt files ({', '.join(p.name for p in files)})"
                     + ("" if want is None else f", expected {want}")))
    total = sum(sum(1 for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip())
                for p in files)
    want_lines = spec.get("total_lines")
    out.append(Check(f"{spec['path']}/ lines", "unchecked" if want_lines is None
                     else "ok" if total == want_lines else "mismatch",
                     f"{total} ids" + ("" if want_lines is None else f", expected {want_lines}")))
    return out


# -- status ----------------------------------------------------------------------------------
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
    for fmt in man["formats"]:
        base = _format_base(root, fmt)
        if all(_locate(base, f) is not None for f in fmt["files"] if f.get("required", True)):
            return {**out, "present": True, "format": fmt["id"], "where": str(base)}
    return {**out, "present": False, "format": None, "where": str(root)}


# -- fetching --------------------------------------------------------------------------------
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
            while chunk := resp.read(_CHUNK):
                out.write(chunk)
                h.update(chunk)
                n += len(chunk)
                bar.update(len(chunk))
    return h.hexdigest(), n


def sha256_file(path: str | Path) -> str:
    """sha256 hex digest of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()
