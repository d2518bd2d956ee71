"""Directions whose canonical correlation is numerically zero are dropped (one tolerance,
``cca.ZERO_CORRELATION_RTOL``), and every estimator reports the directions it kept as
``n_components_`` (for the composite methods: the effective d of their CCA stage)."""

from __future__ import annotations

import numpy as np
import pytest

from paper_lib.methods import registry
from paper_lib.methods._linalg import numerical_rank
from paper_lib.methods.cca import CCA, ZERO_CORRELATION_RTOL, cca_from_covariances
from paper_lib.methods.cluster_cca import ClusterCCA
from paper_lib.methods.dcca import DCCA, ClusterDCCA
from paper_lib.methods.kcca import KCCA, ClusterKCCA
from paper_lib.methods.lstm import LSTMClusterCCA
from paper_lib.methods.tnn import TNNCCCA

N_CLASSES = 10


def ten_class_views(n: int = 400, d_a: int = 16, d_v: int = 12,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """10 classes (balanced), class means plus full-rank noise in each view."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % N_CLASSES
    mu_a, mu_v = rng.normal(size=(N_CLASSES, d_a)), rng.normal(size=(N_CLASSES, d_v))
    Xa = mu_a[y] + 0.7 * rng.normal(size=(n, d_a))
    Xv = mu_v[y] + 0.7 * rng.normal(size=(n, d_v))
    return Xa, Xv, y


@pytest.fixture(scope="module")
def views() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return ten_class_views()


def test_the_one_tolerance_is_relative_and_small() -> None:
    assert ZERO_CORRELATION_RTOL == 1e-6


# -- the solver ----------------------------------------------------------------------------------
def test_solver_drops_zero_correlations_unless_asked_not_to() -> None:
    rng = np.random.default_rng(1)
    C_aa, C_vv = np.eye(5), np.eye(4)
    C_av = rng.normal(size=(5, 2)) @ rng.normal(size=(2, 4)) * 0.1     # rank 2
    W_a, W_v, rho = cca_from_covariances(C_aa, C_vv, C_av, 4)
    assert rho.shape == (2,) and W_a.shape == (5, 2) and W_v.shape == (4, 2)
    W_a, W_v, rho = cca_from_covariances(C_aa, C_vv, C_av, 4, zero_rtol=None)
    assert rho.shape == (4,) and W_a.shape == (5, 4)
    assert rho[2:].max() <= ZERO_CORRELATION_RTOL * rho[0]
    # asking for fewer than the non-zero ones keeps what was asked
    assert cca_from_covariances(C_aa, C_vv, C_av, 1)[2].shape == (1,)
    # nothing correlates at all: one (arbitrary) direction is kept, never zero columns
    W_a, _, rho = cca_from_covariances(C_aa, C_vv, np.zeros((5, 4)), 3)
    assert W_a.shape == (5, 1) and rho.shape == (1,)


# -- the closed-form estimators ------------------------------------------------------------------
def test_rasiwasia_with_d_above_c_minus_1_keeps_c_minus_1_directions(views) -> None:
    Xa, Xv, y = views
    model = ClusterCCA(n_components=10, variant="rasiwasia").fit(Xa, Xv, y)
    assert model.n_components_ == N_CLASSES - 1
    assert model.correlations_.shape == (N_CLASSES - 1,)
    assert model.weights_audio_.shape == (16, 9) and model.weights_visual_.shape == (12, 9)
    assert numerical_rank(model.correlations_, ZERO_CORRELATION_RTOL) == 9   # only real ones
    Za, Zv = model.transform(Xa, Xv)
    assert Za.shape == Zv.shape == (400, 9)
    # the option keeps all d, and the 10th correlation is (numerically) zero
    full = ClusterCCA(n_components=10, variant="rasiwasia", drop_zero_correlations=False)
    full.fit(Xa, Xv, y)
    assert full.n_components_ == 10
    assert full.correlations_[9] <= ZERO_CORRELATION_RTOL * full.correlations_[0]
    np.testing.assert_allclose(full.correlations_[:9], model.correlations_, rtol=1e-12)
    np.testing.assert_allclose(full.transform(Xa, None)[0][:, :9], Za, atol=1e-10)
    assert "drop_zero_correlations" in model.get_params()


@pytest.mark.parametrize("make", [
    lambda: CCA(n_components=10),
    lambda: ClusterCCA(n_components=10, variant="beta", beta=0.2),
    lambda: KCCA(n_components=10, approx="exact"),
], ids=["cca", "c_cca_beta", "kcca"])
def test_full_rank_data_keeps_all_d_directions(views, make) -> None:
    Xa, Xv, y = views
    model = make().fit(Xa, Xv, y)
    assert model.n_components_ == 10 and model.correlations_.shape == (10,)
    assert model.transform(Xa, None)[0].shape == (400, 10)


def test_cluster_kcca_rasiwasia_keeps_c_minus_1(views) -> None:
    Xa, Xv, y = views
    model = ClusterKCCA(n_components=10, approx="exact").fit(Xa, Xv, y)
    assert model.variant == "rasiwasia" and model.n_components_ == 9
    assert model.correlations_.shape == (9,)
    assert model.transform(Xa, Xv)[1].shape == (400, 9)


@pytest.mark.parametrize("cls", [CCA, ClusterCCA, KCCA, ClusterKCCA])
def test_the_flag_must_be_a_bool(views, cls) -> None:
    Xa, Xv, y = views
    with pytest.raises(ValueError, match="drop_zero_correlations must be True or False"):
        cls(n_components=2, drop_zero_correlations=1).fit(Xa, Xv, y)


# -- the composite methods: the effective d of their CCA stage -----------------------------------
def test_cluster_dcca_reports_its_final_stage_effective_d(views) -> None:
    Xa, Xv, y = views
    model = ClusterDCCA(n_components=10, variant="rasiwasia", hidden=(32,), epochs=1,
                        batch_size=200).fit(Xa, Xv, y)
    assert model.n_components_ == model.cca_.n_components_ == 9
    assert model.transform(Xa, Xv)[0].shape == (400, 9)
    plain = DCCA(n_components=10, hidden=(32,), epochs=1, batch_size=200).fit(Xa, Xv)
    assert plain.n_components_ == plain.cca_.n_components_ == 10


@pytest.mark.parametrize("order", ["ccca_first", "tnn_first"])
def test_tnn_reports_the_effective_d_and_its_branches_take_it(views, order) -> None:
    Xa, Xv, y = views
    model = TNNCCCA(n_components=10, ccca_variant="rasiwasia", order=order, epochs=1)
    model.fit(Xa, Xv, y)
    assert model.n_components_ == model.ccca_.n_components_ == 9
    Za, Zv = model.transform(Xa, Xv)
    if order == "ccca_first":
        assert model.branch_audio_[0].in_features == model.branch_visual_[0].in_features == 9
        assert Za.shape == (400, 10)                      # the branch outputs
    else:
        assert Za.shape == Zv.shape == (400, 9)           # the C-CCA stage on the outputs


def test_lstm_reports_the_effective_d() -> None:
    rng = np.random.default_rng(2)
    n, T = 200, 5
    y = np.arange(n) % N_CLASSES
    Xa = rng.normal(size=(N_CLASSES, 1, 6))[y] + 0.5 * rng.normal(size=(n, T, 6))
    Xv = rng.normal(size=(N_CLASSES, 1, 7))[y] + 0.5 * rng.normal(size=(n, T, 7))
    model = LSTMClusterCCA(n_components=10, hidden=16, epochs=1, ccca_variant="rasiwasia")
    model.fit(Xa, Xv, y)
    assert model.n_components_ == model.ccca_.n_components_ == 9
    assert model.transform(Xa, None)[0].shape == (n, 9)


#: methods on clip-level features (lstm_c_cca reads sequences, ave_net raw media and keeps its
#: paper's 128-d embedding whatever d is asked)
FEATURE_METHODS = [m for m in registry.METHODS if m not in ("lstm_c_cca", "ave_net")]


@pytest.mark.parametrize("name", FEATURE_METHODS)
def test_every_registered_method_fits_d_10_on_10_classes(views, name) -> None:
    """What the runner asks for (d = 10 on 10 classes) never fails; n_components_ says what
    was kept (C − 1 = 9 where Rasiwasia's all-pairs covariance is used)."""
    Xa, Xv, y = views
    model = registry.get_method(name).build(10, 0, 1).fit(Xa, Xv, y)
    expected = 9 if name in ("c_cca_rasiwasia", "c_kcca") else 10
    if model.retrieval_metric == "hamming":   # a hashing method's size is its code length
        expected = model.get_params()["n_bits"]
    assert model.n_components_ == expected
