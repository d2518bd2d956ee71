"""The teaching chapters' logic: each toy really shows what its chapter claims, and each
computation equals an independent one (closed forms, naive loops, scikit-learn, exact fractions)."""

from __future__ import annotations

from fractions import Fraction
from itertools import product

import numpy as np
import pytest
import torch
from sklearn.linear_model import LinearRegression

from paper_lib.methods.cca import CCA, cca_from_covariances
from paper_lib.methods.tnn import TNNCCCA
from paper_lib.metrics.retrieval import average_precision, mean_average_precision
from paper_lib.paths import REPO_ROOT
from paper_lib.report import teaching as T


# =============================================================================================
# chapter 20: CCA in 2-d
# =============================================================================================
@pytest.fixture(scope="module")
def latent():
    toy = T.default_latent_toy()
    X, Y, z = toy.sample(600, seed=0)
    return toy, X, Y, z


def test_population_cca_equals_the_closed_form(latent):
    toy = latent[0]
    W_x, W_y, rho = cca_from_covariances(*toy.covariances(), 2)
    assert rho[0] == pytest.approx(toy.analytic_rho(), abs=1e-12)
    assert rho[1] == pytest.approx(0.0, abs=1e-7)               # Σ_xy has rank one
    w_x, w_y = toy.analytic_directions()
    assert abs(W_x[:, 0] @ w_x) / np.linalg.norm(W_x[:, 0]) == pytest.approx(1.0, abs=1e-12)
    assert abs(W_y[:, 0] @ w_y) / np.linalg.norm(W_y[:, 0]) == pytest.approx(1.0, abs=1e-12)


def test_sample_cca_converges_to_the_closed_form():
    toy = T.default_latent_toy()
    X, Y, _ = toy.sample(40_000, seed=3)
    rho = CCA(n_components=1, reg=0.0).fit(X, Y).correlations_[0]
    assert rho == pytest.approx(toy.analytic_rho(), abs=0.01)


def test_cca_maximises_the_projection_correlation(latent):
    _, X, Y, _ = latent
    m = CCA(n_components=2, reg=0.0).fit(X, Y)
    rho = m.correlations_[0]
    # the reported value is the sample correlation its directions reach
    assert T.projection_correlation(X, Y, m.weights_audio_[:, 0],
                                    m.weights_visual_[:, 0]) == pytest.approx(rho, abs=1e-10)
    table = T.compare_directions(X, Y, m, n_random=20, seed=1)
    assert table.abs_correlation.iloc[0] == pytest.approx(rho, abs=1e-10)
    assert (table.abs_correlation.iloc[1:] < rho).all()
    # on this toy PCA follows the noise: its correlation is far below CCA's
    assert table.loc[table.kind == "PCA", "abs_correlation"].iloc[0] < 0.5 * rho
    angles, R = T.correlation_landscape(X, Y, n_angles=90)
    assert R.max() <= rho + 1e-12 and R.max() > rho - 0.01


def test_landscape_equals_a_naive_loop(latent):
    _, X, Y, _ = latent
    angles, R = T.correlation_landscape(X, Y, n_angles=12)
    for i, j in product(range(12), repeat=2):
        naive = abs(np.corrcoef(X @ T.unit_vector(angles[i]), Y @ T.unit_vector(angles[j]))[0, 1])
        assert R[i, j] == pytest.approx(naive, abs=1e-12)


def test_whitening_and_uncorrelated_variates(latent):
    _, X, Y, _ = latent
    Xw = T.whiten(X)
    np.testing.assert_allclose(Xw.T @ Xw / X.shape[0], np.eye(2), atol=1e-10)
    m = CCA(n_components=2, reg=0.0).fit(X, Y)
    R = T.variate_correlations(*m.transform(X, Y))
    assert T.max_off_diagonal(R) < 1e-10
    np.testing.assert_allclose(np.diag(R.to_numpy()[:2, 2:]), m.correlations_, atol=1e-10)


def test_ridge_shrinks_the_reported_correlation(latent):
    _, X, Y, _ = latent
    path = T.ridge_path(X, Y, [0.0, 0.01, 0.1, 1.0, 10.0])
    assert path.rho_svd.iloc[0] == pytest.approx(CCA(1, reg=0.0).fit(X, Y).correlations_[0])
    assert np.all(np.diff(path.rho_svd) < 0)
    assert (path.sample_correlation <= path.rho_svd.iloc[0] + 1e-12).all()


def test_train_test_table_matches_a_direct_fit():
    rng = np.random.default_rng(0)
    Xa, Xv = rng.normal(size=(80, 6)), rng.normal(size=(80, 5))
    Xv[:, 0] += Xa[:, 0]
    table = T.train_test_canonical_correlations(Xa[:60], Xv[:60], Xa[60:], Xv[60:], 3,
                                                {"none": 0.0})
    m = CCA(3, reg=0.0).fit(Xa[:60], Xv[:60])
    train = table[table.part == "train"].correlation.to_numpy()
    np.testing.assert_allclose(train, m.correlations_, atol=1e-10)
    Za, Zv = m.transform(Xa[60:], Xv[60:])
    test = table[table.part == "test"].correlation.to_numpy()
    np.testing.assert_allclose(test, [np.corrcoef(Za[:, k], Zv[:, k])[0, 1] for k in range(3)])


# =============================================================================================
# chapter 21: why Cluster-CCA
# =============================================================================================
@pytest.fixture(scope="module")
def nuisance_toy():
    world = T.make_nuisance_world(seed=0)
    return world, T.sample_views(world, 100, seed=1), T.sample_views(world, 100, seed=2)


def test_cca_follows_the_nuisance_and_cluster_cca_the_classes(nuisance_toy):
    _, train, test = nuisance_toy
    fits, diag, maps = T.compare_cca_and_ccca(train, test, n_components=2)
    first = diag[diag.component == 1].set_index("method")
    assert first.loc["CCA", "nuisance_r"] > 0.9 and first.loc["CCA", "class_eta"] < 0.3
    assert first.loc["C-CCA", "class_eta"] > 0.8 and first.loc["C-CCA", "nuisance_r"] < 0.3
    m = maps.set_index(["method", "direction"])["map"]
    for d in ("a2v", "v2a"):
        assert m["C-CCA", d] > m["CCA", d] + 0.3
    # the table is the cosine MAP of the fitted model's test embeddings
    S = fits[1].Z_audio @ fits[1].Z_visual.T / np.outer(
        np.linalg.norm(fits[1].Z_audio, axis=1), np.linalg.norm(fits[1].Z_visual, axis=1))
    assert m["C-CCA", "a2v"] == pytest.approx(mean_average_precision(S, test.labels, test.labels))


def test_nuisance_r_and_class_eta_equal_independent_computations():
    rng = np.random.default_rng(4)
    U = rng.normal(size=(50, 2))
    y = rng.integers(0, 3, 50)
    z = U @ [1.0, -0.5] + y + rng.normal(size=50)
    r2 = LinearRegression().fit(U, z).score(U, z)
    assert T.nuisance_r(z, U) == pytest.approx(np.sqrt(r2), abs=1e-12)
    assert T.nuisance_r(z, U[:, :1]) == pytest.approx(abs(np.corrcoef(z, U[:, 0])[0, 1]))
    total = ((z - z.mean()) ** 2).sum()
    between = sum((y == c).sum() * (z[y == c].mean() - z.mean()) ** 2 for c in range(3))
    assert T.class_eta(z, y) == pytest.approx(np.sqrt(between / total), abs=1e-12)


def test_class_sum_cross_covariance_equals_the_explicit_pairs_and_has_rank_c_minus_1():
    rng = np.random.default_rng(5)
    for sizes in ([4, 4, 4], [3, 7, 2, 5]):          # balanced and unbalanced classes
        y = np.repeat(np.arange(len(sizes)), sizes)
        Xa, Xv = rng.normal(size=(y.size, 6)), rng.normal(size=(y.size, 7))
        C = T.cluster_cross_covariance(Xa, Xv, y)
        np.testing.assert_allclose(C, T.explicit_pair_cross_covariance(Xa, Xv, y), atol=1e-12)
        assert T.within_class_pairs(y) == sum(n * n for n in sizes)
        assert T.numerical_rank(C) == len(sizes) - 1
    with pytest.raises(ValueError, match="max_pairs"):
        T.explicit_pair_cross_covariance(Xa, Xv, y, max_pairs=10)


def test_rasiwasia_correlations_vanish_beyond_c_minus_1(nuisance_toy):
    _, train, _ = nuisance_toy
    spec, _ = T.correlation_spectrum(train.audio, train.visual, train.labels, n_components=5)
    ras = spec[spec.method == "C-CCA (Rasiwasia)"].correlation.to_numpy()
    assert (ras[:2] > 0.5).all() and np.abs(ras[2:]).max() < 1e-6
    beta = spec[spec.method.str.startswith("C-CCA (β")].correlation.to_numpy()
    assert beta[2] > 1e-3      # the paired term of the β variant lifts the rank limit


def test_leading_components_equal_a_smaller_fit_and_the_experiment_runner():
    from paper_lib.data.dataset import PairedDataset
    from paper_lib.experiment import evaluate_split

    world = T.make_nuisance_world(n_classes=4, n_features=8, seed=3)
    views = T.sample_views(world, 30, seed=4)
    ds = PairedDataset(name="toy", audio=views.audio, visual=views.visual, labels=views.labels,
                       class_names=tuple("abcd"), clip_ids=np.array([f"c{i}" for i in range(120)]),
                       folds=np.arange(120) % 3)
    split = next(ds.splits([0]))
    _, models = T.correlation_spectrum(ds.audio[split.train], ds.visual[split.train],
                                       ds.labels[split.train], n_components=6)
    table = T.leading_components_map(models, ds.audio[split.test], ds.visual[split.test],
                                     ds.labels[split.test], d=3)
    ours = table.set_index(["method", "direction"])["map"]
    for name, method in (("C-CCA (Rasiwasia)", "c_cca_rasiwasia"),
                         ("C-CCA (β = 0.2, authors)", "c_cca"), ("CCA", "cca")):
        small = T.spectrum_models(3)[name].fit(ds.audio[split.train], ds.visual[split.train],
                                               ds.labels[split.train])
        np.testing.assert_allclose(models[name].weights_audio_[:, :3], small.weights_audio_,
                                   atol=1e-10)
        res = evaluate_split(ds, method, split, dim=3)
        for d in ("a2v", "v2a"):
            assert ours[name, d] == pytest.approx(res.metrics[d]["map"], abs=1e-10)


def test_beta_one_is_plain_cca_on_the_toy(nuisance_toy):
    _, train, test = nuisance_toy
    sweep = T.beta_sweep(train, test, [0.0, 1.0], n_components=2)
    _, _, maps = T.compare_cca_and_ccca(train, test, n_components=2)
    cca = maps[maps.method == "CCA"].set_index("direction")["map"]
    assert sweep.a2v.iloc[1] == pytest.approx(cca["a2v"], abs=1e-9)
    assert sweep.nuisance_r.iloc[1] > 0.9 and sweep.class_eta.iloc[0] > 0.8


def test_simplex_vertices_are_equidistant_and_centred():
    V = T.simplex_vertices(4, 2.0)
    assert V.shape == (4, 3)
    np.testing.assert_allclose(V.sum(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(V, axis=1), 2.0)
    d = np.linalg.norm(V[:, None] - V[None], axis=-1)[np.triu_indices(4, 1)]
    np.testing.assert_allclose(d, d[0])


# =============================================================================================
# chapter 22: triplets
# =============================================================================================
def test_miner_counts_equal_the_combinatorial_formulas():
    rng = np.random.default_rng(6)
    for labels in (np.array([0, 0, 0, 1, 1, 2]), rng.integers(0, 5, 40)):
        B = labels.size
        za, zv = rng.random((B, 4)), rng.random((B, 4))
        table = T.mined_counts(za, zv, labels, margin=0.5).set_index("miner")
        n_c = np.bincount(labels)
        assert table.loc["batch-all", "triplets"] == int(np.sum(n_c ** 2 * (B - n_c)))
        assert table.loc["batch-hard", "triplets"] == B
        assert table.loc["random", "triplets"] == B
        assert (table.triplets == table.formula).all()
    assert T.valid_triplet_count(np.array([0, 0, 0, 1, 1, 2])) == 48     # 9·3 + 4·4 + 1·5
    assert T.class_count_table(np.array([0, 0, 0, 1, 1, 2])).batch_all_triplets.sum() == 48
    single = T.mined_counts(za[:5], zv[:5], np.zeros(5, dtype=int), margin=0.5)
    assert (single.triplets == 0).all() and (single.formula == 0).all()


def test_active_counts_equal_a_naive_triple_loop():
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 3, 9)
    za, zv = rng.random((9, 2)), rng.random((9, 2))
    margin = 0.3
    table = T.mined_counts(za, zv, labels, margin).set_index("miner")
    active = 0
    values = []
    for i, j, k in product(range(9), repeat=3):
        if labels[j] == labels[i] and labels[k] != labels[i]:
            v = max(0.0, ((za[i] - zv[j]) ** 2).sum() - ((za[i] - zv[k]) ** 2).sum() + margin)
            active += v > 0
            values.append(v)
    assert table.loc["batch-all", "active"] == active
    assert table.loc["batch-all", "mean_hinge"] == pytest.approx(np.mean(values), abs=1e-12)


def test_hinge_and_hingeless_values():
    delta = np.array([-1.0, -0.5, -0.2, 0.0, 0.4])
    np.testing.assert_allclose(T.hinge(delta, 0.5), [0.0, 0.0, 0.3, 0.5, 0.9])
    np.testing.assert_allclose(T.hingeless(delta, 0.5), [-0.5, 0.0, 0.3, 0.5, 0.9])


def test_hingeless_loss_prefers_a_direction_that_violates_triplets():
    toy = T.make_hinge_toy(seed=0)
    table = T.projection_loss_landscape(toy, margin=0.5)
    best = T.landscape_optima(table).set_index("loss")
    assert best.loc["hinge", "violated_fraction"] == 0.0
    assert best.loc["hingeless", "violated_fraction"] > 0.1
    assert best.loc["hinge", "map_a2v"] > best.loc["hingeless", "map_a2v"] + 0.2
    # hinge-less: the far class dominates, the preferred direction is close to the x axis
    assert min(best.loc["hingeless", "angle"], 180 - best.loc["hingeless", "angle"]) < 10


def test_untrained_branches_are_the_models_initial_state():
    rng = np.random.default_rng(8)
    y = np.repeat(np.arange(3), 20)
    Xa, Xv = rng.normal(size=(60, 8)) + y[:, None], rng.normal(size=(60, 9)) - y[:, None]
    # one epoch at a negligible learning rate: the trained weights are the initial ones
    model = TNNCCCA(n_components=2, epochs=1, lr=1e-12, random_state=11).fit(Xa, Xv, y)
    branch_a, branch_v = T.untrained_branches(2, 2, seed=11)
    for trained, fresh in ((model.branch_audio_, branch_a), (model.branch_visual_, branch_v)):
        for p, q in zip(trained.parameters(), fresh.parameters(), strict=True):
            torch.testing.assert_close(p, q, atol=1e-9, rtol=0)
    H = model.ccca_.transform(Xa, Xv)[0]
    np.testing.assert_allclose(T.branch_outputs(branch_a, H), model.transform(Xa)[0], atol=1e-6)
    hist = T.history_frame(model.history_)
    assert list(hist.columns) == ["epoch", "loss", "mean_hinge", "active_fraction"]


def test_batch_rows_and_pipeline_diagram():
    rows = T.batch_rows(100, 40, seed=0)
    assert rows.size == 40 and np.unique(rows).size == 40 and rows.max() < 100
    np.testing.assert_array_equal(rows, T.batch_rows(100, 40, seed=0))
    with pytest.raises(ValueError, match="batch_size"):
        T.batch_rows(10, 11, seed=0)
    fig = T.plot_pipeline_diagram(128, 784)
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "10–100–100–100–10" in texts and "128-d" in texts and "784-d" in texts


# =============================================================================================
# chapter 23: the protocol
# =============================================================================================
def test_hand_ap_equals_the_metrics_module_and_the_table():
    ap = T.hand_ap()
    assert ap == (Fraction(1) + Fraction(2, 3) + Fraction(3, 4) + Fraction(4, 7)
                  + Fraction(5, 10)) / 5
    S, q, g = T.hand_toy()
    assert average_precision(S, q, g)[0] == pytest.approx(float(ap), abs=1e-15)
    steps = T.ap_steps()
    assert steps.precision_x_rel.sum() / steps.rel_k.sum() == pytest.approx(float(ap))


def test_truncated_pitfall_inflates_the_hand_toy():
    S, q, g = T.hand_toy()
    table = T.truncation_table(S, q, g, [1, 3, 5, 10])
    assert table.truncated_map_pitfall.tolist() == pytest.approx(
        [1.0, (1 + 2 / 3) / 2, (1 + 2 / 3 + 3 / 4) / 3, float(T.hand_ap())])
    assert (table.truncated_map_pitfall[:-1] > table.map_full_ranking[:-1]).all()
    # at k = n_g (all relevant items found) the pitfall coincides with the protocol
    assert table.truncated_map_pitfall.iloc[-1] == pytest.approx(table.map_full_ranking.iloc[-1])


def test_truncated_pitfall_equals_a_naive_loop_and_zero_without_hits():
    rng = np.random.default_rng(9)
    S = rng.normal(size=(7, 15))
    q, g = rng.integers(0, 3, 7), rng.integers(0, 3, 15)
    for k in (1, 4, 15):
        vals = []
        for i in range(7):
            order = np.argsort(-S[i], kind="stable")[:k]
            rel = g[order] == q[i]
            hits = np.cumsum(rel)
            vals.append(0.0 if hits[-1] == 0 else
                        sum(hits[j] / (j + 1) for j in range(k) if rel[j]) / hits[-1])
        assert T.truncated_map_pitfall(S, q, g, k) == pytest.approx(np.mean(vals), abs=1e-12)
    with pytest.raises(ValueError, match="k must be"):
        T.truncated_map_pitfall(S, q, g, 0)


def test_ties_follow_gallery_order():
    demo = T.tie_demo()
    assert demo.ap.tolist() == pytest.approx([1.0, (1 / 5 + 2 / 6) / 2])
    assert T.tied_query_fraction(np.array([[1.0, 1.0, 0.0], [3.0, 2.0, 1.0]])) == 0.5


def test_map_without_partner_equals_a_naive_loop():
    rng = np.random.default_rng(10)
    y = rng.integers(0, 3, 12)
    S = rng.normal(size=(12, 12)) + 2 * np.eye(12)
    naive = []
    for i in range(12):
        g = [j for j in range(12) if j != i]
        order = sorted(g, key=lambda j: -S[i, j])
        rel = [y[j] == y[i] for j in order]
        if sum(rel):
            hits = np.cumsum(rel)
            naive.append(sum(hits[k] / (k + 1) for k in range(len(rel)) if rel[k]) / sum(rel))
    assert T.map_without_partner(S, y) == pytest.approx(np.mean(naive), abs=1e-12)


def test_prevalence_is_where_the_pr_curve_ends():
    from paper_lib.metrics.retrieval import pr_curve

    rng = np.random.default_rng(11)
    y = rng.integers(0, 4, 30)
    S = rng.normal(size=(30, 30))
    precision, recall = pr_curve(S, y, y)
    assert recall[-1] == pytest.approx(1.0)
    assert precision[-1] == pytest.approx(T.mean_prevalence(y, y))


def test_fold_rounds_have_one_test_fold_each():
    table = T.fold_rounds(5)
    tests = table[table.role == "test"]
    assert len(tests) == 5 and (tests["round"] == tests["fold"]).all()
    assert (table.groupby("round").role.apply(lambda r: (r == "train").sum()) == 4).all()


def test_every_pitfall_names_existing_code_and_tests():
    assert len(T.PITFALLS) == 9
    assert T.missing_references(REPO_ROOT) == []
    broken = T.Pitfall("x", "y", ("paper_lib.metrics.retrieval:nope",),
                       ("tests/test_metrics.py::test_does_not_exist",))
    assert T.missing_references(REPO_ROOT, [broken]) == [
        "paper_lib.metrics.retrieval:nope", "tests/test_metrics.py::test_does_not_exist"]
