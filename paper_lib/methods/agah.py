r"""AGAH: Adversary Guided Asymmetric Hashing (Gu, Gu, Gu, Li, Xiong, Wang, ACM ICMR 2019).

A supervised deep cross-modal *hashing* method. Each modality has a feature network; an
adversary-guided multi-label attention module refines the features; a hash layer per modality
gives tanh outputs ``h`` whose signs are the binary codes. The hash outputs are tied by a cosine
triplet loss across modalities and by an *asymmetric* loss to a learned binary "multi-label code
map" (one K-bit code per label), which is updated by discrete optimisation, not by gradients.

Sources. The paper's full text could not be retrieved here; the method is built from its
abstract and Figure 1 (feature nets -> adversary-guided attention module with two discriminators
-> attended feature -> hash layer -> "Cosine Triplet Loss" between the two modalities' codes and
"Asymmetric Loss" against the "Multi-label Code Map"), and from the authors' public code
(github.com/WendellGul/AGAH: ``main.py``, ``models/agah.py``, ``models/triplet_loss.py``,
``config.py``), whose defaults are taken as the paper's hyper-parameters (they could not be
checked against the paper's text). [code] marks a detail taken from that code. The equations
are numbered (1)-(12) here in the order of Figure 1; the paper's own equation numbers could not
be checked. AGAH has no DCMH-style pairwise inner-product likelihood and no bit-balance term:
its similarity term is the cosine triplet loss (7) and its asymmetric term is (9) against the
label-level code map.

Modality mapping. The image network's role is played by the **visual** view and the text
network's by the **audio** view (``models/agah.py``: ``img_module`` -> ``net_visual_``,
``txt_module`` -> ``net_audio_``; ``dis_img`` -> ``critic_visual_``, ``dis_txt`` ->
``critic_audio_``). Every term is symmetric in the two modalities, so the mapping only names
things.

Labels. AGAH is written for multi-label data (label vectors l_i ∈ {0, 1}^c). Our data are
single-label, so l_i is the **one-hot** vector of the class y_i: "sharing a label" becomes
"same class", and Y = 2L − 1 has +1 at the class and −1 elsewhere.

The model, for a clip i with audio x_a and visual x_v (o ∈ {a, v})::

    (1)  f_o = φ_o(x_o) / ||φ_o(x_o)||                          feature network + L2 norm
    (2)  m_o = σ(ω f_o Mᵀ) ∈ (0, 1)^c                           multi-label attention mask
    (3)  f̂_o = λ f_o + (1 − λ) (m_o M) / (m_o 1)                attended feature
    (4)  M_j = normalise(½ (mean_{y_i = j} f_a,i + mean_{y_i = j} f_v,i))   feature map (per epoch)
    (5)  critic D_a (real: f_a, fake: f_v) and D_v (real: f_v, fake: f_a), WGAN-GP:
         L_D = E[D(fake)] − E[D(real)] + 10 E[(||∇D(f̃)|| − 1)²],  f̃ = ε real + (1 − ε) fake
         L_adv = −E[D_a(f_v)] − E[D_v(f_a)]                      (the feature nets' side)
    (6)  h_o = tanh(W_o f̂_o + b_o) ∈ (−1, 1)^K,   b_o = sign(h_o) ∈ {−1, +1}^K
    (7)  L_tri = Σ_{i,j,k: y_i = y_j ≠ y_k} [d(h_a,i, h_v,j) − d(h_a,i, h_v,k) + m]₊ + (a ↔ v),
         d(u, w) = 1 − cos(u, w)                                  cosine triplet loss
    (8)  L_cq = Σ_o Σ_i 1 / (1 + exp(cos(|h_o,i|, 1)))            cosine quantisation
    (9)  L_am = Σ_o ||H_o Cᵀ − K Y||²_F,   C ∈ {−1, +1}^{c×K}       asymmetric loss to the code map
    (10) L_q = Σ_o ||H_o − sign(H_o)||²_F                          quantisation
    (11) L = L_tri + α L_cq + γ L_am + η L_q + μ L_adv             (+ β L_cls with β = 0 [code])
    (12) C ← argmin_C Σ_o ||B_o Cᵀ − K Y||² + ||C C̄ᵀ − K S||²,  S = 2I − 1, C̄ = previous C,
         solved bit by bit (discrete cyclic coordinate descent):
         C_{:,k} = sign(Q_{:,k} − C_{:,−k} G_{−k,k}),  Q = K (Yᵀ(B_a + B_v) + S C̄),
         G = B_aᵀB_a + B_vᵀB_v + C̄ᵀC̄

The networks are trained on (11) by minibatch steps, each preceded by one critic step on (5);
after every epoch the feature map M (4) and the code map C (12) are recomputed from the features
and the codes B_o = sign(H_o) of all training rows, stored as the epoch visited them [code]. The
asymmetry is between the real-valued network outputs H and the binary code map C in (9) and
(12) (and between C and its previous value C̄ in (12)).

In code: :func:`normalised_features` (1), :func:`attend` (2)-(3), :func:`feature_map` (4),
:func:`gradient_penalty` and ``AGAH._critic_step`` (5), ``AGAH._hash`` (6),
:func:`cosine_triplet_loss` (7), :func:`cosine_quantization_loss` (8), :func:`code_map_loss` (9),
:func:`quantization_loss` (10), ``AGAH._network_step`` (11), :func:`update_code_map` (12).

Hyper-parameters of the paper (the defaults of the authors' ``config.py`` [code]): K = ``n_bits`` (16-128
bits in the paper; 64 here, ``_hashing.DEFAULT_CODE_LENGTH``), feature width 512 (``emb_dim``),
λ = 0.8 (``lambd``), m = 0.3 (``margin``), α = 1 (``alpha``), β = 0 (classification loss, hence
omitted), γ = 0.001 (``gamma``), η = 1 (``eta``), μ = 1 (``mu``), gradient penalty 10
(``gp_weight``), ω = 5 (``omega``, the attention temperature), Adamax with learning rate 1e-3 for
the text net, hash layers (and, here, every feature net) and weight decay 5e-4; critics: Adamax,
learning rate 1e-3, betas (0.5, 0.9), weight decay 1e-4, one critic step per network step;
critics 512 -> 512 -> 256 -> 1 with ReLU. The sums in (7)-(10) are sums over the minibatch, as
in the authors' code (``reduction='sum'``); the critic terms are means.

Adaptations to our data and budget ([choice]):

- feature networks: MLPs on clip-level features instead of the paper's CNN-F image net and its
  text MLP (text net: 8192 -> 4096 -> 512, all ReLU): z-scored input -> ``hidden`` (512) -> ReLU
  -> ``emb_dim`` (512) -> ReLU for each view; image and text nets are replaced alike, and the
  image net's smaller learning rate (1e-4, for its ImageNet-pretrained weights) does not apply.
- (1) normalises each row (the authors' code divides by the norm of the whole minibatch tensor,
  which would make an embedding depend on the other rows of its batch).
- (4) initial feature map: the class means of the untrained networks' features (the authors
  start from random Gaussian rows); the code map starts from random signs [code].
- (12) uses Y = 2L − 1, matching (9) (the authors' update uses the 0/1 matrix L there).
- epochs: the runner's global ``epochs`` (10; the paper trains 300). The batch size stays the
  paper's 128 (13 steps per epoch on ~1,600 rows, 130 in 10 epochs): because (7)-(10) are sums,
  their balance depends on the batch size (the triplet sum grows like B³, the quantisation sum
  like B·K). With batches of 32 the quantisation term froze the initial random signs of h and
  the avdigits fold-0 Hamming MAP fell to 0.18-0.60 across seeds (0.87-0.90 with 128).
- ``adversarial=False`` switches the adversary off (no critics, no L_adv) for ablations.

What the adversary changes, measured. At the paper's μ = 1 its gradient is swamped by the summed
hashing losses: on avdigits fold 0 (10 epochs, seeds 0 and 1) the held-out features f are as
separable by modality (logistic regression, ``metrics.modality``: 1.00 with and without; the
codes: 0.79-0.82 both ways) and as far apart (energy distance 0.29 vs 0.29, distance between
the modality means 0.56 vs 0.56) as without the adversary, and the MAP is unchanged.
Magnified (μ = 1000) it clearly pulls the two feature distributions together (energy distance
0.29 -> 0.12 on avdigits, about threefold lower on the test-suite's toy) at no cost in MAP,
though the modalities stay linearly separable. The tests check the magnified effect; μ keeps
the paper's value.

Retrieval. Every test item is encoded by the hash functions (6): ``output="codes"`` returns
b = sign(h) ∈ {−1, +1}^K (ranked by Hamming distance), ``output="relaxed"`` returns h. In our
protocol the test fold is both query set and gallery. The paper retrieves from a separate
database that contains its training items; that is the departure. How items are encoded is
not: the authors also encode their database by running the networks on it
(``generate_img_code``/``generate_txt_code``), because AGAH's learned binary matrix is the
label-level code map C, used only in training, not a set of per-item database codes as in
DCMH/ADSH-style asymmetric hashing.

Differences from TNN-C-CCA: binary codes and Hamming ranking instead of a real-valued space and
cosine; no CCA stage; label supervision enters through a cosine triplet loss on the codes plus
a learned label-level code map, and an adversary aligns the two modalities' feature
distributions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from paper_lib.methods._hashing import (
    DEFAULT_CODE_LENGTH,
    check_code_length,
    check_output,
    hashing_metric,
    sign_codes,
)
from paper_lib.methods._torch_utils import (
    Standardizer,
    largest_batch,
    minibatch_indices,
    mlp,
    resolve_n_batches,
    seeded,
    to_numpy,
    to_tensor,
)
from paper_lib.methods._validation import (
    check_bool,
    check_choice,
    check_nonnegative,
    check_number,
    check_positive,
    check_positive_int,
    check_seed,
    check_transform_view,
    check_views,
)
from paper_lib.methods.base import VIEWS, CrossModalEstimator, View, by_view

#: the per-epoch records of ``history_`` (means over the epoch's minibatches)
HISTORY_KEYS = ("loss", "triplet", "cos_quant", "code_map", "quant", "adv", "critic")


# -- the model's pieces ----------------------------------------------------------------------------
def feature_network(in_dim: int, hidden: int, emb_dim: int) -> nn.Sequential:
    """φ_o of eq. (1) [choice]: Linear -> ReLU -> Linear -> ReLU (the paper's fc layers are
    ReLU-activated, ending in a ``emb_dim``-unit ReLU layer [code])."""
    return mlp(in_dim, [hidden], emb_dim, activation=nn.ReLU, out_activation=nn.ReLU)


def critic_network(emb_dim: int) -> nn.Sequential:
    """A WGAN critic of eq. (5): emb_dim -> emb_dim -> 256 -> 1, ReLU [code]."""
    return mlp(emb_dim, [emb_dim, 256], 1, activation=nn.ReLU)


def normalised_features(net: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """Eq. (1): f = φ(x) / ||φ(x)||, row by row [choice] (a zero row stays zero)."""
    return F.normalize(net(X), dim=1)


def attend(f: torch.Tensor, M: torch.Tensor, lambd: float, omega: float) -> torch.Tensor:
    """Eqs. (2)-(3): mask m = σ(ω f Mᵀ) over the c labels, f̂ = λ f + (1 − λ) m M / Σ m."""
    mask = torch.sigmoid(omega * f @ M.T)                         # (n, c), eq. (2)
    attended = (mask @ M) / mask.sum(dim=1, keepdim=True)          # (n, emb), mask-weighted M
    return lambd * f + (1.0 - lambd) * attended                    # eq. (3)


def feature_map(Fa: torch.Tensor, Fv: torch.Tensor, L: torch.Tensor) -> torch.Tensor:
    """Eq. (4): per label, the mean of the two modalities' class means, L2-normalised [code].

    ``L`` is the (N, c) 0/1 label matrix (one-hot here); every label must occur.
    """
    counts = L.sum(dim=0).unsqueeze(1)                             # (c, 1)
    mean_a, mean_v = (L.T @ Fa) / counts, (L.T @ Fv) / counts      # (c, emb) each
    return F.normalize(0.5 * (mean_a + mean_v), dim=1)


def cosine_triplet_loss(anchor: torch.Tensor, target: torch.Tensor,
                        same: torch.Tensor, margin: float) -> torch.Tensor:
    """Eq. (7), one direction: Σ over every triplet (i, j, k) with i, j of one class and k of
    another of [d(a_i, t_j) − d(a_i, t_k) + m]₊, d = 1 − cosine [code: batch-all, summed].

    ``same`` (n, n) is 1 where anchor row i and target row j share the class. Only the
    positive pairs (i, j) are expanded (P × n hinges instead of n³; the same sum).
    """
    dist = 1.0 - F.normalize(anchor, dim=1) @ F.normalize(target, dim=1).T  # (n, n) cosine
    i, j = same.nonzero(as_tuple=True)                             # the P positive pairs
    hinge = torch.relu(dist[i, j].unsqueeze(1) - dist[i] + margin)  # (P, n): negatives k
    return (hinge * (1.0 - same[i])).sum()


def cosine_quantization_loss(H: torch.Tensor) -> torch.Tensor:
    """Eq. (8): Σ_i 1 / (1 + exp(cos(``|h_i|``, 1))); smallest when every ``|h_ik|`` is equal."""
    cos = F.cosine_similarity(H.abs(), torch.ones_like(H), dim=1)
    return torch.sigmoid(-cos).sum()                               # 1/(1+e^x) = σ(−x)


def code_map_loss(H: torch.Tensor, C: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """Eq. (9), one modality: ||H Cᵀ − K Y||²_F with Y = 2L − 1 (the code of a row's label
    should agree with it on all K bits, the other labels' codes should disagree)."""
    n_bits = H.shape[1]
    return ((H @ C.T - n_bits * Y) ** 2).sum()


def quantization_loss(H: torch.Tensor) -> torch.Tensor:
    """Eq. (10), one modality: ||H − sign(H)||²_F."""
    return ((H - torch.sign(H)) ** 2).sum()


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     generator: torch.Generator) -> torch.Tensor:
    """The WGAN-GP term of eq. (5): E[(||∇D(f̃)||₂ − 1)²] at f̃ = ε real + (1 − ε) fake, with
    ε ~ U(0, 1) drawn per coordinate [code] from the seeded ``generator``."""
    eps = torch.rand(real.shape, generator=generator)
    mixed = (eps * real + (1.0 - eps) * fake).requires_grad_(True)
    out = critic(mixed)
    (grad,) = torch.autograd.grad(out.sum(), mixed, create_graph=True)
    return ((grad.norm(dim=1) - 1.0) ** 2).mean()


def update_code_map(Ba: torch.Tensor, Bv: torch.Tensor, C: torch.Tensor,
                    Y: torch.Tensor) -> torch.Tensor:
    """Eq. (12): one sweep of discrete cyclic coordinate descent over the K bits of the code map.

    Minimises Σ_o ||B_o Cᵀ − K Y||² + ||C C̄ᵀ − K S||² over C ∈ {−1, +1}^{c×K}, where
    S = 2I − 1 asks different labels for opposite codes and C̄ (the previous map) is held fixed
    [code]. Written as tr(C G Cᵀ) − 2 tr(Cᵀ Q) + const, each column has the closed form
    C_{:,k} = sign(Q_{:,k} − C_{:,−k} G_{−k,k}) given the others; sign(0) = +1.
    """
    n_labels, n_bits = C.shape
    S = 2.0 * torch.eye(n_labels, dtype=C.dtype) - 1.0            # (c, c)
    C_prev = C.clone()
    Q = n_bits * (Y.T @ (Ba + Bv) + S @ C_prev)                    # (c, K)
    G = Ba.T @ Ba + Bv.T @ Bv + C_prev.T @ C_prev                  # (K, K)
    C_new = C_prev.clone()
    for k in range(n_bits):
        others = torch.arange(n_bits) != k
        column = Q[:, k] - C_new[:, others] @ G[others, k]
        C_new[:, k] = binarise(column)
    return C_new


def binarise(H: torch.Tensor) -> torch.Tensor:
    """sign(H) with sign(0) = +1 (as ``_hashing.sign_codes``), as a float tensor."""
    return torch.where(H >= 0, 1.0, -1.0)


def same_class(y_rows: torch.Tensor, y_cols: torch.Tensor) -> torch.Tensor:
    """(n, m) float matrix, 1 where the two rows share the class."""
    return (y_rows.unsqueeze(1) == y_cols.unsqueeze(0)).float()


@dataclass
class _TrainState:
    """What every minibatch step of one fit needs: the standardised views, the class indices,
    the one-hot label matrix L and Y = 2L − 1, the optimisers and the seeded generator."""

    A: torch.Tensor                                    # (N, d_a)
    V: torch.Tensor                                    # (N, d_v)
    y: torch.Tensor                                    # (N,) class indices 0..c-1
    L: torch.Tensor                                    # (N, c) one-hot
    Y: torch.Tensor                                    # (N, c) in {−1, +1}
    optimizer: torch.optim.Optimizer
    critic_opt: torch.optim.Optimizer | None
    generator: torch.Generator


# -- the estimator ---------------------------------------------------------------------------------
class AGAH(CrossModalEstimator):
    """Adversary Guided Asymmetric Hashing (Gu et al., ICMR 2019); see the module docstring.

    A supervised deep cross-modal hashing method: per-modality feature networks, an
    adversary-guided multi-label attention module, and a hash layer per modality whose signs are
    the K-bit codes, tied by a cosine triplet loss across modalities and an asymmetric loss to a
    learned binary code per class. One of the paper's four state-of-the-art baselines;
    supervised: ``fit`` needs the class labels ``y``.

    Parameters
    ----------
    n_bits : int, default=DEFAULT_CODE_LENGTH
        K, the code length (64; the paper reports 16, 32, 64, 128).
    output : {"codes", "relaxed"}, default="codes"
        "codes" (sign(h) ∈ {−1, +1}, Hamming ranking) or "relaxed" (the tanh outputs h).
    emb_dim : int, default=512
        Feature width ([code]).
    hidden : int, default=512
        Hidden width of each feature MLP ([choice]).
    lambd : float, default=0.8
        λ of eq. (3).
    omega : float, default=5.0
        ω of eq. (2).
    margin : float, default=0.3
        m of eq. (7).
    alpha : float, default=1.0
        Weight of eq. (8).
    gamma : float, default=0.001
        Weight of eq. (9).
    eta : float, default=1.0
        Weight of eq. (10).
    mu : float, default=1.0
        Weight of L_adv in eq. (11).
    gp_weight : float, default=10.0
        Gradient-penalty weight of eq. (5).
    adversarial : bool, default=True
        False switches the adversary off (no critics, no L_adv).
    lr : float, default=1e-3
        Adamax learning rate of the networks.
    weight_decay : float, default=5e-4
        Adamax weight decay of the networks.
    critic_lr : float, default=1e-3
        Adamax (betas 0.5, 0.9) learning rate of the critics.
    critic_weight_decay : float, default=1e-4
        Adamax weight decay of the critics.
    epochs : int, default=10
        Training epochs (the runner's global value; the paper trains 300).
    batch_size : int, default=128
        Clips per minibatch (the paper's; see the module docstring).
    random_state : int or None, default=0
        Seeds weights, the initial code map, data order and the penalty's ε.

    Attributes
    ----------
    net_audio_ : torch.nn.Module
        φ of eq. (1) for the audio view.
    net_visual_ : torch.nn.Module
        φ of eq. (1) for the visual view.
    hash_audio_ : torch.nn.Module
        The audio hash layer (eq. (6)).
    hash_visual_ : torch.nn.Module
        The visual hash layer (eq. (6)).
    critic_audio_ : torch.nn.Module or None
        The audio critic (eq. (5); ``None`` when ``adversarial=False``).
    critic_visual_ : torch.nn.Module or None
        The visual critic.
    feature_map_ : torch.Tensor of shape (c, emb_dim)
        M, the multi-label feature map.
    code_map_ : torch.Tensor of shape (c, n_bits)
        C, the binary multi-label code map.
    classes_ : ndarray
        The class labels seen by ``fit``.
    scaler_audio_ : Standardizer
        z-scoring of the audio inputs (training statistics).
    scaler_visual_ : Standardizer
        z-scoring of the visual inputs.
    history_ : list of dict
        Per epoch: the epoch and the means of :data:`HISTORY_KEYS`.
    n_batches_ : int
        Minibatches per epoch.
    batch_size_ : int
        The largest minibatch.
    n_components_ : int
        The code length (= ``n_bits``).
    n_features_audio_ : int
        Width d_a of the audio view seen by ``fit``.
    n_features_visual_ : int
        Width d_v of the visual view seen by ``fit``.

    References
    ----------
    W. Gu, X. Gu, J. Gu, B. Li, Z. Xiong, W. Wang. Adversary guided asymmetric hashing for
    cross-modal retrieval. ACM ICMR 2019, 159-167.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(3), 20)                      # 3 classes x 20 paired clips
    >>> X_audio = 3 * rng.normal(size=(3, 6))[y] + rng.normal(size=(60, 6))    # (N, d_a)
    >>> X_visual = 3 * rng.normal(size=(3, 8))[y] + rng.normal(size=(60, 8))   # (N, d_v)
    >>> from paper_lib.methods.agah import AGAH
    >>> agah = AGAH(n_bits=8, emb_dim=16, hidden=16, epochs=1)
    >>> Z_audio, Z_visual = agah.fit(X_audio, X_visual, y).transform(X_audio, X_visual)
    >>> Z_audio.shape, sorted(np.unique(Z_visual).tolist())    # 8-bit codes in {-1, +1}
    ((60, 8), [-1.0, 1.0])
    """

    supervised = True
    _fitted_attribute = "code_map_"

    def __init__(self, n_bits: int = DEFAULT_CODE_LENGTH, output: str = "codes",
                 emb_dim: int = 512, hidden: int = 512, lambd: float = 0.8,
                 omega: float = 5.0, margin: float = 0.3, alpha: float = 1.0,
                 gamma: float = 0.001, eta: float = 1.0, mu: float = 1.0,
                 gp_weight: float = 10.0, adversarial: bool = True, lr: float = 1e-3,
                 weight_decay: float = 5e-4, critic_lr: float = 1e-3,
                 critic_weight_decay: float = 1e-4, epochs: int = 10, batch_size: int = 128,
                 random_state: int | None = 0) -> None:
        self.n_bits = n_bits
        self.output = output
        self.emb_dim = emb_dim
        self.hidden = hidden
        self.lambd = lambd
        self.omega = omega
        self.margin = margin
        self.alpha = alpha
        self.gamma = gamma
        self.eta = eta
        self.mu = mu
        self.gp_weight = gp_weight
        self.adversarial = adversarial
        self.lr = lr
        self.weight_decay = weight_decay
        self.critic_lr = critic_lr
        self.critic_weight_decay = critic_weight_decay
        self.epochs = epochs
        self.batch_size = batch_size
        self.random_state = random_state

    @property
    def retrieval_metric(self) -> str | None:
        """"hamming" for codes; the run's metric for the relaxed outputs."""
        return hashing_metric(self.output)

    # -- checks ------------------------------------------------------------------------------------
    def _check_hyperparameters(self) -> None:
        check_code_length(self.n_bits)
        check_output(self.output)
        for name in ("emb_dim", "hidden", "epochs", "batch_size"):
            check_positive_int(getattr(self, name), name)
        check_number(self.lambd, "lambd", low=0.0, high=1.0)
        for name in ("omega", "margin", "alpha", "gamma", "eta", "mu", "gp_weight",
                     "weight_decay", "critic_weight_decay"):
            check_nonnegative(getattr(self, name), name)
        check_positive(self.lr, "lr")
        check_positive(self.critic_lr, "critic_lr")
        check_bool(self.adversarial, "adversarial")
        check_seed(self.random_state)

    # -- fit ---------------------------------------------------------------------------------------
    def _fit(self, X_audio: np.ndarray, X_visual: np.ndarray, y: np.ndarray | None,
             **kwargs: Any) -> None:
        """Train the networks, the critics, the feature map and the code map (labels needed)."""
        Xa, Xv, labels = check_views(X_audio, X_visual, y, need_labels=True)
        assert labels is not None
        seed = check_seed(self.random_state)
        self.n_features_audio_, self.n_features_visual_ = Xa.shape[1], Xv.shape[1]
        self.classes_, codes = np.unique(labels, return_inverse=True)
        self.scaler_audio_ = Standardizer().fit(Xa)
        self.scaler_visual_ = Standardizer().fit(Xv)
        A = to_tensor(self.scaler_audio_.transform(Xa))           # (N, d_a)
        V = to_tensor(self.scaler_visual_.transform(Xv))          # (N, d_v)
        y_idx = torch.as_tensor(codes, dtype=torch.int64)         # (N,) in 0..c-1
        with seeded(seed) as generator:
            self._build(A.shape[1], V.shape[1], len(self.classes_))
            self._train(A, V, y_idx, generator)
        self.n_components_ = int(self.n_bits)

    def _build(self, d_a: int, d_v: int, n_labels: int) -> None:
        """Networks (global RNG: weights) and the initial code map, random signs [code]."""
        (self.net_audio_, self.net_visual_, self.hash_audio_, self.hash_visual_,
         self.critic_audio_, self.critic_visual_) = self._make_networks(d_a, d_v)
        self._code_map = binarise(torch.randn(n_labels, int(self.n_bits)))

    # the attributes holding the modules of ``_make_networks``, in its order
    _MODULE_ATTRIBUTES = ("net_audio_", "net_visual_", "hash_audio_", "hash_visual_",
                          "critic_audio_", "critic_visual_")

    def _make_networks(self, d_a: int, d_v: int
                       ) -> tuple[nn.Sequential, nn.Sequential, nn.Linear, nn.Linear,
                                  nn.Module | None, nn.Module | None]:
        """The untrained feature networks, hashing layers and critics (None without the
        adversary), in the order of the seeded weight draws."""
        emb, hidden, n_bits = int(self.emb_dim), int(self.hidden), int(self.n_bits)
        net_audio, net_visual = feature_network(d_a, hidden, emb), feature_network(d_v, hidden, emb)
        hash_audio, hash_visual = nn.Linear(emb, n_bits), nn.Linear(emb, n_bits)
        critic_audio: nn.Module | None = None
        critic_visual: nn.Module | None = None
        if self.adversarial:
            critic_audio, critic_visual = critic_network(emb), critic_network(emb)
        return net_audio, net_visual, hash_audio, hash_visual, critic_audio, critic_visual

    def _build_modules(self) -> dict[str, Any]:
        modules = self._make_networks(self.n_features_audio_, self.n_features_visual_)
        return dict(zip(self._MODULE_ATTRIBUTES, modules, strict=True))

    def _modules(self) -> list[nn.Module]:
        return [self.net_audio_, self.net_visual_, self.hash_audio_, self.hash_visual_]

    def _critics(self) -> list[nn.Module]:
        return [c for c in (self.critic_audio_, self.critic_visual_) if c is not None]

    def _train(self, A: torch.Tensor, V: torch.Tensor, y: torch.Tensor,
               generator: torch.Generator) -> None:
        """Minibatch steps on eq. (11); after each epoch, eqs. (4) and (12). Fills history_."""
        L = F.one_hot(y).float()                                   # (N, c), one-hot labels
        state = _TrainState(A, V, y, L, 2.0 * L - 1.0, *self._optimizers(), generator)
        with torch.no_grad():  # [choice] the initial feature map: class means at initialisation
            self._feature_map = feature_map(normalised_features(self.net_audio_, A),
                                            normalised_features(self.net_visual_, V), L)
        self.n_batches_ = resolve_n_batches(len(y), self.batch_size, None)
        self.batch_size_ = largest_batch(len(y), self.n_batches_)
        self.history_: list[dict[str, float]] = []
        for epoch in range(1, int(self.epochs) + 1):
            record = self._train_epoch(state)
            self.history_.append({"epoch": epoch, **record})
        for module in self._modules() + self._critics():
            module.eval()
        self.feature_map_ = to_numpy(self._feature_map)
        self.code_map_ = to_numpy(self._code_map)

    def _optimizers(self) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer | None]:
        """Adamax for the networks; Adamax with betas (0.5, 0.9) for the critics [code]."""
        params = [p for m in self._modules() for p in m.parameters()]
        optimizer = torch.optim.Adamax(params, lr=self.lr, weight_decay=self.weight_decay)
        if not self._critics():
            return optimizer, None
        critic_params = [p for c in self._critics() for p in c.parameters()]
        critic_opt = torch.optim.Adamax(critic_params, lr=self.critic_lr, betas=(0.5, 0.9),
                                        weight_decay=self.critic_weight_decay)
        return optimizer, critic_opt

    def _train_epoch(self, state: _TrainState) -> dict[str, float]:
        """One pass over a fresh seeded permutation, then the map updates; the terms' means."""
        n, emb, n_bits = len(state.y), int(self.emb_dim), int(self.n_bits)
        seen = {"Fa": torch.zeros(n, emb), "Fv": torch.zeros(n, emb),
                "Ha": torch.zeros(n, n_bits), "Hv": torch.zeros(n, n_bits)}
        sums = dict.fromkeys(HISTORY_KEYS, 0.0)
        for idx in minibatch_indices(n, self.n_batches_, state.generator):
            step = self._step(state, idx, seen)
            for key in HISTORY_KEYS:
                sums[key] += step[key]
        with torch.no_grad():  # eqs. (4) and (12), from all rows as this epoch saw them [code]
            self._feature_map = feature_map(seen["Fa"], seen["Fv"], state.L)
            self._code_map = update_code_map(binarise(seen["Ha"]), binarise(seen["Hv"]),
                                             self._code_map, state.Y)
        return {key: value / self.n_batches_ for key, value in sums.items()}

    def _step(self, state: _TrainState, idx: torch.Tensor,
              seen: dict[str, torch.Tensor]) -> dict[str, float]:
        """One critic step (eq. (5)) then one network step (eq. (11)) on the rows ``idx``;
        records their features and hash outputs in ``seen``."""
        fa = normalised_features(self.net_audio_, state.A[idx])    # (B, emb), eq. (1)
        fv = normalised_features(self.net_visual_, state.V[idx])
        critic = 0.0
        if state.critic_opt is not None:
            critic = self._critic_step(fa.detach(), fv.detach(), state.critic_opt,
                                       state.generator)
        out, ha, hv = self._network_step(fa, fv, state.y[idx], state.Y[idx], state.optimizer)
        out["critic"] = critic
        seen["Fa"][idx], seen["Fv"][idx] = fa.detach(), fv.detach()
        seen["Ha"][idx], seen["Hv"][idx] = ha, hv
        return out

    def _critic_step(self, fa: torch.Tensor, fv: torch.Tensor,
                     critic_opt: torch.optim.Optimizer, generator: torch.Generator) -> float:
        """Eq. (5), the critics' side: D_a scores audio features high and visual ones low, D_v
        the reverse; WGAN-GP loss, one Adamax step."""
        assert self.critic_audio_ is not None and self.critic_visual_ is not None
        loss = torch.zeros(())
        for critic, real, fake in ((self.critic_audio_, fa, fv), (self.critic_visual_, fv, fa)):
            loss = loss + critic(fake).mean() - critic(real).mean() \
                + self.gp_weight * gradient_penalty(critic, real, fake, generator)
        critic_opt.zero_grad()
        loss.backward()
        critic_opt.step()
        return float(loss.detach())

    def _hash(self, f: torch.Tensor, view: View) -> torch.Tensor:
        """Eqs. (2), (3), (6): attended feature -> tanh hash layer of ``view``."""
        f_hat = attend(f, self._feature_map, float(self.lambd), float(self.omega))
        return torch.tanh(by_view(view, self.hash_audio_, self.hash_visual_)(f_hat))

    def _network_step(self, fa: torch.Tensor, fv: torch.Tensor, y: torch.Tensor,
                      Y: torch.Tensor, optimizer: torch.optim.Optimizer
                      ) -> tuple[dict[str, float], torch.Tensor, torch.Tensor]:
        """Eq. (11) on one minibatch, one Adamax step on the feature nets and hash layers;
        returns the terms' values and the (detached) hash outputs h_a, h_v of the batch."""
        ha, hv = self._hash(fa, "audio"), self._hash(fv, "visual")  # (B, K) each
        same = same_class(y, y)
        terms = {
            "triplet": cosine_triplet_loss(ha, hv, same, self.margin)
            + cosine_triplet_loss(hv, ha, same, self.margin),                 # eq. (7)
            "cos_quant": cosine_quantization_loss(ha) + cosine_quantization_loss(hv),  # (8)
            "code_map": code_map_loss(ha, self._code_map, Y)
            + code_map_loss(hv, self._code_map, Y),                           # eq. (9)
            "quant": quantization_loss(ha) + quantization_loss(hv),           # eq. (10)
            "adv": self._generator_loss(fa, fv),                              # eq. (5)
        }
        loss = (terms["triplet"] + self.alpha * terms["cos_quant"]
                + self.gamma * terms["code_map"] + self.eta * terms["quant"]
                + self.mu * terms["adv"])                                      # eq. (11)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        out = {key: float(value.detach()) for key, value in terms.items()}
        out["loss"] = float(loss.detach())
        return out, ha.detach(), hv.detach()

    def _generator_loss(self, fa: torch.Tensor, fv: torch.Tensor) -> torch.Tensor:
        """L_adv of eq. (5): each feature net tries to pass for the other modality."""
        if self.critic_audio_ is None or self.critic_visual_ is None:
            return torch.zeros(())
        return -self.critic_audio_(fv).mean() - self.critic_visual_(fa).mean()

    # -- transform ---------------------------------------------------------------------------------
    @torch.no_grad()
    def _relaxed(self, X: np.ndarray, view: View) -> torch.Tensor:
        """h of eq. (6) for validated raw rows of one view."""
        scaler = by_view(view, self.scaler_audio_, self.scaler_visual_)
        net = by_view(view, self.net_audio_, self.net_visual_)
        return self._hash(normalised_features(net, to_tensor(scaler.transform(X))), view)

    def _transform_view(self, X: np.ndarray, view: View, **kwargs: Any) -> np.ndarray:
        """Codes sign(h) ∈ {−1, +1}^K (``output="codes"``) or h itself (``"relaxed"``)."""
        H = to_numpy(self._relaxed(X, view))
        return sign_codes(H) if self.output == "codes" else H

    @torch.no_grad()
    def feature_view(self, X: np.ndarray, view: View) -> np.ndarray:
        """The normalised features f of eq. (1) of one view (what the adversary acts on)."""
        self._check_fitted()
        check_choice(view, "view", VIEWS)
        A = check_transform_view(X, f"X_{view}", self._n_features(view))
        scaler = by_view(view, self.scaler_audio_, self.scaler_visual_)
        net = by_view(view, self.net_audio_, self.net_visual_)
        return to_numpy(normalised_features(net, to_tensor(scaler.transform(A))))
