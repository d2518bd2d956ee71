"""Small numeric helpers shared by the closed-form CCA family (CCA, Cluster-CCA, KCCA).

Each function does one job:
- :func:`center`          subtract a (given or computed) column mean;
- :func:`inv_sqrt_spd`    Σ^{-1/2} of a symmetric positive (semi-)definite matrix via ``eigh``;
- :func:`flip_signs`      deterministic signs for pairs of canonical directions (svd_flip style);
- :func:`class_sums`      per-class row sums Σ_{x∈X_c} x without one-hot or pair matrices;
- :func:`numerical_rank`  how many singular values (or canonical correlations) are non-zero.
"""

from __future__ import annotations

import numpy as np

#: eigenvalues of an SPD matrix below ``EIG_RTOL * λ_max`` are clipped up to that floor
# [choice] 1e-12 relative floor: only bites when reg = 0 and a covariance is singular; it keeps
# Σ^{-1/2} finite (a pseudo-inverse-like behaviour) instead of returning inf/NaN.
EIG_RTOL: float = 1e-12


def center(X: np.ndarray, mean: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(X - mean, mean)``; ``mean`` defaults to the column mean of ``X``.

    Pass the *training* mean when centring new data, so a test row is embedded from the
    training statistics only.
    """
    if mean is None:
        mean = X.mean(axis=0)
    return X - mean, mean


def symmetrize(C: np.ndarray) -> np.ndarray:
    """(C + Cᵀ)/2: removes the round-off asymmetry of a matrix that is symmetric in theory."""
    return 0.5 * (C + C.T)


def inv_sqrt_spd(C: np.ndarray, rtol: float = EIG_RTOL) -> np.ndarray:
    """Σ^{-1/2} of a symmetric positive (semi-)definite matrix.

    Σ = Q Λ Qᵀ (``eigh``), Σ^{-1/2} = Q Λ^{-1/2} Qᵀ with Λ clipped from below at
    ``rtol · λ_max`` (numerically negative or zero eigenvalues would give NaN/inf).
    """
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise ValueError(f"inv_sqrt_spd needs a square matrix, got shape {C.shape}.")
    eigval, eigvec = np.linalg.eigh(symmetrize(C))
    top = float(eigval[-1]) if eigval.size else 0.0
    if not np.isfinite(top) or top <= 0.0:
        raise ValueError("inv_sqrt_spd: the matrix has no positive eigenvalue (all-zero data "
                         "with reg = 0?).")
    eigval = np.clip(eigval, rtol * top, None)
    return (eigvec * eigval ** -0.5) @ eigvec.T


def flip_signs(W_a: np.ndarray, W_v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic signs for paired canonical directions (columns of ``W_a`` and ``W_v``).

    A CCA direction pair (w_a, w_v) is defined up to a common sign. Following scikit-learn's
    ``svd_flip``, each column is multiplied by ±1 so that the entry of largest magnitude in the
    audio column is positive; the visual column gets the same sign, which keeps the canonical
    correlation w_aᵀ Σ_av w_v positive.
    """
    rows = np.argmax(np.abs(W_a), axis=0)                       # (d,)
    signs = np.sign(W_a[rows, np.arange(W_a.shape[1])])         # (d,)
    signs[signs == 0] = 1.0
    return W_a * signs, W_v * signs


def class_sums(X: np.ndarray, class_index: np.ndarray, n_classes: int) -> np.ndarray:
    """Row sums per class: S[c] = Σ_{i: class_index[i] = c} X[i]; shape (n_classes, d).

    ``class_index`` holds ids in ``0..n_classes-1`` (e.g. from ``np.unique(..., return_inverse=True)``).
    O(N·d) time and memory: rows are sorted by class, then summed with ``np.add.reduceat``.
    """
    order = np.argsort(class_index, kind="stable")
    sorted_idx = class_index[order]
    starts = np.flatnonzero(np.r_[True, sorted_idx[1:] != sorted_idx[:-1]])
    sums = np.zeros((n_classes, X.shape[1]), dtype=np.float64)
    sums[sorted_idx[starts]] = np.add.reduceat(X[order], starts, axis=0)
    return sums


def numerical_rank(values: np.ndarray, rtol: float) -> int:
    """Number of entries of ``values`` above ``rtol · max(values)``: a numerical rank.

    ``values`` is a non-negative 1-d array, e.g. the singular values σ_i of a matrix (then this is
    its rank, as ``np.linalg.matrix_rank`` with a relative tolerance) or canonical correlations ρ_i
    (then it counts the directions that carry any correlation). The count is
    #{i : v_i > rtol · max_j v_j}; it is 0 for an empty array and for an all-zero one (nothing is
    above a zero maximum). Raises ``ValueError`` for a non-1-d array, a negative or non-finite
    entry, or a negative ``rtol``.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"numerical_rank needs a 1-d array, got shape {v.shape}.")
    if not np.isfinite(v).all() or (v < 0).any():
        raise ValueError("numerical_rank needs finite non-negative values (singular values or "
                         "canonical correlations).")
    if not np.isfinite(rtol) or rtol < 0:
        raise ValueError(f"numerical_rank: rtol must be a finite number >= 0, got {rtol!r}.")
    top = float(v.max()) if v.size else 0.0
    if top <= 0.0:
        return 0
    return int(np.count_nonzero(v > rtol * top))
