"""Deep CCA (Andrew, Arora, Bilmes, Livescu, ICML 2013) and its supervised cluster version.

DCCA: two MLPs f_a, f_v are trained to maximise the total canonical correlation of their outputs
H_a = f_a(X_a), H_v = f_v(X_v) (both (m, o)) on each minibatch (Andrew 2013, Sec. 2-3)::

    Σ_aa = (1/m) H̃_aᵀ H̃_a + r·I,   Σ_vv = (1/m) H̃_vᵀ H̃_v + r·I,   Σ_av = (1/m) H̃_aᵀ H̃_v
    T = Σ_aa^{-1/2} Σ_av Σ_vv^{-1/2},      corr(H_a, H_v) = ||T||_tr = Σ_i σ_i(T)

after which linear CCA (``paper_lib.methods.cca.CCA``) is fitted on the network outputs.

C-DCCA / S-DCCA (``ClusterDCCA``, supervised): the same networks, but the objective uses the
Cluster-CCA covariances of the minibatch (from class sums; see ``cluster_cca.py``), and
``ClusterCCA`` is fitted on the outputs. By default both use the authors' "beta" variant
(Σ_av = β·paired + (1 − β)·within-class pairs, β = 0.2), as their S-DCCA code does: the loss
``cca_loss(..., use_cluster=True, beta)`` of ``objectives.py`` and the final
``linear_cca(..., use_cluster=True, ..., beta)`` of ``MultiCCA.py`` / ``Category_DCCA.py``
(github.com/ZenzenDatabase/CMR). ``variant="rasiwasia"`` uses the published Cluster-CCA instead.

Implementation notes:

- σ_i(Σ_aa^{-1/2} Σ_av Σ_vv^{-1/2}) = σ_i(L_a^{-1} Σ_av L_v^{-T}) with Cholesky factors
  Σ = L Lᵀ, because L^{-1} = Q Σ^{-1/2} for an orthogonal Q. [choice] The Cholesky form is used
  for the gradient: unlike ``eigh``'s backward it never divides by eigenvalue gaps.
- the objective is evaluated in float64 (o × o matrices: negligible cost) for stable factorisations.
- [choice] 1/m normalisation, as ``cca.py`` (1/N), so the objective equals the sum of the
  canonical correlations that ``cca_from_covariances`` finds on the same batch (the authors'
  ``objectives.py`` uses 1/(m−1) for the paired terms).
- [choice] the objective is Σ_i σ_i(T) (Andrew 2013). The authors' S-DCCA loss
  (``objectives.py`` with ``use_all_singular_values=True``, as ``MultiCCA.creat_model_dcca`` calls
  it) computes sqrt(trace(TᵀT)) = sqrt(Σ_i σ_i²), the Frobenius norm, instead.
- [choice] the networks (hidden widths, tanh, z-scored inputs, Adam) are this package's; the
  authors' DCCA (``MultiCCA.creating_model``) is BatchNorm -> 3 × (100 sigmoid + dropout 0.1) ->
  10 linear, RMSprop 1e-4, batch 200, 50 epochs, and their S-DCCA (``model.sdcca_embedding``)
  is BatchNorm -> 20 -> 20 sigmoid -> 10 linear, RMSprop 1e-3, batch 200, 1 epoch
  (``MultiCCA.train_model_dcca``; ``Category_DCCA.train_model`` says 100 epochs but cannot run as
  written). Their epoch counts disagree, so none is copied: see ``epochs`` below.
- the effective d is the final (Cluster-)CCA stage's ``n_components_`` (directions with a
  numerically zero correlation are dropped, ``cca.ZERO_CORRELATION_RTOL``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from paper_lib.errors import UserError
from paper_lib.methods._stage_cache import fit_cached
from paper_lib.methods._torch_utils import (
    Standardizer,
    largest_batch,
    minibatch_indices,
    mlp,
    predict,
    resolve_n_batches,
    seeded,
    to_tensor,
)
from paper_lib.methods._validation import (
    check_positive,
    check_positive_int,
    check_seed,
    check_views,
)
from paper_lib.methods.base import CrossModalEstimator, View, by_view
from paper_lib.methods.cca import CCA, CovarianceCCABase
from paper_lib.methods.cluster_cca import check_cluster_hyperparameters, make_cluster_cca

Covariances = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # (Σ_aa, Σ_vv, Σ_av)


# -- minibatch covariances (torch, differentiable) ----------------------------------------------
def _ridge(d: int, reg: float, like: torch.Tensor) -> torch.Tensor:
    return reg * torch.eye(d, dtype=like.dtype, device=like.device)


def paired_covariances_torch(Ha: torch.Tensor, Hv: torch.Tensor, reg: float) -> Covariances:
    """One-to-one paired covariances of (m, o_a), (m, o_v) outputs, ridge r on the diagonals."""
    m = Ha.shape[0]
    Ha_c = Ha - Ha.mean(dim=0)  # H̃_a (m, o_a)
    Hv_c = Hv - Hv.mean(dim=0)  # H̃_v (m, o_v)
    S_aa = Ha_c.T @ Ha_c / m + _ridge(Ha.shape[1], reg, Ha)
    S_vv = Hv_c.T @ Hv_c / m + _ridge(Hv.shape[1], reg, Hv)
    S_av = Ha_c.T @ Hv_c / m
    return S_aa, S_vv, S_av


def _class_indicator(labels: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """One-hot (m, C_batch) of the classes present in the batch, and their sizes n_c (C_batch,)."""
    _, index, counts = torch.unique(labels, return_inverse=True, return_counts=True)
    onehot = nn.functional.one_hot(index, counts.numel()).to(dtype)
    return onehot, counts.to(dtype)


def within_class_cross_covariance_torch(Ha_c: torch.Tensor, Hv_c: torch.Tensor,
                                        labels: torch.Tensor) -> torch.Tensor:
    """Σ_av = (1/M) Σ_c (Σ_{x∈c} x̃)(Σ_{y∈c} ỹ)ᵀ on centred outputs, M = Σ_c n_c² (class sums)."""
    onehot, counts = _class_indicator(labels, Ha_c.dtype)
    S_a = onehot.T @ Ha_c  # (C, o_a) class sums
    S_v = onehot.T @ Hv_c  # (C, o_v)
    return S_a.T @ S_v / counts.pow(2).sum()


def rasiwasia_covariances_torch(Ha: torch.Tensor, Hv: torch.Tensor, labels: torch.Tensor,
                                reg: float) -> Covariances:
    """Cluster-CCA covariances of the batch (Rasiwasia 2014), as ``cluster_cca.rasiwasia_covariances``.

    pair-weighted means m = (1/M) Σ_i n_c(i) x_i;  Σ_aa = (1/M) Σ_i n_c(i) x̃_i x̃_iᵀ + r·I.
    """
    onehot, counts = _class_indicator(labels, Ha.dtype)
    w = onehot @ counts                                  # (m,): row i occurs n_c(i) times
    M = w.sum()                                          # Σ_c n_c²
    Ha_c = Ha - (w @ Ha) / M
    Hv_c = Hv - (w @ Hv) / M
    S_aa = (Ha_c * w[:, None]).T @ Ha_c / M + _ridge(Ha.shape[1], reg, Ha)
    S_vv = (Hv_c * w[:, None]).T @ Hv_c / M + _ridge(Hv.shape[1], reg, Hv)
    S_av = within_class_cross_covariance_torch(Ha_c, Hv_c, labels)
    return S_aa, S_vv, S_av


def beta_covariances_torch(Ha: torch.Tensor, Hv: torch.Tensor, labels: torch.Tensor,
                           reg: float, beta: float) -> Covariances:
    """The authors' variant: ordinary Σ_aa, Σ_vv; Σ_av = β·paired + (1−β)·within-class pairs."""
    S_aa, S_vv, S_paired = paired_covariances_torch(Ha, Hv, reg)
    S_cluster = within_class_cross_covariance_torch(Ha - Ha.mean(dim=0), Hv - Hv.mean(dim=0),
                                                    labels)
    return S_aa, S_vv, beta * S_paired + (1.0 - beta) * S_cluster


def total_correlation(S_aa: torch.Tensor, S_vv: torch.Tensor, S_av: torch.Tensor) -> torch.Tensor:
    """Σ_i σ_i(Σ_aa^{-1/2} Σ_av Σ_vv^{-1/2}) (Andrew 2013, eq. 10), differentiable.

    Computed as the nuclear norm of L_a^{-1} Σ_av L_v^{-T} (Cholesky factors; same singular
    values, see the module docstring).
    """
    L_a = torch.linalg.cholesky(S_aa)
    L_v = torch.linalg.cholesky(S_vv)
    X = torch.linalg.solve_triangular(L_a, S_av, upper=False)          # L_a^{-1} Σ_av
    T = torch.linalg.solve_triangular(L_v, X.T, upper=False).T         # ... L_v^{-T}
    return torch.linalg.svdvals(T).sum()


# -- estimators ----------------------------------------------------------------------------------
class DCCA(CrossModalEstimator):
    """Deep CCA: two MLPs maximising the minibatch total correlation, then linear CCA.

    Each view goes through its own MLP, trained so that the two outputs are maximally correlated
    (the sum of their canonical correlations on each minibatch); linear CCA on the outputs then
    gives the embedding (see the module docstring). The paper's "DCCA" baseline. Unsupervised:
    ``fit`` ignores ``y``.

    Parameters
    ----------
    n_components : int, default=10
        d, the dimensions kept by the final linear CCA (10).
    hidden : sequence of int, default=(256, 256)
        Hidden widths of each MLP (tanh); the output layer is linear.
    out_dim : int or None, default=None
        Network output width o; ``None`` = ``n_components`` (Andrew 2013 use o = k, so the
        objective is the sum of all o correlations).
    epochs : int, default=30
        Training epochs. The class default (30) only applies when the estimator is built
        directly: the experiment runner builds DCCA and C-DCCA through the registry
        (``registry._dcca`` / ``_c_dcca``), which passes the runner's global ``epochs`` (10 by
        default, the same for every deep method), so that is what the tables use.
    lr : float, default=1e-3
        Adam learning rate.
    batch_size : int, default=500
        Minibatch size.
    reg : float, default=1e-4
        Ridge r on the view covariances, in the objective and in the final (Cluster-)CCA.
    random_state : int or None, default=0
        Seeds weights and data order.

    Attributes
    ----------
    net_audio_ : torch.nn.Module
        The trained audio MLP.
    net_visual_ : torch.nn.Module
        The trained visual MLP.
    cca_ : CCA or ClusterCCA
        The final linear stage, fitted on the network outputs of the training rows.
    n_components_ : int
        The directions the final stage kept, ≤ ``n_components``.
    scaler_audio_ : Standardizer
        z-scoring of the audio inputs (training statistics).
    scaler_visual_ : Standardizer
        z-scoring of the visual inputs.
    history_ : list of dict
        Per epoch: the mean minibatch correlation and the full-training-set correlation.
    initial_train_correlation_ : float
        The full-training-set correlation before training.
    batch_size_ : int
        The largest minibatch.
    n_batches_ : int
        Minibatches per epoch.
    n_features_audio_ : int
        Width d_a of the audio view seen by ``fit``.
    n_features_visual_ : int
        Width d_v of the visual view seen by ``fit``.

    References
    ----------
    G. Andrew, R. Arora, J. Bilmes, K. Livescu. Deep canonical correlation analysis.
    ICML 2013, 1247-1255.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(3), 20)                      # 3 classes x 20 paired clips
    >>> X_audio = 3 * rng.normal(size=(3, 6))[y] + rng.normal(size=(60, 6))    # (N, d_a)
    >>> X_visual = 3 * rng.normal(size=(3, 8))[y] + rng.normal(size=(60, 8))   # (N, d_v)
    >>> from paper_lib.methods.dcca import DCCA
    >>> dcca = DCCA(n_components=2, hidden=(16,), epochs=1, batch_size=30)
    >>> Z_audio, Z_visual = dcca.fit(X_audio, X_visual).transform(X_audio, X_visual)
    >>> Z_audio.shape, Z_visual.shape, len(dcca.history_)
    ((60, 2), (60, 2), 1)
    """

    supervised = False
    _fitted_attribute = "cca_"

    # [choice] defaults chosen to train in seconds on a few thousand clips on 2 CPU cores:
    # two hidden layers of 256, large batches (covariances of 10-d outputs need a few hundred
    # rows to be stable; Wang et al. 2015 use similarly large DCCA minibatches), 30 epochs when
    # built directly; through the registry (the experiment runner) the runner's epochs apply.
    def __init__(self, n_components: int = 10, hidden: Sequence[int] = (256, 256),
                 out_dim: int | None = None, epochs: int = 30, lr: float = 1e-3,
                 batch_size: int = 500, reg: float = 1e-4,
                 random_state: int | None = 0) -> None:
        self.n_components = n_components
        self.hidden = hidden
        self.out_dim = out_dim
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.reg = reg
        self.random_state = random_state

    # -- hooks overridden by ClusterDCCA -------------------------------------------------------
    def _batch_covariances(self, Ha: torch.Tensor, Hv: torch.Tensor,
                           labels: torch.Tensor) -> Covariances:
        return paired_covariances_torch(Ha, Hv, float(self.reg))

    def _make_final_stage(self) -> CovarianceCCABase:
        return CCA(n_components=self.n_components, reg=self.reg, random_state=self.random_state)

    # -- the objective -------------------------------------------------------------------------
    def objective(self, Ha: torch.Tensor, Hv: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The correlation maximised on a batch (float64 for stable factorisations)."""
        return total_correlation(*self._batch_covariances(Ha.double(), Hv.double(), labels))

    # -- checks --------------------------------------------------------------------------------
    def _check_hyperparameters(self) -> None:
        check_positive_int(self.n_components, "n_components")
        if isinstance(self.hidden, str | bytes) or not isinstance(self.hidden, Sequence):
            raise UserError(f"hidden must be a sequence of layer widths, got {self.hidden!r}.")
        for i, width in enumerate(self.hidden):
            check_positive_int(width, f"hidden[{i}]")
        out_dim = self._out_dim()
        if out_dim < int(self.n_components):
            raise UserError(f"out_dim={out_dim} must be >= n_components={self.n_components} "
                            f"(the final CCA works on the network outputs).")
        check_positive_int(self.epochs, "epochs")
        check_positive(self.lr, "lr")
        check_positive_int(self.batch_size, "batch_size")
        check_positive(self.reg, "reg", reason="the objective needs Σ + r·I invertible")
        check_seed(self.random_state)

    def _out_dim(self) -> int:
        """The network output width o (``out_dim``, or ``n_components`` when ``None``)."""
        if self.out_dim is None:
            return check_positive_int(self.n_components, "n_components")
        return check_positive_int(self.out_dim, "out_dim")

    # -- fit -----------------------------------------------------------------------------------
    def _fit(self, X_audio: np.ndarray, X_visual: np.ndarray, y: np.ndarray | None,
             **kwargs: Any) -> None:
        """Train both networks on the training clips, then the final linear stage."""
        Xa, Xv, labels = check_views(X_audio, X_visual, y, n_components=self.n_components,
                                     need_labels=self.supervised)
        labels = np.zeros(Xa.shape[0], dtype=np.int64) if labels is None else labels
        seed = check_seed(self.random_state)
        self.n_features_audio_, self.n_features_visual_ = Xa.shape[1], Xv.shape[1]
        # [choice] inputs are z-scored with training statistics before the tanh MLPs
        self.scaler_audio_ = Standardizer().fit(Xa)
        self.scaler_visual_ = Standardizer().fit(Xv)
        Ha_in, Hv_in = self.scaler_audio_.transform(Xa), self.scaler_visual_.transform(Xv)
        with seeded(seed) as generator:
            self.net_audio_, self.net_visual_ = self._make_networks(Xa.shape[1], Xv.shape[1])
            self._train(Ha_in, Hv_in, labels, generator)
        self.cca_ = fit_cached(self._make_final_stage(), predict(self.net_audio_, Ha_in),
                               predict(self.net_visual_, Hv_in),
                               labels if self.supervised else None)
        self.n_components_ = self.cca_.n_components_

    def _make_networks(self, d_audio: int, d_visual: int) -> tuple[nn.Module, nn.Module]:
        """The two untrained tanh MLPs (audio, then visual: the order of the seeded draws)."""
        out_dim = self._out_dim()
        return (mlp(d_audio, self.hidden, out_dim, activation=nn.Tanh),
                mlp(d_visual, self.hidden, out_dim, activation=nn.Tanh))

    def _build_modules(self) -> dict[str, Any]:
        net_audio, net_visual = self._make_networks(self.n_features_audio_,
                                                    self.n_features_visual_)
        return {"net_audio_": net_audio, "net_visual_": net_visual}

    @torch.no_grad()
    def _full_correlation(self, A: torch.Tensor, V: torch.Tensor, Y: torch.Tensor) -> float:
        """The objective on all training rows (networks in eval mode)."""
        self.net_audio_.eval()
        self.net_visual_.eval()
        return float(self.objective(self.net_audio_(A), self.net_visual_(V), Y))

    def _train(self, Xa: np.ndarray, Xv: np.ndarray, y: np.ndarray,
               generator: torch.Generator) -> None:
        A, V, Y = to_tensor(Xa), to_tensor(Xv), torch.as_tensor(y)
        params = list(self.net_audio_.parameters()) + list(self.net_visual_.parameters())
        optimizer = torch.optim.Adam(params, lr=self.lr, foreach=True)
        self.n_batches_ = resolve_n_batches(len(Y), self.batch_size, None)
        self.batch_size_ = largest_batch(len(Y), self.n_batches_)
        self.initial_train_correlation_ = self._full_correlation(A, V, Y)
        self.history_: list[dict[str, float]] = []
        for epoch in range(1, int(self.epochs) + 1):
            self.net_audio_.train()
            self.net_visual_.train()
            batch_corr = []
            for idx in minibatch_indices(len(Y), self.n_batches_, generator):
                corr = self.objective(self.net_audio_(A[idx]), self.net_visual_(V[idx]), Y[idx])
                optimizer.zero_grad()
                (-corr).backward()  # maximise the total correlation
                optimizer.step()
                batch_corr.append(float(corr.detach()))
            self.history_.append({"epoch": epoch,
                                  "batch_correlation": float(np.mean(batch_corr)),
                                  "train_correlation": self._full_correlation(A, V, Y)})
        self.net_audio_.eval()
        self.net_visual_.eval()

    # -- transform -----------------------------------------------------------------------------
    def _transform_view(self, X: np.ndarray, view: View, **kwargs: Any) -> np.ndarray:
        """Standardise -> this view's network -> the final (Cluster-)CCA stage."""
        net, scaler = by_view(view, (self.net_audio_, self.scaler_audio_),
                              (self.net_visual_, self.scaler_visual_))
        return self.cca_.transform_view(predict(net, scaler.transform(X)), view)


class ClusterDCCA(DCCA):
    """C-DCCA / S-DCCA (supervised deep CCA): the DCCA networks trained on the Cluster-CCA
    objective of each minibatch (all within-class pairs, from class sums), then ``ClusterCCA``.

    The paper's "C-DCCA" baseline (the authors' S-DCCA). Supervised: ``fit`` needs the class
    labels ``y``.

    Parameters
    ----------
    n_components : int, default=10
        d, the dimensions kept by the final linear CCA (10).
    hidden : sequence of int, default=(256, 256)
        Hidden widths of each MLP (tanh); the output layer is linear.
    out_dim : int or None, default=None
        Network output width o; ``None`` = ``n_components`` (Andrew 2013 use o = k, so the
        objective is the sum of all o correlations).
    epochs : int, default=30
        Training epochs. The class default (30) only applies when the estimator is built
        directly: the experiment runner builds DCCA and C-DCCA through the registry
        (``registry._dcca`` / ``_c_dcca``), which passes the runner's global ``epochs`` (10 by
        default, the same for every deep method), so that is what the tables use.
    lr : float, default=1e-3
        Adam learning rate.
    batch_size : int, default=500
        Minibatch size.
    reg : float, default=1e-4
        Ridge r on the view covariances, in the objective and in the final (Cluster-)CCA.
    variant : {"beta", "rasiwasia"}, default="beta"
        The Cluster-CCA variant, used both in the minibatch objective and in the final
        :class:`~paper_lib.methods.cluster_cca.ClusterCCA` stage.
    beta : float, default=0.2
        Weight of the paired cross-covariance in the "beta" variant.
    random_state : int or None, default=0
        Seeds weights and data order.

    Attributes
    ----------
    net_audio_ : torch.nn.Module
        The trained audio MLP.
    net_visual_ : torch.nn.Module
        The trained visual MLP.
    cca_ : CCA or ClusterCCA
        The final linear stage, fitted on the network outputs of the training rows.
    n_components_ : int
        The directions the final stage kept, ≤ ``n_components``.
    scaler_audio_ : Standardizer
        z-scoring of the audio inputs (training statistics).
    scaler_visual_ : Standardizer
        z-scoring of the visual inputs.
    history_ : list of dict
        Per epoch: the mean minibatch correlation and the full-training-set correlation.
    initial_train_correlation_ : float
        The full-training-set correlation before training.
    batch_size_ : int
        The largest minibatch.
    n_batches_ : int
        Minibatches per epoch.
    n_features_audio_ : int
        Width d_a of the audio view seen by ``fit``.
    n_features_visual_ : int
        Width d_v of the visual view seen by ``fit``.

    References
    ----------
    G. Andrew, R. Arora, J. Bilmes, K. Livescu. Deep canonical correlation analysis.
    ICML 2013, 1247-1255.

    N. Rasiwasia, D. Mahajan, V. Mahadevan, G. Aggarwal. Cluster canonical correlation
    analysis. AISTATS 2014, 823-831.

    D. Zeng. Learning joint embedding for cross-modal retrieval (S-DCCA). 2019.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(3), 20)                      # 3 classes x 20 paired clips
    >>> X_audio = 3 * rng.normal(size=(3, 6))[y] + rng.normal(size=(60, 6))    # (N, d_a)
    >>> X_visual = 3 * rng.normal(size=(3, 8))[y] + rng.normal(size=(60, 8))   # (N, d_v)
    >>> from paper_lib.methods.dcca import ClusterDCCA
    >>> model = ClusterDCCA(n_components=2, hidden=(16,), epochs=1, batch_size=30)
    >>> Z_audio, Z_visual = model.fit(X_audio, X_visual, y).transform(X_audio, X_visual)
    >>> Z_audio.shape, Z_visual.shape
    ((60, 2), (60, 2))
    """

    supervised = True

    # [code] default variant "beta", β = 0.2: the authors' S-DCCA code is public
    # (github.com/ZenzenDatabase/CMR) and uses the β blend in the loss (``objectives.py``:
    # ``cca_loss(..., use_cluster=True, beta)``, SigmaHat12 = β·paired + (1 − β)·within-class, as
    # compiled by ``MultiCCA.creat_model_dcca``) and in the final linear stage
    # (``MultiCCA.test_model_dcca`` and ``Category_DCCA.test_model``: ``linear_cca(..., True, ...,
    # beta)``), with β = 0.2 (``model.sdcca_embedding``). "rasiwasia" (the published Cluster-CCA)
    # is the option.
    def __init__(self, n_components: int = 10, hidden: Sequence[int] = (256, 256),
                 out_dim: int | None = None, epochs: int = 30, lr: float = 1e-3,
                 batch_size: int = 500, reg: float = 1e-4, variant: str = "beta",
                 beta: float = 0.2, random_state: int | None = 0) -> None:
        super().__init__(n_components=n_components, hidden=hidden, out_dim=out_dim,
                         epochs=epochs, lr=lr, batch_size=batch_size, reg=reg,
                         random_state=random_state)
        self.variant = variant
        self.beta = beta

    def _check_hyperparameters(self) -> None:
        check_cluster_hyperparameters(self.variant, self.beta)
        super()._check_hyperparameters()

    def _batch_covariances(self, Ha: torch.Tensor, Hv: torch.Tensor,
                           labels: torch.Tensor) -> Covariances:
        if self.variant == "rasiwasia":
            return rasiwasia_covariances_torch(Ha, Hv, labels, float(self.reg))
        return beta_covariances_torch(Ha, Hv, labels, float(self.reg), float(self.beta))

    def _make_final_stage(self) -> CovarianceCCABase:
        return make_cluster_cca(self.n_components, self.variant, self.beta, self.reg,
                                self.random_state)
