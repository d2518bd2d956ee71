"""The AVE dataset (Tian et al., ECCV 2018): annotations plus pre-extracted features.

Files under ``<root>`` (as released with AVE-ECCV18; text files may sit in ``AVE_Dataset/``)::

    Annotations.txt      Category&YouTubeID&Quality&StartTime&EndTime, one clip a line
                         (the first line may be that header); 4,143 clips, 28 categories
    audio_feature.h5     "avadataset" (N, 10, 128)       VGGish, one row per second
    visual_feature.h5    "avadataset" (N, 10, 7, 7, 512)  VGG-19 pool5 maps per second
                         (a globally pooled (N, 10, 512) file is accepted too)
    labels.h5            optional, "avadataset" (N, 10, 29) one-hot per second (+ background)
    trainSet.txt, valSet.txt, testSet.txt   optional official split, same line format

Rows of the feature files follow the annotation order. With ``trainSet.txt`` and ``testSet.txt``
the dataset gets that fixed split; otherwise 5 class-balanced folds from ``make_folds``.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from paper_lib.data.dataset import PairedDataset
from paper_lib.data.folds import make_folds
from paper_lib.data.formats._checks import (
    check_finite,
    check_nonempty,
    check_shape,
    h5_dataset,
    missing_file,
    open_h5,
)
from paper_lib.errors import DataError, ParamError

H5_KEY = "avadataset"
SEGMENTS = 10                 # AVE clips are 10 s, one feature row per second
TEXT_SUBDIRS = ("", "AVE_Dataset", "data")
_CHUNK = 64                   # rows of the 5-d visual file pooled at a time (memory bound)


@dataclass(frozen=True)
class AveAnnotation:
    """One line of ``Annotations.txt``."""

    category: str
    video_id: str
    quality: str
    start: int
    end: int

    @property
    def key(self) -> tuple[str, str, str, int, int]:
        return (self.category, self.video_id, self.quality, self.start, self.end)


def find_text_file(root: Path, filename: str) -> Path | None:
    """``filename`` in ``root`` or one of the usual sub-folders, else None."""
    for sub in TEXT_SUBDIRS:
        p = root / sub / filename
        if p.is_file():
            return p
    return None


def read_annotations(path: Path) -> list[AveAnnotation]:
    """Parse ``Category&YouTubeID&Quality&start&end`` lines; the first line may be a header."""
    rows: list[AveAnnotation] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("&")]
        if len(parts) != 5:
            raise DataError(f"{path}, line {i}: expected 5 '&'-separated fields "
                            f"(Category&YouTubeID&Quality&start&end), got {len(parts)}")
        try:
            start, end = int(parts[3]), int(parts[4])
        except ValueError:
            if i == 1 and not rows:       # the header line "Category&VideoID&..."
                continue
            raise DataError(f"{path}, line {i}: start/end must be integers, got "
                            f"{parts[3]!r}/{parts[4]!r}") from None
        rows.append(AveAnnotation(parts[0], parts[1], parts[2], start, end))
    if not rows:
        raise DataError(f"{path}: no annotations found (empty file)")
    return rows


def clip_ids_of(ann: Sequence[AveAnnotation]) -> np.ndarray:
    """Unique ids ``<YouTubeID>_<start>_<end>``; repeats get ``#2``, ``#3``...

    # [choice] one YouTube video can carry several annotated events, so the video id alone is
    # not unique; the event interval is added, and exact repeats are numbered.
    """
    seen: dict[str, int] = defaultdict(int)
    out = []
    for a in ann:
        base = f"{a.video_id}_{a.start}_{a.end}"
        seen[base] += 1
        out.append(base if seen[base] == 1 else f"{base}#{seen[base]}")
    return np.array(out)


def annotation_pool(ann: Sequence[AveAnnotation]) -> dict[tuple, deque[int]]:
    """Annotation key -> rows not yet claimed by a split file (repeated lines are distinct)."""
    free: dict[tuple, deque[int]] = defaultdict(deque)
    for i, a in enumerate(ann):
        free[a.key].append(i)
    return free


def rows_of_split(split_path: Path, free: dict[tuple, deque[int]]) -> np.ndarray:
    """Row indices of the clips a split file lists, claimed from the shared pool ``free``."""
    rows = []
    for a in read_annotations(split_path):
        if not free[a.key]:
            raise DataError(f"{split_path}: clip {a.video_id} ({a.category}, {a.start}-{a.end} s)"
                            f" is not in Annotations.txt, or is listed twice / in another split "
                            f"file")
        rows.append(free[a.key].popleft())
    return np.array(rows, dtype=np.int64)


def pooled_visual(ds: h5py.Dataset, path: Path) -> np.ndarray:
    """(N, 10, 7, 7, 512) -> (N, 10, 512) by spatial average pooling, read in row chunks.

    # [choice] AVE's visual maps are average-pooled over the 7x7 grid (as the AVE authors' own
    # cross-modal matching code does); a file that is already (N, 10, 512) is used as is.
    """
    if ds.ndim == 3:
        return np.asarray(ds[()], dtype=np.float32)
    check_shape(ds.shape, (None, SEGMENTS, None, None, None), "visual 'avadataset'", path)
    out = np.empty((ds.shape[0], ds.shape[1], ds.shape[4]), dtype=np.float32)
    for lo in range(0, ds.shape[0], _CHUNK):
        out[lo:lo + _CHUNK] = ds[lo:lo + _CHUNK].mean(axis=(2, 3), dtype=np.float64)
    return out


def _read_features(path: Path, what: str, hint: str, visual: bool) -> np.ndarray:
    """(N, 10, d) float32 per-second features of one view, checked."""
    with open_h5(path, what, hint) as f:
        ds = h5_dataset(f, H5_KEY, path)
        if not np.issubdtype(ds.dtype, np.floating):
            raise DataError(f"{path}: {what} must be floating point, got dtype {ds.dtype}")
        X = pooled_visual(ds, path) if visual else np.asarray(ds[()], dtype=np.float32)
    check_shape(X.shape, (None, SEGMENTS, None), f"{what} 'avadataset'", path)
    check_nonempty(X, what, path)
    return X


def _labels_from_h5(path: Path, ann: Sequence[AveAnnotation], hint: str
                    ) -> tuple[np.ndarray, tuple[str, ...]]:
    """Class ids from ``labels.h5`` (per-second one-hot, last column = background).

    The clip's class is the event class with the most seconds; each category name must map to
    exactly one id, or the file and the annotations disagree.
    """
    with open_h5(path, "AVE labels", hint) as f:
        Y = np.asarray(h5_dataset(f, H5_KEY, path)[()], dtype=np.float64)
    n_cat = len({a.category for a in ann})
    check_shape(Y.shape, (len(ann), SEGMENTS, None), "labels 'avadataset'", path)
    events = Y[:, :, :n_cat] if Y.shape[2] == n_cat + 1 else Y     # drop background column
    mass = events.sum(axis=1)                                      # (N, K) seconds per class
    if (mass.max(axis=1) <= 0).any():
        r = int(np.flatnonzero(mass.max(axis=1) <= 0)[0])
        raise DataError(f"{path}: clip {ann[r].video_id} (row {r}) has no event label")
    labels = mass.argmax(axis=1).astype(np.int64)
    names: dict[int, str] = {}
    for a, k in zip(ann, labels.tolist(), strict=True):
        if names.setdefault(k, a.category) != a.category:
            raise DataError(f"{path}: class id {k} is used for both {names[k]!r} and "
                            f"{a.category!r} in Annotations.txt (labels and annotations disagree)")
    if len(set(names.values())) != len(names):
        raise DataError(f"{path}: one category has several class ids (labels and annotations "
                        f"disagree)")
    order = sorted(names)
    remap = np.full(max(order) + 1, -1, dtype=np.int64)
    remap[order] = np.arange(len(order))
    return remap[labels], tuple(names[k] for k in order)


def _labels_from_annotations(ann: Sequence[AveAnnotation]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Class ids by first appearance of the category in Annotations.txt.

    # [choice] without labels.h5 the id order is the order categories first appear in the
    # annotation file (the file is grouped by category).
    """
    names: dict[str, int] = {}
    for a in ann:
        names.setdefault(a.category, len(names))
    return (np.array([names[a.category] for a in ann], dtype=np.int64), tuple(names))


def _select_classes(labels: np.ndarray, names: tuple[str, ...], classes: Sequence[str],
                    where: Path) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Keep the clips of ``classes`` (in that order); return rows, new labels, new names."""
    unknown = [c for c in classes if c not in names]
    if unknown:
        raise DataError(f"{where}: unknown AVE categor{'y' if len(unknown) == 1 else 'ies'} "
                        f"{unknown}; known: {list(names)}")
    old = np.array([names.index(c) for c in classes])
    remap = np.full(len(names), -1, dtype=np.int64)
    remap[old] = np.arange(len(classes))
    rows = np.flatnonzero(remap[labels] >= 0)
    return rows, remap[labels[rows]], tuple(classes)


def read_ave(root: str | Path, *, name: str = "ave", sequences: bool = False,
             classes: Sequence[str] | None = None, val_as: str = "train", n_folds: int = 5,
             seed: int = 0, hint: str = "") -> PairedDataset:
    """Read AVE features and annotations into a :class:`PairedDataset`.

    Parameters
    ----------
    root : str or Path
        Folder with the files listed in the module docstring.
    name : str, default="ave"
        Dataset name to record.
    sequences : bool, default=False
        Also keep the (N, 10, d) per-second sequences.
    classes : sequence of str, optional
        Subset of category names (e.g. a 15-class subset), in id order.
    val_as : {"train", "drop"}, default="train"
        With the official split, what to do with ``valSet.txt`` clips: add them to training,
        or drop them.
    n_folds : int, default=5
        Folds from :func:`~paper_lib.data.folds.make_folds` when there is no official split.
    seed : int, default=0
        Seed of those folds.
    hint : str, default=""
        How to obtain the files (appended to a missing-file error).
    """
    if val_as not in ("train", "drop"):
        raise ParamError(f"val_as must be 'train' or 'drop', got {val_as!r}")
    root = Path(root)
    ann_path = find_text_file(root, "Annotations.txt")
    if ann_path is None:
        raise missing_file(root / "Annotations.txt", "AVE annotation file", hint)
    ann = read_annotations(ann_path)
    audio = _read_features(root / "audio_feature.h5", "AVE audio features", hint, visual=False)
    visual = _read_features(root / "visual_feature.h5", "AVE visual features", hint, visual=True)
    for what, X in (("audio_feature.h5", audio), ("visual_feature.h5", visual)):
        if X.shape[0] != len(ann):
            raise DataError(f"{root / what}: {X.shape[0]} clips but {ann_path.name} lists "
                            f"{len(ann)} (rows follow the annotation order)")
    ids = clip_ids_of(ann)
    check_finite(audio, "audio features", root / "audio_feature.h5", ids)
    check_finite(visual, "visual features", root / "visual_feature.h5", ids)
    labels_path = root / "labels.h5"
    labels, names = (_labels_from_h5(labels_path, ann, hint) if labels_path.is_file()
                     else _labels_from_annotations(ann))
    keep = np.arange(len(ann))
    if classes is not None:
        keep, labels, names = _select_classes(labels, names, classes, ann_path)
    split = _official_split(root, ann, val_as)
    rows = keep if split is None else keep[split[keep] >= 0]
    labels = labels[np.searchsorted(keep, rows)]
    split_kw: dict[str, Any] = (
        {"folds": make_folds(labels, n_folds=n_folds, seed=seed)} if split is None
        else {"is_test": split[rows] == 1})
    seq_kw: dict[str, Any] = {}
    if sequences:
        seq_kw = {"audio_seq": audio[rows], "visual_seq": visual[rows],
                  "seq_len": np.full(rows.size, SEGMENTS, dtype=np.int64)}
    # clip-level view: mean over the 10 one-second segments  # [choice] whole clip, not event
    return PairedDataset(
        name=name, audio=audio[rows].mean(axis=1, dtype=np.float64),
        visual=visual[rows].mean(axis=1, dtype=np.float64), labels=labels, class_names=names,
        clip_ids=ids[rows], source=str(root), **split_kw, **seq_kw)


def _official_split(root: Path, ann: Sequence[AveAnnotation], val_as: str) -> np.ndarray | None:
    """Per-row code 0 = train, 1 = test, -1 = dropped; None when the split files are absent."""
    train_p, test_p = find_text_file(root, "trainSet.txt"), find_text_file(root, "testSet.txt")
    if train_p is None or test_p is None:
        return None
    val_p = find_text_file(root, "valSet.txt")
    code = np.full(len(ann), -2, dtype=np.int64)       # -2 = not listed yet
    parts = [(train_p, 0), (test_p, 1)]
    if val_p is not None:
        parts.append((val_p, 0 if val_as == "train" else -1))
    free = annotation_pool(ann)
    for path, value in parts:
        code[rows_of_split(path, free)] = value
    if (code == -2).any():
        r = int(np.flatnonzero(code == -2)[0])
        raise DataError(f"{root}: clip {ann[r].video_id} (row {r}) is in no split file "
                        f"(trainSet/valSet/testSet.txt)")
    return code
