"""The generic HDF5 format: bring your own paired audio-visual dataset.

One ``.h5``/``.hdf5`` file, ``N`` clips, any number of classes and any feature widths::

    audio        (N, d_a)   float      clip-level audio features         (required)
    visual       (N, d_v)   float      clip-level visual features        (required)
    labels       (N,)       int        class ids 0..K-1                  (required)
    clip_ids     (N,)       utf-8 str  unique clip ids                   (optional; default
                                                                          clip_000000, ...)
    class_names  (K,)       utf-8 str  dataset, or a root attribute      (optional; default
                                                                          class_0, ...)
    fold         (N,)       int        fold id 0..F-1 per clip           } at most one of these;
    is_test      (N,)       bool       fixed train/test flag             } with neither, 5
                                                                           class-balanced folds
                                                                           are made (seed)
    audio_seq    (N, T, d_a) float     per-second sequences, zero-padded (optional, together
    visual_seq   (N, T, d_v) float                                        with seq_len)
    seq_len      (N,)       int        valid seconds per clip, 1..T

Root attributes written by :func:`write_generic_h5` (optional on reading): ``name`` (dataset
name; default: the file stem), ``format = "paper_lib-generic"``, ``format_version = 1``.
Other keys are ignored. ``media`` (waveforms, images of embedded datasets) is not stored.
Load with ``load_dataset("path/to/file.h5")`` or ``--dataset path/to/file.h5``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np

from paper_lib.atomic import write_with
from paper_lib.data.dataset import PairedDataset
from paper_lib.data.folds import make_folds
from paper_lib.data.formats._checks import (
    check_float_features,
    check_int_labels,
    check_label_range,
    check_min_class_size,
    check_shape,
    check_unique_ids,
    h5_dataset,
    open_h5,
)
from paper_lib.errors import DataError, ParamError

FORMAT_NAME = "paper_lib-generic"
FORMAT_VERSION = 1
GENERIC_SUFFIXES = (".h5", ".hdf5")
_HINT = "see the generic HDF5 format in paper_lib/data/formats/generic_h5.py"


def read_generic_h5(path: str | Path, *, n_folds: int = 5, seed: int = 0) -> PairedDataset:
    """Read a generic-format HDF5 file (see the module docstring) into a PairedDataset.

    ``n_folds`` and ``seed`` are used only when the file has neither ``fold`` nor ``is_test``.
    """
    path = Path(path)
    with open_h5(path, "generic HDF5 dataset", _HINT) as f:
        ids = _read_strings(f, "clip_ids", path)
        audio = _read_features(f, "audio", path, ids)
        n = audio.shape[0]
        visual = _read_features(f, "visual", path, ids)
        labels = check_int_labels(h5_dataset(f, "labels", path)[()], "labels", path)
        for key, arr in (("visual", visual), ("labels", labels)):
            if arr.shape[0] != n:
                raise DataError(f"{path}: {key} has {arr.shape[0]} rows but audio has {n}")
        clip_ids = ids if ids is not None else np.array([f"clip_{i:06d}" for i in range(n)])
        if clip_ids.shape != (n,):
            raise DataError(f"{path}: clip_ids has shape {clip_ids.shape}, expected ({n},)")
        check_unique_ids(clip_ids, "clip_ids", path)
        names = _class_names(f, labels, path)
        split = _read_split(f, labels, names, path, n_folds, seed)
        seqs = _read_sequences(f, n, audio.shape[1], visual.shape[1], path)
        ds_name = str(f.attrs.get("name", path.stem))
    return PairedDataset(name=ds_name, audio=audio, visual=visual, labels=labels,
                         class_names=names, clip_ids=clip_ids, source=str(path),
                         **split, **seqs)


def write_generic_h5(ds: PairedDataset, path: str | Path) -> Path:
    """Write ``ds`` in the generic format, atomically (a failure leaves no partial file).

    Examples
    --------
    Any :class:`~paper_lib.data.dataset.PairedDataset` round-trips through the format:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from paper_lib.data.synthetic import make_synthetic
    >>> ds = make_synthetic(n_classes=3, n_per_class=10, d_audio=4, d_visual=6, max_seconds=3,
    ...                     use_cache=False)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = write_generic_h5(ds, Path(tmp) / "mine.h5")
    ...     back = read_generic_h5(path)
    >>> back.audio.shape, back.n_classes, bool((back.labels == ds.labels).all())
    ((30, 4), 3, True)
    """
    path = Path(path)
    if path.suffix not in GENERIC_SUFFIXES:
        raise ParamError(f"path must end in .h5 or .hdf5 (the registry recognises the generic "
                         f"format by its suffix), got {path.name!r}")
    return write_with(path, lambda tmp: _write_file(ds, tmp))


def _write_file(ds: PairedDataset, tmp: Path) -> None:
    """Write every field of ``ds`` to the (temporary) file ``tmp``."""
    text = h5py.string_dtype("utf-8")
    with h5py.File(tmp, "w") as f:
        f.attrs["format"] = FORMAT_NAME
        f.attrs["format_version"] = FORMAT_VERSION
        f.attrs["name"] = ds.name
        f.create_dataset("audio", data=ds.audio)
        f.create_dataset("visual", data=ds.visual)
        f.create_dataset("labels", data=ds.labels.astype(np.int64))
        f.create_dataset("clip_ids", data=np.asarray(ds.clip_ids, dtype=str).astype(object),
                         dtype=text)
        f.create_dataset("class_names", data=np.array(ds.class_names, dtype=object), dtype=text)
        if ds.folds is not None:
            f.create_dataset("fold", data=ds.folds.astype(np.int64))
        else:
            assert ds.is_test is not None
            f.create_dataset("is_test", data=ds.is_test.astype(bool))
        if ds.audio_seq is not None and ds.visual_seq is not None and ds.seq_len is not None:
            f.create_dataset("audio_seq", data=ds.audio_seq)
            f.create_dataset("visual_seq", data=ds.visual_seq)
            f.create_dataset("seq_len", data=ds.seq_len.astype(np.int64))


# -- reading helpers -------------------------------------------------------------------------
def _read_features(f: h5py.File, key: str, path: Path, ids: np.ndarray | None) -> np.ndarray:
    """A required (N, d) float feature matrix."""
    X = h5_dataset(f, key, path)[()]
    check_shape(X.shape, (None, None), key, path)
    return check_float_features(X, key, path, ids)


def _read_strings(f: h5py.File, key: str, path: Path) -> np.ndarray | None:
    """An optional 1-d utf-8 string dataset as a numpy str array."""
    if key not in f:
        return None
    raw = h5_dataset(f, key, path)
    if raw.ndim != 1:
        raise DataError(f"{path}: {key} must be a 1-d list of strings, got shape {raw.shape}")
    if raw.dtype.kind not in ("O", "S", "U"):
        raise DataError(f"{path}: {key} must hold strings, got dtype {raw.dtype}")
    return np.array(raw.asstr()[()], dtype=str)


def _class_names(f: h5py.File, labels: np.ndarray, path: Path) -> tuple[str, ...]:
    """Class names from the dataset or root attribute ``class_names``; else ``class_<k>``."""
    names: np.ndarray | None = _read_strings(f, "class_names", path)
    if names is None and "class_names" in f.attrs:
        raw = np.atleast_1d(f.attrs["class_names"])
        names = np.array([v.decode() if isinstance(v, bytes) else str(v) for v in raw])
    if names is None:
        names = np.array([f"class_{k}" for k in range(int(labels.max()) + 1)])
    check_label_range(labels, len(names), "labels", path)
    return tuple(str(n) for n in names)


def _read_split(f: h5py.File, labels: np.ndarray, names: tuple[str, ...], path: Path,
                n_folds: int, seed: int) -> dict[str, Any]:
    """``{"folds": ...}`` or ``{"is_test": ...}`` from the file, or folds made with make_folds."""
    n = labels.shape[0]
    if "fold" in f and "is_test" in f:
        raise DataError(f"{path}: give either 'fold' or 'is_test', not both")
    if "fold" in f:
        folds = check_int_labels(h5_dataset(f, "fold", path)[()], "fold", path)
        check_shape(folds.shape, (n,), "fold", path)
        check_min_class_size(labels, int(folds.max()) + 1, names, path)
        return {"folds": folds}
    if "is_test" in f:
        flag = h5_dataset(f, "is_test", path)[()]
        check_shape(flag.shape, (n,), "is_test", path)
        if flag.dtype != bool and not (np.issubdtype(flag.dtype, np.integer)
                                       and np.isin(flag, (0, 1)).all()):
            raise DataError(f"{path}: is_test must be boolean, got dtype {flag.dtype}")
        return {"is_test": flag.astype(bool)}
    # [choice] a file without a split gets class-balanced folds (the paper's 5-fold protocol)
    check_min_class_size(labels, n_folds, names, path)
    return {"folds": make_folds(labels, n_folds=n_folds, seed=seed)}


def _read_sequences(f: h5py.File, n: int, d_a: int, d_v: int, path: Path
                    ) -> dict[str, Any]:
    """Optional ``audio_seq``/``visual_seq``/``seq_len`` (all three, or none)."""
    keys = ("audio_seq", "visual_seq", "seq_len")
    present = [k for k in keys if k in f]
    if not present:
        return {}
    if len(present) != 3:
        raise DataError(f"{path}: sequences need all of {list(keys)}, found only {present}")
    out: dict[str, Any] = {}
    for key, d in (("audio_seq", d_a), ("visual_seq", d_v)):
        S = h5_dataset(f, key, path)[()]
        check_shape(S.shape, (n, None, d), key, path)
        out[key] = check_float_features(S, key, path)
    out["seq_len"] = check_int_labels(h5_dataset(f, "seq_len", path)[()], "seq_len", path)
    return out
