"""VM-NET: content-based video-music retrieval with a soft intra-modal structure constraint (Hong,
Im, Yang, "CBVMR: Content-Based Video-Music Retrieval Using Soft Intra-Modal Structure
Constraint", ACM ICMR 2018; arXiv:1704.06761).

The method (the paper's abstract): a *two-branch* embedding network maps each modality into one
common space. It is trained from the co-occurring (video, music) pairs alone (no class label,
no tag) with (i) an *inter-modal ranking loss*, so that a true pair ends up closer than the
non-pairs, in both retrieval directions, and (ii) a *soft intra-modal structure loss* "that
leverages the relative distance relationship between intra-modal samples before embedding":
within each modality, the embedding should keep the order of the input-space distances, so that
the ranking term does not erase the modality's own structure. "Soft": it needs no ground-truth
neighbours inside a modality (unlike Wang et al.'s structure-preserving constraint, built on
several captions per image), only the inputs' relative distances.

**Source status — read this.** The paper's full text could not be read for this reproduction
(only its abstract and introduction); the equations below are taken from the **authors' public
code** (github.com/csehong/VM-NET: ``embed_loss.py``, ``embed_structure_loss.py``,
``network_structure.py``, ``embed_network_{music,video}.py``, ``train.py``; tagged [code]), which
the paper names as its implementation. Equation numbers are this module's, not the paper's.

Mapping of the modalities: the paper's **music** branch is our **audio** view, its **video**
branch our **visual** view (the code's ``x`` = music, ``y`` = video).

The network [code]: each branch is fully connected layers with ReLU and dropout, then a linear
layer to the common width d, batch normalisation, and L2 normalisation of the output:
f(x) = BN(W_L h_{L-1}(x)) / ‖BN(W_L h_{L-1}(x))‖₂. Distances are cosine distances
d(p, q) = 1 − p·q (the code's −p·q; the constant cancels in every hinge below).

The objective, on a minibatch of m pairs (a_i, v_i) with embeddings f_a(a_i), f_v(v_i) and
D_ij = d(f_a(a_i), f_v(v_j))::

    (1)  L_a→v = (1/mK) Σ_i Σ_{j ∈ N_K(i)}  max(0, μ + D_ii − D_ij)
         N_K(i): the K negatives j ≠ i with the smallest D_ij (the top-K violators of row i)

    (2)  L_v→a = (1/mK) Σ_i Σ_{j ∈ N'_K(i)} max(0, μ + D_ii − D_ji)
         N'_K(i): the K negatives j ≠ i with the smallest D_ji (column i)

    (3)  L_s(X, F) = mean over triplets (i, j, k) of
             [sgn(δ_ij − δ_ik) − sgn(Δ_ij − Δ_ik)] · (Δ_ik − Δ_ij)
         δ = cosine distances of the inputs X, Δ = cosine distances of the embeddings F,
         (j, k) = (t, t+1) consecutive rows of the (shuffled) batch, t < P, for every anchor
         i ∉ {j, k}; the sign factors are constants (no gradient)

    (4)  L = λ_a→v L_a→v + λ_v→a L_v→a + λ_s (L_s(A, f_a(A)) + L_s(V, f_v(V)))

Reading (3): every term is ≥ 0 and is zero when the embedding orders j and k around the anchor
as the inputs do. When the inputs put j nearer (δ_ij < δ_ik) the term is
2 · max(0, Δ_ij − Δ_ik): a hinge with margin 0 on the triplet ordered by input distance, whose
value is the size of the reversal — the "soft" constraint (no margin: keeping the order is
enough). A tie in the inputs (δ_ij = δ_ik) asks the embedding distances to be equal,
abs(Δ_ij − Δ_ik). The code's sign-difference form is implemented as is.

Code ↔ equations: :func:`inter_modal_loss` eqs. (1)-(2), :func:`structure_loss` eq. (3),
:func:`cosine_distances` d, ``VMNet._losses`` eq. (4), :class:`EmbeddingBranch` f.

Hyper-parameters ([code] = the authors' code named above; [choice] = not given there or adapted
to our data; the paper's own values could not be read):

- ``n_components`` d = 10 [choice: the runner's d, as for every method here; the code: 512];
- ``hidden`` = (512, 256) for both branches, ReLU [choice, scaled to our 128-d / 784-d inputs
  and 1,600 training clips; the code: music 2048-1024, video 2048, on 1,140-d / 1,024-d
  features and 200K pairs. Its released ``train.py`` sets ``is_linear = True``, which skips
  the ReLUs; ReLU is the network the code's default and the paper's figure describe];
- ``dropout`` = 0.1 [code: keep probability 0.9];
- batch normalisation before the L2 normalisation, ε = 1e-3 [code]; running-statistics
  momentum 0.1 [choice; the code's decay 0.99 would leave 0.27 of the initial statistics after
  our 130 steps];
- ``margin`` μ = 0.1 [code];
- ``top_k`` K = 10 [choice: the code's K = 100 at batch 1,000, i.e. a tenth of the batch, kept
  as a ratio at our batch of 128; K is clipped to m − 1; ``None`` = every negative];
- ``n_structure_pairs`` P = None, i.e. all m − 1 consecutive pairs of the batch, for every
  anchor [choice; the code uses its K: the first K rows as anchors and K − 1 pairs each];
  triplets holding the anchor itself are skipped [choice: the code keeps them, where they are
  always 0 but dilute the mean];
- ``lambda_a2v`` = 3, ``lambda_v2a`` = 1, ``lambda_structure`` = 0.2 [code: ``constraint_xy``
  = 3 for music queries, ``constraint_yx`` = 1 for video queries, ``constraint_x`` =
  ``constraint_y`` = 0.2];
- the inputs are z-scored (statistics of the training rows) and δ in (3) is the cosine distance
  of the z-scored inputs the branches see [choice; the code: of the raw features];
- ``lr`` = 1e-3 Adam [choice; the code: 3e-4 over 700,000 steps, we have 130];
  ``batch_size`` = 128 [choice; the code: 1,000]; ``epochs`` = 10 [the runner's];
- the code also builds a gradient-reversal modality classifier but trains with its weight at
  0 (``lamb = 0``, ``loss = net.loss``): it is not part of the trained model and is left out.

Retrieval ranks by the cosine of the L2-normalised outputs (``retrieval_metric`` None, the
runner's cosine), the code's ``eval.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from paper_lib.errors import UserError
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
    check_nonnegative,
    check_number,
    check_positive,
    check_positive_int,
    check_seed,
    check_views,
)
from paper_lib.methods.base import CrossModalEstimator, View, by_view

#: batch-normalisation ε of the last layer [code: ``tf.contrib.layers.batch_norm(epsilon=1e-3)``]
BN_EPS = 1e-3
#: running-statistics momentum of the batch normalisation [choice, see the module docstring]
BN_MOMENTUM = 0.1
#: the names of the per-epoch entries of ``loss_history_``
HISTORY_KEYS = ("loss", "inter_a2v", "inter_v2a", "structure_audio", "structure_visual")


# -- the network --------------------------------------------------------------------------------
class EmbeddingBranch(nn.Module):
    """One branch f: ReLU MLP (dropout after each hidden layer), a linear layer to d, batch
    normalisation, L2 normalisation of each row [code]."""

    def __init__(self, in_dim: int, hidden: Sequence[int], out_dim: int,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.body = mlp(in_dim, hidden, out_dim, activation=nn.ReLU, dropout=dropout)
        self.norm = nn.BatchNorm1d(out_dim, eps=BN_EPS, momentum=BN_MOMENTUM)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.norm(self.body(x)), dim=1)


# -- the losses ---------------------------------------------------------------------------------
def cosine_distances(P: torch.Tensor, Q: torch.Tensor) -> torch.Tensor:
    """d(p_i, q_j) = 1 − cos(p_i, q_j) for every row pair: (n_P, n_Q)."""
    Pn = nn.functional.normalize(P, dim=1)
    Qn = nn.functional.normalize(Q, dim=1)
    return 1.0 - Pn @ Qn.T


def _ranking_rows(D: torch.Tensor, margin: float, top_k: int | None) -> torch.Tensor:
    """Mean over the rows i of D of Σ_{top-K negatives j} max(0, μ + D_ii − D_ij) / K."""
    m = D.shape[0]
    k = m - 1 if top_k is None else min(int(top_k), m - 1)
    positive = torch.diagonal(D)
    eye = torch.eye(m, dtype=torch.bool, device=D.device)
    negatives = D.masked_fill(eye, float("inf"))            # a row's own pair is no negative
    hardest = torch.topk(negatives, k, dim=1, largest=False).values       # (m, K)
    return torch.relu(margin + positive[:, None] - hardest).mean()


def inter_modal_loss(Z_audio: torch.Tensor, Z_visual: torch.Tensor, margin: float = 0.1,
                     top_k: int | None = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """Eqs. (1)-(2): the top-K hinge ranking losses (L_a→v, L_v→a) of m paired rows.

    Row i of ``Z_audio`` and row i of ``Z_visual`` are a true pair; every other row of the other
    modality is a negative, of which the K nearest (most violating) count. ``top_k`` None: all
    m − 1; larger than m − 1: clipped. Needs m ≥ 2.
    """
    D = cosine_distances(Z_audio, Z_visual)                  # D_ij = d(a_i, v_j)
    return _ranking_rows(D, margin, top_k), _ranking_rows(D.T, margin, top_k)


def structure_loss(X: torch.Tensor, Z: torch.Tensor,
                   n_pairs: int | None = None) -> torch.Tensor:
    """Eq. (3): the soft intra-modal structure loss of inputs ``X`` and embeddings ``Z``.

    For every anchor i and the consecutive row pairs (j, k) = (t, t+1), t < P (``n_pairs``,
    None = all m − 1, clipped to m − 1), with i ∉ {j, k}: the mean of
    [sgn(δ_ij − δ_ik) − sgn(Δ_ij − Δ_ik)]·(Δ_ik − Δ_ij), δ/Δ the cosine distances of the
    inputs/embeddings. ≥ 0; zero when the embedding keeps each order of the inputs; 0 when the
    batch holds no such triplet (m < 3).
    """
    m = X.shape[0]
    p = m - 1 if n_pairs is None else min(int(n_pairs), m - 1)
    if m < 3 or p < 1:
        return Z.sum() * 0.0                                 # no triplet: 0, still a graph
    d_in = cosine_distances(X, X)
    d_emb = cosine_distances(Z, Z)
    diff_in = d_in[:, :p] - d_in[:, 1:p + 1]                 # δ_ij − δ_ik, (m, P)
    diff_emb = d_emb[:, :p] - d_emb[:, 1:p + 1]              # Δ_ij − Δ_ik
    coeff = torch.sign(diff_in) - torch.sign(diff_emb).detach()
    terms = coeff * (-diff_emb)
    anchor = torch.arange(m, device=X.device)[:, None]
    t = torch.arange(p, device=X.device)[None, :]
    valid = (anchor != t) & (anchor != t + 1)                # the anchor is not j or k
    return terms[valid].mean()


def _check_widths(widths: Any, name: str) -> None:
    if isinstance(widths, str | bytes) or not isinstance(widths, Sequence):
        raise UserError(f"{name} must be a sequence of layer widths, got {widths!r}.")
    for i, width in enumerate(widths):
        check_positive_int(width, f"{name}[{i}]")


# -- the estimator ------------------------------------------------------------------------------
class VMNet(CrossModalEstimator):
    """VM-NET: a two-branch network trained with inter-modal ranking and soft intra-modal
    structure losses (eqs. (1)-(4) of the module docstring).

    Content-based video-music retrieval (Hong, Im, Yang 2018): each modality goes through its
    own ReLU MLP into a common, L2-normalised space; a top-K hinge ranking loss in both
    directions pulls true pairs together, and a soft structure loss keeps, within each modality,
    the order of the input-space distances. Trained from pairs alone: ``fit`` accepts ``y`` only
    for the common API and ignores it.

    Parameters
    ----------
    n_components : int, default=10
        d, the width of the common space.
    hidden : sequence of int, default=(512, 256)
        Hidden widths of each branch (ReLU, then dropout, after each).
    dropout : float, default=0.1
        Dropout rate after each hidden layer, in [0, 1).
    margin : float, default=0.1
        μ of the ranking hinges, eqs. (1)-(2).
    top_k : int or None, default=10
        K, the most violating negatives per query in eqs. (1)-(2); None = all of the batch.
    n_structure_pairs : int or None, default=None
        P, the consecutive row pairs per anchor in eq. (3); None = all of the batch.
    lambda_a2v : float, default=3.0
        Weight of the audio-query ranking term L_a→v.
    lambda_v2a : float, default=1.0
        Weight of the visual-query ranking term L_v→a.
    lambda_structure : float, default=0.2
        Weight λ_s of each modality's structure term (0 switches them off).
    epochs : int, default=10
        Training epochs.
    lr : float, default=1e-3
        Adam learning rate.
    batch_size : int, default=128
        Pairs per minibatch (at least 2).
    random_state : int or None, default=0
        Seeds weights, dropout and minibatch order.

    Attributes
    ----------
    branch_audio_ : EmbeddingBranch
        The audio (music) branch.
    branch_visual_ : EmbeddingBranch
        The visual (video) branch.
    scaler_audio_ : Standardizer
        z-scoring of the audio inputs (training statistics).
    scaler_visual_ : Standardizer
        z-scoring of the visual inputs.
    n_components_ : int
        d, the width of the embedding.
    n_batches_ : int
        Minibatches per epoch.
    batch_size_ : int
        The largest minibatch.
    loss_history_ : list of dict
        Per epoch, means over the minibatches: ``loss`` (eq. (4)), ``inter_a2v``,
        ``inter_v2a`` (eqs. (1)-(2)), ``structure_audio``, ``structure_visual`` (eq. (3),
        unweighted), and ``epoch``.
    n_features_audio_ : int
        Width d_a of the audio view seen by ``fit``.
    n_features_visual_ : int
        Width d_v of the visual view seen by ``fit``.

    References
    ----------
    S. Hong, W. Im, H. S. Yang. CBVMR: Content-based video-music retrieval using soft
    intra-modal structure constraint. ACM ICMR 2018, 353-361 (arXiv:1704.06761; code:
    github.com/csehong/VM-NET).

    L. Wang, Y. Li, S. Lazebnik. Learning deep structure-preserving image-text embeddings.
    IEEE CVPR 2016, 5005-5013.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> latent = rng.normal(size=(60, 3))                     # 60 paired clips
    >>> X_audio = latent @ rng.normal(size=(3, 6)) + 0.1 * rng.normal(size=(60, 6))
    >>> X_visual = latent @ rng.normal(size=(3, 8)) + 0.1 * rng.normal(size=(60, 8))
    >>> from paper_lib.methods.vm_net import VMNet
    >>> vmnet = VMNet(n_components=2, hidden=(16,), epochs=1)
    >>> Z_audio, Z_visual = vmnet.fit(X_audio, X_visual).transform(X_audio, X_visual)
    >>> Z_audio.shape, Z_visual.shape
    ((60, 2), (60, 2))
    >>> bool(np.allclose(np.linalg.norm(Z_audio, axis=1), 1.0))   # L2-normalised outputs
    True
    """

    supervised = False
    _fitted_attribute = "branch_audio_"

    def __init__(self, n_components: int = 10, hidden: Sequence[int] = (512, 256),
                 dropout: float = 0.1, margin: float = 0.1, top_k: int | None = 10,
                 n_structure_pairs: int | None = None, lambda_a2v: float = 3.0,
                 lambda_v2a: float = 1.0, lambda_structure: float = 0.2, epochs: int = 10,
                 lr: float = 1e-3, batch_size: int = 128,
                 random_state: int | None = 0) -> None:
        self.n_components = n_components
        self.hidden = hidden
        self.dropout = dropout
        self.margin = margin
        self.top_k = top_k
        self.n_structure_pairs = n_structure_pairs
        self.lambda_a2v = lambda_a2v
        self.lambda_v2a = lambda_v2a
        self.lambda_structure = lambda_structure
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.random_state = random_state

    # -- checks --------------------------------------------------------------------------------
    def _check_hyperparameters(self) -> None:
        check_positive_int(self.n_components, "n_components")
        _check_widths(self.hidden, "hidden")
        check_number(self.dropout, "dropout", low=0.0, high=1.0, high_open=True)
        check_nonnegative(self.margin, "margin")
        if self.top_k is not None:
            check_positive_int(self.top_k, "top_k")
        if self.n_structure_pairs is not None:
            check_positive_int(self.n_structure_pairs, "n_structure_pairs")
        weights = {name: check_nonnegative(getattr(self, name), name)
                   for name in ("lambda_a2v", "lambda_v2a", "lambda_structure")}
        if weights["lambda_a2v"] + weights["lambda_v2a"] == 0:
            raise UserError("lambda_a2v and lambda_v2a are both 0: the ranking loss (eqs. (1)-"
                            "(2)) is what ties the two views together; give one a weight > 0.")
        check_positive_int(self.epochs, "epochs")
        check_positive(self.lr, "lr")
        if check_positive_int(self.batch_size, "batch_size") < 2:
            raise UserError(f"batch_size must be at least 2 (a query needs a negative in its "
                            f"batch), got {self.batch_size!r}.")
        check_seed(self.random_state)

    # -- fit -----------------------------------------------------------------------------------
    def _fit(self, X_audio: np.ndarray, X_visual: np.ndarray, y: np.ndarray | None,
             **kwargs: Any) -> None:
        """Train the two branches on the paired training rows; y is ignored."""
        Xa, Xv, _ = check_views(X_audio, X_visual, y, n_components=self.n_components,
                                need_labels=False, components_from_inputs=False)
        n = Xa.shape[0]
        n_batches = resolve_n_batches(n, self.batch_size, None)
        if n // n_batches < 2:
            raise UserError(
                f"batch_size: the smallest minibatch would hold {n // n_batches} pair(s) of the "
                f"{n} training rows; VM-NET needs at least 2 per minibatch (a negative for each "
                f"query, and batch normalisation): use a larger batch_size or more rows.")
        d = int(self.n_components)
        scaler_audio, scaler_visual = Standardizer().fit(Xa), Standardizer().fit(Xv)
        A, V = to_tensor(scaler_audio.transform(Xa)), to_tensor(scaler_visual.transform(Xv))
        with seeded(check_seed(self.random_state)) as generator:
            branch_a, branch_v = self._make_branches(Xa.shape[1], Xv.shape[1])
            history = self._train(branch_a, branch_v, A, V, n_batches, generator)
        self.scaler_audio_, self.scaler_visual_ = scaler_audio, scaler_visual
        self.loss_history_ = history
        self.n_batches_ = n_batches
        self.batch_size_ = largest_batch(n, n_batches)
        self.n_features_audio_, self.n_features_visual_ = Xa.shape[1], Xv.shape[1]
        self.n_components_ = d
        self.branch_visual_ = branch_v
        self.branch_audio_ = branch_a  # the fitted marker: set last

    def _make_branches(self, d_audio: int, d_visual: int) -> tuple[nn.Module, nn.Module]:
        """The two untrained branches (audio first: the order their weights are drawn in)."""
        d, p = int(self.n_components), float(self.dropout)
        return (EmbeddingBranch(d_audio, self.hidden, d, p),
                EmbeddingBranch(d_visual, self.hidden, d, p))

    def _build_modules(self) -> dict[str, nn.Module]:
        """The untrained branches of a fitted model (for :mod:`paper_lib.methods.persist`)."""
        branch_a, branch_v = self._make_branches(self.n_features_audio_, self.n_features_visual_)
        return {"branch_audio_": branch_a, "branch_visual_": branch_v}

    def _losses(self, branch_a: nn.Module, branch_v: nn.Module, A: torch.Tensor,
                V: torch.Tensor) -> dict[str, torch.Tensor]:
        """Eq. (4) and its terms on one minibatch of paired rows (A, V)."""
        Za, Zv = branch_a(A), branch_v(V)
        a2v, v2a = inter_modal_loss(Za, Zv, float(self.margin), self.top_k)
        pairs = self.n_structure_pairs
        s_a, s_v = structure_loss(A, Za, pairs), structure_loss(V, Zv, pairs)
        total = (float(self.lambda_a2v) * a2v + float(self.lambda_v2a) * v2a
                 + float(self.lambda_structure) * (s_a + s_v))
        return {"loss": total, "inter_a2v": a2v, "inter_v2a": v2a, "structure_audio": s_a,
                "structure_visual": s_v}

    def _train(self, branch_a: nn.Module, branch_v: nn.Module, A: torch.Tensor, V: torch.Tensor,
               n_batches: int, generator: torch.Generator) -> list[dict[str, float]]:
        """Minibatch Adam on eq. (4); returns the per-epoch means of its terms."""
        params = [*branch_a.parameters(), *branch_v.parameters()]
        optimizer = torch.optim.Adam(params, lr=float(self.lr), foreach=True)
        history: list[dict[str, float]] = []
        branch_a.train()
        branch_v.train()
        for epoch in range(1, int(self.epochs) + 1):
            sums = dict.fromkeys(HISTORY_KEYS, 0.0)
            for idx in minibatch_indices(A.shape[0], n_batches, generator):
                terms = self._losses(branch_a, branch_v, A[idx], V[idx])
                optimizer.zero_grad()
                terms["loss"].backward()
                optimizer.step()
                for key in HISTORY_KEYS:
                    sums[key] += float(terms[key].detach())
            history.append({"epoch": epoch, **{k: v / n_batches for k, v in sums.items()}})
        branch_a.eval()
        branch_v.eval()
        return history

    # -- transform -----------------------------------------------------------------------------
    def _transform_view(self, X: np.ndarray, view: View, **kwargs: Any) -> np.ndarray:
        """Standardise with the training statistics, then this view's branch: (n, d), unit rows."""
        net, scaler = by_view(view, (self.branch_audio_, self.scaler_audio_),
                              (self.branch_visual_, self.scaler_visual_))
        return predict(net, scaler.transform(X))
