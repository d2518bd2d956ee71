"""Chapter 20's exercises: every numeric answer the page glues (``paper_lib.report.teach_cca``'s
``exercise_*`` functions and helpers) equals an independent computation: a closed form, a
generalised eigenproblem solved by scipy instead of the whitening + SVD the library uses, a
brute-force search, or a count by enumeration."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import block_diag, eigh

from paper_lib.methods.cca import CCA
from paper_lib.report import teach_cca as T


def _cca_by_eigenproblem(S_xx: np.ndarray, S_yy: np.ndarray, S_xy: np.ndarray, r: float
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CCA as the generalised eigenproblem [[0, Σ_xy], [Σ_yx, 0]] w = ρ diag(C_x, C_y) w:
    descending positive eigenvalues and the x and y parts of their eigenvectors."""
    p = S_xx.shape[0]
    A = np.block([[np.zeros_like(S_xx), S_xy], [S_xy.T, np.zeros_like(S_yy)]])
    B = block_diag(S_xx + r * np.eye(p), S_yy + r * np.eye(S_yy.shape[0]))
    vals, vecs = eigh(A, B)
    order = np.argsort(vals)[::-1]
    return vals[order], vecs[:p, order], vecs[p:, order]


def _angle(u: np.ndarray, v: np.ndarray) -> float:
    c = abs(u @ v) / np.linalg.norm(u) / np.linalg.norm(v)
    return float(np.degrees(np.arccos(min(1.0, c))))


@pytest.fixture(scope="module")
def toy_cov():
    return T.default_latent_toy().covariances()


def test_exercise_1_the_ridge_svd_is_the_constrained_maximum(toy_cov):
    s1 = T.ridge_cca(toy_cov, 1.0)[2][0]
    rho, _, _ = _cca_by_eigenproblem(*toy_cov, 1.0)
    assert s1 == pytest.approx(rho[0], abs=1e-10)
    grid = T.constrained_grid_max(toy_cov, 1.0, n_angles=360)
    assert grid <= s1 + 1e-12 and grid > s1 - 1e-4               # half-degree steps
    # brute force without the helper: random directions scaled onto the ellipses stay below
    rng = np.random.default_rng(0)
    C_xx, C_yy, C_xy = toy_cov[0] + np.eye(2), toy_cov[1] + np.eye(2), toy_cov[2]
    w_x, w_y = rng.normal(size=(2, 5000)), rng.normal(size=(2, 5000))
    w_x /= np.sqrt(np.einsum("in,ij,jn->n", w_x, C_xx, w_x))
    w_y /= np.sqrt(np.einsum("in,ij,jn->n", w_y, C_yy, w_y))
    values = np.einsum("in,ij,jn->n", w_x, C_xy, w_y)
    assert values.max() <= s1 + 1e-12 and values.max() > s1 - 5e-3


def test_exercise_2_a_large_ridge_gives_the_pls_directions(toy_cov):
    toy = T.default_latent_toy()
    out = T.exercise_large_ridge(toy_cov, 1000.0)
    # σ₁(h_x h_yᵀ) = ‖h_x‖‖h_y‖ and the PLS directions are the signal axes e₁ (x), e₂ (y)
    assert out["sigma1"] == pytest.approx(np.linalg.norm(toy.load_x) * np.linalg.norm(toy.load_y))
    rho, V_x, V_y = _cca_by_eigenproblem(*toy_cov, 1000.0)
    assert out["r_times_s1"] == pytest.approx(1000.0 * rho[0], rel=1e-9)
    assert out["r_times_s1"] == pytest.approx(out["sigma1"], rel=0.01)
    assert out["angle_x"] == pytest.approx(_angle(V_x[:, 0], np.array([1.0, 0.0])), abs=1e-6)
    assert out["angle_y"] == pytest.approx(_angle(V_y[:, 0], np.array([0.0, 1.0])), abs=1e-6)
    _, V_x0, V_y0 = _cca_by_eigenproblem(*toy_cov, 0.0)
    assert out["angle_x_r0"] == pytest.approx(_angle(V_x0[:, 0], np.array([1.0, 0.0])), abs=1e-6)
    assert out["angle_y_r0"] == pytest.approx(_angle(V_y0[:, 0], np.array([0.0, 1.0])), abs=1e-6)
    # the angle shrinks as r grows, roughly like 1/r
    angles = [T.exercise_large_ridge(toy_cov, r)["angle_x"] for r in (10.0, 100.0, 1000.0)]
    assert angles[0] > angles[1] > angles[2] and angles[2] < 0.5 and out["angle_x_r0"] > 10


def test_exercise_3_the_hand_computed_toy():
    S_xx, S_yy, S_xy = T.hand_toy_covariances()
    assert np.all(np.linalg.eigvalsh(np.block([[S_xx, S_xy], [S_xy.T, S_yy]])) > 0)
    out = T.exercise_hand_toy(n_sample=20_000, seed=0)
    # the hand answer: ρ = (1/2, 1/4), w_x = (1/2, 0), w_y = (0.8, 0.6)
    assert (out["rho1"], out["rho2"]) == (pytest.approx(0.5), pytest.approx(0.25))
    assert (out["w_x1"], out["w_x2"]) == (pytest.approx(0.5), pytest.approx(0.0, abs=1e-12))
    assert (out["w_y1"], out["w_y2"]) == (pytest.approx(0.8), pytest.approx(0.6))
    rho, V_x, V_y = _cca_by_eigenproblem(S_xx, S_yy, S_xy, 0.0)
    np.testing.assert_allclose(rho[:2], [0.5, 0.25], atol=1e-12)
    # scipy normalises the joint eigenvector: w_xᵀC_x w_x + w_yᵀC_y w_y = 1, half each
    np.testing.assert_allclose(np.abs(V_x[:, 0]) * np.sqrt(2), [0.5, 0.0], atol=1e-12)
    np.testing.assert_allclose(np.abs(V_y[:, 0]) * np.sqrt(2), [0.8, 0.6], atol=1e-12)
    assert out["sample_rho1"] == pytest.approx(0.5, abs=0.02)
    assert out["n_sample"] == 20_000


@pytest.mark.parametrize("phi", [0.0, 50.0, -70.0])
def test_exercise_4_the_noise_angle_closed_form(phi):
    out = T.exercise_noise_angle(phi)
    h, (loud_x, quiet_x), (loud_y, quiet_y) = T.TOY_LOADING, T.TOY_NOISE_STD_X, T.TOY_NOISE_STD_Y
    t = np.radians(phi)
    gamma_x = h ** 2 * (np.cos(t) ** 2 / loud_x ** 2 + np.sin(t) ** 2 / quiet_x ** 2)
    t_y = np.radians(90.0 - (-30.0))                   # signal of y at 90°, loud noise at −30°
    gamma_y = h ** 2 * (np.cos(t_y) ** 2 / loud_y ** 2 + np.sin(t_y) ** 2 / quiet_y ** 2)
    closed = np.sqrt(gamma_x / (1 + gamma_x) * gamma_y / (1 + gamma_y))
    assert out["rho1"] == pytest.approx(closed, abs=1e-12)
    cov = T.latent_toy(phi).covariances()
    rho, V_x, _ = _cca_by_eigenproblem(*cov, 0.0)
    assert out["rho1"] == pytest.approx(rho[0], abs=1e-10)
    cca_angle = np.degrees(np.arctan2(V_x[1, 0], V_x[0, 0])) % 180
    assert min(abs(out["cca_angle_x"] - cca_angle), 180 - abs(out["cca_angle_x"] - cca_angle)) \
        < 1e-6
    # PCA by brute force: the angle of largest variance on a 0.01° grid
    grid = np.arange(0, 180, 0.01)
    u = np.stack([np.cos(np.radians(grid)), np.sin(np.radians(grid))])
    best = grid[np.argmax(np.einsum("in,ij,jn->n", u, cov[0], u))]
    assert min(abs(out["pca_angle_x"] - best), 180 - abs(out["pca_angle_x"] - best)) < 0.01


def test_exercise_4_noise_along_the_signal_lowers_rho_and_aligns_pca_with_cca():
    zero, default = T.exercise_noise_angle(0.0), T.exercise_noise_angle(50.0)
    assert zero["rho1"] < default["rho1"]
    assert zero["cca_angle_x"] == pytest.approx(0.0, abs=1e-9)
    assert zero["pca_angle_x"] == pytest.approx(0.0, abs=1e-9)
    assert abs(default["cca_angle_x"] - default["pca_angle_x"]) > 45
    # and the sample says the same, as the re-run page will show
    X, Y, _ = T.latent_toy(0.0).sample(40_000, seed=2)
    assert CCA(1, reg=0.0).fit(X, Y).correlations_[0] == pytest.approx(zero["rho1"], abs=0.01)


@pytest.mark.parametrize("r", [0.0, 0.1, 1.0, 10.0])
def test_exercise_5_the_ridge_shrinks_the_reported_value_more_than_the_reached_one(r):
    toy = T.default_latent_toy()
    out = T.exercise_ridge_population(toy, r)
    W_x, W_y, s = T.ridge_cca(toy.covariances(), r)
    assert out["reported"] == pytest.approx(s[0], abs=1e-10)
    S_xx, S_yy, S_xy = toy.covariances()
    w_x, w_y = W_x[:, 0], W_y[:, 0]
    reached = w_x @ S_xy @ w_y / np.sqrt((w_x @ S_xx @ w_x) * (w_y @ S_yy @ w_y))
    assert out["reached"] == pytest.approx(reached, abs=1e-10)
    assert out["reached"] >= out["reported"] - 1e-12
    assert out["reached"] <= toy.analytic_rho() + 1e-12


def test_exercise_5_the_reported_value_decreases_with_r():
    toy = T.default_latent_toy()
    values = [T.exercise_ridge_population(toy, r)["reported"] for r in (0.0, 0.01, 0.1, 1.0, 10.0)]
    assert values[0] == pytest.approx(toy.analytic_rho())
    assert np.all(np.diff(values) < 0)


def test_exercise_6_counts_by_enumeration():
    for d_a, d_v in ((1, 1), (3, 5), (128, 784)):
        distinct = (np.triu_indices(d_a)[0].size + np.triu_indices(d_v)[0].size
                    + np.ones((d_a, d_v)).size)
        assert T.exercise_parameter_count(d_a, d_v) == distinct
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 9))
    X[:, [1, 4, 7]] = 0.5                                 # three blank "pixels"
    naive = sum(len(set(X[:, j])) == 1 for j in range(X.shape[1]))
    assert T.constant_columns(X) == naive == 3
    # the bound is attained by generic data: limited by the constant columns, or by the rows
    Xc = X - X.mean(axis=0)
    assert np.linalg.matrix_rank(Xc.T @ Xc) == T.covariance_rank_bound(40, 9, 3) == 6
    Z = rng.normal(size=(5, 9))
    Zc = Z - Z.mean(axis=0)
    assert np.linalg.matrix_rank(Zc.T @ Zc) == T.covariance_rank_bound(5, 9, 0) == 4


@pytest.mark.parametrize("phi", [0.0, 50.0])
def test_exercise_4_the_cost_of_tilting_w_x(phi):
    out = T.exercise_noise_angle(phi)
    S_xx, S_yy, S_xy = T.latent_toy(phi).covariances()
    # brute force: w_x at the CCA angle + tilt, the best w_y on a 0.01° grid
    t = np.radians(out["cca_angle_x"] + T.EXERCISE_TILT)
    w_x = np.array([np.cos(t), np.sin(t)])
    grid = np.radians(np.arange(0, 180, 0.01))
    W_y = np.stack([np.cos(grid), np.sin(grid)])
    corr = np.abs(w_x @ S_xy @ W_y) / np.sqrt((w_x @ S_xx @ w_x)
                                              * np.einsum("in,ij,jn->n", W_y, S_yy, W_y))
    assert out["rho_tilted"] == pytest.approx(corr.max(), abs=1e-7)
    assert out["rho_tilted"] < out["rho1"]


def test_exercise_4_a_flat_optimum_when_the_noise_lies_on_the_signal():
    zero, default = T.exercise_noise_angle(0.0), T.exercise_noise_angle(50.0)
    assert zero["rho1"] - zero["rho_tilted"] < 0.01 < default["rho1"] - default["rho_tilted"]
