"""VM-NET: the losses' mathematics (by hand on 3-item batches), training, retrieval above chance,
the structure constraint's measurable effect, label-freeness, determinism, per-view transform
and the API's errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from paper_lib.data.registry import load_dataset
from paper_lib.errors import UserError
from paper_lib.methods._torch_utils import to_tensor
from paper_lib.methods.base import NotFittedError
from paper_lib.methods.vm_net import (
    HISTORY_KEYS,
    VMNet,
    cosine_distances,
    inter_modal_loss,
    structure_loss,
)
from paper_lib.metrics.cross_modal import cross_modal_map, scores
from paper_lib.metrics.retrieval import recall_at_k_true_pair

FAST = dict(hidden=(32,), epochs=2, batch_size=64)


@pytest.fixture(scope="module")
def data():
    """4 classes x 100 clips whose two views share a clip-level latent (difficulty 0: clear
    signal); fold 0 (80 clips) is held out."""
    ds = load_dataset("synthetic", n_classes=4, n_per_class=100, d_audio=16, d_visual=24,
                      max_seconds=3, difficulty=0.0, use_cache=False)
    split = next(iter(ds.splits([0])))
    return ds, split.train, split.test


@pytest.fixture(scope="module")
def train(data):
    ds, tr, _ = data
    return ds.audio[tr], ds.visual[tr], ds.labels[tr]


@pytest.fixture(scope="module")
def fitted(train) -> VMNet:
    Xa, Xv, _ = train
    return VMNet(hidden=(64,), epochs=15, batch_size=64, random_state=0).fit(Xa, Xv)


def _t(rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64)


# -- the losses, by hand ---------------------------------------------------------------------
# three unit embeddings per view; D_ij = 1 - a_i . v_j:
#   a0.v = (0.8, 0, -1), a1.v = (0.6, 1, 0), a2.v = (0.96, 0.8, -0.6)
#   D = [[0.2, 1.0, 2.0], [0.4, 0.0, 1.0], [0.04, 0.2, 1.6]]
ZA = [[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]]
ZV = [[0.8, 0.6], [0.0, 1.0], [-1.0, 0.0]]


def test_cosine_distances():
    D = cosine_distances(_t(ZA), _t(ZV) * 3.0)              # the scale of a row does not matter
    expected = [[0.2, 1.0, 2.0], [0.4, 0.0, 1.0], [0.04, 0.2, 1.6]]
    np.testing.assert_allclose(D.numpy(), expected, atol=1e-12)


def test_inter_modal_loss_by_hand_on_three_pairs():
    margin = 0.5
    # a->v, every negative (K = 2): row 0: max(0, .5+.2-1), max(0, .5+.2-2) = 0, 0
    #   row 1: max(0, .5+0-.4) = .1, max(0, .5-1) = 0;  row 2: .5+1.6-.04 = 2.06, .5+1.6-.2 = 1.9
    # v->a (columns): col 0: .5+.2-.4 = .3, .5+.2-.04 = .66;  col 1: 0, .5+0-.2 = .3
    #   col 2: .5+1.6-2 = .1, .5+1.6-1 = 1.1
    a2v, v2a = inter_modal_loss(_t(ZA), _t(ZV), margin, top_k=None)
    assert float(a2v) == pytest.approx((0.1 + 2.06 + 1.9) / 6)
    assert float(v2a) == pytest.approx((0.3 + 0.66 + 0.3 + 0.1 + 1.1) / 6)
    # K = 1: only the most violating (nearest) negative of each query
    a2v, v2a = inter_modal_loss(_t(ZA), _t(ZV), margin, top_k=1)
    assert float(a2v) == pytest.approx((0.0 + 0.1 + 2.06) / 3)
    assert float(v2a) == pytest.approx((0.66 + 0.3 + 1.1) / 3)
    # K beyond the batch is clipped to m - 1 = every negative
    for big, every in zip(inter_modal_loss(_t(ZA), _t(ZV), margin, top_k=50),
                          inter_modal_loss(_t(ZA), _t(ZV), margin, top_k=None), strict=True):
        assert float(big) == pytest.approx(float(every))
    # well-separated pairs: no violation, no loss
    eye = torch.eye(3, dtype=torch.float64)
    assert [float(x) for x in inter_modal_loss(eye, eye, 0.1, top_k=None)] == [0.0, 0.0]


# inputs X and embeddings Z of three items (cosine distances):
#   δ01 = 1 - 1/√2, δ02 = 1, δ12 = 1 - 1/√2;   Δ01 = 1, Δ02 = 0.4, Δ12 = 0.2
# consecutive pairs (0, 1), (1, 2); triplets without the anchor: (i=0; 1, 2) and (i=2; 0, 1)
X3 = [[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]


def test_structure_loss_by_hand_on_three_items():
    # (i=0; 1, 2): inputs put 1 nearer (sgn(δ01 - δ02) = -1), the embedding 2 (sgn(Δ01 - Δ02)
    #   = +1): (-1 - 1)·(Δ02 - Δ01) = -2·(0.4 - 1) = 1.2 = 2·max(0, Δ01 - Δ02)
    # (i=2; 0, 1): inputs and embedding both put 1 nearer (+1, +1): 0
    assert float(structure_loss(_t(X3), _t(ZA))) == pytest.approx((1.2 + 0.0) / 2)
    # P = 1: only the pair (0, 1), whose one valid triplet is (i=2; 0, 1)
    assert float(structure_loss(_t(X3), _t(ZA), n_pairs=1)) == 0.0
    # the sign factors are constants: the loss is (-2)·(Δ02 - Δ01) / 2 = Δ01 - Δ02 near Z
    Z = _t(ZA).requires_grad_(True)
    (grad,) = torch.autograd.grad(structure_loss(_t(X3), Z), Z)
    Z2 = _t(ZA).requires_grad_(True)
    D = cosine_distances(Z2, Z2)
    (expected,) = torch.autograd.grad(D[0, 1] - D[0, 2], Z2)
    torch.testing.assert_close(grad, expected)


def test_structure_loss_is_zero_when_the_embedding_keeps_the_input_order():
    rng = np.random.default_rng(0)
    X = _t(rng.normal(size=(30, 5)))
    Q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    Z = _t(rng.uniform(0.5, 2.0, size=(30, 1))) * (X @ _t(Q))   # rotated, rows rescaled
    assert float(structure_loss(X, Z)) == pytest.approx(0.0, abs=1e-12)
    assert float(structure_loss(X, X, n_pairs=4)) == 0.0
    # an embedding unrelated to the inputs reverses about half the orders
    assert float(structure_loss(X, _t(rng.normal(size=(30, 5))))) > 0.05
    # a batch of two has no triplet
    assert float(structure_loss(X[:2], X[:2] + 1.0)) == 0.0


# -- training --------------------------------------------------------------------------------
def test_training_loss_decreases_and_the_history_adds_up(fitted):
    h = fitted.loss_history_
    assert [r["epoch"] for r in h] == list(range(1, 16))
    assert set(h[0]) == {"epoch", *HISTORY_KEYS}
    assert h[-1]["loss"] < 0.6 * h[0]["loss"]
    assert h[-1]["inter_a2v"] < 0.6 * h[0]["inter_a2v"]
    assert h[-1]["inter_v2a"] < 0.6 * h[0]["inter_v2a"]
    for r in h:                                              # eq. (4) with the default weights
        assert r["loss"] == pytest.approx(3.0 * r["inter_a2v"] + r["inter_v2a"] + 0.2 * (
            r["structure_audio"] + r["structure_visual"]), rel=1e-6)
    assert (fitted.n_components_, fitted.n_batches_, fitted.batch_size_) == (10, 5, 64)


def test_embeddings_beat_chance_on_held_out_clips(fitted, data):
    ds, _, te = data
    Za, Zv = fitted.transform(ds.audio[te], ds.visual[te])
    assert Za.shape == Zv.shape == (80, 10) and Za.dtype == np.float64
    np.testing.assert_allclose(np.linalg.norm(Za, axis=1), 1.0, rtol=1e-5)   # L2-normalised
    maps = cross_modal_map(Za, Zv, ds.labels[te])
    assert maps["a2v"] > 0.45 and maps["v2a"] > 0.45        # chance ≈ 0.25 (4 balanced classes)
    for direction in ("a2v", "v2a"):                         # chance: 10 / 80 = 0.125
        assert recall_at_k_true_pair(scores(Za, Zv, direction), 10) > 0.5


def test_the_structure_term_keeps_the_input_order_on_held_out_clips(train, data):
    """Eq. (3) measured on held-out rows is lower, in both modalities, when it is trained."""
    ds, _, te = data
    Xa, Xv, _ = train
    measured = {}
    for weight in (0.0, 2.0):
        model = VMNet(hidden=(64,), epochs=10, batch_size=64, lambda_structure=weight).fit(Xa, Xv)
        Za, Zv = model.transform(ds.audio[te], ds.visual[te])
        measured[weight] = [
            float(structure_loss(to_tensor(model.scaler_audio_.transform(ds.audio[te])),
                                 to_tensor(Za))),
            float(structure_loss(to_tensor(model.scaler_visual_.transform(ds.visual[te])),
                                 to_tensor(Zv)))]
    assert all(on < off for on, off in zip(measured[2.0], measured[0.0], strict=True)), measured


def test_labels_do_not_influence_the_fit(train):
    Xa, Xv, y = train
    perm = np.random.default_rng(5).permutation(y)
    Z1 = VMNet(**FAST).fit(Xa, Xv, y).transform(Xa, Xv)
    Z2 = VMNet(**FAST).fit(Xa, Xv, perm).transform(Xa, Xv)
    Z3 = VMNet(**FAST).fit(Xa, Xv).transform(Xa, Xv)
    for Z in (Z2, Z3):
        np.testing.assert_array_equal(Z1[0], Z[0])
        np.testing.assert_array_equal(Z1[1], Z[1])
    assert VMNet.supervised is False and VMNet().retrieval_metric is None


def test_same_seed_identical_different_seed_differs(train):
    Xa, Xv, _ = train
    Z1 = VMNet(random_state=3, **FAST).fit_transform(Xa, Xv)
    Z2 = VMNet(random_state=3, **FAST).fit_transform(Xa, Xv)
    Z3 = VMNet(random_state=4, **FAST).fit_transform(Xa, Xv)
    assert np.array_equal(Z1[0], Z2[0]) and np.array_equal(Z1[1], Z2[1])
    assert not np.allclose(Z1[0], Z3[0])


def test_fit_leaves_global_torch_rng_untouched(train):
    Xa, Xv, _ = train
    state = torch.get_rng_state()
    VMNet(epochs=1, hidden=(8,)).fit(Xa, Xv)
    assert torch.equal(state, torch.get_rng_state())


def test_transform_is_per_view(fitted, train):
    Xa, Xv, _ = train
    Za, Zv = fitted.transform(Xa, Xv)
    Za_other, Zv_other = fitted.transform(Xa, np.random.default_rng(9).normal(size=Xv.shape))
    Za_alone, none = fitted.transform(Xa, None)
    assert none is None
    np.testing.assert_array_equal(Za, Za_other)
    np.testing.assert_array_equal(Za, Za_alone)
    assert not np.allclose(Zv, Zv_other)
    np.testing.assert_allclose(fitted.transform(None, Xv[:7])[1], Zv[:7], rtol=1e-5, atol=1e-6)


# -- errors ----------------------------------------------------------------------------------
def test_transform_before_fit_raises(train):
    with pytest.raises(NotFittedError):
        VMNet().transform(train[0], train[1])


@pytest.mark.parametrize("bad", [
    {"n_components": 0}, {"hidden": (64, 0)}, {"hidden": 64}, {"dropout": 1.0},
    {"margin": -0.1}, {"top_k": 0}, {"top_k": 2.5}, {"n_structure_pairs": 0},
    {"lambda_a2v": -1.0}, {"lambda_v2a": float("nan")}, {"lambda_structure": "0.2"},
    {"epochs": 1.5}, {"lr": 0.0}, {"batch_size": 1}, {"random_state": "0"},
])
def test_bad_hyperparameters_raise_user_errors_naming_them(train, bad):
    Xa, Xv, _ = train
    with pytest.raises(UserError, match=next(iter(bad))):
        VMNet(**bad).fit(Xa, Xv)


def test_the_ranking_terms_cannot_both_be_switched_off(train):
    with pytest.raises(UserError, match="lambda_a2v and lambda_v2a"):
        VMNet(lambda_a2v=0.0, lambda_v2a=0.0).fit(train[0], train[1])
    VMNet(lambda_a2v=0.0, lambda_structure=0.0, epochs=1, hidden=(8,)).fit(train[0], train[1])


def test_minibatches_need_two_pairs(train):
    Xa, Xv, _ = train
    with pytest.raises(UserError, match="batch_size"):
        VMNet(n_components=2, batch_size=2).fit(Xa[:5], Xv[:5])   # batches of 2, 2 and 1
    model = VMNet(n_components=2, batch_size=2, epochs=1, hidden=(8,)).fit(Xa[:4], Xv[:4])
    assert model.n_batches_ == 2


def test_bad_inputs_raise_user_errors(train):
    Xa, Xv, y = train
    with pytest.raises(UserError, match="rows"):
        VMNet(**FAST).fit(Xa, Xv[:10])
    with pytest.raises(UserError, match="y must"):
        VMNet(**FAST).fit(Xa, Xv, y[:10])
    model = VMNet(epochs=1, hidden=(8,)).fit(Xa, Xv)
    with pytest.raises(UserError, match="columns"):
        model.transform(Xv, None)
