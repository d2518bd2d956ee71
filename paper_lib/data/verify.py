"""Verification of a dataset's files against its manifest (offline, read-only).

- :func:`verify` checks a real dataset's files (presence, sizes, sha256 where known, HDF5 array
  shapes and dtypes, ``.npy`` folders, fold files) without loading the whole dataset
  (``deep=True`` loads it too); an embedded dataset is generated and summarised;
- :class:`VerifyReport` / :class:`Check`: the outcome, line by line (``report.text()``);
- :func:`match_shape`: the manifest's shape rules (ints, ``null``, symbols, ``"..."``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from paper_lib.data.locate import dataset_dir, find_format, format_base, locate_file, required_files
from paper_lib.data.manifest import load_manifest
from paper_lib.data.registry import load_dataset
from paper_lib.errors import DataError
from paper_lib.fingerprint import sha256_file


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
    found = find_format(man, root)
    if found is not None:
        fmt, base = found
        report = VerifyReport(name, "real", base, True, fmt["id"])
        symbols: dict[str, int] = {}
        for spec in fmt["files"]:
            report.checks.extend(_check_file(base, spec, symbols))
        if deep and report.ok:
            report.checks.append(_deep_check(name, base))
        return report
    report = VerifyReport(name, "real", root, False, None)
    for fmt in man["formats"]:
        base = format_base(root, fmt)
        for spec in required_files(fmt):
            if locate_file(base, spec) is None:
                report.checks.append(Check(f"{fmt['id']}: {spec['path']}", "missing",
                                           f"not in {base}"))
    report.checks.append(Check("how to obtain", "info",
                               f"see `paper-lib data fetch {name}` / data_manifest/{name}.yaml"))
    return report


def _verify_embedded(name: str, man: dict[str, Any]) -> VerifyReport:
    """Generate an embedded dataset and report its shape facts."""
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
    where = locate_file(base, spec)
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
