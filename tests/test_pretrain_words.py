"""The spoken-word pretraining corpus (paper_lib.data.pretraining.words), the shared speech
rendering (paper_lib.data.speech) and the VGGish-style audio network (paper_lib.extract.audio_net).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from paper_lib import threads
from paper_lib.data import avdigits, speech
from paper_lib.data.pretraining.words import (
    DIGIT_WORDS,
    WORDS,
    WordCorpus,
    check_disjoint,
    make_word_corpus,
    word_patches,
)
from paper_lib.errors import DataError, ParamError
from paper_lib.extract.audio_net import AudioNet, embed_patches
from paper_lib.extract.logmel import frame_examples, log_mel

N_PER_WORD = 3        # small: 60 clips of 1 s


@pytest.fixture(scope="module")
def corpus() -> WordCorpus:
    return make_word_corpus(seed=0, n_per_word=N_PER_WORD)


# --- the word list ------------------------------------------------------------------------------
def test_the_word_list_is_disjoint_from_the_digits() -> None:
    assert len(WORDS) == 20 and len(set(WORDS)) == 20
    assert DIGIT_WORDS == avdigits.DIGITS
    check_disjoint(WORDS)                                  # does not raise
    for word in WORDS:
        assert word not in avdigits.DIGITS
        assert not any(digit in word for digit in avdigits.DIGITS)


@pytest.mark.parametrize(("word", "digit"), [
    ("two", "two"), ("for", "for"), ("someone", "one"), ("Seven", "seven"), ("tree", "tree"),
    ("oh", "oh"), ("too", "too"), ("won", "won"), ("forty", "for"), ("late", "ate"),
])
def test_check_disjoint_rejects_digits_and_homophones(word: str, digit: str) -> None:
    with pytest.raises(ParamError, match=rf"words: '{word}' (is|contains) the digit.* '{digit}'"):
        check_disjoint(["yes", word])


def test_short_homophones_are_rejected_only_as_whole_words() -> None:
    check_disjoint(["stop", "photo", "ohm"])               # contain "to" / "oh": not refused
    with pytest.raises(ParamError, match="'to'"):
        check_disjoint(["to"])


def test_bad_corpus_arguments_are_named() -> None:
    with pytest.raises(ParamError, match="n_per_word"):
        make_word_corpus(n_per_word=0)
    with pytest.raises(ParamError, match="seed"):
        make_word_corpus(seed=-1)
    with pytest.raises(ParamError, match="'four' is the digit"):
        make_word_corpus(words=("yes", "four"))
    with pytest.raises(ParamError, match="distinct"):
        make_word_corpus(words=("yes", "Yes"))
    with pytest.raises(ParamError, match="words must be a list"):
        make_word_corpus(words="yes")
    with pytest.raises(ParamError, match="voices"):
        make_word_corpus(voices=())
    with pytest.raises(ParamError, match="rate_range"):
        make_word_corpus(rate_range=(10, 500))


def test_a_word_too_long_for_one_second_is_refused() -> None:
    # "visual" lasts ~0.8 s at 120 words/min (measured): at 80 it needs more than 0.9 s
    with pytest.raises(ParamError, match=r"rate_range: 'visual' .* 80 words/min does not fit"):
        make_word_corpus(n_per_word=1, voices=("en",), rate_range=(80, 80),
                         words=("yes", "visual"))


# --- the corpus ---------------------------------------------------------------------------------
def test_corpus_clips_labels_and_balance(corpus: WordCorpus) -> None:
    assert corpus.words == WORDS
    assert len(corpus.waveforms) == corpus.labels.size == 20 * N_PER_WORD
    assert np.array_equal(np.bincount(corpus.labels), np.full(20, N_PER_WORD))
    for wave in corpus.waveforms:
        assert wave.dtype == np.int16 and wave.shape == (16_000,)        # exactly 1 s at 16 kHz
        w = wave / 32768.0
        assert 0.1 < np.abs(w).max() <= 0.5 + 1e-3 + 0.1                 # the word's peak, + noise
        frames = w[: w.size // 400 * 400].reshape(-1, 400)
        rms = np.sqrt((frames ** 2).mean(axis=1))
        assert rms.max() > 2.0 * rms.min()                                # the word stands out
        # the 50 ms margins hold noise only: quieter than the loudest 25 ms of speech
        assert np.sqrt((w[:800] ** 2).mean()) < rms.max() / 2
        assert np.sqrt((w[-800:] ** 2).mean()) < rms.max() / 2


def test_same_seed_same_waveforms_other_seed_different(corpus: WordCorpus) -> None:
    again = make_word_corpus(seed=0, n_per_word=N_PER_WORD)
    assert np.array_equal(again.labels, corpus.labels)
    assert all(np.array_equal(a, b) for a, b in zip(again.waveforms, corpus.waveforms,
                                                    strict=True))
    other = make_word_corpus(seed=1, n_per_word=N_PER_WORD)
    assert np.array_equal(other.labels, corpus.labels)
    assert not any(np.array_equal(a, b) for a, b in zip(other.waveforms, corpus.waveforms,
                                                        strict=True))


def test_the_corpus_draws_are_not_avdigits_draws() -> None:
    # avdigits' plan comes from SeedSequence(seed).spawn(3)[0]; the corpus' from a tagged root
    labels = np.zeros(50, dtype=np.int64)
    args = (("w",), labels, speech.DEFAULT_VOICES, speech.RATE_RANGE, speech.PITCH_RANGE,
            speech.SNR_DB, (1,))
    ours = speech.plan_clips(np.random.default_rng(np.random.SeedSequence([0, 18]).spawn(2)[0]),
                             *args)
    theirs = speech.plan_clips(np.random.default_rng(np.random.SeedSequence(0).spawn(3)[0]),
                               *args)
    assert not np.array_equal(ours.placement, theirs.placement)


def test_patches_are_the_vggish_front_end_one_per_clip(corpus: WordCorpus) -> None:
    patches, labels = word_patches(corpus)
    assert patches.shape == (len(corpus.waveforms), 96, 64) and patches.dtype == np.float32
    assert np.isfinite(patches).all()
    assert np.array_equal(labels, corpus.labels) and labels.dtype == np.int64
    for i in (0, 17, len(corpus.waveforms) - 1):
        direct = frame_examples(log_mel(corpus.waveforms[i], 16_000))     # (1, 96, 64)
        assert direct.shape == (1, 96, 64)
        np.testing.assert_allclose(patches[i], direct[0], rtol=1e-6, atol=1e-6)
    # log(mel + 0.01) >= log(0.01): the floor of the front-end
    assert patches.min() >= np.log(0.01) - 1e-5


def test_word_patches_refuses_a_bad_corpus() -> None:
    with pytest.raises(DataError, match="one label per clip"):
        word_patches(WordCorpus(waveforms=[np.zeros(16_000, np.int16)], labels=np.zeros(2),
                                words=("a", "b")))
    with pytest.raises(DataError, match="shorter than one 96-frame patch"):
        word_patches(WordCorpus(waveforms=[np.zeros(8_000, np.int16)], labels=np.zeros(1),
                                words=("a", "b")))


# --- the shared rendering (avdigits unchanged) -------------------------------------------------
def test_avdigits_reexports_the_speech_names() -> None:
    for name in ("Utterance", "EspeakError", "synthesise", "default_espeak_paths",
                 "DEFAULT_VOICES", "RATE_RANGE", "PITCH_RANGE", "SNR_DB", "CLIP_SECONDS",
                 "GAIN_DB", "MARGIN_SECONDS", "RANDOM_SEED", "SAMPLE_RATE"):
        assert getattr(avdigits, name) is getattr(speech, name), name


def test_render_clip_is_the_documented_formula() -> None:
    rng = np.random.default_rng(5)
    word = np.sin(np.linspace(0, 300, 9_000)) * np.hanning(9_000) * 0.3
    for seconds, gain, snr, placement in ((1, -3.0, 10.0, 0.25), (2, -10.0, 25.0, 0.999),
                                          (1, 0.0, 5.0, 0.0)):
        got = speech.render_clip(word, seconds, gain, snr, placement, np.random.default_rng(7))
        # re-implementation: peak 0.5 * 10^(gain/20), 800-sample (50 ms) margins, noise at SNR
        scaled = word * 0.5 * 10 ** (gain / 20) / np.abs(word).max()
        clip = np.zeros(seconds * 16_000)
        start = 800 + int(placement * (clip.size - scaled.size - 1600 + 1))
        clip[start:start + scaled.size] = scaled
        noise = np.sqrt((scaled ** 2).mean() / 10 ** (snr / 10))
        clip = clip + noise * np.random.default_rng(7).standard_normal(clip.size)
        expected = np.round(np.clip(clip, -1, 1) * 32767).astype(np.int16)
        assert got.dtype == np.int16 and np.array_equal(got, expected)
    # a word longer than the clip (with its margins) makes the clip longer, in whole seconds
    long_word = rng.standard_normal(16_000)
    assert speech.render_clip(long_word, 1, 0.0, 20.0, 0.5, rng).size == 32_000


def test_plan_clips_draws_in_the_documented_order() -> None:
    labels = np.array([2, 0, 1, 1])
    plan = speech.plan_clips(np.random.default_rng(3), ("a", "b", "c"), labels, ("v1", "v2"),
                             (120, 220), (20, 80), (5.0, 25.0), (1, 2))
    rng = np.random.default_rng(3)
    voice, rate = rng.integers(0, 2, 4), rng.integers(120, 221, 4)
    pitch, pitch_range = rng.integers(20, 81, 4), rng.integers(20, 81, 4)
    assert [u.text for u in plan.utterances] == ["c", "a", "b", "b"]     # words[labels[i]]
    assert [u.voice for u in plan.utterances] == [("v1", "v2")[v] for v in voice]
    assert [(u.rate, u.pitch, u.pitch_range) for u in plan.utterances] == \
        list(zip(rate.tolist(), pitch.tolist(), pitch_range.tolist(), strict=True))
    assert np.array_equal(plan.seconds, rng.choice(np.array([1, 2]), 4))
    assert np.array_equal(plan.gain_db, rng.uniform(-10.0, 0.0, 4))
    assert np.array_equal(plan.snr_db, rng.uniform(5.0, 25.0, 4))
    assert np.array_equal(plan.placement, rng.uniform(0.0, 1.0, 4))


# --- the audio network --------------------------------------------------------------------------
def test_audio_net_shapes_and_layers() -> None:
    net = AudioNet(7, embed_dim=32, seed=0)
    x = torch.randn(5, 96, 64, generator=torch.Generator().manual_seed(0))
    logits = net(x)
    assert logits.shape == (5, 7)
    assert torch.equal(net(x.unsqueeze(1)), logits)                    # (N, 1, 96, 64) too
    pre = net.embed(x)
    assert pre.shape == (5, 32)
    assert torch.equal(net.embed(x, relu=True), torch.relu(pre))
    # forward = classifier(ReLU(embedding)): the penultimate layer feeds the classifier
    assert torch.allclose(logits, net.classifier(torch.relu(pre)))
    assert (pre < 0).any()                                             # pre-activation values
    with pytest.raises(ParamError, match="patches: expected shape"):
        net(torch.zeros(2, 64, 96))
    with pytest.raises(ParamError, match="n_classes"):
        AudioNet(1)
    with pytest.raises(ParamError, match="embed_dim"):
        AudioNet(3, embed_dim=0)


def test_same_seed_same_initial_weights_and_no_global_rng() -> None:
    state = torch.get_rng_state()
    a, b, c = AudioNet(4, seed=3), AudioNet(4, seed=3), AudioNet(4, seed=4)
    assert torch.equal(torch.get_rng_state(), state)                    # the global RNG untouched
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(sa["features.0.weight"], sc["features.0.weight"])
    # He-normal: weight variance ~ 2 / fan_in, zero biases
    w = sa["features.6.weight"]                                         # (64, 32, 3, 3)
    assert abs(float(w.var()) / (2.0 / (32 * 9)) - 1.0) < 0.15
    assert all(not sa[k].any() for k in sa if k.endswith("bias"))


def test_embed_patches_is_deterministic_in_eval_mode(corpus: WordCorpus) -> None:
    patches, _ = word_patches(corpus)
    net = AudioNet(20, seed=0).train()
    first = embed_patches(net, patches)
    assert net.training                                                 # its mode is restored
    assert first.shape == (patches.shape[0], 128) and first.dtype == np.float32
    assert np.array_equal(embed_patches(net, patches), first)
    np.testing.assert_allclose(embed_patches(net, patches[:, None], batch_size=7), first,
                               rtol=1e-4, atol=1e-4)
    with torch.no_grad():
        direct = net.embed(torch.from_numpy(patches[:3])).numpy()
    np.testing.assert_allclose(first[:3], direct, rtol=1e-4, atol=1e-4)
    assert np.array_equal(embed_patches(net, patches, relu=True), np.maximum(first, 0))
    assert first.std(axis=0).min() > 0                                  # no constant feature
    with pytest.raises(ParamError, match="NaN"):
        embed_patches(net, np.full((1, 96, 64), np.nan))
    with pytest.raises(ParamError, match="batch_size"):
        embed_patches(net, patches, batch_size=0)


def _train(patches: np.ndarray, labels: np.ndarray, n_classes: int, epochs: int) -> AudioNet:
    net = AudioNet(n_classes, seed=0)
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-3)
    order_rng = torch.Generator().manual_seed(0)
    x, y = torch.from_numpy(patches), torch.from_numpy(labels)
    with threads.single_threaded():            # as the build's pretraining runs
        for _ in range(epochs):
            for batch in torch.randperm(len(y), generator=order_rng).split(16):
                optimiser.zero_grad()
                nn.functional.cross_entropy(net(x[batch]), y[batch]).backward()
                optimiser.step()
    return net


def test_the_network_learns_words_from_a_few_hundred_patches() -> None:
    words = ("yes", "house", "go")
    patches, labels = word_patches(make_word_corpus(seed=0, n_per_word=100, words=words))
    held_out = np.arange(labels.size) % 3 == 0                          # 100 held-out patches
    net = _train(patches[~held_out], labels[~held_out], 3, epochs=3)
    with torch.no_grad():
        predicted = net(torch.from_numpy(patches[held_out])).argmax(1).numpy()
    accuracy = float((predicted == labels[held_out]).mean())
    # chance is 1/3 (sd 0.05 on 100 patches); measured 0.85 (0.71-0.76 for corpus seeds 1-3)
    assert accuracy > 0.6, accuracy
    # training is deterministic: the same seeds give the same weights
    again = _train(patches[~held_out], labels[~held_out], 3, epochs=3)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(),
                                                 again.state_dict().values(), strict=True))
