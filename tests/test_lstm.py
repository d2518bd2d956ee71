"""lstm_C-CCA: padding/masking, cutting to max_seconds, last-valid-state, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from paper_lib.errors import UserError
from paper_lib.methods.base import NotFittedError
from paper_lib.methods.cluster_cca import ClusterCCA
from paper_lib.methods.lstm import LSTMClusterCCA, encode_clips
from paper_lib.metrics.retrieval import mean_average_precision
from paper_lib.metrics.similarity import similarity


def make_sequences(n: int, T: int, seed: int, n_classes: int = 4):
    """Clips whose per-second features oscillate at a class-specific frequency, plus noise;
    zero-padded after a random length in 4..T."""
    world = np.random.default_rng(7)
    Pa, Pv = world.normal(size=(2, 8)), world.normal(size=(2, 12))
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    t = np.arange(T)[None, :, None]                               # (1, T, 1)
    freq = (0.4 + 0.5 * y)[:, None, None]                          # (n, 1, 1)
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1, 1))
    wave = np.concatenate([np.sin(freq * t + phase), np.cos(freq * t + phase)], axis=2)
    Xa = wave @ Pa + 0.3 * rng.normal(size=(n, T, 8))
    Xv = wave @ Pv + 0.3 * rng.normal(size=(n, T, 12))
    lengths = rng.integers(4, T + 1, n)
    pad = np.arange(T)[None, :] >= lengths[:, None]
    Xa[pad], Xv[pad] = 0.0, 0.0
    return Xa, Xv, y, lengths


def with_garbage_padding(X: np.ndarray, lengths: np.ndarray, seed: int) -> np.ndarray:
    G = X.copy()
    pad = np.arange(X.shape[1])[None, :] >= lengths[:, None]
    G[pad] = np.random.default_rng(seed).normal(scale=50.0, size=(int(pad.sum()), X.shape[2]))
    return G


FAST = dict(n_components=3, hidden=16, epochs=4, batch_size=32)


@pytest.fixture(scope="module")
def data():
    return make_sequences(160, T=10, seed=0)


@pytest.fixture(scope="module")
def fitted(data):
    Xa, Xv, y, L = data
    return LSTMClusterCCA(**FAST).fit(Xa, Xv, y, lengths=L)


def test_padding_beyond_lengths_does_not_change_fit_or_transform(data, fitted):
    Xa, Xv, y, L = data
    Ga, Gv = with_garbage_padding(Xa, L, 1), with_garbage_padding(Xv, L, 2)
    Z = fitted.transform(Xa, Xv, lengths=L)
    Zg = fitted.transform(Ga, Gv, lengths=L)
    np.testing.assert_array_equal(Z[0], Zg[0])
    np.testing.assert_array_equal(Z[1], Zg[1])
    refit = LSTMClusterCCA(**FAST).fit(Ga, Gv, y, lengths=L)
    np.testing.assert_array_equal(refit.transform(Xa, Xv, lengths=L)[0], Z[0])
    # ... whereas the real seconds do matter
    assert not np.allclose(fitted.transform(Xa, Xv, lengths=np.maximum(L - 1, 1))[0], Z[0])


def test_cut_to_max_seconds(data, fitted):
    Xa, Xv, y, L = data
    # 15-second clips whose seconds 10..14 are arbitrary: identical to the 10-second clips
    extra = np.random.default_rng(3).normal(size=(160, 5, 8)), \
        np.random.default_rng(4).normal(size=(160, 5, 12))
    La = L + 5  # lengths beyond max_seconds are cut to 10 for every clip
    Xa15 = with_garbage_padding(np.concatenate([Xa, extra[0]], axis=1), La, 5)
    Xv15 = with_garbage_padding(np.concatenate([Xv, extra[1]], axis=1), La, 6)
    long_model = LSTMClusterCCA(max_seconds=10, **FAST).fit(Xa15, Xv15, y, lengths=La)
    L10 = np.minimum(La, 10)
    Xa10 = with_garbage_padding(Xa15[:, :10], L10, 7)
    Xv10 = with_garbage_padding(Xv15[:, :10], L10, 8)
    short_model = LSTMClusterCCA(max_seconds=10, **FAST).fit(Xa10, Xv10, y, lengths=L10)
    np.testing.assert_array_equal(long_model.transform(Xa15, Xv15, lengths=La)[0],
                                  short_model.transform(Xa10, Xv10, lengths=L10)[0])


def test_clip_feature_is_last_valid_hidden_state(data, fitted):
    Xa, Xv, y, L = data
    Xs = fitted.scaler_audio_.transform(Xa)
    H = encode_clips(fitted.lstm_audio_, np.where((np.arange(10) < L[:, None])[..., None], Xs, 0),
                     L)
    with torch.no_grad():
        for i in (0, 1, 17, 33):
            seq = torch.as_tensor(Xs[i, :L[i]], dtype=torch.float32)[None]  # unpadded (1, L_i, d)
            out, _ = fitted.lstm_audio_.lstm(seq)
            np.testing.assert_allclose(H[i], out[0, -1].numpy(), rtol=1e-5, atol=1e-6)


def test_deterministic_and_per_view(data, fitted):
    Xa, Xv, y, L = data
    other = LSTMClusterCCA(**FAST).fit(Xa, Xv, y, lengths=L)
    Z1, Z2 = fitted.transform(Xa, Xv, lengths=L), other.transform(Xa, Xv, lengths=L)
    assert np.array_equal(Z1[0], Z2[0]) and np.array_equal(Z1[1], Z2[1])
    Za_alone, none = fitted.transform(Xa, None, lengths=L)
    assert none is None
    np.testing.assert_array_equal(Za_alone, Z1[0])
    assert isinstance(fitted.ccca_, ClusterCCA) and fitted.ccca_.variant == "beta"


def test_classifiers_train_and_features_carry_class_information(data):
    Xa, Xv, y, L = data
    model = LSTMClusterCCA(**{**FAST, "epochs": 12, "lr": 1e-2}).fit(Xa, Xv, y, lengths=L)
    for name in ("audio", "visual"):
        assert model.history_[name][-1] < model.history_[name][0]
    Ta, Tv, yt, Lt = make_sequences(80, T=10, seed=1)
    S = similarity(*model.transform(Ta, Tv, lengths=Lt), "cosine")
    assert mean_average_precision(S, yt, yt) > 0.6  # chance is about 0.25 for 4 classes


def test_bad_input_raises(data, fitted):
    Xa, Xv, y, L = data
    with pytest.raises(NotFittedError):
        LSTMClusterCCA().transform(Xa, Xv, lengths=L)
    with pytest.raises(ValueError, match="lengths must be a 1-d array of length 160"):
        LSTMClusterCCA(**FAST).fit(Xa, Xv, y, lengths=L[:5])
    with pytest.raises(ValueError, match="lengths must be in 1..10"):
        LSTMClusterCCA(**FAST).fit(Xa, Xv, y, lengths=np.where(L > 5, 0, L))
    with pytest.raises(ValueError, match="3-d"):
        LSTMClusterCCA(**FAST).fit(Xa[:, 0], Xv[:, 0], y)
    with pytest.raises(ValueError, match="hidden"):
        LSTMClusterCCA(n_components=20, hidden=16).fit(Xa, Xv, y, lengths=L)
    with pytest.raises(ValueError, match=r"X_visual must be a non-empty \(N, T, 12\)"):
        fitted.transform(None, Xa, lengths=L)


def test_transform_checks_only_the_real_seconds_for_nan(data, fitted):
    Xa, Xv, y, L = data
    short = int(np.flatnonzero(L < 10)[0])                        # a clip with padding
    Ga = Xa.copy()
    Ga[short, L[short]:] = np.nan                                 # NaN in its padding: ignored
    np.testing.assert_array_equal(fitted.transform(Ga, None, lengths=L)[0],
                                  fitted.transform(Xa, None, lengths=L)[0])
    Ga[short, 0, 0] = np.inf                                      # inf in a real second: rejected
    with pytest.raises(UserError, match="X_audio contains NaN or inf values within the clips' "
                                        "lengths in 1 clip"):
        fitted.transform(Ga, None, lengths=L)
    with pytest.raises(UserError, match="lengths must be a 1-d array of length 160"):
        fitted.transform(Xa, None, lengths=L[:3])
    with pytest.raises(UserError, match="3-d"):
        fitted.transform(None, Xv[:, 0], lengths=L)


def test_fit_checks_hyperparameters_and_the_shared_time_axis(data):
    Xa, Xv, y, L = data
    with pytest.raises(UserError, match="share the time axis"):
        LSTMClusterCCA(**FAST).fit(Xa, Xv[:, :9], y, lengths=np.minimum(L, 9))
    for bad in ({"hidden": True}, {"epochs": 2.0}, {"lr": 0.0}, {"max_seconds": 0}):
        with pytest.raises(UserError, match=next(iter(bad))):
            LSTMClusterCCA(**{**FAST, **bad}).fit(Xa, Xv, y, lengths=L)
