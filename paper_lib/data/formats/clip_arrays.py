"""The authors' per-clip release (VEGAS and MV-10K).

Layout under ``<root>`` (seed 000; the authors' ``utils.py`` reads exactly these folders)::

    vgg/<clip>.npy            (seconds, 128)  uint8  VGGish audio, one row per second
    inception/<clip>.npy      (seconds, 1024) uint8  Inception V3 visual (PCA 1024, quantised)
    VEGAS_classes/<clip>.npy  ()              int    class id (a one-hot vector is accepted)
    folds/00.txt ... 04.txt   one clip id per line: the 5 class-balanced folds

MV-10K uses the same layout; its class folder name is configurable (``class_dir``).

Reading rules (each one a pitfall of public implementations):

- fold files are read in **sorted** file-name order (never directory order); the fold id of a
  clip is the index of the file that lists it; a clip in two folds or in none is an error;
- every array is keyed by clip id; the ids must agree across vgg/inception/classes/folds;
- features are de-quantised, (x − 128)/256, and averaged over seconds for the clip-level view;
  optional sequences are cut/zero-padded to ``max_seconds`` (10 s) with ``seq_len``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paper_lib.data.dataset import PairedDataset
from paper_lib.data.formats._checks import (
    check_int_labels,
    check_min_class_size,
    check_same_ids,
    check_unique_ids,
    class_names_from_ids,
    dequantize_uint8,
    missing_file,
    one_hot_to_ids,
    require_path,
)
from paper_lib.errors import DataError, ParamError

AUDIO_DIR = "vgg"
VISUAL_DIR = "inception"
FOLD_DIR = "folds"
DEFAULT_CLASS_DIR = "VEGAS_classes"


@dataclass(frozen=True)
class ClipViews:
    """Per-clip arrays of one folder, keyed by clip id (sorted)."""

    clip_ids: list[str]
    mean: np.ndarray            # (N, d) float64 de-quantised mean over seconds
    seq: np.ndarray | None      # (N, T, d) float32 zero-padded, or None
    seq_len: np.ndarray         # (N,) valid seconds (capped at T)


def find_clip_root(root: str | Path) -> Path | None:
    """``root`` if it holds ``vgg/``, else its single sub-folder that does (an unzipped archive)."""
    root = Path(root)
    if (root / AUDIO_DIR).is_dir():
        return root
    if not root.is_dir():
        return None
    inner = [p for p in sorted(root.iterdir()) if (p / AUDIO_DIR).is_dir()]
    return inner[0] if len(inner) == 1 else None


def read_fold_files(fold_dir: Path, hint: str = "") -> dict[str, int]:
    """Map clip id -> fold id from ``fold_dir/*.txt`` read in sorted file-name order."""
    require_path(fold_dir, "folds folder", hint, directory=True)
    # Sorted, stated order: 00.txt is fold 0, 01.txt fold 1, ... (os.listdir order is arbitrary)
    files = sorted(fold_dir.glob("*.txt"))
    if len(files) < 2:
        raise DataError(f"{fold_dir}: expected fold files 00.txt, 01.txt, ... (at least two), "
                        f"found {len(files)}; {hint}")
    fold_of: dict[str, int] = {}
    for k, fpath in enumerate(files):
        ids = [ln.strip() for ln in fpath.read_text(encoding="utf-8").splitlines() if ln.strip()]
        if not ids:
            raise DataError(f"{fpath}: fold file is empty")
        check_unique_ids(ids, "this fold file", fpath)
        for cid in ids:
            if cid in fold_of:
                raise DataError(f"{fpath}: clip {cid!r} is also listed in "
                                f"{files[fold_of[cid]].name} (a clip must be in exactly one fold)")
            fold_of[cid] = k
    return fold_of


def list_npy(folder: Path, what: str, hint: str = "") -> dict[str, Path]:
    """Clip id -> file for every ``*.npy`` in ``folder``; an empty folder is an error."""
    require_path(folder, f"{what} folder", hint, directory=True)
    files = {p.stem: p for p in sorted(folder.glob("*.npy"))}
    if not files:
        raise DataError(f"{folder}: {what} folder holds no .npy files (empty view); {hint}")
    return files


def load_feature_folder(files: dict[str, Path], clip_ids: Sequence[str], dim: int | None,
                        what: str, *, max_seconds: int = 10, sequences: bool = False
                        ) -> ClipViews:
    """Load (seconds, dim) uint8 arrays of the given clips; average and optionally keep sequences.

    Clip-level feature: x̄ = (1/T) Σ_t (x_t − 128)/256 (the authors' ``uint8_to_float32`` of the
    per-second rows, then the mean over seconds; both are linear, so the order does not matter).
    """
    first = np.load(files[clip_ids[0]], mmap_mode="r")
    width = dim if dim is not None else (first.shape[1] if first.ndim == 2 else -1)
    mean = np.empty((len(clip_ids), max(width, 0)), dtype=np.float64)     # (N, d)
    seq = np.zeros((len(clip_ids), max_seconds, max(width, 0)), np.float32) if sequences else None
    seq_len = np.empty(len(clip_ids), dtype=np.int64)
    for i, cid in enumerate(clip_ids):
        x = _load_one(files[cid], width, what)                  # (seconds, d) float32
        mean[i] = x.mean(axis=0, dtype=np.float64)
        t = min(x.shape[0], max_seconds)
        seq_len[i] = t
        if seq is not None:
            seq[i, :t] = x[:t]                                   # cut to max_seconds, 0-padded
    return ClipViews(list(clip_ids), mean, seq, seq_len)


def _load_one(path: Path, width: int, what: str) -> np.ndarray:
    """One clip's de-quantised (seconds, width) array with every check on the way."""
    try:
        x = np.load(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read {what} array (truncated or corrupt .npy?): "
                        f"{exc}") from exc
    if x.ndim != 2 or x.shape[1] != width:
        raise DataError(f"{path}: {what} array has shape {x.shape}, expected (seconds, {width})")
    if x.shape[0] == 0:
        raise DataError(f"{path}: {what} array is empty (0 seconds)")
    if x.dtype != np.uint8:
        raise DataError(f"{path}: {what} array has dtype {x.dtype}, expected uint8 "
                        f"(quantised YouTube-8M style features)")
    return dequantize_uint8(x)


def load_class_ids(files: dict[str, Path], clip_ids: Sequence[str], folder: Path) -> np.ndarray:
    """Class id of each clip from scalar (or one-hot) ``.npy`` files."""
    out = np.empty(len(clip_ids), dtype=np.int64)
    for i, cid in enumerate(clip_ids):
        try:
            y = np.load(files[cid])
        except (OSError, ValueError) as exc:
            raise DataError(f"{files[cid]}: cannot read class id: {exc}") from exc
        if y.ndim == 1 and y.size > 1:
            # [choice] the authors' loader allows "a single value or a vector" (one-hot)
            out[i] = one_hot_to_ids(y[None, :], "class vector", files[cid])[0]
        else:
            out[i] = check_int_labels(y.reshape(1), "class id", files[cid],
                                      allow_integral_float=True)[0]
    if out.min() < 0:
        raise DataError(f"{folder}: class ids out of range: found {out.min()} (must be >= 0)")
    return out


def read_clip_arrays(root: str | Path, *, name: str = "vegas",
                     class_dir: str = DEFAULT_CLASS_DIR, audio_dim: int | None = 128,
                     visual_dim: int | None = 1024, n_classes: int | None = None,
                     class_names: Sequence[str] | None = None, sequences: bool = False,
                     max_seconds: int = 10, on_unlisted: str = "error",
                     hint: str = "") -> PairedDataset:
    """Read the per-clip layout under ``root`` into a :class:`PairedDataset` with folds.

    Parameters
    ----------
    root : str or Path
        The folder holding ``vgg/``, ``inception/``, ``<class_dir>/``, ``folds/`` (or a folder
        whose single sub-folder does).
    name : str, default="vegas"
        Dataset name to record.
    class_dir : str, default=DEFAULT_CLASS_DIR
        Name of the class-id folder (``VEGAS_classes`` for VEGAS).
    audio_dim : int or None, default=128
        Expected audio feature width (``None``: any).
    visual_dim : int or None, default=1024
        Expected visual feature width (``None``: any).
    n_classes : int or None, default=None
        Number of classes; labels must lie in ``0..n_classes-1`` (default: max id + 1).
    class_names : sequence of str, optional
        Names for the ids; default: clip-id prefixes when consistent, else ``class_<k>``.
    sequences : bool, default=False
        Also keep (N, max_seconds, d) per-second sequences (for the LSTM baseline).
    max_seconds : int, default=10
        Clips are cut or zero-padded to this many seconds.
    on_unlisted : {"error", "ignore"}, default="error"
        ``"error"``: a clip with features but in no fold file is an error; ``"ignore"``: such
        clips are dropped with a warning (the release may hold clips the paper did not use).
    hint : str, default=""
        How to obtain the files (appended to a missing-file error).
    """
    if on_unlisted not in ("error", "ignore"):
        raise ParamError(f"on_unlisted must be 'error' or 'ignore', got {on_unlisted!r}")
    given = Path(root)
    base = find_clip_root(given)
    if base is None:
        raise missing_file(given / AUDIO_DIR, "per-clip audio feature folder", hint)
    fold_of = read_fold_files(base / FOLD_DIR, hint)
    a_files = list_npy(base / AUDIO_DIR, "audio (vgg)", hint)
    v_files = list_npy(base / VISUAL_DIR, "visual (inception)", hint)
    c_files = list_npy(base / class_dir, f"class ({class_dir})", hint)
    clip_ids = _matched_ids(base, fold_of, a_files, v_files, c_files, class_dir, on_unlisted)
    audio = load_feature_folder(a_files, clip_ids, audio_dim, "audio (vgg)",
                                max_seconds=max_seconds, sequences=sequences)
    visual = load_feature_folder(v_files, clip_ids, visual_dim, "visual (inception)",
                                 max_seconds=max_seconds, sequences=sequences)
    labels = load_class_ids(c_files, clip_ids, base / class_dir)
    k = int(labels.max()) + 1 if n_classes is None else int(n_classes)
    if labels.max() >= k:
        raise DataError(f"{base / class_dir}: class ids out of range: found {labels.max()}, "
                        f"expected 0..{k - 1} ({k} classes)")
    names = (tuple(class_names) if class_names is not None
             else class_names_from_ids(clip_ids, labels, k))
    if len(names) != k:
        raise DataError(f"{base / class_dir}: {len(names)} class names given for {k} classes")
    folds = np.array([fold_of[c] for c in clip_ids], dtype=np.int64)
    check_min_class_size(labels, int(folds.max()) + 1, names, base / class_dir)
    seq_kw = {}
    if sequences:
        # valid length = seconds present in both views (the pair is aligned second by second)
        seq_kw = {"audio_seq": audio.seq, "visual_seq": visual.seq,
                  "seq_len": np.minimum(audio.seq_len, visual.seq_len)}
    return PairedDataset(name=name, audio=audio.mean, visual=visual.mean, labels=labels,
                         class_names=names, clip_ids=np.array(clip_ids), folds=folds,
                         source=str(base), **seq_kw)


def _matched_ids(base: Path, fold_of: dict[str, int], a_files: dict[str, Path],
                 v_files: dict[str, Path], c_files: dict[str, Path], class_dir: str,
                 on_unlisted: str) -> list[str]:
    """Clip ids (sorted) after checking they agree across the four sources."""
    listed = set(fold_of)
    ids_a = set(a_files)
    if on_unlisted == "ignore":
        extra = ids_a - listed
        if extra:
            warnings.warn(f"{base}: {len(extra)} clip(s) have features but are in no fold "
                          f"file; ignored (e.g. {sorted(extra)[:3]})", stacklevel=3)
        ids_a &= listed
        v_keep = {c for c in v_files if c in listed}
        c_keep = {c for c in c_files if c in listed}
    else:
        unlisted = ids_a - listed
        if unlisted:
            raise DataError(f"{base}: {len(unlisted)} clip(s) in {AUDIO_DIR}/ are in no fold "
                            f"file ({FOLD_DIR}/*.txt), e.g. {sorted(unlisted)[:5]}; every clip "
                            f"must be in exactly one fold (on_unlisted='ignore' drops them)")
        v_keep, c_keep = set(v_files), set(c_files)
    check_same_ids(sorted(listed), sorted(ids_a), f"{FOLD_DIR}/*.txt", f"{AUDIO_DIR}/", base)
    check_same_ids(sorted(ids_a), sorted(v_keep), f"{AUDIO_DIR}/", f"{VISUAL_DIR}/", base)
    check_same_ids(sorted(ids_a), sorted(c_keep), f"{AUDIO_DIR}/", f"{class_dir}/", base)
    return sorted(ids_a)
