"""Cross-modal triplet loss and triplet miners (after pytorch-metric-learning: loss and mining apart).

A cross-modal triplet ``(i, j, k)`` in a paired minibatch of B clips with labels ``y`` is

- anchor    ``a_i``  = audio embedding of clip i,
- positive  ``v_j``  = visual embedding of a clip with ``y_j == y_i``,
- negative  ``v_k``  = visual embedding of a clip with ``y_k != y_i``.

[choice] The anchor's own partner (``j == i``, the true audio-visual pair) counts as a positive:
it is the one correspondence that is certainly right, and retrieval also counts it as relevant.
This differs from the authors' scripts: their ``myGenerator`` (``batch_all.py``,
``triplet_ccca.py``, ``batch_hard.py``, ``triplet_arch.py`` of github.com/ZenzenDatabase/CMR)
takes anchor-positive pairs from ``itertools.permutations(same_class_idx, 2)``, i.e. only
j ≠ i: the true partner is never a positive there.

The loss (Hermans et al. 2017, as used by Zeng et al. 2020) is a hinge on SQUARED Euclidean
distances::

    L(i, j, k) = max(0, ||a_i - v_j||² - ||a_i - v_k||² + margin)        margin = 0.5 in the paper

A miner chooses which triplets enter the loss:

- ``BatchAllMiner``   every valid (i, j, k) of the batch (the paper's "batch-all");
- ``BatchHardMiner``  per anchor the farthest positive and the closest negative;
- ``RandomMiner``     per anchor one random positive and one random negative ("random triplets").

For batch-all, :class:`TripletMarginLoss` does not build the index lists of the ~B³/10 mined
triplets: :func:`batch_all_hinge_sum` reduces the same hinge values straight from the (B, B)
distance matrix (the lists, ``BatchAllMiner.mine`` and ``hinge_values``, stay for inspection).

Reduction [choice]: the mean over ACTIVE triplets (those with L > 0), and 0 when none is active
(pytorch-metric-learning's ``AvgNonZeroTripletsReducer``). Averaging over all triplets instead
would let the many already-satisfied triplets of batch-all dilute the gradient as training
proceeds. This differs from the authors' scripts: the loss they compile, ``triplet_loss``
(``batch_all.py``, ``triplet_ccca.py``), returns the per-triplet hinge ``K.maximum(pos_dist -
neg_dist + alpha, 0)`` and Keras averages it over ALL triplets of the batch, inactive ones
included (their ``batch_all_triplet_loss``, which divides by the number of active triplets,
is defined but not used, and works on cosine distances). With ``symmetric=True`` visual anchors with audio positives/negatives are added and
the hinge values of both directions are reduced together.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from paper_lib.methods._validation import check_nonnegative


class Triplets(NamedTuple):
    """Index triples into a minibatch: anchor rows (of the anchor view), positive and negative
    rows (of the other view). Each a (T,) int64 tensor."""

    anchor: torch.Tensor
    positive: torch.Tensor
    negative: torch.Tensor


class TripletLossOutput(NamedTuple):
    """The reduced loss (a scalar tensor with graph) and how many triplets were mined / active."""

    loss: torch.Tensor
    n_triplets: int
    n_active: int


# -- geometry ------------------------------------------------------------------------------------
def squared_distances(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """D[i, j] = ||A_i - B_j||² for A (n, d), B (m, d) -> (n, m).

    Computed from explicit differences (not ||a||² + ||b||² - 2a·b) so it is exact and never
    negative; the (n, m, d) intermediate is small for minibatches.
    """
    return (A[:, None, :] - B[None, :, :]).pow(2).sum(dim=-1)


def same_class(labels: torch.Tensor) -> torch.Tensor:
    """S[i, j] = (y_i == y_j), (B, B) bool; the diagonal (the true pair) is True."""
    return labels[:, None] == labels[None, :]


def valid_triplet_mask(labels: torch.Tensor) -> torch.Tensor:
    """M[i, j, k] = (y_j == y_i) and (y_k != y_i), (B, B, B) bool (O(B³) memory)."""
    S = same_class(labels)
    return S[:, :, None] & ~S[:, None, :]


def _check_batch(anchors: torch.Tensor, others: torch.Tensor, labels: torch.Tensor) -> None:
    if anchors.ndim != 2 or others.ndim != 2 or anchors.shape != others.shape:
        raise ValueError(
            f"anchors and others must be paired (B, d) tensors of one shape, got "
            f"{tuple(anchors.shape)} and {tuple(others.shape)}.")
    if labels.ndim != 1 or labels.shape[0] != anchors.shape[0]:
        raise ValueError(
            f"labels must be a (B,) tensor with B={anchors.shape[0]}, got {tuple(labels.shape)}.")


# -- miners --------------------------------------------------------------------------------------
class TripletMiner:
    """Base class: ``mine(anchors (B, d), others (B, d), labels (B,)) -> Triplets``."""

    def mine(self, anchors: torch.Tensor, others: torch.Tensor,
             labels: torch.Tensor) -> Triplets:
        """The triplets of one minibatch: anchors (B, d) of one view, the other view's
        embeddings (B, d) of the same clips, their labels (B,)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class BatchAllMiner(TripletMiner):
    """All valid triplets of the batch: sum_i n_pos(i) * n_neg(i) of them.

    Examples
    --------
    >>> import torch
    >>> z_audio = torch.tensor([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0]])    # 3 anchors (audio)
    >>> z_visual = torch.tensor([[0.0, 0.5], [1.0, 1.0], [2.0, 0.0]])   # their visual partners
    >>> labels = torch.tensor([0, 1, 0])
    >>> BatchAllMiner().mine(z_audio, z_visual, labels).anchor.tolist()
    [0, 0, 1, 1, 2, 2]
    """

    def mask(self, labels: torch.Tensor) -> torch.Tensor:
        """The (B, B, B) boolean mask of valid (anchor, positive, negative) triples."""
        return valid_triplet_mask(labels)

    def mine(self, anchors: torch.Tensor, others: torch.Tensor,
             labels: torch.Tensor) -> Triplets:
        _check_batch(anchors, others, labels)
        i, j, k = torch.nonzero(self.mask(labels), as_tuple=True)
        return Triplets(i, j, k)


def _anchors_with_negative(labels: torch.Tensor) -> torch.Tensor:
    """(B,) bool: anchors whose class is not the only class of the batch."""
    return (~same_class(labels)).any(dim=1)


class BatchHardMiner(TripletMiner):
    """Per anchor: hardest positive = farthest same-class visual, hardest negative = closest
    other-class visual (Hermans et al. 2017, "batch hard"). Anchors without a negative are
    skipped; ties resolve to the lowest index.

    Examples
    --------
    >>> import torch
    >>> z_audio = torch.tensor([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0]])    # 3 anchors (audio)
    >>> z_visual = torch.tensor([[0.0, 0.5], [1.0, 1.0], [2.0, 0.0]])   # their visual partners
    >>> labels = torch.tensor([0, 1, 0])
    >>> triplets = BatchHardMiner().mine(z_audio, z_visual, labels)
    >>> triplets.positive.tolist(), triplets.negative.tolist()
    ([2, 1, 2], [1, 0, 1])
    """

    def mine(self, anchors: torch.Tensor, others: torch.Tensor,
             labels: torch.Tensor) -> Triplets:
        _check_batch(anchors, others, labels)
        with torch.no_grad():
            D = squared_distances(anchors, others)  # (B, B)
            S = same_class(labels)
            pos = D.masked_fill(~S, -torch.inf).argmax(dim=1)  # farthest positive
            neg = D.masked_fill(S, torch.inf).argmin(dim=1)    # closest negative
        keep = torch.nonzero(_anchors_with_negative(labels), as_tuple=True)[0]
        return Triplets(keep, pos[keep], neg[keep])


class RandomMiner(TripletMiner):
    """Per anchor one uniformly random positive (possibly its own partner) and one uniformly
    random negative, drawn from the miner's own seeded generator."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = int(seed)
        self._generator = torch.Generator(device="cpu")
        self._generator.manual_seed(self.seed)

    def mine(self, anchors: torch.Tensor, others: torch.Tensor,
             labels: torch.Tensor) -> Triplets:
        _check_batch(anchors, others, labels)
        B = labels.shape[0]
        S = same_class(labels)
        # a uniform random score per (anchor, candidate); the max over a masked row is a uniform
        # draw from that row's allowed candidates
        scores = torch.rand((B, B), generator=self._generator)
        pos = scores.masked_fill(~S, -1.0).argmax(dim=1)
        neg = scores.masked_fill(S, -1.0).argmax(dim=1)
        keep = torch.nonzero(_anchors_with_negative(labels), as_tuple=True)[0]
        return Triplets(keep, pos[keep], neg[keep])

    def __repr__(self) -> str:
        return f"RandomMiner(seed={self.seed})"


# -- loss ----------------------------------------------------------------------------------------
def triplet_hinge(anchors: torch.Tensor, others: torch.Tensor, triplets: Triplets,
                  margin: float) -> torch.Tensor:
    """Per-triplet hinge max(0, ||a_i - v_j||² - ||a_i - v_k||² + margin), (T,)."""
    D = squared_distances(anchors, others)  # (B, B): D[i, j] = ||a_i - v_j||²
    i, j, k = triplets
    return torch.relu(D[i, j] - D[i, k] + margin)


def batch_all_hinge_sum(anchors: torch.Tensor, others: torch.Tensor, labels: torch.Tensor,
                        margin: float) -> tuple[torch.Tensor, int, int]:
    """The batch-all hinges of one direction, reduced: (Σ of the hinges over every valid
    triplet, how many are active, how many are valid).

    The same per-triplet values as :func:`triplet_hinge` on :class:`BatchAllMiner`'s triplets,
    computed from the (B, B) distance matrix without index lists: a positive entry keeps
    D[i, j] and is −∞ elsewhere, a negative entry keeps D[i, k] and is +∞ elsewhere, so

        H[i, j, k] = max(0, D⁺[i, j] − D⁻[i, k] + margin)        (B, B, B)

    is the hinge of (i, j, k) when the triplet is valid and exactly 0 (with a zero gradient)
    when it is not (never ∞ − ∞). The sum runs in another order than over the mined list, so the
    reduced loss may differ from it in the last bits of the floating-point format.
    """
    D = squared_distances(anchors, others)                   # (B, B): D[i, j] = ||a_i - v_j||²
    S = same_class(labels)                                   # (B, B): y_j == y_i
    D_pos = D.masked_fill(~S, -torch.inf)                    # D⁺: positives j of anchor i
    D_neg = D.masked_fill(S, torch.inf)                      # D⁻: negatives k of anchor i
    H = (D_pos[:, :, None] - D_neg[:, None, :]).add_(margin).relu_()             # (B, B, B)
    n_valid = int((S.sum(dim=1) * (~S).sum(dim=1)).sum())    # Σ_i n_pos(i) · n_neg(i)
    return H.sum(), int(torch.count_nonzero(H)), n_valid


def mean_over_active(values: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Mean of the strictly positive entries (0 when there are none) and their count.

    sum(values) / n_active equals the mean over active triplets because inactive ones are 0;
    the result keeps its graph even when empty, so ``backward`` always works.
    """
    n_active = int((values > 0).sum())
    return values.sum() / max(n_active, 1), n_active


class TripletMarginLoss:
    """Cross-modal triplet margin loss on squared Euclidean distances.

    ``loss_fn(z_audio (B, d), z_visual (B, d), labels (B,)) -> TripletLossOutput``: the mean
    hinge max(0, ||a_i - v_j||² - ||a_i - v_k||² + margin) over the mined triplets that are
    active (hinge > 0), with the numbers of mined and active triplets. The loss TNN-C-CCA trains
    its branches with.

    Parameters
    ----------
    margin : float, default=0.5
        The hinge margin (0.5 in the paper).
    miner : TripletMiner or None, default=None
        Which triplets to use; ``None`` = :class:`BatchAllMiner`.
    symmetric : bool, default=False
        Also use visual anchors with audio positives/negatives.

    References
    ----------
    A. Hermans, L. Beyer, B. Leibe. In defense of the triplet loss for person
    re-identification. arXiv:1703.07737, 2017.

    F. Schroff, D. Kalenichenko, J. Philbin. FaceNet: a unified embedding for face
    recognition and clustering. CVPR 2015, 815-823.

    D. Zeng, Y. Yu, K. Oyama. Deep triplet neural networks with cluster-CCA for audio-visual
    cross-modal retrieval. ACM Transactions on Multimedia Computing, Communications, and
    Applications 16(3), 2020.

    Examples
    --------
    >>> import torch
    >>> z_audio = torch.tensor([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0]])    # 3 anchors (audio)
    >>> z_visual = torch.tensor([[0.0, 0.5], [1.0, 1.0], [2.0, 0.0]])   # their visual partners
    >>> labels = torch.tensor([0, 1, 0])
    >>> out = TripletMarginLoss(margin=0.5)(z_audio, z_visual, labels)
    >>> out.n_triplets, out.n_active, round(out.loss.item(), 4)    # mean of 2.5 and 4.5
    (6, 2, 3.5)
    """

    def __init__(self, margin: float = 0.5, miner: TripletMiner | None = None,
                 symmetric: bool = False) -> None:
        self.margin = check_nonnegative(margin, "margin")
        self.miner = BatchAllMiner() if miner is None else miner
        self.symmetric = bool(symmetric)

    def _directions(self, z_audio: torch.Tensor,
                    z_visual: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(anchors, others): audio anchors, then (if symmetric) visual anchors."""
        directions = [(z_audio, z_visual)]
        if self.symmetric:
            directions.append((z_visual, z_audio))
        return directions

    def hinge_values(self, z_audio: torch.Tensor, z_visual: torch.Tensor,
                     labels: torch.Tensor) -> torch.Tensor:
        """All mined per-triplet hinge values: audio anchors, then (if symmetric) visual ones."""
        values = []
        for anchors, others in self._directions(z_audio, z_visual):
            triplets = self.miner.mine(anchors, others, labels)
            values.append(triplet_hinge(anchors, others, triplets, self.margin))
        return torch.cat(values)

    def __call__(self, z_audio: torch.Tensor, z_visual: torch.Tensor,
                 labels: torch.Tensor) -> TripletLossOutput:
        """The reduced loss of one minibatch and its triplet counts."""
        # [choice] batch-all (exactly BatchAllMiner, not a subclass that may mine otherwise) is
        # reduced from the (B, B) distances (batch_all_hinge_sum) instead of the index lists of
        # hinge_values: the same loss up to the summation order; measured forward + backward,
        # ~2.3x faster at B = 40 (the paper's batches), about as fast at B = 75
        if type(self.miner) is BatchAllMiner:
            sums, n_active, n_triplets = [], 0, 0
            for anchors, others in self._directions(z_audio, z_visual):
                _check_batch(anchors, others, labels)
                hinge_sum, active, valid = batch_all_hinge_sum(anchors, others, labels,
                                                               self.margin)
                sums.append(hinge_sum)
                n_active, n_triplets = n_active + active, n_triplets + valid
            # Σ hinges / #active = the mean over active triplets (inactive ones are 0), as in
            # mean_over_active
            return TripletLossOutput(sum(sums[1:], sums[0]) / max(n_active, 1), n_triplets,
                                     n_active)
        values = self.hinge_values(z_audio, z_visual, labels)  # (T,)
        loss, n_active = mean_over_active(values)
        return TripletLossOutput(loss, int(values.numel()), n_active)

    def __repr__(self) -> str:
        return (f"TripletMarginLoss(margin={self.margin}, miner={self.miner!r}, "
                f"symmetric={self.symmetric})")
