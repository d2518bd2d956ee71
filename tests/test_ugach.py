"""UGACH: correlation graph, hashing outputs, label-free fit, retrieval, the generator's game."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from paper_lib.errors import UserError
from paper_lib.methods._hashing import DEFAULT_CODE_LENGTH, sign_codes
from paper_lib.methods._torch_utils import predict
from paper_lib.methods.base import NotFittedError
from paper_lib.methods.ugach import (
    UGACH,
    TwoPathwayHasher,
    correlation_graph,
    knn_indices,
    reward_of,
    squared_distances,
    triplet_hinge,
)
from paper_lib.metrics.cross_modal import cross_modal_map


def make_views(n: int, seed: int, n_classes: int = 10, n_sub: int = 3, latent: int = 6,
               noise: float = 0.35) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class-structured toy (as in test_tnn.py): each class = n_sub sub-clusters in a latent
    space, seen through a different non-linear map per view plus noise. The maps and centres are
    fixed (seed 1234); ``seed`` only draws the clips, so two calls give train/test of one world."""
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


@pytest.fixture(scope="module")
def train() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return make_views(400, seed=0)


@pytest.fixture(scope="module")
def heldout() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return make_views(300, seed=1)


#: small and fast: 32-bit codes, 64 hidden units
FAST = dict(n_bits=32, hidden=64)


@pytest.fixture(scope="module")
def fitted(train) -> UGACH:
    Xa, Xv, _ = train
    return UGACH(epochs=6, random_state=0, **FAST).fit(Xa, Xv)


@pytest.fixture(scope="module")
def fitted_without_generator(train) -> UGACH:
    Xa, Xv, _ = train
    return UGACH(epochs=6, random_state=0, adversarial=False, **FAST).fit(Xa, Xv)


def hamming(Za: np.ndarray, Zv: np.ndarray) -> np.ndarray:
    """(n_a, n_v) Hamming distances of ±1 codes."""
    return (Za[:, None, :] != Zv[None, :, :]).sum(axis=-1)


# -- the correlation graph (eq. 2) ---------------------------------------------------------------
def test_knn_indices_match_brute_force():
    X = np.random.default_rng(0).normal(size=(40, 3))
    D = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(D, np.inf)
    expected = np.argsort(D, axis=1)[:, :4]
    np.testing.assert_array_equal(np.sort(knn_indices(X, 4), axis=1), np.sort(expected, axis=1))


def test_correlation_graph_is_self_plus_the_union_of_both_modalities_knn():
    rng = np.random.default_rng(1)
    Xa, Xv = rng.normal(size=(30, 4)), rng.normal(size=(30, 6))
    neighbours, counts = correlation_graph(Xa, Xv, 3)
    ka, kv = knn_indices(Xa, 3), knn_indices(Xv, 3)
    assert neighbours.shape == (30, 7)
    for i in range(30):
        expected = sorted({i} | set(ka[i]) | set(kv[i]))
        assert counts[i] == len(expected)
        assert neighbours[i, :counts[i]].tolist() == expected
        assert (neighbours[i, counts[i]:] == i).all()  # padding is the row itself
    assert 4 <= counts.min() and counts.max() <= 7


def test_graph_is_fitted_on_the_training_rows(fitted, train):
    Xa, Xv, _ = train
    Za = fitted.scaler_audio_.transform(Xa)
    Zv = fitted.scaler_visual_.transform(Xv)
    neighbours, counts = correlation_graph(Za, Zv, fitted.n_neighbors)
    np.testing.assert_array_equal(fitted.graph_neighbours_, neighbours)
    np.testing.assert_array_equal(fitted.graph_counts_, counts)
    assert fitted.pool_size_ == 400 // 50 and fitted.margin_ == 32 / 8


# -- the losses (eq. 4-7) ------------------------------------------------------------------------
def test_triplet_hinge_reward_and_squared_distances_by_hand():
    hq = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    hpos = torch.tensor([[1.0, 1.0], [0.5, 0.5]])
    hgen = torch.tensor([[0.0, 0.0], [0.5, 0.0]])
    # row 0: m + 1 - 1 = m; row 1: m + 0 - 0.25
    f = triplet_hinge(hq, hpos, hgen, margin=0.5)
    np.testing.assert_allclose(f.numpy(), [0.5, 0.25])
    assert triplet_hinge(hq, hpos, hgen, margin=0.0)[1] == 0.0  # the hinge clips at zero
    np.testing.assert_allclose(reward_of(f, "softplus").numpy(), np.log1p(np.exp([0.5, 0.25])),
                               rtol=1e-6)
    np.testing.assert_allclose(reward_of(f, "sigmoid").numpy(), 1 / (1 + np.exp([-0.5, -0.25])),
                               rtol=1e-6)
    np.testing.assert_allclose(squared_distances(hq, hgen).numpy(), [[1.0, 0.25], [0.5, 0.25]])


def test_generator_probabilities_are_the_softmax_of_eq4(fitted, heldout):
    Ta, Tv, _ = heldout
    P = fitted.generator_probabilities(Ta[:20], "audio", Tv[:50])
    assert P.shape == (20, 50)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-5)
    Ga = predict(fitted.generator_.audio, fitted.scaler_audio_.transform(Ta[:20]))
    Gv = predict(fitted.generator_.visual, fitted.scaler_visual_.transform(Tv[:50]))
    logits = -((Ga[:, None, :] - Gv[None, :, :]) ** 2).sum(-1)
    expected = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(P, expected / expected.sum(1, keepdims=True), rtol=1e-4, atol=1e-7)
    with pytest.raises(UserError, match="query_view"):
        fitted.generator_probabilities(Ta, "text", Tv)
    with pytest.raises(UserError, match="X_visual"):
        fitted.generator_probabilities(Ta, "audio", Ta)


# -- outputs -------------------------------------------------------------------------------------
def test_codes_are_binary_with_n_bits_columns_and_relaxed_is_the_hash_layer(fitted, train,
                                                                            heldout):
    Xa, Xv, _ = train
    Ta, Tv, _ = heldout
    Za, Zv = fitted.transform(Ta, Tv)
    assert Za.shape == (300, 32) and Zv.shape == (300, 32) and fitted.n_components_ == 32
    assert set(np.unique(Za)) == {-1.0, 1.0} and set(np.unique(Zv)) == {-1.0, 1.0}
    assert fitted.retrieval_metric == "hamming"
    relaxed = UGACH(epochs=6, random_state=0, output="relaxed", **FAST).fit(Xa, Xv)
    assert relaxed.retrieval_metric is None
    Ra, Rv = relaxed.transform(Ta, Tv)
    # the real-valued layer 2σ(z) − 1 of D's hashing layer, whose signs are the codes
    h = predict(relaxed.discriminator_.audio, relaxed.scaler_audio_.transform(Ta))
    np.testing.assert_allclose(Ra, 2 * h - 1)
    assert np.abs(Ra).max() < 1 and len(np.unique(np.round(Ra, 3))) > 100
    np.testing.assert_array_equal(sign_codes(Ra), Za)
    np.testing.assert_array_equal(sign_codes(Rv), Zv)


def test_default_code_length():
    model = UGACH()
    assert model.n_bits == DEFAULT_CODE_LENGTH and model.output == "codes"
    assert model.supervised is False and UGACH.seed_dependent is True


def test_labels_do_not_influence_the_fit(train, heldout):
    Xa, Xv, y = train
    Ta, Tv, _ = heldout
    kw = dict(epochs=2, random_state=3, **FAST)
    Z_none = UGACH(**kw).fit(Xa, Xv).transform(Ta, Tv)
    Z_y = UGACH(**kw).fit(Xa, Xv, y).transform(Ta, Tv)
    Z_perm = UGACH(**kw).fit(Xa, Xv, np.random.default_rng(0).permutation(y)).transform(Ta, Tv)
    for Z in (Z_y, Z_perm):
        np.testing.assert_array_equal(Z[0], Z_none[0])
        np.testing.assert_array_equal(Z[1], Z_none[1])


# -- learning ------------------------------------------------------------------------------------
def test_discriminator_loss_decreases_with_random_candidates(train):
    Xa, Xv, _ = train
    h = UGACH(epochs=6, pretrain_epochs=0, adversarial=False, **FAST).fit(Xa, Xv).history_
    assert [r["epoch"] for r in h] == list(range(1, 7))
    assert h[-1]["loss"] < 0.7 * h[0]["loss"]
    assert all("g_loss" not in r for r in h)  # no generator without the game


def test_hamming_ranking_beats_chance_on_heldout_rows(fitted, fitted_without_generator, heldout):
    Ta, Tv, yt = heldout
    for model in (fitted, fitted_without_generator):
        maps = cross_modal_map(*model.transform(Ta, Tv), yt, metric="hamming")
        # 10 balanced classes: chance MAP is about 0.1
        assert maps["a2v"] > 0.2 and maps["v2a"] > 0.2, maps


def test_generator_learns_to_pick_harder_candidates_than_random(fitted, fitted_without_generator,
                                                               heldout):
    """The adversarial part: after the game, the candidates G would draw for a held-out query
    lie much closer to it in the discriminator's Hamming space than a uniformly random candidate
    (the expectation under p_θ vs the mean over the pool). With ``adversarial=False`` the
    generator is never trained and its draws are no harder than random ones."""
    Ta, Tv, _ = heldout
    ratios = []
    for model in (fitted, fitted_without_generator):
        H = hamming(*model.transform(Ta, Tv))                           # (300, 300)
        for query, X_q, X_c, Hq in (("audio", Ta, Tv, H), ("visual", Tv, Ta, H.T)):
            P = model.generator_probabilities(X_q, query, X_c)
            ratios.append(float((P * Hq).sum(axis=1).mean() / Hq.mean()))
    adversarial, untrained = ratios[:2], ratios[2:]
    assert max(adversarial) < 0.85, ratios
    assert min(untrained) > 0.95, ratios


def test_adversarial_switch_trains_the_generator_only_when_on(train, fitted):
    Xa, Xv, _ = train
    off = UGACH(epochs=2, random_state=0, adversarial=False, **FAST).fit(Xa, Xv)
    with torch.random.fork_rng(devices=[]):  # the same initialisation as fit's (seed 0)
        torch.manual_seed(0)
        init = TwoPathwayHasher(20, 30, 64, 32)
    for p0, p1 in zip(init.parameters(), off.generator_.parameters(), strict=True):
        assert torch.equal(p0, p1)  # G untouched without the game
    assert any(not torch.equal(p0, p1) for p0, p1 in
               zip(init.parameters(), fitted.generator_.parameters(), strict=True))
    assert all(r["reward"] > np.log(2) - 1e-6 for r in fitted.history_)  # softplus(f ≥ 0)


# -- API contract --------------------------------------------------------------------------------
def test_same_seed_identical_codes_and_different_seed_differs(train, heldout):
    Xa, Xv, _ = train
    Ta, Tv, _ = heldout
    Z1 = UGACH(epochs=2, random_state=5, **FAST).fit(Xa, Xv).transform(Ta, Tv)
    Z2 = UGACH(epochs=2, random_state=5, **FAST).fit(Xa, Xv).transform(Ta, Tv)
    Z3 = UGACH(epochs=2, random_state=6, **FAST).fit(Xa, Xv).transform(Ta, Tv)
    assert np.array_equal(Z1[0], Z2[0]) and np.array_equal(Z1[1], Z2[1])
    assert not np.array_equal(Z1[0], Z3[0])


def test_fit_leaves_global_torch_rng_untouched(train):
    Xa, Xv, _ = train
    state = torch.get_rng_state()
    UGACH(epochs=1, **FAST).fit(Xa, Xv)
    assert torch.equal(state, torch.get_rng_state())


def test_transform_is_per_view(fitted, heldout):
    Ta, Tv, _ = heldout
    Za, Zv = fitted.transform(Ta, Tv)
    Za_other, Zv_other = fitted.transform(Ta, np.random.default_rng(9).normal(size=Tv.shape))
    Za_alone, none = fitted.transform(Ta, None)
    assert none is None
    np.testing.assert_array_equal(Za, Za_other)
    np.testing.assert_array_equal(Za, Za_alone)
    assert not np.array_equal(Zv, Zv_other)
    np.testing.assert_array_equal(fitted.transform(None, Tv[:7])[1], Zv[:7])


def test_transform_before_fit_raises(train):
    Xa, Xv, _ = train
    with pytest.raises(NotFittedError):
        UGACH().transform(Xa, Xv)
    with pytest.raises(NotFittedError):
        UGACH().generator_probabilities(Xa, "audio", Xv)


@pytest.mark.parametrize("bad", [
    {"n_bits": 0}, {"output": "real"}, {"hidden": 1.5}, {"n_neighbors": 0}, {"pool_ratio": True},
    {"n_select": -1}, {"margin": -1.0}, {"lr_discriminator": 0.0}, {"lr_generator": -1e-3},
    {"weight_decay": -0.1}, {"epochs": 0}, {"pretrain_epochs": -1}, {"generator_steps": 0},
    {"batch_size": None}, {"adversarial": 1}, {"reward": "log"}, {"random_state": 1.5},
])
def test_bad_hyperparameters_raise_user_errors_naming_them(train, bad):
    Xa, Xv, _ = train
    with pytest.raises(UserError, match=next(iter(bad))):
        UGACH(**bad).fit(Xa, Xv)


def test_bad_inputs_raise(train, fitted):
    Xa, Xv, _ = train
    with pytest.raises(UserError, match="n_neighbors"):
        UGACH(n_neighbors=10, **FAST).fit(Xa[:10], Xv[:10])
    with pytest.raises(UserError, match="same number of rows"):
        UGACH(**FAST).fit(Xa, Xv[:-1])
    with pytest.raises(UserError, match=r"X_visual has 20 columns"):
        fitted.transform(None, Xa)


def test_knn_indices_in_chunks_equal_one_block():
    X = np.random.default_rng(2).normal(size=(50, 5))
    np.testing.assert_array_equal(knn_indices(X, 3, chunk=7), knn_indices(X, 3, chunk=1000))
