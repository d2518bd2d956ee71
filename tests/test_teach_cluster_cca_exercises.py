"""Chapter 21's exercises (``paper_lib.report.teach_cluster_cca.exercise_*``) and its numpy
Cluster-CCA: every numeric answer the page glues equals an independent computation (brute-force
enumeration of the pairs, the explicit pair list, a closed form, scikit-learn, a direct fit)."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from paper_lib.methods.cca import CCA
from paper_lib.methods.cluster_cca import ClusterCCA
from paper_lib.metrics.retrieval import mean_average_precision
from paper_lib.report import teach_cluster_cca as T

UNBALANCED, BALANCED = T.EXERCISE_UNBALANCED, T.EXERCISE_BALANCED


def _explicit_pairs(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (i, j) of every within-class (audio i, visual j) pair, by enumeration."""
    pairs = [(i, j) for i, j in itertools.product(range(labels.size), repeat=2)
             if labels[i] == labels[j]]
    i, j = np.array(pairs).T
    return i, j


def _rank(A: np.ndarray) -> int:
    return int(np.linalg.matrix_rank(A, tol=1e-9 * np.linalg.norm(A, 2)))


def test_exercise_1_class_sums_equal_the_explicit_pair_list():
    world, train, _ = T.make_toy(n_per_class=12)
    i, j = _explicit_pairs(train.labels)
    P_a = train.audio[i] - train.audio[i].mean(axis=0)
    P_v = train.visual[j] - train.visual[j].mean(axis=0)
    np.testing.assert_allclose(T.cluster_cross_covariance(train.audio, train.visual,
                                                          train.labels),
                               P_a.T @ P_v / i.size, atol=1e-12)
    # (c) Σ_xx: the scatter of the list's audio side, each clip n_c times
    from paper_lib.methods.cluster_cca import rasiwasia_covariances
    C_aa = rasiwasia_covariances(train.audio, train.visual, train.labels, reg=0.0)[0]
    np.testing.assert_allclose(C_aa, P_a.T @ P_a / i.size, atol=1e-12)


def test_exercise_2_pair_count_by_enumeration():
    ans = T.exercise_pair_count(UNBALANCED)
    labels = T.class_labels(UNBALANCED)
    i, _ = _explicit_pairs(labels)
    assert ans["N"] == labels.size == sum(UNBALANCED)
    assert ans["C"] == len(UNBALANCED)
    assert ans["M"] == i.size
    # the balanced count: enumerate the pairs of N clips in C equal classes
    balanced = np.repeat(np.arange(ans["C"]), ans["N"] // ans["C"])
    assert ans["M_balanced"] == _explicit_pairs(balanced)[0].size
    assert T.exercise_pair_count(BALANCED)["M"] == ans["M_balanced"] < ans["M"]
    # each clip takes part in n_c pairs; on average M / N
    assert ans["M_per_clip"] == pytest.approx(np.bincount(i).mean())


def test_exercise_3_pair_weighted_mean_is_the_pair_list_mean():
    for counts in (UNBALANCED, BALANCED):
        ans = T.exercise_centring(counts, seed=0)
        X, _, y = T.random_class_views(counts, seed=0)
        i, _ = _explicit_pairs(y)
        gap = np.abs(X[i].mean(axis=0) - X.mean(axis=0)).max()    # mean over the pair list
        assert ans["max_gap"] == pytest.approx(gap, abs=1e-12)
        big = max(counts)
        assert ans["weight_pair_weighted"] == pytest.approx(
            float(Fraction(big * big, sum(n * n for n in counts))))
        assert ans["weight_ordinary"] == pytest.approx(float(Fraction(big, sum(counts))))
    assert T.exercise_centring(UNBALANCED)["max_gap"] > 0.1
    assert T.exercise_centring(BALANCED)["max_gap"] < 1e-12


def test_exercise_4_ranks_with_and_without_centring_from_the_pair_list():
    ans = T.exercise_ranks(UNBALANCED, d_a=6, d_v=7, seed=0)
    X, Y, y = T.random_class_views(UNBALANCED, 6, 7, seed=0)
    i, j = _explicit_pairs(y)
    centred = (X[i] - X[i].mean(axis=0)).T @ (Y[j] - Y[j].mean(axis=0)) / i.size
    uncentred = X[i].T @ Y[j] / i.size
    assert ans == {"C": 4, "centred": _rank(centred), "uncentred": _rank(uncentred)}
    assert (ans["centred"], ans["uncentred"]) == (ans["C"] - 1, ans["C"])


def test_exercise_5_beta_variant_ranks_from_the_pair_list():
    ans = T.exercise_beta_ranks(UNBALANCED, betas=(0.0, 0.2), d_a=6, d_v=7, seed=0)
    X, Y, y = T.random_class_views(UNBALANCED, 6, 7, seed=0)
    Xc, Yc = X - X.mean(axis=0), Y - Y.mean(axis=0)               # the ordinary means
    i, j = _explicit_pairs(y)
    within = Xc[i].T @ Yc[j] / i.size
    paired = Xc.T @ Yc / y.size
    assert ans[0.0] == _rank(within) == len(UNBALANCED) - 1
    assert ans[0.2] == _rank(0.2 * paired + 0.8 * within) == min(6, 7)
    # the vanishing combination of exercise 5 (a): the plain sum of the centred class sums
    sums = np.stack([Xc[y == c].sum(axis=0) for c in range(len(UNBALANCED))])
    np.testing.assert_allclose(sums.sum(axis=0), 0.0, atol=1e-12)


def test_exercise_6_crossover_and_the_rerun():
    ans = T.exercise_nuisance_knob(T.EXERCISE_NUISANCE_SCALE, n_classes=3, class_scale=2.5,
                                   n_per_class=100, seed=0)
    # (a) at s_h* the paired correlations of nuisance and class are equal, by the closed form
    # and by the library's CCA on the population covariances
    s_star = ans["crossover"]
    assert s_star == pytest.approx(2.5 / np.sqrt(2))
    at_star = T.make_nuisance_world(nuisance_scale=s_star, seed=0)
    rho = at_star.paired_correlations()
    assert rho["nuisance"] == pytest.approx(rho["class"])
    np.testing.assert_allclose(T.population_correlations(at_star), rho["class"], atol=1e-9)
    world = T.make_nuisance_world(nuisance_scale=T.EXERCISE_NUISANCE_SCALE, seed=0)
    np.testing.assert_allclose(np.sort(T.population_correlations(world))[::-1],
                               [ans["rho_class"]] * 2 + [ans["rho_nuisance"]] * 2, atol=1e-9)
    assert ans["rho_nuisance"] < ans["rho_class"]          # below s_h*: the class wins
    # (b), (c) the re-run: direct fits, MAP from cosine similarities, φ from scikit-learn
    _, train, test = T.make_toy(nuisance_scale=T.EXERCISE_NUISANCE_SCALE, n_per_class=100)
    for model, key in ((CCA(n_components=2), "cca"),
                       (ClusterCCA(n_components=2, variant="rasiwasia"), "ccca")):
        model.fit(train.audio, train.visual, train.labels)
        Z_a = model.transform(X_audio=test.audio)[0]
        Z_v = model.transform(X_visual=test.visual)[1]
        S = (Z_a / np.linalg.norm(Z_a, axis=1, keepdims=True)) @ (
            Z_v / np.linalg.norm(Z_v, axis=1, keepdims=True)).T
        assert ans[f"{key}_map_a2v"] == pytest.approx(
            mean_average_precision(S, test.labels, test.labels), abs=1e-12)
        if key == "cca":
            z = Z_a[:, 0]
            r2 = LinearRegression().fit(test.nuisance, z).score(test.nuisance, z)
            assert ans["cca_phi1"] == pytest.approx(np.sqrt(r2), abs=1e-10)
    assert T.follows(ans["cca_phi1"], ans["cca_eta1"]) == "the classes"
    assert ans["ccca_map_a2v"] - ans["cca_map_a2v"] < 0.1  # CCA recovers nearly all of it


def test_numpy_cluster_cca_of_the_page_equals_the_library():
    """The visible numpy cell of the chapter, line for line, against ClusterCCA."""
    _, train, _ = T.make_toy()
    X, Y, labels = train.audio, train.visual, train.labels
    r, k = 1e-4, 2
    classes, c_of, n_c = np.unique(labels, return_inverse=True, return_counts=True)
    w = n_c[c_of]
    M = w.sum()
    Xt, Yt = X - w @ X / M, Y - w @ Y / M
    Sx = np.stack([Xt[c_of == c].sum(axis=0) for c in range(classes.size)])
    Sy = np.stack([Yt[c_of == c].sum(axis=0) for c in range(classes.size)])
    Sxy_cl = Sx.T @ Sy / M
    Sxx = (w[:, None] * Xt).T @ Xt / M + r * np.eye(X.shape[1])
    Syy = (w[:, None] * Yt).T @ Yt / M + r * np.eye(Y.shape[1])

    def inv_sqrt(S: np.ndarray) -> np.ndarray:
        e, V = np.linalg.eigh(S)
        return V / np.sqrt(e) @ V.T

    U, s, _ = np.linalg.svd(inv_sqrt(Sxx) @ Sxy_cl @ inv_sqrt(Syy))
    W_x = inv_sqrt(Sxx) @ U[:, :k]
    library = ClusterCCA(n_components=k, variant="rasiwasia", reg=r).fit(X, Y, labels)
    assert T.max_difference_to_library(W_x, s[:k], library) < 1e-8
    np.testing.assert_allclose(Sxy_cl, T.cluster_cross_covariance(X, Y, labels), atol=1e-12)
    # the comparison is sign-blind but not blind: a wrong direction is caught
    assert T.max_difference_to_library(-W_x, s[:k], library) < 1e-8
    assert T.max_difference_to_library(W_x[:, ::-1], s[:k], library) > 1e-3
