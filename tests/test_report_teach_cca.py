"""Chapter 20 (``paper_lib.report.teach_cca``): the 2-d CCA toy really has the closed-form
answer the chapter states, and each computation equals an independent one (closed forms,
naive loops, a direct fit)."""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest

from paper_lib.methods.cca import CCA, cca_from_covariances
from paper_lib.report import teach_cca as T


@pytest.fixture(scope="module")
def latent():
    toy = T.default_latent_toy()
    X, Y, z = toy.sample(600, seed=0)
    return toy, X, Y, z


def test_population_cca_equals_the_closed_form(latent):
    toy = latent[0]
    W_x, W_y, rho = cca_from_covariances(*toy.covariances(), 2, zero_rtol=None)  # keep both
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


def test_a_large_ridge_gives_the_cross_covariance_directions_as_the_figure_says(latent):
    _, X, Y, _ = latent
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    U, _, Vt = np.linalg.svd(Xc.T @ Yc / X.shape[0])      # PLS: singular vectors of Σ_xy
    pca_x = np.linalg.eigh(Xc.T @ Xc)[1][:, -1]
    m = CCA(1, reg=1e4).fit(X, Y)
    a, b = m.weights_audio_[:, 0], m.weights_visual_[:, 0]
    cos = lambda u, v: abs(u @ v) / np.linalg.norm(u) / np.linalg.norm(v)  # noqa: E731
    assert cos(a, U[:, 0]) > 0.999 and cos(b, Vt[0]) > 0.999
    assert cos(a, pca_x) < 0.99                                    # not PCA's direction
    fig = T.plot_ridge_path(T.ridge_path(X, Y, [0.0, 1.0]), 0.5)
    title = fig.axes[0].get_title()
    assert title == T.RIDGE_TITLE and "PLS" in title and "PCA" not in title


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


# -- what the chapter shows: readable tables and figures ------------------------------------------
def test_figure_problems_catches_a_wide_figure_and_small_text():
    import matplotlib.pyplot as plt

    from paper_lib.report._teaching_common import figure_problems

    fig, ax = plt.subplots(figsize=(12, 3))
    ax.set_title("tiny", fontsize=7)
    problems = figure_problems(fig)
    assert any("12 in wide" in p for p in problems) and any("'tiny' is 7 pt" in p for p in problems)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot([0, 1], [0, 1], label="line")
    ax.legend()
    assert figure_problems(fig) == []
    plt.close(fig)


def test_chapter_figures_fit_the_text_column(latent):
    import matplotlib.pyplot as plt

    from paper_lib.report._teaching_common import figure_problems

    _, X, Y, z = latent
    m = CCA(n_components=2, reg=0.0).fit(X, Y)
    table = T.compare_directions(X, Y, m, n_random=3, seed=0)
    angles, R = T.correlation_landscape(X, Y, n_angles=30)
    tt = T.train_test_canonical_correlations(X[:400], Y[:400], X[400:], Y[400:], 2,
                                             {"authors": 1e-4, "strong": 1.0})
    figs = [T.plot_views_with_directions(X, Y, z, m, table),
            T.plot_projection_pairs(X, Y, z, m, table), T.plot_landscape(angles, R, table),
            T.plot_whitened(X, Y, z), T.plot_ridge_path(T.ridge_path(X, Y, [0.1, 1.0]), 0.8),
            T.plot_train_test_correlations(tt, "toy")]
    for fig in figs:
        assert figure_problems(fig) == [], fig.axes[0].get_title()
        plt.close(fig)
    # five pairs in a 2 x 3 grid: the sixth place holds the colour bar, not an empty panel
    pairs = T.plot_projection_pairs(X, Y, z, m, table)
    free = [ax for ax in pairs.axes if not ax.axison]
    assert len(pairs.axes) - len(free) == len(table) and len(free) == 1
    assert free[0].child_axes                                      # the colour bar
    plt.close(pairs)


def test_tables_for_reading(latent):
    _, X, Y, _ = latent
    m = CCA(n_components=2, reg=0.0).fit(X, Y)
    table = T.compare_directions(X, Y, m, n_random=3, seed=0)
    view = T.directions_view(table)
    assert list(view.columns) == ["directions", T.ANGLE_X, T.ANGLE_Y,
                                  "|corr| of the projections"]
    assert view.directions.tolist() == ["CCA", "PCA", "random 1", "random 2", "random 3"]
    assert set(T.DIRECTIONS_DIGITS) == set(view.columns[1:])
    R = T.variate_correlations(*m.transform(X, Y))
    rv = T.variate_view(R)
    assert list(rv.columns) == ["variate", "x₁", "x₂", "y₁", "y₂"]
    assert rv.variate.tolist() == ["x₁", "x₂", "y₁", "y₂"]
    from paper_lib.report.tables import markdown_table

    assert "-0.0000" not in markdown_table(rv, digits=4)          # round-off zeros, unsigned
    assert rv.iloc[0, 3] == pytest.approx(m.correlations_[0], abs=1e-4)


def test_train_test_view_and_summaries():
    rng = np.random.default_rng(1)
    Xa, Xv = rng.normal(size=(90, 5)), rng.normal(size=(90, 4))
    Xv[:, 0] += Xa[:, 0]
    tt = T.train_test_canonical_correlations(Xa[:60], Xv[:60], Xa[60:], Xv[60:], 3,
                                             {"authors": 1e-4, "strong": 1.0})
    view = T.train_test_view(tt)
    assert list(view.columns) == ["component", "train, authors' ridge", "test, authors' ridge",
                                  "train, strong ridge", "test, strong ridge"]
    assert view.component.tolist() == [1, 2, 3]
    for ridge, label in (("authors", "authors' ridge"), ("strong", "strong ridge")):
        for part in ("train", "test"):
            sub = tt[(tt.ridge == ridge) & (tt.part == part)]
            np.testing.assert_allclose(view[f"{part}, {label}"], sub.correlation)
            assert T.first_component_correlation(tt, ridge, part) == sub.correlation.iloc[0]
        gap = (tt[(tt.ridge == ridge) & (tt.part == "train")].correlation.to_numpy()
               - tt[(tt.ridge == ridge) & (tt.part == "test")].correlation.to_numpy()).mean()
        assert T.mean_train_test_gap(tt, ridge) == pytest.approx(gap)
    with pytest.raises(KeyError):
        T.first_component_correlation(tt, "none", "train")


# -- notation and knobs (issue 16) ---------------------------------------------------------------
def test_ridge_figures_use_the_books_ridge_r(latent):
    import matplotlib.pyplot as plt

    _, X, Y, _ = latent
    fig = T.plot_ridge_path(T.ridge_path(X, Y, [0.1, 1.0]), 0.8)
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("ridge r ") and "reg" not in ax.get_xlabel()
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "r = 0" in labels and not any("reg" in t for t in labels)
    plt.close(fig)
    tt = T.train_test_canonical_correlations(X[:400], Y[:400], X[400:], Y[400:], 2,
                                             {"authors": 1e-4, "strong": 1.0})
    fig = T.plot_train_test_correlations(tt, "toy")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["authors' ridge (r = 0.0001)", "strong ridge (r = 1)"]
    assert fig.axes[0].get_xlabel() == "canonical component j"      # k is the number of them
    plt.close(fig)


def test_the_default_toy_is_the_toy_of_the_default_knobs():
    toy, default = T.latent_toy(), T.default_latent_toy()
    for a, b in zip(toy.covariances(), default.covariances(), strict=True):
        np.testing.assert_array_equal(a, b)
    # the knobs' defaults are the toy the chapter describes: noise 2.5/0.4 at 50° in x
    psi = T.rotation(50) @ np.diag([2.5 ** 2, 0.4 ** 2]) @ T.rotation(50).T
    np.testing.assert_allclose(default.noise_x, psi, atol=1e-12)
    # the nuisance knob scales the loud axis only
    strong = T.latent_toy(nuisance=2.0)
    eig = np.linalg.eigvalsh(strong.noise_x)
    np.testing.assert_allclose(eig, [0.4 ** 2, (2 * 2.5) ** 2])
    with pytest.raises(ValueError):
        T.latent_toy(nuisance=0.0)


def test_knobs_check_their_values_and_register_themselves():
    from paper_lib.errors import ParamError
    from paper_lib.experiment.knobs import known_knobs

    names = [knob.name for knob, _ in T.KNOBS]
    assert all(n.startswith("cca2d_") for n in names) and len(set(names)) == len(names)
    assert set(names) <= set(known_knobs())
    assert T.CCA2D_RIDGES.resolve("quick", "1,0.01") == [0.01, 1.0]
    # `-p cca2d_ridges=0.1,1` reaches the notebook as the text of a tuple (papermill)
    assert T.CCA2D_RIDGES.resolve("quick", "(0.1, 1)") == [0.1, 1.0]
    assert T.CCA2D_NOISE_ANGLE_X.resolve("full", 0) == 0.0
    for knob, bad in ((T.CCA2D_RIDGES, "0,1"), (T.CCA2D_RIDGES, "a"),
                      (T.CCA2D_NOISE_ANGLE_X, 120), (T.CCA2D_N_POINTS, 2),
                      (T.CCA2D_NUISANCE, 0.0), (T.CCA2D_RIDGE, -1.0)):
        with pytest.raises(ParamError):
            knob.resolve("quick", bad)
    table = T.knob_table({"cca2d_ridges": [0.01, 1.0]})
    assert list(table.columns) == ["knob", "what it changes", "default", "this run"]
    assert table.knob.tolist() == [f"`{n}`" for n in names]
    row = table[table.knob == "`cca2d_ridges`"].iloc[0]
    assert row["this run"] == "0.01,1" and row["default"] == "0.0001,0.001,0.01,0.1,1,10"
    assert table[table.knob == "`cca2d_n_points`"].iloc[0]["this run"] == "500"


def _page_numpy_cca(X: np.ndarray, Y: np.ndarray, r: float):
    """The chapter's ten lines of numpy, as printed on the page."""
    N = X.shape[0]
    Xc, Yc = X - X.mean(axis=0), Y - Y.mean(axis=0)
    S_xx = Xc.T @ Xc / N + r * np.eye(X.shape[1])
    S_yy = Yc.T @ Yc / N + r * np.eye(Y.shape[1])
    S_xy = Xc.T @ Yc / N

    def inv_sqrt(S):
        lam, E = np.linalg.eigh(S)
        return E @ np.diag(lam ** -0.5) @ E.T

    T_r = inv_sqrt(S_xx) @ S_xy @ inv_sqrt(S_yy)
    U, s, Vt = np.linalg.svd(T_r)
    return s, inv_sqrt(S_xx) @ U, inv_sqrt(S_yy) @ Vt.T


@pytest.mark.parametrize("r", [0.0, 1e-4, 1.0, 50.0])
def test_the_pages_numpy_cca_equals_the_library(latent, r):
    _, X, Y, _ = latent
    s, W_x, W_y = _page_numpy_cca(X, Y, r)
    lib = CCA(n_components=2, reg=r, drop_zero_correlations=False).fit(X, Y)
    assert T.max_difference_to_library(s, W_x, W_y, lib) < 1e-8
    # a pair flipped as a whole is the same pair; a wrong direction is caught
    assert T.max_difference_to_library(s, -W_x, -W_y, lib) < 1e-8
    assert T.max_difference_to_library(s, W_x[:, ::-1], W_y, lib) > 1e-3
    assert T.max_difference_to_library(s + 1e-3, W_x, W_y, lib) > 1e-4


def test_the_numpy_cca_also_matches_on_more_dimensions():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 5))
    Y = rng.normal(size=(300, 4)) + X[:, :4] @ rng.normal(size=(4, 4)) * 0.5
    s, W_x, W_y = _page_numpy_cca(X, Y, 0.1)
    lib = CCA(n_components=4, reg=0.1, drop_zero_correlations=False).fit(X, Y)
    assert T.max_difference_to_library(s, W_x, W_y, lib) < 1e-8
