"""Cluster-CCA (paper_lib.methods.cluster_cca) against explicit pair expansions and plain CCA."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from paper_lib.errors import UserError
from paper_lib.methods.base import NotFittedError
from paper_lib.methods.cca import CCA, paired_covariances
from paper_lib.methods.cluster_cca import ClusterCCA, cluster_covariances, make_cluster_cca
from paper_lib.methods.dcca import ClusterDCCA
from paper_lib.methods.kcca import ClusterKCCA
from paper_lib.methods.lstm import LSTMClusterCCA
from paper_lib.methods.tnn import TNNCCCA


def labelled_views(n: int = 60, d_a: int = 5, d_v: int = 4,
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Small paired views with unbalanced, non-contiguous, shuffled labels {-3, 5, 7, 11}."""
    rng = np.random.default_rng(seed)
    y = rng.choice(np.array([-3, 5, 7, 11]), size=n, p=[0.1, 0.2, 0.3, 0.4])
    classes, index = np.unique(y, return_inverse=True)
    mu_a = rng.normal(size=(classes.size, d_a))
    mu_v = rng.normal(size=(classes.size, d_v))
    Xa = mu_a[index] + 0.8 * rng.normal(size=(n, d_a)) + 2.0
    Xv = mu_v[index] + 0.8 * rng.normal(size=(n, d_v)) - 1.0
    return Xa, Xv, y


def expand_pairs(Xa: np.ndarray, Xv: np.ndarray,
                 y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The naive explicit list of all Σ_c n_c² within-class pairs (x ∈ X_c, y ∈ Y_c)."""
    rows_a, rows_v = [], []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        for i in members:
            for j in members:
                rows_a.append(Xa[i])
                rows_v.append(Xv[j])
    return np.array(rows_a), np.array(rows_v)


def naive_within_class_cross_cov(Xa_c: np.ndarray, Xv_c: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Σ over classes of Σ_{i,j∈c} x_i y_jᵀ / Σ n_c², written as the authors' repeat/tile loop."""
    corr = np.zeros((Xa_c.shape[1], Xv_c.shape[1]))
    num = 0
    for c in np.unique(y):
        xi, xj = Xa_c[y == c], Xv_c[y == c]
        n_c = xi.shape[0]
        corr += np.repeat(xi, n_c, axis=0).T @ np.tile(xj, (n_c, 1))
        num += n_c * n_c
    return corr / num


# -- the Rasiwasia variant is CCA on the explicit within-class pairs ---------------------------
def test_rasiwasia_covariances_equal_the_explicit_pair_expansion() -> None:
    Xa, Xv, y = labelled_views()
    Pa, Pv = expand_pairs(Xa, Xv, y)
    counts = np.unique(y, return_counts=True)[1]
    assert Pa.shape[0] == np.sum(counts ** 2)
    C_aa, C_vv, C_av, m_a, m_v = cluster_covariances(Xa, Xv, y, reg=0.01, variant="rasiwasia")
    E_aa, E_vv, E_av, e_a, e_v = paired_covariances(Pa, Pv, reg=0.01)
    np.testing.assert_allclose(m_a, e_a, atol=1e-12)
    np.testing.assert_allclose(m_v, e_v, atol=1e-12)
    np.testing.assert_allclose(C_aa, E_aa, atol=1e-12)
    np.testing.assert_allclose(C_vv, E_vv, atol=1e-12)
    np.testing.assert_allclose(C_av, E_av, atol=1e-12)


def test_rasiwasia_fit_equals_cca_on_the_expanded_pairs() -> None:
    Xa, Xv, y = labelled_views(seed=1)
    Pa, Pv = expand_pairs(Xa, Xv, y)
    reg = 1e-3
    ccca = ClusterCCA(n_components=3, variant="rasiwasia", reg=reg).fit(Xa, Xv, y)
    cca = CCA(n_components=3, reg=reg).fit(Pa, Pv)
    np.testing.assert_allclose(ccca.correlations_, cca.correlations_, atol=1e-10)
    np.testing.assert_allclose(ccca.weights_audio_, cca.weights_audio_, atol=1e-9)
    np.testing.assert_allclose(ccca.weights_visual_, cca.weights_visual_, atol=1e-9)
    Ta, Tv, _ = labelled_views(n=10, seed=9)
    for z_cluster, z_pairs in zip(ccca.transform(Ta, Tv), cca.transform(Ta, Tv), strict=True):
        np.testing.assert_allclose(z_cluster, z_pairs, atol=1e-9)


def test_paper_form_of_the_cross_covariance_with_class_means() -> None:
    """Σ_xy = (1/M) Σ_c n_c² (μ_x,c − m_x)(μ_y,c − m_y)ᵀ (class means μ, Rasiwasia 2014 eq. 3)."""
    Xa, Xv, y = labelled_views(seed=2)
    _, _, C_av, m_a, m_v = cluster_covariances(Xa, Xv, y, reg=0.0, variant="rasiwasia")
    classes, counts = np.unique(y, return_counts=True)
    M = np.sum(counts ** 2)
    expected = sum(n_c ** 2 * np.outer(Xa[y == c].mean(0) - m_a, Xv[y == c].mean(0) - m_v)
                   for c, n_c in zip(classes, counts, strict=True)) / M
    np.testing.assert_allclose(C_av, expected, atol=1e-12)


def test_one_clip_per_class_reduces_to_plain_cca() -> None:
    rng = np.random.default_rng(3)
    z = rng.normal(size=(40, 2))
    Xa = z @ rng.normal(size=(2, 5)) + 0.3 * rng.normal(size=(40, 5))
    Xv = z @ rng.normal(size=(2, 4)) + 0.3 * rng.normal(size=(40, 4))
    y = rng.permutation(40) * 3           # 40 distinct classes, one pair each
    ccca = ClusterCCA(n_components=3, variant="rasiwasia", reg=1e-3).fit(Xa, Xv, y)
    cca = CCA(n_components=3, reg=1e-3).fit(Xa, Xv)
    np.testing.assert_allclose(ccca.correlations_, cca.correlations_, atol=1e-10)
    np.testing.assert_allclose(ccca.weights_audio_, cca.weights_audio_, atol=1e-9)
    np.testing.assert_allclose(ccca.mean_visual_, cca.mean_visual_, atol=1e-12)


# -- the authors' beta variant ------------------------------------------------------------------
def test_beta_variant_matches_the_authors_loop_formula() -> None:
    Xa, Xv, y = labelled_views(seed=4)
    beta, reg = 0.2, 1e-4
    C_aa, C_vv, C_av, m_a, m_v = cluster_covariances(Xa, Xv, y, reg=reg, variant="beta",
                                                     beta=beta)
    Xa_c, Xv_c = Xa - Xa.mean(0), Xv - Xv.mean(0)
    n = Xa.shape[0]
    expected = beta * Xa_c.T @ Xv_c / n + (1 - beta) * naive_within_class_cross_cov(Xa_c, Xv_c, y)
    np.testing.assert_allclose(C_av, expected, atol=1e-12)
    np.testing.assert_allclose(C_aa, Xa_c.T @ Xa_c / n + reg * np.eye(5), atol=1e-12)
    np.testing.assert_allclose(m_v, Xv.mean(0), atol=1e-12)


def test_beta_one_is_plain_cca() -> None:
    Xa, Xv, y = labelled_views(seed=5)
    ccca = ClusterCCA(n_components=3, variant="beta", beta=1.0, reg=1e-3).fit(Xa, Xv, y)
    cca = CCA(n_components=3, reg=1e-3).fit(Xa, Xv)
    np.testing.assert_allclose(ccca.correlations_, cca.correlations_, atol=1e-12)
    np.testing.assert_allclose(ccca.weights_audio_, cca.weights_audio_, atol=1e-10)
    np.testing.assert_allclose(ccca.weights_visual_, cca.weights_visual_, atol=1e-10)


def test_balanced_beta_zero_equals_rasiwasia_cross_covariance() -> None:
    """With equal class sizes the pair-weighted and ordinary means coincide, so beta=0 gives the
    Rasiwasia Σ_xy (the Σ_xx differ only by the constant factor n_c / n_c = 1)."""
    Xa, Xv, _ = labelled_views(n=48, seed=6)
    y = np.repeat(np.arange(4), 12)
    r = cluster_covariances(Xa, Xv, y, reg=1e-3, variant="rasiwasia")
    b = cluster_covariances(Xa, Xv, y, reg=1e-3, variant="beta", beta=0.0)
    for got, want in zip(b, r, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-12)


# -- what Cluster-CCA is for -------------------------------------------------------------------
def nuisance_toy(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Views share a strong per-pair nuisance factor (not class related) and, weakly, the class.

    Plain CCA locks onto the nuisance (highest paired correlation); the within-class all-pairs
    cross-covariance averages the nuisance out, so Cluster-CCA recovers the class structure.
    """
    structure = np.random.default_rng(100)       # same class means / loadings for train and test
    n_classes, d_a, d_v = 5, 10, 10
    mu_a, mu_v = structure.normal(size=(n_classes, d_a)), structure.normal(size=(n_classes, d_v))
    load_a, load_v = structure.normal(size=(3, d_a)), structure.normal(size=(3, d_v))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, size=n)
    z = 3.0 * rng.normal(size=(n, 3))
    Xa = mu_a[y] + z @ load_a + rng.normal(size=(n, d_a))
    Xv = mu_v[y] + z @ load_v + rng.normal(size=(n, d_v))
    return Xa, Xv, y


def cross_modal_precision_at_10(Z_q: np.ndarray, Z_g: np.ndarray, y: np.ndarray) -> float:
    """Mean fraction of same-class items among the 10 cosine-nearest gallery items."""
    Z_q = Z_q / np.linalg.norm(Z_q, axis=1, keepdims=True)
    Z_g = Z_g / np.linalg.norm(Z_g, axis=1, keepdims=True)
    top = np.argsort(-(Z_q @ Z_g.T), axis=1)[:, :10]
    return float(np.mean(y[top] == y[:, None]))


@pytest.mark.parametrize("variant", ["rasiwasia", "beta"])
def test_cluster_cca_beats_cca_when_views_share_only_class_structure(variant: str) -> None:
    Xa, Xv, y = nuisance_toy(600, seed=1)
    Ta, Tv, ty = nuisance_toy(300, seed=2)
    cca = CCA(n_components=3).fit(Xa, Xv)
    ccca = ClusterCCA(n_components=3, variant=variant).fit(Xa, Xv, y)
    p_cca = cross_modal_precision_at_10(*cca.transform(Ta, Tv), ty)
    p_ccca = cross_modal_precision_at_10(*ccca.transform(Ta, Tv), ty)
    assert p_ccca > 0.5
    assert p_ccca > p_cca + 0.25, (p_cca, p_ccca)


# -- scale: class sums, never the pairs ---------------------------------------------------------
@pytest.mark.parametrize("variant", ["rasiwasia", "beta"])
def test_large_fit_never_builds_the_pairs(variant: str) -> None:
    """N = 20000, 10 classes: 4·10⁷ within-class pairs (~100 GB expanded). Peak memory of fit
    must stay at the O(N·d) level of the inputs (< 300 MB; an N×N float64 matrix alone is 3.2 GB)."""
    rng = np.random.default_rng(7)
    n = 20000
    y = rng.integers(0, 10, size=n)
    Xa = rng.normal(size=(n, 64)) + y[:, None] * 0.05
    Xv = rng.normal(size=(n, 256)) - y[:, None] * 0.05
    tracemalloc.start()
    try:
        model = ClusterCCA(n_components=10, variant=variant).fit(Xa, Xv, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 300e6, f"peak traced memory {peak / 1e6:.0f} MB"
    # Rasiwasia's centred within-class cross-covariance has rank <= C - 1 = 9: the 10th
    # direction has no correlation and is dropped; the β blend keeps all 10
    assert model.n_components_ == (9 if variant == "rasiwasia" else 10)
    assert model.weights_visual_.shape == (256, model.n_components_)
    # spot check on the class structure: C-CCA's first correlation is the class-level one
    Z_a, Z_v = model.transform(Xa[:2000], Xv[:2000])
    assert np.corrcoef(Z_a[:, 0], y[:2000])[0, 1] ** 2 > 0.5


# -- behaviour and errors -----------------------------------------------------------------------
def test_supervised_flag_and_transform_without_labels() -> None:
    Xa, Xv, y = labelled_views()
    assert ClusterCCA.supervised is True
    model = ClusterCCA(n_components=2).fit(Xa, Xv, y)
    Z_a, Z_v = model.transform(Xa)
    assert Z_v is None and Z_a.shape == (60, 2)
    np.testing.assert_allclose(Z_a, (Xa - model.mean_audio_) @ model.weights_audio_, atol=1e-12)


def test_row_permutation_gives_the_same_model() -> None:
    Xa, Xv, y = labelled_views(seed=8)
    perm = np.random.default_rng(0).permutation(60)
    for variant in ("rasiwasia", "beta"):
        a = ClusterCCA(n_components=3, variant=variant).fit(Xa, Xv, y)
        b = ClusterCCA(n_components=3, variant=variant).fit(Xa[perm], Xv[perm], y[perm])
        np.testing.assert_allclose(a.weights_audio_, b.weights_audio_, atol=1e-8)
        np.testing.assert_allclose(a.correlations_, b.correlations_, atol=1e-10)


def test_transform_before_fit_raises() -> None:
    Xa, Xv, _ = labelled_views()
    with pytest.raises(NotFittedError):
        ClusterCCA(n_components=2).transform(Xa, Xv)


@pytest.mark.parametrize("kwargs, labels, match", [
    ({}, None, "supervised: pass the class labels"),
    ({}, "single", "single class"),
    ({}, "short", "y must be a 1-d label vector"),
    ({}, "float", "integer class ids"),
    ({"variant": "rasiwasya"}, "ok", "variant must be one of"),
    ({"beta": 1.5}, "ok", "beta must be a number in"),
    ({"n_components": 6}, "ok", "larger than the narrower view"),
    ({"reg": -0.1}, "ok", "reg must be"),
])
def test_bad_inputs_raise_clear_value_errors(kwargs: dict, labels: str | None, match: str) -> None:
    Xa, Xv, y = labelled_views()
    given = {None: None, "single": np.zeros(60, dtype=int), "short": y[:-1],
             "float": y.astype(float), "ok": y}[labels]
    with pytest.raises(ValueError, match=match):
        ClusterCCA(**({"n_components": 2} | kwargs)).fit(Xa, Xv, given)


# -- one rule for the Cluster-CCA hyper-parameters, wherever a Cluster-CCA stage is used ----------
CLUSTER_STAGES = [
    (ClusterCCA, "variant"), (ClusterKCCA, "variant"), (ClusterDCCA, "variant"),
    (TNNCCCA, "ccca_variant"), (LSTMClusterCCA, "ccca_variant"),
]


@pytest.mark.parametrize("cls, variant_name", CLUSTER_STAGES)
@pytest.mark.parametrize("beta", [True, False, 1.5, -0.1, float("nan"), "0.2", None])
def test_bad_beta_is_rejected_by_every_cluster_method(cls, variant_name, beta) -> None:
    Xa, Xv, y = labelled_views()
    with pytest.raises(UserError, match=r"beta must be a number in \[0, 1\]"):
        cls(n_components=2, beta=beta).fit(Xa, Xv, y)


@pytest.mark.parametrize("cls, variant_name", CLUSTER_STAGES)
def test_bad_variant_is_rejected_by_every_cluster_method(cls, variant_name) -> None:
    Xa, Xv, y = labelled_views()
    with pytest.raises(UserError, match=rf"{variant_name} must be one of \('rasiwasia', 'beta'\)"):
        cls(n_components=2, **{variant_name: "rasiwasya"}).fit(Xa, Xv, y)


def test_make_cluster_cca_is_the_stage_of_the_composite_methods() -> None:
    stage = make_cluster_cca(3, "beta", 0.4, 1e-3, 7)
    assert isinstance(stage, ClusterCCA) and not hasattr(stage, "weights_audio_")
    assert stage.get_params() == ClusterCCA(n_components=3, variant="beta", beta=0.4, reg=1e-3,
                                            random_state=7).get_params()
