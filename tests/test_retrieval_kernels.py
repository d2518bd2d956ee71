"""The fast retrieval kernels (paper_lib.metrics.retrieval: one value sort per row, relevance
carried in the lowest mantissa bit) against straightforward references written here:

* AP against scikit-learn's ``average_precision_score`` per query, ties included (a tie group is
  one threshold there too);
* P@k, R@k, the PR curve, nDCG@k, MRR and the true-pair Recall@K against the plain metrics of a
  ranking averaged over *every* order of the tied items (brute force, small galleries), and
  against the per-row tie-group formulas in exact fractions (larger galleries);
* the 11-point curve against the maximum of the exact expected curve.

Inputs with and without ties: continuous scores, rounded scores, a handful of integer scores,
all-equal rows, -0.0 next to 0.0, scores one unit in the last place apart (the rows the kernel
must resolve with a second sort or an argsort), float32 and float16 scores, a class absent from
the gallery, k > n_g and n_g = 1; results bit-identical for every ``chunk``.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from paper_lib.metrics import retrieval
from paper_lib.metrics.retrieval import (
    RECALL_LEVELS_11,
    average_precision,
    interpolated_pr_11,
    mean_average_precision,
    mean_reciprocal_rank,
    ndcg_at_k,
    per_class_ap,
    pr_curve,
    precision_at_k,
    recall_at_k,
    recall_at_k_true_pair,
    retrieval_report,
)

ATOL = 1e-12
Case = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]   # S, q_labels, g_labels, pair


# ---------------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------------
def _one_ulp_apart(rng: np.random.Generator, n_q: int, n_g: int) -> np.ndarray:
    """Scores in pairs v, nextafter(v): equal once the lowest mantissa bit is cleared (the kernel
    cannot tell them apart from its tagged sort), some pairs also tied, plus -0.0 and 0.0."""
    base = rng.choice([0.5, -0.25, 0.75, 3.0, -1.5], size=(n_q, n_g))
    up = rng.random((n_q, n_g)) < 0.5
    S = np.where(up, np.nextafter(base, np.inf), base)
    S[:, :2] = [0.0, -0.0]
    return S


def make_case(kind: str, seed: int, n_q: int, n_g: int, n_classes: int = 4) -> Case:
    """One query-by-gallery problem of the given kind; class ``n_classes`` never in the gallery."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, n_classes, n_g)
    q = rng.integers(0, n_classes + 1, n_q)              # class n_classes: absent (R = 0)
    pair = rng.integers(0, n_g, n_q)
    normal = rng.normal(size=(n_q, n_g))
    if kind == "continuous":
        S = normal
    elif kind == "rounded":
        S = np.round(normal, 1)
    elif kind == "integers":
        S = rng.integers(0, 3, size=(n_q, n_g)).astype(np.float64)
    elif kind == "all_equal":
        S = np.full((n_q, n_g), 0.3)
    elif kind == "zeros":                                # -0.0 and 0.0 are one tie group
        S = np.where(rng.random((n_q, n_g)) < 0.5, 0.0, -0.0)
        S[:, ::3] = 1.0
    elif kind == "mixed":                                # ties in every third row only
        S = np.where(np.arange(n_q)[:, None] % 3 == 0, np.round(normal, 1), normal)
    elif kind == "one_ulp":
        S = _one_ulp_apart(rng, n_q, n_g)
    elif kind == "float32":
        S = np.round(normal, 1).astype(np.float32)
    else:
        assert kind == "float16"
        S = normal.astype(np.float16)
    return S, q, g, pair


KINDS = ["continuous", "rounded", "integers", "all_equal", "zeros", "mixed", "one_ulp",
         "float32", "float16"]


# ---------------------------------------------------------------------------------------------
# references
# ---------------------------------------------------------------------------------------------
def tie_groups(scores: np.ndarray, rel: np.ndarray) -> list[list[int]]:
    """Gallery indices of each tie group, best group first (equal scores: one group)."""
    by_score: dict[float, list[int]] = {}
    for j, s in enumerate(scores.tolist()):
        by_score.setdefault(float(s), []).append(j)      # float(-0.0) == 0.0: same key
    return [by_score[s] for s in sorted(by_score, reverse=True)]


def all_orders(groups: list[list[int]]) -> list[list[int]]:
    """Every ranking of the gallery that orders the tied items of each group differently."""
    return [[j for part in parts for j in part]
            for parts in itertools.product(*(itertools.permutations(gr) for gr in groups))]


def plain_metrics(order: list[int], rel: np.ndarray, partner: int, n_g: int
                  ) -> dict[str, list[Fraction] | Fraction | list[float]]:
    """The usual metrics of one concrete ranking (R > 0): hits in the top k, 1 / first hit,
    DCG@k, partner in the top k, for every k = 1..n_g."""
    flags = [bool(rel[j]) for j in order]
    hits = list(itertools.accumulate(int(f) for f in flags))
    dcg = list(itertools.accumulate(f / math.log2(i + 2) for i, f in enumerate(flags)))
    at = order.index(partner)
    return {"hits": [Fraction(h) for h in hits], "rr": Fraction(1, flags.index(True) + 1),
            "dcg": dcg, "pair": [Fraction(int(k > at)) for k in range(1, n_g + 1)]}


def brute_force(scores: np.ndarray, rel: np.ndarray, partner: int) -> dict:
    """Expected hits@k, MRR, DCG@k and partner-in-top-k over every order of the tied items."""
    n_g = scores.size
    orders = all_orders(tie_groups(scores, rel))
    runs = [plain_metrics(o, rel, partner, n_g) for o in orders]
    n = len(runs)
    return {"hits": [sum(r["hits"][k] for r in runs) / n for k in range(n_g)],
            "rr": sum(r["rr"] for r in runs) / n,
            "dcg": [sum(r["dcg"][k] for r in runs) / n for k in range(n_g)],
            "pair": [sum(r["pair"][k] for r in runs) / n for k in range(n_g)]}


def formula_hits(scores: np.ndarray, rel: np.ndarray) -> list[Fraction]:
    """Expected hits in the top k, k = 1..n_g, from the tie groups (exact fractions)."""
    out, items, hits = [], 0, 0
    for group in tie_groups(scores, rel):
        h = int(rel[group].sum())
        out += [hits + Fraction(h * j, len(group)) for j in range(1, len(group) + 1)]
        items, hits = items + len(group), hits + h
    return out


def formula_rr(scores: np.ndarray, rel: np.ndarray) -> Fraction:
    """E[1 / rank of the first hit]: its group of g items with h hits starts after rank s; the
    first hit is j places into it with probability C(g-1-j, h-1) / C(g, h)."""
    above = 0
    for group in tie_groups(scores, rel):
        g, h = len(group), int(rel[group].sum())
        if h:
            return sum(Fraction(math.comb(g - 1 - j, h - 1), math.comb(g, h)) / (above + 1 + j)
                       for j in range(g - h + 1))
        above += g
    raise AssertionError("no relevant item")


def formula_dcg(scores: np.ndarray, rel: np.ndarray) -> list[float]:
    """Expected DCG@k: every position of a group of g items with h hits has gain h / g."""
    gains = [int(rel[gr].sum()) / len(gr) for gr in tie_groups(scores, rel) for _ in gr]
    return list(itertools.accumulate(gain / math.log2(i + 2) for i, gain in enumerate(gains)))


def formula_pair(scores: np.ndarray, partner: int) -> list[Fraction]:
    above = int((scores > scores[partner]).sum())
    size = int((scores == scores[partner]).sum())
    return [min(max(Fraction(k - above, size), Fraction(0)), Fraction(1))
            for k in range(1, scores.size + 1)]


def reference(S: np.ndarray, q: np.ndarray, g: np.ndarray, pair: np.ndarray, ks: tuple[int, ...],
              *, brute: bool) -> dict:
    """Every number of the module for one problem, query by query, from the references above."""
    S64 = S.astype(np.float64)                          # exact for float16/float32 scores
    n_q, n_g = S.shape
    per: dict[str, list[float]] = {"ap": [], "rr": []}
    curves_p, curves_r, elevens, pair_hits = [], [], [], []
    for k in ks:
        per[f"p@{k}"], per[f"r@{k}"], per[f"ndcg@{k}"] = [], [], []
    for i in range(n_q):
        scores, rel = S64[i], g == q[i]
        R = int(rel.sum())
        pair_hits.append(formula_pair(scores, int(pair[i])))
        if R == 0:
            for name in per:
                per[name].append(math.nan)
            continue
        if brute:
            bf = brute_force(scores, rel, int(pair[i]))
            hits, rr, dcg = bf["hits"], bf["rr"], bf["dcg"]
            assert bf["pair"] == pair_hits[-1]           # the two references agree
            assert hits == formula_hits(scores, rel) and rr == formula_rr(scores, rel)
        else:
            hits, rr, dcg = formula_hits(scores, rel), formula_rr(scores, rel), formula_dcg(
                scores, rel)
        # scikit-learn: a tie group is one threshold
        per["ap"].append(average_precision_score(rel, scores))
        per["rr"].append(float(rr))
        for k in ks:
            kk = min(k, n_g)
            idcg = sum(1 / math.log2(j + 2) for j in range(min(kk, R)))
            per[f"p@{k}"].append(float(hits[kk - 1] / kk))
            per[f"r@{k}"].append(float(hits[kk - 1] / R))
            per[f"ndcg@{k}"].append(dcg[kk - 1] / idcg)
        precision = [h / k for k, h in enumerate(hits, start=1)]
        recall = [h / R for h in hits]
        curves_p.append(precision)
        curves_r.append(recall)
        elevens.append([float(max(p for p, r in zip(precision, recall, strict=True)
                                  if r >= Fraction(level, 10))) for level in range(11)])
    valid = [i for i in range(n_q) if not math.isnan(per["ap"][i])]
    out = {name: np.array(values) for name, values in per.items()}
    out["pr"] = (np.array([float(sum(c[k] for c in curves_p) / len(valid)) for k in range(n_g)]),
                 np.array([float(sum(c[k] for c in curves_r) / len(valid)) for k in range(n_g)]))
    out["eleven"] = np.mean(elevens, axis=0)
    out["pair"] = {k: float(sum(h[min(k, n_g) - 1] for h in pair_hits) / n_q) for k in ks}
    out["per_class"] = {int(c): float(np.mean(out["ap"][q == c])) for c in np.unique(q)}
    return out


def assert_module_matches(S: np.ndarray, q: np.ndarray, g: np.ndarray, pair: np.ndarray,
                          ks: tuple[int, ...], *, brute: bool, chunk: int | None = None) -> None:
    ref = reference(S, q, g, pair, ks, brute=brute)
    np.testing.assert_allclose(average_precision(S, q, g, chunk=chunk), ref["ap"], rtol=0,
                               atol=ATOL, equal_nan=True)
    precision, recall = pr_curve(S, q, g, chunk=chunk)
    np.testing.assert_allclose(precision, ref["pr"][0], rtol=0, atol=ATOL)
    np.testing.assert_allclose(recall, ref["pr"][1], rtol=0, atol=ATOL)
    levels, eleven = interpolated_pr_11(S, q, g, chunk=chunk)
    np.testing.assert_array_equal(levels, RECALL_LEVELS_11)
    np.testing.assert_allclose(eleven, ref["eleven"], rtol=0, atol=ATOL)
    per_class = per_class_ap(S, q, g, chunk=chunk)
    assert list(per_class) == list(ref["per_class"])
    np.testing.assert_allclose(list(per_class.values()), list(ref["per_class"].values()),
                               rtol=0, atol=ATOL, equal_nan=True)
    report = retrieval_report(S, q, g, ks=ks, pair_index=pair, chunk=chunk)
    valid = ~np.isnan(ref["ap"])
    assert report["map"] == pytest.approx(ref["ap"][valid].mean(), abs=ATOL)
    assert report["mrr"] == pytest.approx(ref["rr"][valid].mean(), abs=ATOL)
    assert report["n_dropped"] == (~valid).sum() and report["n_queries"] == S.shape[0]
    for k in ks:
        for name in (f"p@{k}", f"r@{k}", f"ndcg@{k}"):
            assert report[name] == pytest.approx(ref[name][valid].mean(), abs=ATOL), name
        assert report[f"pair_r@{k}"] == pytest.approx(ref["pair"][k], abs=ATOL)
        # the single-metric functions give the report's numbers exactly
        assert report[f"p@{k}"] == precision_at_k(S, q, g, k, chunk=chunk)
        assert report[f"r@{k}"] == recall_at_k(S, q, g, k, chunk=chunk)
        assert report[f"ndcg@{k}"] == ndcg_at_k(S, q, g, k, chunk=chunk)
        assert report[f"pair_r@{k}"] == recall_at_k_true_pair(S, k, pair, chunk=chunk)
    assert report["map"] == mean_average_precision(S, q, g, chunk=chunk)
    assert report["mrr"] == mean_reciprocal_rank(S, q, g, chunk=chunk)


# ---------------------------------------------------------------------------------------------
# the kernels against the references
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", [0, 1])
def test_kernels_equal_the_average_over_every_order_of_tied_items(kind, seed):
    """Small galleries: every order of the tied items enumerated (all-equal rows: 6! orders)."""
    S, q, g, pair = make_case(kind, seed, n_q=9, n_g=6)
    assert_module_matches(S, q, g, pair, ks=(1, 2, 5, 6, 9), brute=True, chunk=4)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", [2, 3, 4])
def test_kernels_equal_the_tie_group_formulas(kind, seed):
    """Larger galleries: the per-row tie-group formulas in exact fractions."""
    S, q, g, pair = make_case(kind, seed, n_q=23, n_g=41, n_classes=5)
    assert_module_matches(S, q, g, pair, ks=(1, 4, 10, 41, 100), brute=False)


def test_one_item_gallery():
    S, q, g, pair = make_case("continuous", 5, n_q=6, n_g=1, n_classes=2)
    q[:3] = g[0]                                       # some queries find their only item
    assert_module_matches(S, q, g, pair, ks=(1, 3), brute=True)
    assert np.array_equal(np.isnan(average_precision(S, q, g)), q != g[0])
    assert precision_at_k(S, q, g, 5) == 1.0 and mean_reciprocal_rank(S, q, g) == 1.0


def test_one_query_class_absent_from_the_gallery():
    S, q, g, pair = make_case("rounded", 6, n_q=12, n_g=20)
    q[:] = np.where(np.arange(12) < 4, 99, q)          # class 99: absent, dropped everywhere
    assert_module_matches(S, q, g, pair, ks=(3, 25), brute=False)
    assert np.isnan(average_precision(S, q, g)[:4]).all()
    assert math.isnan(per_class_ap(S, q, g)[99])


def test_ap_equals_sklearn_per_query_on_massive_ties():
    """Scores with 3 distinct values over 300 items: every group is large."""
    rng = np.random.default_rng(7)
    S = rng.integers(0, 3, size=(40, 300)).astype(np.float64)
    q, g = rng.integers(0, 4, 40), rng.integers(0, 4, 300)
    ap = average_precision(S, q, g)
    for i in range(40):
        assert ap[i] == pytest.approx(average_precision_score(g == q[i], S[i]), abs=ATOL)


def test_tie_free_rows_give_the_plain_ranking_numbers():
    """No ties: AP, P@k, the PR curve are the plain definitions of one argsort ranking."""
    rng = np.random.default_rng(8)
    S = rng.normal(size=(30, 200))
    q, g = rng.integers(0, 6, 30), rng.integers(0, 6, 200)
    order = np.argsort(-S, axis=1)
    rel = g[order] == q[:, None]
    hits = np.cumsum(rel, axis=1)
    ranks = np.arange(1, 201)
    np.testing.assert_allclose(average_precision(S, q, g),
                               (rel * hits / ranks).sum(axis=1) / rel.sum(axis=1), rtol=0,
                               atol=ATOL)
    precision, recall = pr_curve(S, q, g)
    np.testing.assert_array_equal(precision, hits.sum(axis=0) / (ranks * 30))  # exact counts
    np.testing.assert_allclose(recall, (hits / rel.sum(axis=1, keepdims=True)).mean(axis=0),
                               rtol=0, atol=ATOL)
    for k in (1, 7, 200):
        assert precision_at_k(S, q, g, k) == pytest.approx(hits[:, k - 1].mean() / k, abs=ATOL)


# ---------------------------------------------------------------------------------------------
# the kernel's paths and invariances
# ---------------------------------------------------------------------------------------------
def test_scores_one_unit_apart_are_ranked_exactly(monkeypatch):
    """v and nextafter(v) share their value once the relevance bit replaces the lowest bit: the
    kernel must notice and rank such rows fully. The one relevant item sits between them."""
    calls = []
    original = retrieval._ranked_blocks

    def spy(*args, **kwargs):
        calls.append(args[0].shape)
        return original(*args, **kwargs)

    monkeypatch.setattr(retrieval, "_ranked_blocks", spy)
    v = 0.5                                            # ...0 in its lowest bit
    up = np.nextafter(v, 1.0)                          # ...1: differs in the lowest bit only
    S = np.array([[v, up, v, 0.1], [up, v, 0.2, 0.3], [v, v, 0.1, 0.1]])
    g = np.array([1, 0, 0, 0])
    q = np.array([1, 1, 1])
    # query 0: the relevant item (v) is below `up`, tied with one v: group of 2 after 1 item
    # query 1: relevant `up` is alone on top; query 2: relevant v tied with v at the top
    np.testing.assert_allclose(average_precision(S, q, g), [1 / 3, 1.0, 1 / 2], rtol=0,
                               atol=ATOL)
    assert calls and all(shape[0] >= 1 for shape in calls)   # the argsort path ran
    calls.clear()
    # P@2: E = (2 - 1) / 2 in the group of 2 after one item; 1; 1 (the group of 2 on top)
    assert precision_at_k(S, q, g, 2) == pytest.approx((1 / 4 + 1 / 2 + 1 / 2) / 3, abs=ATOL)
    assert mean_reciprocal_rank(S, q, g) == pytest.approx((5 / 12 + 1 + 3 / 4) / 3, abs=ATOL)
    assert calls
    for i in range(3):
        assert average_precision(S, q, g)[i] == pytest.approx(
            average_precision_score(g == q[i], S[i]), abs=ATOL)


def test_rows_with_true_ties_need_no_argsort(monkeypatch):
    """Ties between equal scores are settled by the second value sort, without an argsort."""
    monkeypatch.setattr(retrieval, "_ranked_blocks", None)   # any call would fail
    S, q, g, pair = make_case("rounded", 9, n_q=15, n_g=30)
    ref = reference(S, q, g, pair, ks=(5,), brute=False)
    np.testing.assert_allclose(average_precision(S, q, g), ref["ap"], rtol=0, atol=ATOL,
                               equal_nan=True)
    assert precision_at_k(S, q, g, 5) == pytest.approx(np.nanmean(ref["p@5"]), abs=ATOL)


@pytest.mark.parametrize("kind", ["continuous", "rounded", "one_ulp", "zeros", "mixed"])
def test_every_chunk_gives_bit_identical_numbers(kind):
    S, q, g, pair = make_case(kind, 10, n_q=300, n_g=50)

    def everything(chunk):
        report = retrieval_report(S, q, g, ks=(1, 5, 60), pair_index=pair, chunk=chunk)
        return [average_precision(S, q, g, chunk=chunk), *pr_curve(S, q, g, chunk=chunk),
                np.array(list(report.values())),
                np.array(list(per_class_ap(S, q, g, chunk=chunk).values()))]

    reference_numbers = everything(None)
    for chunk in (1, 7, 128, 129, 1000):
        for a, b in zip(reference_numbers, everything(chunk), strict=True):
            np.testing.assert_array_equal(a, b)


def test_gallery_order_and_memory_layout_do_not_matter():
    S, q, g, pair = make_case("rounded", 11, n_q=40, n_g=60)
    perm = np.random.default_rng(0).permutation(60)
    where = np.argsort(perm)                            # new column of old gallery item j
    base = retrieval_report(S, q, g, ks=(1, 10), pair_index=pair)
    moved = retrieval_report(S[:, perm], q, g[perm], ks=(1, 10), pair_index=where[pair])
    fortran = retrieval_report(np.asfortranarray(S), q, g, ks=(1, 10), pair_index=pair)
    assert fortran == base
    assert moved == pytest.approx(base, abs=ATOL)


def test_wider_floats_keep_their_own_ties():
    """long double scores that round to the same float64 stay distinct (no tie is invented)."""
    one = np.longdouble(1.0)
    above = one + np.finfo(np.longdouble).eps
    if above == one or np.float64(above) != np.float64(one):
        pytest.skip("long double is float64 here")
    S = np.array([[one, above, 0.0, 0.0], [above, one, 0.0, 0.0]], dtype=np.longdouble)
    q, g = np.array([0, 0]), np.array([0, 1, 1, 1])
    # query 0: its item is second (AP 1/2); query 1: first (AP 1)
    np.testing.assert_allclose(average_precision(S, q, g), [0.5, 1.0], rtol=0, atol=ATOL)


def test_finite_scores_whose_sum_overflows_are_accepted_and_inf_refused():
    """The finiteness check sums the scores first: an overflowing sum of finite scores must not
    be mistaken for an infinite score."""
    S = np.array([[1e308, 1e308, -1.0], [1e308, 0.5, 0.25]])
    q, g = np.array([0, 1]), np.array([0, 1, 0])
    # query 0: its two items are 1st-2nd (tied with one other) and 3rd: (1/2 + 2/3) / 2
    np.testing.assert_allclose(average_precision(S, q, g), [7 / 12, 0.5], rtol=0, atol=ATOL)
    for bad in (np.inf, -np.inf, np.nan):
        T = S.copy()
        T[1, 2] = bad
        with pytest.raises(ValueError, match="S contains NaN or inf scores in 1 query row"):
            average_precision(T, q, g)


@pytest.mark.parametrize("decimals", [None, 1])
def test_ranking_summary_equals_the_three_separate_metrics(decimals):
    """One pass (``ranking_summary``) gives exactly what MAP, P@k and the PR curve give alone,
    with and without ties."""
    from paper_lib.metrics.retrieval import (
        mean_average_precision,
        pr_curve,
        precision_at_k,
        ranking_summary,
    )

    rng = np.random.default_rng(7)
    S = rng.normal(size=(60, 80))
    if decimals is not None:
        S = S.round(decimals)
    q, g = rng.integers(0, 5, 60), rng.integers(0, 6, 80)
    summary = ranking_summary(S, q, g, k=7, chunk=13)
    assert summary.map == mean_average_precision(S, q, g)
    assert summary.precision_at_k == precision_at_k(S, q, g, 7)
    precision, recall = pr_curve(S, q, g)
    np.testing.assert_array_equal(summary.precision, precision)
    np.testing.assert_array_equal(summary.recall, recall)
