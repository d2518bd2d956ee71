"""Input checks shared by every method: a clear error before any training starts."""

from __future__ import annotations

import numpy as np


def check_views(X_audio: np.ndarray, X_visual: np.ndarray, y: np.ndarray | None = None, *,
                n_components: int | None = None, need_labels: bool = False,
                ndim: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Validate two paired views (and optional labels); return them as float64 / int64 arrays.

    Raises ``ValueError`` naming the argument and the problem for: wrong number of dimensions,
    mismatched row counts, an empty view, NaN/inf values, a label vector of the wrong length,
    a single class (when labels are needed), fewer samples than ``n_components``, and
    ``n_components`` larger than the narrower view.
    """
    Xa = np.asarray(X_audio, dtype=np.float64)
    Xv = np.asarray(X_visual, dtype=np.float64)
    for name, X in (("X_audio", Xa), ("X_visual", Xv)):
        if X.ndim != ndim:
            raise ValueError(f"{name} must be a {ndim}-d array, got shape {X.shape}.")
        if X.shape[0] == 0 or X.shape[-1] == 0:
            raise ValueError(f"{name} is empty (shape {X.shape}).")
        if not np.isfinite(X).all():
            bad = int((~np.isfinite(X)).any(axis=tuple(range(1, X.ndim))).sum())
            raise ValueError(f"{name} contains NaN or inf values in {bad} row(s).")
    if Xa.shape[0] != Xv.shape[0]:
        raise ValueError(
            f"X_audio and X_visual must have the same number of rows (paired clips), "
            f"got {Xa.shape[0]} and {Xv.shape[0]}.")
    labels = None
    if y is not None:
        labels = np.asarray(y)
        if labels.ndim != 1 or labels.shape[0] != Xa.shape[0]:
            raise ValueError(
                f"y must be a 1-d label vector of length {Xa.shape[0]} (one per clip), "
                f"got shape {labels.shape}.")
        if not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"y must hold integer class ids, got dtype {labels.dtype}.")
        labels = labels.astype(np.int64)
    if need_labels:
        if labels is None:
            raise ValueError("this method is supervised: pass the class labels y to fit().")
        if np.unique(labels).size < 2:
            raise ValueError("y holds a single class: at least two classes are needed.")
    if n_components is not None:
        if int(n_components) < 1:
            raise ValueError(f"n_components must be >= 1, got {n_components}.")
        narrow = min(Xa.shape[-1], Xv.shape[-1])
        if n_components > narrow:
            raise ValueError(
                f"n_components={n_components} is larger than the narrower view "
                f"(X_audio has {Xa.shape[-1]} columns, X_visual {Xv.shape[-1]}).")
        if n_components > Xa.shape[0]:
            raise ValueError(
                f"n_components={n_components} exceeds the number of samples ({Xa.shape[0]}).")
    return Xa, Xv, labels
