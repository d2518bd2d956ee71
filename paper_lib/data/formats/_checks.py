"""Validation helpers shared by the dataset readers.

Every reader turns bad input into one :class:`~paper_lib.data.dataset.DataError` whose message
names the file and the problem (missing file, wrong shape or dtype, NaN/inf, ids that do not
match across views, labels out of range, duplicate ids, too-small classes, empty views, corrupt
HDF5). Readers only *read*: nothing is written, so nothing can be left half-written.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import h5py
import numpy as np

from paper_lib.data.dataset import DataError

#: how many offending ids an error message quotes
N_EXAMPLES = 5
#: clip ids: a list of strings or a 1-d numpy string array
Ids = Sequence[str] | np.ndarray


def fetch_hint(name: str) -> str:
    """The standard "how to get it" sentence for a named dataset."""
    return (f"see `paper-lib data fetch {name}` / data_manifest/{name}.yaml for how to obtain "
            f"the files")


def missing_file(path: Path, what: str, hint: str = "") -> DataError:
    """A DataError for a missing file or folder: what it is, where we looked, how to get it."""
    msg = f"{path}: {what} not found (looked for {path.name!r} in {path.parent})"
    return DataError(f"{msg}; {hint}" if hint else msg)


def require_path(path: Path, what: str, hint: str = "", *, directory: bool = False) -> Path:
    """Return ``path`` if it exists (as a folder when ``directory``), else raise a clear error."""
    ok = path.is_dir() if directory else path.is_file()
    if not ok:
        raise missing_file(path, what, hint)
    return path


@contextlib.contextmanager
def open_h5(path: Path, what: str, hint: str = "") -> Iterator[h5py.File]:
    """Open an HDF5 file read-only; a missing, truncated or corrupt file becomes a DataError.

    h5py reports a damaged file as ``OSError`` at open time, and as ``OSError``,
    ``RuntimeError``, ``KeyError``, ``ValueError`` or ``TypeError`` when a damaged object is reached (found by
    fuzzing: ``tests/test_fuzz.py``), so the whole ``with`` body is covered; the readers' own
    :class:`~paper_lib.errors.DataError` passes through unchanged.
    """
    require_path(path, what, hint)
    try:
        with h5py.File(path, "r") as f:
            yield f
    except DataError:
        raise
    except (OSError, RuntimeError, KeyError, ValueError, TypeError) as exc:
        raise DataError(f"{path}: cannot read {what} as HDF5 (truncated or corrupt file?): "
                        f"{type(exc).__name__}: {exc}") from exc


def h5_dataset(f: h5py.File, key: str, path: Path) -> h5py.Dataset:
    """The dataset ``key`` of an open file, or a DataError listing the keys that do exist."""
    link = f.get(key, getlink=True)
    if link is None:
        have = ", ".join(sorted(f.keys())) or "none"
        raise DataError(f"{path}: dataset {key!r} not found (entries in the file: {have})")
    try:
        obj = f.get(key)
    except (OSError, KeyError) as exc:   # an external or soft link whose target is missing
        raise DataError(f"{path}: {key!r} is a link ({type(link).__name__}) whose target cannot "
                        f"be read ({exc})") from exc
    if obj is None:
        raise DataError(f"{path}: {key!r} is a link ({type(link).__name__}) whose target does "
                        f"not exist")
    if not isinstance(obj, h5py.Dataset):
        raise DataError(f"{path}: {key!r} is an HDF5 {type(obj).__name__.lower()}, not a dataset "
                        f"(an array of features)")
    return obj


def check_shape(arr_shape: tuple[int, ...], expected: Sequence[int | None], what: str,
                path: Path | str) -> None:
    """Compare a shape with ``expected`` (``None`` = any size); raise naming the file."""
    ok = len(arr_shape) == len(expected) and all(
        e is None or e == s for s, e in zip(arr_shape, expected, strict=True))
    if not ok:
        want = "(" + ", ".join("*" if e is None else str(e) for e in expected) + ")"
        raise DataError(f"{path}: {what} has shape {tuple(arr_shape)}, expected {want}")


def check_float_features(X: np.ndarray, what: str, path: Path | str,
                         ids: Ids | None = None) -> np.ndarray:
    """Require a non-empty floating array with finite values; return it unchanged (its dtype kept)."""
    X = np.asarray(X)
    if not np.issubdtype(X.dtype, np.floating):
        raise DataError(f"{path}: {what} must be floating point, got dtype {X.dtype}")
    check_nonempty(X, what, path)
    check_finite(X, what, path, ids)
    return X


def check_nonempty(X: np.ndarray, what: str, path: Path | str) -> None:
    """An empty view (no rows or no feature columns) is an error."""
    if X.size == 0:
        raise DataError(f"{path}: {what} is empty (shape {X.shape})")


def check_finite(X: np.ndarray, what: str, path: Path | str,
                 ids: Ids | None = None) -> None:
    """Raise if ``X`` has NaN or inf; name the first offending rows (by id when given)."""
    bad_cells = ~np.isfinite(X)
    if not bad_cells.any():
        return
    rows = np.flatnonzero(bad_cells.reshape(X.shape[0], -1).any(axis=1))
    where = [str(ids[r]) if ids is not None else f"row {r}" for r in rows[:N_EXAMPLES]]
    raise DataError(f"{path}: {what} has NaN or inf values in {rows.size} clip(s), e.g. "
                    f"{', '.join(where)}")


def check_int_labels(y: np.ndarray, what: str, path: Path | str, *,
                     allow_integral_float: bool = False) -> np.ndarray:
    """Return ``y`` as an int64 vector; reject non-integers (or non-integral floats).

    ``allow_integral_float`` accepts e.g. ``3.0`` (label files written by Keras code often hold
    floats); ``3.5`` or NaN are always rejected.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"{path}: {what} must be a 1-d vector of class ids, got shape {y.shape}")
    check_nonempty(y, what, path)
    if np.issubdtype(y.dtype, np.integer):
        return y.astype(np.int64)
    if allow_integral_float and np.issubdtype(y.dtype, np.floating):
        if np.isfinite(y).all() and np.array_equal(y, np.round(y)):
            return y.astype(np.int64)
        raise DataError(f"{path}: {what} holds non-integer values (e.g. "
                        f"{y[~np.isfinite(y) | (y != np.round(y))][0]})")
    raise DataError(f"{path}: {what} must hold integer class ids, got dtype {y.dtype}")


def one_hot_to_ids(Y: np.ndarray, what: str, path: Path | str) -> np.ndarray:
    """Turn one-hot rows (N, K) into class ids; every row must hold exactly one 1."""
    Y = np.asarray(Y)
    ones = np.isclose(Y, 1.0)
    zeros = np.isclose(Y, 0.0)
    valid = (ones.sum(axis=1) == 1) & ((ones | zeros).all(axis=1))
    if not valid.all():
        raise DataError(f"{path}: {what} looks one-hot (shape {Y.shape}) but row "
                        f"{int(np.flatnonzero(~valid)[0])} is not a one-hot vector")
    return ones.argmax(axis=1).astype(np.int64)


def check_label_range(y: np.ndarray, n_classes: int, what: str, path: Path | str) -> None:
    """Class ids must lie in ``[0, n_classes)``."""
    if y.min() < 0 or y.max() >= n_classes:
        raise DataError(f"{path}: {what} out of range: found {y.min()}..{y.max()}, expected "
                        f"0..{n_classes - 1} ({n_classes} classes)")


def check_unique_ids(ids: Ids, what: str, path: Path | str) -> None:
    """Clip ids must be unique; name the first duplicates."""
    uniq, counts = np.unique(np.asarray(ids, dtype=str), return_counts=True)
    if (counts > 1).any():
        dup = uniq[counts > 1][:N_EXAMPLES].tolist()
        raise DataError(f"{path}: duplicate clip ids in {what}, e.g. {dup}")


def check_same_ids(reference: Ids, other: Ids, ref_name: str,
                   other_name: str, path: Path | str) -> None:
    """Two id sets must be equal; report the first few ids present in only one of them."""
    a, b = set(reference), set(other)
    if a == b:
        return
    only_a = sorted(a - b)[:N_EXAMPLES]
    only_b = sorted(b - a)[:N_EXAMPLES]
    parts = []
    if only_a:
        parts.append(f"{len(a - b)} id(s) in {ref_name} but not in {other_name}, e.g. {only_a}")
    if only_b:
        parts.append(f"{len(b - a)} id(s) in {other_name} but not in {ref_name}, e.g. {only_b}")
    raise DataError(f"{path}: clip ids do not match across views: " + "; ".join(parts))


def check_min_class_size(labels: np.ndarray, n_folds: int, class_names: Sequence[str],
                         path: Path | str) -> None:
    """With k-fold evaluation every class needs at least ``n_folds`` members."""
    counts = np.bincount(labels, minlength=len(class_names))
    small = [c for c in range(len(counts)) if 0 < counts[c] < n_folds]
    if small:
        c = small[0]
        raise DataError(f"{path}: class {c} ({class_names[c]!r}) has {counts[c]} clip(s), fewer "
                        f"than the {n_folds} folds")


def dequantize_uint8(x: np.ndarray) -> np.ndarray:
    """YouTube-8M style de-quantisation of uint8 features: (x − 128) / 256 (authors' code)."""
    return (x.astype(np.float32) - 128.0) / 256.0


_ID_PREFIX = re.compile(r"^(?P<prefix>.+?)(?:_video)?_\d+$")


def class_name_from_id(clip_id: str) -> str | None:
    """Class prefix of a clip id, e.g. ``chainsaw_video_00382`` -> ``chainsaw``; else None."""
    m = _ID_PREFIX.match(clip_id)
    return m.group("prefix") if m else None


def class_names_from_ids(clip_ids: Ids, labels: np.ndarray, n_classes: int
                         ) -> tuple[str, ...]:
    """Class names derived from clip-id prefixes, when consistent with the class ids.

    # [choice] The per-clip release stores class *ids* only. If every clip of class k has the
    # same id prefix and different classes have different prefixes, the prefix is the name;
    # otherwise (or for a class without clips) the names fall back to ``class_<k>``.
    """
    fallback = tuple(f"class_{k}" for k in range(n_classes))
    found = [class_name_from_id(str(c)) for c in clip_ids]
    prefixes = [p for p in found if p is not None]
    if len(prefixes) != len(found):         # an id without a class prefix
        return fallback
    names: dict[int, str] = {}
    for k, p in zip(labels.tolist(), prefixes, strict=True):
        if names.setdefault(k, p) != p:     # one class, two prefixes
            return fallback
    if len(names) != n_classes or len(set(names.values())) != n_classes:
        return fallback                     # a class without clips, or one prefix for two ids
    return tuple(names[k] for k in range(n_classes))
