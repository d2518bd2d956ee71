"""Regularised closed-form CCA (Hotelling 1936), the baseline "CCA" of the paper's tables.

Notation (audio view a, visual view v, N paired training rows, centred by the training means):

    Σ_aa = (1/N) X̃_aᵀ X̃_a + reg·I,   Σ_vv = (1/N) X̃_vᵀ X̃_v + reg·I,   Σ_av = (1/N) X̃_aᵀ X̃_v
    T = Σ_aa^{-1/2} Σ_av Σ_vv^{-1/2} = U S Vᵀ                (SVD)
    W_a = Σ_aa^{-1/2} U[:, :d],   W_v = Σ_vv^{-1/2} V[:, :d],  canonical correlations ρ = S[:d]

The solver :func:`cca_from_covariances` only sees the three covariance matrices, so Cluster-CCA
(``cluster_cca.py``) and kernel CCA (``kcca.py``) reuse it with their own Σ's.

Directions with a numerically zero canonical correlation (ρ_i ≤ ``ZERO_CORRELATION_RTOL``·ρ_1)
are dropped by default: such a direction carries no cross-modal information, its pair (w_a, w_v)
is an arbitrary basis vector of a null space, and since every direction is whitened to unit
variance it would weigh as much as a real one in a cosine score. This matters for Rasiwasia's
Cluster-CCA, whose centred within-class cross-covariance has rank ≤ C − 1: with C = 10 classes
and d = 10 only 9 directions are kept. Every estimator reports the kept number as
``n_components_`` (≤ ``n_components``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from paper_lib.methods._linalg import (
    center,
    centred_product,
    flip_signs,
    numerical_rank,
    whitening,
)
from paper_lib.methods._validation import (
    check_bool,
    check_nonnegative,
    check_positive_int,
    check_views,
)
from paper_lib.methods.base import CrossModalEstimator, View, by_view

#: (Σ_aa, Σ_vv, Σ_av, mean_a, mean_v): what every covariance builder returns
Covariances = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]

#: a canonical correlation ρ_i ≤ ZERO_CORRELATION_RTOL · ρ_1 counts as zero and its direction is
#: dropped (the one tolerance of the package for "this direction carries no correlation").
#: [choice] 1e-6 relative to the largest correlation: the correlations that are zero in exact
#: arithmetic (Rasiwasia's beyond C − 1) come out of the SVD at round-off level, ~1e-15·ρ_1, and a
#: genuine correlation a million times weaker than the first is useless for retrieval anyway; the
#: same value as the d-ablation chapter's non-zero count, so the two agree.
ZERO_CORRELATION_RTOL: float = 1e-6


# -- covariances and the shared solver ------------------------------------------------------------
def paired_covariances(Xa: np.ndarray, Xv: np.ndarray, reg: float) -> Covariances:
    """Covariances of one-to-one paired rows, ridge on the diagonal blocks.

    Σ_aa = (1/N) X̃_aᵀ X̃_a + reg·I,  Σ_vv = (1/N) X̃_vᵀ X̃_v + reg·I,  Σ_av = (1/N) X̃_aᵀ X̃_v.
    """
    # [choice] 1/N (population) normalisation, so that Cluster-CCA with one clip per class (M = N)
    # is exactly this CCA; the authors' code uses 1/(N-1): a relative difference < 1e-4 at N ≈ 22k.
    # [choice] reg is an ABSOLUTE ridge in the feature units (the authors add 1e-4·I to both
    # covariances); with VEGAS features dequantised as (x-128)/256 the per-dimension variances
    # are O(1e-3..1e-2), so the default 1e-4 is a mild ridge. Rescale reg if you rescale features.
    n = Xa.shape[0]
    Xa_c, mean_a = center(Xa)
    Xv_c, mean_v = center(Xv)
    C_aa = Xa_c.T @ Xa_c / n + reg * np.eye(Xa.shape[1])
    C_vv = Xv_c.T @ Xv_c / n + reg * np.eye(Xv.shape[1])
    C_av = Xa_c.T @ Xv_c / n
    return C_aa, C_vv, C_av, mean_a, mean_v


def cca_from_covariances(C_aa: np.ndarray, C_vv: np.ndarray, C_av: np.ndarray, d: int,
                         zero_rtol: float | None = ZERO_CORRELATION_RTOL
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CCA from covariance matrices: returns ``(W_a (d_a, k), W_v (d_v, k), ρ (k,))``, k ≤ d.

    T = Σ_aa^{-1/2} Σ_av Σ_vv^{-1/2} = U S Vᵀ;  W_a = Σ_aa^{-1/2} U,  W_v = Σ_vv^{-1/2} V,
    ρ = S (descending). The directions satisfy W_aᵀ Σ_aa W_a = I, W_vᵀ Σ_vv W_v = I and
    W_aᵀ Σ_av W_v = diag(ρ). Signs are made deterministic with ``_linalg.flip_signs``.

    Any factor Σ = F Fᵀ may stand for Σ^{1/2}: T = F_a⁻¹ Σ_av F_v⁻ᵀ has the same singular values
    and W = F⁻ᵀU the same directions (unique up to sign for distinct ρ, which ``flip_signs``
    fixes). [choice] F is the Cholesky factor (``_linalg.whitening``: triangular solves instead
    of an ``eigh`` of Σ_vv, ~7x cheaper at d_v = 1,024), and Σ^{1/2} from the clipped ``eigh``
    only for a near-singular Σ.

    Of the first ``d`` directions, those whose correlation is numerically zero
    (ρ_i ≤ ``zero_rtol``·ρ_1, :func:`~paper_lib.methods._linalg.numerical_rank`) are dropped, so
    k = min(d, number of non-zero correlations); ``zero_rtol=None`` keeps all d.
    [choice] at least one direction is always kept (k ≥ 1, even when Σ_av = 0), so an embedding
    never has zero columns.
    """
    d_a, d_v = C_aa.shape[0], C_vv.shape[0]
    if C_aa.shape != (d_a, d_a) or C_vv.shape != (d_v, d_v) or C_av.shape != (d_a, d_v):
        raise ValueError(f"cca_from_covariances: inconsistent shapes C_aa {C_aa.shape}, "
                         f"C_vv {C_vv.shape}, C_av {C_av.shape}.")
    if not 1 <= d <= min(d_a, d_v):
        raise ValueError(f"cca_from_covariances: d={d} must be in 1..{min(d_a, d_v)}.")
    F_a, F_v = whitening(C_aa), whitening(C_vv)                # Σ_aa = F_a F_aᵀ, Σ_vv = F_v F_vᵀ
    T = F_v.inv(F_a.inv(C_av).T).T                             # F_a⁻¹ Σ_av F_v⁻ᵀ  (d_a, d_v)
    U, S, Vt = np.linalg.svd(T, full_matrices=False)           # S descending
    k = d if zero_rtol is None else min(d, max(1, numerical_rank(S, zero_rtol)))
    W_a = F_a.inv_t(U[:, :k])                                  # F_a⁻ᵀ U  (d_a, k)
    W_v = F_v.inv_t(Vt[:k].T)                                  # F_v⁻ᵀ V  (d_v, k)
    W_a, W_v = flip_signs(W_a, W_v)
    return W_a, W_v, S[:k].copy()


def zero_rtol_for(drop_zero_correlations: bool) -> float | None:
    """The ``zero_rtol`` of :func:`cca_from_covariances` for an estimator's
    ``drop_zero_correlations`` hyper-parameter."""
    return ZERO_CORRELATION_RTOL if drop_zero_correlations else None


# -- estimators ----------------------------------------------------------------------------------
class CovarianceCCABase(CrossModalEstimator):
    """Shared fit/transform of the linear CCA family; subclasses only build the covariances.

    Fitted attributes: ``mean_audio_`` (d_a,), ``mean_visual_`` (d_v,), ``weights_audio_``
    (d_a, k), ``weights_visual_`` (d_v, k), ``correlations_`` (k,) descending, ``n_components_``
    = k (the directions kept: ``n_components`` minus those with a numerically zero correlation,
    see :data:`ZERO_CORRELATION_RTOL`), ``n_features_audio_``, ``n_features_visual_``.
    """

    _fitted_attribute = "weights_audio_"
    seed_dependent = False  # closed form: random_state is unused

    n_components: int
    reg: float
    drop_zero_correlations: bool

    def _check_hyperparameters(self) -> None:
        """``n_components`` a positive integer; ``reg`` a finite number >= 0; a bool flag."""
        check_positive_int(self.n_components, "n_components")
        check_nonnegative(self.reg, "reg")
        check_bool(self.drop_zero_correlations, "drop_zero_correlations")

    def _covariances(self, Xa: np.ndarray, Xv: np.ndarray,
                     y: np.ndarray | None) -> Covariances:
        raise NotImplementedError

    def _fit(self, X_audio: np.ndarray, X_visual: np.ndarray, y: np.ndarray | None,
             **kwargs: Any) -> None:
        """Learn the canonical directions from the paired training rows (and labels ``y``)."""
        Xa, Xv, labels = check_views(X_audio, X_visual, y, n_components=self.n_components,
                                     need_labels=self.supervised)
        C_aa, C_vv, C_av, mean_a, mean_v = self._covariances(Xa, Xv, labels)
        W_a, W_v, rho = cca_from_covariances(C_aa, C_vv, C_av, int(self.n_components),
                                             zero_rtol_for(self.drop_zero_correlations))
        self.mean_audio_, self.mean_visual_ = mean_a, mean_v
        self.weights_audio_, self.weights_visual_ = W_a, W_v
        self.correlations_ = rho
        self.n_components_ = int(rho.size)
        self.n_features_audio_, self.n_features_visual_ = Xa.shape[1], Xv.shape[1]

    def _transform_view(self, X: np.ndarray, view: View, **kwargs: Any) -> np.ndarray:
        """Z = (X − training mean of the view) · W_view, from this view only."""
        mean, W = by_view(view, (self.mean_audio_, self.weights_audio_),
                          (self.mean_visual_, self.weights_visual_))
        return centred_product(X, mean, W)                                # (n, k)


class CCA(CovarianceCCABase):
    """Regularised closed-form CCA (Hotelling 1936), the "CCA" baseline of the paper's tables.

    Finds the d pairs of directions (w_a, w_v) along which the paired audio and visual rows are
    most correlated, with a ridge on both view covariances, in closed form (one SVD; see the
    module docstring). Unsupervised: ``fit`` ignores ``y``.

    Parameters
    ----------
    n_components : int, default=10
        Number d of canonical directions asked for (the paper uses d = 10); after ``fit``,
        ``n_components_`` ≤ d is the number kept.
    reg : float, default=1e-4
        Absolute ridge added to both view covariances, Σ + reg·I (the authors use 1e-4).
    random_state : int or None, default=None
        Unused (the solution is closed-form); kept so every method has the same API.
    drop_zero_correlations : bool, default=True
        Drop the directions whose canonical correlation is numerically zero
        (≤ :data:`ZERO_CORRELATION_RTOL`·ρ_1). False keeps all d, e.g. to show a full
        canonical spectrum zeros included.

    Attributes
    ----------
    mean_audio_ : ndarray of shape (d_a,)
        Training mean of the audio view; ``transform`` centres new rows with it.
    mean_visual_ : ndarray of shape (d_v,)
        Training mean of the visual view.
    weights_audio_ : ndarray of shape (d_a, k)
        The audio canonical directions W_a, k = ``n_components_``.
    weights_visual_ : ndarray of shape (d_v, k)
        The visual canonical directions W_v.
    correlations_ : ndarray of shape (k,)
        The canonical correlations on the training rows, descending.
    n_components_ : int
        k ≤ ``n_components``: the directions kept (those with a numerically zero correlation
        are dropped unless ``drop_zero_correlations=False``).
    n_features_audio_ : int
        Width d_a of the audio view seen by ``fit``.
    n_features_visual_ : int
        Width d_v of the visual view seen by ``fit``.

    References
    ----------
    H. Hotelling. Relations between two sets of variates. Biometrika 28(3/4), 321-377,
    1936.

    D. R. Hardoon, S. Szedmak, J. Shawe-Taylor. Canonical correlation analysis: an overview
    with application to learning methods. Neural Computation 16(12), 2639-2664, 2004.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(3), 20)                      # 3 classes x 20 paired clips
    >>> X_audio = 3 * rng.normal(size=(3, 6))[y] + rng.normal(size=(60, 6))    # (N, d_a)
    >>> X_visual = 3 * rng.normal(size=(3, 8))[y] + rng.normal(size=(60, 8))   # (N, d_v)
    >>> from paper_lib.methods.cca import CCA
    >>> cca = CCA(n_components=2).fit(X_audio, X_visual)
    >>> Z_audio, Z_visual = cca.transform(X_audio, X_visual)   # each view embedded alone
    >>> Z_audio.shape, Z_visual.shape
    ((60, 2), (60, 2))
    >>> bool(cca.correlations_[0] > 0.9)                      # the shared class structure
    True
    """

    def __init__(self, n_components: int = 10, reg: float = 1e-4,
                 random_state: int | None = None, drop_zero_correlations: bool = True) -> None:
        self.n_components = n_components
        self.reg = reg
        self.random_state = random_state
        self.drop_zero_correlations = drop_zero_correlations

    def _covariances(self, Xa: np.ndarray, Xv: np.ndarray,
                     y: np.ndarray | None) -> Covariances:
        return paired_covariances(Xa, Xv, float(self.reg))
