"""Small on-disk fixtures that reproduce the real datasets' layouts (keys, dtypes, shapes, names).

Used by test_data_formats.py, test_data_registry.py and test_manifest.py. Every builder returns
what it wrote, so tests can compare the loaders' output with an independent computation.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from paper_lib.data.dataset import PairedDataset

VEGAS_NAMES = ["baby_cry", "chainsaw", "dog", "drum", "fireworks", "helicopter", "printer",
               "rail_transport", "snoring", "water_flowing"]
#: fold files are created in this (non-sorted) order, with decreasing mtimes
FOLD_WRITE_ORDER = (3, 0, 4, 1, 2)


# -- VEGAS single HDF5 -----------------------------------------------------------------------
def write_vegas_h5(path: Path, n_classes: int = 10, n_train: int = 4, n_test: int = 2,
                   seed: int = 0, one_hot: bool = False, label_dtype: Any = np.int64,
                   audio_dim: int = 128, visual_dim: int = 1024) -> dict[str, np.ndarray]:
    """``vegas_feature.h5`` with ``n_train``/``n_test`` clips per class."""
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for part, per in (("train", n_train), ("test", n_test)):
        y = np.repeat(np.arange(n_classes), per)
        rng.shuffle(y)
        out[f"audio_{part}"] = rng.normal(size=(y.size, audio_dim)).astype(np.float32)
        out[f"visual_{part}"] = rng.normal(size=(y.size, visual_dim)).astype(np.float32)
        out[f"lab_{part}"] = (np.eye(n_classes)[y] if one_hot else y).astype(label_dtype)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        for key, arr in out.items():
            f.create_dataset(key, data=arr)
    return out


# -- per-clip arrays (VEGAS / MV-10K) ----------------------------------------------------------
def write_clip_arrays(root: Path, class_names: list[str] | None = None, n_per_class: int = 10,
                      n_folds: int = 5, class_dir: str = "VEGAS_classes", seed: int = 0,
                      seconds: tuple[int, int] = (3, 13), id_style: str = "vegas"
                      ) -> dict[str, Any]:
    """vgg/, inception/, <class_dir>/ with one .npy per clip, and folds/00.txt ... (balanced).

    Fold files are written in :data:`FOLD_WRITE_ORDER` (not sorted) and given mtimes in that
    order, so a loader reading directory or mtime order gets the folds wrong.
    Returns ``{"audio": {id: uint8}, "visual": {...}, "label": {id: int}, "fold": {id: int}}``.
    """
    names = class_names or VEGAS_NAMES[:3]
    rng = np.random.default_rng(seed)
    for d in ("vgg", "inception", class_dir, "folds"):
        (root / d).mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {"audio": {}, "visual": {}, "label": {}, "fold": {}}
    members: list[list[str]] = [[] for _ in range(n_folds)]
    for c, cname in enumerate(names):
        for j in range(n_per_class):
            cid = (f"{cname}_video_{j:05d}" if id_style == "vegas"
                   else f"clip{c * n_per_class + j:04d}")
            t = int(rng.integers(*seconds))
            a = rng.integers(0, 256, size=(t, 128), dtype=np.uint8)
            v = rng.integers(0, 256, size=(t, 1024), dtype=np.uint8)
            np.save(root / "vgg" / f"{cid}.npy", a)
            np.save(root / "inception" / f"{cid}.npy", v)
            np.save(root / class_dir / f"{cid}.npy", np.int64(c))
            k = j % n_folds
            members[k].append(cid)
            data["audio"][cid], data["visual"][cid] = a, v
            data["label"][cid], data["fold"][cid] = c, k
    write_fold_files(root / "folds", members)
    return data


def write_fold_files(folder: Path, members: list[list[str]]) -> None:
    """``00.txt`` ... in a non-sorted creation order with non-sorted mtimes."""
    order = [k for k in FOLD_WRITE_ORDER if k < len(members)] + \
        [k for k in range(len(members)) if k not in FOLD_WRITE_ORDER]
    for rank, k in enumerate(order):
        p = folder / f"{k:02d}.txt"
        p.write_text("\n".join(members[k]) + "\n", encoding="utf-8")
        os.utime(p, (1_000_000 - rank, 1_000_000 - rank))


# -- AVE ---------------------------------------------------------------------------------------
AVE_CATEGORIES = ["Church bell", "Male speech, man speaking", "Bark"]


def write_ave(root: Path, categories: list[str] | None = None, n_per_class: int = 6,
              seed: int = 0, header: bool = True, split: bool = True, with_val: bool = True,
              labels_h5: bool = False, pooled_visual: bool = False) -> dict[str, Any]:
    """Annotations.txt (+ split files) in AVE_Dataset/, audio/visual (+ labels) feature files.

    Clip j of each class goes to train, test, train, val for j % 4 = 0, 1, 2, 3.
    ``labels.h5`` (when asked) numbers the classes in REVERSED category order, to test that the
    loader follows it. Returns the raw arrays and the annotation lines.
    """
    cats = categories or AVE_CATEGORIES
    rng = np.random.default_rng(seed)
    n = len(cats) * n_per_class
    lines, parts = [], []
    for c, cat in enumerate(cats):
        for j in range(n_per_class):
            vid = f"v{c:02d}_{j:03d}-x"
            lines.append(f"{cat}&{vid}&good&{j % 4}&10")
            parts.append(("train", "test", "train", "val")[j % 4])
    order = rng.permutation(n)          # annotation order interleaves the classes
    lines = [lines[i] for i in order]
    parts = [parts[i] for i in order]
    text_dir = root / "AVE_Dataset"
    text_dir.mkdir(parents=True, exist_ok=True)
    head = ["Category&VideoID&Quality&StartTime&EndTime"] if header else []
    (text_dir / "Annotations.txt").write_text("\n".join(head + lines) + "\n", encoding="utf-8")
    if split:
        for part in ("train", "val", "test"):
            if part == "val" and not with_val:
                continue
            sel = [ln for ln, p in zip(lines, parts, strict=True) if p == part]
            (text_dir / f"{part}Set.txt").write_text("\n".join(head + sel) + "\n",
                                                     encoding="utf-8")
    audio = rng.normal(size=(n, 10, 128)).astype(np.float32)
    visual = (rng.normal(size=(n, 10, 512)) if pooled_visual
              else rng.normal(size=(n, 10, 7, 7, 512))).astype(np.float32)
    with h5py.File(root / "audio_feature.h5", "w") as f:
        f.create_dataset("avadataset", data=audio)
    with h5py.File(root / "visual_feature.h5", "w") as f:
        f.create_dataset("avadataset", data=visual)
    cat_of = [ln.split("&")[0] for ln in lines]
    if labels_h5:
        rev = {cat: len(cats) - 1 - i for i, cat in enumerate(cats)}
        Y = np.zeros((n, 10, len(cats) + 1), np.float32)
        for i, cat in enumerate(cat_of):
            Y[i, :6, rev[cat]] = 1.0
            Y[i, 6:, -1] = 1.0                       # background seconds
        with h5py.File(root / "labels.h5", "w") as f:
            f.create_dataset("avadataset", data=Y)
    return {"audio": audio, "visual": visual, "lines": lines, "parts": parts,
            "categories": cat_of}


# -- generic -----------------------------------------------------------------------------------
def tiny_dataset(seed: int = 0, fixed_split: bool = False, sequences: bool = False,
                 n_per_class: int = 5, n_classes: int = 3) -> PairedDataset:
    """A small valid PairedDataset (float64 clip views, optional float32 sequences)."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), n_per_class)
    n = y.size
    kw: dict[str, Any] = {}
    if fixed_split:
        kw["is_test"] = np.arange(n) % 3 == 0
    else:
        kw["folds"] = np.tile(np.arange(5), n // 5 + 1)[:n].astype(np.int64)
    if sequences:
        kw["audio_seq"] = rng.normal(size=(n, 4, 6)).astype(np.float32)
        kw["visual_seq"] = rng.normal(size=(n, 4, 7)).astype(np.float32)
        kw["seq_len"] = rng.integers(1, 5, size=n)
    return PairedDataset(name="tiny", audio=rng.normal(size=(n, 6)),
                         visual=rng.normal(size=(n, 7)), labels=y.astype(np.int64),
                         class_names=tuple(f"c{k}" for k in range(n_classes)),
                         clip_ids=np.array([f"id_{i}" for i in range(n)]), **kw)


def write_h5(path: Path, **arrays: Any) -> Path:
    """Write raw datasets (strings as utf-8) to an HDF5 file, for hand-made bad inputs."""
    with h5py.File(path, "w") as f:
        for key, arr in arrays.items():
            a = np.asarray(arr)
            if a.dtype.kind == "U":
                f.create_dataset(key, data=a.astype(object), dtype=h5py.string_dtype("utf-8"))
            else:
                f.create_dataset(key, data=a)
    return path


def truncate(path: Path, keep: float = 0.5) -> Path:
    """Cut a file to a fraction of its size (a partial download)."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path
