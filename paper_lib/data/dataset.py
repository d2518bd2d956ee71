"""The dataset model: two paired views, one class label per clip, folds or a fixed split.

Every loader (embedded or real) returns a :class:`PairedDataset`. Nothing here assumes a number of
classes, a view width or equal class sizes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn

import numpy as np

from paper_lib.errors import DataError

__all__ = ["DataError", "PairedDataset", "Split"]


@dataclass(frozen=True, eq=False)
class Split:
    """One evaluation split: indices into the dataset's rows.

    Attributes
    ----------
    name : str
        ``"fold0"`` ... ``"fold4"``, or ``"test"`` for a fixed split.
    fold : int
        Fold number (0 for a fixed split).
    train : ndarray of shape (n_train,)
        int64 row indices to fit on; nothing fitted may see ``test``.
    test : ndarray of shape (n_test,)
        int64 row indices to evaluate on.
    """

    name: str            # "fold0" ... "fold4", or "test" for a fixed split
    fold: int            # fold number (0 for a fixed split)
    train: np.ndarray    # (n_train,) int64 row indices; nothing fitted may see ``test``
    test: np.ndarray     # (n_test,) int64 row indices


@dataclass(frozen=True, eq=False)
class PairedDataset:
    """Paired audio/visual clips: two views, one class label per clip, folds or a fixed split.

    Every loader returns one (:func:`paper_lib.data.registry.load_dataset`); the constructor
    checks the fields' consistency and raises :class:`~paper_lib.errors.DataError` naming the
    field and the problem. Immutable.

    Attributes
    ----------
    name : str
        Dataset name (``synthetic``, ``avdigits``, ``vegas``, a file stem, ...).
    audio : ndarray of shape (N, d_a)
        Float clip-level audio features.
    visual : ndarray of shape (N, d_v)
        Float clip-level visual features.
    labels : ndarray of shape (N,)
        int64 class ids in ``[0, len(class_names))``.
    class_names : tuple of str
        One name per class id.
    clip_ids : ndarray of shape (N,)
        Unique string ids; every array is keyed by them.
    folds : ndarray of shape (N,) or None
        int fold id in ``[0, n_folds)``, or ``None`` when ``is_test`` is given.
    is_test : ndarray of shape (N,) or None
        bool fixed train/test flag, or ``None`` when ``folds`` is given.
    audio_seq : ndarray of shape (N, T, d_a) or None
        Optional per-second audio sequences, zero-padded in time.
    visual_seq : ndarray of shape (N, T, d_v) or None
        Optional per-second visual sequences, zero-padded in time.
    seq_len : ndarray of shape (N,) or None
        Number of valid seconds per clip (required with sequences).
    media : dict or None
        Optional extras for the book (e.g. ``{"waveforms": ..., "sample_rate": 16000,
        "images": ...}`` for ``avdigits``).
    source : str
        Where the data came from (a path, or ``embedded:<generator>``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ds = PairedDataset(name="toy", audio=rng.normal(size=(6, 3)),
    ...                    visual=rng.normal(size=(6, 4)), labels=np.array([0, 0, 0, 1, 1, 1]),
    ...                    class_names=("dog", "car"),
    ...                    clip_ids=np.array([f"clip{i}" for i in range(6)]),
    ...                    folds=np.array([0, 1, 0, 1, 0, 1]))
    >>> ds.n_clips, ds.n_classes, ds.n_folds
    (6, 2, 2)
    >>> [(s.name, s.train.tolist(), s.test.tolist()) for s in ds.splits()]
    [('fold0', [1, 3, 5], [0, 2, 4]), ('fold1', [0, 2, 4], [1, 3, 5])]
    """

    name: str
    audio: np.ndarray
    visual: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    clip_ids: np.ndarray
    folds: np.ndarray | None = None
    is_test: np.ndarray | None = None
    audio_seq: np.ndarray | None = None
    visual_seq: np.ndarray | None = None
    seq_len: np.ndarray | None = None
    media: dict[str, Any] | None = field(default=None)
    source: str = ""

    def __post_init__(self) -> None:
        validate(self)

    # -- shape facts ---------------------------------------------------------------------------
    @property
    def n_clips(self) -> int:
        """N, the number of clips."""
        return int(self.labels.shape[0])

    @property
    def n_classes(self) -> int:
        """The number of classes (of class names)."""
        return len(self.class_names)

    @property
    def n_folds(self) -> int:
        """The number of folds (1 for a fixed train/test split)."""
        return 1 if self.folds is None else int(self.folds.max()) + 1

    @property
    def has_sequences(self) -> bool:
        """Whether per-second sequences are present."""
        return self.audio_seq is not None and self.visual_seq is not None

    def class_counts(self) -> np.ndarray:
        """(n_classes,) number of clips of every class."""
        return np.bincount(self.labels, minlength=self.n_classes)

    # -- evaluation splits ---------------------------------------------------------------------
    def splits(self, folds: list[int] | None = None) -> Iterator[Split]:
        """Yield the evaluation splits: fold k is the test set, the other folds train.

        For a dataset with a fixed train/test split there is one split, named ``test``.
        """
        if self.is_test is not None:
            yield Split("test", 0, np.flatnonzero(~self.is_test), np.flatnonzero(self.is_test))
            return
        assert self.folds is not None
        wanted = range(self.n_folds) if folds is None else folds
        for k in wanted:
            if not 0 <= k < self.n_folds:
                raise DataError(f"folds: fold {k} does not exist (dataset {self.name!r} has "
                                f"{self.n_folds} folds, 0..{self.n_folds - 1}).")
            yield Split(f"fold{k}", k, np.flatnonzero(self.folds != k),
                        np.flatnonzero(self.folds == k))

    # -- identity ------------------------------------------------------------------------------
    def provenance(self) -> dict[str, Any]:
        """What the dataset records of how it was made: the JSON object in
        ``media["provenance"]`` (e.g. the pretraining accuracies of ``avdigits-pretrained``),
        recorded in every notebook's ``provenance.json``; empty when there is none."""
        text = (self.media or {}).get("provenance")
        return dict(json.loads(text)) if isinstance(text, str) else {}

    def checksum(self) -> str:
        """sha256 over every array and name that defines the data (for provenance and caching).

        Computed once per dataset object (the dataset is treated as immutable): the experiment
        cache and the provenance records ask for it at every fit and every saved file.
        """
        cached = self.__dict__.get("_checksum")
        if cached is None:
            cached = self._compute_checksum()
            object.__setattr__(self, "_checksum", cached)  # frozen dataclass: memo only
        return cached

    def _compute_checksum(self) -> str:
        h = hashlib.sha256()
        h.update(self.name.encode())
        for arr in (self.audio, self.visual, self.labels, self.folds, self.is_test,
                    self.audio_seq, self.visual_seq, self.seq_len):
            if arr is None:
                h.update(b"none")
                continue
            a = np.ascontiguousarray(arr)
            h.update(str(a.dtype).encode() + str(a.shape).encode())
            h.update(a.tobytes())
        h.update("\x1f".join(self.class_names).encode())
        h.update("\x1f".join(map(str, self.clip_ids)).encode())
        return h.hexdigest()


def validate(ds: PairedDataset, where: str | None = None) -> None:
    """Check a dataset's consistency; raise :class:`DataError` naming the field and problem."""
    src = where or ds.source or ds.name
    n = ds.labels.shape[0] if ds.labels.ndim == 1 else -1

    def fail(msg: str) -> NoReturn:
        raise DataError(f"{src}: {msg}")

    if ds.labels.ndim != 1:
        fail(f"labels must be 1-d, got shape {ds.labels.shape}")
    if n == 0:
        fail("the dataset has no clips")
    if not np.issubdtype(ds.labels.dtype, np.integer):
        fail(f"labels must be integers, got dtype {ds.labels.dtype}")
    for view in ("audio", "visual"):
        X = getattr(ds, view)
        if X.ndim != 2:
            fail(f"{view} features must be 2-d (clips x dims), got shape {X.shape}")
        if X.shape[1] == 0:
            fail(f"{view} view is empty (0 feature columns)")
        if X.shape[0] != n:
            fail(f"{view} has {X.shape[0]} rows but there are {n} labels (ids do not align)")
        if not np.issubdtype(X.dtype, np.floating):
            fail(f"{view} features must be floating point, got dtype {X.dtype}")
        if not np.isfinite(X).all():
            rows = np.flatnonzero(~np.isfinite(X).all(axis=1))
            fail(f"{view} has NaN or inf values in {rows.size} clip(s), e.g. "
                 f"{ds.clip_ids[rows[0]] if len(ds.clip_ids) == n else rows[0]}")
    if len(ds.clip_ids) != n:
        fail(f"{len(ds.clip_ids)} clip ids for {n} clips")
    uniq, counts = np.unique(np.asarray(ds.clip_ids, dtype=str), return_counts=True)
    if uniq.size != n:
        fail(f"duplicate clip ids, e.g. {uniq[counts > 1][0]!r}")
    if ds.labels.min() < 0 or ds.labels.max() >= len(ds.class_names):
        fail(f"labels out of range: found {ds.labels.min()}..{ds.labels.max()} but there are "
             f"{len(ds.class_names)} class names")
    if np.unique(ds.labels).size < 2:
        fail("a single class: cross-modal retrieval by class needs at least two")
    if (ds.folds is None) == (ds.is_test is None):
        fail("give exactly one of folds (fold id per clip) or is_test (fixed train/test flag)")
    if ds.folds is not None:
        if ds.folds.shape != (n,) or not np.issubdtype(ds.folds.dtype, np.integer):
            fail(f"folds must be an integer vector of length {n}")
        k = int(ds.folds.max()) + 1
        if ds.folds.min() < 0 or np.unique(ds.folds).size != k:
            fail(f"fold ids must cover 0..{k - 1} without gaps")
        if k < 2:
            fail("at least two folds are needed")
    if ds.is_test is not None:
        if ds.is_test.shape != (n,) or ds.is_test.dtype != bool:
            fail(f"is_test must be a boolean vector of length {n}")
        if ds.is_test.all() or not ds.is_test.any():
            fail("the fixed split needs both training and test clips")
    if (ds.audio_seq is None) != (ds.visual_seq is None):
        fail("give both audio_seq and visual_seq, or neither")
    if ds.audio_seq is not None and ds.visual_seq is not None:     # both, or neither (above)
        if ds.seq_len is None or ds.seq_len.shape != (n,):
            fail(f"seq_len (valid seconds per clip, length {n}) is required with sequences")
        for view, S, X in (("audio_seq", ds.audio_seq, ds.audio),
                           ("visual_seq", ds.visual_seq, ds.visual)):
            if S.ndim != 3 or S.shape[0] != n or S.shape[2] != X.shape[1]:
                fail(f"{view} must have shape ({n}, T, {X.shape[1]}), got {S.shape}")
        if ds.seq_len.min() < 1 or ds.seq_len.max() > ds.audio_seq.shape[1]:
            fail("seq_len values must lie in 1..T")
