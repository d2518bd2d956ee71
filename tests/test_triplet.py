"""Triplet loss and miners: vectorised code against naive loops on hand-made toys."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from paper_lib.methods.triplet import (
    BatchAllMiner,
    BatchHardMiner,
    RandomMiner,
    TripletMarginLoss,
    squared_distances,
)


def _toy(B: int = 12, d: int = 4, n_classes: int = 3, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    za = torch.randn(B, d, generator=g, dtype=torch.float64)
    zv = torch.randn(B, d, generator=g, dtype=torch.float64)
    y = torch.arange(B) % n_classes
    return za, zv, y


def _sq(u: np.ndarray, w: np.ndarray) -> float:
    return float(sum((a - b) ** 2 for a, b in zip(u, w, strict=True)))


def _naive_batch_all(za, zv, y, margin, symmetric=False):
    """Plain python triple loop over every valid (i, j, k); mean over active triplets."""
    A, V, lab = za.numpy(), zv.numpy(), y.numpy()
    directions = [(A, V)] + ([(V, A)] if symmetric else [])
    vals = []
    for anc, oth in directions:
        for i, j, k in itertools.product(range(len(lab)), repeat=3):
            if lab[j] == lab[i] and lab[k] != lab[i]:
                vals.append(max(0.0, _sq(anc[i], oth[j]) - _sq(anc[i], oth[k]) + margin))
    active = [v for v in vals if v > 0]
    return (sum(active) / len(active) if active else 0.0), len(vals), len(active)


def _naive_batch_hard(za, zv, y, margin):
    A, V, lab = za.numpy(), zv.numpy(), y.numpy()
    vals = []
    for i in range(len(lab)):
        pos = [j for j in range(len(lab)) if lab[j] == lab[i]]
        neg = [k for k in range(len(lab)) if lab[k] != lab[i]]
        dp = max(_sq(A[i], V[j]) for j in pos)
        dn = min(_sq(A[i], V[k]) for k in neg)
        vals.append(max(0.0, dp - dn + margin))
    active = [v for v in vals if v > 0]
    return sum(active) / len(active) if active else 0.0


def test_squared_distances_match_loop():
    za, zv, _ = _toy()
    D = squared_distances(za, zv).numpy()
    naive = np.array([[_sq(a, v) for v in zv.numpy()] for a in za.numpy()])
    np.testing.assert_allclose(D, naive, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("margin", [0.5, 3.0])
def test_batch_all_equals_naive_triple_loop(margin, symmetric):
    za, zv, y = _toy()
    out = TripletMarginLoss(margin=margin, symmetric=symmetric)(za, zv, y)
    ref, n_trip, n_act = _naive_batch_all(za, zv, y, margin, symmetric)
    assert out.n_triplets == n_trip
    assert out.n_active == n_act
    assert 0 < n_act < n_trip  # the toy exercises both active and inactive triplets
    np.testing.assert_allclose(float(out.loss), ref, rtol=1e-12)


def test_batch_all_triplet_count_and_true_pair_included():
    # class sizes 4, 4, 4 -> each anchor has 4 positives (incl. itself) and 8 negatives
    _, _, y = _toy()
    t = BatchAllMiner().mine(torch.zeros(12, 2), torch.zeros(12, 2), y)
    assert len(t.anchor) == 12 * 4 * 8
    assert (t.anchor == t.positive).sum() == 12 * 8  # j == i is a positive
    mask = BatchAllMiner().mask(y)
    assert int(mask.sum()) == len(t.anchor)


def test_batch_hard_equals_naive_loop():
    za, zv, y = _toy(seed=3)
    out = TripletMarginLoss(margin=0.5, miner=BatchHardMiner())(za, zv, y)
    np.testing.assert_allclose(float(out.loss), _naive_batch_hard(za, zv, y, 0.5), rtol=1e-12)
    assert out.n_triplets == 12


def test_batch_hard_picks_farthest_positive_closest_negative():
    za, zv, y = _toy(seed=4)
    t = BatchHardMiner().mine(za, zv, y)
    D = squared_distances(za, zv)
    for i, j, k in zip(*t, strict=True):
        same = y == y[i]
        assert D[i, j] == D[i][same].max()
        assert D[i, k] == D[i][~same].min()


@pytest.mark.parametrize("miner", [BatchAllMiner(), BatchHardMiner(), RandomMiner(seed=1)])
def test_miners_never_produce_invalid_triplets(miner):
    g = torch.Generator().manual_seed(7)
    for _ in range(5):
        y = torch.randint(0, 4, (30,), generator=g)
        za, zv = torch.randn(30, 3, generator=g), torch.randn(30, 3, generator=g)
        a, p, n = miner.mine(za, zv, y)
        assert len(a) > 0
        assert bool((y[p] == y[a]).all()), "positive of another class"
        assert bool((y[n] != y[a]).all()), "negative of the same class"


def test_random_miner_one_triplet_per_anchor_seeded_and_covers_candidates():
    za, zv, y = _toy()
    t1 = RandomMiner(seed=5).mine(za, zv, y)
    t2 = RandomMiner(seed=5).mine(za, zv, y)
    assert all(torch.equal(u, w) for u, w in zip(t1, t2, strict=True))
    assert torch.equal(t1.anchor, torch.arange(12))
    # over many draws every positive of anchor 0 (incl. itself) and every negative appears
    m = RandomMiner(seed=0)
    seen_p, seen_n = set(), set()
    for _ in range(200):
        _, p, n = m.mine(za, zv, y)
        seen_p.add(int(p[0]))
        seen_n.add(int(n[0]))
    assert seen_p == {int(j) for j in torch.nonzero(y == y[0])}
    assert seen_n == {int(k) for k in torch.nonzero(y != y[0])}


def test_anchor_without_negative_is_skipped_and_single_class_batch_gives_zero_loss():
    za, zv, _ = _toy(B=6)
    y = torch.zeros(6, dtype=torch.long)
    for miner in (BatchAllMiner(), BatchHardMiner(), RandomMiner()):
        za_g = za.clone().requires_grad_(True)
        out = TripletMarginLoss(miner=miner)(za_g, zv, y)
        assert out.n_triplets == 0 and float(out.loss.detach()) == 0.0
        out.loss.backward()  # still differentiable
        assert torch.all(za_g.grad == 0)


def test_hinge_is_zero_for_well_separated_classes():
    # classes far apart, each audio on top of its class's visuals: every triplet satisfied
    centers = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]], dtype=torch.float64)
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    za = centers[y] + 0.01 * torch.arange(6, dtype=torch.float64)[:, None]
    zv = centers[y] - 0.01
    for miner in (BatchAllMiner(), BatchHardMiner(), RandomMiner()):
        out = TripletMarginLoss(margin=0.5, miner=miner, symmetric=True)(za, zv, y)
        assert out.n_triplets > 0 and out.n_active == 0 and float(out.loss) == 0.0


def test_gradient_zero_for_inactive_triplets():
    # anchors 0,1 (class 0) are satisfied; anchor 2 (class 1) is violated: only the rows involved
    # in the violated triplets get a gradient
    y = torch.tensor([0, 0, 1, 1])
    za = torch.tensor([[0.0, 0.0], [0.1, 0.0], [0.0, 0.0], [5.0, 5.0]],
                      dtype=torch.float64, requires_grad=True)
    zv = torch.tensor([[0.0, 0.1], [0.1, 0.1], [5.0, 5.1], [5.0, 4.9]],
                      dtype=torch.float64, requires_grad=True)
    out = TripletMarginLoss(margin=0.5)(za, zv, y)
    out.loss.backward()
    # anchor 2 of class 1 sits on class 0's visuals -> its triplets are active
    assert out.n_active > 0
    assert torch.all(za.grad[[0, 1, 3]] == 0)
    assert torch.any(za.grad[2] != 0)
    # finite-difference check of the active part
    eps = 1e-6
    za2 = za.detach().clone()
    za2[2, 0] += eps
    f1 = TripletMarginLoss(margin=0.5)(za2, zv.detach(), y).loss
    f0 = TripletMarginLoss(margin=0.5)(za.detach(), zv.detach(), y).loss
    np.testing.assert_allclose(float((f1 - f0) / eps), float(za.grad[2, 0]), rtol=1e-4)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="margin"):
        TripletMarginLoss(margin=-1)
    with pytest.raises(ValueError, match="labels"):
        BatchAllMiner().mine(torch.zeros(3, 2), torch.zeros(3, 2), torch.zeros(4))
    with pytest.raises(ValueError, match="paired"):
        BatchHardMiner().mine(torch.zeros(3, 2), torch.zeros(4, 2), torch.zeros(3))
