"""TNN-C-CCA: determinism, per-view transform, training behaviour, retrieval gain over C-CCA."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from paper_lib.errors import UserError
from paper_lib.methods._torch_utils import (
    largest_batch,
    minibatch_indices,
    resolve_n_batches,
    seeded,
    stratified_holdout,
    validation_map,
)
from paper_lib.methods.base import NotFittedError
from paper_lib.methods.cluster_cca import ClusterCCA
from paper_lib.methods.tnn import TNNCCCA, make_branch
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


def layer_list(branch: nn.Sequential) -> list[tuple[str, int | float | None]]:
    """(type, output width / dropout rate) of every layer, in order."""
    out: list[tuple[str, int | float | None]] = []
    for m in branch:
        if isinstance(m, nn.Linear):
            out.append(("Dense", m.out_features))
        elif isinstance(m, nn.Dropout):
            out.append(("Dropout", m.p))
        else:
            out.append((type(m).__name__, None))
    return out


#: the authors' branch (``create_network`` of triplet_ccca.py, ``create_an_network`` of
#: batch_all.py in github.com/ZenzenDatabase/CMR): Dense(100) tanh Dropout(0.1) x 3, then
#: Dense(10, activation='tanh'), Dropout(0.1), Activation("sigmoid")
AUTHORS_BRANCH = [("Dense", 100), ("Tanh", None), ("Dropout", 0.1)] * 3 + [
    ("Dense", 10), ("Tanh", None), ("Dropout", 0.1), ("Sigmoid", None)]


def test_branch_architecture_matches_the_authors_code(small):
    Xa, Xv, y = small
    model = TNNCCCA(epochs=1).fit(Xa, Xv, y)
    assert model.head == "tanh_sigmoid" and model.get_params()["head"] == "tanh_sigmoid"
    for branch in (model.branch_audio_, model.branch_visual_):
        assert layer_list(branch) == AUTHORS_BRANCH
        assert branch[0].in_features == model.n_components_ == 10
    assert model.branch_audio_ is not model.branch_visual_
    Za, Zv = model.transform(Xa, Xv)
    # sigmoid(tanh(.)) lies in (sigmoid(-1), sigmoid(1)) = (0.2689, 0.7311)
    lo, hi = 1 / (1 + np.e), 1 / (1 + np.exp(-1))
    assert Za.shape == (300, 10) and ((Za > lo) & (Za < hi)).all()
    assert ((Zv > lo) & (Zv < hi)).all()


def test_linear_sigmoid_head_is_the_option(small):
    Xa, Xv, y = small
    assert layer_list(make_branch(10, 100, 3, 10, 0.1, head="linear_sigmoid")) == (
        [("Dense", 100), ("Tanh", None), ("Dropout", 0.1)] * 3 + [("Dense", 10), ("Sigmoid", None)])
    assert layer_list(make_branch(10, 100, 3, 10, 0.0)) == (
        [("Dense", 100), ("Tanh", None)] * 3 + [("Dense", 10), ("Tanh", None), ("Sigmoid", None)])
    model = TNNCCCA(epochs=1, head="linear_sigmoid").fit(Xa, Xv, y)
    assert layer_list(model.branch_visual_)[-2:] == [("Dense", 10), ("Sigmoid", None)]
    Za, _ = model.transform(Xa, Xv)
    assert ((Za > 0) & (Za < 1)).all()
    with pytest.raises(UserError, match="head must be one of"):
        TNNCCCA(head="relu").fit(Xa, Xv, y)


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
    assert model.batch_size_ == int(np.ceil(300 / 7)) and model.n_batches_ == 7


def test_n_batches_is_exactly_the_number_of_batches_at_vegas_size():
    """The paper's batch number 600 on N = 22,483 training clips: 600 near-equal batches of 37
    or 38 clips (the authors' np.array_split), not ceil(N / ceil(N / 600)) = 592."""
    n = 22_483
    k = resolve_n_batches(n, 40, 600)
    assert k == 600 and largest_batch(n, k) == 38
    with seeded(0) as generator:
        chunks = minibatch_indices(n, k, generator)
    assert len(chunks) == 600 and {len(c) for c in chunks} == {37, 38}
    assert np.array_equal(np.sort(np.concatenate([c.numpy() for c in chunks])), np.arange(n))
    assert [len(c) for c in chunks] == [len(c) for c in np.array_split(np.arange(n), 600)]
    # without n_batches: ceil(N / batch_size) batches, as before
    assert resolve_n_batches(n, 40, None) == 563
    assert resolve_n_batches(30, 40, None) == 1 and resolve_n_batches(30, 40, 100) == 30


def test_the_estimator_takes_exactly_n_batches_steps_per_epoch(small, monkeypatch):
    """N = 100, n_batches = 40: ceil(100 / 40) = 3 clips per batch would give only 34 batches."""
    Xa, Xv, y = small
    steps: list[int] = []
    original = torch.optim.Adam.step

    def counting_step(self, *args, **kwargs):
        steps.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", counting_step)
    TNNCCCA(epochs=2, n_batches=40).fit(Xa[:100], Xv[:100], y[:100])
    assert len(steps) == 2 * 40


def test_beats_its_own_cluster_cca_stage_on_heldout_map():
    Xa, Xv, y = make_views(1500, seed=0)
    Ta, Tv, yt = make_views(500, seed=1)
    model = TNNCCCA(random_state=0).fit(Xa, Xv, y)  # the paper's settings (10 epochs, B = 40)
    ccca_map = class_map(*model.ccca_.transform(Ta, Tv), yt)
    tnn_map = class_map(*model.transform(Ta, Tv), yt)
    # the C-CCA stage alone is an ordinary ClusterCCA fitted on the same training rows
    ref = ClusterCCA(10, variant="beta", beta=0.2, reg=1e-4).fit(Xa, Xv, y)
    np.testing.assert_allclose(ref.transform(Ta, Tv)[0], model.ccca_.transform(Ta, Tv)[0])
    # the authors' tanh -> sigmoid head squeezes the outputs into (0.27, 0.73) and learns more
    # slowly on this toy (about +0.07 MAP after 10 epochs; the linear -> sigmoid head: +0.2)
    assert tnn_map[0] > ccca_map[0] + 0.04, (tnn_map, ccca_map)
    assert tnn_map[1] > ccca_map[1] + 0.04, (tnn_map, ccca_map)
    linear = TNNCCCA(random_state=0, head="linear_sigmoid").fit(Xa, Xv, y)
    linear_map = class_map(*linear.transform(Ta, Tv), yt)
    assert linear_map[0] > ccca_map[0] + 0.1 and linear_map[1] > ccca_map[1] + 0.1


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


def test_tnn_first_picks_the_best_epoch_on_the_final_embedding(small):
    """order="tnn_first": an epoch's validation MAP is that of the FINAL embedding (branch
    outputs through a C-CCA stage fitted on the training rows), so the restored best epoch's
    model scores exactly its recorded val_map on the validation rows."""
    Xa, Xv, y = small
    model = TNNCCCA(epochs=4, order="tnn_first", n_components=5, validation_fraction=0.2,
                    random_state=1).fit(Xa, Xv, y)
    _, val_idx = stratified_holdout(y, 0.2, 1)
    Za, Zv = model.transform(Xa[val_idx], Xv[val_idx])
    assert Za.shape == (val_idx.size, 5)
    best = model.history_[model.best_epoch_ - 1]
    assert best["val_map"] == max(r["val_map"] for r in model.history_)
    assert validation_map(Za, Zv, y[val_idx]) == pytest.approx(best["val_map"], abs=1e-9)


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
