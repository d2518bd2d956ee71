"""Regularised closed-form CCA (Hotelling 1936), the baseline "CCA" of the paper's tables.

Notation (audio view a, visual view v, N paired training rows, centred by the training means):

    Σ_aa = (1/N) X̃_aᵀ X̃_a + reg·I,   Σ_vv = (1/N) X̃_vᵀ X̃_v + reg·I,   Σ_av = (1/N) X̃_aᵀ X̃_v
    T = Σ_aa^{-1/2} Σ_av Σ_vv^{-1/2} = U S Vᵀ                (SVD)
    W_a = Σ_aa^{-1/2} U[:, :d],   W_v = Σ_vv^{-1/2} V[:, :d],  canonical correlations ρ = S[:d]

The solver :func:`cca_from_covariances` only sees the three covariance matrices, so Cluster-CCA
(``cluster_cca.py``) and kernel CCA (``kcca.py``) reuse it with their own Σ's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from paper_lib.methods._linalg import center, flip_signs, inv_sqrt_spd
from paper_lib.methods._validation import check_nonnegative, check_positive_int, check_views
from paper_lib.methods.base import CrossModalEstimator, View, by_view

#: (Σ_aa, Σ_vv, Σ_av, mean_a, mean_v): what every covariance builder returns
Covariances = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


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


def cca_from_covariances(C_aa: np.ndarray, C_vv: np.ndarray, C_av: np.ndarray,
                         d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CCA from covariance matrices: returns ``(W_a (d_a, d), W_v (d_v, d), ρ (d,))``.

    T = Σ_aa^{-1/2} Σ_av Σ_vv^{-1/2} = U S Vᵀ;  W_a = Σ_aa^{-1/2} U,  W_v = Σ_vv^{-1/2} V,
    ρ = S (descending). The directions satisfy W_aᵀ Σ_aa W_a = I, W_vᵀ Σ_vv W_v = I and
    W_aᵀ Σ_av W_v = diag(ρ). Signs are made deterministic with :func:`flip_signs`.
    """
    d_a, d_v = C_aa.shape[0], C_vv.shape[0]
    if C_aa.shape != (d_a, d_a) or C_vv.shape != (d_v, d_v) or C_av.shape != (d_a, d_v):
        raise ValueError(f"cca_from_covariances: inconsistent shapes C_aa {C_aa.shape}, "
                         f"C_vv {C_vv.shape}, C_av {C_av.shape}.")
    if not 1 <= d <= min(d_a, d_v):
        raise ValueError(f"cca_from_covariances: d={d} must be in 1..{min(d_a, d_v)}.")
    R_a = inv_sqrt_spd(C_aa)                                   # Σ_aa^{-1/2}  (d_a, d_a)
    R_v = inv_sqrt_spd(C_vv)                                   # Σ_vv^{-1/2}  (d_v, d_v)
    T = R_a @ C_av @ R_v                                       # (d_a, d_v)
    U, S, Vt = np.linalg.svd(T, full_matrices=False)           # S descending
    W_a = R_a @ U[:, :d]                                       # (d_a, d)
    W_v = R_v @ Vt[:d].T                                       # (d_v, d)
    W_a, W_v = flip_signs(W_a, W_v)
    return W_a, W_v, S[:d].copy()


# -- estimators ----------------------------------------------------------------------------------
class CovarianceCCABase(CrossModalEstimator):
    """Shared fit/transform of the linear CCA family; subclasses only build the covariances.

    Fitted attributes: ``mean_audio_`` (d_a,), ``mean_visual_`` (d_v,), ``weights_audio_``
    (d_a, d), ``weights_visual_`` (d_v, d), ``correlations_`` (d,) descending, ``n_features_audio_``,
    ``n_features_visual_``.
    """

    _fitted_attribute = "weights_audio_"
    seed_dependent = False  # closed form: random_state is unused

    n_components: int
    reg: float

    def _check_hyperparameters(self) -> None:
        """``n_components`` a positive integer; ``reg`` a finite number >= 0."""
        check_positive_int(self.n_components, "n_components")
        check_nonnegative(self.reg, "reg")

    def _covariances(self, Xa: np.ndarray, Xv: np.ndarray,
                     y: np.ndarray | None) -> Covariances:
        raise NotImplementedError

    def _fit(self, X_audio: np.ndarray, X_visual: np.ndarray, y: np.ndarray | None,
             **kwargs: Any) -> None:
        """Learn the canonical directions from the paired training rows (and labels ``y``)."""
        Xa, Xv, labels = check_views(X_audio, X_visual, y, n_components=self.n_components,
                                     need_labels=self.supervised)
        C_aa, C_vv, C_av, mean_a, mean_v = self._covariances(Xa, Xv, labels)
        W_a, W_v, rho = cca_from_covariances(C_aa, C_vv, C_av, int(self.n_components))
        self.mean_audio_, self.mean_visual_ = mean_a, mean_v
        self.weights_audio_, self.weights_visual_ = W_a, W_v
        self.correlations_ = rho
        self.n_features_audio_, self.n_features_visual_ = Xa.shape[1], Xv.shape[1]

    def _transform_view(self, X: np.ndarray, view: View, **kwargs: Any) -> np.ndarray:
        """Z = (X − training mean of the view) · W_view, from this view only."""
        mean, W = by_view(view, (self.mean_audio_, self.weights_audio_),
                          (self.mean_visual_, self.weights_visual_))
        return center(X, mean)[0] @ W                                     # (n, d)


class CCA(CovarianceCCABase):
    """Regularised closed-form CCA.

    Parameters
    ----------
    n_components : number d of canonical directions kept (the paper uses d = 10).
    reg : absolute ridge added to both view covariances, Σ + reg·I (the authors use 1e-4).
    random_state : unused (the solution is closed-form); kept so every method has the same API.
    """

    def __init__(self, n_components: int = 10, reg: float = 1e-4,
                 random_state: int | None = None) -> None:
        self.n_components = n_components
        self.reg = reg
        self.random_state = random_state

    def _covariances(self, Xa: np.ndarray, Xv: np.ndarray,
                     y: np.ndarray | None) -> Covariances:
        return paired_covariances(Xa, Xv, float(self.reg))
