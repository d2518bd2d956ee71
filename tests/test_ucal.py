"""UCAL: the losses' mathematics, the gradient reversal, training, the adversary's measurable
effect, label-freeness, determinism, per-view transform and the API's errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from paper_lib.errors import UserError
from paper_lib.methods._torch_utils import mlp
from paper_lib.methods.base import NotFittedError
from paper_lib.methods.registry import get_method
from paper_lib.methods.ucal import (
    UCAL,
    correlation_loss,
    grl_lambda,
    modality_loss,
    whiten,
)
from paper_lib.metrics.cross_modal import cross_modal_map
from paper_lib.metrics.modality import modality_separability


def make_views(n: int, seed: int, n_classes: int = 10, n_sub: int = 3, latent: int = 6,
               noise: float = 0.35) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class-structured toy (as in test_tnn.py): each class = n_sub sub-clusters in a latent space
    seen through a different non-linear map per view (tanh / sin) plus noise. The maps and centres
    are fixed (seed 1234); ``seed`` only draws the clips, so two calls give train/test of one
    world."""
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
    return make_views(600, seed=0)


@pytest.fixture(scope="module")
def test_rows() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return make_views(300, seed=1)


FAST = dict(hidden=(64,), epochs=3, batch_size=32)


@pytest.fixture(scope="module")
def fitted(train) -> UCAL:
    Xa, Xv, y = train
    return UCAL(hidden=(64,), epochs=12, batch_size=32, random_state=0).fit(Xa, Xv, y)


# -- the losses ------------------------------------------------------------------------------
def _t(A: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(A, dtype=torch.float64)


def test_whitened_correlation_is_d_minus_the_paired_whitened_correlations():
    rng = np.random.default_rng(0)
    Ha = rng.normal(size=(200, 4))
    Hv = 0.6 * Ha @ rng.normal(size=(4, 4)) + rng.normal(size=(200, 4))
    reg = 1e-3
    # numpy: Cholesky whitening of each view, then (1/2m)||W_a - W_v||^2 expanded in covariances
    Ac, Vc = Ha - Ha.mean(0), Hv - Hv.mean(0)
    S_aa, S_vv, S_av = Ac.T @ Ac / 200, Vc.T @ Vc / 200, Ac.T @ Vc / 200
    L_a = np.linalg.cholesky(S_aa + reg * np.eye(4))
    L_v = np.linalg.cholesky(S_vv + reg * np.eye(4))
    ia, iv = np.linalg.inv(L_a), np.linalg.inv(L_v)
    expected = (0.5 * np.trace(ia @ S_aa @ ia.T) + 0.5 * np.trace(iv @ S_vv @ iv.T)
                - np.trace(ia @ S_av @ iv.T))
    got = float(correlation_loss(_t(Ha), _t(Hv), "whitened", reg))
    assert got == pytest.approx(expected, rel=1e-9)
    # whitened rows: zero mean, identity covariance (up to the ridge)
    W = whiten(_t(Ha), 1e-12).numpy()
    np.testing.assert_allclose(W.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(W.T @ W / 200, np.eye(4), atol=1e-8)


def test_whitened_correlation_is_zero_for_linearly_related_views_and_d_for_independent_ones():
    rng = np.random.default_rng(1)
    Ha = rng.normal(size=(500, 5))
    M = np.triu(rng.normal(size=(5, 5)), 1) + np.diag(rng.uniform(0.5, 2.0, 5))  # upper, diag > 0
    related = Ha @ M + 3.0                                  # another offset and coordinate system
    assert float(correlation_loss(_t(Ha), _t(related), "whitened", 1e-10)) < 1e-6
    # the blind spot the adversary must fix: the loss does not see such per-view maps
    Hv = Ha + 0.5 * rng.normal(size=Ha.shape)
    assert float(correlation_loss(_t(Ha @ M - 1.0), _t(Hv), "whitened", 1e-10)) == pytest.approx(
        float(correlation_loss(_t(Ha), _t(Hv), "whitened", 1e-10)), rel=1e-6)
    independent = rng.normal(size=(20000, 5))
    big = rng.normal(size=(20000, 5))
    assert float(correlation_loss(_t(big), _t(independent), "whitened", 1e-10)) == pytest.approx(
        5.0, abs=0.1)


def test_standardized_and_raw_variants():
    rng = np.random.default_rng(2)
    Ha = rng.normal(size=(300, 3))
    Hv = Ha * [1.0, 0.3, 0.0] + rng.normal(size=(300, 3))
    rho = [np.corrcoef(Ha[:, k], Hv[:, k])[0, 1] for k in range(3)]
    assert float(correlation_loss(_t(Ha), _t(Hv), "standardized")) == pytest.approx(
        sum(1 - r for r in rho), abs=1e-5)
    assert float(correlation_loss(_t(Ha), _t(Hv), "raw")) == pytest.approx(
        np.mean(np.sum((Ha - Hv) ** 2, axis=1)), rel=1e-12)
    # the literal distance is minimised by a collapse, the correlations are not
    zeros = torch.zeros(300, 3, dtype=torch.float64)
    assert float(correlation_loss(zeros, zeros, "raw")) == 0.0
    assert float(correlation_loss(zeros + 1e-3 * _t(Ha), zeros + 1e-3 * _t(Hv), "whitened",
                                  1e-12)) == pytest.approx(
        float(correlation_loss(_t(Ha), _t(Hv), "whitened", 1e-12)), rel=1e-4)


def test_modality_loss_is_the_binary_cross_entropy_audio_one_visual_zero():
    la, lv = torch.tensor([[2.0], [-1.0]]), torch.tensor([[0.5], [-3.0], [1.0]])

    def sig(x: float) -> float:
        return 1 / (1 + math.exp(-x))

    expected = -np.mean([math.log(sig(2.0)), math.log(sig(-1.0)), math.log(1 - sig(0.5)),
                         math.log(1 - sig(-3.0)), math.log(1 - sig(1.0))])
    assert float(modality_loss(la, lv)) == pytest.approx(expected, rel=1e-6)
    assert float(modality_loss(torch.zeros(4, 1), torch.zeros(4, 1))) == pytest.approx(math.log(2))


def test_grl_schedule():
    assert grl_lambda(0.0) == 0.0
    assert grl_lambda(0.5) == pytest.approx(2 / (1 + math.exp(-5)) - 1)
    assert grl_lambda(1.0) == pytest.approx(1.0, abs=1e-4)
    assert grl_lambda(1.0, weight=0.3) == pytest.approx(0.3, abs=1e-4)
    values = [grl_lambda(p) for p in np.linspace(0, 1, 11)]
    assert all(b > a for a, b in zip(values, values[1:], strict=False))


def test_one_step_reverses_the_adversarial_gradient_for_the_projectors_only():
    """Eq. (3): the projectors get ∇L_corr − λ∇L_adv, the classifier ∇L_adv."""
    torch.manual_seed(0)
    proj_a = mlp(5, (8,), 3, activation=nn.Tanh, out_activation=nn.Tanh)
    proj_v = mlp(6, (8,), 3, activation=nn.Tanh, out_activation=nn.Tanh)
    clf = mlp(3, (4,), 1, activation=nn.ReLU)
    A, V, lam = torch.randn(40, 5), torch.randn(40, 6), 0.7
    P = [*proj_a.parameters(), *proj_v.parameters()]
    D = list(clf.parameters())
    Ha, Hv = proj_a(A), proj_v(V)
    corr = correlation_loss(Ha, Hv, "whitened", 1e-4)
    adv = modality_loss(clf(Ha), clf(Hv))
    g_corr = torch.autograd.grad(corr, P, retain_graph=True)
    g_adv = torch.autograd.grad(adv, P + D)
    model = UCAL(n_components=3, reg=1e-4)
    model._step(proj_a, proj_v, clf, A, V, lam, torch.optim.SGD(P + D, lr=0.0))
    for p, gc, ga in zip(P, g_corr, g_adv[:len(P)], strict=True):
        torch.testing.assert_close(p.grad, gc - lam * ga, rtol=1e-4, atol=1e-6)
    for p, ga in zip(D, g_adv[len(P):], strict=True):
        torch.testing.assert_close(p.grad, ga, rtol=1e-4, atol=1e-6)


# -- training --------------------------------------------------------------------------------
def test_training_loss_decreases_and_the_classifier_ends_confused(fitted):
    h = fitted.history_
    assert [r["epoch"] for r in h] == list(range(1, 13))
    assert h[-1]["corr"] < 0.6 * h[0]["corr"]               # eq. (1) falls
    assert h[-1]["loss"] == pytest.approx(h[-1]["corr"] + h[-1]["adv"])
    assert h[0]["lambda"] < h[-1]["lambda"] <= 1.0          # eq. (4) ramps up
    # the minimax: the classifier's cross-entropy stays near log 2 (chance), it cannot win
    assert h[-1]["adv"] > 0.6 and h[-1]["classifier_accuracy"] < 0.7
    assert fitted.n_components_ == 10 and fitted.n_batches_ == 19 and fitted.batch_size_ == 32


def test_embeddings_beat_chance_on_held_out_rows(fitted, test_rows):
    Ta, Tv, ty = test_rows
    Za, Zv = fitted.transform(Ta, Tv)
    assert Za.shape == Zv.shape == (300, 10) and Za.dtype == np.float64
    assert np.abs(Za).max() <= 1.0                          # tanh outputs
    maps = cross_modal_map(Za, Zv, ty, metric="cosine")
    assert maps["a2v"] > 0.3 and maps["v2a"] > 0.3          # chance ≈ 0.1 (10 balanced classes)
    # the d dimensions are not collapsed onto one feature
    s = np.linalg.svd(Za - Za.mean(0), compute_uv=False)
    assert s[4] > 0.1 * s[0]


def test_the_adversary_makes_the_modalities_less_separable(train, test_rows):
    """Held-out embeddings: a logistic regression tells audio from visual rows clearly better
    when the modality classifier is switched off, for each of three seeds."""
    Xa, Xv, _ = train
    Ta, Tv, _ = test_rows
    on, off = [], []
    for seed in range(3):
        for adversarial, out in ((True, on), (False, off)):
            model = UCAL(hidden=(64,), epochs=15, batch_size=32, adversarial=adversarial,
                         random_state=seed).fit(Xa, Xv)
            out.append(modality_separability(*model.transform(Ta, Tv)))
    assert all(a < b for a, b in zip(on, off, strict=True)), (on, off)
    assert np.mean(off) - np.mean(on) > 0.1, (on, off)


def test_adversary_off_trains_no_classifier(train):
    Xa, Xv, _ = train
    model = UCAL(adversarial=False, **FAST).fit(Xa, Xv)
    assert model.classifier_ is None
    assert all(r["adv"] == 0.0 and r["lambda"] == 0.0 for r in model.history_)


def test_labels_do_not_influence_the_fit(train):
    Xa, Xv, y = train
    perm = np.random.default_rng(5).permutation(y)
    Z1 = UCAL(**FAST).fit(Xa, Xv, y).transform(Xa, Xv)
    Z2 = UCAL(**FAST).fit(Xa, Xv, perm).transform(Xa, Xv)
    Z3 = UCAL(**FAST).fit(Xa, Xv).transform(Xa, Xv)
    for Z in (Z2, Z3):
        np.testing.assert_array_equal(Z1[0], Z[0])
        np.testing.assert_array_equal(Z1[1], Z[1])
    assert UCAL.supervised is False


def test_same_seed_identical_different_seed_differs(train):
    Xa, Xv, _ = train
    Z1 = UCAL(random_state=3, **FAST).fit_transform(Xa, Xv)
    Z2 = UCAL(random_state=3, **FAST).fit_transform(Xa, Xv)
    Z3 = UCAL(random_state=4, **FAST).fit_transform(Xa, Xv)
    assert np.array_equal(Z1[0], Z2[0]) and np.array_equal(Z1[1], Z2[1])
    assert not np.allclose(Z1[0], Z3[0])


def test_fit_leaves_global_torch_rng_untouched(train):
    Xa, Xv, _ = train
    state = torch.get_rng_state()
    UCAL(epochs=1, hidden=(16,)).fit(Xa, Xv)
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
    np.testing.assert_allclose(fitted.transform(None, Xv[:7])[1], Zv[:7], rtol=1e-6, atol=1e-7)


def test_registry_builds_ucal_with_the_runner_keywords():
    model = get_method("ucal").build(7, 2, 4)
    assert isinstance(model, UCAL)
    assert (model.n_components, model.random_state, model.epochs) == (7, 2, 4)
    assert model.retrieval_metric is None                   # ranked by the runner's cosine


# -- errors ----------------------------------------------------------------------------------
def test_transform_before_fit_raises(train):
    with pytest.raises(NotFittedError):
        UCAL().transform(train[0], train[1])


@pytest.mark.parametrize("bad", [
    {"n_components": 0}, {"hidden": (64, 0)}, {"hidden": 64}, {"disc_hidden": (True,)},
    {"epochs": 1.5}, {"lr": -1e-3}, {"batch_size": 1}, {"correlation": "cca"}, {"reg": 0.0},
    {"adversarial": 1}, {"adv_weight": 0.0}, {"random_state": "0"},
])
def test_bad_hyperparameters_raise_user_errors_naming_them(train, bad):
    Xa, Xv, _ = train
    with pytest.raises(UserError, match=next(iter(bad))):
        UCAL(**bad).fit(Xa, Xv)


def test_whitening_needs_more_rows_per_batch_than_dimensions(train):
    Xa, Xv, _ = train
    with pytest.raises(UserError, match="batch_size"):
        UCAL(batch_size=8, **{k: v for k, v in FAST.items() if k != "batch_size"}).fit(Xa, Xv)
    UCAL(batch_size=8, correlation="standardized", epochs=1, hidden=(16,)).fit(Xa, Xv)


def test_bad_inputs_raise_user_errors(train):
    Xa, Xv, y = train
    with pytest.raises(UserError, match="rows"):
        UCAL(**FAST).fit(Xa, Xv[:10])
    with pytest.raises(UserError, match="y must"):
        UCAL(**FAST).fit(Xa, Xv, y[:10])
    model = UCAL(epochs=1, hidden=(16,)).fit(Xa, Xv)
    with pytest.raises(UserError, match="columns"):
        model.transform(Xv, None)
