"""Chapter 23's exercises and its visible numpy AP: every numeric answer the page glues is
checked here against an independent computation (exact enumeration, scikit-learn, a second path
through the estimator classes), and the ten numpy lines shown on the page are run against the
library."""

from __future__ import annotations

import ast
import itertools
from fractions import Fraction
from pathlib import Path
from types import FunctionType

import numpy as np
import pytest
from sklearn.metrics import average_precision_score
from sklearn.preprocessing import StandardScaler

from paper_lib.metrics.retrieval import average_precision, mean_average_precision
from paper_lib.report import teach_protocol as T

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "23_teach_protocol.py"


def _ap_exact(rel: list[int]) -> Fraction:
    """AP of a ranked 0/1 list from the relevant ranks (independent of the module)."""
    ranks = [j for j, r in enumerate(rel, start=1) if r]
    return sum((Fraction(n, j) for n, j in enumerate(ranks, start=1)), Fraction(0)) / len(ranks)


# -- the ten lines of numpy on the page -----------------------------------------------------------
def _page_function(name: str) -> FunctionType:
    """The function ``name`` as defined in the notebook's source (the code the reader sees)."""
    tree = ast.parse(NOTEBOOK.read_text(encoding="utf-8"))
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    namespace: dict[str, object] = {"np": np}
    exec(compile(ast.Module(body=[node], type_ignores=[]), str(NOTEBOOK), "exec"), namespace)
    function = namespace[name]
    assert isinstance(function, FunctionType)
    return function


def test_page_numpy_ap_is_short_and_equals_the_library():
    ap_from_scores = _page_function("ap_from_scores")
    tree = ast.parse(NOTEBOOK.read_text(encoding="utf-8"))
    node = next(n for n in tree.body
                if isinstance(n, ast.FunctionDef) and n.name == "ap_from_scores")
    assert node.end_lineno is not None and node.end_lineno - node.lineno + 1 <= 10
    rng = np.random.default_rng(23)
    y = rng.integers(0, 4, 60)
    S = rng.normal(size=(60, 60)) + (y[:, None] == y[None, :])           # continuous: no ties
    assert T.rows_without_ties(S).all()
    mine = np.array([ap_from_scores(S[i], (y == y[i]).astype(int)) for i in range(60)])
    assert np.max(np.abs(mine - average_precision(S, y, y))) < 1e-12
    S_hand, _, g_hand = T.hand_toy()
    assert ap_from_scores(S_hand[0], g_hand) == pytest.approx(float(T.hand_ap()), abs=1e-15)


def test_rows_without_ties_flags_a_repeated_score():
    S = np.array([[0.3, 0.3, 0.1], [0.3, 0.2, 0.1]])
    assert T.rows_without_ties(S).tolist() == [False, True]


# -- exercise 1: AP by hand -----------------------------------------------------------------------
def test_exercise_1_ap_by_hand():
    rel = list(T.EXERCISE_RELEVANCE)
    exact = T.hand_ap(rel)
    assert exact == _ap_exact(rel) == Fraction(5, 9)
    assert exact == (Fraction(1, 2) + Fraction(2, 3) + Fraction(3, 6)) / 3   # the page's steps
    S, q, g = T.hand_toy(rel)
    assert average_precision(S, q, g)[0] == pytest.approx(float(exact), abs=1e-15)
    assert average_precision_score(np.array(rel), S[0]) == pytest.approx(float(exact))


# -- exercise 2: the AP of a random ranking -------------------------------------------------------
@pytest.mark.parametrize(("G", "R"), [(1, 1), (2, 1), (5, 1), (6, 2), (7, 3), (8, 8), (9, 4)])
def test_exercise_2_expected_random_ap_equals_enumeration(G, R):
    placements = list(itertools.combinations(range(G), R))
    mean = sum((_ap_exact([int(j in p) for j in range(G)]) for p in placements),
               Fraction(0)) / len(placements)
    assert T.expected_random_ap(G, R) == mean
    if G > 1:                                        # the excess over R/G the page states
        harmonic = sum(Fraction(1, j) for j in range(1, G + 1))
        assert mean - Fraction(R, G) == Fraction(G - R, G * (G - 1)) * (harmonic - 1)


def test_exercise_2_page_default_equals_enumeration():
    G = T.PROTOCOL_RANDOM_GALLERY.default
    R = T.PROTOCOL_RANDOM_RELEVANT.default
    # every placement of the R relevant items among the G ranks (vectorised, floats)
    ranks = np.array(list(itertools.combinations(range(1, G + 1), R)), dtype=np.float64)
    ap = (np.arange(1, R + 1) / ranks).mean(axis=1)
    assert float(T.expected_random_ap(G, R)) == pytest.approx(ap.mean(), abs=1e-12)
    assert float(T.expected_random_ap(G, R)) > R / G                    # above the class share
    q, g = T.toy_labels(G, R)
    row = T.random_ranking_row("toy", q, g, seed=0)
    assert row["class_share"] == pytest.approx(R / G)
    assert row["all_tied_ap"] == pytest.approx(R / G, abs=1e-15)
    assert row["expected_ap"] == pytest.approx(ap.mean(), abs=1e-12)
    assert row["simulated_ap"] == pytest.approx(ap.mean(), abs=0.01)      # 4000 random queries


def test_exercise_2_test_fold_row_averages_the_queries():
    y = np.repeat(np.arange(4), [5, 5, 10, 20])                           # unbalanced classes
    counts = np.bincount(y)
    exact = np.mean([float(T.expected_random_ap(y.size, int(counts[c]))) for c in y])
    assert T.expected_random_map(y, y) == pytest.approx(exact, abs=1e-12)
    rng = np.random.default_rng(0)
    simulated = np.mean([mean_average_precision(rng.random((y.size, y.size)), y, y)
                         for _ in range(200)])
    assert T.simulate_random_map(y, y, n_draws=8000, seed=1) == pytest.approx(simulated,
                                                                               abs=0.01)
    assert T.expected_random_map(y, y) == pytest.approx(simulated, abs=0.01)


# -- exercise 3: truncated MAP@K against the full ranking -----------------------------------------
def test_exercise_3_truncation():
    rel = list(T.EXERCISE_RELEVANCE)
    expected = {2: Fraction(1, 2), 3: Fraction(7, 12), 8: Fraction(5, 9)}
    table = T.exercise_truncation(rel, list(expected)).set_index("K")
    for K, value in expected.items():
        kept = [j for j in range(1, K + 1) if rel[j - 1]]                  # relevant ranks <= K
        naive = sum((Fraction(n, j) for n, j in enumerate(kept, start=1)), Fraction(0)) / len(kept)
        assert T.truncated_ap(rel, K) == naive == value
        assert table.loc[K, "truncated"] == pytest.approx(float(value), abs=1e-15)
        assert table.loc[K, "ap_full"] == pytest.approx(5 / 9, abs=1e-15)
    assert T.truncated_ap([0, 0, 1], 2) == 0


# -- exercise 4: tied scores ---------------------------------------------------------------------
def test_exercise_4_ties():
    scores = np.array(T.EXERCISE_TIE_SCORES)
    rel = np.array(T.EXERCISE_TIE_RELEVANCE)
    answer = T.exercise_ties(T.EXERCISE_TIE_SCORES, T.EXERCISE_TIE_RELEVANCE)
    # AP: scikit-learn's rule (a tie group is one threshold), and the page's group sum
    assert average_precision_score(rel, scores) == pytest.approx(0.5)
    assert Fraction(2, 3) * Fraction(2, 4) + Fraction(1, 3) * Fraction(3, 6) == Fraction(1, 2)
    assert answer["ap"] == pytest.approx(0.5, abs=1e-15)
    # P@2: the mean over every order of the tied items consistent with the scores
    orders = [o for o in itertools.permutations(range(6))
              if all(scores[o[i]] >= scores[o[i + 1]] for i in range(5))]
    assert len(orders) == 3 * 2 * 1 * 2                                   # 3! · 2!
    p_at_2 = np.mean([rel[list(o[:2])].sum() / 2 for o in orders])
    assert p_at_2 == pytest.approx(1 / 3) and answer["p_at_2"] == pytest.approx(p_at_2, abs=1e-15)
    # a stable sort keeps the gallery order: relevance (0, 1, 0, 1, 1, 0)
    assert _ap_exact([0, 1, 0, 1, 1, 0]) == Fraction(8, 15)
    assert answer["ap_stable_sort"] == pytest.approx(8 / 15, abs=1e-15)


# -- exercise 5: what leaks when the held-out fold reaches a fit ----------------------------------
def _independent_leak_map(audio, visual, labels, scaler_rows, fit_rows, test, dim):
    """The same pipeline by another path: scikit-learn's scaler, the ClusterCCA class itself,
    cosine by hand and scikit-learn's AP per query."""
    from paper_lib.methods.cluster_cca import ClusterCCA

    scale_a = StandardScaler().fit(audio[scaler_rows])
    scale_v = StandardScaler().fit(visual[scaler_rows])
    A, V = scale_a.transform(audio), scale_v.transform(visual)
    model = ClusterCCA(n_components=dim, variant="beta", beta=0.2).fit(
        A[fit_rows], V[fit_rows], labels[fit_rows])
    Z_a = model.transform(X_audio=A[test])[0]
    Z_v = model.transform(X_visual=V[test])[1]
    Z_a = Z_a / np.linalg.norm(Z_a, axis=1, keepdims=True)
    Z_v = Z_v / np.linalg.norm(Z_v, axis=1, keepdims=True)
    S = Z_a @ Z_v.T
    y = labels[test]
    return float(np.mean([average_precision_score(y == y[i], S[i]) for i in range(y.size)]))


def _toy_views(seed: int = 5):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(4), 30)
    codes = rng.normal(size=(4, 6))
    audio = codes[labels] @ rng.normal(size=(6, 12)) + rng.normal(size=(120, 12))
    visual = codes[labels] @ rng.normal(size=(6, 15)) * 3 + rng.normal(size=(120, 15)) + 5
    test = np.flatnonzero(np.arange(120) % 5 == 0)
    train = np.setdiff1d(np.arange(120), test)
    return audio, visual, labels, train, test


def test_exercise_5_leakage_table_equals_an_independent_pipeline():
    audio, visual, labels, train, test = _toy_views()
    share, dim = 0.5, 3
    table = T.leakage_table(audio, visual, labels, train, test, share=share, seed=0, dim=dim)
    assert table.setting.tolist() == list(T.LEAK_SETTINGS)
    leak = T.leaked_rows(test, share, 0)
    assert leak.size == round(share * test.size) and np.isin(leak, test).all()
    both = np.concatenate([train, leak])
    expected = {"protocol": (train, train), "scaler": (both, train), "c_cca": (train, both)}
    for _, row in table.iterrows():
        scaler_rows, fit_rows = expected[row.setting]
        assert row.scaler_test_rows == scaler_rows.size - train.size
        assert row.c_cca_test_rows == fit_rows.size - train.size
        other = _independent_leak_map(audio, visual, labels, scaler_rows, fit_rows, test, dim)
        assert row.map_a2v == pytest.approx(other, abs=1e-9), row.setting


def test_exercise_5_nothing_leaked_gives_three_equal_rows():
    audio, visual, labels, train, test = _toy_views()
    table = T.leakage_table(audio, visual, labels, train, test, share=0.0, seed=0, dim=3)
    assert (table.scaler_test_rows == 0).all() and (table.c_cca_test_rows == 0).all()
    assert table.map_a2v.nunique() == 1


def test_exercise_5_zscore_uses_the_fit_rows_only():
    X = np.array([[0.0, 1.0], [2.0, 1.0], [100.0, 1.0]])
    Z = T.zscore(X, np.array([0, 1]))
    assert Z[:2, 0].tolist() == [-1.0, 1.0] and Z[2, 0] == 99.0
    assert (Z[:, 1] == 0).all()                                   # a constant feature: scale 1


# -- exercise 6: where a PR curve ends ------------------------------------------------------------
def test_exercise_6_pr_curve_ends_at_the_mean_prevalence():
    from paper_lib.metrics.retrieval import pr_curve

    rng = np.random.default_rng(6)
    q = rng.integers(0, 5, 40)
    g = np.concatenate([np.arange(5), rng.integers(0, 5, 65)])         # every class present
    S = rng.normal(size=(40, 70))
    precision, recall = pr_curve(S, q, g)
    prevalence = np.mean([np.sum(g == c) / g.size for c in q])           # (1/Q) sum_q R_q / G
    assert recall[-1] == pytest.approx(1.0)
    assert precision[-1] == pytest.approx(prevalence, abs=1e-12)
    assert T.mean_prevalence(q, g) == pytest.approx(prevalence, abs=1e-12)
