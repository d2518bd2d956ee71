"""DCCA and C-DCCA: the correlation objective against numpy/scipy, training behaviour, determinism."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.linalg
import torch

from paper_lib.errors import UserError
from paper_lib.methods import registry
from paper_lib.methods.base import NotFittedError
from paper_lib.methods.cca import cca_from_covariances, paired_covariances
from paper_lib.methods.cluster_cca import ClusterCCA, beta_covariances, rasiwasia_covariances
from paper_lib.methods.dcca import (
    DCCA,
    ClusterDCCA,
    beta_covariances_torch,
    paired_covariances_torch,
    rasiwasia_covariances_torch,
    total_correlation,
)
from paper_lib.metrics.retrieval import mean_average_precision
from paper_lib.metrics.similarity import similarity


def _batch(m: int = 60, o_a: int = 4, o_v: int = 6, seed: int = 0):
    rng = np.random.default_rng(seed)
    shared = rng.normal(size=(m, 3))
    Ha = shared @ rng.normal(size=(3, o_a)) + 0.7 * rng.normal(size=(m, o_a))
    Hv = shared @ rng.normal(size=(3, o_v)) + 0.7 * rng.normal(size=(m, o_v))
    y = rng.integers(0, 4, m)
    return Ha, Hv, y


def _t(X: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(X, dtype=torch.float64)


def _scipy_sum_of_canonical_correlations(C_aa, C_vv, C_av) -> float:
    """Independent route: ρ_i² are the eigenvalues of Σ_aa⁻¹ Σ_av Σ_vv⁻¹ Σ_va."""
    K = np.linalg.solve(C_aa, C_av) @ np.linalg.solve(C_vv, C_av.T)
    rho2 = np.clip(np.real(scipy.linalg.eigvals(K)), 0, None)
    return float(np.sqrt(rho2).sum())


@pytest.mark.parametrize("reg", [1e-4, 0.3])
def test_paired_objective_equals_numpy_sum_of_canonical_correlations(reg):
    Ha, Hv, _ = _batch()
    ours = float(total_correlation(*paired_covariances_torch(_t(Ha), _t(Hv), reg)))
    C_aa, C_vv, C_av, _, _ = paired_covariances(Ha, Hv, reg)
    _, _, rho = cca_from_covariances(C_aa, C_vv, C_av, d=4)
    np.testing.assert_allclose(ours, rho.sum(), rtol=1e-10)
    np.testing.assert_allclose(ours, _scipy_sum_of_canonical_correlations(C_aa, C_vv, C_av),
                               rtol=1e-8)
    assert 0 < ours < 4  # at most min(o_a, o_v) correlations, each < 1


def test_identical_views_give_total_correlation_o():
    Ha, _, _ = _batch()
    corr = float(total_correlation(*paired_covariances_torch(_t(Ha), _t(Ha), 1e-10)))
    np.testing.assert_allclose(corr, 4.0, rtol=1e-6)


def test_cluster_covariances_match_numpy_module_and_explicit_pairs():
    Ha, Hv, y = _batch(m=30)
    ours = rasiwasia_covariances_torch(_t(Ha), _t(Hv), torch.as_tensor(y), 1e-3)
    ref = rasiwasia_covariances(Ha, Hv, y, 1e-3)
    for a, b in zip(ours, ref[:3], strict=True):
        np.testing.assert_allclose(a.numpy(), b, rtol=1e-10, atol=1e-12)
    # naive: expand every within-class pair (x_i, y_j), y_i == y_j, and take the paired covariance
    pairs = [(i, j) for i, j in itertools.product(range(30), repeat=2) if y[i] == y[j]]
    i, j = np.array(pairs).T
    naive = paired_covariances(Ha[i], Hv[j], 1e-3)
    for a, b in zip(ours, naive[:3], strict=True):
        np.testing.assert_allclose(a.numpy(), b, rtol=1e-10, atol=1e-12)
    ours_b = beta_covariances_torch(_t(Ha), _t(Hv), torch.as_tensor(y), 1e-3, 0.2)
    ref_b = beta_covariances(Ha, Hv, y, 1e-3, 0.2)
    for a, b in zip(ours_b, ref_b[:3], strict=True):
        np.testing.assert_allclose(a.numpy(), b, rtol=1e-10, atol=1e-12)


def test_objective_gradient_matches_finite_differences():
    Ha, Hv, y = _batch(m=25, o_a=3, o_v=3)
    labels = torch.as_tensor(y)

    def paired(a, v):
        return total_correlation(*paired_covariances_torch(a, v, 1e-2))

    def cluster(a, v):
        return total_correlation(*rasiwasia_covariances_torch(a, v, labels, 1e-2))

    for f in (paired, cluster):
        assert torch.autograd.gradcheck(
            f, (_t(Ha).requires_grad_(True), _t(Hv).requires_grad_(True)), eps=1e-6, atol=1e-5)


# -- estimators ----------------------------------------------------------------------------------
def make_views(n: int, seed: int, n_classes: int = 5):
    """Two views sharing a non-linear latent signal and a class signal, plus noise dims."""
    world = np.random.default_rng(99)
    centers = world.normal(size=(n_classes, 3)) * 1.5
    P, Q = world.normal(size=(6, 16)), world.normal(size=(6, 24))
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    z = np.hstack([centers[y], rng.normal(size=(n, 3))])  # (n, 6): class part + shared part
    Xa = np.tanh(z @ P / 2) + 0.2 * rng.normal(size=(n, 16))
    Xv = np.sin(z @ Q / 3) + 0.2 * rng.normal(size=(n, 24))
    return Xa, Xv, y


FAST = dict(n_components=4, hidden=(64, 64), epochs=15, batch_size=200)


@pytest.fixture(scope="module")
def data():
    return make_views(600, seed=0)


def test_dcca_training_increases_training_correlation(data):
    Xa, Xv, y = data
    model = DCCA(**FAST).fit(Xa, Xv)
    corr = [r["train_correlation"] for r in model.history_]
    assert corr[-1] > model.initial_train_correlation_ + 0.5
    assert corr[-1] > corr[0]
    # the final linear CCA sees the trained outputs: its correlations are the objective's terms
    assert model.cca_.correlations_.sum() == pytest.approx(corr[-1], rel=1e-3)


def test_cluster_dcca_fit_transform_deterministic_and_per_view(data):
    Xa, Xv, y = data
    Ta, Tv, yt = make_views(200, seed=1)
    m1 = ClusterDCCA(random_state=2, **FAST).fit(Xa, Xv, y)
    m2 = ClusterDCCA(random_state=2, **FAST).fit(Xa, Xv, y)
    Z1, Z2 = m1.transform(Ta, Tv), m2.transform(Ta, Tv)
    assert np.array_equal(Z1[0], Z2[0]) and np.array_equal(Z1[1], Z2[1])
    assert Z1[0].shape == (200, 4)
    assert isinstance(m1.cca_, ClusterCCA)
    np.testing.assert_array_equal(m1.transform(Ta, None)[0], Z1[0])
    np.testing.assert_array_equal(m1.transform(Ta, Tv[::-1])[0], Z1[0])
    assert m1.history_[-1]["train_correlation"] > m1.initial_train_correlation_
    # supervised training separates the classes on held-out clips (chance MAP is about 0.2)
    S = similarity(*Z1, "cosine")
    assert mean_average_precision(S, yt, yt) > 0.5


def test_cluster_dcca_defaults_to_the_authors_beta_variant_in_loss_and_final_stage(data):
    """The authors' S-DCCA (objectives.py cca_loss(use_cluster=True, beta); MultiCCA.py /
    Category_DCCA.py linear_cca(..., True, ..., beta)) uses the β blend, β = 0.2, twice."""
    Xa, Xv, y = data
    assert ClusterDCCA().get_params()["variant"] == "beta" and ClusterDCCA().beta == 0.2
    assert registry.get_method("c_dcca").build(10, 0, 1).get_params()["variant"] == "beta"
    model = ClusterDCCA(**{**FAST, "epochs": 2}).fit(Xa, Xv, y)
    # the final stage
    assert model.cca_.variant == "beta" and model.cca_.beta == 0.2
    # the loss
    Ha_np, Hv_np, y_batch = _batch()
    Ha, Hv, labels = _t(Ha_np), _t(Hv_np), torch.as_tensor(y_batch)
    expected = total_correlation(*beta_covariances_torch(Ha, Hv, labels, 1e-4, 0.2))
    assert float(model.objective(Ha, Hv, labels)) == pytest.approx(float(expected), rel=1e-12)
    rasiwasia = total_correlation(*rasiwasia_covariances_torch(Ha, Hv, labels, 1e-4))
    assert float(model.objective(Ha, Hv, labels)) != pytest.approx(float(rasiwasia), rel=1e-6)


def test_cluster_dcca_rasiwasia_variant_is_the_option(data):
    Xa, Xv, y = data
    model = ClusterDCCA(variant="rasiwasia", **{**FAST, "epochs": 3}).fit(Xa, Xv, y)
    assert model.cca_.variant == "rasiwasia"
    assert np.isfinite(model.transform(Xa, Xv)[1]).all()


def test_bad_input_and_parameters_raise(data):
    Xa, Xv, y = data
    with pytest.raises(NotFittedError):
        DCCA().transform(Xa, Xv)
    with pytest.raises(ValueError, match="supervised"):
        ClusterDCCA(**FAST).fit(Xa, Xv)
    with pytest.raises(ValueError, match="out_dim"):
        DCCA(n_components=4, out_dim=3).fit(Xa, Xv)
    with pytest.raises(ValueError, match="variant"):
        ClusterDCCA(variant="other", **FAST).fit(Xa, Xv, y)
    with pytest.raises(ValueError, match="reg"):
        DCCA(reg=0.0, **FAST).fit(Xa, Xv)
    with pytest.raises(ValueError, match="rows"):
        DCCA(**FAST).fit(Xa, Xv[:10])


@pytest.mark.parametrize("bad", [
    {"lr": True}, {"epochs": 1.5}, {"hidden": (256, True)}, {"hidden": 256}, {"out_dim": 0},
    {"batch_size": 0}, {"reg": float("nan")}, {"random_state": "0"},
])
def test_bad_hyperparameters_raise_user_errors_before_training(data, bad):
    Xa, Xv, y = data
    with pytest.raises(UserError, match=next(iter(bad))):
        DCCA(**bad).fit(Xa, Xv)
