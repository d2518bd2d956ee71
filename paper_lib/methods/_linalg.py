"""Small numeric helpers shared by the closed-form CCA family (CCA, Cluster-CCA, KCCA).

Each function does one job:
- :func:`center`          subtract a (given or computed) column mean;
- :func:`centred_product` (X − m) W without a centred copy of X;
- :func:`inv_sqrt_spd`    Σ^{-1/2} of a symmetric positive (semi-)definite matrix via ``eigh``;
- :func:`whitening`       a factor F with Σ = F Fᵀ (Cholesky, or Σ^{1/2} when Σ is near singular);
- :func:`flip_signs`      deterministic signs for pairs of canonical directions (svd_flip style);
- :func:`class_sums`      per-class row sums Σ_{x∈X_c} x without pair matrices;
- :func:`centred_scatter` Σ_i w_i x̃_i x̃_iᵀ and the class sums of x̃_i = x_i − m, without a
                          centred copy of the data;
- :func:`numerical_rank`  how many singular values (or canonical correlations) are non-zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.linalg import blas, lapack, solve_triangular

#: eigenvalues of an SPD matrix below ``EIG_RTOL * λ_max`` are clipped up to that floor
# [choice] 1e-12 relative floor: only bites when reg = 0 and a covariance is singular; it keeps
# Σ^{-1/2} finite (a pseudo-inverse-like behaviour) instead of returning inf/NaN.
EIG_RTOL: float = 1e-12
#: :func:`whitening` uses the Cholesky factor when LAPACK's estimate of the reciprocal condition
#: number 1/κ₁(Σ) is at least this, and the clipped ``eigh`` of :func:`inv_sqrt_spd` otherwise.
# [choice] 1e-8: for a symmetric Σ, κ₂ ≤ κ₁, and the estimate (``dpocon``) is rarely below the
# true 1/κ₁ by more than a small factor, so a Cholesky-whitened Σ has κ₂ ≲ 1e9, far from the
# 1/EIG_RTOL = 1e12 where the clip would change anything: both factorisations then give the same
# canonical correlations and directions. Only near-singular covariances (reg = 0 with rank-
# deficient data) take the eigenvalue clip.
CHOLESKY_MIN_RCOND: float = 1e-8
#: :func:`centred_scatter` centres through the Gram, X̃ᵀX̃ = XᵀX − N m mᵀ, when no column's mean
#: square exceeds this multiple of its variance, and centres the rows exactly otherwise
# [choice] 100: the subtraction then loses at most ~2 digits (relative error ~1e-14 of the
# covariance, far below what the canonical correlations resolve); de-quantised features,
# (x − 128)/256, are near zero-mean and take the fast path, raw uint8-scale ones do not.
GRAM_CENTRING_MAX_RATIO: float = 100.0
#: rows per block where rows are centred block by block (:func:`centred_product`, the exact path
#: of :func:`centred_scatter`)
# [choice] 2048 rows: a block of [X_a | X_v] (1,152 columns) is ~19 MB, and BLAS ``dsyrk`` runs
# at nearly full speed on it (measured at VEGAS size: ~10% slower than one unblocked product).
BLOCK_ROWS: int = 2048


def center(X: np.ndarray, mean: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(X - mean, mean)``; ``mean`` defaults to the column mean of ``X``.

    Pass the *training* mean when centring new data, so a test row is embedded from the
    training statistics only.
    """
    if mean is None:
        mean = X.mean(axis=0)
    return X - mean, mean


def centred_product(X: np.ndarray, mean: np.ndarray, W: np.ndarray,
                    block_rows: int = BLOCK_ROWS) -> np.ndarray:
    """(X − mean) W, (n, k): a projection of centred rows, centred block by block, so no centred
    copy of X is made (at VEGAS size that copy is 184 MB, and allocating it costs more than the
    product with a thin W)."""
    out = np.empty((X.shape[0], W.shape[1]))
    for start in range(0, X.shape[0], block_rows):
        stop = start + block_rows
        out[start:stop] = (X[start:stop] - mean) @ W
    return out


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


@dataclass(frozen=True)
class Whitening:
    """A factor F of a symmetric positive definite Σ = F Fᵀ, applied through ``inv`` (F⁻¹B) and
    ``inv_t`` (F⁻ᵀB): W = F⁻ᵀU then satisfies WᵀΣW = UᵀU, so an orthonormal U gives Σ-white
    directions. ``triangular``: F = L, the lower Cholesky factor (triangular solves); otherwise
    ``factor`` holds Σ^{-1/2} from :func:`inv_sqrt_spd` (F = Σ^{1/2}, F⁻¹ = F⁻ᵀ = Σ^{-1/2})."""

    factor: np.ndarray
    triangular: bool

    def inv(self, B: np.ndarray) -> np.ndarray:
        """F⁻¹ B."""
        if self.triangular:
            return solve_triangular(self.factor, B, lower=True, check_finite=False)
        return self.factor @ B

    def inv_t(self, B: np.ndarray) -> np.ndarray:
        """F⁻ᵀ B."""
        if self.triangular:
            return solve_triangular(self.factor, B, lower=True, trans="T", check_finite=False)
        return self.factor @ B


def whitening(C: np.ndarray, min_rcond: float = CHOLESKY_MIN_RCOND) -> Whitening:
    """A :class:`Whitening` of the symmetric positive (semi-)definite matrix ``C``.

    Σ = L Lᵀ (Cholesky, d³/3 flops) when Σ is positive definite and LAPACK's condition estimate
    (``dpocon``) is at least ``min_rcond``; otherwise F = Σ^{1/2} with the clipped spectrum of
    :func:`inv_sqrt_spd` (an ``eigh``, ~7x the cost at d = 1,024), the pseudo-inverse-like
    behaviour for singular covariances. Any two factors differ by an orthogonal Q (F₂ = F₁Q), so
    the singular values of F_a⁻¹ Σ_av F_v⁻ᵀ and the directions F⁻ᵀU they give are the same.
    """
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise ValueError(f"whitening needs a square matrix, got shape {C.shape}.")
    S = symmetrize(C)
    L, info = lapack.dpotrf(S, lower=1, clean=1)
    if info == 0:
        anorm = float(np.abs(S).sum(axis=0).max())                   # ‖Σ‖₁
        rcond, info = lapack.dpocon(L, anorm, uplo="L")
        if info == 0 and rcond >= min_rcond:
            return Whitening(L, triangular=True)
    return Whitening(inv_sqrt_spd(S), triangular=False)


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
    One product E X with the (n_classes, N) class indicator E (E[c, i] = 1 if row i is in class
    c): O(N·d·C) flops, no sorted copy of X; a class without rows sums to zero.
    """
    indicator = np.arange(n_classes)[:, None] == np.asarray(class_index)[None, :]   # (C, N)
    return indicator.astype(np.float64) @ X


def centred_scatter(views: Sequence[np.ndarray], means: Sequence[np.ndarray],
                    class_index: np.ndarray, n_classes: int,
                    row_weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Centred statistics of the side-by-side views X = [X_1 | X_2 | ...] (N, D):

        G = Σ_i w_i x̃_i x̃_iᵀ   (D, D),      S_c = Σ_{i∈c} x̃_i   (n_classes, D),

    with x̃_i = x_i − m (m = ``means`` side by side, e.g. the column means), w_i = ``row_weights``
    (default 1) and the classes of ``class_index`` (ids 0..n_classes-1). The blocks of G between
    two views are their cross products, e.g. Σ_i x̃_a,i x̃_v,iᵀ. No centred copy of X is made.

    Unweighted, G comes from the Grams of the data as given, centred afterwards
    (:func:`_scatter_from_grams`), unless the features' offset is so large against their spread
    that this would lose digits; then, and for weighted rows, the rows are centred exactly, block
    by block (:func:`_scatter_by_blocks`).
    """
    if row_weights is None:
        moments = _scatter_from_grams(views, means, class_index, n_classes)
        if moments is not None:
            return moments
    return _scatter_by_blocks(views, means, class_index, n_classes, row_weights)


def _scatter_from_grams(views: Sequence[np.ndarray], means: Sequence[np.ndarray],
                        class_index: np.ndarray, n_classes: int
                        ) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`centred_scatter` (unweighted) through X̃_jᵀX̃_k = X_jᵀX_k − N m_j m_kᵀ and
    S̃_c = S_c − n_c m, with the Grams of the views as given (BLAS ``syrk`` for X_jᵀX_j): no pass
    over the data besides the products and the class sums.

    Round-off: the subtraction cancels digits in proportion to r = (mean square)/(variance) of a
    column, ~ε·r relative to the covariance. Returns ``None`` (compute it exactly instead) when
    some column has r > :data:`GRAM_CENTRING_MAX_RATIO`, e.g. uint8-scale features or a
    constant non-zero column; r is read off the diagonal of the Grams just computed.
    """
    n = views[0].shape[0]
    counts = np.bincount(class_index, minlength=n_classes).astype(np.float64)    # n_c
    grams: dict[tuple[int, int], np.ndarray] = {}
    for j, (X_j, m_j) in enumerate(zip(views, means, strict=True)):
        gram = X_j.T @ X_j                                          # syrk: X_jᵀX_j
        mean_square = np.diag(gram) / n                             # (1/N) Σ_i x_ij²
        variance = mean_square - m_j ** 2
        if not np.all(mean_square <= GRAM_CENTRING_MAX_RATIO * variance):
            return None
        gram -= n * np.outer(m_j, m_j)                              # − N m_j m_jᵀ (symmetric)
        grams[j, j] = gram
        for k in range(j):
            cross = views[k].T @ X_j                                # X_kᵀX_j
            cross -= n * np.outer(means[k], m_j)
            grams[k, j] = cross
    G = np.block([[grams[j, k] if j <= k else grams[k, j].T for k in range(len(views))]
                  for j in range(len(views))])
    S = np.hstack([class_sums(X_j, class_index, n_classes) - np.outer(counts, m_j)
                   for X_j, m_j in zip(views, means, strict=True)])
    return G, S


def _scatter_by_blocks(views: Sequence[np.ndarray], means: Sequence[np.ndarray],
                       class_index: np.ndarray, n_classes: int,
                       row_weights: np.ndarray | None,
                       block_rows: int = BLOCK_ROWS) -> tuple[np.ndarray, np.ndarray]:
    """:func:`centred_scatter` with exact centring: the rows are centred block by block into one
    reused buffer (memory O(block_rows·D + D²)); each block gives its class sums
    (:func:`class_sums`), is scaled by √w_i, and enters G through BLAS ``dsyrk``, the symmetric
    rank-k update G ← BᵀB + G."""
    edges = np.cumsum([0, *(X.shape[1] for X in views)])
    n, D = views[0].shape[0], int(edges[-1])
    sqrt_w = None if row_weights is None else np.sqrt(row_weights)
    G = np.zeros((D, D), order="F")                 # dsyrk updates its upper triangle in place
    S = np.zeros((n_classes, D))
    buffer = np.empty((min(block_rows, n), D))
    for start in range(0, n, block_rows):
        stop = min(start + block_rows, n)
        B = buffer[:stop - start]                                   # (rows, D), C-ordered
        for X, m, lo, hi in zip(views, means, edges[:-1], edges[1:], strict=True):
            np.subtract(X[start:stop], m, out=B[:, lo:hi])          # x̃_i = x_i − m
        S += class_sums(B, class_index[start:stop], n_classes)
        if sqrt_w is not None:
            B *= sqrt_w[start:stop, None]                           # √w_i x̃_i
        # Bᵀ is F-ordered (D, rows): dsyrk adds BᵀB to G without copying B
        G = blas.dsyrk(1.0, B.T, beta=1.0, c=G, overwrite_c=1)
    upper = np.triu(G)
    return upper + np.triu(upper, 1).T, S


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
