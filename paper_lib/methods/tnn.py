"""TNN-C-CCA: a cross-modal triplet network on top of Cluster-CCA (Zeng, Yu, Oyama 2020).

Default pipeline (``order="ccca_first"``, the paper's)::

    X_audio (N, d_a) --+                                +--> audio branch  f_a --> Z_audio (N, out_dim)
                       |-- Cluster-CCA to d dims -------|
    X_visual (N, d_v) -+                                +--> visual branch f_v --> Z_visual (N, out_dim)

Each branch is an MLP ``k -> 100 -> 100 -> 100 -> out_dim -> tanh -> sigmoid`` [code]: tanh and
dropout 0.1 after every hidden layer, then an ``out_dim``-unit (10) tanh layer (dropout 0.1)
followed by a sigmoid, so the outputs lie in (σ(−1), σ(1)) ≈ (0.27, 0.73) — how every TNN
script of the authors ends its branches (``create_network`` / ``create_base_network`` /
``create_an_network`` in ``batch_all.py``, ``triplet_ccca.py``, ``batch_hard.py``,
``triplet_arch.py``, ``TNN.py``, ...; see :func:`make_branch`). k is the
number of directions the Cluster-CCA stage kept (``n_components_`` ≤ d: directions with a
numerically zero correlation are dropped, see ``cca.ZERO_CORRELATION_RTOL``). The branches are
trained with the cross-modal triplet margin loss (audio anchor, visual positive of the same
class, visual negative of another class; see :mod:`paper_lib.methods.triplet`), Adam, lr 1e-3,
10 epochs, margin 0.5. Retrieval then ranks by cosine similarity of the branch outputs.

Options the paper leaves open ([choice], all off by default except where stated):

- ``order="tnn_first"``: train the triplet net on the (standardised) raw features, then fit
  Cluster-CCA on its outputs;
- ``shared_branch=True``: one MLP for both modalities (needs equal input widths);
- ``symmetric=True``: also visual anchors with audio positives/negatives;
- ``mining``: "batch_all" (paper), "batch_hard", "random" (the paper's "random triplets");
- ``validation_fraction > 0``: best-epoch model selection on a class-stratified split carved
  out of the TRAINING rows (Cluster-CCA is then fitted on the remaining training rows only).

Unlike the authors' scripts, minibatches are reshuffled every epoch with a seeded generator,
and the hinge is always applied. Other known differences from their code: PyTorch's default
weight initialisation (theirs: Keras ``glorot_uniform`` for the first layer, ``'normal'``, i.e.
N(0, 0.05²), for the others); the triplet choices listed in :mod:`paper_lib.methods.triplet`;
and their TNN scripts call ``linear_cca(..., use_cluster=False, ...)`` (``batch_all.py``,
``triplet_ccca.py``, ``triplet_arch.py``), i.e. their "C-CCA" stage there is plain CCA; this
package uses the β Cluster-CCA the paper describes (``ccca_variant="beta"``).
"""

from __future__ import annotations

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
    snapshot,
    stratified_holdout,
    to_tensor,
    validation_map,
)
from paper_lib.methods._validation import (
    check_choice,
    check_nonnegative,
    check_number,
    check_positive,
    check_positive_int,
    check_seed,
    check_views,
)
from paper_lib.methods.base import CrossModalEstimator, View, by_view
from paper_lib.methods.cluster_cca import (
    ClusterCCA,
    check_cluster_hyperparameters,
    make_cluster_cca,
)
from paper_lib.methods.triplet import (
    BatchAllMiner,
    BatchHardMiner,
    RandomMiner,
    TripletMarginLoss,
    TripletMiner,
)

MININGS = ("batch_all", "batch_hard", "random")
ORDERS = ("ccca_first", "tnn_first")
#: the branch output heads: "tanh_sigmoid" (the authors') and "linear_sigmoid"
HEADS = ("tanh_sigmoid", "linear_sigmoid")


def make_branch(in_dim: int, hidden: int, n_hidden_layers: int, out_dim: int,
                dropout: float, head: str = "tanh_sigmoid") -> nn.Sequential:
    """One modality branch: (Linear -> tanh -> dropout) x n_hidden_layers, then the head.

    ``head="tanh_sigmoid"`` [code]: Linear -> tanh -> dropout -> sigmoid, outputs in
    (σ(−1), σ(1)) ≈ (0.27, 0.73). Every TNN script of the authors ends its branches this way
    (``Dense(10, activation='tanh')``, ``Dropout``, ``Activation("sigmoid")`` in
    ``create_network`` / ``create_base_network`` of ``triplet_ccca.py``, ``batch_hard.py``,
    ``triplet_arch.py``, ``create_an_network`` / ``create_pn_network`` of ``batch_all.py``,
    and likewise ``TNN.py``, ``triplet111.py``, ``triplet222.py``); the dropout before the
    sigmoid is 0.1 in most of them (0.0 in ``batch_all.py``'s positive/negative branch, 0.2 in
    ``triplet222.py``) — here it is ``dropout``, like the hidden layers.

    ``head="linear_sigmoid"`` [choice]: Linear -> sigmoid, outputs in (0, 1); this package's
    earlier branch, kept as an option (a wider output range, one non-linearity fewer).

    The hidden layers are ``Dense(100) -> tanh -> Dropout(0.1)`` three times in the same scripts.
    """
    check_choice(head, "head", HEADS)
    if head == "linear_sigmoid":
        return mlp(in_dim, [hidden] * n_hidden_layers, out_dim, activation=nn.Tanh,
                   dropout=dropout, out_activation=nn.Sigmoid)
    layers = list(mlp(in_dim, [hidden] * n_hidden_layers, out_dim, activation=nn.Tanh,
                      dropout=dropout, out_activation=nn.Tanh))
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Sigmoid())
    return nn.Sequential(*layers)


def make_miner(mining: str, seed: int) -> TripletMiner:
    """The triplet miner named by ``mining`` (the random one seeded by ``seed``)."""
    if mining == "batch_all":
        return BatchAllMiner()
    if mining == "batch_hard":
        return BatchHardMiner()
    if mining == "random":
        return RandomMiner(seed)
    raise UserError(f"mining must be one of {MININGS}, got {mining!r}.")


class TNNCCCA(CrossModalEstimator):
    """Triplet neural network with Cluster-CCA (TNN-C-CCA), the paper's method.

    Cluster-CCA projects both views to d dimensions; then an audio branch and a visual branch
    (two MLPs) are trained with the cross-modal triplet margin loss, so that an audio clip ends
    up closer to the visual clips of its class than to those of other classes. Retrieval ranks
    the branch outputs by cosine similarity (see the module docstring for the pipeline and the
    options the paper leaves open). Supervised: ``fit`` needs the class labels ``y``.

    Parameters
    ----------
    n_components : int, default=10
        d, the Cluster-CCA dimension (10 in the paper).
    hidden : int, default=100
        Width of the hidden layers of each branch.
    n_hidden_layers : int, default=3
        Number of hidden layers of each branch.
    out_dim : int, default=10
        Branch output width: the width of the embedding.
    dropout : float, default=0.1
        Dropout after each hidden layer and in the head.
    margin : float, default=0.5
        Triplet hinge margin.
    mining : {"batch_all", "batch_hard", "random"}, default="batch_all"
        Which triplets of a minibatch enter the loss (see :mod:`paper_lib.methods.triplet`).
    lr : float, default=1e-3
        Adam learning rate.
    epochs : int, default=10
        Number of epochs.
    batch_size : int, default=40
        Clips per minibatch (40, i.e. the paper's ~560 chunks of ~22.5k clips).
    n_batches : int or None, default=None
        The paper's "batch number": the training rows are cut into exactly this many
        near-equal minibatches per epoch (the authors' ``np.array_split``); overrides
        ``batch_size``.
    shared_branch : bool, default=False
        One MLP for both modalities.
    symmetric : bool, default=False
        Add visual-anchor triplets.
    order : {"ccca_first", "tnn_first"}, default="ccca_first"
        "ccca_first" (the paper) or "tnn_first" (the triplet net on the raw features, then
        Cluster-CCA on its outputs).
    ccca_variant : {"beta", "rasiwasia"}, default="beta"
        Passed to :class:`~paper_lib.methods.cluster_cca.ClusterCCA` as ``variant`` ("beta" =
        the authors' code).
    beta : float, default=0.2
        Passed to ``ClusterCCA`` (the authors' β = 0.2).
    reg : float, default=1e-4
        Passed to ``ClusterCCA``.
    validation_fraction : float, default=0.0
        0 = fixed epochs; > 0 = keep the epoch with the best validation MAP, measured on the
        final embedding (for ``order="tnn_first"``: after a Cluster-CCA stage fitted, at that
        epoch, on the training rows' branch outputs).
    random_state : int or None, default=0
        Seeds weights, dropout, data order, random mining and the validation split.
    head : {"tanh_sigmoid", "linear_sigmoid"}, default="tanh_sigmoid"
        "tanh_sigmoid" (the authors': Linear -> tanh -> dropout -> sigmoid) or
        "linear_sigmoid" (Linear -> sigmoid); see :func:`make_branch`.

    Attributes
    ----------
    ccca_ : ClusterCCA
        The Cluster-CCA stage.
    n_components_ : int
        The directions that stage kept, ≤ ``n_components``: the effective d; with
        ``order="ccca_first"`` the branches take ``n_components_`` inputs.
    branch_audio_ : torch.nn.Sequential
        The trained audio branch (:func:`make_branch`).
    branch_visual_ : torch.nn.Sequential
        The trained visual branch (the same object as ``branch_audio_`` with ``shared_branch``).
    history_ : list of dict
        One dict per epoch: epoch, loss, mean_hinge, active_fraction[, val_map].
    best_epoch_ : int
        The epoch whose weights were kept (the last one without validation).
    n_batches_ : int
        Minibatches per epoch.
    batch_size_ : int
        The largest minibatch.
    n_features_audio_ : int
        Width d_a of the audio view seen by ``fit``.
    n_features_visual_ : int
        Width d_v of the visual view seen by ``fit``.

    References
    ----------
    D. Zeng, Y. Yu, K. Oyama. Deep triplet neural networks with cluster-CCA for audio-visual
    cross-modal retrieval. ACM Transactions on Multimedia Computing, Communications, and
    Applications 16(3), 2020.

    N. Rasiwasia, D. Mahajan, V. Mahadevan, G. Aggarwal. Cluster canonical correlation
    analysis. AISTATS 2014, 823-831.

    A. Hermans, L. Beyer, B. Leibe. In defense of the triplet loss for person
    re-identification. arXiv:1703.07737, 2017.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(3), 20)                      # 3 classes x 20 paired clips
    >>> X_audio = 3 * rng.normal(size=(3, 6))[y] + rng.normal(size=(60, 6))    # (N, d_a)
    >>> X_visual = 3 * rng.normal(size=(3, 8))[y] + rng.normal(size=(60, 8))   # (N, d_v)
    >>> from paper_lib.methods.tnn import TNNCCCA
    >>> tnn = TNNCCCA(n_components=2, hidden=16, epochs=1)
    >>> Z_audio, Z_visual = tnn.fit(X_audio, X_visual, y).transform(X_audio, X_visual)
    >>> Z_audio.shape, Z_visual.shape           # out_dim = 10 outputs per clip
    ((60, 10), (60, 10))
    >>> sorted(tnn.history_[0])
    ['active_fraction', 'epoch', 'loss', 'mean_hinge']
    """

    supervised = True
    _fitted_attribute = "branch_audio_"

    def __init__(self, n_components: int = 10, hidden: int = 100, n_hidden_layers: int = 3,
                 out_dim: int = 10, dropout: float = 0.1, margin: float = 0.5,
                 mining: str = "batch_all", lr: float = 1e-3, epochs: int = 10,
                 batch_size: int = 40, n_batches: int | None = None,
                 shared_branch: bool = False, symmetric: bool = False,
                 order: str = "ccca_first", ccca_variant: str = "beta", beta: float = 0.2,
                 reg: float = 1e-4, validation_fraction: float = 0.0,
                 random_state: int | None = 0, head: str = "tanh_sigmoid") -> None:
        self.n_components = n_components
        self.hidden = hidden
        self.n_hidden_layers = n_hidden_layers
        self.out_dim = out_dim
        self.dropout = dropout
        self.margin = margin
        self.mining = mining
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.n_batches = n_batches
        self.shared_branch = shared_branch
        self.symmetric = symmetric
        self.order = order
        self.ccca_variant = ccca_variant
        self.beta = beta
        self.reg = reg
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.head = head

    # -- checks --------------------------------------------------------------------------------
    def _check_hyperparameters(self) -> None:
        n_components = check_positive_int(self.n_components, "n_components")
        check_choice(self.mining, "mining", MININGS)
        check_choice(self.order, "order", ORDERS)
        check_choice(self.head, "head", HEADS)
        for name in ("hidden", "n_hidden_layers", "out_dim", "epochs"):
            check_positive_int(getattr(self, name), name)
        check_number(self.dropout, "dropout", low=0.0, high=1.0, high_open=True)
        check_nonnegative(self.margin, "margin")
        check_positive(self.lr, "lr")
        if self.n_batches is None:  # n_batches, when given, overrides batch_size
            check_positive_int(self.batch_size, "batch_size")
        else:
            check_positive_int(self.n_batches, "n_batches")
        check_cluster_hyperparameters(self.ccca_variant, self.beta, variant_name="ccca_variant")
        check_nonnegative(self.reg, "reg")
        check_number(self.validation_fraction, "validation_fraction", low=0.0, high=1.0,
                     high_open=True)
        check_seed(self.random_state)
        if self.order == "tnn_first" and n_components > int(self.out_dim):
            raise UserError(
                f"order='tnn_first' fits Cluster-CCA on the {self.out_dim}-d branch outputs: "
                f"n_components={self.n_components} must be <= out_dim.")

    def _make_ccca(self) -> ClusterCCA:
        return make_cluster_cca(self.n_components, self.ccca_variant, self.beta, self.reg,
                                self.random_state)

    # -- fit -----------------------------------------------------------------------------------
    def _fit(self, X_audio: np.ndarray, X_visual: np.ndarray, y: np.ndarray | None,
             **kwargs: Any) -> None:
        """Fit Cluster-CCA and the triplet branches on the training clips (labels required)."""
        Xa, Xv, labels = check_views(X_audio, X_visual, y, n_components=self.n_components,
                                     need_labels=True)
        assert labels is not None
        if self.order == "tnn_first" and self.shared_branch and Xa.shape[1] != Xv.shape[1]:
            raise UserError(
                f"shared_branch=True needs equal input widths, but with order='tnn_first' the "
                f"branches see the raw features (X_audio {Xa.shape[1]}, X_visual {Xv.shape[1]} "
                f"columns).")
        seed = check_seed(self.random_state)
        self.n_features_audio_, self.n_features_visual_ = Xa.shape[1], Xv.shape[1]

        if self.validation_fraction > 0:
            train_idx, val_idx = stratified_holdout(labels, self.validation_fraction, seed)
            Xa_tr, Xv_tr, y_tr = Xa[train_idx], Xv[train_idx], labels[train_idx]
        else:  # every row trains (no copy of the views)
            val_idx = np.array([], dtype=np.int64)
            Xa_tr, Xv_tr, y_tr = Xa, Xv, labels

        with seeded(seed) as generator:
            Ha, Hv = self._fit_input_stage(Xa_tr, Xv_tr, y_tr)  # (n, d_in_a), (n, d_in_v)
            self._build_branches(Ha.shape[1], Hv.shape[1])
            validation = None
            if val_idx.size:
                validation = (self._input_view(Xa[val_idx], "audio"),
                              self._input_view(Xv[val_idx], "visual"), labels[val_idx])
            self._train(Ha, Hv, y_tr, generator, seed, validation)
        if self.order == "tnn_first":
            # Cluster-CCA on the trained (best-epoch) branch outputs, training rows only: the
            # same closed-form fit that scored that epoch on the validation rows
            self.ccca_ = self._fit_output_ccca(Ha, Hv, y_tr)
        self.n_components_ = self.ccca_.n_components_

    def _fit_output_ccca(self, Ha: np.ndarray, Hv: np.ndarray, y: np.ndarray) -> ClusterCCA:
        """``order="tnn_first"``: Cluster-CCA on the current branches' outputs of the rows."""
        return self._make_ccca().fit(predict(self.branch_audio_, Ha),
                                     predict(self.branch_visual_, Hv), y)

    def _fit_input_stage(self, Xa: np.ndarray, Xv: np.ndarray,
                         y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """What the branches are trained on: C-CCA projections, or standardised raw features."""
        if self.order == "ccca_first":
            # the same stage on the same rows in every setting of a sweep: fitted once
            self.ccca_ = fit_cached(self._make_ccca(), Xa, Xv, y)
        else:
            # [choice] raw features are z-scored (training statistics) before the tanh MLP
            self.scaler_audio_ = Standardizer().fit(Xa)
            self.scaler_visual_ = Standardizer().fit(Xv)
        return self._input_view(Xa, "audio"), self._input_view(Xv, "visual")

    def _input_view(self, X: np.ndarray, view: View) -> np.ndarray:
        """Map one raw view to its branch input, from that view alone."""
        if self.order == "ccca_first":
            return self.ccca_.transform_view(X, view)
        return by_view(view, self.scaler_audio_, self.scaler_visual_).transform(X)

    def _build_branches(self, d_in_a: int, d_in_v: int) -> None:
        self.branch_audio_, self.branch_visual_ = self._make_branches(d_in_a, d_in_v)

    def _make_branches(self, d_in_a: int, d_in_v: int) -> tuple[nn.Module, nn.Module]:
        """The untrained (audio, visual) branches, audio first (the order of the seeded weight
        draws); one module twice when ``shared_branch``."""
        if self.shared_branch and d_in_a != d_in_v:
            raise UserError(f"shared_branch=True needs equal branch input widths, got "
                            f"{d_in_a} (audio) and {d_in_v} (visual).")
        branch_audio = make_branch(d_in_a, int(self.hidden), int(self.n_hidden_layers),
                                   int(self.out_dim), float(self.dropout), self.head)
        branch_visual = (branch_audio if self.shared_branch else
                         make_branch(d_in_v, int(self.hidden), int(self.n_hidden_layers),
                                     int(self.out_dim), float(self.dropout), self.head))
        return branch_audio, branch_visual

    def _build_modules(self) -> dict[str, Any]:
        if self.order == "ccca_first":   # the branches see the Cluster-CCA projections
            d_in_a = int(self.ccca_.weights_audio_.shape[1])
            d_in_v = int(self.ccca_.weights_visual_.shape[1])
        else:                            # the branches see the standardised raw features
            d_in_a, d_in_v = self.n_features_audio_, self.n_features_visual_
        branch_audio, branch_visual = self._make_branches(d_in_a, d_in_v)
        return {"branch_audio_": branch_audio, "branch_visual_": branch_visual}

    def _parameters(self) -> list[nn.Parameter]:
        params = list(self.branch_audio_.parameters())
        if not self.shared_branch:
            params += list(self.branch_visual_.parameters())
        return params

    def _train(self, Ha: np.ndarray, Hv: np.ndarray, y: np.ndarray, generator: torch.Generator,
               seed: int, validation: tuple[np.ndarray, np.ndarray, np.ndarray] | None) -> None:
        """Adam on the triplet loss over reshuffled minibatches; fills ``history_``."""
        A, V, Y = to_tensor(Ha), to_tensor(Hv), torch.as_tensor(y)  # (n, d_a'), (n, d_v'), (n,)
        loss_fn = TripletMarginLoss(self.margin, make_miner(self.mining, seed + 2),
                                    symmetric=self.symmetric)
        # foreach: one fused update over all parameters (fewer tiny ops; same maths)
        optimizer = torch.optim.Adam(self._parameters(), lr=self.lr, foreach=True)
        self.n_batches_ = resolve_n_batches(len(Y), self.batch_size, self.n_batches)
        self.batch_size_ = largest_batch(len(Y), self.n_batches_)
        self.history_: list[dict[str, float]] = []
        best_score, best_state = -np.inf, None
        self.best_epoch_ = int(self.epochs)
        for epoch in range(1, int(self.epochs) + 1):
            record = self._train_one_epoch(A, V, Y, loss_fn, optimizer, generator)
            record["epoch"] = epoch
            if validation is not None:
                record["val_map"] = self._validation_score(Ha, Hv, y, validation)
                if record["val_map"] > best_score:
                    best_score, self.best_epoch_ = record["val_map"], epoch
                    best_state = (snapshot(self.branch_audio_), snapshot(self.branch_visual_))
            self.history_.append(record)
        if best_state is not None:  # restore the best validation epoch
            self.branch_audio_.load_state_dict(best_state[0])
            self.branch_visual_.load_state_dict(best_state[1])
        self.branch_audio_.eval()
        self.branch_visual_.eval()

    def _validation_score(self, Ha: np.ndarray, Hv: np.ndarray, y: np.ndarray,
                          validation: tuple[np.ndarray, np.ndarray, np.ndarray]) -> float:
        """Validation MAP of the FINAL embedding the current branches would give.

        ``order="ccca_first"``: the branch outputs. ``order="tnn_first"``: the branch outputs
        through a Cluster-CCA stage fitted now on the training rows' branch outputs (``Ha``,
        ``Hv``, ``y``; never on validation rows), exactly what ``fit`` keeps if this epoch wins.
        """
        Va = predict(self.branch_audio_, validation[0])                   # (n_val, out_dim)
        Vv = predict(self.branch_visual_, validation[1])
        if self.order == "tnn_first":
            ccca = self._fit_output_ccca(Ha, Hv, y)
            Va, Vv = ccca.transform_view(Va, "audio"), ccca.transform_view(Vv, "visual")
        return validation_map(Va, Vv, validation[2])

    def _train_one_epoch(self, A: torch.Tensor, V: torch.Tensor, Y: torch.Tensor,
                         loss_fn: TripletMarginLoss, optimizer: torch.optim.Optimizer,
                         generator: torch.Generator) -> dict[str, float]:
        """One pass over a fresh seeded permutation; returns the epoch's training statistics."""
        self.branch_audio_.train()
        self.branch_visual_.train()
        losses, hinge_sum, n_triplets, n_active = [], 0.0, 0, 0
        for idx in minibatch_indices(len(Y), self.n_batches_, generator):
            za = self.branch_audio_(A[idx])   # (B, out_dim)
            zv = self.branch_visual_(V[idx])  # (B, out_dim)
            out = loss_fn(za, zv, Y[idx])
            optimizer.zero_grad()
            out.loss.backward()
            optimizer.step()
            loss = float(out.loss.detach())
            losses.append(loss)
            # sum over active = loss * n_active (inactive ones are 0)
            hinge_sum += loss * out.n_active
            n_triplets += out.n_triplets
            n_active += out.n_active
        return {"loss": float(np.mean(losses)),
                "mean_hinge": hinge_sum / max(n_triplets, 1),
                "active_fraction": n_active / max(n_triplets, 1)}

    # -- transform -----------------------------------------------------------------------------
    def _transform_view(self, X: np.ndarray, view: View, **kwargs: Any) -> np.ndarray:
        """Branch input (C-CCA projection or z-scored features) -> this view's branch
        (-> Cluster-CCA for ``order="tnn_first"``)."""
        Z = predict(by_view(view, self.branch_audio_, self.branch_visual_),
                    self._input_view(X, view))                            # (n, out_dim)
        if self.order == "tnn_first":
            Z = self.ccca_.transform_view(Z, view)                        # (n, d)
        return Z
