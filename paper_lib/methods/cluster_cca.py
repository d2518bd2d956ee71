"""Cluster-CCA (Rasiwasia, Mahajan, Mahadevan, Aggarwal, AISTATS 2014) and the authors' β variant.

Cluster-CCA replaces the one-to-one pairs of CCA by *all within-class pairs*: every x ∈ X_c is a
correspondence of every y ∈ Y_c. With M = Σ_c n_x,c n_y,c pairs (here n_x,c = n_y,c = n_c, the
clips are paired), CCA on the expanded pair list has (Rasiwasia 2014, Sec. 3)

    pair-weighted means   x̄^cl = (1/M) Σ_c n_y,c Σ_{x∈X_c} x            (each x occurs n_y,c times)
    Σ_xy^cl = (1/M) Σ_c (Σ_{x∈X_c} x̃)(Σ_{y∈Y_c} ỹ)ᵀ                    (class sums, x̃ = x − x̄^cl)
    Σ_xx = (1/M) Σ_c n_y,c Σ_{x∈X_c} x̃ x̃ᵀ + rI,   Σ_yy likewise (r = ``reg``, the ridge).

Without centring, Σ_xy^cl = (1/M) Σ_c n_x,c n_y,c x̄_c ȳ_cᵀ (class means x̄_c, ȳ_c), the form in
the paper. (Notation: the book's notation page.)
Everything comes from class sums and a weighted scatter: O(N·d²) time, O(d²) memory; the
Σ n_c² explicit pairs are never built (for VEGAS, ~5·10⁷ pairs). Both come from
``_linalg.centred_scatter``, which makes no centred copy of the views.

Variant "beta" (the authors' code, ``linear_cca.py`` of github.com/ZenzenDatabase/CMR): ordinary
per-view covariances (+ reg·I) and Σ_xy = β·(paired cross-covariance) + (1 − β)·(within-class
all-pairs cross-covariance), β = 0.2, all centred by the ordinary per-view means.

Rank: the centred class sums are linearly dependent (Σ_c n_c S̃_c = 0 for the pair-weighted
means), so Rasiwasia's Σ_xy^cl has rank ≤ C − 1 and at most C − 1 canonical correlations are
non-zero; the solver drops the others (``cca.ZERO_CORRELATION_RTOL``), so a fit asking for
k ≥ C directions keeps C − 1 and reports it as ``n_components_``. The "beta" variant's paired
term (β > 0) lifts that limit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from paper_lib.methods._linalg import centred_scatter
from paper_lib.methods._validation import check_choice, check_number
from paper_lib.methods.cca import CovarianceCCABase, Covariances

#: the Cluster-CCA variants of this package (see the module docstring)
VARIANTS = ("rasiwasia", "beta")


def check_cluster_hyperparameters(variant: Any, beta: Any, *,
                                  variant_name: str = "variant") -> None:
    """The one rule for Cluster-CCA's hyper-parameters, wherever a Cluster-CCA stage is used
    (C-CCA, C-KCCA, C-DCCA, lstm_C-CCA, TNN-C-CCA): ``variant`` one of :data:`VARIANTS`, ``beta``
    a number in [0, 1] (bools rejected). ``variant_name`` is the parameter's name in the caller
    (e.g. ``ccca_variant``), for the message."""
    check_choice(variant, variant_name, VARIANTS)
    check_number(beta, "beta", low=0.0, high=1.0)


def _class_index(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(class index 0..C-1 of every row (N,), class sizes n_c (C,))."""
    _, index, counts = np.unique(y, return_inverse=True, return_counts=True)
    return index.reshape(-1), counts


def within_class_cross_covariance(S_a: np.ndarray, S_v: np.ndarray,
                                  counts: np.ndarray) -> np.ndarray:
    """Σ_xy = (1/M) Σ_c (Σ_{x∈X_c} x̃)(Σ_{y∈Y_c} ỹ)ᵀ = S_aᵀ S_v / M, M = Σ_c n_c².

    The all-within-class-pairs cross-covariance from the centred class sums S_a (C, d_a) and
    S_v (C, d_v) only (Rasiwasia 2014, eq. 3 with x̄_c = S_x,c / n_c).
    """
    M = float(np.sum(counts.astype(np.float64) ** 2))        # number of within-class pairs
    return S_a.T @ S_v / M


def rasiwasia_covariances(Xa: np.ndarray, Xv: np.ndarray, y: np.ndarray,
                          reg: float) -> Covariances:
    """Covariances of CCA on all within-class pairs, computed without expanding the pairs."""
    index, counts = _class_index(y)
    w = counts[index].astype(np.float64)                     # (N,): row i appears n_c(i) times
    M = float(w.sum())                                       # M = Σ_c n_c · n_c
    # x̄^cl = (1/M) Σ_c n_c Σ_{x∈X_c} x  (pair-weighted means)
    mean_a = w @ Xa / M
    mean_v = w @ Xv / M
    # Σ_xx = (1/M) Σ_c n_c Σ_{x∈X_c} x̃ x̃ᵀ + rI (r = reg): the scatter weighted by w_i = n_c(i),
    # one view at a time (the weighted audio-visual cross block is not needed)
    G_aa, S_a = centred_scatter([Xa], [mean_a], index, counts.size, row_weights=w)
    G_vv, S_v = centred_scatter([Xv], [mean_v], index, counts.size, row_weights=w)
    C_aa = G_aa / M + reg * np.eye(Xa.shape[1])
    C_vv = G_vv / M + reg * np.eye(Xv.shape[1])
    C_av = within_class_cross_covariance(S_a, S_v, counts)
    return C_aa, C_vv, C_av, mean_a, mean_v


def beta_covariances(Xa: np.ndarray, Xv: np.ndarray, y: np.ndarray, reg: float,
                     beta: float) -> Covariances:
    """The authors' variant: Σ_xy^(β) = β·Σ_xy + (1−β)·Σ_xy^cl, ordinary Σ_xx, Σ_yy."""
    index, counts = _class_index(y)
    n, d_a = Xa.shape
    mean_a, mean_v = Xa.mean(axis=0), Xv.mean(axis=0)
    # the scatter of [X̃_a | X̃_v] holds X̃_aᵀX̃_a, X̃_vᵀX̃_v and the paired cross product
    # X̃_aᵀX̃_v; its class sums give the within-class term.
    # [choice] the within-class term is centred by the ordinary per-view means, as in the
    # authors' code (they centre once, then sum class blocks); normalised by M = Σ_c n_c².
    G, S = centred_scatter([Xa, Xv], [mean_a, mean_v], index, counts.size)
    C_aa = G[:d_a, :d_a] / n + reg * np.eye(d_a)             # (1/N) X̃_aᵀX̃_a + reg·I
    C_vv = G[d_a:, d_a:] / n + reg * np.eye(G.shape[0] - d_a)
    C_paired = G[:d_a, d_a:] / n                             # (1/N) X̃_aᵀX̃_v
    C_cluster = within_class_cross_covariance(S[:, :d_a], S[:, d_a:], counts)
    C_av = beta * C_paired + (1.0 - beta) * C_cluster
    return C_aa, C_vv, C_av, mean_a, mean_v


def cluster_covariances(Xa: np.ndarray, Xv: np.ndarray, y: np.ndarray, reg: float,
                        variant: str = "rasiwasia", beta: float = 0.2) -> Covariances:
    """(Σ_aa, Σ_vv, Σ_av, mean_a, mean_v) of Cluster-CCA for ``variant`` "rasiwasia" or "beta"."""
    check_cluster_hyperparameters(variant, beta)
    if variant == "rasiwasia":
        return rasiwasia_covariances(Xa, Xv, y, reg)
    return beta_covariances(Xa, Xv, y, reg, float(beta))


class ClusterCCA(CovarianceCCABase):
    """Supervised Cluster-CCA ("C-CCA"): CCA whose correspondences are all within-class pairs.

    Every audio clip of a class is treated as corresponding to every visual clip of that class,
    so the learned directions correlate the classes rather than the individual pairs; the
    covariances come from class sums, never from the explicit pairs (see the module docstring).
    The first stage of TNN-C-CCA. Supervised: ``fit`` needs the class labels ``y``.

    Parameters
    ----------
    n_components : int, default=10
        Number d of canonical directions asked for (the paper uses d = 10); after ``fit``,
        ``n_components_`` ≤ d is the number kept (≤ C − 1 for "rasiwasia").
    variant : {"rasiwasia", "beta"}, default="rasiwasia"
        "rasiwasia" (Rasiwasia et al. 2014; means and covariances of the pair expansion) or
        "beta" (the authors' code: ordinary covariances, blended cross-covariance).
    beta : float, default=0.2
        Weight of the one-to-one paired cross-covariance in the "beta" variant (authors: 0.2);
        ignored by "rasiwasia".
    reg : float, default=1e-4
        Absolute ridge r added to both view covariances (authors: 1e-4).
    random_state : int or None, default=None
        Unused (closed-form); kept for a uniform API.
    drop_zero_correlations : bool, default=True
        Drop directions with a numerically zero correlation (see
        :class:`paper_lib.methods.cca.CCA`).

    Attributes
    ----------
    mean_audio_ : ndarray of shape (d_a,)
        Audio mean that ``transform`` centres new rows with: the pair-weighted mean for
        "rasiwasia", the ordinary mean for "beta".
    mean_visual_ : ndarray of shape (d_v,)
        Visual mean, as ``mean_audio_``.
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
    N. Rasiwasia, D. Mahajan, V. Mahadevan, G. Aggarwal. Cluster canonical correlation
    analysis. AISTATS 2014, 823-831.

    D. Zeng, Y. Yu, K. Oyama. Deep triplet neural networks with cluster-CCA for audio-visual
    cross-modal retrieval. ACM Transactions on Multimedia Computing, Communications, and
    Applications 16(3), 2020.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(3), 20)                      # 3 classes x 20 paired clips
    >>> X_audio = 3 * rng.normal(size=(3, 6))[y] + rng.normal(size=(60, 6))    # (N, d_a)
    >>> X_visual = 3 * rng.normal(size=(3, 8))[y] + rng.normal(size=(60, 8))   # (N, d_v)
    >>> from paper_lib.methods.cluster_cca import ClusterCCA
    >>> model = ClusterCCA(n_components=4).fit(X_audio, X_visual, y)
    >>> model.n_components_                 # at most C - 1 = 2 directions carry a correlation
    2
    >>> Z_audio, Z_visual = model.transform(X_audio, X_visual)
    >>> from paper_lib.metrics.cross_modal import cross_modal_map
    >>> cross_modal_map(Z_audio, Z_visual, y)  # MAP of both directions on the training rows
    {'a2v': 1.0, 'v2a': 1.0}
    """

    supervised = True

    # [choice] default variant "rasiwasia": the published method; "beta" reproduces the
    # authors' script and is selected explicitly where a table uses it.
    def __init__(self, n_components: int = 10, variant: str = "rasiwasia", beta: float = 0.2,
                 reg: float = 1e-4, random_state: int | None = None,
                 drop_zero_correlations: bool = True) -> None:
        self.n_components = n_components
        self.variant = variant
        self.beta = beta
        self.reg = reg
        self.random_state = random_state
        self.drop_zero_correlations = drop_zero_correlations

    def _check_hyperparameters(self) -> None:
        super()._check_hyperparameters()
        check_cluster_hyperparameters(self.variant, self.beta)

    def _covariances(self, Xa: np.ndarray, Xv: np.ndarray,
                     y: np.ndarray | None) -> Covariances:
        assert y is not None  # guaranteed by check_views(need_labels=True)
        return cluster_covariances(Xa, Xv, y, float(self.reg), self.variant, float(self.beta))


def make_cluster_cca(n_components: int, variant: str, beta: float, reg: float,
                     random_state: int | None) -> ClusterCCA:
    """The (unfitted) Cluster-CCA stage of a composite method: TNN-C-CCA, lstm_C-CCA and C-DCCA
    all build theirs here, from their own hyper-parameters.

    The stage drops directions with a numerically zero correlation (the default), so after
    fitting its ``n_components_`` may be < ``n_components``; the composite reports that number
    as its own ``n_components_`` (its effective d)."""
    return ClusterCCA(n_components=n_components, variant=variant, beta=beta, reg=reg,
                      random_state=random_state)
