"""ACMR: Adversarial Cross-Modal Retrieval (Wang, Yang, Xu, Hanjalic, Shen, ACM MM 2017).

Supervised, real-valued. Two *feature projectors* map each modality into a common d-dimensional
space; a *label classifier* on that space and cross-modal *triplet constraints* keep it
semantically structured; a *modality classifier* D, trained against the projectors, pushes the two
modalities' embeddings to be indistinguishable. Retrieval ranks by the cosine of the projections.

Mapping to our data: the paper's image ``v`` is the **visual** view, its text ``t`` the **audio**
view; the paper's ``f_V`` is ``projector_visual_`` and ``f_T`` is ``projector_audio_``. D labels a
visual embedding 1 (the paper's image) and an audio embedding 0.

The method, equations numbered in the order the paper presents them (the restatements we could
read do not print the numbers; symbols renamed where the paper reuses them)::

    S_V = f_V(V; θ_V),  S_T = f_T(T; θ_T)                     projectors, d = n_components
    L_adv(θ_D) = −(1/n) Σ_i m_i · (log D(v_i; θ_D) + log(1 − D(t_i; θ_D)))              (1)
    L_imd(θ_imd) = −(1/n) Σ_i y_i · (log p̂_i(v_i) + log p̂_i(t_i))                     (2)
    ℓ2(v, t) = ||f_V(v; θ_V) − f_T(t; θ_T)||_2                                         (3)
    L_imi,V = Σ_{i,j,k} ℓ2(v_i, t_j⁺) + λ_t · max(0, μ − ℓ2(v_i, t_k⁻))                (4)
    L_imi,T = Σ_{i,j,k} ℓ2(t_i, v_j⁺) + λ_t · max(0, μ − ℓ2(t_i, v_k⁻))                (5)
    L_imi = L_imi,V + L_imi,T                                                           (6)
    L_reg = Σ_l (||W_v^l||_F + ||W_t^l||_F)                                             (7)
    L_emb = α · L_imi + β · L_imd + L_reg                                               (8)
    (θ̂_V, θ̂_T, θ̂_imd) = argmin_{θ_V, θ_T, θ_imd} (L_emb − L_adv(θ̂_D))                  (9)
    θ̂_D = argmax_{θ_D} (L_emb(θ̂_V, θ̂_T, θ̂_imd) − L_adv(θ_D))                          (10)

p̂ is a softmax classifier on the common space shared by both modalities (θ_imd), t_j⁺ a text of
v_i's class, t_k⁻ one of another class. The paper writes λ for the weight of the negative hinge in
(4)/(5) and again for the adversarial factor, and μ for both the margin and Algorithm 1's learning
rate: here they are ``neg_weight`` (λ_t), ``margin`` (μ), ``adv_weight`` (λ) and ``lr``.
Sources: the paper's equations and Algorithm 1 as restated by two independent reading notes (the
paper's PDF could not be read from this machine, so its Sec. 4 settings — α, β, widths, k, λ,
learning rate — were not available), and the authors' TensorFlow demo
(github.com/sunpeng981712364/ACMR_demo, ``models/adv_crossmodal_triplet_wiki.py``) [code].

Optimisation (``optimisation``):

- ``"alternating"`` (default): the paper's **Algorithm 1**. For every minibatch the projectors
  and the label classifier take one Adam step on L_emb − λ_p · L_adv with D fixed (eq. 9; D's
  parameters are not stepped); after every ``k`` such steps D takes one Adam step descending
  L_adv — i.e. ascending L_emb − L_adv, eq. (10) — on the embeddings of the *updated* projectors
  (recomputed, detached), as the algorithm's θ̂ says.
- ``"grl"``: the gradient reversal layer the paper names for its minimax (Ganin & Lempitsky,
  ICML 2015; ``_adversarial.reverse_gradient``): one Adam step over all parameters on
  L_emb + L_adv(D(GRL_λp(S))); D descends L_adv while the projectors receive −λ_p ∇L_adv — the
  gradients of the two players of Algorithm 1, in one pass. This is the authors'
  ``total_train_op`` (defined, not run, in their demo).

  Note on the authors' demo: the ops it actually runs are ``emb_train_op`` (L_emb over the
  projector variables only) and ``domain_train_op`` (L_adv over D's variables only), so the
  reversed gradient never reaches the projectors there and their adversary does not shape the
  embedding (nor is their label classifier, outside both variable lists, ever trained). Neither
  is copied.

λ_p (``adv_schedule="dann"``, [code]): λ_p = adv_weight · (2 / (1 + exp(−10 p)) − 1), the
schedule of Ganin & Lempitsky that the authors' demo feeds its flip-gradient layer, with p the
fraction of training done ([choice]: p advances every step, the demo's once per epoch, which
would leave the adversary off for the whole first epoch). ``adv_schedule="constant"``: λ_p =
adv_weight. ``adversarial=False`` is the switch that turns the adversary off (λ_p = 0): D is still
trained and logged (``history_``: its loss and accuracy say how separable the modalities are), but
no adversarial gradient reaches the projectors; initialisation and minibatch order are identical,
so on/off fits differ only by the adversary.

What the adversary does here (``tests/test_acmr.py``): with the full L_emb the triplet pull of
eq. (4)/(5) already removes the modality offsets a linear probe
(``paper_lib.metrics.modality.modality_separability``) sees — on a toy set, ``avdigits`` and
``synthetic`` the probe scores 0.40-0.68 with or without the adversary and no consistent
difference. With the structure term off (α = 0) label prediction leaves a linear gap that the
adversary closes (probe accuracy lower in every one of 8 seeds, by 0.02-0.12). The embeddings stay
*non-linearly* separable (a fresh MLP D trained to convergence on final embeddings separates held-out
rows at ~97 %); the in-training D, one step per minibatch, does not get there within the
companion's budget of a few hundred steps.

Hyper-parameters ([code] = the authors' demo, [choice] = open or adapted to our data):

- projectors: Linear → tanh for every layer, the output layer included, so S ∈ (−1, 1)^d [code:
  ``visual_feature_embed`` / ``label_embed``, three tanh layers 4096→512→100→40 and
  5000→40→100→40]. ``hidden=(256, 128)`` for both views [choice: our 784-d visual and 128-d
  audio inputs are 5× and 40× narrower than the paper's 4096-d CNN and 5000-d text features];
  d = ``n_components`` (10, the companion's d) instead of the demo's 40.
- label classifier: one Linear d → n_classes, softmax, shared by both modalities [code:
  ``label_classifier``, one scope reused]; its parameters are θ_imd.
- modality classifier D: d → 2d → d → 2 with tanh, two-way softmax [choice: the paper's "three
  layers"; the demo's D is d → d/2 → d/4 → 2 *without* activations — a linear classifier — which
  at d = 10 would be 10 → 5 → 2 → 2]. D sees both modalities in one pass (one mixed batch).
- triplets [choice]: every valid (anchor, positive, negative) of the minibatch in both directions
  (the "Σ_{i,j,k}" of eq. 4/5), the anchor's own partner counting as a positive, averaged over the
  triplets of each direction (not summed: the scale then does not depend on the batch size).
  The demo instead takes the own partner as the only positive and the partner of the most similar
  other-class item (in input space) as the only negative.
- ``margin`` μ = 1.0, ``neg_weight`` λ_t = 1.0 [choice]: the demo's triplet form differs
  (max(0, 0.1 + 5·||·||²/2 − ||·||²/2) summed over the batch), so its values do not transfer.
- ``alpha`` = 1, ``beta`` = 1 [choice: the demo weighs 100·L_imd + 1·L_imi, with a differently
  scaled triplet term].
- ``reg`` = 1e-3 [choice]: the weight of L_reg; eq. (8) writes 1, the demo omits L_reg (0).
- Adam with betas (0.5, 0.999) for both players [code]; ``lr`` = 3e-3 [choice: the demo's 1e-4
  for 50 epochs is far too slow for the companion's 10 epochs; 3e-3 was picked over 1e-3 on
  *training* loss (L_emb 6.0 → 0.9 against 6.0 → 2.0 on avdigits fold 0, 10 epochs)];
  ``disc_lr`` = None (D uses ``lr``; the demo has separate, equal ``lr_emb`` / ``lr_domain``).
- ``batch_size`` = 32 [choice; demo: 64]: 50 steps per epoch on 1,600 training clips, 500 in the
  10 epochs the runner gives every deep method.
- ``k`` = 1 [code: the demo runs both updates on every batch].
- ``adv_weight`` = 1 [code: the maximum of the demo's flip-gradient factor]. Inputs are z-scored
  per view on the training rows [choice].
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from paper_lib.errors import UserError
from paper_lib.methods._adversarial import reverse_gradient
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
    check_bool,
    check_choice,
    check_nonnegative,
    check_positive,
    check_positive_int,
    check_seed,
    check_views,
)
from paper_lib.methods.base import CrossModalEstimator, View, by_view

OPTIMISATIONS = ("alternating", "grl")
SCHEDULES = ("dann", "constant")
#: D's modality labels (the paper's m_i): audio plays the text, visual the image
AUDIO, VISUAL = 0, 1
#: Adam betas of both players [code: ``beta1=0.5`` in the demo]
ADAM_BETAS = (0.5, 0.999)


# -- losses ---------------------------------------------------------------------------------------
def pairwise_l2(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """ℓ2[i, j] = ||A_i − B_j||_2 for (n, d), (m, d) -> (n, m), eq. (3); differentiable at 0."""
    sq = (A[:, None, :] - B[None, :, :]).pow(2).sum(dim=-1)
    return sq.clamp_min(1e-12).sqrt()


def directional_imi(dist: torch.Tensor, same: torch.Tensor, margin: float,
                    neg_weight: float) -> torch.Tensor:
    """Mean over all valid triplets (i, j, k) of ℓ2(a_i, o_j⁺) + λ_t · max(0, μ − ℓ2(a_i, o_k⁻)),
    eq. (4)/(5), from the anchor-to-other distances ``dist`` (B, B) and the same-class mask.

    Σ_{i,j,k} over j ∈ P(i), k ∈ N(i) factorises per anchor: n_neg(i) · Σ_j ℓ2⁺ + λ_t · n_pos(i) ·
    Σ_k hinge⁻, so no (B, B, B) tensor is built. 0 when the batch has no valid triplet.
    """
    pos, neg = same.to(dist.dtype), (~same).to(dist.dtype)
    n_pos, n_neg = pos.sum(dim=1), neg.sum(dim=1)                     # (B,), (B,)
    pull = (dist * pos).sum(dim=1)                                    # Σ_j ℓ2(a_i, o_j⁺)
    push = (F.relu(margin - dist) * neg).sum(dim=1)                   # Σ_k hinge
    n_triplets = (n_pos * n_neg).sum()
    total = (n_neg * pull + neg_weight * n_pos * push).sum()
    return total / n_triplets.clamp_min(1.0)


def imi_loss(S_a: torch.Tensor, S_v: torch.Tensor, labels: torch.Tensor, margin: float,
             neg_weight: float) -> torch.Tensor:
    """L_imi = L_imi,V + L_imi,T, eq. (6): visual anchors against audio items and vice versa."""
    same = labels[:, None] == labels[None, :]                         # (B, B), diagonal True
    dist = pairwise_l2(S_v, S_a)                                      # (B, B): visual x audio
    return (directional_imi(dist, same, margin, neg_weight)          # eq. (4)
            + directional_imi(dist.T, same, margin, neg_weight))     # eq. (5)


def imd_loss(classifier: nn.Module, S_a: torch.Tensor, S_v: torch.Tensor,
             labels: torch.Tensor) -> torch.Tensor:
    """L_imd, eq. (2): softmax cross-entropy of the shared label classifier on both modalities
    (mean over the n items of each, summed over the two)."""
    return F.cross_entropy(classifier(S_v), labels) + F.cross_entropy(classifier(S_a), labels)


def adv_loss(D: nn.Module, S_a: torch.Tensor, S_v: torch.Tensor) -> torch.Tensor:
    """L_adv, eq. (1): D's cross-entropy, visual items labelled VISUAL, audio items AUDIO
    (mean over the n items of each modality, summed over the two). D sees both modalities in
    one pass, so a normalisation inside D uses the statistics of the mixed batch."""
    logits = D(torch.cat([S_v, S_a]))                                 # (2B, 2)
    n_v = S_v.shape[0]
    target_v = torch.full((n_v,), VISUAL, dtype=torch.long)
    target_a = torch.full((S_a.shape[0],), AUDIO, dtype=torch.long)
    return (F.cross_entropy(logits[:n_v], target_v)
            + F.cross_entropy(logits[n_v:], target_a))


def frobenius_reg(*projectors: nn.Module) -> torch.Tensor:
    """L_reg, eq. (7): the sum of the Frobenius norms of every projector weight matrix."""
    norms = [m.weight.norm(p="fro") for net in projectors for m in net.modules()
             if isinstance(m, nn.Linear)]
    return torch.stack(norms).sum()


def dann_lambda(progress: float) -> float:
    """Ganin & Lempitsky's schedule 2 / (1 + exp(−10 p)) − 1 ∈ [0, 1) for p ∈ [0, 1]."""
    return float(2.0 / (1.0 + np.exp(-10.0 * progress)) - 1.0)


def modality_accuracy(D: nn.Module, S_a: torch.Tensor, S_v: torch.Tensor) -> float:
    """Share of items D assigns to their own modality."""
    with torch.no_grad():
        predicted = D(torch.cat([S_v, S_a])).argmax(dim=1)            # (2B,)
    truth = torch.cat([torch.full((S_v.shape[0],), VISUAL), torch.full((S_a.shape[0],), AUDIO)])
    return float((predicted == truth).float().mean())


class EmbeddingLosses(NamedTuple):
    """The terms of L_emb (eq. 8) on one minibatch, each a scalar tensor with graph."""

    emb: torch.Tensor
    imi: torch.Tensor
    imd: torch.Tensor
    reg: torch.Tensor


# -- networks -------------------------------------------------------------------------------------
def make_projector(in_dim: int, hidden: Sequence[int], out_dim: int) -> nn.Sequential:
    """f_V / f_T: (Linear -> tanh) for every hidden width, then Linear -> tanh to d [code]."""
    return mlp(in_dim, hidden, out_dim, activation=nn.Tanh, out_activation=nn.Tanh)


def make_modality_classifier(d: int) -> nn.Sequential:
    """D: d -> 2d -> d -> 2 with tanh, two-way softmax logits [choice]."""
    return mlp(d, [2 * d, d], 2, activation=nn.Tanh)


class ACMR(CrossModalEstimator):
    """Adversarial Cross-Modal Retrieval (ACMR, Wang et al. 2017); see the module docstring.

    Two projectors map the views into a common d-dimensional space, kept semantically
    structured by a label classifier and cross-modal triplet constraints, while a modality
    classifier trained against them pushes the two modalities' embeddings to be
    indistinguishable. One of the paper's four state-of-the-art baselines; supervised: ``fit``
    needs the class labels ``y``.

    Parameters
    ----------
    n_components : int, default=10
        d, the width of the common space.
    hidden : sequence of int, default=(256, 128)
        Hidden widths of each projector.
    alpha : float, default=1.0
        Weight of L_imi in L_emb, eq. (8).
    beta : float, default=1.0
        Weight of L_imd in L_emb, eq. (8).
    reg : float, default=1e-3
        Weight of L_reg, eq. (7) (the paper writes 1).
    margin : float, default=1.0
        μ of the triplet terms, eqs. (4)/(5).
    neg_weight : float, default=1.0
        λ_t of the triplet terms, eqs. (4)/(5).
    adversarial : bool, default=True
        False switches the adversary off (the projectors ignore D).
    adv_weight : float, default=1.0
        λ, the adversarial factor's maximum.
    adv_schedule : {"dann", "constant"}, default="dann"
        "dann" (λ_p ramps up from 0, the authors') or "constant".
    optimisation : {"alternating", "grl"}, default="alternating"
        "alternating" (Algorithm 1) or "grl" (one step through a gradient reversal layer).
    k : int, default=1
        Projector steps per D step in "alternating" ("grl" steps both players every batch).
    lr : float, default=3e-3
        Adam learning rate of the projectors and the label classifier.
    disc_lr : float or None, default=None
        Adam learning rate of D (None: ``lr``).
    epochs : int, default=10
        Training epochs.
    batch_size : int, default=32
        Clips per minibatch.
    random_state : int or None, default=0
        Seeds weights and data order.

    Attributes
    ----------
    projector_audio_ : torch.nn.Module
        f_T, the audio projector.
    projector_visual_ : torch.nn.Module
        f_V, the visual projector.
    label_classifier_ : torch.nn.Module
        The label classifier on the common space (eq. (2)).
    modality_classifier_ : torch.nn.Module
        D, the modality classifier (eq. (1)).
    scaler_audio_ : Standardizer
        z-scoring of the audio inputs (training statistics).
    scaler_visual_ : Standardizer
        z-scoring of the visual inputs.
    classes_ : ndarray
        The class labels seen by ``fit``.
    n_components_ : int
        d, the width of the embedding.
    history_ : list of dict
        Per epoch: loss = mean L_emb, imi, imd, reg, adv = D's mean L_adv, disc_acc = D's
        accuracy, lambda = the mean λ_p, objective = mean L_emb − λ_p L_adv.
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
    B. Wang, Y. Yang, X. Xu, A. Hanjalic, H. T. Shen. Adversarial cross-modal retrieval.
    ACM Multimedia 2017, 154-162.

    Y. Ganin, V. Lempitsky. Unsupervised domain adaptation by backpropagation. ICML 2015,
    1180-1189.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(3), 20)                      # 3 classes x 20 paired clips
    >>> X_audio = 3 * rng.normal(size=(3, 6))[y] + rng.normal(size=(60, 6))    # (N, d_a)
    >>> X_visual = 3 * rng.normal(size=(3, 8))[y] + rng.normal(size=(60, 8))   # (N, d_v)
    >>> from paper_lib.methods.acmr import ACMR
    >>> acmr = ACMR(n_components=2, hidden=(16,), epochs=1)
    >>> Z_audio, Z_visual = acmr.fit(X_audio, X_visual, y).transform(X_audio, X_visual)
    >>> Z_audio.shape, Z_visual.shape
    ((60, 2), (60, 2))
    """

    supervised = True
    _fitted_attribute = "projector_audio_"

    def __init__(self, n_components: int = 10, hidden: Sequence[int] = (256, 128),
                 alpha: float = 1.0, beta: float = 1.0, reg: float = 1e-3, margin: float = 1.0,
                 neg_weight: float = 1.0, adversarial: bool = True, adv_weight: float = 1.0,
                 adv_schedule: str = "dann", optimisation: str = "alternating", k: int = 1,
                 lr: float = 3e-3, disc_lr: float | None = None, epochs: int = 10,
                 batch_size: int = 32, random_state: int | None = 0) -> None:
        self.n_components = n_components
        self.hidden = hidden
        self.alpha = alpha
        self.beta = beta
        self.reg = reg
        self.margin = margin
        self.neg_weight = neg_weight
        self.adversarial = adversarial
        self.adv_weight = adv_weight
        self.adv_schedule = adv_schedule
        self.optimisation = optimisation
        self.k = k
        self.lr = lr
        self.disc_lr = disc_lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.random_state = random_state

    # -- checks ----------------------------------------------------------------------------------
    def _check_hyperparameters(self) -> None:
        for name in ("n_components", "k", "epochs", "batch_size"):
            check_positive_int(getattr(self, name), name)
        self._hidden_widths()
        for name in ("alpha", "beta", "reg", "margin", "neg_weight", "adv_weight"):
            check_nonnegative(getattr(self, name), name)
        check_positive(self.lr, "lr")
        if self.disc_lr is not None:
            check_positive(self.disc_lr, "disc_lr")
        check_bool(self.adversarial, "adversarial")
        check_choice(self.adv_schedule, "adv_schedule", SCHEDULES)
        check_choice(self.optimisation, "optimisation", OPTIMISATIONS)
        check_seed(self.random_state)

    def _hidden_widths(self) -> list[int]:
        if isinstance(self.hidden, str | bytes) or not isinstance(self.hidden, Sequence):
            raise UserError(f"hidden must be a sequence of positive integers, got "
                            f"{self.hidden!r}.")
        return [check_positive_int(h, "hidden") for h in self.hidden]

    # -- fit -------------------------------------------------------------------------------------
    def _fit(self, X_audio: np.ndarray, X_visual: np.ndarray, y: np.ndarray | None,
             **kwargs: Any) -> None:
        """Z-score each view, then train projectors, label classifier and D (labels required)."""
        Xa, Xv, labels = check_views(X_audio, X_visual, y, n_components=self.n_components,
                                     need_labels=True)
        assert labels is not None
        seed = check_seed(self.random_state)
        self.n_features_audio_, self.n_features_visual_ = Xa.shape[1], Xv.shape[1]
        self.classes_, codes = np.unique(labels, return_inverse=True)
        self.scaler_audio_ = Standardizer().fit(Xa)
        self.scaler_visual_ = Standardizer().fit(Xv)
        A = to_tensor(self.scaler_audio_.transform(Xa))                  # (N, d_a)
        V = to_tensor(self.scaler_visual_.transform(Xv))                 # (N, d_v)
        Y = torch.as_tensor(codes, dtype=torch.long)                     # (N,)
        d = int(self.n_components)
        with seeded(seed) as generator:
            (self.projector_audio_, self.projector_visual_, self.label_classifier_,
             self.modality_classifier_) = self._make_networks(A.shape[1], V.shape[1])
            self._train(A, V, Y, generator)
        self.n_components_ = d
        for net in self._networks():
            net.eval()

    def _make_networks(self, d_audio: int, d_visual: int
                       ) -> tuple[nn.Module, nn.Module, nn.Module, nn.Module]:
        """The untrained projectors (audio, visual), label classifier and modality classifier,
        in that order (the order of the seeded weight draws); needs ``classes_``."""
        d = int(self.n_components)
        return (make_projector(d_audio, self._hidden_widths(), d),
                make_projector(d_visual, self._hidden_widths(), d),
                nn.Linear(d, self.classes_.size),
                make_modality_classifier(d))

    def _build_modules(self) -> dict[str, Any]:
        names = ("projector_audio_", "projector_visual_", "label_classifier_",
                 "modality_classifier_")
        modules = self._make_networks(self.n_features_audio_, self.n_features_visual_)
        return dict(zip(names, modules, strict=True))

    def _networks(self) -> tuple[nn.Module, nn.Module, nn.Module, nn.Module]:
        return (self.projector_audio_, self.projector_visual_, self.label_classifier_,
                self.modality_classifier_)

    def _embedding_parameters(self) -> list[nn.Parameter]:
        """θ_T, θ_V and θ_imd: what eq. (9) minimises over."""
        return [p for net in self._networks()[:3] for p in net.parameters()]

    def _train(self, A: torch.Tensor, V: torch.Tensor, Y: torch.Tensor,
               generator: torch.Generator) -> None:
        """Adam over reshuffled minibatches for ``epochs`` epochs; fills ``history_``."""
        lr = float(self.lr)
        disc_lr = lr if self.disc_lr is None else float(self.disc_lr)
        embedding = {"params": self._embedding_parameters(), "lr": lr}
        disc = {"params": list(self.modality_classifier_.parameters()), "lr": disc_lr}
        optimisers: tuple[torch.optim.Optimizer, ...]
        if self.optimisation == "grl":  # one optimiser over every parameter (authors' total op)
            optimisers = (torch.optim.Adam([embedding, disc], betas=ADAM_BETAS, foreach=True),)
        else:  # one per player (Algorithm 1)
            optimisers = (torch.optim.Adam([embedding], betas=ADAM_BETAS, foreach=True),
                          torch.optim.Adam([disc], betas=ADAM_BETAS, foreach=True))
        n = len(Y)
        self.n_batches_ = resolve_n_batches(n, self.batch_size, None)
        self.batch_size_ = largest_batch(n, self.n_batches_)
        total_steps = int(self.epochs) * self.n_batches_
        self.history_: list[dict[str, float]] = []
        step = 0
        for epoch in range(1, int(self.epochs) + 1):
            for net in self._networks():
                net.train()
            sums: dict[str, float] = {}
            counts: dict[str, int] = {}  # D's statistics exist only on its steps (every k-th)
            for idx in minibatch_indices(n, self.n_batches_, generator):
                lam = self._lambda(step / total_steps)
                record = self._step(A[idx], V[idx], Y[idx], lam, step, optimisers)
                for key, value in record.items():
                    sums[key] = sums.get(key, 0.0) + value
                    counts[key] = counts.get(key, 0) + 1
                step += 1
            means = {key: value / counts[key] for key, value in sums.items()}
            self.history_.append({"epoch": epoch, **means})

    def _lambda(self, progress: float) -> float:
        """λ_p: 0 with the adversary off; the DANN ramp or a constant otherwise."""
        if not self.adversarial:
            return 0.0
        ramp = dann_lambda(progress) if self.adv_schedule == "dann" else 1.0
        return float(self.adv_weight) * ramp

    def _embed(self, Xa: torch.Tensor, Xv: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.projector_audio_(Xa), self.projector_visual_(Xv)    # (B, d), (B, d)

    def _embedding_losses(self, S_a: torch.Tensor, S_v: torch.Tensor,
                          labels: torch.Tensor) -> EmbeddingLosses:
        """L_emb = α L_imi + β L_imd + reg · L_reg, eq. (8)."""
        imi = imi_loss(S_a, S_v, labels, float(self.margin), float(self.neg_weight))
        imd = imd_loss(self.label_classifier_, S_a, S_v, labels)
        reg = frobenius_reg(self.projector_audio_, self.projector_visual_)
        emb = float(self.alpha) * imi + float(self.beta) * imd + float(self.reg) * reg
        return EmbeddingLosses(emb, imi, imd, reg)

    def _step(self, Xa: torch.Tensor, Xv: torch.Tensor, labels: torch.Tensor, lam: float,
              step: int, optimisers: tuple[torch.optim.Optimizer, ...]) -> dict[str, float]:
        """One minibatch of Algorithm 1 (or of the GRL variant); returns its statistics."""
        if self.optimisation == "grl":
            return self._grl_step(Xa, Xv, labels, lam, optimisers[0])
        record = self._projector_step(Xa, Xv, labels, lam, optimisers[0])
        if (step + 1) % int(self.k) == 0:
            record.update(self._discriminator_step(Xa, Xv, optimisers[1]))
        return record

    def _projector_step(self, Xa: torch.Tensor, Xv: torch.Tensor, labels: torch.Tensor,
                        lam: float, optimiser: torch.optim.Optimizer) -> dict[str, float]:
        """Descend L_emb − λ_p L_adv over θ_V, θ_T, θ_imd with D fixed, eq. (9)."""
        S_a, S_v = self._embed(Xa, Xv)
        parts = self._embedding_losses(S_a, S_v, labels)
        objective = parts.emb
        if lam > 0:  # eq. (9): L_emb − λ_p L_adv, D's parameters fixed (not in this optimiser)
            objective = objective - lam * adv_loss(self.modality_classifier_, S_a, S_v)
        optimiser.zero_grad()
        objective.backward()
        optimiser.step()
        return _record(parts, lam, objective)

    def _discriminator_step(self, Xa: torch.Tensor, Xv: torch.Tensor,
                            optimiser: torch.optim.Optimizer) -> dict[str, float]:
        """Descend L_adv over θ_D (= ascend L_emb − L_adv, eq. 10) on the updated projectors'
        embeddings (detached)."""
        with torch.no_grad():
            S_a, S_v = self._embed(Xa, Xv)                               # θ̂_V, θ̂_T
        loss = adv_loss(self.modality_classifier_, S_a, S_v)             # eq. (10) via eq. (1)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        return {"adv": float(loss.detach()),
                "disc_acc": modality_accuracy(self.modality_classifier_, S_a, S_v)}

    def _grl_step(self, Xa: torch.Tensor, Xv: torch.Tensor, labels: torch.Tensor, lam: float,
                  optimiser: torch.optim.Optimizer) -> dict[str, float]:
        """One step on L_emb + L_adv(D(GRL_λp(S))): D descends L_adv, the projectors get
        −λ_p ∇L_adv (with λ_p = 0 the projectors get no adversarial gradient)."""
        S_a, S_v = self._embed(Xa, Xv)
        parts = self._embedding_losses(S_a, S_v, labels)
        adv = adv_loss(self.modality_classifier_, reverse_gradient(S_a, lam),  # eq. (9)+(10)
                       reverse_gradient(S_v, lam))
        optimiser.zero_grad()
        (parts.emb + adv).backward()
        optimiser.step()
        record = _record(parts, lam, parts.emb - lam * adv)
        record.update({"adv": float(adv.detach()),
                       "disc_acc": modality_accuracy(self.modality_classifier_, S_a.detach(),
                                                     S_v.detach())})
        return record

    # -- transform -------------------------------------------------------------------------------
    def _transform_view(self, X: np.ndarray, view: View, **kwargs: Any) -> np.ndarray:
        """Z-score with this view's training statistics, then this view's projector: (n, d)."""
        scaler = by_view(view, self.scaler_audio_, self.scaler_visual_)
        projector = by_view(view, self.projector_audio_, self.projector_visual_)
        return predict(projector, scaler.transform(X))


def _record(parts: EmbeddingLosses, lam: float, objective: torch.Tensor) -> dict[str, float]:
    return {"loss": float(parts.emb.detach()), "imi": float(parts.imi.detach()),
            "imd": float(parts.imd.detach()), "reg": float(parts.reg.detach()),
            "lambda": lam, "objective": float(objective.detach())}
