r"""UGACH: Unsupervised Generative Adversarial Cross-modal Hashing (Zhang, Peng, Yuan, AAAI 2018).

An *unsupervised* deep cross-modal *hashing* method: no class label is used in training (``fit``
ignores ``y``). A generator G and a discriminator D, both two-pathway hashing networks, play a
minimax game over a **correlation graph** that stands for the manifold of the training data.

Sources. The paper's abstract and introduction (arXiv 1712.00358) and the authors' public code
(github.com/PKU-ICST-MIPL/UGACH_AAAI2018: ``train.py``, ``gen_model_nn.py``,
``dis_model_nn.py``, ``utils.py``); the paper's full text could not be retrieved here, so the
equations below are numbered (1)-(7) in the order of the method's description, and [code] marks
a detail taken from the authors' code (whose constants are the paper's settings for MIRFlickr).
Nothing here is copied from that code.

Modality mapping. The image pathway (the code's ``Wq``/``image_data``) is played by the
**visual** view and the text pathway (``Wc``/``text_data``) by the **audio** view. Both
retrieval directions are trained (i2t -> V→A queries, t2i -> A→V queries) and every term is
symmetric in the two modalities, so the mapping only names things.

The model. Each player has one pathway per modality: z-scored features -> a fully connected
common-representation layer (tanh, ``hidden`` units) -> a hashing layer of K = ``n_bits`` sigmoid
units [code: ``tanh(x W1 + b1) W2 + b2 -> sigmoid``]::

    (1)  h_o(x) = σ(W_o,2 tanh(W_o,1 x + b_o,1) + b_o,2) ∈ (0, 1)^K,     o ∈ {a, v}
         b_o(x) = sign(h_o(x) − ½) ∈ {−1, +1}^K                           (binary code)

    (2)  correlation graph: N_k^o(i) = the k nearest training rows of row i in modality o;
         the manifold neighbours of i are M(i) = {i} ∪ N_k^a(i) ∪ N_k^v(i). For a query q_i of
         one modality, the items of the other modality indexed by M(i) are its "true" (positive)
         pairs x^M ~ p_true(x | q_i) (uniform over M(i)).  [code: one precomputed
         ``KNN_cross5.npy`` serves both directions, k = 5; how it is built is not released,
         so the union of the two modalities' kNN plus the partner i is a [choice]]

    (3)  min_θ max_φ  Σ_i  E_{x ~ p_true(x|q_i)} [log D(x|q_i)]
                         + E_{x ~ p_θ(x|q_i)}   [log(1 − D(x|q_i))]           (the game)

    (4)  generator:  p_θ(x_j | q) = exp(−||h^G(q) − h^G(x_j)||²)
                                        / Σ_{l ∈ P} exp(−||h^G(q) − h^G(x_l)||²)
         a softmax over a candidate pool P of the other modality (|P| = N / ``pool_ratio``);
         the generated pairs x^G are ``n_select`` draws from it (manifold neighbours of q are
         never "generated" for D [code: ``generate_samples``])

    (5)  discriminator:  f_φ(x^G, q) = max(0, m + ||h^D(q) − h^D(x^M)||² − ||h^D(q) − h^D(x^G)||²),
         D(x^G | q) = σ(f_φ(x^G, q));  D minimises  mean f_φ  (+ weight decay)   [code: 'svm' loss]

    (6)  reward of a generated pair:  r(x^G, q) = log(1 + exp(f_φ(x^G, q)))
         (the paper's IRGAN-style reward as we read it; ``reward="sigmoid"``: σ(f_φ), what the
         released code computes, which saturates at 1 once f_φ > 4 and so, with K = 64 and
         m = 8, gives G almost no signal: measured E_p[Hamming] ≈ uniform on avdigits)

    (7)  policy gradient (REINFORCE):  ∇_θ J ≈ (1/n) Σ ∇_θ log p_θ(x^G | q) · r(x^G, q)
         G maximises J, i.e. it learns to pick candidates that D ranks close to the query
         (hard, "informative" candidates).

Codes: ``transform`` returns b_o(x) of D's pathway for that view (``output="codes"``, ranked by
Hamming) or the centred hashing layer 2 h_o(x) − 1 = tanh(z/2) ∈ (−1, 1)^K (``output="relaxed"``;
its signs are exactly the codes).

Training schedule [code: ``train.py``]: D is pre-trained (the released code loads a
pre-trained D and a fresh G); here the pre-training is ``pretrain_epochs`` passes of (5) with
uniformly random pool candidates [choice: the pre-training recipe is not in the released code].
Then every epoch: one D pass (D_EPOCH = 1) on freshly generated pairs, then
``generator_steps`` passes of (7) (G_EPOCH = 2). ``adversarial=False`` switches G off: the
"generated" pairs are drawn uniformly from the same pools and G is never trained, which leaves
a triplet-hashing network on the correlation graph (the ablation).

Hyper-parameters from the paper's code: n_neighbors k = 5 (``KNN_cross5``), pool = N/50
(``SAMPLERATIO = 50``), n_select = 2 (``SELECTNUM``), margin m = K/8 (``BETA = OUTPUT_DIM/8``),
weight decay 0.01 on every weight and bias (``WEIGHT_DECAY``, as λ·½||W||²), lr_discriminator
1e-3 and lr_generator 1e-2 (``D_LEARNING_RATE``, ``G_LEARNING_RATE``), generator_steps 2,
the reward (6). [choice] (adaptations to our data and budget):

- ``hidden`` = 256 (theirs: 8192 for 4096-d image / 1386-d text features; our inputs are
  128-d audio and 784-d visual, and the fit must take ≤ 30 s on one CPU thread);
- Adam instead of plain SGD with batch size 1 and lr decay 0.9 every 20,000 steps: ten epochs
  over ~1,600 clips are far fewer steps than their 30 epochs of single-pair SGD;
- minibatches of ``batch_size`` = 64 queries (each with n_select pairs per direction); one pool
  of N/50 candidates is drawn per minibatch and direction and shared by its queries (theirs: a
  pool per query), so G scores \|P\| + B rows per step instead of B·\|P\|;
- PyTorch's default initialisation (theirs: truncated normal, std 0.1, which saturates the tanh
  on z-scored inputs); z-scored inputs (training statistics);
- the graph (2) uses Euclidean distances of the z-scored features, contains the clip's own
  partner i, and positives are drawn uniformly from M(i) with replacement;
- pretrain_epochs = 1; the runner's ``epochs`` are the code's outer iterations (WHOLE_EPOCH = 30);
- weight decay is Adam's coupled L2 (gradient + λW, the gradient of λ·½||W||²);
- no model selection: the released code keeps the D of the epoch with the best MAP on
  *labelled* test data (``map_best_val_dis``), which an unsupervised fit cannot do; we keep the
  last epoch.

Observed on avdigits fold 0 (64 bits, 10 epochs, seeds 0-2): the generator does learn what the
paper asks of it (its draws lie at a mean Hamming distance of 17-20 bits from a test query in
D's codes, against ≈ 32 for a random candidate), but those hard candidates are more often of the
query's own class (17-23 % vs 10 %), so the game lowers retrieval MAP (0.25-0.34) below the same
network trained with random candidates (``adversarial=False``: 0.62-0.66).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from paper_lib.errors import UserError
from paper_lib.methods._hashing import (
    DEFAULT_CODE_LENGTH,
    check_code_length,
    check_output,
    hashing_metric,
    sign_codes,
)
from paper_lib.methods._torch_utils import (
    Standardizer,
    minibatch_indices,
    mlp,
    predict,
    seeded,
    to_tensor,
)
from paper_lib.methods._validation import (
    check_bool,
    check_choice,
    check_nonnegative,
    check_positive,
    check_positive_int,
    check_seed,
    check_transform_view,
    check_views,
)
from paper_lib.methods.base import VIEWS, CrossModalEstimator, View, by_view

#: the reward of a generated pair: "softplus" = log(1 + exp(f)) (eq. 6), "sigmoid" = σ(f) [code]
REWARDS: tuple[str, ...] = ("softplus", "sigmoid")
#: (query view, candidate view) of the two retrieval directions trained together
DIRECTIONS: tuple[tuple[View, View], tuple[View, View]] = (("audio", "visual"),
                                                           ("visual", "audio"))


# -- correlation graph (eq. 2) -------------------------------------------------------------------
def knn_indices(X: np.ndarray, k: int, chunk: int = 1024) -> np.ndarray:
    """(N, k) indices of the k nearest rows of every row (Euclidean; the row itself excluded).

    Computed ``chunk`` query rows at a time, so memory stays O(chunk · N) on large training sets.
    """
    T = torch.as_tensor(X, dtype=torch.float64)
    out = []
    for start in range(0, T.shape[0], chunk):
        D = torch.cdist(T[start:start + chunk], T)                      # (chunk, N)
        rows = torch.arange(D.shape[0])
        D[rows, rows + start] = float("inf")                            # not its own neighbour
        out.append(torch.topk(D, k, dim=1, largest=False).indices)
    return torch.cat(out).numpy()


def correlation_graph(X_audio: np.ndarray, X_visual: np.ndarray,
                      k: int) -> tuple[np.ndarray, np.ndarray]:
    """Manifold neighbours M(i) = {i} ∪ N_k^a(i) ∪ N_k^v(i) of every training row (eq. 2).

    Returns ``(neighbours, counts)``: row i of ``neighbours`` (N, 2k + 1) holds the distinct
    members of M(i) in its first ``counts[i]`` entries (sorted), padded with i.
    """
    n = X_audio.shape[0]
    own = np.arange(n)[:, None]
    members = np.concatenate([own, knn_indices(X_audio, k), knn_indices(X_visual, k)], axis=1)
    members = np.sort(members, axis=1)
    duplicate = np.zeros_like(members, dtype=bool)
    duplicate[:, 1:] = members[:, 1:] == members[:, :-1]
    members = np.where(duplicate, n, members)                            # n sorts last
    members = np.sort(members, axis=1)
    counts = (members < n).sum(axis=1)
    neighbours = np.where(members < n, members, own)
    return neighbours.astype(np.int64), counts.astype(np.int64)


# -- networks (eq. 1) ----------------------------------------------------------------------------
class TwoPathwayHasher(nn.Module):
    """One player (G or D): a hashing pathway per modality, h_o(x) ∈ (0, 1)^K (eq. 1)."""

    def __init__(self, d_audio: int, d_visual: int, hidden: int, n_bits: int) -> None:
        super().__init__()
        self.audio = mlp(d_audio, [hidden], n_bits, activation=nn.Tanh, out_activation=nn.Sigmoid)
        self.visual = mlp(d_visual, [hidden], n_bits, activation=nn.Tanh,
                          out_activation=nn.Sigmoid)

    def pathway(self, view: View) -> nn.Sequential:
        return by_view(view, self.audio, self.visual)

    def forward(self, X: torch.Tensor, view: View) -> torch.Tensor:
        out: torch.Tensor = self.pathway(view)(X)
        return out


def squared_distances(Hq: torch.Tensor, Hc: torch.Tensor) -> torch.Tensor:
    """||h(q_b) − h(c_p)||² for every query b and candidate p: (B, K), (P, K) -> (B, P)."""
    return ((Hq[:, None, :] - Hc[None, :, :]) ** 2).sum(dim=-1)


def triplet_hinge(hq: torch.Tensor, hpos: torch.Tensor, hgen: torch.Tensor,
                  margin: float) -> torch.Tensor:
    """f_φ(x^G, q) = max(0, m + ||h(q) − h(x^M)||² − ||h(q) − h(x^G)||²) per row (eq. 5)."""
    d_pos = ((hq - hpos) ** 2).sum(dim=-1)
    d_gen = ((hq - hgen) ** 2).sum(dim=-1)
    return torch.relu(margin + d_pos - d_gen)


def reward_of(f: torch.Tensor, reward: str) -> torch.Tensor:
    """r = log(1 + exp(f)) (eq. 6) or σ(f) [code]."""
    return nn.functional.softplus(f) if reward == "softplus" else torch.sigmoid(f)


@dataclass
class _TrainingData:
    """Training tensors: the z-scored views and the correlation graph."""

    audio: torch.Tensor       # (N, d_a)
    visual: torch.Tensor      # (N, d_v)
    neighbours: torch.Tensor  # (N, 2k + 1)
    counts: torch.Tensor      # (N,)

    @property
    def n(self) -> int:
        return int(self.audio.shape[0])

    def view(self, view: View) -> torch.Tensor:
        return by_view(view, self.audio, self.visual)

    def positives(self, idx: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
        """n uniform draws (with replacement) from M(i) for each query i: (B, n) row indices."""
        u = torch.rand(idx.shape[0], n, generator=generator)
        slot = (u * self.counts[idx, None]).long()                          # < counts
        return torch.gather(self.neighbours[idx], 1, slot)

    def is_neighbour(self, idx: torch.Tensor, pool: torch.Tensor) -> torch.Tensor:
        """(B, P) mask: pool item p ∈ M(idx_b)."""
        nb = self.neighbours[idx]                                          # (B, 2k + 1)
        valid = torch.arange(nb.shape[1])[None, :] < self.counts[idx, None]
        hit = (nb[:, None, :] == pool[None, :, None]) & valid[:, None, :]
        return hit.any(dim=-1)


class UGACH(CrossModalEstimator):
    """Unsupervised generative adversarial cross-modal hashing (UGACH).

    A generator and a discriminator, both two-pathway hashing networks, play a minimax game
    over a correlation graph of the training data; the discriminator's hashing layer gives the
    K-bit binary codes, ranked by Hamming distance (see the module docstring). One of the
    paper's four state-of-the-art baselines. Unsupervised: ``fit`` ignores ``y``.

    Parameters
    ----------
    n_bits : int, default=DEFAULT_CODE_LENGTH
        Code length K (64; the paper reports 16-128).
    output : {"codes", "relaxed"}, default="codes"
        "codes" (sign of D's hashing layer, Hamming ranking) or "relaxed" (2h − 1).
    hidden : int, default=256
        Width of the common-representation layer of every pathway ([choice]).
    n_neighbors : int, default=5
        k of the kNN correlation graph in each modality ([code]).
    pool_ratio : int, default=50
        The candidate pool holds N / pool_ratio training rows ([code]).
    n_select : int, default=2
        Generated (and positive) pairs per query and direction ([code]).
    margin : float or None, default=None
        Hinge margin m of eq. (5); None = n_bits / 8 ([code]).
    lr_discriminator : float, default=1e-3
        Adam learning rate of D ([code]).
    lr_generator : float, default=1e-2
        Adam learning rate of G ([code]).
    weight_decay : float, default=0.01
        L2 penalty λ on every parameter of both players ([code]).
    epochs : int, default=10
        Outer iterations (one D pass + ``generator_steps`` G passes each).
    pretrain_epochs : int, default=1
        D passes with uniformly random candidates before the game ([choice]).
    generator_steps : int, default=2
        G passes per epoch ([code]).
    batch_size : int, default=64
        Queries per minibatch ([choice]).
    adversarial : bool, default=True
        False = no generator: uniformly random pool candidates (the ablation).
    reward : {"softplus", "sigmoid"}, default="softplus"
        "softplus" (eq. 6) or "sigmoid" (the released code).
    random_state : int or None, default=0
        Seeds the initialisation, the pools, the draws and the data order.

    Attributes
    ----------
    discriminator_ : TwoPathwayHasher
        D, whose hashing layer gives the codes.
    generator_ : TwoPathwayHasher
        G.
    scaler_audio_ : Standardizer
        z-scoring of the audio inputs (training statistics).
    scaler_visual_ : Standardizer
        z-scoring of the visual inputs.
    graph_neighbours_ : ndarray
        The kNN correlation graph (eq. 2).
    graph_counts_ : ndarray
        Its counts (eq. 2).
    pool_size_ : int
        Candidates per pool.
    margin_ : float
        The hinge margin used.
    history_ : list of dict
        One dict per epoch: ``loss`` = D's mean hinge on the generated pairs, ``g_loss``,
        ``reward`` (mean reward of G's draws), ``hamming_generated`` / ``hamming_pool``: mean
        Hamming distance (D's codes) from the query to the generated candidates / to the whole
        pool, i.e. to a uniformly random candidate.
    pretrain_history_ : list of dict
        The same for the pre-training passes.
    n_components_ : int
        The code length (= ``n_bits``).
    n_features_audio_ : int
        Width d_a of the audio view seen by ``fit``.
    n_features_visual_ : int
        Width d_v of the visual view seen by ``fit``.

    References
    ----------
    J. Zhang, Y. Peng, M. Yuan. Unsupervised generative adversarial cross-modal hashing.
    AAAI 2018, 539-546.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(3), 20)                      # 3 classes x 20 paired clips
    >>> X_audio = 3 * rng.normal(size=(3, 6))[y] + rng.normal(size=(60, 6))    # (N, d_a)
    >>> X_visual = 3 * rng.normal(size=(3, 8))[y] + rng.normal(size=(60, 8))   # (N, d_v)
    >>> from paper_lib.methods.ugach import UGACH
    >>> ugach = UGACH(n_bits=8, hidden=16, pool_ratio=5, epochs=1)
    >>> Z_audio, Z_visual = ugach.fit(X_audio, X_visual).transform(X_audio, X_visual)
    >>> Z_audio.shape, sorted(np.unique(Z_audio).tolist())     # 8-bit codes in {-1, +1}
    ((60, 8), [-1.0, 1.0])
    >>> ugach.retrieval_metric                                 # ranked by Hamming distance
    'hamming'
    """

    supervised = False
    _fitted_attribute = "discriminator_"

    def __init__(self, n_bits: int = DEFAULT_CODE_LENGTH, output: str = "codes",
                 hidden: int = 256, n_neighbors: int = 5, pool_ratio: int = 50,
                 n_select: int = 2, margin: float | None = None,
                 lr_discriminator: float = 1e-3, lr_generator: float = 1e-2,
                 weight_decay: float = 0.01, epochs: int = 10, pretrain_epochs: int = 1,
                 generator_steps: int = 2, batch_size: int = 64, adversarial: bool = True,
                 reward: str = "softplus", random_state: int | None = 0) -> None:
        self.n_bits = n_bits
        self.output = output
        self.hidden = hidden
        self.n_neighbors = n_neighbors
        self.pool_ratio = pool_ratio
        self.n_select = n_select
        self.margin = margin
        self.lr_discriminator = lr_discriminator
        self.lr_generator = lr_generator
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.pretrain_epochs = pretrain_epochs
        self.generator_steps = generator_steps
        self.batch_size = batch_size
        self.adversarial = adversarial
        self.reward = reward
        self.random_state = random_state

    @property
    def retrieval_metric(self) -> str | None:
        return hashing_metric(self.output)

    # -- checks --------------------------------------------------------------------------------
    def _check_hyperparameters(self) -> None:
        check_code_length(self.n_bits)
        check_output(self.output)
        for name in ("hidden", "n_neighbors", "pool_ratio", "n_select", "epochs",
                     "generator_steps", "batch_size"):
            check_positive_int(getattr(self, name), name)
        _check_nonnegative_int(self.pretrain_epochs, "pretrain_epochs")
        if self.margin is not None:
            check_nonnegative(self.margin, "margin")
        check_positive(self.lr_discriminator, "lr_discriminator")
        check_positive(self.lr_generator, "lr_generator")
        check_nonnegative(self.weight_decay, "weight_decay")
        check_bool(self.adversarial, "adversarial")
        check_choice(self.reward, "reward", REWARDS)
        check_seed(self.random_state)

    # -- fit -----------------------------------------------------------------------------------
    def _fit(self, X_audio: np.ndarray, X_visual: np.ndarray, y: np.ndarray | None,
             **kwargs: Any) -> None:
        """Build the correlation graph and play the G/D game on the training rows (no labels)."""
        Xa, Xv, _ = check_views(X_audio, X_visual, y, need_labels=False)  # y is never used
        n = Xa.shape[0]
        if int(self.n_neighbors) >= n:
            raise UserError(f"n_neighbors={self.n_neighbors} must be smaller than the number of "
                            f"training rows ({n}).")
        self.n_features_audio_, self.n_features_visual_ = Xa.shape[1], Xv.shape[1]
        self.scaler_audio_ = Standardizer().fit(Xa)
        self.scaler_visual_ = Standardizer().fit(Xv)
        Za, Zv = self.scaler_audio_.transform(Xa), self.scaler_visual_.transform(Xv)
        neighbours, counts = correlation_graph(Za, Zv, int(self.n_neighbors))
        self.graph_neighbours_, self.graph_counts_ = neighbours, counts
        self.pool_size_ = max(n // int(self.pool_ratio), 1)
        self.margin_ = float(self.n_bits) / 8.0 if self.margin is None else float(self.margin)
        data = _TrainingData(to_tensor(Za), to_tensor(Zv), torch.as_tensor(neighbours),
                             torch.as_tensor(counts))
        with seeded(check_seed(self.random_state)) as generator:
            self._train(data, generator)
        self.n_components_ = int(self.n_bits)

    def _make_players(self, d_audio: int, d_visual: int
                      ) -> tuple[TwoPathwayHasher, TwoPathwayHasher]:
        """The untrained G and D (G first: the order of the seeded weight draws)."""
        hidden, k = int(self.hidden), int(self.n_bits)
        return (TwoPathwayHasher(d_audio, d_visual, hidden, k),
                TwoPathwayHasher(d_audio, d_visual, hidden, k))

    def _build_modules(self) -> dict[str, Any]:
        G, D = self._make_players(self.n_features_audio_, self.n_features_visual_)
        return {"generator_": G, "discriminator_": D}

    def _train(self, data: _TrainingData, generator: torch.Generator) -> None:
        """Pre-train D, then alternate one D pass and ``generator_steps`` G passes per epoch."""
        self.generator_, self.discriminator_ = self._make_players(data.audio.shape[1],
                                                                  data.visual.shape[1])
        opt_d = torch.optim.Adam(self.discriminator_.parameters(), lr=self.lr_discriminator,
                                 weight_decay=self.weight_decay)
        opt_g = torch.optim.Adam(self.generator_.parameters(), lr=self.lr_generator,
                                 weight_decay=self.weight_decay)
        self.pretrain_history_ = [self._discriminator_pass(data, opt_d, generator, use_g=False)
                                  for _ in range(int(self.pretrain_epochs))]
        self.history_: list[dict[str, float]] = []
        for epoch in range(1, int(self.epochs) + 1):
            record = self._discriminator_pass(data, opt_d, generator, use_g=bool(self.adversarial))
            if self.adversarial:
                g_passes = [self._generator_pass(data, opt_g, generator)
                            for _ in range(int(self.generator_steps))]
                record |= {key: float(np.mean([g[key] for g in g_passes])) for key in g_passes[0]}
            self.history_.append({"epoch": epoch, **record})
        self.generator_.eval()
        self.discriminator_.eval()

    def _batches(self, data: _TrainingData, generator: torch.Generator) -> list[torch.Tensor]:
        n_batches = max(-(-data.n // int(self.batch_size)), 1)
        return minibatch_indices(data.n, n_batches, generator)

    def _pool(self, data: _TrainingData, generator: torch.Generator) -> torch.Tensor:
        """A candidate pool of N / pool_ratio distinct training rows (uniform)."""
        return torch.randperm(data.n, generator=generator)[: self.pool_size_]

    # -- D: eq. (5) ----------------------------------------------------------------------------
    def _discriminator_pass(self, data: _TrainingData, optimizer: torch.optim.Optimizer,
                            generator: torch.Generator, use_g: bool) -> dict[str, float]:
        """One pass of D over all queries (both directions) on generated (or random) pairs."""
        self.discriminator_.train()
        sums = {"loss": 0.0, "hamming_generated": 0.0, "hamming_pool": 0.0}
        batches = self._batches(data, generator)
        for idx in batches:
            losses = []
            for q_view, c_view in DIRECTIONS:
                pool = self._pool(data, generator)
                draws = self._generate(data, idx, pool, q_view, c_view, generator, use_g)
                f, hq, hpool = self._hinge(data, idx, pool, draws, q_view, c_view, generator)
                losses.append(f.mean())
                stats = _hamming_stats(hq.detach(), hpool.detach(), draws)
                sums["hamming_generated"] += stats[0] / (2 * len(batches))
                sums["hamming_pool"] += stats[1] / (2 * len(batches))
            loss = 0.5 * (losses[0] + losses[1])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            sums["loss"] += float(loss.detach()) / len(batches)
        return sums

    def _hinge(self, data: _TrainingData, idx: torch.Tensor, pool: torch.Tensor,
               draws: torch.Tensor, q_view: View, c_view: View, generator: torch.Generator
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """f_φ (eq. 5) of every generated pair (B, n_sel) against a random manifold pair, with
        D's hashing layer of the queries (B, K) and of the pool (P, K)."""
        n_sel = draws.shape[1]
        pos = data.positives(idx, n_sel, generator)                             # (B, n_sel)
        hq = self.discriminator_(data.view(q_view)[idx], q_view)                 # (B, K)
        hpool = self.discriminator_(data.view(c_view)[pool], c_view)             # (P, K)
        hpos = self.discriminator_(data.view(c_view)[pos.reshape(-1)], c_view)   # (B·n_sel, K)
        hgen = hpool[draws.reshape(-1)]                                          # (B·n_sel, K)
        f = triplet_hinge(hq.repeat_interleave(n_sel, dim=0), hpos, hgen, self.margin_)
        return f.reshape(draws.shape), hq, hpool

    # -- G: eq. (4) and (7) --------------------------------------------------------------------
    def _generator_logits(self, Xq: torch.Tensor, q_view: View, Xc: torch.Tensor,
                          c_view: View) -> torch.Tensor:
        """Relevance scores −||h^G(q) − h^G(x)||² of every candidate for every query (eq. 4)."""
        return -squared_distances(self.generator_(Xq, q_view), self.generator_(Xc, c_view))

    @torch.no_grad()
    def _generate(self, data: _TrainingData, idx: torch.Tensor, pool: torch.Tensor,
                  q_view: View, c_view: View, generator: torch.Generator,
                  use_g: bool) -> torch.Tensor:
        """Positions in the pool of n_select generated candidates per query, (B, n_sel): draws
        from p_θ over the pool (eq. 4), or uniform draws (``use_g=False``); the query's manifold
        neighbours are never drawn (unless the pool holds nothing else)."""
        if use_g:
            self.generator_.eval()
            logits = self._generator_logits(data.view(q_view)[idx], q_view,
                                            data.view(c_view)[pool], c_view)   # (B, P)
        else:
            logits = torch.zeros(idx.shape[0], pool.shape[0])
        blocked = data.is_neighbour(idx, pool)
        blocked &= ~blocked.all(dim=1, keepdim=True)
        probs = torch.softmax(logits.masked_fill(blocked, float("-inf")), dim=1)
        return torch.multinomial(probs, int(self.n_select), replacement=True,
                                 generator=generator)

    def _generator_pass(self, data: _TrainingData, optimizer: torch.optim.Optimizer,
                        generator: torch.Generator) -> dict[str, float]:
        """One REINFORCE pass of G over all queries, both directions (eq. 7)."""
        self.generator_.train()
        self.discriminator_.eval()
        g_loss, rewards = 0.0, 0.0
        batches = self._batches(data, generator)
        for idx in batches:
            losses = []
            for q_view, c_view in DIRECTIONS:
                pool = self._pool(data, generator)
                logp = torch.log_softmax(self._generator_logits(
                    data.view(q_view)[idx], q_view, data.view(c_view)[pool], c_view), dim=1)
                draws = torch.multinomial(logp.detach().exp(), int(self.n_select),
                                          replacement=True, generator=generator)  # (B, n_sel)
                with torch.no_grad():                                              # eq. (6)
                    f = self._hinge(data, idx, pool, draws, q_view, c_view, generator)[0]
                    r = reward_of(f, self.reward)
                losses.append(-(torch.gather(logp, 1, draws) * r).mean())       # eq. (7)
                rewards += float(r.mean()) / (2 * len(batches))
            loss = 0.5 * (losses[0] + losses[1])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            g_loss += float(loss.detach()) / len(batches)
        return {"g_loss": g_loss, "reward": rewards}

    # -- transform and diagnostics -------------------------------------------------------------
    def _hash_layer(self, X: np.ndarray, view: View,
                    player: TwoPathwayHasher | None = None) -> np.ndarray:
        """h_o(x) ∈ (0, 1)^K of D (or ``player``) for one raw view (z-scored with its scaler)."""
        Z = by_view(view, self.scaler_audio_, self.scaler_visual_).transform(X)
        net = player if player is not None else self.discriminator_
        return predict(net.pathway(view), Z)

    def _transform_view(self, X: np.ndarray, view: View, **kwargs: Any) -> np.ndarray:
        """D's hashing layer of this view alone: sign(h − ½) (codes) or 2h − 1 (relaxed)."""
        relaxed = 2.0 * self._hash_layer(X, view) - 1.0                   # (n, K), tanh(z / 2)
        return sign_codes(relaxed) if self.output == "codes" else relaxed

    def generator_probabilities(self, X_query: np.ndarray, query_view: View,
                                X_candidates: np.ndarray) -> np.ndarray:
        """p_θ(x_j | q_i) of eq. (4) over the given candidates of the other modality: an
        (n_query, n_candidates) matrix whose rows sum to 1. A diagnostic of the trained
        generator (``transform`` never uses it)."""
        self._check_fitted()
        if query_view not in VIEWS:
            raise UserError(f"query_view must be one of {VIEWS}, got {query_view!r}.")
        c_view: View = "visual" if query_view == "audio" else "audio"
        Xq = check_transform_view(X_query, f"X_{query_view}", self._n_features(query_view))
        Xc = check_transform_view(X_candidates, f"X_{c_view}", self._n_features(c_view))
        Hq = torch.as_tensor(self._hash_layer(Xq, query_view, self.generator_))   # (n_q, K)
        Hc = torch.as_tensor(self._hash_layer(Xc, c_view, self.generator_))       # (n_c, K)
        return torch.softmax(-squared_distances(Hq, Hc), dim=1).numpy()


def _hamming_stats(hq: torch.Tensor, hpool: torch.Tensor,
                   draws: torch.Tensor) -> tuple[float, float]:
    """Mean Hamming distance of the codes sign(h − ½): query -> its drawn pool candidates, and
    query -> every pool candidate (a uniformly random candidate's expectation)."""
    H = (((hq >= 0.5)[:, None, :]) != ((hpool >= 0.5)[None, :, :])).sum(dim=-1).float()  # (B, P)
    return float(torch.gather(H, 1, draws).mean()), float(H.mean())


def _check_nonnegative_int(value: Any, name: str) -> int:
    """``value`` must be an integer >= 0 (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise UserError(f"{name} must be a non-negative integer, got {value!r}.")
    return int(value)
