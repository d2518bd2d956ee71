"""The authors' single-file VEGAS release: ``vegas_feature.h5``.

Layout (as distributed with the paper's code, see seed 000 and ``data_manifest/vegas.yaml``)::

    audio_train  (N_train, 128)   clip-level VGGish audio features
    audio_test   (N_test, 128)
    visual_train (N_train, 1024)  clip-level Inception V3 visual features
    visual_test  (N_test, 1024)
    lab_train    (N_train,)       integer class ids (one-hot (N_train, K) is accepted too)
    lab_test     (N_test,)

The file carries one fixed train/test split, so the dataset gets ``is_test`` rather than folds.
It carries no clip ids; they are synthesised as ``train_000000`` ... / ``test_000000`` ...
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np

from paper_lib.data.dataset import DataError, PairedDataset
from paper_lib.data.formats._checks import (
    check_float_features,
    check_int_labels,
    check_label_range,
    check_shape,
    dequantize_uint8,
    h5_dataset,
    one_hot_to_ids,
    open_h5,
)

#: the file name used by the authors
VEGAS_H5_NAME = "vegas_feature.h5"
PARTS = ("train", "test")


def read_vegas_h5(path: str | Path, *, class_names: Sequence[str] | None = None,
                  audio_dim: int | None = 128, visual_dim: int | None = 1024,
                  name: str = "vegas", hint: str = "") -> PairedDataset:
    """Read ``vegas_feature.h5`` into a :class:`PairedDataset` with a fixed train/test split.

    Parameters
    ----------
    path : str or Path
        The HDF5 file.
    class_names : sequence of str, optional
        Names for the class ids, used only when their number equals the number of classes
        found (else ``class_<k>``).
    audio_dim : int or None, default=128
        Expected audio feature width (``None``: any).
    visual_dim : int or None, default=1024
        Expected visual feature width (``None``: any).
    name : str, default="vegas"
        Dataset name to record.
    hint : str, default=""
        How to obtain the file (appended to a missing-file error).
    """
    path = Path(path)
    views: dict[str, list[np.ndarray]] = {"audio": [], "visual": [], "lab": []}
    with open_h5(path, "VEGAS feature file", hint) as f:
        for part in PARTS:
            a = _read_view(f, f"audio_{part}", audio_dim, path)
            v = _read_view(f, f"visual_{part}", visual_dim, path)
            y = _read_labels(f, f"lab_{part}", path)
            for key, arr in ((f"visual_{part}", v), (f"lab_{part}", y)):
                if arr.shape[0] != a.shape[0]:
                    raise DataError(f"{path}: {key} has {arr.shape[0]} rows but "
                                    f"audio_{part} has {a.shape[0]} (views do not align)")
            views["audio"].append(a)
            views["visual"].append(v)
            views["lab"].append(y)
    labels = _zero_based(np.concatenate(views["lab"]), path)
    n_classes = int(labels.max()) + 1
    check_label_range(labels, n_classes, "lab_train/lab_test", path)
    names = (tuple(class_names) if class_names is not None and len(class_names) == n_classes
             else tuple(f"class_{k}" for k in range(n_classes)))
    n_train = views["lab"][0].shape[0]
    n_test = views["lab"][1].shape[0]
    # [choice] the file has no clip ids: synthesise "train_000000" ... and "test_000000" ...
    clip_ids = np.array([f"train_{i:06d}" for i in range(n_train)]
                        + [f"test_{i:06d}" for i in range(n_test)])
    is_test = np.r_[np.zeros(n_train, bool), np.ones(n_test, bool)]
    return PairedDataset(name=name, audio=np.concatenate(views["audio"]),
                         visual=np.concatenate(views["visual"]), labels=labels,
                         class_names=names, clip_ids=clip_ids, is_test=is_test,
                         source=str(path))


def _read_view(f: h5py.File, key: str, dim: int | None, path: Path) -> np.ndarray:
    """One (N, d) feature matrix; uint8 features are de-quantised, floats checked finite."""
    arr = h5_dataset(f, key, path)[()]
    check_shape(arr.shape, (None, dim), key, path)
    if arr.dtype == np.uint8:
        # [choice] quantised features (as in the per-clip release) are de-quantised here too
        arr = dequantize_uint8(arr)
    return check_float_features(arr, key, path)


def _read_labels(f: h5py.File, key: str, path: Path) -> np.ndarray:
    """Class ids from a vector (N,) or one-hot rows (N, K)."""
    y = h5_dataset(f, key, path)[()]
    if y.ndim == 2:
        # [choice] Keras-era label files are often one-hot; accept them and take the argmax
        return one_hot_to_ids(y, key, path)
    return check_int_labels(y, key, path, allow_integral_float=True)


def _zero_based(labels: np.ndarray, path: Path) -> np.ndarray:
    """Shift 1-based labels (exactly 1..K, no 0) to 0..K-1 with a warning.

    # [choice] the release does not say whether ids start at 0; a label set that is exactly
    # {1..K} is taken as 1-based, since otherwise class 0 would be an empty class.
    """
    uniq = np.unique(labels)
    if uniq[0] == 1 and np.array_equal(uniq, np.arange(1, uniq[-1] + 1)):
        warnings.warn(f"{path}: labels run 1..{uniq[-1]}; treating them as 1-based",
                      stacklevel=3)
        return labels - 1
    return labels
