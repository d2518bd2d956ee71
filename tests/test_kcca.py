"""Kernel CCA and Cluster kernel CCA (paper_lib.methods.kcca)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from paper_lib.methods.base import NotFittedError
from paper_lib.methods.cca import CCA
from paper_lib.methods.cluster_cca import ClusterCCA
from paper_lib.methods.kcca import KCCA, ClusterKCCA, ExactKernelMap, kernel_matrix


def latent_views(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linearly related views (3 shared factors) with labels from the first factor's sign/size."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 3))
    Xa = z @ rng.normal(size=(3, 6)) + 0.5 * rng.normal(size=(n, 6)) + 1.0
    Xv = z @ rng.normal(size=(3, 5)) + 0.5 * rng.normal(size=(n, 5))
    y = np.digitize(z[:, 0], [-0.7, 0.0, 0.7])
    return Xa, Xv, y


def quadratic_views(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Audio carries t, visual carries t² (plus a nuisance column each): corr(t, t²) = 0."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(-1.0, 1.0, size=n)
    Xa = np.c_[t, 0.3 * rng.normal(size=n)]
    Xv = np.c_[t ** 2 + 0.05 * rng.normal(size=n), 0.3 * rng.normal(size=n)]
    return Xa, Xv


def align_signs(Z: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Flip the columns of Z to correlate positively with those of ref."""
    return Z * np.sign(np.sum(Z * ref, axis=0))


# -- the exact kernel map -----------------------------------------------------------------------
def test_exact_map_reproduces_the_centred_kernel_and_maps_training_rows_consistently() -> None:
    Xa, _, _ = latent_views(n=80)
    feature_map = ExactKernelMap("rbf", gamma=0.1)
    F = feature_map.fit_transform(Xa)
    H = np.eye(80) - 1.0 / 80
    K_c = H @ kernel_matrix(Xa, Xa, "rbf", 0.1) @ H
    np.testing.assert_allclose(F @ F.T, K_c, atol=1e-9)
    np.testing.assert_allclose(feature_map.transform(Xa), F, atol=1e-8)


def test_matches_the_dual_hardoon_formulation() -> None:
    """Regularised KCCA (Hardoon et al. 2004): [[0, K_aK_v], [K_vK_a, 0]] (α; β) =
    ρ [[K_a² + κK_a, 0], [0, K_v² + κK_v]] (α; β), with centred kernels and κ = N·reg."""
    n, reg, gamma = 60, 1e-2, 0.5
    rng = np.random.default_rng(3)
    A = rng.normal(size=(n, 3))
    B = A[:, :2] ** 2 + 0.3 * rng.normal(size=(n, 2))
    H = np.eye(n) - 1.0 / n
    K_a = H @ kernel_matrix(A, A, "rbf", gamma) @ H
    K_v = H @ kernel_matrix(B, B, "rbf", gamma) @ H
    kappa, zero = n * reg, np.zeros((n, n))
    lhs = np.block([[zero, K_a @ K_v], [K_v @ K_a, zero]])
    rhs = np.block([[K_a @ K_a + kappa * K_a, zero], [zero, K_v @ K_v + kappa * K_v]])
    # tiny jitter: the centred kernels are singular along the constant vector (where lhs is 0)
    rho = scipy.linalg.eigh(lhs, rhs + 1e-9 * np.eye(2 * n), eigvals_only=True)[::-1][:3]
    model = KCCA(n_components=3, kernel="rbf", gamma=gamma, reg=reg, approx="exact").fit(A, B)
    np.testing.assert_allclose(model.correlations_, rho, rtol=1e-6)


# -- relations to linear CCA --------------------------------------------------------------------
@pytest.mark.parametrize("approx", ["exact", "nystrom"])
def test_linear_kernel_equals_cca(approx: str) -> None:
    Xa, Xv, _ = latent_views()
    Ta, Tv, _ = latent_views(n=30, seed=1)
    reg = 1e-3
    kcca = KCCA(n_components=4, kernel="linear", reg=reg, approx=approx, n_landmarks=200,
                random_state=0).fit(Xa, Xv)
    cca = CCA(n_components=4, reg=reg).fit(Xa, Xv)
    np.testing.assert_allclose(kcca.correlations_, cca.correlations_, rtol=1e-7)
    for z_kernel, z_linear in zip(kcca.transform(Ta, Tv), cca.transform(Ta, Tv), strict=True):
        np.testing.assert_allclose(align_signs(z_kernel, z_linear), z_linear, atol=1e-6)


@pytest.mark.parametrize("variant", ["rasiwasia", "beta"])
def test_linear_kernel_cluster_kcca_equals_cluster_cca(variant: str) -> None:
    Xa, Xv, y = latent_views(seed=2)
    ckcca = ClusterKCCA(n_components=3, kernel="linear", reg=1e-3, variant=variant).fit(Xa, Xv, y)
    ccca = ClusterCCA(n_components=3, reg=1e-3, variant=variant).fit(Xa, Xv, y)
    np.testing.assert_allclose(ckcca.correlations_, ccca.correlations_, rtol=1e-7)
    Z_kernel, _ = ckcca.transform(Xa)
    Z_linear, _ = ccca.transform(Xa)
    np.testing.assert_allclose(align_signs(Z_kernel, Z_linear), Z_linear, atol=1e-6)


def test_rbf_kcca_finds_a_quadratic_relation_that_cca_misses() -> None:
    Xa, Xv = quadratic_views(300, seed=0)
    Ta, Tv = quadratic_views(300, seed=1)            # held-out rows: no overfitting credit
    kcca = KCCA(n_components=1, kernel="rbf").fit(Xa, Xv)
    cca = CCA(n_components=1).fit(Xa, Xv)
    held_out = [np.corrcoef(*(z[:, 0] for z in m.transform(Ta, Tv)))[0, 1] for m in (kcca, cca)]
    assert held_out[0] > 0.9, held_out
    assert abs(held_out[1]) < 0.3, held_out


# -- exact vs Nyström ---------------------------------------------------------------------------
def test_nystrom_with_all_landmarks_equals_exact_and_with_half_is_close() -> None:
    Xa, Xv = quadratic_views(300, seed=0)
    Ta, _ = quadratic_views(50, seed=1)
    exact = KCCA(n_components=3, approx="exact").fit(Xa, Xv)
    full = KCCA(n_components=3, approx="nystrom", n_landmarks=300, random_state=0).fit(Xa, Xv)
    half = KCCA(n_components=3, approx="nystrom", n_landmarks=150, random_state=0).fit(Xa, Xv)
    assert (exact.approx_, full.approx_) == ("exact", "nystrom")
    np.testing.assert_allclose(full.correlations_, exact.correlations_, rtol=1e-6)
    # same signs by construction (rule on the training variates, basis-free)
    np.testing.assert_allclose(full.transform(Ta)[0], exact.transform(Ta)[0], atol=1e-4)
    np.testing.assert_allclose(half.correlations_, exact.correlations_, atol=0.02)
    for k in range(3):
        assert np.corrcoef(half.transform(Ta)[0][:, k], exact.transform(Ta)[0][:, k])[0, 1] > 0.99


def test_auto_switches_to_nystrom_above_the_exact_limit() -> None:
    from paper_lib.methods.kcca import AUTO_EXACT_MAX_N

    Xa, Xv = quadratic_views(AUTO_EXACT_MAX_N + 1, seed=0)
    big = KCCA(n_components=2, approx="auto", n_landmarks=40, random_state=0).fit(Xa, Xv)
    small = KCCA(n_components=2, approx="auto").fit(Xa[:AUTO_EXACT_MAX_N], Xv[:AUTO_EXACT_MAX_N])
    assert big.approx_ == "nystrom" and big.weights_audio_.shape == (40, 2)
    assert small.approx_ == "exact"


# -- behaviour -----------------------------------------------------------------------------------
def test_transform_depends_on_each_view_only_and_not_on_the_batch() -> None:
    Xa, Xv, _ = latent_views()
    Ta, Tv, _ = latent_views(n=40, seed=5)
    for approx in ("exact", "nystrom"):
        model = KCCA(n_components=3, approx=approx, n_landmarks=100, random_state=0).fit(Xa, Xv)
        Z_a, Z_v = model.transform(Ta, Tv)
        shuffled = Tv[np.random.default_rng(0).permutation(40)]
        np.testing.assert_array_equal(model.transform(Ta, shuffled)[0], Z_a)
        np.testing.assert_array_equal(model.transform(X_audio=Ta)[0], Z_a)
        assert model.transform(X_audio=Ta)[1] is None
        np.testing.assert_allclose(model.transform(X_visual=Tv[:7])[1], Z_v[:7], atol=1e-12)


def test_training_variates_are_white_and_correlations_sorted() -> None:
    Xa, Xv, _ = latent_views()
    n = Xa.shape[0]
    model = KCCA(n_components=4, reg=1e-3).fit(Xa, Xv)
    Z_a, Z_v = model.transform(Xa, Xv)
    W_a = model.weights_audio_
    np.testing.assert_allclose(Z_a.T @ Z_a / n + 1e-3 * W_a.T @ W_a, np.eye(4), atol=1e-6)
    np.testing.assert_allclose(Z_a.T @ Z_v / n, np.diag(model.correlations_), atol=1e-6)
    assert np.all(np.diff(model.correlations_) <= 0)


def test_gamma_scale_heuristic_and_explicit_gamma() -> None:
    Xa, Xv, _ = latent_views(n=100)
    auto = KCCA(n_components=2).fit(Xa, Xv)
    assert auto.gamma_audio_ == pytest.approx(1.0 / (Xa.shape[1] * Xa.var()))
    assert auto.gamma_visual_ == pytest.approx(1.0 / (Xv.shape[1] * Xv.var()))
    fixed = KCCA(n_components=2, gamma=0.05).fit(Xa, Xv)
    assert fixed.gamma_audio_ == fixed.gamma_visual_ == 0.05
    assert not np.allclose(fixed.correlations_, auto.correlations_)


def test_deterministic_given_random_state() -> None:
    Xa, Xv, _ = latent_views()
    a = KCCA(n_components=2, approx="nystrom", n_landmarks=50, random_state=3).fit(Xa, Xv)
    b = KCCA(n_components=2, approx="nystrom", n_landmarks=50, random_state=3).fit(Xa, Xv)
    np.testing.assert_array_equal(a.transform(Xa)[0], b.transform(Xa)[0])


def test_transform_before_fit_raises() -> None:
    Xa, Xv, y = latent_views(n=20)
    with pytest.raises(NotFittedError):
        KCCA(n_components=2).transform(Xa, Xv)
    with pytest.raises(NotFittedError):
        ClusterKCCA(n_components=2).transform(Xa)


def test_kernel_components_may_exceed_the_input_width() -> None:
    Xa, Xv, _ = latent_views(n=50)
    model = KCCA(n_components=8).fit(Xa, Xv)             # 8 > 5 visual columns: fine for RBF
    assert model.correlations_.shape == (8,)


@pytest.mark.parametrize("kwargs, match", [
    ({"kernel": "poly"}, "kernel must be one of"),
    ({"approx": "fast"}, "approx must be one of"),
    ({"gamma": 0.0}, "gamma must be None"),
    ({"n_landmarks": 0}, "n_landmarks must be a positive integer"),
    ({"n_components": 51}, "exceeds the number of samples"),
    ({"n_components": 6, "kernel": "linear"}, "exceeds the dimension of the kernel feature"),
    ({"reg": -1.0}, "reg must be"),
])
def test_bad_hyperparameters_raise_clear_value_errors(kwargs: dict, match: str) -> None:
    Xa, Xv, _ = latent_views(n=50)
    with pytest.raises(ValueError, match=match):
        KCCA(**({"n_components": 2} | kwargs)).fit(Xa, Xv)


def test_bad_inputs_raise_clear_value_errors() -> None:
    Xa, Xv, y = latent_views(n=50)
    bad = Xa.copy()
    bad[1, 1] = np.nan
    with pytest.raises(ValueError, match="X_audio contains NaN"):
        KCCA(n_components=2).fit(bad, Xv)
    with pytest.raises(ValueError, match="same number of rows"):
        KCCA(n_components=2).fit(Xa, Xv[:-2])
    with pytest.raises(ValueError, match="supervised: pass the class labels"):
        ClusterKCCA(n_components=2).fit(Xa, Xv)
    with pytest.raises(ValueError, match="single class"):
        ClusterKCCA(n_components=2).fit(Xa, Xv, np.zeros(50, dtype=int))
    with pytest.raises(ValueError, match="variant must be one of"):
        ClusterKCCA(n_components=2, variant="x").fit(Xa, Xv, y)
    model = KCCA(n_components=2).fit(Xa, Xv)
    with pytest.raises(ValueError, match="X_audio has 5 columns"):
        model.transform(X_audio=Xa[:, :5])
