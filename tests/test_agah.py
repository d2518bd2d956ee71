"""AGAH: the losses and the discrete code-map update against brute force, the hash codes,
training behaviour, retrieval above chance, the adversary's effect, determinism, per-view
transform and input checks."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from paper_lib.errors import UserError
from paper_lib.methods import registry
from paper_lib.methods.agah import (
    AGAH,
    HISTORY_KEYS,
    attend,
    cosine_quantization_loss,
    cosine_triplet_loss,
    feature_map,
    same_class,
    update_code_map,
)
from paper_lib.methods.base import NotFittedError
from paper_lib.metrics.cross_modal import cross_modal_map


def make_views(n: int, seed: int, n_classes: int = 10, n_sub: int = 3, latent: int = 6,
               noise: float = 0.35) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class-structured toy (as in test_tnn.py): each class = n_sub sub-clusters in a latent
    space, seen through a different non-linear map per view plus noise. The maps and centres are
    fixed; ``seed`` only draws the clips, so two calls give train/test of one world."""
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


#: small networks for the tests (the paper's widths are 512); batch 64 keeps the summed
#: triplet term dominant over the summed quantisation term, as with the paper's batch of 128
SMALL = dict(emb_dim=64, hidden=64, n_bits=32, batch_size=64)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, ...]:
    Xa, Xv, y = make_views(600, seed=0)
    Ta, Tv, yt = make_views(300, seed=1)
    return Xa, Xv, y, Ta, Tv, yt


@pytest.fixture(scope="module")
def fitted(data) -> AGAH:
    Xa, Xv, y = data[:3]
    return AGAH(epochs=12, random_state=0, **SMALL).fit(Xa, Xv, y)


def energy_distance(P: np.ndarray, Q: np.ndarray) -> float:
    """Székely's energy distance 2E|p−q| − E|p−p'| − E|q−q'| (0 iff the distributions agree)."""
    def mean_dist(U: np.ndarray, W: np.ndarray) -> float:
        return float(np.sqrt(((U[:, None, :] - W[None, :, :]) ** 2).sum(-1)).mean())
    return 2 * mean_dist(P, Q) - mean_dist(P, P) - mean_dist(Q, Q)


# -- the pieces against brute force ---------------------------------------------------------------
def test_cosine_triplet_loss_is_the_sum_over_all_valid_triplets():
    rng = np.random.default_rng(0)
    ha, hv = rng.normal(size=(9, 5)), rng.normal(size=(9, 5))
    y = rng.integers(0, 3, 9)
    cos = (ha / np.linalg.norm(ha, axis=1, keepdims=True)) @ \
        (hv / np.linalg.norm(hv, axis=1, keepdims=True)).T
    d = 1 - cos
    expected = sum(max(0.0, d[i, j] - d[i, k] + 0.3)
                   for i, j, k in itertools.product(range(9), repeat=3)
                   if y[i] == y[j] and y[i] != y[k])
    t = torch.as_tensor(y)
    got = cosine_triplet_loss(torch.as_tensor(ha), torch.as_tensor(hv), same_class(t, t), 0.3)
    assert float(got) == pytest.approx(expected, rel=1e-6)
    # all one class: no negatives, no loss
    one = torch.zeros(9, dtype=torch.int64)
    assert float(cosine_triplet_loss(torch.as_tensor(ha), torch.as_tensor(hv),
                                     same_class(one, one), 0.3)) == 0.0


def test_cosine_quantization_loss_prefers_equal_magnitudes():
    equal = torch.tensor([[0.5, -0.5, 0.5, 0.5], [-1.0, 1.0, 1.0, -1.0]])
    uneven = torch.tensor([[0.9, 0.0, 0.0, 0.1], [-1.0, 0.1, 0.0, 0.0]])
    # cos(|h|, 1) = 1 for equal magnitudes: each row costs 1 / (1 + e)
    assert float(cosine_quantization_loss(equal)) == pytest.approx(2 / (1 + np.e), rel=1e-6)
    assert float(cosine_quantization_loss(uneven)) > float(cosine_quantization_loss(equal))


def test_attention_and_feature_map_follow_their_equations():
    rng = np.random.default_rng(1)
    f = torch.as_tensor(rng.normal(size=(4, 6)))
    M = torch.as_tensor(rng.normal(size=(3, 6)))
    torch.testing.assert_close(attend(f, M, 1.0, 5.0), f)        # λ = 1: no attention
    mask = 1 / (1 + np.exp(-5 * f.numpy() @ M.numpy().T))
    expected = 0.8 * f.numpy() + 0.2 * (mask @ M.numpy()) / mask.sum(1, keepdims=True)
    np.testing.assert_allclose(attend(f, M, 0.8, 5.0).numpy(), expected, rtol=1e-10)
    # the feature map: per label, the mean of the two modalities' class means, unit length
    y = np.array([0, 1, 2, 0, 1, 2, 0, 2])
    Fa, Fv = rng.normal(size=(8, 6)), rng.normal(size=(8, 6))
    L = torch.nn.functional.one_hot(torch.as_tensor(y)).double()
    got = feature_map(torch.as_tensor(Fa), torch.as_tensor(Fv), L).numpy()
    for j in range(3):
        m = 0.5 * (Fa[y == j].mean(0) + Fv[y == j].mean(0))
        np.testing.assert_allclose(got[j], m / np.linalg.norm(m), rtol=1e-10)


def _code_map_objective(C, Ba, Bv, C_prev, Y):
    K = C.shape[1]
    S = 2 * np.eye(C.shape[0]) - 1
    return (((Ba @ C.T - K * Y) ** 2).sum() + ((Bv @ C.T - K * Y) ** 2).sum()
            + ((C @ C_prev.T - K * S) ** 2).sum())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_code_map_update_descends_and_its_first_bit_is_the_exact_minimiser(seed):
    rng = np.random.default_rng(seed)
    n, c, K = 30, 4, 6
    y = rng.integers(0, c, n)
    Y = 2 * np.eye(c)[y] - 1
    Ba, Bv = np.sign(rng.normal(size=(n, K))), np.sign(rng.normal(size=(n, K)))
    C0 = np.sign(rng.normal(size=(c, K)))
    C1 = update_code_map(*(torch.as_tensor(a) for a in (Ba, Bv, C0, Y))).numpy()
    assert set(np.unique(C1)) <= {-1.0, 1.0} and C1.shape == (c, K)
    assert _code_map_objective(C1, Ba, Bv, C0, Y) <= _code_map_objective(C0, Ba, Bv, C0, Y)
    # bit 0 is updated first, with the other bits still at C0: it must be the best of all 2^c
    # columns given them (the closed form of one DCC step)
    def with_first(col):
        C = C0.copy()
        C[:, 0] = col
        return _code_map_objective(C, Ba, Bv, C0, Y)
    best = min(with_first(np.array(col)) for col in itertools.product([-1.0, 1.0], repeat=c))
    assert with_first(C1[:, 0]) == pytest.approx(best)


# -- the estimator --------------------------------------------------------------------------------
def test_codes_are_the_signs_of_the_relaxed_hash_layer(data, fitted):
    Xa, Xv, y, Ta, Tv = data[:5]
    Za, Zv = fitted.transform(Ta, Tv)
    assert Za.shape == Zv.shape == (300, 32) and fitted.n_components_ == 32
    assert set(np.unique(Za)) == set(np.unique(Zv)) == {-1.0, 1.0}
    assert fitted.retrieval_metric == "hamming"
    # the same fit (same seed) answering with the real-valued hash layer h
    relaxed = AGAH(epochs=12, random_state=0, output="relaxed", **SMALL).fit(Xa, Xv, y)
    Ra, Rv = relaxed.transform(Ta, Tv)
    assert relaxed.retrieval_metric is None and Ra.dtype == np.float64
    assert np.all(np.abs(Ra) < 1) and np.all(np.abs(Rv) < 1)        # tanh outputs
    assert len(np.unique(Ra)) > 100                                  # real-valued, not codes
    np.testing.assert_array_equal(np.where(Ra >= 0, 1.0, -1.0), Za)
    np.testing.assert_array_equal(np.where(Rv >= 0, 1.0, -1.0), Zv)
    assert set(np.unique(fitted.code_map_)) == {-1.0, 1.0}
    assert fitted.code_map_.shape == (10, 32) and fitted.feature_map_.shape == (10, 64)


def test_training_loss_decreases_and_history_is_complete(fitted):
    h = fitted.history_
    assert [r["epoch"] for r in h] == list(range(1, 13))
    assert all(set(HISTORY_KEYS) <= set(r) for r in h)
    assert h[-1]["loss"] < 0.5 * h[0]["loss"]
    assert h[-1]["triplet"] < 0.2 * h[0]["triplet"]   # the cross-modal ranking term learns most


def test_hamming_map_beats_chance_on_heldout_rows(data, fitted):
    Ta, Tv, yt = data[3:]
    maps = cross_modal_map(*fitted.transform(Ta, Tv), yt, metric="hamming")
    # chance MAP for 10 balanced classes is about 0.1
    assert maps["a2v"] > 0.4 and maps["v2a"] > 0.4, maps


@pytest.mark.parametrize("seed", [0, 1])
def test_the_adversary_pulls_the_two_feature_distributions_together(data, seed):
    """The critics of eq. (5) estimate a Wasserstein distance between the audio and the visual
    feature distributions and the feature nets are trained to shrink it. Measured independently
    on held-out rows by the energy distance of their features f. The adversarial weight is
    magnified (μ = 1000) because at the paper's μ = 1 its gradient is swamped by the summed
    hashing losses and the effect is not measurable in a few epochs (see the module docstring)."""
    Xa, Xv, y, Ta, Tv, yt = data
    dist, maps = {}, {}
    for adversarial in (True, False):
        model = AGAH(epochs=12, random_state=seed, adversarial=adversarial, mu=1000.0,
                     **SMALL).fit(Xa, Xv, y)
        dist[adversarial] = energy_distance(model.feature_view(Ta, "audio"),
                                            model.feature_view(Tv, "visual"))
        maps[adversarial] = cross_modal_map(*model.transform(Ta, Tv), yt, metric="hamming")
        assert (model.critic_audio_ is None) is (not adversarial)
        assert all((r["adv"] == 0.0) is (not adversarial) for r in model.history_)
    assert dist[True] < 0.6 * dist[False], dist
    assert maps[True]["a2v"] > 0.4 and maps[True]["v2a"] > 0.4, maps   # still retrieves


def test_same_seed_identical_codes_and_different_seed_differs(data):
    Xa, Xv, y = data[:3]
    fast = dict(epochs=2, **SMALL)
    Z1 = AGAH(random_state=3, **fast).fit_transform(Xa, Xv, y)
    Z2 = AGAH(random_state=3, **fast).fit_transform(Xa, Xv, y)
    Z3 = AGAH(random_state=4, **fast).fit_transform(Xa, Xv, y)
    assert np.array_equal(Z1[0], Z2[0]) and np.array_equal(Z1[1], Z2[1])
    assert not np.array_equal(Z1[0], Z3[0])


def test_fit_leaves_global_torch_rng_untouched(data):
    Xa, Xv, y = data[:3]
    state = torch.get_rng_state()
    AGAH(epochs=1, **SMALL).fit(Xa, Xv, y)
    assert torch.equal(state, torch.get_rng_state())


def test_transform_is_per_view(data, fitted):
    Ta, Tv = data[3], data[4]
    Za, Zv = fitted.transform(Ta, Tv)
    other = np.random.default_rng(9).normal(size=Tv.shape)
    np.testing.assert_array_equal(fitted.transform(Ta, other)[0], Za)
    Za_alone, none = fitted.transform(Ta, None)
    np.testing.assert_array_equal(Za_alone, Za)
    assert none is None
    np.testing.assert_array_equal(fitted.transform(None, Tv)[1], Zv)
    # one row at a time gives the same codes as the whole set (no batch dependence)
    np.testing.assert_array_equal(fitted.transform(Ta[:1])[0], Za[:1])


def test_registry_builds_agah_with_the_runner_keywords():
    model = registry.get_method("agah").build(10, 7, 3)
    assert isinstance(model, AGAH)
    assert model.epochs == 3 and model.random_state == 7 and model.n_bits == 64


def test_transform_before_fit_and_unsupervised_fit_raise(data):
    Xa, Xv, y = data[:3]
    with pytest.raises(NotFittedError):
        AGAH().transform(Xa, Xv)
    with pytest.raises(NotFittedError):
        AGAH().feature_view(Xa, "audio")
    with pytest.raises(UserError, match="supervised"):
        AGAH(**SMALL).fit(Xa, Xv)


@pytest.mark.parametrize("bad", [
    {"n_bits": 0}, {"output": "soft"}, {"emb_dim": 1.5}, {"hidden": 0}, {"lambd": 1.5},
    {"omega": -1.0}, {"margin": -0.3}, {"alpha": -1.0}, {"gamma": np.nan}, {"eta": -1.0},
    {"mu": -1.0}, {"gp_weight": -10.0}, {"adversarial": 1}, {"lr": 0.0}, {"critic_lr": -1e-3},
    {"weight_decay": -1.0}, {"epochs": True}, {"batch_size": 0}, {"random_state": 1.5},
])
def test_bad_hyperparameters_raise_user_errors_naming_them(data, bad):
    Xa, Xv, y = data[:3]
    with pytest.raises(UserError, match=next(iter(bad))):
        AGAH(**bad).fit(Xa, Xv, y)
