"""Tests of paper_lib.metrics: every metric against naive per-query Python references (exact
fractions), with ties and a class absent from the gallery; the tie rules against scikit-learn and
against the average over all orders of the tied items; invariance to gallery order; and, on
tie-free data, against scikit-learn / scipy and a plain ranking loop, plus hand-made toys."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.metrics import average_precision_score, ndcg_score
from sklearn.metrics.pairwise import cosine_similarity as sk_cosine

from paper_lib.metrics import (
    RECALL_LEVELS_11,
    average_precision,
    count_dropped_queries,
    interpolated_pr_11,
    mean_average_precision,
    mean_reciprocal_rank,
    ndcg_at_k,
    per_class_ap,
    pr_curve,
    precision_at_k,
    rank_gallery,
    recall_at_k,
    recall_at_k_true_pair,
    relevance,
    report_names,
    retrieval_report,
    similarity,
)

N_Q, N_G = 37, 53
ABSENT_CLASS = 5  # occurs among the queries, never in the gallery


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------
def _labels(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 5, size=N_G)                 # gallery classes 0..4
    q = rng.integers(0, 6, size=N_Q)                 # query classes 0..5 (5 absent)
    q[:3] = ABSENT_CLASS                              # make sure the absent class is there
    return q, g


@pytest.fixture
def tied() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer scores in {0..3}: many ties; one query class absent from the gallery."""
    q, g = _labels(1)
    S = np.random.default_rng(2).integers(0, 4, size=(N_Q, N_G)).astype(np.float64)
    return S, q, g


@pytest.fixture
def tie_free() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Continuous scores (no ties); no absent class (for scikit-learn comparisons)."""
    rng = np.random.default_rng(3)
    g = rng.integers(0, 5, size=N_G)
    q = rng.integers(0, 5, size=N_Q)
    S = rng.normal(size=(N_Q, N_G))
    return S, q, g


@pytest.fixture
def mixed() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Continuous scores, every third query row rounded to one decimal (ties in those rows only),
    one query class absent: blocks mix rows with and without ties."""
    q, g = _labels(7)
    S = np.random.default_rng(8).normal(size=(N_Q, N_G))
    S[::3] = np.round(S[::3], 1)
    return S, q, g


# ---------------------------------------------------------------------------------------------
# plain-ranking references: one concrete order (ties: lower gallery index first). These are the
# usual definitions; they are the metrics' values when there are no ties, and the oracle the tie
# rules are checked against (averaged over every order of the tied items).
# ---------------------------------------------------------------------------------------------
def naive_order(row: np.ndarray) -> list[int]:
    return sorted(range(len(row)), key=lambda j: (-float(row[j]), j))


def naive_rel(S: np.ndarray, q: np.ndarray, g: np.ndarray, i: int) -> list[bool]:
    return [bool(g[j] == q[i]) for j in naive_order(S[i])]


def naive_ap(rel: list[bool]) -> float:
    R = sum(rel)
    if R == 0:
        return math.nan
    hits, total = 0, 0.0
    for k, r in enumerate(rel, start=1):
        if r:
            hits += 1
            total += hits / k           # P@k · rel_k
    return total / R


def naive_mean(values: list[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return sum(kept) / len(kept)


def naive_precision(rel: list[bool], k: int) -> float:
    k = min(k, len(rel))
    return math.nan if sum(rel) == 0 else sum(rel[:k]) / k


def naive_recall(rel: list[bool], k: int) -> float:
    k = min(k, len(rel))
    return math.nan if sum(rel) == 0 else sum(rel[:k]) / sum(rel)


def naive_rr(rel: list[bool]) -> float:
    return math.nan if sum(rel) == 0 else 1.0 / (rel.index(True) + 1)


def naive_ndcg(rel: list[bool], k: int) -> float:
    R = sum(rel)
    if R == 0:
        return math.nan
    k = min(k, len(rel))
    dcg = sum(1.0 / math.log2(i + 2) for i in range(k) if rel[i])
    idcg = sum(1.0 / math.log2(i + 2) for i in range(min(k, R)))
    return dcg / idcg


def naive_eleven(rel: list[bool]) -> list[float]:
    R = sum(rel)
    hits, prec, rec = 0, [], []
    for k, r in enumerate(rel, start=1):
        hits += r
        prec.append(Fraction(hits, k))
        rec.append(Fraction(hits, R))
    return [float(max(p for p, rc in zip(prec, rec, strict=True) if rc >= Fraction(lv, 10)))
            for lv in range(11)]


def all_rel(S: np.ndarray, q: np.ndarray, g: np.ndarray) -> list[list[bool]]:
    return [naive_rel(S, q, g, i) for i in range(S.shape[0])]


# ---------------------------------------------------------------------------------------------
# tie-aware references (exact fractions), written from the rules in the module docstring
# ---------------------------------------------------------------------------------------------
def tie_groups(S: np.ndarray, q: np.ndarray, g: np.ndarray, i: int) -> list[tuple[int, int]]:
    """Query i's tie groups in descending score order: (size, relevant items)."""
    by_score: dict[float, list[int]] = {}
    for j, s in enumerate(S[i]):
        by_score.setdefault(float(s), []).append(j)
    return [(len(js), sum(int(g[j] == q[i]) for j in js))
            for _, js in sorted(by_score.items(), reverse=True)]


def all_groups(S: np.ndarray, q: np.ndarray, g: np.ndarray) -> list[list[tuple[int, int]]]:
    return [tie_groups(S, q, g, i) for i in range(S.shape[0])]


def tie_ap(groups: list[tuple[int, int]]) -> float:
    """scikit-learn's AP: each group one threshold, (h/R) · (hits through / items through)."""
    R = sum(h for _, h in groups)
    if R == 0:
        return math.nan
    items = hits = 0
    total = Fraction(0)
    for size, h in groups:
        items, hits = items + size, hits + h
        total += Fraction(h, R) * Fraction(hits, items)
    return float(total)


def expected_hits(groups: list[tuple[int, int]], k: int) -> Fraction:
    """Expected relevant items in the top k over random orders inside each group."""
    items = hits = 0
    for size, h in groups:
        if items + size >= k:
            return hits + Fraction(h * (k - items), size)
        items, hits = items + size, hits + h
    return Fraction(hits)


def tie_precision(groups: list[tuple[int, int]], k: int) -> float:
    n = sum(size for size, _ in groups)
    k = min(k, n)
    return math.nan if not any(h for _, h in groups) else float(expected_hits(groups, k) / k)


def tie_recall(groups: list[tuple[int, int]], k: int) -> float:
    R = sum(h for _, h in groups)
    n = sum(size for size, _ in groups)
    return math.nan if R == 0 else float(expected_hits(groups, min(k, n)) / R)


def tie_rr(groups: list[tuple[int, int]]) -> float:
    """E[1/rank of the first relevant item]: P(offset j) = C(g-1-j, h-1) / C(g, h)."""
    above = 0
    for size, h in groups:
        if h:
            return float(sum(Fraction(math.comb(size - 1 - j, h - 1), math.comb(size, h))
                             / (above + 1 + j) for j in range(size - h + 1)))
        above += size
    return math.nan


def tie_ndcg(groups: list[tuple[int, int]], k: int) -> float:
    """Expected DCG / IDCG: every position of a group has the expected gain h / size."""
    R = sum(h for _, h in groups)
    if R == 0:
        return math.nan
    gains = [h / size for size, h in groups for _ in range(size)]
    k = min(k, len(gains))
    dcg = sum(gains[i] / math.log2(i + 2) for i in range(k))
    idcg = sum(1.0 / math.log2(i + 2) for i in range(min(k, R)))
    return dcg / idcg


def tie_curve(groups: list[tuple[int, int]]) -> tuple[list[Fraction], list[Fraction]]:
    """Expected P@k and R@k at every k = 1..n_g."""
    R = sum(h for _, h in groups)
    n = sum(size for size, _ in groups)
    hits = [expected_hits(groups, k) for k in range(1, n + 1)]
    return [e / k for k, e in enumerate(hits, start=1)], [e / R for e in hits]


def tie_eleven(groups: list[tuple[int, int]]) -> list[float]:
    prec, rec = tie_curve(groups)
    return [float(max(p for p, rc in zip(prec, rec, strict=True) if rc >= Fraction(lv, 10)))
            for lv in range(11)]


def tie_pair(row: np.ndarray, partner: int, k: int) -> Fraction:
    """P(true partner in the top k): the share of its tie group inside the top k."""
    above = int((row > row[partner]).sum())
    size = int((row == row[partner]).sum())
    return min(max(Fraction(k - above, size), Fraction(0)), Fraction(1))


# ---------------------------------------------------------------------------------------------
# ranking and relevance (the display order: stable, ties in gallery order)
# ---------------------------------------------------------------------------------------------
def test_rank_gallery_is_descending_with_stable_ties(tied):
    S, _, _ = tied
    order = rank_gallery(S)
    assert order.shape == S.shape
    for i in range(S.shape[0]):
        assert order[i].tolist() == naive_order(S[i])
    # all scores equal -> gallery order
    assert rank_gallery(np.zeros((2, 6))).tolist() == [list(range(6))] * 2


def test_relevance_in_ranked_order(tied):
    S, q, g = tied
    rel = relevance(S, q, g)
    assert rel.dtype == bool
    assert rel.tolist() == all_rel(S, q, g)


# ---------------------------------------------------------------------------------------------
# ties: chance for a collapsed embedding, no dependence on gallery order, the stated rules
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("counts", [[6] * 10, [2, 3, 5, 8, 12]])
def test_collapsed_embedding_scores_chance(counts):
    """Every score equal (a collapsed embedding): chance level, whatever the gallery order.
    The issue's case: 10 balanced classes ordered by class used to give MAP 0.21, not 0.10."""
    y = np.repeat(np.arange(len(counts)), counts)          # gallery ordered by class, as a fold
    n = y.size
    S = np.zeros((n, n))
    prevalence = np.mean([np.mean(y == c) for c in y])      # mean R_i / n_g, own pair included
    assert mean_average_precision(S, y, y) == pytest.approx(prevalence, abs=1e-12)
    np.testing.assert_allclose(average_precision(S, y, y), np.bincount(y)[y] / n, atol=1e-12)
    for k in (1, 2, 5, n):
        assert precision_at_k(S, y, y, k) == pytest.approx(prevalence, abs=1e-12)
        assert recall_at_k(S, y, y, k) == pytest.approx(k / n, abs=1e-12)
        assert recall_at_k_true_pair(S, k) == pytest.approx(k / n, abs=1e-12)
    precision, recall = pr_curve(S, y, y)
    np.testing.assert_allclose(precision, prevalence, atol=1e-12)
    np.testing.assert_allclose(recall, np.arange(1, n + 1) / n, atol=1e-12)
    np.testing.assert_allclose(interpolated_pr_11(S, y, y)[1], prevalence, atol=1e-12)
    rep = retrieval_report(S, y, y, ks=(1, 5))
    assert rep["map"] == pytest.approx(prevalence, abs=1e-12)
    assert rep["p@5"] == pytest.approx(prevalence, abs=1e-12)
    assert rep["mrr"] == pytest.approx(naive_mean([tie_rr([(n, int(c))]) for c in
                                                   np.bincount(y)[y]]), abs=1e-12)


def _permuted(S, g, pair, perm):
    """The same retrieval problem with the gallery listed in another order."""
    position = np.argsort(perm)                # new column of old gallery item j
    return S[:, perm], g[perm], position[pair]


def _every_number(S, q, g, pair, chunk=None):
    ks = (1, 3, 7, 20, 1000)
    out = [average_precision(S, q, g, chunk=chunk), *pr_curve(S, q, g, chunk=chunk),
           *interpolated_pr_11(S, q, g, chunk=chunk),
           np.array(list(per_class_ap(S, q, g, chunk=chunk).values())),
           np.array(list(retrieval_report(S, q, g, ks=ks, pair_index=pair,
                                          chunk=chunk).values())),
           np.array([mean_reciprocal_rank(S, q, g, chunk=chunk)])]
    for k in ks:
        out.append(np.array([precision_at_k(S, q, g, k, chunk=chunk),
                             recall_at_k(S, q, g, k, chunk=chunk),
                             ndcg_at_k(S, q, g, k, chunk=chunk),
                             recall_at_k_true_pair(S, k, pair, chunk=chunk)]))
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_metric_is_independent_of_gallery_order_under_ties(seed):
    rng = np.random.default_rng(seed)
    n_q, n_g = 40, 60
    q, g = rng.integers(0, 6, n_q), rng.integers(0, 5, n_g)   # class 5: absent (NaN, dropped)
    S = np.round(rng.normal(size=(n_q, n_g)), 1)              # scores to one decimal: many ties
    assert max(len(set(row)) for row in S.tolist()) < 0.7 * n_g        # every row has ties
    pair = rng.integers(0, n_g, n_q)
    reference = _every_number(S, q, g, pair)
    for _ in range(3):
        perm = rng.permutation(n_g)
        S_perm, g_perm, pair_perm = _permuted(S, g, pair, perm)
        permuted = _every_number(S_perm, q, g_perm, pair_perm, chunk=7)
        for a, b in zip(reference, permuted, strict=True):
            np.testing.assert_allclose(b, a, rtol=0, atol=1e-12)


def test_average_precision_equals_sklearn_per_query_with_ties(tied):
    S, q, g = tied
    rounded = np.round(np.random.default_rng(11).normal(size=(N_Q, N_G)), 1)
    for scores in (S, rounded, np.zeros_like(S)):
        ap = average_precision(scores, q, g)
        for i in range(N_Q):
            if q[i] == ABSENT_CLASS:
                assert math.isnan(ap[i])
            else:
                assert ap[i] == pytest.approx(average_precision_score(g == q[i], scores[i]),
                                              abs=1e-12)


def _average_over_all_orders(S, q, g, pair):
    """Plain-ranking metrics averaged over every order of the gallery (hence of the tied items,
    each order of a tie group equally often): exact fractions, nDCG in floats."""
    n_q, n_g = S.shape
    valid = [i for i in range(n_q) if (g == q[i]).any()]
    orders = list(itertools.permutations(range(n_g)))
    hit_sums = np.zeros((n_q, n_g), dtype=np.int64)       # Σ_orders hits in the top k
    pair_sums = np.zeros((n_q, n_g), dtype=np.int64)      # Σ_orders [partner in the top k]
    rr_sums = [Fraction(0)] * n_q
    ndcg_sums = np.zeros((n_q, n_g))
    for tiebreak in orders:
        for i in range(n_q):
            ranked = sorted(range(n_g), key=lambda j, i=i: (-S[i, j], tiebreak[j]))
            rel = [bool(g[j] == q[i]) for j in ranked]
            hit_sums[i] += np.cumsum(rel)
            pair_sums[i] += np.cumsum([j == pair[i] for j in ranked])
            if i in valid:
                rr_sums[i] += Fraction(1, rel.index(True) + 1)
                ndcg_sums[i] += [naive_ndcg(rel, k) for k in range(1, n_g + 1)]
    n_orders = len(orders)
    R = np.array([int((g == q[i]).sum()) for i in valid])
    hits = [[Fraction(int(h), n_orders) for h in hit_sums[i]] for i in valid]
    return {
        "precision": [sum(Fraction(h[k - 1], k) for h in hits) / len(valid)
                      for k in range(1, n_g + 1)],
        "recall": [sum(h[k - 1] / int(r) for h, r in zip(hits, R, strict=True)) / len(valid)
                   for k in range(1, n_g + 1)],
        "mrr": sum(rr_sums[i] for i in valid) / (n_orders * len(valid)),
        "ndcg": ndcg_sums[valid].mean(axis=0) / n_orders,
        "pair": [Fraction(int(pair_sums[:, k - 1].sum()), n_orders * n_q)
                 for k in range(1, n_g + 1)],
    }


def test_tie_rules_equal_the_average_over_all_orders_of_tied_items():
    # 7 gallery items, 4 queries: tie groups straddle cut-offs, hold the first relevant item and
    # the true partner; query 3's class is absent from the gallery
    S = np.array([[2.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0],
                  [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
                  [0.0, 3.0, 0.0, 3.0, 3.0, 0.0, 1.0],
                  [1.0, 1.0, 0.0, 0.0, 0.0, 2.0, 2.0]])
    g = np.array([0, 1, 0, 1, 0, 2, 1])
    q = np.array([1, 0, 0, 4])
    pair = np.array([3, 1, 4, 0])
    avg = _average_over_all_orders(S, q, g, pair)
    precision, recall = pr_curve(S, q, g)
    np.testing.assert_allclose(precision, [float(v) for v in avg["precision"]], atol=1e-12)
    np.testing.assert_allclose(recall, [float(v) for v in avg["recall"]], atol=1e-12)
    assert mean_reciprocal_rank(S, q, g) == pytest.approx(float(avg["mrr"]), abs=1e-12)
    for k in range(1, 8):
        assert precision_at_k(S, q, g, k) == pytest.approx(float(avg["precision"][k - 1]),
                                                           abs=1e-12)
        assert recall_at_k(S, q, g, k) == pytest.approx(float(avg["recall"][k - 1]), abs=1e-12)
        assert ndcg_at_k(S, q, g, k) == pytest.approx(avg["ndcg"][k - 1], abs=1e-12)
        assert recall_at_k_true_pair(S, k, pair) == pytest.approx(float(avg["pair"][k - 1]),
                                                                  abs=1e-12)
    rep = retrieval_report(S, q, g, ks=(1, 2, 4), pair_index=pair)
    for k in (1, 2, 4):
        assert rep[f"p@{k}"] == pytest.approx(float(avg["precision"][k - 1]), abs=1e-12)
        assert rep[f"pair_r@{k}"] == pytest.approx(float(avg["pair"][k - 1]), abs=1e-12)
    # the tie-aware references used by the other tests are these averages too
    groups = [tie_groups(S, q, g, i) for i in range(3)]
    assert float(avg["mrr"]) == pytest.approx(np.mean([tie_rr(gr) for gr in groups]), abs=1e-12)
    # AP is scikit-learn's (a tie group is one threshold), not an average over orders
    for i in range(3):
        assert average_precision(S, q, g)[i] == pytest.approx(
            average_precision_score(g == q[i], S[i]), abs=1e-12)
        assert tie_ap(groups[i]) == pytest.approx(average_precision_score(g == q[i], S[i]),
                                                  abs=1e-12)


def test_tied_ap_does_not_depend_on_gallery_order():
    # six tied items, two relevant: one threshold holding everything -> AP = 2/6 however listed
    # (a stable sort on gallery order gave 1 for the first listing and 0.267 for the second)
    S = np.zeros((1, 6))
    for g in ([1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1], [0, 1, 0, 0, 1, 0]):
        assert average_precision(S, np.array([1]), np.array(g))[0] == pytest.approx(1 / 3)
        assert precision_at_k(S, np.array([1]), np.array(g), 2) == pytest.approx(1 / 3)


def test_mrr_with_ties_known_value():
    # one irrelevant item on top, then 4 tied items with 2 relevant: the first relevant item is at
    # rank 2, 3 or 4 with probability 1/2, 1/3, 1/6 -> E[1/rank] = 1/4 + 1/9 + 1/24 = 29/72
    S = np.array([[1.0, 0.0, 0.0, 0.0, 0.0]])
    g = np.array([0, 1, 0, 1, 0])
    assert mean_reciprocal_rank(S, np.array([1]), g) == pytest.approx(29 / 72, abs=1e-15)


def test_tie_free_metrics_equal_the_plain_ranking_loop(tie_free):
    S, q, g = tie_free
    rels = all_rel(S, q, g)
    np.testing.assert_allclose(average_precision(S, q, g), [naive_ap(r) for r in rels],
                               rtol=0, atol=1e-12)
    assert mean_reciprocal_rank(S, q, g) == pytest.approx(naive_mean([naive_rr(r) for r in rels]),
                                                          abs=1e-12)
    for k in (1, 5, N_G):
        assert precision_at_k(S, q, g, k) == pytest.approx(
            naive_mean([naive_precision(r, k) for r in rels]), abs=1e-12)
        assert recall_at_k(S, q, g, k) == pytest.approx(
            naive_mean([naive_recall(r, k) for r in rels]), abs=1e-12)
        assert ndcg_at_k(S, q, g, k) == pytest.approx(
            naive_mean([naive_ndcg(r, k) for r in rels]), abs=1e-12)
        assert recall_at_k_true_pair(S, k) == pytest.approx(
            np.mean([i in naive_order(S[i])[:k] for i in range(N_Q)]), abs=1e-15)
    _, prec11 = interpolated_pr_11(S, q, g)
    np.testing.assert_allclose(prec11, np.mean([naive_eleven(r) for r in rels], axis=0),
                               rtol=0, atol=1e-12)
    precision, recall = pr_curve(S, q, g)
    np.testing.assert_allclose(precision, [np.mean([sum(r[:k]) / k for r in rels])
                                           for k in range(1, N_G + 1)], rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# average precision / MAP
# ---------------------------------------------------------------------------------------------
def test_average_precision_matches_naive_loop_with_ties(tied):
    S, q, g = tied
    ap = average_precision(S, q, g)
    ref = np.array([tie_ap(gr) for gr in all_groups(S, q, g)])
    np.testing.assert_array_equal(np.isnan(ap), q == ABSENT_CLASS)   # NaN exactly for R = 0
    np.testing.assert_allclose(ap, ref, rtol=0, atol=1e-12, equal_nan=True)


def test_map_ignores_absent_classes_and_counts_them(tied):
    S, q, g = tied
    ref = naive_mean([tie_ap(gr) for gr in all_groups(S, q, g)])
    assert mean_average_precision(S, q, g) == pytest.approx(ref, abs=1e-12)
    assert count_dropped_queries(q, g) == int((q == ABSENT_CLASS).sum()) >= 3
    assert retrieval_report(S, q, g)["n_dropped"] == count_dropped_queries(q, g)


def test_average_precision_equals_sklearn_on_tie_free_data(tie_free):
    S, q, g = tie_free
    ap = average_precision(S, q, g)
    for i in range(S.shape[0]):
        ref = average_precision_score(g == q[i], S[i])
        assert abs(ap[i] - ref) < 1e-9


# ---------------------------------------------------------------------------------------------
# hand-made toys with known answers
# ---------------------------------------------------------------------------------------------
def test_perfect_ranking_gives_one_everywhere():
    g = np.array([0, 0, 1, 1, 1, 2])
    q = np.array([0, 1, 2])
    S = (q[:, None] == g[None, :]).astype(float) + 0.01 * np.arange(6)[::-1]   # own class on top
    assert mean_average_precision(S, q, g) == 1.0
    assert mean_reciprocal_rank(S, q, g) == 1.0
    assert ndcg_at_k(S, q, g, 3) == pytest.approx(1.0, abs=1e-15)
    # P@R = 1 for each query
    for i, R in enumerate([2, 3, 1]):
        assert precision_at_k(S[i:i + 1], q[i:i + 1], g, R) == 1.0
        assert recall_at_k(S[i:i + 1], q[i:i + 1], g, R) == 1.0


def test_worst_ranking_known_value():
    # n_g = 10, R = 2 relevant items ranked last (ranks 9, 10): AP = (1/9 + 2/10) / 2 = 0.15555...
    g = np.array([1] * 8 + [0, 0])
    S = -np.arange(10, dtype=float)[None, :]            # ranking = gallery order
    ap = average_precision(S, np.array([0]), g)[0]
    assert ap == pytest.approx((1 / 9 + 2 / 10) / 2, abs=1e-15)
    assert mean_reciprocal_rank(S, np.array([0]), g) == pytest.approx(1 / 9)
    assert precision_at_k(S, np.array([0]), g, 8) == 0.0


def test_map_is_not_truncated():
    """The truncated-MAP pitfall: MAP@k with the hits in the top k as denominator inflates."""
    # relevant at ranks 1, 9, 10 of 10 (R = 3)
    g = np.array([0, 1, 1, 1, 1, 1, 1, 1, 0, 0])
    S = -np.arange(10, dtype=float)[None, :]
    q = np.array([0])
    full = (1 / 1 + 2 / 9 + 3 / 10) / 3                  # the paper's AP over the full ranking
    rel = relevance(S, q, g)[0]
    hits5 = np.cumsum(rel[:5])
    truncated = float((hits5 / np.arange(1, 6))[rel[:5]].sum() / rel[:5].sum())   # = 1.0
    assert truncated == 1.0
    assert mean_average_precision(S, q, g) == pytest.approx(full, abs=1e-15)
    assert mean_average_precision(S, q, g) < 0.51 < truncated


# ---------------------------------------------------------------------------------------------
# cut-off metrics
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 3, 10, N_G, N_G + 7])
def test_cutoff_metrics_match_naive_loop(tied, k):
    S, q, g = tied
    groups = all_groups(S, q, g)
    assert precision_at_k(S, q, g, k) == pytest.approx(
        naive_mean([tie_precision(gr, k) for gr in groups]), abs=1e-12)
    assert recall_at_k(S, q, g, k) == pytest.approx(
        naive_mean([tie_recall(gr, k) for gr in groups]), abs=1e-12)
    assert ndcg_at_k(S, q, g, k) == pytest.approx(
        naive_mean([tie_ndcg(gr, k) for gr in groups]), abs=1e-12)


def test_k_above_gallery_is_clipped(tied):
    S, q, g = tied
    assert precision_at_k(S, q, g, 10 * N_G) == precision_at_k(S, q, g, N_G)
    assert recall_at_k(S, q, g, 10 * N_G) == 1.0


@pytest.mark.parametrize("k", [1, 5, 30])
def test_ndcg_equals_sklearn_on_tie_free_data(tie_free, k):
    S, q, g = tie_free
    truth = (q[:, None] == g[None, :]).astype(float)
    ref = ndcg_score(truth, S, k=k, ignore_ties=True)
    assert ndcg_at_k(S, q, g, k) == pytest.approx(ref, abs=1e-12)


def test_mrr_matches_naive_loop(tied):
    S, q, g = tied
    ref = naive_mean([tie_rr(gr) for gr in all_groups(S, q, g)])
    assert mean_reciprocal_rank(S, q, g) == pytest.approx(ref, abs=1e-12)


def test_per_class_ap_matches_naive(tied):
    S, q, g = tied
    aps = [tie_ap(gr) for gr in all_groups(S, q, g)]
    out = per_class_ap(S, q, g)
    assert sorted(out) == sorted(set(q.tolist()))
    assert math.isnan(out[ABSENT_CLASS])
    for c, v in out.items():
        if c != ABSENT_CLASS:
            ref = np.mean([a for a, qc in zip(aps, q, strict=True) if qc == c])
            assert v == pytest.approx(ref, abs=1e-12)


# ---------------------------------------------------------------------------------------------
# curves
# ---------------------------------------------------------------------------------------------
def test_pr_curve_matches_naive_and_has_the_right_ends(tied):
    S, q, g = tied
    precision, recall = pr_curve(S, q, g)
    curves = [tie_curve(gr) for gr in all_groups(S, q, g) if any(h for _, h in gr)]
    ref_p = [float(sum(p[k] for p, _ in curves) / len(curves)) for k in range(N_G)]
    ref_r = [float(sum(r[k] for _, r in curves) / len(curves)) for k in range(N_G)]
    np.testing.assert_allclose(precision, ref_p, rtol=0, atol=1e-12)
    np.testing.assert_allclose(recall, ref_r, rtol=0, atol=1e-12)
    assert recall[-1] == pytest.approx(1.0, abs=1e-15)
    assert np.all(np.diff(recall) >= 0)
    # precision at full depth = the class prevalence R_i / n_g, averaged over the kept queries
    prevalence = np.mean([np.mean(g == c) for c in q if c != ABSENT_CLASS])
    assert precision[-1] == pytest.approx(prevalence, abs=1e-15)
    # the curve's points agree with the single-cut-off metrics
    assert precision[9] == pytest.approx(precision_at_k(S, q, g, 10), abs=1e-15)
    assert recall[9] == pytest.approx(recall_at_k(S, q, g, 10), abs=1e-15)


def test_interpolated_11_point_matches_naive_and_is_non_increasing(tied):
    S, q, g = tied
    levels, prec = interpolated_pr_11(S, q, g)
    np.testing.assert_array_equal(levels, RECALL_LEVELS_11)
    assert levels[0] == 0.0 and levels[-1] == 1.0 and levels.size == 11
    ref = np.mean([tie_eleven(gr) for gr in all_groups(S, q, g) if any(h for _, h in gr)],
                  axis=0)
    np.testing.assert_allclose(prec, ref, rtol=0, atol=1e-12)
    assert np.all(np.diff(prec) <= 0)


def test_interpolated_11_point_uses_exact_recall_levels():
    # R = 10, hits reach 3 at rank 3: recall 3/10 must count as >= 0.3 (0.1*3 != 0.3 in floats)
    g = np.array([0] * 3 + [1] * 10 + [0] * 7)
    S = -np.arange(20, dtype=float)[None, :]
    _, prec = interpolated_pr_11(S, np.array([0]), g)
    # relevant at ranks 1-3 and 14-20; recall 0.3 is reached at rank 3 with precision 1
    # (a float comparison with the level 0.1 * 3 = 0.30000000000000004 would miss it and give 0.5)
    assert prec[3] == 1.0
    assert prec[4] == 0.5                      # max(P@14 = 4/14, ..., P@20 = 10/20)


def test_interpolated_11_point_levels_are_exact_inside_a_tie_group():
    # R = 3: one hit on top, then 5 tied items holding 1 hit, the last hit far below. At k = 2 the
    # expected hits are 1 + 1/5 = 6/5, recall exactly 0.4 (in floats (1 + 0.2)/3 = 0.3999...).
    # Level 0.4 is reached there with P@2 = 0.6; a float comparison would start at k = 3 (0.467)
    S = np.array([[3.0] + [2.0] * 5 + [1.0, 0.9, 0.8, 0.7, 0.6]])
    g = np.array([0] + [1, 1, 0, 1, 1] + [1, 1, 1, 1, 0])
    q = np.array([0])
    _, prec = interpolated_pr_11(S, q, g)
    assert prec[4] == pytest.approx(0.6, abs=1e-15)
    assert prec.tolist() == pytest.approx(tie_eleven(tie_groups(S, q, g, 0)), abs=1e-15)


# ---------------------------------------------------------------------------------------------
# VM-NET true-pair recall
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 5, 10])
def test_true_pair_recall_matches_naive(tied, k):
    S, _, _ = tied
    rng = np.random.default_rng(4)
    pair = rng.permutation(N_G)[:N_Q]
    for pair_index in (None, pair):
        p = np.arange(N_Q) if pair_index is None else pair
        ref = np.mean([float(tie_pair(S[i], int(p[i]), k)) for i in range(N_Q)])
        assert recall_at_k_true_pair(S, k, pair_index) == pytest.approx(ref, abs=1e-15)


def test_true_pair_recall_with_ties_counts_the_share_of_the_group_inside_k():
    S = np.zeros((8, 8))                       # all tied: every partner is in the top 3 w.p. 3/8
    assert recall_at_k_true_pair(S, 3) == 3 / 8
    assert recall_at_k_true_pair(np.eye(8), 1) == 1.0
    # partner (item 0) tied with items 1-3 below item 4: in the top 2 with probability 1/4
    S = np.array([[1.0, 1.0, 1.0, 1.0, 2.0, 0.0]])
    assert [recall_at_k_true_pair(S, k) for k in (1, 2, 3, 5, 6)] == [0.0, 0.25, 0.5, 1.0, 1.0]


# ---------------------------------------------------------------------------------------------
# one pass, chunking
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("data", ["tied", "mixed", "tie_free"])
def test_report_equals_the_single_metric_functions(data, request):
    S, q, g = request.getfixturevalue(data)
    ks = (1, 5, 10, 1000)
    rep = retrieval_report(S, q, g, ks=ks)
    assert list(rep) == report_names(ks)
    assert all(name == name.lower() for name in rep)
    assert rep["map"] == mean_average_precision(S, q, g)
    assert rep["mrr"] == mean_reciprocal_rank(S, q, g)
    for k in ks:
        assert rep[f"p@{k}"] == precision_at_k(S, q, g, k)
        assert rep[f"r@{k}"] == recall_at_k(S, q, g, k)
        assert rep[f"ndcg@{k}"] == ndcg_at_k(S, q, g, k)
        assert rep[f"pair_r@{k}"] == recall_at_k_true_pair(S, k)
    assert rep["n_queries"] == N_Q
    no_pairs = retrieval_report(S, q, g, ks=ks, include_pairs=False)
    assert not any(name.startswith("pair_") for name in no_pairs)


@pytest.mark.parametrize("data", ["tied", "mixed"])
@pytest.mark.parametrize("chunk", [1, 4, 36, 1000])
def test_chunked_results_are_identical(data, chunk, request):
    S, q, g = request.getfixturevalue(data)

    def everything(c):
        return [rank_gallery(S, chunk=c), relevance(S, q, g, chunk=c),
                *_every_number(S, q, g, np.arange(N_Q), chunk=c)]

    for a, b in zip(everything(None), everything(chunk), strict=True):
        np.testing.assert_array_equal(a, b)   # bit-identical, NaNs in the same places


def test_rows_without_ties_give_the_plain_values_next_to_tied_rows(mixed):
    """A row without ties gets the plain-ranking value even in a block holding tied rows."""
    S, q, g = mixed
    plain = [i for i in range(N_Q) if len(set(S[i].tolist())) == N_G]
    assert 0 < len(plain) < N_Q
    ap = average_precision(S, q, g)
    np.testing.assert_array_equal(ap[plain], average_precision(S[plain], q[plain], g))
    rels = all_rel(S, q, g)
    np.testing.assert_allclose(ap[plain], [naive_ap(rels[i]) for i in plain], rtol=0, atol=1e-12,
                               equal_nan=True)


@pytest.mark.parametrize("data", ["tied", "mixed", "tie_free"])
def test_tie_groups_of_a_prefix_equal_those_of_whole_rows(data, request):
    """White box: the two ways the ranking's tie groups are computed (the first ranks only, for
    cut-off metrics; whole rows, for curves) agree, and match the groups of the scores."""
    from paper_lib.metrics.retrieval import _ranked_blocks

    S, q, g = request.getfixturevalue(data)
    for b in _ranked_blocks(S, q, g, chunk=8):
        whole = b.tie_groups(N_G)
        for width in (1, 2, 17, N_G - 1):
            fresh = next(_ranked_blocks(S[b.rows], q[b.rows], g, chunk=None))
            for part, full in zip(fresh.tie_groups(width), whole, strict=True):
                np.testing.assert_array_equal(part, full[:, :width])
        start, stop, before, through = whole
        for r, i in enumerate(range(*b.rows.indices(N_Q))):
            groups = tie_groups(S, q, g, i)
            bounds = np.cumsum([0] + [size for size, _ in groups])
            hits = np.cumsum([0] + [h for _, h in groups])
            for x in range(len(groups)):
                cols = slice(bounds[x], bounds[x + 1])
                assert (start[r, cols] == bounds[x]).all() and (stop[r, cols] == bounds[x + 1]).all()
                assert (before[r, cols] == hits[x]).all() and (through[r, cols] == hits[x + 1]).all()


# ---------------------------------------------------------------------------------------------
# similarity
# ---------------------------------------------------------------------------------------------
def test_similarity_matches_sklearn_and_scipy():
    rng = np.random.default_rng(5)
    Q, G = rng.normal(size=(9, 6)), rng.normal(size=(11, 6))
    Q[2] = 0.0                                               # a zero vector
    S = similarity(Q, G)
    assert S.dtype == np.float64 and S.shape == (9, 11)
    assert not np.isnan(S).any() and np.all(S[2] == 0.0)
    np.testing.assert_allclose(S, sk_cosine(Q, G), atol=1e-12)
    np.testing.assert_allclose(similarity(Q, G, "euclidean"), -cdist(Q, G), atol=1e-9)


def test_cosine_and_euclidean_rank_unit_vectors_identically():
    rng = np.random.default_rng(6)
    Q = rng.normal(size=(20, 8))
    G = rng.normal(size=(30, 8))
    Q /= np.linalg.norm(Q, axis=1, keepdims=True)
    G /= np.linalg.norm(G, axis=1, keepdims=True)
    np.testing.assert_array_equal(rank_gallery(similarity(Q, G, "cosine")),
                                  rank_gallery(similarity(Q, G, "euclidean")))


def _codes(rng: np.random.Generator, n: int, bits: int, flip: float) -> np.ndarray:
    """±1 codes: one of 4 class prototypes each, with a share ``flip`` of bits flipped."""
    protos = np.where(np.random.default_rng(99).random((4, bits)) < 0.5, -1.0, 1.0)
    C = protos[rng.integers(0, 4, n)]
    return np.where(rng.random((n, bits)) < flip, -C, C)


def test_hamming_equals_a_naive_bit_loop():
    rng = np.random.default_rng(8)
    Q, G = _codes(rng, 7, 16, 0.2), _codes(rng, 9, 16, 0.2)
    naive = np.array([[-sum(int(a != b) for a, b in zip(q, g, strict=True)) for g in G]
                      for q in Q], dtype=float)
    S = similarity(Q, G, "hamming")
    np.testing.assert_array_equal(S, naive)
    np.testing.assert_array_equal(S, -cdist(Q, G, "hamming") * 16)   # scipy: share of bits
    with pytest.raises(ValueError, match="binary codes"):
        similarity(Q * 0.5, G, "hamming")


@pytest.mark.parametrize("seed", [0, 1])
def test_every_metric_is_independent_of_gallery_order_under_hamming_ties(seed):
    rng = np.random.default_rng(seed)
    Q, G = _codes(rng, 30, 8, 0.15), _codes(rng, 50, 8, 0.15)    # 8 bits: 9 distances only
    q, g = rng.integers(0, 4, 30), rng.integers(0, 4, 50)
    S = similarity(Q, G, "hamming")
    assert max(len(set(row)) for row in S.tolist()) <= 9             # massive ties
    pair = rng.integers(0, 50, 30)
    reference = _every_number(S, q, g, pair)
    for _ in range(3):
        perm = rng.permutation(50)
        S_perm = similarity(Q, G[perm], "hamming")                   # the gallery itself reordered
        _, g_perm, pair_perm = _permuted(S, g, pair, perm)
        np.testing.assert_array_equal(S_perm, S[:, perm])
        for a, b in zip(reference, _every_number(S_perm, q, g_perm, pair_perm, chunk=7),
                        strict=True):
            np.testing.assert_allclose(b, a, rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# bad inputs
# ---------------------------------------------------------------------------------------------
def test_bad_inputs_raise_clear_errors(tied):
    S, q, g = tied
    with pytest.raises(ValueError, match="metric"):
        similarity(np.ones((2, 3)), np.ones((2, 3)), metric="dot")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="columns"):
        similarity(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="Q must be a 2-d"):
        similarity(np.ones(3), np.ones((2, 3)))
    with pytest.raises(ValueError, match="S must be a 2-d"):
        mean_average_precision(S[0], q[:1], g)
    bad = S.copy()
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match="S contains NaN"):
        mean_average_precision(bad, q, g)
    with pytest.raises(ValueError, match="q_labels"):
        mean_average_precision(S, q[:-1], g)
    with pytest.raises(ValueError, match="g_labels"):
        average_precision(S, q, g[:-1])
    with pytest.raises(ValueError, match="integer class ids"):
        average_precision(S, q.astype(float), g)
    for k in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="k must be"):
            precision_at_k(S, q, g, k)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ks entry"):
        retrieval_report(S, q, g, ks=(1, 0))
    with pytest.raises(ValueError, match="chunk"):
        rank_gallery(S, chunk=0)
    with pytest.raises(ValueError, match="pair_index"):
        recall_at_k_true_pair(S, 1, pair_index=np.full(N_Q, N_G))
    with pytest.raises(ValueError, match="pair_index"):
        recall_at_k_true_pair(S.T, 1)                        # more queries than gallery items
    with pytest.raises(ValueError, match="no query has a relevant"):
        mean_average_precision(S, np.full(N_Q, ABSENT_CLASS), g)
