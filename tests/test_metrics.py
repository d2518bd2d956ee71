"""Tests of paper_lib.metrics: every metric against a naive per-query Python loop (with ties and a
class absent from the gallery), against scikit-learn / scipy on tie-free data, and on hand-made
toys with known answers."""

from __future__ import annotations

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


# ---------------------------------------------------------------------------------------------
# naive per-query references (pure Python; ties: lower gallery index first)
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
# ranking and relevance
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
# average precision / MAP
# ---------------------------------------------------------------------------------------------
def test_average_precision_matches_naive_loop_with_ties(tied):
    S, q, g = tied
    ap = average_precision(S, q, g)
    ref = np.array([naive_ap(r) for r in all_rel(S, q, g)])
    np.testing.assert_array_equal(np.isnan(ap), q == ABSENT_CLASS)   # NaN exactly for R = 0
    np.testing.assert_allclose(ap, ref, rtol=0, atol=1e-12, equal_nan=True)


def test_map_ignores_absent_classes_and_counts_them(tied):
    S, q, g = tied
    ref = naive_mean([naive_ap(r) for r in all_rel(S, q, g)])
    assert mean_average_precision(S, q, g) == pytest.approx(ref, abs=1e-12)
    assert count_dropped_queries(q, g) == int((q == ABSENT_CLASS).sum()) >= 3
    assert retrieval_report(S, q, g)["n_dropped"] == count_dropped_queries(q, g)


def test_average_precision_equals_sklearn_on_tie_free_data(tie_free):
    S, q, g = tie_free
    ap = average_precision(S, q, g)
    for i in range(S.shape[0]):
        ref = average_precision_score(g == q[i], S[i])
        assert abs(ap[i] - ref) < 1e-9


def test_ties_change_ap_and_are_resolved_by_gallery_order():
    # all scores tied -> ranking 0,1,2,3; relevant at ranks 2 and 4: AP = (1/2 + 2/4)/2 = 0.5
    S = np.zeros((1, 4))
    assert average_precision(S, np.array([1]), np.array([0, 1, 0, 1]))[0] == 0.5
    # moving the relevant items to the front of the gallery changes it to 1
    assert average_precision(S, np.array([1]), np.array([1, 1, 0, 0]))[0] == 1.0


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
    rels = all_rel(S, q, g)
    assert precision_at_k(S, q, g, k) == pytest.approx(
        naive_mean([naive_precision(r, k) for r in rels]), abs=1e-12)
    assert recall_at_k(S, q, g, k) == pytest.approx(
        naive_mean([naive_recall(r, k) for r in rels]), abs=1e-12)
    assert ndcg_at_k(S, q, g, k) == pytest.approx(
        naive_mean([naive_ndcg(r, k) for r in rels]), abs=1e-12)


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
    ref = naive_mean([naive_rr(r) for r in all_rel(S, q, g)])
    assert mean_reciprocal_rank(S, q, g) == pytest.approx(ref, abs=1e-12)


def test_per_class_ap_matches_naive(tied):
    S, q, g = tied
    aps = [naive_ap(r) for r in all_rel(S, q, g)]
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
    rels = [r for r in all_rel(S, q, g) if sum(r)]
    ref_p = [np.mean([sum(r[:k]) / k for r in rels]) for k in range(1, N_G + 1)]
    ref_r = [np.mean([sum(r[:k]) / sum(r) for r in rels]) for k in range(1, N_G + 1)]
    np.testing.assert_allclose(precision, ref_p, rtol=0, atol=1e-12)
    np.testing.assert_allclose(recall, ref_r, rtol=0, atol=1e-12)
    assert recall[-1] == 1.0
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
    ref = np.mean([naive_eleven(r) for r in all_rel(S, q, g) if sum(r)], axis=0)
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
        ref = np.mean([p[i] in naive_order(S[i])[:k] for i in range(N_Q)])
        assert recall_at_k_true_pair(S, k, pair_index) == pytest.approx(ref, abs=1e-15)


def test_true_pair_recall_ties_follow_gallery_order():
    S = np.zeros((8, 8))                       # all tied: partner i sits at rank i + 1
    assert recall_at_k_true_pair(S, 3) == 3 / 8
    assert recall_at_k_true_pair(np.eye(8), 1) == 1.0


# ---------------------------------------------------------------------------------------------
# one pass, chunking
# ---------------------------------------------------------------------------------------------
def test_report_equals_the_single_metric_functions(tied):
    S, q, g = tied
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


@pytest.mark.parametrize("chunk", [1, 4, 36, 1000])
def test_chunked_results_are_identical(tied, chunk):
    S, q, g = tied

    def everything(c):
        return [rank_gallery(S, chunk=c), relevance(S, q, g, chunk=c),
                average_precision(S, q, g, chunk=c), *pr_curve(S, q, g, chunk=c),
                *interpolated_pr_11(S, q, g, chunk=c),
                np.array(list(per_class_ap(S, q, g, chunk=c).values())),
                np.array(list(retrieval_report(S, q, g, chunk=c).values()))]

    for a, b in zip(everything(None), everything(chunk), strict=True):
        np.testing.assert_array_equal(a, b)   # bit-identical, NaNs in the same places


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
