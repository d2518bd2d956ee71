"""Deterministic class-balanced folds (the paper's 5-fold protocol)."""

from __future__ import annotations

import numpy as np

from paper_lib.data.dataset import DataError


def check_n_folds(n_folds: int, name: str = "n_folds") -> None:
    """A number of folds the protocol can use (at least 2: one to test, the rest to train);
    :class:`DataError` naming the argument ``name`` otherwise."""
    if isinstance(n_folds, bool) or not isinstance(n_folds, int | np.integer) or n_folds < 2:
        raise DataError(f"{name} must be an integer of at least 2, got {n_folds!r}")


def make_folds(labels: np.ndarray, n_folds: int = 5, seed: int = 0) -> np.ndarray:
    """Assign each clip a fold id so that every class is spread evenly over the folds.

    Within each class the clips are shuffled with ``seed`` and dealt round-robin, starting where
    the previous class stopped, so per-fold class counts differ by at most one from the ideal
    ``n_c / n_folds`` and fold sizes differ by at most one overall.
    Raises :class:`DataError` if a class has fewer members than folds.
    """
    labels = np.asarray(labels)
    check_n_folds(n_folds)
    counts = np.bincount(labels)
    small = [c for c in np.flatnonzero(counts) if counts[c] < n_folds]
    if small:
        raise DataError(f"labels: class {small[0]} has {counts[small[0]]} clip(s), fewer than "
                        f"the {n_folds} folds; every fold needs a member of every class")
    rng = np.random.default_rng(seed)
    folds = np.empty(labels.shape[0], dtype=np.int64)
    start = 0
    for c in np.flatnonzero(counts):
        rows = rng.permutation(np.flatnonzero(labels == c))
        folds[rows] = (start + np.arange(rows.size)) % n_folds
        start = (start + rows.size) % n_folds
    return folds
