"""Mathematical and behavioural tests of closed-form CCA (paper_lib.methods.cca, ._linalg)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from sklearn.cross_decomposition import CCA as SklearnCCA

from paper_lib.errors import UserError
from paper_lib.methods import registry
from paper_lib.methods._linalg import class_sums, flip_signs, inv_sqrt_spd, numerical_rank
from paper_lib.methods.base import NotFittedError
from paper_lib.methods.cca import CCA, cca_from_covariances, paired_covariances
from paper_lib.methods.cluster_cca import ClusterCCA


def latent_views(n: int = 400, d_a: int = 8, d_v: int = 6, k: int = 3,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two views sharing k latent factors, plus independent noise (well conditioned)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, k))
    Xa = z @ rng.normal(size=(k, d_a)) + 0.5 * rng.normal(size=(n, d_a)) + 3.0
    Xv = z @ rng.normal(size=(k, d_v)) + 0.5 * rng.normal(size=(n, d_v)) - 1.0
    return Xa, Xv


# -- helpers in _linalg -------------------------------------------------------------------------
def test_inv_sqrt_spd_is_the_inverse_square_root() -> None:
    rng = np.random.default_rng(1)
    A = rng.normal(size=(7, 7))
    C = A @ A.T + 0.1 * np.eye(7)
    R = inv_sqrt_spd(C)
    np.testing.assert_allclose(R, R.T, atol=1e-12)
    np.testing.assert_allclose(R @ C @ R, np.eye(7), atol=1e-10)
    np.testing.assert_allclose(np.linalg.inv(R @ R), C, rtol=1e-9)


def test_inv_sqrt_spd_clips_singular_matrices_instead_of_nan() -> None:
    v = np.array([[1.0], [2.0], [0.0]])
    R = inv_sqrt_spd(v @ v.T)                    # rank 1: two zero eigenvalues
    assert np.isfinite(R).all()
    u = v[:, 0] / np.linalg.norm(v)
    np.testing.assert_allclose(u @ R @ u, 1.0 / np.linalg.norm(v), rtol=1e-9)
    with pytest.raises(ValueError, match="square"):
        inv_sqrt_spd(np.ones((2, 3)))
    with pytest.raises(ValueError, match="no positive eigenvalue"):
        inv_sqrt_spd(np.zeros((3, 3)))


def test_class_sums_match_a_naive_loop() -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(50, 4))
    idx = rng.integers(0, 6, size=50)
    idx[idx == 3] = 4                            # class 3 left empty on purpose
    naive = np.stack([X[idx == c].sum(axis=0) for c in range(6)])
    np.testing.assert_allclose(class_sums(X, idx, 6), naive, atol=1e-12)
    assert not class_sums(X, idx, 6)[3].any()


def test_numerical_rank_counts_entries_above_rtol_times_the_largest() -> None:
    rng = np.random.default_rng(3)
    M = rng.normal(size=(9, 2)) @ rng.normal(size=(2, 7))        # rank 2
    sv = np.linalg.svd(M, compute_uv=False)
    assert numerical_rank(sv, 1e-10) == 2 == np.linalg.matrix_rank(M, rtol=1e-10)
    assert numerical_rank(np.array([4.0, 2.0, 1.0, 0.0]), 0.25) == 2  # 1.0 = 0.25·4 not above
    assert numerical_rank(np.array([4.0, 2.0, 1.0, 0.0]), 0.0) == 3   # zeros never count
    assert numerical_rank(np.array([]), 1e-8) == 0
    assert numerical_rank(np.zeros(5), 1e-8) == 0
    # canonical correlations: Cluster-CCA as published sees only the C = 3 class sums, whose
    # pair-weighted centring leaves C - 1 = 2 directions with any correlation
    y = np.arange(90) % 3
    Xa = rng.normal(size=(90, 6)) + rng.normal(size=(3, 6))[y]
    Xv = rng.normal(size=(90, 5)) + rng.normal(size=(3, 5))[y]
    rho = ClusterCCA(n_components=5, variant="rasiwasia").fit(Xa, Xv, y).correlations_
    assert numerical_rank(rho, 1e-8) == 2
    with pytest.raises(ValueError, match="1-d"):
        numerical_rank(np.eye(2), 1e-8)
    with pytest.raises(ValueError, match="non-negative"):
        numerical_rank(np.array([1.0, -0.5]), 1e-8)


def test_flip_signs_makes_largest_audio_loading_positive_and_keeps_pairs() -> None:
    W_a = np.array([[0.1, -3.0], [-2.0, 1.0]])
    W_v = np.array([[1.0, 1.0], [1.0, -1.0]])
    Fa, Fv = flip_signs(W_a, W_v)
    np.testing.assert_array_equal(Fa, [[-0.1, 3.0], [2.0, -1.0]])
    np.testing.assert_array_equal(Fv, [[-1.0, -1.0], [-1.0, 1.0]])
    # the pairing product w_a w_vᵀ is unchanged column by column
    for k in range(2):
        np.testing.assert_array_equal(np.outer(Fa[:, k], Fv[:, k]), np.outer(W_a[:, k], W_v[:, k]))


# -- mathematical facts --------------------------------------------------------------------------
def test_identical_views_give_unit_correlations_and_equal_embeddings() -> None:
    Xa, _ = latent_views()
    model = CCA(n_components=5, reg=0.0).fit(Xa, Xa)
    np.testing.assert_allclose(model.correlations_, 1.0, atol=1e-10)
    Z_a, Z_v = model.transform(Xa, Xa)
    np.testing.assert_allclose(Z_a, Z_v, atol=1e-8)


def test_identical_views_with_ridge_give_shrunk_correlations() -> None:
    """With X_v = X_a, T = (Σ+rI)^{-1/2} Σ (Σ+rI)^{-1/2}: ρ_i = λ_i / (λ_i + r), λ_i eig. of Σ."""
    Xa, _ = latent_views(d_a=5)
    reg = 0.3
    lam = np.sort(np.linalg.eigvalsh(np.cov(Xa.T, bias=True)))[::-1]
    model = CCA(n_components=5, reg=reg).fit(Xa, Xa)
    np.testing.assert_allclose(model.correlations_, lam / (lam + reg), rtol=1e-10)


def test_canonical_variates_are_white_uncorrelated_and_sorted() -> None:
    Xa, Xv = latent_views()
    n = Xa.shape[0]
    model = CCA(n_components=6, reg=1e-12).fit(Xa, Xv)
    Z_a, Z_v = model.transform(Xa, Xv)
    np.testing.assert_allclose(Z_a.mean(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(Z_a.T @ Z_a / n, np.eye(6), atol=1e-8)       # unit variance,
    np.testing.assert_allclose(Z_v.T @ Z_v / n, np.eye(6), atol=1e-8)       # uncorrelated
    np.testing.assert_allclose(Z_a.T @ Z_v / n, np.diag(model.correlations_), atol=1e-8)
    assert np.all(np.diff(model.correlations_) <= 0)
    assert np.all(model.correlations_ >= 0) and model.correlations_[0] <= 1.0


def test_ridge_normalisation_is_exact_with_large_reg() -> None:
    """W_aᵀ (Σ_aa + reg·I) W_a = I and W_aᵀ Σ_av W_v = diag(ρ) hold for any ridge."""
    Xa, Xv = latent_views()
    n, reg = Xa.shape[0], 0.7
    model = CCA(n_components=4, reg=reg).fit(Xa, Xv)
    Z_a, Z_v = model.transform(Xa, Xv)
    W_a, W_v = model.weights_audio_, model.weights_visual_
    np.testing.assert_allclose(Z_a.T @ Z_a / n + reg * W_a.T @ W_a, np.eye(4), atol=1e-10)
    np.testing.assert_allclose(Z_v.T @ Z_v / n + reg * W_v.T @ W_v, np.eye(4), atol=1e-10)
    np.testing.assert_allclose(Z_a.T @ Z_v / n, np.diag(model.correlations_), atol=1e-10)


def test_matches_scikit_learn_cca() -> None:
    Xa, Xv = latent_views()
    ours = CCA(n_components=3, reg=1e-12).fit(Xa, Xv)
    sk = SklearnCCA(n_components=3, scale=False, max_iter=5000, tol=1e-14).fit(Xa, Xv)
    A, B = sk.transform(Xa, Xv)
    sk_rho = [np.corrcoef(A[:, k], B[:, k])[0, 1] for k in range(3)]
    np.testing.assert_allclose(ours.correlations_, sk_rho, rtol=1e-6)
    Z_a, _ = ours.transform(Xa)
    for k in range(3):                           # same canonical variates up to sign
        assert abs(np.corrcoef(Z_a[:, k], A[:, k])[0, 1]) > 1 - 1e-6


def test_matches_generalised_eigenproblem() -> None:
    """[[0, Σ_av], [Σ_va, 0]] w = ρ [[Σ_aa, 0], [0, Σ_vv]] w, solved by scipy.linalg.eigh."""
    Xa, Xv = latent_views(d_a=5, d_v=4, seed=3)
    reg = 0.05
    d_a, d_v = Xa.shape[1], Xv.shape[1]
    C = np.cov(np.hstack([Xa, Xv]).T, bias=True)
    A = np.zeros_like(C)
    A[:d_a, d_a:], A[d_a:, :d_a] = C[:d_a, d_a:], C[d_a:, :d_a]
    B = C.copy()
    B[:d_a, d_a:] = B[d_a:, :d_a] = 0.0
    B += reg * np.eye(d_a + d_v)
    rho = scipy.linalg.eigh(A, B, eigvals_only=True)[::-1][:4]
    model = CCA(n_components=4, reg=reg).fit(Xa, Xv)
    np.testing.assert_allclose(model.correlations_, rho, rtol=1e-10)


def test_correlations_invariant_to_affine_maps_of_each_view() -> None:
    Xa, Xv = latent_views()
    rng = np.random.default_rng(4)
    Ma = rng.normal(size=(8, 8)) + 3 * np.eye(8)
    Mv = rng.normal(size=(6, 6)) + 3 * np.eye(6)
    base = CCA(n_components=5, reg=0.0).fit(Xa, Xv).correlations_
    moved = CCA(n_components=5, reg=0.0).fit(Xa @ Ma + 7.0, Xv @ Mv - 2.0).correlations_
    np.testing.assert_allclose(moved, base, rtol=1e-9)


def test_paired_covariances_match_numpy() -> None:
    Xa, Xv = latent_views()
    C_aa, C_vv, C_av, m_a, m_v = paired_covariances(Xa, Xv, reg=0.2)
    C = np.cov(np.hstack([Xa, Xv]).T, bias=True)
    np.testing.assert_allclose(C_aa, C[:8, :8] + 0.2 * np.eye(8), atol=1e-12)
    np.testing.assert_allclose(C_vv, C[8:, 8:] + 0.2 * np.eye(6), atol=1e-12)
    np.testing.assert_allclose(C_av, C[:8, 8:], atol=1e-12)
    np.testing.assert_allclose(m_a, Xa.mean(axis=0))
    np.testing.assert_allclose(m_v, Xv.mean(axis=0))


# -- behaviour -----------------------------------------------------------------------------------
def test_transform_before_fit_raises_not_fitted() -> None:
    Xa, Xv = latent_views(n=20)
    with pytest.raises(NotFittedError, match="not fitted"):
        CCA(n_components=2).transform(Xa, Xv)


def test_transform_uses_training_means_and_each_view_alone() -> None:
    Xa, Xv = latent_views()
    model = CCA(n_components=3).fit(Xa[:300], Xv[:300])
    new_a, new_v = Xa[300:], Xv[300:]
    Z_a, Z_v = model.transform(new_a, new_v)
    expected = (new_a - Xa[:300].mean(axis=0)) @ model.weights_audio_
    np.testing.assert_allclose(Z_a, expected, atol=1e-12)
    alone_a, none_v = model.transform(X_audio=new_a)
    none_a, alone_v = model.transform(X_visual=new_v)
    assert none_v is None and none_a is None
    np.testing.assert_array_equal(alone_a, Z_a)
    np.testing.assert_array_equal(alone_v, Z_v)
    # a row's embedding does not depend on the other rows of the batch
    np.testing.assert_allclose(model.transform(new_a[:1])[0], Z_a[:1], atol=1e-12)


def test_signs_are_deterministic_and_permutation_invariant() -> None:
    Xa, Xv = latent_views()
    first = CCA(n_components=4).fit(Xa, Xv)
    again = CCA(n_components=4).fit(Xa, Xv)
    np.testing.assert_array_equal(first.weights_audio_, again.weights_audio_)
    np.testing.assert_array_equal(first.weights_visual_, again.weights_visual_)
    perm = np.random.default_rng(5).permutation(Xa.shape[0])
    permuted = CCA(n_components=4).fit(Xa[perm], Xv[perm])
    np.testing.assert_allclose(permuted.weights_audio_, first.weights_audio_, atol=1e-8)
    np.testing.assert_allclose(permuted.weights_visual_, first.weights_visual_, atol=1e-8)
    # the rule itself: largest-|loading| of each audio direction is positive
    W = first.weights_audio_
    assert np.all(W[np.argmax(np.abs(W), axis=0), np.arange(4)] > 0)
    assert np.all(first.correlations_ > 0)


def test_fit_returns_self_and_params_are_only_hyperparameters() -> None:
    Xa, Xv = latent_views(n=50)
    model = CCA(n_components=2, reg=1e-3, random_state=7)
    assert model.fit(Xa, Xv) is model
    assert model.get_params() == {"n_components": 2, "reg": 1e-3, "random_state": 7,
                                  "drop_zero_correlations": True}
    assert model.weights_audio_.shape == (8, 2) and model.weights_visual_.shape == (6, 2)
    assert model.mean_audio_.shape == (8,) and model.correlations_.shape == (2,)
    assert model.n_components_ == 2


@pytest.mark.parametrize("kwargs, views, match", [
    ({}, "nan", "X_audio contains NaN"),
    ({}, "rows", "same number of rows"),
    ({"n_components": 7}, "ok", "larger than the narrower view"),
    ({"n_components": 0}, "ok", "n_components must be"),
    ({"n_components": 2.5}, "ok", "n_components must be a positive integer"),
    ({"reg": -1.0}, "ok", "reg must be"),
    ({"reg": float("nan")}, "ok", "reg must be"),
])
def test_bad_inputs_raise_clear_value_errors(kwargs: dict, views: str, match: str) -> None:
    Xa, Xv = latent_views(n=40)
    if views == "nan":
        Xa = Xa.copy()
        Xa[3, 2] = np.nan
    elif views == "rows":
        Xv = Xv[:-1]
    params = {"n_components": 2} | kwargs
    with pytest.raises(ValueError, match=match):
        CCA(**params).fit(Xa, Xv)


def test_transform_rejects_bad_views() -> None:
    Xa, Xv = latent_views(n=40)
    model = CCA(n_components=2).fit(Xa, Xv)
    with pytest.raises(ValueError, match="X_visual has 5 columns"):
        model.transform(X_visual=Xv[:, :5])
    bad = Xa.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="X_audio contains NaN or inf"):
        model.transform(X_audio=bad)
    with pytest.raises(ValueError, match="2-d"):
        model.transform(X_audio=Xa[0])


def test_cca_from_covariances_checks_shapes() -> None:
    with pytest.raises(ValueError, match="inconsistent shapes"):
        cca_from_covariances(np.eye(3), np.eye(2), np.zeros((2, 3)), 1)
    with pytest.raises(ValueError, match="d=3"):
        cca_from_covariances(np.eye(3), np.eye(2), np.zeros((3, 2)), 3)


def test_transform_is_written_once_per_view_and_checks_each_view() -> None:
    Xa, Xv = latent_views(n=40)
    model = CCA(n_components=2).fit(Xa, Xv)
    Za, Zv = model.transform(Xa, Xv)
    np.testing.assert_array_equal(model.transform_view(Xa, "audio"), Za)
    np.testing.assert_array_equal(model.transform_view(Xv, "visual"), Zv)
    assert model.transform() == (None, None)
    with pytest.raises(UserError, match="view must be one of"):
        model.transform_view(Xa, "video")
    with pytest.raises(UserError, match="X_audio is empty"):
        model.transform(X_audio=Xa[:0])
    with pytest.raises(NotFittedError):
        CCA(n_components=2).transform_view(Xa, "audio")


@pytest.mark.parametrize("kwargs, match", [
    ({"n_components": True}, "n_components must be a positive integer"),
    ({"reg": True}, "reg must be a finite number >= 0"),
    ({"reg": float("inf")}, "reg must be a finite number >= 0"),
])
def test_bools_and_non_finite_numbers_are_rejected(kwargs: dict, match: str) -> None:
    Xa, Xv = latent_views(n=40)
    with pytest.raises(UserError, match=match):
        CCA(**({"n_components": 2} | kwargs)).fit(Xa, Xv)


# -- the registry -------------------------------------------------------------------------------
def test_register_method_rejects_duplicates_unless_replace(monkeypatch) -> None:
    monkeypatch.setattr(registry, "METHODS", dict(registry.METHODS))
    spec = registry.MethodSpec("cca_reg1", "CCA (reg 1)", "CCA with a heavy ridge",
                               lambda dim, seed, epochs, **hp: CCA(dim, reg=1.0, **hp))
    assert registry.register_method(spec) is spec
    assert registry.get_method("cca_reg1").build(2, 0, 1).get_params()["reg"] == 1.0
    with pytest.raises(ValueError, match="'cca_reg1' is already registered.*replace=True"):
        registry.register_method(spec)
    with pytest.raises(ValueError, match="'cca' is already registered"):
        registry.register_method(registry.MethodSpec("cca", "x", "y", spec.build))
    other = registry.MethodSpec("cca_reg1", "CCA (reg 2)", "heavier", spec.build)
    assert registry.register_method(other, replace=True) is registry.get_method("cca_reg1")
    assert list(registry.METHODS)[-1] == "cca_reg1"


def test_get_method_raises_a_user_error_and_the_registry_is_only_a_registry() -> None:
    with pytest.raises(UserError, match="method: unknown method 'nope'; allowed: cca, kcca"):
        registry.get_method("nope")
    assert not hasattr(registry, "PAPER_METHODS")  # the paper's list lives in paper_lib.paper
    assert "deep" not in registry.MethodSpec.__dataclass_fields__


@pytest.mark.parametrize("name", list(registry.METHODS))
def test_every_method_checks_hyperparameters_before_looking_at_data(name: str) -> None:
    build = registry.get_method(name).build
    if build(10, 0, 1).retrieval_metric == "hamming":   # hashing: the code length is the size
        est, message = build(10, 0, 1, n_bits=0), "n_bits must be a positive integer, got 0"
    elif build(10, 0, 1).input_kind == "media":         # AVE-Net: its own 128-d embedding
        est, message = (build(10, 0, 1, embedding_dim=0),
                        "embedding_dim must be a positive integer, got 0")
    else:
        est, message = build(0, 0, 1), "n_components must be a positive integer, got 0"
    with pytest.raises(UserError, match=message):
        est.fit(None, None)  # the (missing) data would only be checked afterwards
