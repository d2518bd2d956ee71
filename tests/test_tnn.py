"""TNN-C-CCA: determinism, per-view transform, training behaviour, retrieval gain over C-CCA."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from paper_lib.errors import UserError
from paper_lib.methods._torch_utils import seeded, stratified_holdout, validation_map
from paper_lib.methods.base import NotFittedError
from paper_lib.methods.cluster_cca import ClusterCCA
from paper_lib.methods.tnn import TNNCCCA
from paper_lib.metrics.cross_modal import cross_modal_map
from paper_lib.metrics.retrieval import mean_average_precision
from paper_lib.metrics.similarity import similarity


def make_views(n: int, seed: int, n_classes: int = 10, n_sub: int = 3, latent: int = 6,
               noise: float = 0.35) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class-structured toy: each class = n_sub sub-clusters in a latent space, seen through a
    different non-linear map per view (tanh / sin) plus noise. The maps and centres are fixed
    (seed 1234); ``seed`` only draws the clips, so two calls give train/test of one world."""
    world = np.random.default_rng(1234)
    centers = world.normal(size=(n_classes, n_sub, latent)) * 1.5
    A, B = world.normal(size=(latent, 20)), world.normal(size=(latent, 30))
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    sub = rng.integers(0, n_sub, n)
    za = centers[y, sub] + noise * rng.normal(size=(n, latent))
    zv = centers[y, sub] + noise * rng.normal(size=(n, latent))
    Xa = np.tanh(za @ A / 2) + 0.1 * rng.normal(size=(n, 20))
    Xv = np.sin(zv @ B / 3) + 0.1 * rng.normal(size=(n, 30))
    return Xa, Xv, y


def class_map(Za: np.ndarray, Zv: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(A->V, V->A) cosine MAP with the project's metrics module."""
    S = similarity(Za, Zv, "cosine")
    return mean_average_precision(S, y, y), mean_average_precision(S.T, y, y)


@pytest.fixture(scope="module")
def small() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return make_views(300, seed=0)


FAST = dict(epochs=3, batch_size=40)


def test_same_seed_identical_embeddings_and_different_seed_differs(small):
    Xa, Xv, y = small
    Z1 = TNNCCCA(random_state=3, **FAST).fit_transform(Xa, Xv, y)
    Z2 = TNNCCCA(random_state=3, **FAST).fit_transform(Xa, Xv, y)
    Z3 = TNNCCCA(random_state=4, **FAST).fit_transform(Xa, Xv, y)
    assert np.array_equal(Z1[0], Z2[0]) and np.array_equal(Z1[1], Z2[1])
    assert not np.allclose(Z1[0], Z3[0])


def test_fit_leaves_global_torch_rng_untouched(small):
    Xa, Xv, y = small
    state = torch.get_rng_state()
    TNNCCCA(epochs=1).fit(Xa, Xv, y)
    assert torch.equal(state, torch.get_rng_state())


def test_transform_is_per_view(small):
    Xa, Xv, y = small
    model = TNNCCCA(**FAST).fit(Xa, Xv, y)
    Za, Zv = model.transform(Xa, Xv)
    Za_other, Zv_other = model.transform(Xa, np.random.default_rng(9).normal(size=Xv.shape))
    Za_alone, none = model.transform(Xa, None)
    assert none is None
    np.testing.assert_array_equal(Za, Za_other)
    np.testing.assert_array_equal(Za, Za_alone)
    assert not np.allclose(Zv, Zv_other)
    # a row's embedding does not depend on the other rows it is transformed with
    np.testing.assert_allclose(model.transform(None, Xv[:7])[1], Zv[:7], rtol=1e-6, atol=1e-7)


def test_branch_architecture_matches_paper(small):
    Xa, Xv, y = small
    model = TNNCCCA(epochs=1).fit(Xa, Xv, y)
    kinds = [type(m) for m in model.branch_audio_]
    assert kinds == [nn.Linear, nn.Tanh, nn.Dropout] * 3 + [nn.Linear, nn.Sigmoid]
    widths = [(m.in_features, m.out_features) for m in model.branch_audio_
              if isinstance(m, nn.Linear)]
    assert widths == [(10, 100), (100, 100), (100, 100), (100, 10)]
    assert model.branch_audio_ is not model.branch_visual_
    Za, Zv = model.transform(Xa, Xv)
    assert Za.shape == (300, 10) and ((Za > 0) & (Za < 1)).all()  # sigmoid outputs


def test_training_loss_decreases(small):
    Xa, Xv, y = small
    h = TNNCCCA(epochs=8).fit(Xa, Xv, y).history_
    assert [r["epoch"] for r in h] == list(range(1, 9))
    # the mean hinge over all mined triplets and the share of violated triplets fall; (the
    # optimised mean over *active* triplets need not, as easy triplets drop out of it)
    assert h[-1]["mean_hinge"] < 0.6 * h[0]["mean_hinge"]
    assert h[-1]["active_fraction"] < h[0]["active_fraction"]


def test_n_batches_overrides_batch_size(small):
    Xa, Xv, y = small
    model = TNNCCCA(epochs=1, batch_size=40, n_batches=7).fit(Xa, Xv, y)
    assert model.batch_size_ == int(np.ceil(300 / 7))


def test_beats_its_own_cluster_cca_stage_on_heldout_map():
    Xa, Xv, y = make_views(1500, seed=0)
    Ta, Tv, yt = make_views(500, seed=1)
    model = TNNCCCA(random_state=0).fit(Xa, Xv, y)  # the paper's settings (10 epochs, B = 40)
    ccca_map = class_map(*model.ccca_.transform(Ta, Tv), yt)
    tnn_map = class_map(*model.transform(Ta, Tv), yt)
    # the C-CCA stage alone is an ordinary ClusterCCA fitted on the same training rows
    ref = ClusterCCA(10, variant="beta", beta=0.2, reg=1e-4).fit(Xa, Xv, y)
    np.testing.assert_allclose(ref.transform(Ta, Tv)[0], model.ccca_.transform(Ta, Tv)[0])
    assert tnn_map[0] > ccca_map[0] + 0.1, (tnn_map, ccca_map)
    assert tnn_map[1] > ccca_map[1] + 0.1, (tnn_map, ccca_map)


@pytest.mark.parametrize("options", [
    dict(shared_branch=True), dict(symmetric=True), dict(order="tnn_first"),
    dict(mining="batch_hard"), dict(mining="random"),
    dict(order="tnn_first", shared_branch=True, n_components=5),
])
def test_options_run_and_learn_class_structure(small, options):
    Xa, Xv, y = small
    if options.get("shared_branch") and options.get("order") == "tnn_first":
        Xv = Xv[:, :20]  # the shared branch on raw features needs equal widths
    model = TNNCCCA(epochs=6, **options).fit(Xa[:200], Xv[:200], y[:200])
    Za, Zv = model.transform(Xa[200:], Xv[200:])
    d = options.get("n_components", 10)
    assert Za.shape == Zv.shape == (100, d) and np.isfinite(Za).all() and np.isfinite(Zv).all()
    if options.get("shared_branch"):
        assert model.branch_audio_ is model.branch_visual_
    # chance MAP for 10 balanced classes is about 0.1; every variant must learn much better
    assert min(class_map(Za, Zv, y[200:])) > 0.3


def test_validation_split_comes_from_training_rows_only(small):
    Xa, Xv, y = small
    model = TNNCCCA(epochs=3, validation_fraction=0.2, random_state=5).fit(Xa, Xv, y)
    assert all("val_map" in r for r in model.history_)
    best = max(range(3), key=lambda e: model.history_[e]["val_map"])
    assert model.best_epoch_ == best + 1
    # C-CCA saw only the non-validation training rows (same stratified split)
    train_idx, val_idx = stratified_holdout(y, 0.2, 5)
    assert np.bincount(y[val_idx]).tolist() == [6] * 10
    ref = ClusterCCA(10, variant="beta").fit(Xa[train_idx], Xv[train_idx], y[train_idx])
    np.testing.assert_allclose(ref.weights_audio_, model.ccca_.weights_audio_)


def test_bad_input_and_parameters_raise(small):
    Xa, Xv, y = small
    with pytest.raises(NotFittedError):
        TNNCCCA().transform(Xa, Xv)
    with pytest.raises(ValueError, match="supervised"):
        TNNCCCA().fit(Xa, Xv)
    with pytest.raises(ValueError, match="mining"):
        TNNCCCA(mining="semihard").fit(Xa, Xv, y)
    with pytest.raises(ValueError, match="order"):
        TNNCCCA(order="both").fit(Xa, Xv, y)
    with pytest.raises(ValueError, match="shared_branch"):
        TNNCCCA(order="tnn_first", shared_branch=True).fit(Xa, Xv, y)
    with pytest.raises(ValueError, match="out_dim"):
        TNNCCCA(order="tnn_first", n_components=12, out_dim=10).fit(Xa, Xv, y)
    model = TNNCCCA(epochs=1).fit(Xa, Xv, y)
    with pytest.raises(ValueError, match=r"X_visual has 20 columns \(features\)"):
        model.transform(None, Xa)


def test_seeded_seeds_but_leaves_the_thread_count_alone():
    before, state = torch.get_num_threads(), torch.get_rng_state()
    torch.set_num_threads(2)
    try:
        with seeded(11) as generator:
            assert torch.get_num_threads() == 2  # the thread policy is paper_lib.threads' job
            first = torch.rand(3)
            assert generator.initial_seed() == 12
    finally:
        torch.set_num_threads(before)
    assert torch.equal(torch.get_rng_state(), state)  # the caller's global RNG is untouched
    assert torch.equal(first, torch.rand(3, generator=torch.Generator().manual_seed(11)))


def test_validation_map_is_the_mean_of_the_shared_cross_modal_map(small):
    Xa, Xv, y = small
    Za, Zv = Xa[:, :10], Xv[:, :10]
    maps = cross_modal_map(Za, Zv, y, metric="cosine")
    assert validation_map(Za, Zv, y) == 0.5 * (maps["a2v"] + maps["v2a"])


def test_tnn_first_transform_is_per_view(small):
    Xa, Xv, y = small
    model = TNNCCCA(epochs=2, order="tnn_first", n_components=5).fit(Xa, Xv, y)
    Za, Zv = model.transform(Xa, Xv)
    assert Za.shape == Zv.shape == (300, 5)
    np.testing.assert_array_equal(model.transform(Xa, None)[0], Za)
    np.testing.assert_array_equal(
        model.transform(Xa, np.random.default_rng(1).normal(size=Xv.shape))[0], Za)
    np.testing.assert_array_equal(model.transform(None, Xv)[1], Zv)


@pytest.mark.parametrize("bad", [
    {"epochs": True}, {"hidden": 100.0}, {"dropout": 1.0}, {"margin": -0.5}, {"lr": True},
    {"n_batches": 0}, {"batch_size": None}, {"validation_fraction": 1.0}, {"random_state": 1.5},
    {"ccca_variant": "rasiwasya"},
])
def test_bad_hyperparameters_raise_user_errors_before_training(small, bad):
    Xa, Xv, y = small
    with pytest.raises(UserError, match=next(iter(bad))):
        TNNCCCA(**bad).fit(Xa, Xv, y)
