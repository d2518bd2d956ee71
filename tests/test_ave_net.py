"""AVE-Net: the equations, learning the AVC task on a small avdigits subset (loss falls, held-out
AVC accuracy and cross-modal MAP above chance), unit-norm 128-d embeddings, label-freeness,
determinism, per-view transform and the media input checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from test_media_views import avdigits_subset
from torch import nn
from torch.nn import functional as F

from paper_lib.data.media import media_views
from paper_lib.errors import UserError
from paper_lib.methods.ave_net import (
    AVENet,
    avc_loss,
    correspondence_logits,
    init_fusion,
    pair_distance,
    to_maps,
)
from paper_lib.methods.base import NotFittedError
from paper_lib.metrics.cross_modal import cross_modal_map

#: a small network for the learning test (the default is (16, 32, 64) and an audio stride of 2)
SMALL = dict(audio_channels=(8, 16, 32), visual_channels=(8, 16, 32), audio_stride=4,
             batch_size=32)
#: a tiny network on tiny random media for the API tests
TINY = dict(audio_channels=(4,), visual_channels=(4,), embedding_dim=8, epochs=1, batch_size=8)


@pytest.fixture(scope="module")
def avdigits() -> dict[str, np.ndarray]:
    """600 training and 200 held-out avdigits clips (a fixed random draw), as media."""
    rows = np.random.default_rng(0).permutation(2000)[:800]
    ds = avdigits_subset(np.sort(rows))
    audio, visual = media_views(ds)
    order = np.random.default_rng(1).permutation(800)
    train, test = order[:600], order[600:]
    return {"Xa": audio[train], "Xv": visual[train], "y": ds.labels[train],
            "Ta": audio[test], "Tv": visual[test], "ty": ds.labels[test]}


@pytest.fixture(scope="module")
def fitted(avdigits) -> AVENet:
    return AVENet(epochs=8, random_state=0, **SMALL).fit(avdigits["Xa"], avdigits["Xv"])


def tiny_media(n: int = 24, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, 12, 8)).astype(np.float32),
            rng.uniform(size=(n, 8, 8)).astype(np.float32))


# -- the equations -------------------------------------------------------------------------------
def test_distance_fusion_and_loss_are_eqs_2_to_4():
    rng = np.random.default_rng(0)
    Za = F.normalize(torch.as_tensor(rng.normal(size=(6, 5))), dim=1)
    Zv = F.normalize(torch.as_tensor(rng.normal(size=(6, 5))), dim=1)
    d = pair_distance(Za, Zv)                                                   # eq. (2)
    np.testing.assert_allclose(d.numpy(), np.linalg.norm((Za - Zv).numpy(), axis=1), rtol=1e-9)
    fusion = nn.Linear(1, 2).double()
    logits = correspondence_logits(fusion, d)                                   # eq. (3)
    w, b = fusion.weight.detach().numpy()[:, 0], fusion.bias.detach().numpy()
    np.testing.assert_allclose(logits.detach().numpy(), d.numpy()[:, None] * w + b, rtol=1e-9)
    loss, accuracy = avc_loss(fusion, Za, Zv, shift=2)                          # eq. (4)
    p = torch.softmax(logits, dim=1)[:, 1].detach().numpy()
    p_neg = torch.softmax(correspondence_logits(fusion, pair_distance(
        Za, Zv[(np.arange(6) - 2) % 6])), dim=1)[:, 1].detach().numpy()        # v_{i-2}
    expected = -np.mean(np.concatenate([np.log(p), np.log(1 - p_neg)]))
    assert float(loss.detach()) == pytest.approx(expected, rel=1e-9)
    assert accuracy == pytest.approx(np.mean(np.concatenate([p > 0.5, p_neg <= 0.5])))


def test_the_fusion_starts_neutral_at_orthogonality_and_falls_with_the_distance():
    fusion = init_fusion(nn.Linear(1, 2))
    d = torch.tensor([0.0, math.sqrt(2.0), 2.0])
    p = torch.softmax(correspondence_logits(fusion, d), dim=1)[:, 1].detach().numpy()
    assert p[1] == pytest.approx(0.5, abs=1e-6)
    assert p[0] > p[1] > p[2]
    assert p[0] == pytest.approx(1 / (1 + math.exp(-2 * math.sqrt(2))), rel=1e-5)


def test_cosine_ranks_unit_vectors_as_the_euclidean_distance_does():
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(30, 7))
    Z /= np.linalg.norm(Z, axis=1, keepdims=True)
    q = Z[0]
    cosine, distance = Z @ q, np.linalg.norm(Z - q, axis=1)
    np.testing.assert_allclose(distance ** 2, 2 - 2 * cosine, atol=1e-12)
    assert np.array_equal(np.argsort(-cosine, kind="stable"), np.argsort(distance, kind="stable"))


def test_media_rows_become_channel_first_maps():
    assert to_maps(np.zeros((5, 198, 64))).shape == (5, 1, 198, 64)
    assert to_maps(np.zeros((5, 28, 28, 3))).shape == (5, 3, 28, 28)


# -- learning the AVC task on avdigits ------------------------------------------------------------
def test_the_avc_loss_falls_and_the_task_is_learnt_on_held_out_clips(fitted, avdigits):
    losses, accuracies = fitted.loss_history_, fitted.avc_accuracy_history_
    assert len(losses) == len(accuracies) == 8
    assert losses[0] == pytest.approx(math.log(2), abs=0.05)   # eq. (4) at a neutral start
    assert losses[-1] < losses[0] - 0.08
    assert accuracies[-1] > accuracies[0] + 0.1
    # held-out pairs: true pairs against pairs with another clip's image
    assert fitted.avc_accuracy(avdigits["Ta"], avdigits["Tv"]) > 0.58
    proba = fitted.correspondence_proba(avdigits["Ta"], avdigits["Tv"])
    assert proba.shape == (200,) and ((proba > 0) & (proba < 1)).all()


def test_embeddings_are_unit_norm_128_d_and_beat_chance_across_modalities(fitted, avdigits):
    Za, Zv = fitted.transform(avdigits["Ta"], avdigits["Tv"])
    assert Za.shape == Zv.shape == (200, 128) and Za.dtype == np.float64
    np.testing.assert_allclose(np.linalg.norm(Za, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(Zv, axis=1), 1.0, atol=1e-12)
    ty = avdigits["ty"]
    chance = float(np.mean(np.bincount(ty) / ty.size))           # ≈ 0.1, ten digits
    maps = cross_modal_map(Za, Zv, ty)                           # no label was seen in fit
    assert maps["a2v"] > chance + 0.08 and maps["v2a"] > chance + 0.08, maps
    assert fitted.retrieval_metric is None                       # the runner's cosine


def test_fitted_shapes_and_sizes(fitted, avdigits):
    assert fitted.input_shape_audio_ == (198, 64) and fitted.input_shape_visual_ == (28, 28)
    assert fitted.n_features_audio_ == 198 * 64 and fitted.n_features_visual_ == 784
    assert fitted.n_components_ == 128 and fitted.n_batches_ == 19 and fitted.batch_size_ == 32


# -- the API -------------------------------------------------------------------------------------
def test_class_facts():
    assert AVENet.input_kind == "media" and AVENet.supervised is False
    params = AVENet().get_params()
    assert params["embedding_dim"] == 128 and params["n_components"] is None


def test_labels_do_not_influence_the_fit():
    Xa, Xv = tiny_media()
    y = np.arange(24) % 3
    Z1 = AVENet(**TINY).fit(Xa, Xv, y).transform(Xa, Xv)
    Z2 = AVENet(**TINY).fit(Xa, Xv, np.random.default_rng(5).permutation(y)).transform(Xa, Xv)
    Z3 = AVENet(**TINY).fit(Xa, Xv).transform(Xa, Xv)
    for Z in (Z2, Z3):
        np.testing.assert_array_equal(Z1[0], Z[0])
        np.testing.assert_array_equal(Z1[1], Z[1])


def test_same_seed_identical_different_seed_differs():
    Xa, Xv = tiny_media()
    a = AVENet(random_state=3, **TINY).fit(Xa, Xv)
    b = AVENet(random_state=3, **TINY).fit(Xa, Xv)
    c = AVENet(random_state=4, **TINY).fit(Xa, Xv)
    Za, Zb, Zc = a.transform(Xa, Xv), b.transform(Xa, Xv), c.transform(Xa, Xv)
    assert np.array_equal(Za[0], Zb[0]) and np.array_equal(Za[1], Zb[1])
    assert a.loss_history_ == b.loss_history_
    assert not np.allclose(Za[0], Zc[0])


def test_n_components_is_ignored():
    Xa, Xv = tiny_media()
    Z1 = AVENet(**TINY).fit(Xa, Xv).transform(Xa, Xv)
    Z2 = AVENet(n_components=3, **TINY).fit(Xa, Xv).transform(Xa, Xv)
    assert Z2[0].shape == (24, 8)
    np.testing.assert_array_equal(Z1[0], Z2[0])


def test_fit_leaves_global_torch_rng_untouched():
    Xa, Xv = tiny_media()
    state = torch.get_rng_state()
    AVENet(**TINY).fit(Xa, Xv)
    assert torch.equal(state, torch.get_rng_state())


def test_transform_is_per_view_and_needs_fit():
    Xa, Xv = tiny_media()
    model = AVENet(**TINY)
    with pytest.raises(NotFittedError):
        model.transform(Xa, Xv)
    model.fit(Xa, Xv)
    Za, Zv = model.transform(Xa, Xv)
    Za_alone, none = model.transform(Xa, None)
    Za_other, _ = model.transform(Xa, tiny_media(seed=9)[1])
    assert none is None
    np.testing.assert_array_equal(Za, Za_alone)
    np.testing.assert_array_equal(Za, Za_other)
    np.testing.assert_allclose(model.transform(None, Xv[:5])[1], Zv[:5], rtol=1e-5, atol=1e-6)
    # channels-last images work too
    rgb = np.repeat(Xv[..., None], 3, axis=-1)
    assert AVENet(**TINY).fit(Xa, rgb).transform(None, rgb)[1].shape == (24, 8)


def test_clip_means_are_a_clear_user_error():
    Xa, Xv = tiny_media()
    with pytest.raises(UserError, match=r"X_audio must be raw media.*got shape \(24, 96\)"):
        AVENet(**TINY).fit(Xa.reshape(24, -1), Xv)
    model = AVENet(**TINY).fit(Xa, Xv)
    with pytest.raises(UserError, match=r"X_visual must be raw media.*clip-level"):
        model.transform(None, Xv.reshape(24, -1))


def test_media_of_another_shape_or_bad_values_are_user_errors():
    Xa, Xv = tiny_media()
    model = AVENet(**TINY).fit(Xa, Xv)
    with pytest.raises(UserError, match=r"X_audio has rows of shape \(10, 8\) but the model "
                                        r"was fitted on rows of shape \(12, 8\)"):
        model.transform(Xa[:, :10], None)
    with pytest.raises(UserError, match="same number of rows"):
        AVENet(**TINY).fit(Xa, Xv[:20])
    bad = Xa.copy()
    bad[3, 0, 0] = np.nan
    with pytest.raises(UserError, match="X_audio contains NaN or inf values in 1 row"):
        AVENet(**TINY).fit(bad, Xv)


@pytest.mark.parametrize(("params", "needle"), [
    ({"batch_size": 1}, "batch_size must be at least 2"),
    ({"audio_channels": ()}, "audio_channels must be a non-empty sequence"),
    ({"visual_channels": (4, 0)}, r"visual_channels\[1\] must be a positive integer"),
    ({"visual_channels": (2, 2, 2, 2, 2)}, "X_visual: rows of shape \\(8, 8\\) are too small"),
    ({"audio_stride": 0}, "audio_stride must be a positive integer"),
    ({"embedding_dim": 0}, "embedding_dim must be a positive integer"),
    ({"lr": -1.0}, "lr must be"),
    ({"n_components": 0}, "n_components must be a positive integer"),
])
def test_bad_hyper_parameters_are_user_errors(params, needle):
    Xa, Xv = tiny_media()
    with pytest.raises(UserError, match=needle):
        AVENet(**{**TINY, **params}).fit(Xa, Xv)


def test_too_few_clips_for_a_negative_pair():
    Xa, Xv = tiny_media(n=3)
    with pytest.raises(UserError, match="smallest minibatch has 1 clip"):
        AVENet(**{**TINY, "batch_size": 2}).fit(Xa, Xv)
    with pytest.raises(UserError, match="at least 2 paired training clips"):
        AVENet(**TINY).fit(Xa[:1], Xv[:1])
