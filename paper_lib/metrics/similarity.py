"""Query-by-gallery score matrices: the first step of every retrieval table and curve.

The paper ranks the gallery by **cosine similarity** between the query embedding and every
gallery embedding. ``similarity`` returns a score matrix where *higher means more similar*, so the
ranking code in :mod:`paper_lib.metrics.retrieval` never needs to know which metric produced it.

Hashing methods (UGACH, AGAH) are ranked as hashing: ``"hamming"`` scores binary codes in
{-1, +1} by their *negative Hamming distance*, an integer, so many gallery items tie; the
tie-aware metrics of :mod:`paper_lib.metrics.retrieval` then give every order of a tie group its
expected value (no ranking depends on the gallery's row order).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from paper_lib.errors import UserError

#: the type of a metric name (one of :data:`METRICS`)
Metric = Literal["cosine", "euclidean", "hamming"]
#: the scores :func:`similarity` knows: the paper's cosine, the negative Euclidean distance, the
#: negative Hamming distance of binary codes
METRICS: tuple[str, ...] = ("cosine", "euclidean", "hamming")


def _check_embeddings(X: object, name: str) -> np.ndarray:
    """Return ``X`` as a finite, non-empty 2-d float64 array or raise ``UserError`` naming it."""
    A = np.asarray(X)
    if A.dtype == object or np.issubdtype(A.dtype, np.complexfloating):
        raise UserError(f"{name} must hold real numbers, got dtype {A.dtype}.")
    A = A.astype(np.float64, copy=False)
    if A.ndim != 2:
        raise UserError(f"{name} must be a 2-d array (n_items, n_features), got shape {A.shape}.")
    if A.shape[0] == 0 or A.shape[1] == 0:
        raise UserError(f"{name} is empty (shape {A.shape}).")
    if not np.isfinite(A).all():
        bad = int((~np.isfinite(A)).any(axis=1).sum())
        raise UserError(f"{name} contains NaN or inf values in {bad} row(s).")
    return A


def _unit_rows(X: np.ndarray) -> np.ndarray:
    """Divide every row by its L2 norm; all-zero rows stay zero (so their cosine is 0, not NaN)."""
    norms = np.linalg.norm(X, axis=1, keepdims=True)  # (n, 1)
    # [choice] a zero vector has no direction: its cosine with anything is defined as 0.
    return X / np.where(norms > 0.0, norms, 1.0)


def cosine_similarity(Q: np.ndarray, G: np.ndarray) -> np.ndarray:
    """cos(q, g) = qᵀg / (‖q‖‖g‖) for every query row q and gallery row g; 0 for a zero vector."""
    return _unit_rows(Q) @ _unit_rows(G).T  # (n_q, n_g)


def negative_euclidean(Q: np.ndarray, G: np.ndarray) -> np.ndarray:
    """-‖q - g‖₂ for every pair, via ‖q‖² + ‖g‖² - 2qᵀg (one matrix product, no (n_q, n_g, d) array).

    Rounding can make the expanded squared distance slightly negative: it is clipped at 0.
    """
    sq_q = np.einsum("ij,ij->i", Q, Q)[:, None]  # (n_q, 1)  ‖q‖²
    sq_g = np.einsum("ij,ij->i", G, G)[None, :]  # (1, n_g)  ‖g‖²
    sq_dist = sq_q + sq_g - 2.0 * (Q @ G.T)      # (n_q, n_g)
    return -np.sqrt(np.maximum(sq_dist, 0.0))


def check_codes(X: np.ndarray, name: str) -> np.ndarray:
    """``X`` (already a finite float array) must hold binary codes in {-1, +1}; returned as is."""
    if not np.isin(X, (-1.0, 1.0)).all():
        bad = int((~np.isin(X, (-1.0, 1.0))).any(axis=1).sum())
        raise UserError(f"{name} must hold binary codes in {{-1, +1}} for the Hamming metric; "
                         f"{bad} row(s) hold other values.")
    return X


def negative_hamming(Q: np.ndarray, G: np.ndarray) -> np.ndarray:
    """-d_H(q, g) for every pair of ±1 codes of K bits.

    For codes in {-1, +1}^K, qᵀg = (K - d_H) - d_H, so d_H(q, g) = (K - qᵀg) / 2: one matrix
    product (exact in float64 for any practical K) instead of a loop over bits.
    """
    K = Q.shape[1]
    return -(K - Q @ G.T) / 2.0  # (n_q, n_g), integers stored as float64


def similarity(Q: np.ndarray, G: np.ndarray, metric: Metric = "cosine") -> np.ndarray:
    """Score every query against every gallery item; higher = more similar.

    Parameters
    ----------
    Q : ndarray of shape (n_q, d)
        Query embeddings (e.g. the audio embeddings of a test fold for A→V).
    G : ndarray of shape (n_g, d)
        Gallery embeddings (e.g. the visual embeddings of the same fold).
    metric : {"cosine", "euclidean", "hamming"}, default="cosine"
        ``"cosine"`` (the paper's score), ``"euclidean"`` (returns the *negative* Euclidean
        distance, so that the ranking is still "descending score") or ``"hamming"`` (the
        negative Hamming distance of binary codes in {-1, +1}).

    Returns
    -------
    ndarray of shape (n_q, n_g)
        The float64 score matrix ``S``, ``S[i, j]`` the score of gallery item ``j`` for query
        ``i``. Cosine scores of an all-zero row are 0 (never NaN).

    Raises
    ------
    UserError
        (a ``ValueError``) for an unknown ``metric``, a non-2-d / empty / non-finite ``Q`` or ``G``, ``Q`` and
        ``G`` of different widths, or (``"hamming"``) values other than -1 and +1.

    Examples
    --------
    >>> import numpy as np
    >>> Q = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> G = np.array([[1.0, 1.0], [0.0, 2.0], [-1.0, 0.0]])
    >>> similarity(Q, G).round(4).tolist()
    [[0.7071, 0.0, -1.0], [0.7071, 1.0, 0.0]]
    >>> similarity(np.array([[1.0, -1.0]]), np.array([[1.0, 1.0], [-1.0, 1.0]]), "hamming")
    array([[-1., -2.]])
    """
    if metric not in METRICS:
        raise UserError(f"metric must be one of {METRICS}, got {metric!r}.")
    Qa = _check_embeddings(Q, "Q")
    Ga = _check_embeddings(G, "G")
    if Qa.shape[1] != Ga.shape[1]:
        raise UserError(
            f"Q and G must have the same number of columns (one embedding space), "
            f"got Q with {Qa.shape[1]} and G with {Ga.shape[1]}.")
    if metric == "cosine":
        return cosine_similarity(Qa, Ga)
    if metric == "hamming":
        return negative_hamming(check_codes(Qa, "Q"), check_codes(Ga, "G"))
    return negative_euclidean(Qa, Ga)
